// Every page fits a 375 px wide screen (no sideways scrolling), has one <h1>,
// and every form field has a visible label; screenshots of each at 375 px.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, signUpUi } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

const PAGES = ['/dashboard', '/buy', '/orders', '/payments', '/cancel', '/success?session_id=cs_test_unknown'];

async function checkPage(page, name) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px of sideways scrolling at 375px`);
    assert.equal(await page.locator('h1').count(), 1, `${name}: one h1`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => !el.hidden && !(el.labels && el.labels.length))
        .map((el) => el.id || el.name));
    assert.deepEqual(unlabelled, [], `${name}: fields without a <label for>`);
}

uiTest(chrome, 'pages fit a 375px screen and label every field', async ({ open }) => {
    const { page } = await open({ width: 375, height: 812 });
    await page.goto(`${stack.baseUrl}/`);
    await checkPage(page, 'login');
    await shot(page, 'mobile-login');
    await page.goto(`${stack.baseUrl}/portal#cdp_${'0'.repeat(64)}`);
    await page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
    await checkPage(page, 'portal');
    await shot(page, 'mobile-portal');
    await signUpUi(page, stack);
    for (const p of PAGES) {
        await page.goto(`${stack.baseUrl}${p}`);
        await page.locator('#site-header nav').waitFor();
        if (p === '/buy') await page.getByRole('region', { name: 'Credit packages' }).getByRole('button', { name: 'Buy' }).first().waitFor();
        if (p.startsWith('/success')) await page.getByRole('alert').waitFor();
        const name = p.slice(1).replace(/\?.*/, '');
        await checkPage(page, name);
        await shot(page, `mobile-${name}`);
    }
});
