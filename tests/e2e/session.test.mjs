// session.test.mjs - the web UI's cookie session at the HTTP level: which
// requests get cookies and with which attributes (Secure when
// CREDITD_BASE_URL is https), the CSRF rule, where the cookie counts as a
// credential and where it does not. The browser side is
// tests/browser/session.test.mjs.
import assert from 'node:assert/strict';
import { useStack, e2e, rand, expectError, httpRequest } from './harness.mjs';

const stack = useStack({ serverEnv: { CREDITD_BASE_URL: 'https://credits.example.com' } });
const cookieSession = { 'Creditd-Session': 'cookie' };

const cookies = (r) => [].concat(r.headers['set-cookie'] || []);
const valueOf = (r, name) => {
    const c = cookies(r).find((x) => x.startsWith(`${name}=`));
    return c ? c.slice(name.length + 1).split(';')[0] : null;
};

async function cookieSignup() {
    const body = { email: `s-${rand(6)}@example.com`, password: 'correct horse' };
    const r = await stack.api('POST', '/v1/auth/signup', { headers: cookieSession, body });
    assert.equal(r.status, 201, r.text);
    return { r, token: valueOf(r, 'creditd_session'), csrf: valueOf(r, 'creditd_csrf'), id: r.json.account.id };
}

function withCookie(method, p, { token, csrf, headers = {}, body } = {}) {
    const h = { ...headers, Cookie: `creditd_session=${token}; creditd_csrf=${csrf}` };
    return httpRequest(method, stack.baseUrl + p, { headers: h, body });
}

e2e('signup and login set the cookies only when asked; Secure on an https base URL', async () => {
    const { r, token, csrf } = await cookieSignup();
    const [session, csrfCookie] = ['creditd_session', 'creditd_csrf'].map((n) => cookies(r).find((c) => c.startsWith(`${n}=`)));
    assert.match(session, /^creditd_session=cdt_[0-9a-f]{64}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure$/);
    assert.match(csrfCookie, /^creditd_csrf=[0-9a-f]{64}; Path=\/; Max-Age=2592000; SameSite=Lax; Secure$/);
    assert.equal(token, r.json.token, 'the cookie holds the token of the reply');
    assert.notEqual(csrf, token);
    const plain = await stack.api('POST', '/v1/auth/login', { body: { email: r.json.account.email, password: 'correct horse' } });
    assert.equal(plain.status, 200);
    assert.deepEqual(cookies(plain), [], 'Bearer callers get no cookies');
    const ps = await stack.asServer(r.json.account.id, 'POST', '/v1/portal_sessions');
    assert.match(ps.json.url, /^https:\/\/credits\.example\.com\/portal#cdp_[0-9a-f]{64}$/);
});

e2e('the cookie is a credential on account and token routes only, and writes need the CSRF header', async () => {
    const s = await cookieSignup();
    assert.equal((await withCookie('GET', '/v1/balance', s)).status, 200);
    // A write without, or with a wrong, CSRF header does nothing.
    expectError(await withCookie('POST', '/v1/payment_intents', { ...s, body: { amount_cents: 500 } }), 403, 'csrf_failed');
    expectError(await withCookie('POST', '/v1/auth/logout', { ...s, headers: { 'Creditd-CSRF': s.csrf.replace(/^./, (c) => (c === '0' ? '1' : '0')) } }), 403, 'csrf_failed');
    assert.equal((await withCookie('GET', '/v1/balance', s)).status, 200, 'still logged in');
    // Server-key routes never read the cookie, even with the CSRF header.
    expectError(await withCookie('POST', '/v1/debits', { ...s, headers: { 'Creditd-CSRF': s.csrf }, body: { amount: 1 } }), 401, 'unauthorized');
    expectError(await withCookie('GET', '/v1/admin/accounts', s), 401, 'unauthorized');
    // The server key in the cookie is no server key.
    expectError(await withCookie('GET', '/v1/balance', { token: stack.adminKey, csrf: 'x' }), 401, 'invalid_token');
    // A Bearer token wins over the cookie and needs no CSRF header.
    const other = await stack.signup();
    const b = await httpRequest('POST', `${stack.baseUrl}/v1/auth/logout`,
        { headers: { Authorization: `Bearer ${other.token}`, Cookie: `creditd_session=${s.token}` } });
    assert.equal(b.status, 204);
    assert.deepEqual(cookies(b), [], 'a Bearer logout leaves cookies alone');
    assert.equal((await withCookie('GET', '/v1/balance', s)).status, 200, 'the cookie session lives on');
    // Logout with the cookie and its header ends the session and clears both cookies.
    const lo = await withCookie('POST', '/v1/auth/logout', { ...s, headers: { 'Creditd-CSRF': s.csrf } });
    assert.equal(lo.status, 204);
    assert.deepEqual(cookies(lo).map((c) => c.split(';')[0]).sort(), ['creditd_csrf=', 'creditd_session=']);
    assert.ok(cookies(lo).every((c) => /Max-Age=0/.test(c)));
    const dead = await withCookie('GET', '/v1/balance', s);
    expectError(dead, 401, 'invalid_token');
    assert.equal(cookies(dead).length, 2, 'a dead cookie is cleared');
});
