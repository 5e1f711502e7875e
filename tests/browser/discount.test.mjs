// A 10% discount code (made with the server key) lowers the access price the
// buy page shows and the amount the sandbox charges: launch $29.99 -> $26.99.
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, signUpUi, onSandboxPage, payOnSandbox, uiToken, rand,
} from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

uiTest(chrome, 'a 10% code lowers the price shown and the amount charged', async ({ page }) => {
    const pricing = { mode: 'launch', launch_cents: 2999, rrp_cents: 4999, sale_cents: 2499 };
    const config = await stack.config();
    if (config.price.mode !== 'launch' || config.price.base_cents !== 2999 || config.price.rrp_cents !== 4999) {
        const r = await stack.admin('PUT', '/v1/admin/pricing', { body: pricing });
        assert.equal(r.status, 200, `PUT pricing: ${r.status} ${r.text}`);
    }
    const code = `TEN${rand(6).toUpperCase()}`;
    const made = await stack.admin('POST', '/v1/admin/discount_codes', { body: { code, percent_off: 10 } });
    assert.equal(made.status, 201, `create code: ${made.status} ${made.text}`);

    await signUpUi(page, stack);
    await page.goto(`${stack.baseUrl}/buy`);
    const access = page.getByRole('region', { name: 'Access' });
    await access.getByText('$29.99', { exact: true }).waitFor();
    await access.locator('s, del', { hasText: '$49.99' }).waitFor();   // RRP struck through at launch

    // An unknown code is explained in words.
    await access.getByLabel('Discount code').fill('NOSUCHCODE');
    await access.getByText('We don’t recognise that code.').waitFor();
    await shot(page, 'discount-unknown');

    await access.getByLabel('Discount code').fill(code);
    await access.getByText('you pay $26.99').waitFor();
    await access.getByText('$26.99', { exact: true }).waitFor();
    await shot(page, 'discount-applied');

    await access.getByRole('button', { name: 'Buy' }).click();
    await onSandboxPage(page, stack);
    await page.getByText('$26.99').first().waitFor();
    assert.equal(await page.getByText('$29.99').count(), 0, 'the sandbox charges the discounted price');
    await shot(page, 'discount-sandbox');
    await payOnSandbox(page, '4242424242424242');

    await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20000 });
    assert.equal((await page.locator('#sum-amount').textContent()).trim(), '$26.99');

    const token = await uiToken(page);
    const orders = (await stack.api('GET', '/v1/orders', { token })).json.data;
    assert.equal(orders.length, 1);
    assert.equal(orders[0].amount_cents, 2699);
    assert.equal(orders[0].discount_code, code);
    const payments = (await stack.api('GET', '/v1/payments', { token })).json.data;
    assert.equal(payments[0].amount_cents, 2699);

    await page.getByRole('link', { name: 'View orders' }).click();
    await page.locator('table tbody').getByText('$26.99').waitFor();
    await shot(page, 'discount-orders');
});
