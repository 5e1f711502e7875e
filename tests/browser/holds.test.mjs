// Holds on the dashboard: with credits reserved by a hold (made with the
// server key, as an application does), the balance card shows the
// available amount next to the total and the "Reserved credits" card lists
// the active hold; once captured, both go back to plain.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, signUpUi, uiToken } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

uiTest(chrome, 'the dashboard shows available vs total and the active holds', async ({ page }) => {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const id = (await stack.api('GET', '/v1/account', { token })).json.id;
    assert.equal((await stack.asServer(id, 'POST', '/v1/grants', { body: { amount: 1000, description: 'bonus' } })).status, 201);
    const r = await stack.asServer(id, 'POST', '/v1/holds', { body: { amount: 300, description: 'Video export' } });
    assert.equal(r.status, 201, r.text);
    await page.reload();
    const balance = page.getByRole('region', { name: 'Balance' });
    await balance.getByText('Available: 700 credits of 1,000 credits (300 credits reserved)').waitFor();
    const holds = page.getByRole('region', { name: 'Reserved credits' });
    await holds.getByText('Video export').waitFor();
    assert.match(await holds.textContent(), /300/);
    await shot(page, 'dashboard-holds');

    const c = await stack.asServer(id, 'POST', `/v1/holds/${r.json.id}/capture`, { body: { amount: 120 } });
    assert.equal(c.status, 200, c.text);
    await page.reload();
    await balance.getByText('880 credits', { exact: true }).waitFor();
    assert.equal(await page.locator('#holds-section').isHidden(), true);
    assert.equal(await page.locator('#balance-available').isHidden(), true);
});
