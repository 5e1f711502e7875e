// Branding: the header shows the business name and logo, the accent colour
// from CREDITD_BRAND_COLOR applies (set from JS under the strict CSP) with
// readable text on it, and the support address is in the footer.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, signUpUi } from './harness.mjs';

// A light accent: text on it must turn black, links keep the default blue.
const stack = useStack({
    serverEnv: {
        CREDITD_BRAND_NAME: 'Acme Widgets',
        CREDITD_BRAND_LOGO_URL: '/favicon.svg',
        CREDITD_SUPPORT_EMAIL: 'help@acme.test',
        CREDITD_BRAND_COLOR: '#facc15',
    },
});
const chrome = useBrowser();

uiTest(chrome, 'the header shows the brand and the accent colour applies', async ({ open }) => {
    const { page } = await open();
    await page.goto(`${stack.baseUrl}/`);
    const brand = page.locator('.site-header .brand');
    await brand.getByText('Acme Widgets').waitFor();
    assert.equal(await brand.locator('img.brand-logo').getAttribute('src'), '/favicon.svg');
    await page.getByRole('link', { name: 'help@acme.test' }).waitFor();
    await signUpUi(page, stack);
    await page.goto(`${stack.baseUrl}/buy`);
    await page.locator('#site-header .brand').getByText('Acme Widgets').waitFor();
    assert.match(await page.title(), /Acme Widgets/);
    const btn = page.getByRole('region', { name: 'Credit packages' }).getByRole('button', { name: 'Buy' }).first();
    await btn.waitFor();
    const look = await btn.evaluate((el) => {
        const cs = getComputedStyle(el);
        return { bg: cs.backgroundColor, color: cs.color };
    });
    assert.equal(look.bg, 'rgb(250, 204, 21)');
    assert.equal(look.color, 'rgb(0, 0, 0)', 'black text on a light accent');
    const link = await page.getByRole('link', { name: 'help@acme.test' }).evaluate((el) => getComputedStyle(el).color);
    assert.equal(link, 'rgb(29, 78, 216)', 'links keep the readable default blue');
    await shot(page, 'brand-buy');
});
