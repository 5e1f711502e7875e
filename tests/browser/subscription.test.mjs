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
