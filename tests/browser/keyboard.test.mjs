// A buyer who uses only the keyboard: signs up, goes to Buy credits, buys a
// top-up, pays on the sandbox's checkout page and sees the credits - every
// step reached with Tab and pressed with Enter, with a visible focus ring.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, shot, rand, uiToken, sandboxConfig } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

/** What has the focus: its tag, accessible-ish name and focus styling. */
function focused(page) {
    return page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const label = el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '';
        const region = el.closest('section, article');
        const heading = region ? region.querySelector('h1, h2, h3') : null;
        const cs = getComputedStyle(el);
        return {
            tag: el.tagName.toLowerCase(),
            name: label || el.textContent.trim() || el.getAttribute('aria-label') || '',
            region: heading ? heading.textContent.trim() : '',
            ring: (cs.outlineStyle !== 'none' && cs.outlineWidth !== '0px') || cs.boxShadow !== 'none',
        };
    });
}

/** Presses Tab until match(focused) holds (at most 40 times); returns it. */
async function tabTo(page, what, match) {
    for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await focused(page);
        if (f && match(f)) {
            assert.ok(f.ring, `${what} shows a visible focus indicator`);
            return f;
        }
    }
    throw new Error(`${what}: not reachable with Tab`);
}

uiTest(chrome, 'keyboard only: sign up, buy a top-up, pay, see the credits', async ({ page }) => {
    await sandboxConfig(stack, { delivery_delay_ms: 0 });
    await page.goto(`${stack.baseUrl}/`);
    await tabTo(page, 'Email field', (f) => f.tag === 'input' && f.name === 'Email');
    await page.keyboard.type(`kb-${rand(5)}@example.com`);
    await tabTo(page, 'Password field', (f) => f.tag === 'input' && f.name === 'Password');
    await page.keyboard.type(`pw-${rand(8)}`);
    await tabTo(page, 'Sign up button', (f) => f.tag === 'button' && f.name === 'Sign up');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.baseUrl}/dashboard`);

    await tabTo(page, 'Buy credits link', (f) => f.tag === 'a' && f.name === 'Buy credits');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.baseUrl}/buy`);
    await page.getByRole('heading', { name: 'Top up' }).waitFor();
    const buy = await tabTo(page, 'Top up Buy button', (f) => f.tag === 'button' && f.name === 'Buy' && f.region === 'Top up');
    assert.equal(buy.region, 'Top up');
    await shot(page, 'keyboard-buy-focus');
    await page.keyboard.press('Enter');

    await page.waitForURL((u) => u.href.startsWith(stack.sandboxUrl));
    await page.getByLabel('Card number').waitFor();
    await tabTo(page, 'Card number field', (f) => f.tag === 'input' && f.name === 'Card number');
    await page.keyboard.type('4242 4242 4242 4242');
    await tabTo(page, 'Expiry field', (f) => f.tag === 'input' && f.name === 'Expiry');
    await page.keyboard.type('12/34');
    await tabTo(page, 'CVC field', (f) => f.tag === 'input' && f.name === 'CVC');
    await page.keyboard.type('123');
    await tabTo(page, 'Pay button', (f) => f.tag === 'button' && f.name === 'Pay');
    await page.keyboard.press('Enter');

    await page.waitForURL((u) => u.href.startsWith(`${stack.baseUrl}/success?session_id=`));
    await page.getByRole('heading', { name: 'Payment complete' }).waitFor({ timeout: 20000 });
    await shot(page, 'keyboard-success');
    const token = await uiToken(page);
    const config = await stack.config();
    const bal = (await stack.api('GET', '/v1/balance', { token })).json.balance;
    assert.equal(bal, config.topup.default_cents);
});
