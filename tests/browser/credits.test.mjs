// Credits shown as credits: the catalog's credit_unit decides whether a
// balance reads "13,699 credits" (count, the default) or "$136.99" with the
// count beneath (currency); package cards say each thing once; the access
// product's Buy button is apart from the discount code's Apply.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { useStack, useBrowser, uiTest, shot, signUpUi, uiToken, fmtCredits } from './harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-units-'));
const catalog = path.join(dir, 'catalog.json');
fs.writeFileSync(catalog, JSON.stringify({
    packages: [
        { id: 'small', name: '1,000 credits', price_cents: 1000, credits: 1000 },
        { id: 'big', name: 'Big - 5,500 credits', price_cents: 5000, credits: 5500 },
    ],
    credit_unit: { name: 'credits', display: 'currency' },
}));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const stack = useStack();
const cash = useStack({ serverEnv: { CREDITD_CATALOG: catalog } });
const chrome = useBrowser();

async function grant(s, page, amount) {
    const token = await uiToken(page);
    const id = (await s.api('GET', '/v1/account', { token })).json.id;
    const r = await s.asServer(id, 'POST', '/v1/grants', { body: { amount, description: 'bonus' } });
    assert.equal(r.status, 201, r.text);
}

uiTest(chrome, 'a count unit shows 13,699 credits and no cash value', async ({ page }) => {
    assert.deepEqual((await stack.config()).credit_unit, { name: 'credits', display: 'count' });
    await signUpUi(page, stack);
    await grant(stack, page, 13699);
    await page.reload();
    const balance = page.getByRole('region', { name: 'Balance' });
    await balance.getByText('13,699 credits', { exact: true }).waitFor();
    assert.doesNotMatch(await balance.textContent(), /\$|136\.99/);
    await shot(page, 'dashboard-credits-count');
});

uiTest(chrome, 'package cards say each count once; Buy access is apart from Apply code', async ({ page }) => {
    const config = await stack.config();
    await signUpUi(page, stack);
    await page.goto(`${stack.baseUrl}/buy`);
    for (const p of [...config.packages, ...config.plans]) {
        const card = page.getByRole('article', { name: p.name });
        await card.waitFor();
        const count = fmtCredits(p.credits ?? p.credits_per_period);
        const text = await card.textContent();
        assert.equal(text.split(count).length - 1, 1, `${p.name}: "${count}" once in "${text}"`);
    }
    const access = page.getByRole('region', { name: 'Access' });
    const apply = access.getByRole('button', { name: 'Apply code' });
    const buy = access.getByRole('button', { name: /^Buy access for \$\d/ });
    await buy.waitFor();
    assert.equal(await buy.count(), 1);
    // Apply sits with the code field; Buy is below it, on its own row.
    const [a, b, field] = await Promise.all([apply.boundingBox(), buy.boundingBox(), access.getByLabel(/Discount code/).boundingBox()]);
    assert.ok(Math.abs(a.y - field.y) < field.height + 10, 'Apply is next to the code field');
    assert.ok(b.y > a.y + a.height, 'Buy access is below Apply code');
    await access.getByText(/^Includes [\d,]+ credits\.$/).waitFor();
    await apply.click();
    await access.getByText('Enter a code first.').waitFor();
    assert.ok(page.url().startsWith(stack.baseUrl), 'Apply never starts a checkout');
    await shot(page, 'buy-page-cards');
});

uiTest(chrome, 'a currency unit shows the cash value with the credits beneath', async ({ page }) => {
    assert.deepEqual((await cash.config()).credit_unit, { name: 'credits', display: 'currency' });
    await signUpUi(page, cash);
    await grant(cash, page, 13699);
    await page.reload();
    const balance = page.getByRole('region', { name: 'Balance' });
    await balance.getByText('$136.99', { exact: true }).waitFor();
    await balance.getByText('13,699 credits', { exact: true }).waitFor();
    await page.goto(`${cash.baseUrl}/buy`);
    const big = page.getByRole('article', { name: 'Big - 5,500 credits' });
    await big.getByText('Includes $5.00 bonus').waitFor();
    assert.equal((await page.getByRole('article', { name: '1,000 credits' }).textContent()).split('1,000').length - 1, 1);
    await shot(page, 'buy-page-currency');
});
