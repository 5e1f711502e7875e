// The admin console's Payments and Subscriptions pages (/admin): every
// account's payments filtered by status and account, 20 a page with "Next
// page of payments" by keyset; subscriptions filtered by Stripe status and
// account with plan, period end and renewal; both usable by keyboard alone
// and at 390 px without sideways scrolling, the nav's links all on screen.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, until, waitFor } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

async function logIn(page) {
    await page.goto(`${stack.baseUrl}/admin`);
    await page.getByLabel('Server key').fill(stack.adminKey);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Admin console', level: 1 }).waitFor();
}

/** A new account subscribed to the first plan with 4242, active. */
async function subscribe() {
    const cfg = await stack.config();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: cfg.plans[0].id });
    const r = await stack.completeSession(co.session_id);
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => {
        const s = await stack.api('GET', '/v1/subscription', { token: u.token });
        return s.status === 200 && s.json.status === 'active';
    }, 10000, { what: 'subscription active' });
    return { u, subId: r.json.subscription, plan: cfg.plans[0] };
}

uiTest(chrome, 'admin: payments filtered by status and account, 20 a page, "Next page" by keyset and keyboard at 1280 px', async ({ page }) => {
    const paid = [];
    const buyers = [];
    for (let a = 0; a < 3; a++) { // checkouts are rate-limited per account (10 a minute)
        const u = await stack.signup();
        buyers.push(u);
        for (let i = 0; i < 7; i++) paid.push((await stack.buy(u, { kind: 'topup', amount_cents: 1000 + 1000 * i })).order_id);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await logIn(page);
    const pays = page.getByRole('region', { name: 'Payments', exact: true });
    await pays.locator('#payment-rows tr').first().waitFor();
    await pays.getByLabel('Payment status').selectOption('succeeded');
    await pays.getByRole('button', { name: 'Show payments' }).click();
    await pays.getByText('20 payment(s) shown; more on the next page.', { exact: true }).waitFor();
    // "Next page" by keyboard: Tab reaches it (with a focus ring), Enter pages.
    await page.locator('#pay-account').focus();
    const next = page.locator('#payments-next');
    for (let i = 0; i < 200 && !(await next.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    assert.ok(await next.evaluate((el) => el === document.activeElement), 'Next page of payments is reachable with Tab');
    assert.ok(await next.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none'), 'with a focus ring');
    await page.keyboard.press('Enter');
    await until(async () => /^2[1-9]|^[3-9]\d/.test(await page.locator('#payments-status').textContent()), 'the next page appended');
    const orders = await page.locator('#payment-rows td:nth-child(3)').allTextContents();
    for (const o of paid) assert.equal(orders.filter((x) => x === o).length, 1, `order ${o} once`);
    assert.ok(orders.indexOf(paid.at(-1)) < orders.indexOf(paid[0]), 'newest first');

    await pays.getByLabel('Payment account id').fill(buyers[1].id);
    await pays.getByRole('button', { name: 'Show payments' }).click();
    await pays.getByText('7 payment(s) shown.', { exact: true }).waitFor();
    assert.equal(await pays.getByRole('button', { name: 'Next page of payments' }).isHidden(), true);
    const first = page.locator('#payment-rows tr').first();
    assert.equal(await first.locator('td').nth(3).textContent(), '$70.00');
    assert.equal(await first.locator('td').nth(5).textContent(), '•••• 4242');
    await first.getByText('Succeeded').waitFor();
    await pays.getByLabel('Payment status').selectOption('refunded');
    await pays.getByRole('button', { name: 'Show payments' }).click();
    await pays.getByText('No payments match.').waitFor();
    await shot(page, 'admin-payments-1280');
});

uiTest(chrome, 'admin: subscriptions with plan, status and renewal; by keyboard alone at 390 px', async ({ open }) => {
    const s1 = await subscribe();
    const s2 = await subscribe();
    // s2 cancels at the period end: "Renews" says so.
    const c = await stack.api('POST', '/v1/subscription/cancel', { token: s2.u.token, idem: `cancel-${s2.u.id}` });
    assert.equal(c.status, 200, c.text);
    const { page } = await open({ width: 390, height: 844 });
    await logIn(page);
    const subs = page.getByRole('region', { name: 'Subscriptions', exact: true });
    await subs.locator('#sub-rows tr').first().waitFor();

    // Keyboard only: the status filter, the account filter, the button.
    const field = page.locator('#sub-status');
    await page.locator('#sub-filter').scrollIntoViewIfNeeded();
    for (let i = 0; i < 120 && !(await field.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    assert.ok(await field.evaluate((el) => el === document.activeElement), 'the status filter is reachable with Tab');
    assert.ok(await field.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none'), 'with a focus ring');
    await page.keyboard.type('Act'); // type-ahead picks "Active" (not "Any")
    assert.equal(await field.inputValue(), 'active');
    await page.keyboard.press('Tab');
    await page.keyboard.type(s2.u.id);
    await page.keyboard.press('Enter');
    await subs.getByText('1 subscription(s) shown.', { exact: true }).waitFor();
    const row = page.locator('#sub-rows tr').first();
    assert.equal(await row.locator('td').nth(1).textContent(), s2.subId);
    assert.equal(await row.locator('td').nth(3).textContent(), s2.plan.id);
    await row.getByText('Active').waitFor();
    await row.getByText('No: cancels at period end').waitFor();

    assert.ok(await page.locator('#sub-account').evaluate((el) => el === document.activeElement), 'the focus stays in the field');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(s1.u.id);
    await page.keyboard.press('Enter');
    await until(async () => (await page.locator('#sub-rows td:nth-child(2)').allTextContents()).join() === s1.subId, 's1 listed');
    await row.getByText('Yes', { exact: true }).waitFor();

    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${overflow}px of sideways scrolling at 390px`);
    for (const link of await page.getByRole('navigation', { name: 'Admin' }).getByRole('link').all()) {
        const box = await link.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${await link.textContent()} fits at 390px`);
    }
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select')]
        .filter((el) => !(el.labels && el.labels.length)).map((el) => el.id));
    assert.deepEqual(unlabelled, [], 'fields without a label');
    await shot(page, 'admin-subscriptions-390');
});
