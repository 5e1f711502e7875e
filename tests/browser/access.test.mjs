// Cancelling on the checkout page charges nothing; logged-out visitors are
// sent to log in (and come back); one account never sees another's orders.
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, signUpUi, logInUi, onSandboxPage, uiToken,
} from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

uiTest(chrome, 'cancel on the checkout page returns to the cancel page with nothing charged', async ({ page }) => {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    await page.goto(`${stack.baseUrl}/buy`);
    await page.getByRole('region', { name: 'Access' }).getByRole('button', { name: 'Buy' }).click();
    await onSandboxPage(page, stack);

    await page.getByRole('link', { name: /cancel|back/i }).first().click();
    await page.waitForURL(`${stack.baseUrl}/cancel`);
    await page.getByRole('heading', { name: /Checkout cancelled.*not charged/ }).waitFor();
    await shot(page, 'cancel-page');

    assert.equal((await stack.api('GET', '/v1/balance', { token })).json.balance, 0);
    const payments = (await stack.api('GET', '/v1/payments', { token })).json.data;
    assert.equal(payments.filter((p) => p.status === 'succeeded').length, 0);
    const orders = (await stack.api('GET', '/v1/orders', { token })).json.data;
    assert.equal(orders.filter((o) => o.status === 'completed').length, 0);

    await page.getByRole('link', { name: 'Back to Buy credits' }).click();
    await page.waitForURL(`${stack.baseUrl}/buy`);
});

uiTest(chrome, 'logged out, account pages go to login and come back after it', async ({ page }) => {
    const user = await stack.signup();
    for (const p of ['/dashboard', '/buy', '/payments']) {
        await page.goto(`${stack.baseUrl}${p}`);
        await page.waitForURL(`${stack.baseUrl}/?next=${encodeURIComponent(p)}`);
    }
    await page.goto(`${stack.baseUrl}/orders`);
    await page.waitForURL(`${stack.baseUrl}/?next=%2Forders`);
    await page.getByText('Please log in to continue.').waitFor();
    await shot(page, 'login-redirect');

    // Wrong password: the API's error inline, in an alert.
    await logInUi(page, { email: user.email, password: 'not-the-password' });
    await page.getByRole('alert').waitFor();
    assert.ok((await page.getByRole('alert').textContent()).trim().length > 0);
    await shot(page, 'login-error');

    await logInUi(page, user);
    await page.waitForURL(`${stack.baseUrl}/orders`);
    await page.getByText('No orders yet.').waitFor();

    // Log out: the token dies, leaves storage, and account pages send us to log in again.
    const token = await uiToken(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${stack.baseUrl}/`);
    assert.equal(await uiToken(page), null);
    assert.equal((await stack.api('GET', '/v1/balance', { token })).status, 401);
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.waitForURL(`${stack.baseUrl}/?next=%2Fdashboard`);
});

uiTest(chrome, 'one account never sees another account’s orders', async ({ page }) => {
    const config = await stack.config();
    const alice = await stack.signup();
    const bob = await stack.signup();
    const bought = await stack.buy(alice, { kind: 'package', package_id: config.packages[0].id });

    await page.goto(`${stack.baseUrl}/orders`);
    await page.waitForURL(/\?next=/);
    await logInUi(page, bob);
    await page.waitForURL(`${stack.baseUrl}/orders`);
    await page.getByText('No orders yet.').waitFor();
    assert.equal(await page.getByText(bought.order_id).count(), 0);
    await page.goto(`${stack.baseUrl}/payments`);
    await page.getByText('No payments yet.').waitFor();

    // Alice's checkout session is not Bob's to look at (403 from the API).
    await page.goto(`${stack.baseUrl}/success?session_id=${encodeURIComponent(bought.session_id)}`);
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Payment complete' }).count(), 0);
    await shot(page, 'other-accounts-session');

    // Alice sees her own.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${stack.baseUrl}/`);
    await logInUi(page, alice);
    await page.waitForURL(`${stack.baseUrl}/dashboard`);
    await page.goto(`${stack.baseUrl}/orders`);
    await page.getByText(bought.order_id).waitFor();
    await shot(page, 'own-orders');
});
