// Credit lots on the dashboard: what is left by kind (paid, promotional),
// the next expiry, and each active lot with where it came from, what is
// left of it and when it expires ("Never" when it does not).
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, signUpUi, uiToken } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

uiTest(chrome, 'the dashboard lists credit lots with their expiry and the totals by kind', async ({ page }) => {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const id = (await stack.api('GET', '/v1/account', { token })).json.id;
    for (const body of [{ amount: 300, expires_in_days: 10 }, { amount: 200, category: 'paid' }]) {
        const r = await stack.asServer(id, 'POST', '/v1/grants', { body: { description: 'bonus', ...body } });
        assert.equal(r.status, 201, r.text);
    }
    await page.reload();
    const balance = page.getByRole('region', { name: 'Balance' });
    await balance.getByText('Paid 200 · Promotional 300', { exact: true }).waitFor();
    await balance.getByText(/^300 credits expire on /).waitFor();
    const lots = page.getByRole('region', { name: 'Your credits' });
    const rows = lots.locator('tbody').getByRole('row');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    const promo = rows.filter({ hasText: 'Promotional' });
    await promo.getByText('300 of 300').waitFor();
    assert.equal(await promo.locator('time').count(), 1);
    const paid = rows.filter({ hasText: 'Paid' });
    await paid.getByText('Never').waitFor();
    await shot(page, 'dashboard-lots');
});
