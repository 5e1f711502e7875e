// Subscribing through the UI: the plan on the buy page, the sandbox's
// checkout page, back to the success page, and the dashboard shows the
// subscription and the first period's credits (granted once, by invoice.paid).
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, signUpUi, onSandboxPage, payOnSandbox,
    uiToken, fmtUsd, fmtCredits, until,
} from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

uiTest(chrome, 'subscribe to a plan with 4242: dashboard shows it active with the credits', async ({ page }) => {
    const config = await stack.config();
    const plan = config.plans[0];
    assert.ok(plan, 'the default catalog has a plan');
    await signUpUi(page, stack);
    await page.goto(`${stack.baseUrl}/buy`);
    const card = page.getByRole('article', { name: plan.name });
    await card.getByText(`${fmtUsd(plan.price_cents)} / ${plan.interval}`).waitFor();
    await card.getByRole('button', { name: 'Subscribe' }).click();

    await onSandboxPage(page, stack);
    await page.getByText(fmtUsd(plan.price_cents), { exact: false }).first().waitFor();
    await payOnSandbox(page, '4242 4242 4242 4242');
    await page.waitForURL((u) => u.href.startsWith(`${stack.baseUrl}/success?session_id=`));
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20000 });

    const token = await uiToken(page);
    await until(async () => (await stack.api('GET', '/v1/balance', { token })).json.balance === plan.credits_per_period,
        'first period credits');
    await page.goto(`${stack.baseUrl}/dashboard`);
    const sub = page.getByRole('region', { name: 'Subscription' });
    await sub.getByText(plan.name).waitFor();
    await sub.getByText('Active').waitFor();
    await sub.getByText(/Renews on/).waitFor();
    await page.getByText(`${fmtCredits(plan.credits_per_period)} credits`, { exact: true }).waitFor();
    await shot(page, 'dashboard-subscription');
    // Exactly one period's credits, however the events arrived.
    assert.equal((await stack.api('GET', '/v1/balance', { token })).json.balance, plan.credits_per_period);
});

uiTest(chrome, 'cancel at period end and resume from the dashboard, each after a confirmation', async ({ page }) => {
    const plan = (await stack.config()).plans[0];
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const account = (await stack.api('GET', '/v1/account', { token })).json;
    const co = await stack.checkout({ token, id: account.id }, { kind: 'subscription', plan_id: plan.id });
    const done = await stack.completeSession(co.session_id);
    assert.equal(done.status, 200, done.text);
    const subId = done.json.subscription;
    await until(async () => (await stack.api('GET', '/v1/subscription', { token })).status === 200, 'subscription stored');
    const atStripe = async () => (await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.cancel_at_period_end;

    await page.goto(`${stack.baseUrl}/dashboard`);
    const card = page.getByRole('region', { name: 'Subscription' });
    await card.getByText(/Renews on/).waitFor();
    assert.equal(await card.getByRole('button', { name: 'Resume' }).isVisible(), false);

    // Cancel: a confirmation first; "Go back" changes nothing.
    await card.getByRole('button', { name: 'Cancel at period end' }).click();
    await card.getByText(/Cancel your subscription at the end of the period\?/).waitFor();
    await card.getByRole('button', { name: 'Go back' }).click();
    await card.getByRole('button', { name: 'Cancel at period end' }).waitFor();
    assert.equal(await atStripe(), false);
    await card.getByRole('button', { name: 'Cancel at period end' }).click();
    await card.getByRole('button', { name: 'Yes, cancel at period end' }).click();
    await card.getByText('Your subscription will end at the end of the period.').waitFor();
    await card.getByText(/Ends on/).waitFor();
    await card.getByRole('button', { name: 'Resume' }).waitFor();
    assert.equal(await card.getByRole('button', { name: 'Cancel at period end' }).isVisible(), false);
    assert.equal(await atStripe(), true);
    await shot(page, 'dashboard-subscription-canceling');

    // After a reload the card still says so; then resume.
    await page.reload();
    await card.getByText(/Ends on/).waitFor();
    await card.getByRole('button', { name: 'Resume' }).click();
    await card.getByText(/Resume your subscription\?/).waitFor();
    await card.getByRole('button', { name: 'Yes, resume' }).click();
    await card.getByText('Your subscription will renew.').waitFor();
    await card.getByText(/Renews on/).waitFor();
    await card.getByRole('button', { name: 'Cancel at period end' }).waitFor();
    assert.equal(await atStripe(), false);
});

uiTest(chrome, 'Manage payment method: the sandbox billing portal changes the card and cancels, back on the dashboard', async ({ page }) => {
    const plan = (await stack.config()).plans[0];
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const account = (await stack.api('GET', '/v1/account', { token })).json;
    const co = await stack.checkout({ token, id: account.id }, { kind: 'subscription', plan_id: plan.id });
    const done = await stack.completeSession(co.session_id);
    assert.equal(done.status, 200, done.text);
    const subId = done.json.subscription;
    await until(async () => (await stack.api('GET', '/v1/subscription', { token })).status === 200, 'subscription stored');

    await page.goto(`${stack.baseUrl}/dashboard`);
    const card = page.getByRole('region', { name: 'Subscription' });
    await card.getByText(/Renews on/).waitFor();
    await card.getByRole('button', { name: 'Manage payment method' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${stack.sandboxUrl}/billing_portal/bps_`));
    await page.getByRole('heading', { name: 'Manage billing' }).waitFor();
    await page.getByText(/ending in 4242/).waitFor();

    // A declined card is refused; a good one replaces the card.
    await page.getByLabel('New card number').fill('4000 0000 0000 0002');
    await page.getByLabel('Expiry').fill('12 / 34');
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: 'Update payment method' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('New card number').fill('5555 5555 5555 4444');
    await page.getByLabel('Expiry').fill('12 / 34');
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: 'Update payment method' }).click();
    await page.getByText('Your payment method was updated.').waitFor();
    await page.getByText(/ending in 4444/).waitFor();
    const pm = (await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.default_payment_method;
    assert.equal((await stack.stripe('GET', `/v1/payment_methods/${pm}`)).json.card.last4, '4444');

    // Cancel on the portal, then back: the dashboard says it ends.
    await page.getByRole('button', { name: 'Cancel subscription' }).click();
    await page.getByText('Your subscription will be canceled at the end of the period.').waitFor();
    await page.getByRole('button', { name: "Don't cancel" }).waitFor();
    await shot(page, 'sandbox-billing-portal');
    await until(async () => (await stack.api('GET', '/v1/subscription', { token })).json.cancel_at_period_end === true,
        'the cancel reached creditd');
    await page.getByRole('link', { name: 'Return to the site' }).click();
    await page.waitForURL(`${stack.baseUrl}/dashboard`);
    await card.getByText(/Ends on/).waitFor();
    await card.getByRole('button', { name: 'Resume' }).waitFor();
});
