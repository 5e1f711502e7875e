// The admin console (/admin) with the server key: log in, dashboard, pricing
// switch seen on /v1/config, a discount code made and deactivated, an
// account found by email and granted credits (a paid lot with an expiry
// listed under Lots), a partial refund with its
// confirmation step, CSV exports through fetch+blob; a keyboard-only grant;
// screenshots at 1280 and 390 px. The key never reaches a URL or localStorage.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useStack, useBrowser, uiTest, shot, rand, until, waitFor } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

async function logIn(page, key = stack.adminKey) {
    await page.goto(`${stack.baseUrl}/admin`);
    await page.getByLabel('Server key').fill(key);
    await page.getByRole('button', { name: 'Log in' }).click();
}

async function dashboardReady(page) {
    await page.getByRole('heading', { name: 'Admin console', level: 1 }).waitFor();
    await page.locator('#dash-summary:not([aria-busy])').waitFor();
}

/** No sideways scroll, every field labelled, the key in no URL or localStorage. */
async function checkPage(page, width) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${overflow}px of sideways scrolling at ${width}px`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select')]
        .filter((el) => !(el.labels && el.labels.length)).map((el) => el.id));
    assert.deepEqual(unlabelled, [], 'fields without a label');
    assert.ok(!page.url().includes(stack.adminKey), 'the key is not in the URL');
    const local = await page.evaluate(() => JSON.stringify(localStorage));
    assert.ok(!local.includes(stack.adminKey), 'the key is not in localStorage');
}

uiTest(chrome, 'admin: a wrong key is refused; the right one shows the dashboard at 1280 and 390 px', async ({ page, open }) => {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await logIn(page, 'cdk_wrong_key');
    await page.getByRole('alert').getByText('That is not the server key.').waitFor();
    await page.setViewportSize({ width: 1280, height: 900 });
    await logIn(page);
    await dashboardReady(page);
    const summary = page.locator('#dash-summary');
    await summary.getByText('OK: every balance matches its entries').waitFor();
    const revenue = await summary.locator('dd[data-k="Revenue, last 30 days"]').textContent();
    assert.match(revenue, /^\$\d[\d,]*\.\d\d/);
    assert.notEqual(revenue, '$0.00', 'the paid top-up counts');
    assert.equal(await summary.locator('dd[data-k="Event endpoints"]').textContent(), 'none registered');
    await page.locator('#dash-statuses').getByText('Completed').waitFor();
    await page.locator('#order-rows tr').first().waitFor();
    await checkPage(page, 1280);
    await shot(page, 'admin-1280');
    // A reload keeps this tab logged in (sessionStorage); a new tab asks again.
    await page.reload();
    await dashboardReady(page);
    const other = await open({ width: 390, height: 844 });
    await other.page.goto(`${stack.baseUrl}/admin`);
    await other.page.getByLabel('Server key').waitFor();
    await logIn(other.page);
    await dashboardReady(other.page);
    await other.page.locator('#order-rows tr').first().waitFor();
    await checkPage(other.page, 390);
    for (const link of await other.page.getByRole('navigation', { name: 'Admin' }).getByRole('link').all()) {
        const box = await link.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${await link.textContent()} fits at 390px`);
    }
    await shot(other.page, 'admin-390');
    await other.page.getByRole('button', { name: 'Log out' }).click();
    await other.page.getByLabel('Server key').waitFor();
    assert.equal(await other.page.evaluate(() => sessionStorage.length), 0, 'log out forgets the key');
});

uiTest(chrome, 'admin: switch pricing and see it on /v1/config', async ({ page }) => {
    await logIn(page);
    await dashboardReady(page);
    const form = page.locator('#pricing-form');
    await until(async () => (await page.locator('#pricing-current').textContent()) !== '…', 'pricing loaded');
    await form.getByLabel('Sale', { exact: true }).check();
    await form.getByLabel('Sale price ($)').fill('19.99');
    await form.getByRole('button', { name: 'Save pricing' }).click();
    await page.getByText('Saved: Sale pricing is live.').waitFor();
    const c = await stack.config();
    assert.equal(c.price.mode, 'sale');
    assert.equal(c.price.sale_cents, 1999);
    assert.equal(c.price.base_cents, 1999);
    await form.getByLabel('Launch', { exact: true }).check();
    await form.getByRole('button', { name: 'Save pricing' }).click();
    await page.getByText('Saved: Launch pricing is live.').waitFor();
    assert.equal((await stack.config()).price.mode, 'launch');
});

uiTest(chrome, 'admin: create a discount code, see its uses, deactivate it', async ({ page }) => {
    const code = `ADM${rand(6).toUpperCase()}`;
    await logIn(page);
    await dashboardReady(page);
    const codes = page.getByRole('region', { name: 'Discount codes' });
    await codes.getByLabel('Code', { exact: true }).fill(code);
    await codes.getByLabel('Discount', { exact: true }).fill('15');
    await codes.getByLabel('Max uses (blank: unlimited)').fill('5');
    await codes.getByRole('button', { name: 'Create code' }).click();
    await codes.getByText(`Created ${code}.`).waitFor();
    const row = codes.locator('tbody tr', { hasText: code });
    await row.getByText('15% off').waitFor();
    await row.getByText('0 of 5').waitFor();
    await row.getByRole('button', { name: `Deactivate ${code}` }).click();
    await codes.getByText(`${code} deactivated.`).waitFor();
    await row.getByText('Inactive').waitFor();
    const list = (await stack.admin('GET', '/v1/admin/discount_codes?limit=100')).json.data;
    assert.equal(list.find((c) => c.code === code).active, false);
    // A code that exists already is explained, not created twice.
    await codes.getByLabel('Code', { exact: true }).fill(code);
    await codes.getByLabel('Discount', { exact: true }).fill('10');
    await codes.getByRole('button', { name: 'Create code' }).click();
    await codes.getByText(`discount code ${code} already exists`).waitFor();
});

uiTest(chrome, 'admin: find an account by email, external id or account id and grant credits', async ({ page }) => {
    const u = await stack.signup();
    await stack.grant(u, 100, 'welcome');
    await logIn(page);
    await dashboardReady(page);
    const accounts = page.getByRole('region', { name: 'Accounts' });
    await accounts.getByLabel('Email').fill(u.email.toUpperCase());
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText(`Found ${u.email}.`).waitFor();
    await until(async () => (await page.locator('#acct-balance').textContent()) === '100 credits', 'balance 100');
    await page.locator('#acct-ledger').getByText('welcome').waitFor();
    await accounts.getByLabel('Credits').fill('250');
    await accounts.getByLabel('Reason').fill('support goodwill');
    await accounts.getByRole('button', { name: 'Apply' }).click();
    await accounts.getByText('Granted 250 credits; balance 350.').waitFor();
    assert.equal(await stack.balance(u), 350);
    await page.locator('#acct-ledger').getByText('support goodwill').waitFor();
    // A debit past the balance is refused and changes nothing.
    await accounts.getByLabel('Change').selectOption('debit');
    await accounts.getByLabel('Credits').fill('1000');
    await accounts.getByLabel('Reason').fill('too much');
    await accounts.getByRole('button', { name: 'Apply' }).click();
    await until(async () => /insufficient|balance/i.test(await page.locator('#adjust-status').textContent()), 'debit refused');
    assert.equal(await stack.balance(u), 350);
    // Every grant carried its own Idempotency-Key: the ledger has one entry for it.
    const ledger = (await stack.admin('GET', `/v1/admin/ledger?account=${u.id}`)).json.data;
    assert.equal(ledger.filter((t) => t.description === 'support goodwill').length, 1);
    assert.match(ledger.find((t) => t.description === 'support goodwill').ref, /^idem:server:.*:adm-[0-9a-f]{32}$/);
    // A grant's lot: paid, expiring in 30 days, listed under Lots; a debit hides those fields.
    await accounts.getByLabel('Change').selectOption('grant');
    await accounts.getByLabel('Credits').fill('30');
    await accounts.getByLabel('Reason').fill('paid lot');
    await accounts.getByLabel('Category').selectOption('paid');
    await accounts.getByLabel('Expires after (days)').fill('30');
    await accounts.getByRole('button', { name: 'Apply' }).click();
    await accounts.getByText('Granted 30 credits; balance 380.').waitFor();
    const lotRow = page.locator('#acct-lots tr').filter({ hasText: '30 of 30' });
    await lotRow.getByText('Paid').waitFor();
    assert.equal(await lotRow.locator('time').count(), 1);
    await accounts.getByLabel('Change').selectOption('debit');
    assert.equal(await page.locator('#adjust-days').isVisible(), false);
    await accounts.getByLabel('Email').fill('nobody-here@example.com');
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText('No account with the email nobody-here@example.com.').waitFor();

    // The application's own accounts: by external id, and by account id.
    const ext = `user-${Date.now()}`;
    const made = await stack.admin('POST', '/v1/accounts', { body: { external_id: ext } });
    assert.equal(made.status, 201, made.text);
    await accounts.getByLabel('Email').fill(ext);
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText(`Found ${ext}.`).waitFor();
    assert.equal(await page.locator('#acct-id').textContent(), made.json.id);
    assert.equal(await page.locator('#acct-external').textContent(), ext);
    await accounts.getByLabel('Email').fill(u.id);
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText(`Found ${u.email}.`).waitFor();
    assert.equal(await page.locator('#acct-id').textContent(), u.id);
    await accounts.getByLabel('Email').fill('no-such-user');
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText('No account with the external id no-such-user.').waitFor();
    await accounts.getByLabel('Email').fill('acct_nosuchaccount');
    await accounts.getByRole('button', { name: 'Find account' }).click();
    await accounts.getByText('No account with the id acct_nosuchaccount.').waitFor();
});

uiTest(chrome, 'admin: refund an order partially after a confirmation step; export CSV', async ({ page }) => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await logIn(page);
    await dashboardReady(page);
    const orders = page.getByRole('region', { name: 'Orders', exact: true });
    await orders.getByLabel('Account id').fill(u.id);
    await orders.getByLabel('Status').selectOption('completed');
    await orders.getByRole('button', { name: 'Show orders' }).click();
    await orders.getByText('1 order(s) shown.', { exact: true }).waitFor();
    await orders.getByRole('button', { name: `Refund ${co.order_id}` }).click();
    await orders.getByLabel('Amount to refund ($, blank: all that is left)').fill('4.00');
    await orders.getByRole('button', { name: 'Review refund' }).click();
    await orders.getByText(`Refund $4.00 of order ${co.order_id}?`, { exact: false }).waitFor();
    assert.equal(await stack.balance(u), 1000, 'nothing happens before the confirmation');
    await orders.getByRole('button', { name: 'Confirm refund' }).click();
    await orders.getByText(/Refund re_\w+ of \$4\.00/).waitFor();
    await waitFor(async () => (await stack.balance(u)) === 600, 10000, { what: 'balance 600 after the refund' });
    await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    // The dashboard's revenue is net of refunds (summed by the server).
    await page.getByRole('button', { name: 'Refresh dashboard' }).click();
    await until(async () => /^\$[\d,]+\.\d\d net \(\$[\d,]+\.\d\d gross, \$[\d,]+\.\d\d refunded\)$/.test(
        await page.locator('dd[data-k="Revenue, last 30 days"]').textContent()), 'net revenue after the refund');
    const sum = (await stack.admin('GET', '/v1/admin/summary')).json.revenue.find((r) => r.currency === 'usd');
    assert.ok(sum.refunded_cents >= 400 && sum.net_cents === sum.gross_cents - sum.refunded_cents);
    await shot(page, 'admin-refund');

    // Exports: a download made from a fetch with the key in a header.
    await orders.getByLabel('Status').selectOption('');
    for (const what of ['orders', 'ledger']) {
        const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('button', { name: `Export ${what} CSV` }).click(),
        ]);
        assert.match(download.suggestedFilename(), new RegExp(`^${what}-\\d{4}-\\d\\d-\\d\\d\\.csv$`));
        const text = fs.readFileSync(await download.path(), 'utf8');
        const lines = text.trim().split('\r\n');
        assert.ok(lines[0].startsWith('id,account_id,'), `${what} header: ${lines[0]}`);
        assert.ok(lines.length >= 2, `${what} has rows`);
        assert.ok(lines.slice(1).every((l) => l.includes(u.id)), `${what} export takes the account filter`);
        if (what === 'orders') assert.ok(text.includes(co.order_id));
    }
    await page.getByText(/Ledger CSV downloaded/).waitFor();
    // Reconcile now reports its counts.
    await page.getByRole('button', { name: 'Reconcile now' }).click();
    await page.getByText(/Reconciled: .*events seen/).waitFor();
    await until(async () => / succeeded$/.test(await page.locator('dd[data-k="Reconciliation last run"]').textContent()),
        'the dashboard shows the last reconciliation');
    assert.match(await page.locator('dd[data-k="Reconciliation runs since start"]').textContent(), /Ok: [1-9]/);
});

uiTest(chrome, 'admin: orders filtered by status and kind, 20 a page, "Next page" by keyset', async ({ page }) => {
    const made = [];
    for (let a = 0; a < 3; a++) {   // checkouts are rate-limited per account (10 a minute)
        const u = await stack.signup();
        for (let i = 0; i < 8; i++) made.push((await stack.checkout(u, { kind: 'topup', amount_cents: 1000 })).order_id);
    }
    await logIn(page);
    await dashboardReady(page);
    const orders = page.getByRole('region', { name: 'Orders', exact: true });
    await orders.getByLabel('Status').selectOption('pending');
    await orders.getByLabel('Kind').selectOption('topup');
    await orders.getByRole('button', { name: 'Show orders' }).click();
    await orders.getByText('20 order(s) shown; more on the next page.', { exact: true }).waitFor();
    await orders.getByRole('button', { name: 'Next page' }).click();
    await orders.getByText('24 order(s) shown.', { exact: true }).waitFor();
    assert.equal(await orders.getByRole('button', { name: 'Next page' }).isHidden(), true, 'no page after the last');
    const ids = await page.locator('#order-rows td.mono').allTextContents();
    assert.deepEqual([...ids].sort(), [...made].sort(), 'every pending top-up once, newest first');
    assert.deepEqual(ids, [...made].reverse());
    // A "to" day before the "from" day is the server's 400, shown in words.
    await orders.getByLabel('From (date)').fill('2030-01-02');
    await orders.getByLabel('To (date, inclusive)').fill('2029-12-30');
    await orders.getByRole('button', { name: 'Show orders' }).click();
    await until(async () => /to/i.test(await page.locator('#orders-status').textContent())
        && (await page.locator('#orders-status').getAttribute('class')) === 'status-bad', 'a bad range explained');
});

/** What has the focus, and whether it shows a focus ring. */
function focused(page) {
    return page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const cs = getComputedStyle(el);
        return {
            id: el.id,
            name: (el.labels && el.labels[0] ? el.labels[0].textContent : el.textContent).trim(),
            ring: cs.outlineStyle !== 'none' && cs.outlineWidth !== '0px',
        };
    });
}

async function tabTo(page, what, match) {
    for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        const f = await focused(page);
        if (f && match(f)) {
            assert.ok(f.ring, `${what} shows a visible focus ring`);
            return f;
        }
    }
    throw new Error(`${what}: not reachable with Tab`);
}

uiTest(chrome, 'admin: keyboard only - log in, find an account, grant credits', async ({ page }) => {
    const u = await stack.signup();
    await page.goto(`${stack.baseUrl}/admin`);
    await tabTo(page, 'server key field', (f) => f.id === 'server-key');
    await page.keyboard.type(stack.adminKey);
    await page.keyboard.press('Enter');
    await dashboardReady(page);
    await page.locator('#code-rows tr').first().waitFor();
    await tabTo(page, 'account email field', (f) => f.id === 'account-email');
    await page.keyboard.type(u.email);
    await page.keyboard.press('Enter');
    await page.getByText(`Found ${u.email}.`).waitFor();
    await tabTo(page, 'credits field', (f) => f.id === 'adjust-amount');
    await page.keyboard.type('42');
    await tabTo(page, 'reason field', (f) => f.id === 'adjust-reason');
    await page.keyboard.type('keyboard grant');
    await tabTo(page, 'Apply button', (f) => f.name === 'Apply');
    await page.keyboard.press('Enter');
    await page.getByText('Granted 42 credits; balance 42.').waitFor();
    assert.equal(await stack.balance(u), 42);
    await shot(page, 'admin-keyboard');
});
