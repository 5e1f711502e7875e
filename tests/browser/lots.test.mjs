// Credit lots on the dashboard: what is left by kind (paid, promotional),
// the next expiry, and each active lot with where it came from, what is
// left of it and when it expires ("Never" when it does not); the buy
// page says when a package's or a plan's credits expire.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { useStack, useBrowser, uiTest, shot, signUpUi, uiToken } from './harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-lots-ui-'));
const catalog = path.join(dir, 'catalog.json');
fs.writeFileSync(catalog, JSON.stringify({
    packages: [{ id: 'trial', name: 'Trial', price_cents: 300, credits: 300, expires_in_days: 30 }],
    plans: [{ id: 'monthly', name: 'Monthly', price_cents: 1999, interval: 'month', credits_per_period: 500,
              credits_expire: 'period_end', rollover_cap: 100 }],
}));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const stack = useStack({ serverEnv: { CREDITD_CATALOG: catalog } });
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

uiTest(chrome, "the buy page says when a package's and a plan's credits expire", async ({ page }) => {
    await signUpUi(page, stack);
    await page.goto(`${stack.baseUrl}/buy`);
    await page.getByRole('article', { name: 'Trial' }).getByText('Expire 30 days after purchase').waitFor();
    await page.getByRole('article', { name: 'Monthly' })
        .getByText('Unused credits expire at the end of each month; up to 100 credits carry over').waitFor();
    await shot(page, 'buy-expiry-notes');
});
