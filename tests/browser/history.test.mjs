// Payment history paging: 25 paid top-ups (made through the API and the
// sandbox's control endpoint) show as 10 + 10 + 5 rows with Previous / Next
// and "Page N of 3"; the orders page pages the same way.
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, logInUi, bodyRows, expectRowCount, fmtUsd,
} from './harness.mjs';

// 25 purchases by one account in a few seconds: far past the default of
// 10 checkouts a minute, which the test is not about.
const stack = useStack({ serverEnv: { CREDITD_CHECKOUT_RATE_LIMIT: 1000 } });
const chrome = useBrowser();

/* n paid top-ups, five at a time; distinct amounts when the range allows. */
async function makePaidTopups(user, n, topup) {
    const steps = Math.floor((topup.max_cents - topup.min_cents) / topup.step_cents) + 1;
    const amounts = Array.from({ length: n }, (_, i) => topup.min_cents + (i % steps) * topup.step_cents);
    for (let i = 0; i < n; i += 5) {
        await Promise.all(amounts.slice(i, i + 5).map((amount_cents) => stack.buy(user, { kind: 'topup', amount_cents })));
    }
    return amounts;
}

/* The Amount column of the rows on screen. */
function amountsOnPage(page) {
    return bodyRows(page).locator('td:nth-child(3)').allTextContents();
}

uiTest(chrome, 'payment history with 25 payments pages 10 / 10 / 5', async ({ page, open }) => {
    const config = await stack.config();
    const user = await stack.signup();
    const amounts = await makePaidTopups(user, 25, config.topup);
    const payments = (await stack.api('GET', '/v1/payments?limit=1', { token: user.token })).json;
    assert.equal(payments.total, 25);

    await page.goto(`${stack.baseUrl}/`);
    await logInUi(page, user);
    await page.waitForURL(`${stack.baseUrl}/dashboard`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Payments' }).click();
    await page.waitForURL(`${stack.baseUrl}/payments`);

    const prev = page.getByRole('button', { name: 'Previous' });
    const next = page.getByRole('button', { name: 'Next' });
    await page.getByText('Page 1 of 3').waitFor();
    await expectRowCount(page, 10);
    assert.ok(await prev.isDisabled(), 'no Previous on page 1');
    const first = bodyRows(page).first();
    await first.getByText('Succeeded').waitFor();
    await first.getByText('4242').waitFor();
    await shot(page, 'payments-page-1');
    const seen = await amountsOnPage(page);

    await next.click();
    await page.getByText('Page 2 of 3').waitFor();
    await expectRowCount(page, 10);
    seen.push(...await amountsOnPage(page));
    await next.click();
    await page.getByText('Page 3 of 3').waitFor();
    await expectRowCount(page, 5);
    seen.push(...await amountsOnPage(page));
    // The three pages together are exactly the 25 payments: none twice, none missing.
    assert.deepEqual(seen.map((t) => t.trim()).sort(), amounts.map(fmtUsd).sort());
    assert.ok(await next.isDisabled(), 'no Next on the last page');
    await shot(page, 'payments-page-3');

    await prev.click();
    await page.getByText('Page 2 of 3').waitFor();
    await expectRowCount(page, 10);

    // Reload keeps the page (it lives in ?page=), and orders page the same way.
    await page.reload();
    await page.getByText('Page 2 of 3').waitFor();
    await page.goto(`${stack.baseUrl}/orders`);
    await page.getByText('Page 1 of 3').waitFor();
    await expectRowCount(page, 10);
    await bodyRows(page).first().getByText('Completed').waitFor();
    await shot(page, 'orders-page-1');

    // The same history on a phone-sized screen.
    const phone = await open({ width: 375, height: 800 });
    await phone.page.goto(`${stack.baseUrl}/`);
    await logInUi(phone.page, user);
    await phone.page.waitForURL(`${stack.baseUrl}/dashboard`);
    await phone.page.goto(`${stack.baseUrl}/payments?page=3`);
    await phone.page.getByText('Page 3 of 3').waitFor();
    await expectRowCount(phone.page, 5);
    await shot(phone.page, 'payments-page-3-mobile');
}, { timeout: 120000 });
