// Cookie sessions and portal links: the web UI's session is an HttpOnly,
// SameSite=Lax cookie shared by every tab; state-changing calls need the
// session's CSRF header; logout ends the session on the server; a portal
// link from POST /v1/portal_sessions logs in once and is refused after.
import assert from 'node:assert/strict';
import {
    useStack, useBrowser, uiTest, shot, signUpUi, uiToken, httpRequest, expectError,
} from './harness.mjs';

const stack = useStack();
const chrome = useBrowser();

const cookieOf = async (page, name) => (await page.context().cookies()).find((c) => c.name === name);

uiTest(chrome, 'a cookie session survives a new tab and a reload; logout ends it server-side', async ({ page }) => {
    await signUpUi(page, stack);
    const session = await cookieOf(page, 'creditd_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.secure, false, 'plain http base URL: no Secure');
    assert.equal(await page.evaluate(() => document.cookie.includes('creditd_session')), false,
        'script cannot read the session cookie');
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0, 'no token in storage');

    // A new tab (same browser context) opens Orders logged in.
    const tab = await page.context().newPage();
    await tab.goto(`${stack.baseUrl}/orders`);
    await tab.getByText('No orders yet.').waitFor();
    assert.equal(tab.url(), `${stack.baseUrl}/orders`);
    await tab.close();

    // A reload stays on the dashboard.
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(page.url(), `${stack.baseUrl}/dashboard`);

    const token = await uiToken(page);
    assert.equal((await stack.api('GET', '/v1/balance', { token })).status, 200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${stack.baseUrl}/`);
    assert.equal(await uiToken(page), null, 'cookie cleared');
    assert.equal((await stack.api('GET', '/v1/balance', { token })).status, 401, 'session ended on the server');
    // The old cookie, replayed, is dead too.
    const r = await httpRequest('GET', `${stack.baseUrl}/v1/balance`, { headers: { Cookie: `creditd_session=${token}` } });
    expectError(r, 401, 'invalid_token');
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.waitForURL(`${stack.baseUrl}/?next=%2Fdashboard`);
});

uiTest(chrome, 'a state-changing call with the cookie but without the CSRF header is 403', async ({ page }) => {
    await signUpUi(page, stack);
    const token = await uiToken(page);
    const csrf = (await cookieOf(page, 'creditd_csrf')).value;
    const cookie = `creditd_session=${token}; creditd_csrf=${csrf}`;
    const body = { kind: 'topup', amount_cents: 1000 };

    // From the page itself (as a forged form or script elsewhere would, minus the header).
    const status = await page.evaluate(async () => (await fetch('/v1/auth/logout', { method: 'POST', credentials: 'same-origin' })).status);
    assert.equal(status, 403);
    expectError(await httpRequest('POST', `${stack.baseUrl}/v1/checkout`, { headers: { Cookie: cookie }, body }), 403, 'csrf_failed');
    expectError(await httpRequest('POST', `${stack.baseUrl}/v1/auth/logout`,
        { headers: { Cookie: cookie, 'Creditd-CSRF': 'f'.repeat(64) } }), 403, 'csrf_failed');
    // GETs need no header; Bearer callers never do.
    assert.equal((await httpRequest('GET', `${stack.baseUrl}/v1/balance`, { headers: { Cookie: cookie } })).status, 200);
    assert.equal((await stack.api('POST', '/v1/discounts/validate', { token, body: { code: 'NOPE' } })).status, 200);
    // With the header the cookie session works, and the session is still alive.
    const ok = await httpRequest('POST', `${stack.baseUrl}/v1/discounts/validate`,
        { headers: { Cookie: cookie, 'Creditd-CSRF': csrf }, body: { code: 'NOPE' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.valid, false);
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
});

uiTest(chrome, 'a portal link logs the buyer in once; the second use is refused', async ({ page, open }) => {
    const user = await stack.signup();
    const returnUrl = `${stack.baseUrl}/back-to-app`;
    const r = await stack.asServer(user.id, 'POST', '/v1/portal_sessions', { body: { return_url: returnUrl } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.url, new RegExp(`^${stack.baseUrl}/portal#cdp_[0-9a-f]{64}$`));
    const left = Date.parse(r.json.expires_at) - Date.now();
    assert.ok(left > 200000 && left <= 301000, `expires in ~5 min (${left} ms)`);

    await page.goto(r.json.url);
    await page.waitForURL(`${stack.baseUrl}/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const token = await uiToken(page);
    assert.equal((await stack.api('GET', '/v1/account', { token })).json.id, user.id);
    await page.getByRole('link', { name: /^Back to / }).waitFor();
    assert.equal(await page.getByRole('link', { name: /^Back to / }).getAttribute('href'), returnUrl);
    await shot(page, 'portal-dashboard');

    // The same link again, in a fresh browser: refused, clearly.
    const other = await open();
    await other.page.goto(r.json.url);
    await other.page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
    assert.match(await other.page.getByRole('alert').textContent(), /expired or was already used/);
    assert.equal(other.page.url(), `${stack.baseUrl}/portal`, 'token taken out of the address bar');
    assert.equal(await uiToken(other.page), null);
    await shot(other.page, 'portal-used');

    // API side: refused the same way, and bad return URLs and tokens are 4xx.
    const token2 = r.json.url.split('#')[1];
    const cookieSession = { 'Creditd-Session': 'cookie' };
    expectError(await stack.api('POST', '/v1/auth/portal', { headers: cookieSession, body: { token: token2 } }), 401, 'invalid_portal_link');
    // Without the header a cross-site form cannot send, nothing is looked at.
    expectError(await stack.api('POST', '/v1/auth/portal', { body: { token: token2 } }), 400, 'missing_param');
    expectError(await stack.asServer(user.id, 'POST', '/v1/portal_sessions', { body: { return_url: 'https://evil.example/' } }),
        400, 'redirect_not_allowed');
    expectError(await stack.api('POST', '/v1/portal_sessions', { token: user.token, body: {} }), 403, 'forbidden');
    const bare = await stack.asServer(user.id, 'POST', '/v1/portal_sessions');
    assert.equal(bare.status, 201, bare.text);
    assert.equal(bare.json.return_url, null);
});
