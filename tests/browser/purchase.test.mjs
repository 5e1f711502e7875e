// Buying through the real UI and the sandbox's hosted checkout page: a
// package with 4242 (the success page shows Processing while the webhook is
// held back, then Payment complete, and the dashboard shows the credits), and
// a declined card that charges nothing before 4242 succeeds on the same page.
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, signUpUi, onSandboxPage, payOnSandbox,
    sandboxConfig, uiToken, fmtCredits, fmtUsd, until,
} from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

async function apiAs(token, p) {
    const r = await stack.api('GET', p, { token });
    assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text}`);
    return r.json;
}

uiTest(chrome, 'package bought with 4242 shows Processing, then Payment complete and the credits', async ({ page }) => {
    const config = await stack.config();
    // A package whose credits differ from its price shows the two are kept apart.
    const pkg = config.packages.find((p) => p.credits !== p.price_cents) || config.packages[0];
    assert.ok(pkg, 'the default catalog has a package');

    await sandboxConfig(stack, { delivery_delay_ms: 1500 });
    try {
        await signUpUi(page, stack);
        await page.getByText('0 credits', { exact: true }).waitFor();
        await shot(page, 'dashboard-new-account');

        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buy credits' }).click();
        await page.waitForURL(`${stack.baseUrl}/buy`);
        const card = page.getByRole('article', { name: pkg.name });
        await card.getByText(fmtUsd(pkg.price_cents)).waitFor();
        await shot(page, 'buy-page');
        await card.getByRole('button', { name: 'Buy' }).click();

        await onSandboxPage(page, stack);
        await shot(page, 'sandbox-checkout');
        await payOnSandbox(page, '4242 4242 4242 4242');

        await page.waitForURL((u) => u.href.startsWith(`${stack.baseUrl}/success?session_id=`));
        await page.getByText('Processing your payment…').waitFor();
        await shot(page, 'success-processing');

        await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20000 });
        await page.getByText(`${fmtCredits(pkg.credits)} credits have been added`).waitFor();
        const orderId = (await page.locator('#sum-order').textContent()).trim();
        assert.match(orderId, /^ord_/);
        assert.equal((await page.locator('#sum-amount').textContent()).trim(), fmtUsd(pkg.price_cents));
        await shot(page, 'success-complete');

        await page.getByRole('link', { name: 'Go to your dashboard' }).click();
        await page.waitForURL(`${stack.baseUrl}/dashboard`);
        const balance = await apiAs(await uiToken(page), '/v1/balance');
        assert.equal(balance.balance, pkg.credits);
        // Credits shown as credits (the default "count" unit): no cash value.
        await page.getByText(`${fmtCredits(pkg.credits)} credits`, { exact: true }).waitFor();
        assert.equal((await page.locator('#balance-amount').textContent()).trim(), `${fmtCredits(pkg.credits)} credits`);
        assert.doesNotMatch(await page.getByRole('region', { name: 'Balance' }).textContent(), /\$/);
        await page.locator('table tbody').getByText(`+${fmtCredits(pkg.credits)}`).waitFor();
        await shot(page, 'dashboard-after-purchase');
    } finally {
        await sandboxConfig(stack, { delivery_delay_ms: 0 });
    }
});

uiTest(chrome, 'declined card shows the error and adds nothing; then 4242 on the same page succeeds', async ({ page }) => {
    const config = await stack.config();
    await signUpUi(page, stack);
    const token = await uiToken(page);

    await page.goto(`${stack.baseUrl}/buy`);
    const topup = page.getByRole('region', { name: 'Top up' });
    const amount = Number(await topup.getByLabel('Top-up amount').inputValue());
    assert.ok(amount >= config.topup.min_cents && amount <= config.topup.max_cents);
    await topup.getByRole('button', { name: 'Buy' }).click();

    await onSandboxPage(page, stack);
    await payOnSandbox(page, '4000 0000 0000 0002');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /declin/i);
    assert.ok(page.url().startsWith(stack.sandboxUrl), 'still on the checkout page');
    await shot(page, 'sandbox-declined');

    // Nothing arrives, even once every webhook the sandbox sent has landed.
    await stack.webhooksDelivered();
    assert.equal((await apiAs(token, '/v1/balance')).balance, 0);
    const orders = (await apiAs(token, '/v1/orders')).data;
    assert.equal(orders.filter((o) => o.status === 'completed').length, 0);

    // Same page, good card.
    await payOnSandbox(page, '4242 4242 4242 4242');
    await page.waitForURL((u) => u.href.startsWith(`${stack.baseUrl}/success`));
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20000 });
    await until(async () => (await apiAs(token, '/v1/balance')).balance === amount, 'top-up credited');
    await shot(page, 'success-after-decline');
});

uiTest(chrome, 'an unpaid checkout gives up politely after about a minute', async ({ page }) => {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const co = await stack.checkout({ token }, { kind: 'topup', amount_cents: (await stack.config()).topup.min_cents });

    // Fake the page's clock so a minute passes at once; the polls stay real.
    await page.clock.install();
    // Two real polls of the checkout status are answered first (counted,
    // not slept for).
    let polls = 0;
    page.on('response', (r) => { if (r.url().includes('/v1/checkout/')) polls++; });
    await page.goto(`${stack.baseUrl}/success?session_id=${encodeURIComponent(co.session_id)}`);
    await page.getByText('Processing your payment…').waitFor();
    await until(async () => polls >= 2, 'two real polls');
    await page.clock.fastForward(61000);
    await page.getByRole('heading', { name: 'Payment still processing' }).waitFor();
    await page.getByText('Your payment is still processing. Credits will appear on your dashboard shortly; ' +
        `if not, contact support with order ${co.order_id}.`).waitFor();
    await shot(page, 'success-gave-up');
    assert.equal((await apiAs(token, '/v1/balance')).balance, 0);
});
