// auth.test.mjs - signup, login, logout, and every 401/403 of API.md:
// account tokens reach only their account, the server key reaches admin
// routes and (with Creditd-Account) any account, debits and grants need the
// server key.

import assert from 'node:assert/strict';
import { useStack, e2e, rand, expectError, expectStatus } from './harness.mjs';

const stack = useStack({ sandbox: false });

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function assertAccount(a, email) {
    assert.match(a.id, /^acct_/);
    assert.equal(a.email, email);
    assert.equal(a.stripe_customer_id, null);
    assert.equal(a.has_saved_payment_method, false);
    assert.match(a.created_at, RFC3339);
    for (const k of Object.keys(a)) {
        assert.ok(!/password|hash|token/i.test(k), `Account has no ${k} field`);
    }
}

e2e('signup: 201 with Account and a token that works', async () => {
    const email = `e2e-${rand(6)}@example.com`;
    const r = await stack.api('POST', '/v1/auth/signup', { body: { email, password: 'long enough pw' } });
    const j = expectStatus(r, 201);
    assertAccount(j.account, email);
    assert.equal(typeof j.token, 'string');
    assert.ok(j.token.length >= 32, 'token carries >= 256 bits');
    assert.ok(!r.text.includes('long enough pw'), 'the password is not echoed');
    const me = expectStatus(await stack.api('GET', '/v1/account', { token: j.token }), 200);
    assert.deepEqual(me, j.account);
    const bal = expectStatus(await stack.api('GET', '/v1/balance', { token: j.token }), 200);
    assert.deepEqual(bal, { balance: 0, balance_display: '$0.00', currency: 'usd', held: 0, available: 0, by_category: { paid: 0, promotional: 0 }, debt: 0, next_expiry: null });
});

e2e('signup: duplicate email 409 email_taken', async () => {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/auth/signup', { body: { email: u.email, password: 'another password' } });
    expectError(r, 409, 'email_taken');
});

e2e('signup: password shorter than 8 is a 400; exactly 8 is fine', async () => {
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: `e2e-${rand(6)}@example.com`, password: '1234567' } }), 400);
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: `e2e-${rand(6)}@example.com`, password: '' } }), 400);
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: `e2e-${rand(6)}@example.com` } }), 400);
    expectStatus(await stack.api('POST', '/v1/auth/signup', { body: { email: `e2e-${rand(6)}@example.com`, password: '12345678' } }), 201);
});

e2e('signup: bad email is a 400', async () => {
    for (const email of ['not-an-email', '', '@example.com', 'a@', 'a b@example.com', 42, null]) {
        const r = await stack.api('POST', '/v1/auth/signup', { body: { email, password: 'long enough pw' } });
        expectError(r, 400);
    }
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { password: 'long enough pw' } }), 400);
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: `${'a'.repeat(300)}@example.com`, password: 'long enough pw' } }), 400);
});

e2e('login: 200 with a new working token; wrong password and unknown email give identical 401 invalid_credentials', async () => {
    const u = await stack.signup();
    const ok = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 200);
    assert.equal(ok.account.id, u.id);
    assert.notEqual(ok.token, u.token);
    expectStatus(await stack.api('GET', '/v1/account', { token: ok.token }), 200);
    expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);

    const wrong = await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: `${u.password}x` } });
    const unknown = await stack.api('POST', '/v1/auth/login', { body: { email: `nobody-${rand(6)}@example.com`, password: u.password } });
    const e1 = expectError(wrong, 401, 'invalid_credentials');
    expectError(unknown, 401, 'invalid_credentials');
    assert.equal(e1.type, 'authentication_error');
    // Identical but for the request's own random id.
    const masked = (r) => r.text.replace(r.headers['request-id'], 'req_ID');
    assert.equal(wrong.json.error.request_id, wrong.headers['request-id']);
    assert.equal(unknown.json.error.request_id, unknown.headers['request-id']);
    assert.equal(masked(wrong), masked(unknown), 'same body for unknown email and wrong password');
});

e2e('logout: 204, then the token is dead (401) while other tokens live', async () => {
    const u = await stack.signup();
    const login = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 200);
    const r = await stack.api('POST', '/v1/auth/logout', { token: login.token });
    assert.equal(r.status, 204, r.text);
    expectError(await stack.api('GET', '/v1/account', { token: login.token }), 401);
    expectError(await stack.api('GET', '/v1/balance', { token: login.token }), 401);
    expectError(await stack.api('POST', '/v1/auth/logout', { token: login.token }), 401);
    expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
});

e2e('logout without a token is a 401', async () => {
    expectError(await stack.api('POST', '/v1/auth/logout'), 401);
});

e2e('account endpoints: no token 401, bad token 401', async () => {
    const u = await stack.signup();
    const routes = [
        ['GET', '/v1/account'], ['GET', '/v1/balance'], ['GET', '/v1/transactions'], ['GET', '/v1/orders'],
        ['GET', '/v1/payments'], ['POST', '/v1/checkout'], ['POST', '/v1/discounts/validate'],
    ];
    for (const [m, p] of routes) {
        const body = m === 'POST' ? {} : undefined;
        const e = expectError(await stack.api(m, p, { body }), 401, undefined, `${m} ${p}`);
        assert.equal(e.type, 'authentication_error', `${m} ${p}`);
        expectError(await stack.api(m, p, { body, token: `${u.token}x` }), 401);
        expectError(await stack.api(m, p, { body, token: 'x'.repeat(64) }), 401);
        expectError(await stack.api(m, p, { body, headers: { Authorization: u.token } }), 401); // no "Bearer "
        expectError(await stack.api(m, p, { body, headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401);
    }
});

e2e('admin routes: none/bad credentials 401, an account token 403, the server key 200', async () => {
    const u = await stack.signup();
    const routes = [
        ['GET', '/v1/admin/pricing'], ['GET', '/v1/admin/discount_codes'], ['GET', '/v1/admin/accounts'],
        ['GET', `/v1/admin/accounts/${u.id}`], ['GET', '/v1/admin/ledger/verify'],
        ['PUT', '/v1/admin/pricing', { mode: 'launch', launch_cents: 2999, rrp_cents: 4999, sale_cents: 2499 }],
        ['POST', '/v1/admin/discount_codes', { code: `X${rand(4)}`, percent_off: 5 }],
        ['POST', '/v1/admin/reconcile', {}],
    ];
    for (const [m, p, body] of routes) {
        expectError(await stack.api(m, p, { body }), 401, undefined, `${m} ${p}`);
        expectError(await stack.api(m, p, { body, key: `${stack.adminKey}x` }), 401, undefined, `${m} ${p}`);
        const e = expectError(await stack.api(m, p, { body, token: u.token }), 403, undefined, `${m} ${p}`);
        assert.equal(e.type, 'permission_error', `${m} ${p}`);
    }
    expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200);
    const acct = expectStatus(await stack.admin('GET', `/v1/admin/accounts/${u.id}`), 200);
    assert.equal(acct.id, u.id);
    expectError(await stack.admin('GET', `/v1/admin/accounts/acct_${rand(8)}`), 404);
});

e2e('debits and grants: an account token is 403, nothing written', async () => {
    const u = await stack.signup();
    for (const p of ['/v1/debits', '/v1/grants']) {
        const e = expectError(await stack.api('POST', p, { token: u.token, body: { amount: 10, description: 'self-service' } }), 403);
        assert.equal(e.type, 'permission_error');
        // Naming the own account in the header doesn't help.
        expectError(await stack.api('POST', p, { token: u.token, account: u.id, body: { amount: 10, description: 'x' } }), 403);
        expectError(await stack.api('POST', p, { body: { amount: 10, description: 'x' }, account: u.id }), 401);
    }
    assert.equal(await stack.balance(u), 0);
    assert.equal((await stack.list(u, '/v1/transactions')).length, 0);
});

e2e('server key: with Creditd-Account reaches that account; without it 4xx; unknown account 404', async () => {
    const u = await stack.signup();
    const me = expectStatus(await stack.asServer(u.id, 'GET', '/v1/account'), 200);
    assert.equal(me.id, u.id);
    expectStatus(await stack.asServer(u.id, 'GET', '/v1/balance'), 200);

    const missing = await stack.admin('GET', '/v1/balance');
    assert.ok(missing.status >= 400 && missing.status < 500, `server key without Creditd-Account: ${missing.status}`);
    expectError(missing, missing.status);
    const missingDebit = await stack.admin('POST', '/v1/debits', { body: { amount: 1, description: 'x' } });
    assert.ok(missingDebit.status >= 400 && missingDebit.status < 500, `debit without Creditd-Account: ${missingDebit.status}`);

    expectError(await stack.asServer(`acct_${rand(8)}`, 'GET', '/v1/balance'), 404);
    expectError(await stack.asServer(`acct_${rand(8)}`, 'POST', '/v1/grants', { body: { amount: 5, description: 'x' } }), 404);
    // Garbage in the header is refused, not crashed on.
    const junk = await stack.asServer("acct_'; DROP TABLE accounts; --", 'GET', '/v1/balance');
    assert.ok(junk.status === 400 || junk.status === 404, `junk Creditd-Account: ${junk.status}`);
    expectStatus(await stack.asServer(u.id, 'GET', '/v1/balance'), 200);
});

e2e("an account token with another account's Creditd-Account never reaches the other account", async () => {
    const a = await stack.signup();
    const b = await stack.signup();
    await stack.grant(b, 777);
    const r = await stack.api('GET', '/v1/balance', { token: a.token, account: b.id });
    if (r.status === 200) {
        assert.equal(r.json.balance, 0, 'answered for the token\'s own account');
    } else {
        assert.ok(r.status === 400 || r.status === 403, `${r.status} ${r.text}`);
    }
    const acct = await stack.api('GET', '/v1/account', { token: a.token, account: b.id });
    if (acct.status === 200) assert.equal(acct.json.id, a.id);
});

e2e('the server key is not an account token and a token is not a server key', async () => {
    const u = await stack.signup();
    // Logging out "with the server key" (not pinned: 4xx or a no-op) must never kill the key.
    const r = await stack.admin('POST', '/v1/auth/logout');
    assert.ok(r.status < 500, `logout with the server key: ${r.status}`);
    expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200);
    expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
});
