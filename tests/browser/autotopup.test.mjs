// Auto top-up on the dashboard: a person with a saved card turns it on
// (threshold, amount, monthly cap), a debit under the threshold tops the
// balance up, the card shows this month's spend; a card that declines
// off-session shows the last failure with Stripe's reason; turning it off.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, signUpUi, uiToken, fmtUsd, until } from './harness.mjs';

const stack = useStack({ serverEnv: { CREDITD_AUTOTOPUP_POLL_MS: '200' } });
const chrome = useBrowser();

async function withSavedCard(page, card) {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const account = (await stack.api('GET', '/v1/account', { token })).json;
    await stack.buy({ token, id: account.id }, { kind: 'topup', amount_cents: 1000 }, card);
    await until(async () => (await stack.api('GET', '/v1/account', { token })).json.has_saved_payment_method, 'card saved');
    return { token, id: account.id };
}

async function turnOn(page) {
    await page.goto(`${stack.baseUrl}/dashboard`);
    const region = page.getByRole('region', { name: 'Auto top-up' });
    await region.getByText('Off.').waitFor();
    await region.getByLabel('Top up automatically with my saved card').check();
    await region.getByLabel(/When the balance falls below/).fill('500');
    await region.getByLabel('Add').selectOption('2000');
    await region.getByLabel(/At most per month/).fill('100');
    await region.getByRole('button', { name: 'Save' }).click();
    await region.getByText('Auto top-up is on.').waitFor();
    return region;
}

uiTest(chrome, 'turn auto top-up on with a saved card; a debit under the threshold tops up', async ({ page }) => {
    const u = await withSavedCard(page);
    const region = await turnOn(page);
    await region.getByText(new RegExp(`charged ${fmtUsd(2000).replace('$', '\\$')}`)).waitFor();
    const debit = await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 600, description: 'ui usage' } });
    assert.equal(debit.status, 201, debit.text);
    await until(async () => (await stack.api('GET', '/v1/balance', { token: u.token })).json.balance === 2400, 'topped up');
    await page.reload();
    await region.getByText(/\$20\.00 so far this month/).waitFor();
    await shot(page, 'dashboard-autotopup-on');

    await region.getByLabel('Top up automatically with my saved card').uncheck();
    await region.getByRole('button', { name: 'Save' }).click();
    await region.getByText('Auto top-up is off.').waitFor();
    assert.equal((await stack.api('GET', '/v1/auto_topup', { token: u.token })).json.enabled, false);
});

uiTest(chrome, 'a card that declines off-session: the dashboard shows the last failure', async ({ page }) => {
    const u = await withSavedCard(page, '4000000000000341');
    await turnOn(page);
    await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 600, description: 'ui usage' } });
    await until(async () => (await stack.api('GET', '/v1/auto_topup', { token: u.token })).json.consecutive_declines === 1, 'declined');
    await page.reload();
    const region = page.getByRole('region', { name: 'Auto top-up' });
    await region.getByText(/Last failure on .*declined.*\(generic_decline\)/).waitFor();
    await region.getByText(/Next try:/).waitFor();
    await shot(page, 'dashboard-autotopup-declined');
});

uiTest(chrome, 'the card fits a 375px screen, every field labelled', async ({ open }) => {
    const { page } = await open({ width: 375, height: 812 });
    await withSavedCard(page);
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.getByRole('region', { name: 'Auto top-up' }).getByText('Off.').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${overflow}px of sideways scrolling at 375px`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('#at-section input, #at-section select')]
        .filter((el) => !(el.labels && el.labels.length)).map((el) => el.id));
    assert.deepEqual(unlabelled, []);
    await shot(page, 'mobile-dashboard-autotopup');
});

uiTest(chrome, 'no saved card: no auto top-up card on the dashboard', async ({ page }) => {
    await signUpUi(page, stack);
    await page.getByRole('heading', { name: 'Recent transactions' }).waitFor();
    await page.waitForLoadState('networkidle');
    assert.equal(await page.getByRole('region', { name: 'Auto top-up' }).count(), 0);
});
