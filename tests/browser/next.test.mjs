// The login page's ?next= only ever continues to a page of this origin:
// every hostile form (another host, a tab or a backslash the URL parser
// drops or turns into "//", another scheme, another port of loopback) lands
// on the dashboard instead, logged in or logging in; a same-origin path
// still works. Any request to evil.example is answered here (never sent out)
// and recorded, so a test cannot pass by a lookup failing.
import assert from 'node:assert/strict';
import { useStack, useBrowser, uiTest, signUpUi, logInUi } from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

/* Query strings as an attacker would write them in a link. */
const HOSTILE = [
    '//evil.example',
    '/%09/evil.example',
    '/%0A/evil.example',
    '/%5Cevil.example',
    '/\\evil.example',
    '/%09%5Cevil.example',
    '%2F%2Fevil.example',
    'https://evil.example',
    'https:evil.example',
    'javascript:alert(1)',
];

/* Answers every request to evil.example locally and records it. */
async function trapEvil(context) {
    const hits = [];
    await context.route((u) => u.hostname === 'evil.example', (route) => {
        hits.push(route.request().url());
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>evil</h1>' });
    });
    return hits;
}

/* Waits until the page is on `want` (same origin) or has left the origin. */
async function landing(page, want) {
    const base = new URL(stack.baseUrl).origin;
    await page.waitForURL((u) => u.origin !== base || u.pathname === want);
    return page.url();
}

uiTest(chrome, 'logged in, a hostile ?next= lands on the dashboard, never on another origin', async ({ page, context }) => {
    const hits = await trapEvil(context);
    const dialogs = [];
    page.on('dialog', (d) => {
        dialogs.push(d.message());
        d.dismiss().catch(() => {});
    });
    await signUpUi(page, stack);
    const cases = [...HOSTILE, encodeURIComponent(`${stack.sandboxUrl}/`)];
    for (const q of cases) {
        await page.goto(`${stack.baseUrl}/?next=${q}`);
        const url = await landing(page, '/dashboard');
        assert.equal(url, `${stack.baseUrl}/dashboard`, `?next=${q}`);
        await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    }
    assert.deepEqual(hits, [], 'no request reached evil.example');
    assert.deepEqual(dialogs, [], 'no script ran from ?next=');

    // A path of this origin is still where the visitor continues.
    await page.goto(`${stack.baseUrl}/?next=${encodeURIComponent('/orders')}`);
    assert.equal(await landing(page, '/orders'), `${stack.baseUrl}/orders`);
    await page.getByText('No orders yet.').waitFor();
    await page.goto(`${stack.baseUrl}/?next=${encodeURIComponent(`${stack.baseUrl}/payments`)}`);
    assert.equal(await landing(page, '/payments'), `${stack.baseUrl}/payments`);
});

uiTest(chrome, 'logging in with a hostile ?next= lands on the dashboard', async ({ page, context }) => {
    const hits = await trapEvil(context);
    const user = await stack.signup();
    await page.goto(`${stack.baseUrl}/?next=/%09/evil.example`);
    await logInUi(page, user);
    assert.equal(await landing(page, '/dashboard'), `${stack.baseUrl}/dashboard`);
    assert.deepEqual(hits, []);
});
