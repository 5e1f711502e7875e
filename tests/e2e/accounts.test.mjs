// accounts.test.mjs - accounts owned by the application: POST /v1/accounts
// with the server key (external_id, optional email, no password), GET
// /v1/accounts?external_id=, "Creditd-Account: ext:<external_id>" on every
// account endpoint, a taken external_id (409 naming the account, or the
// 201 replayed under the same Idempotency-Key), and no password login for
// such an account.

import assert from 'node:assert/strict';
import { useStack, e2e, rand, expectError, expectStatus } from './harness.mjs';

const stack = useStack();

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function create(body, opts = {}) {
    return stack.admin('POST', '/v1/accounts', { body, ...opts });
}

e2e('POST /v1/accounts: 201 Account with external_id, no email, no password', async () => {
    const ext = `user_${rand(8)}`;
    const a = expectStatus(await create({ external_id: ext }), 201);
    assert.match(a.id, /^acct_/);
    assert.equal(a.external_id, ext);
    assert.equal(a.email, null);
    assert.equal(a.stripe_customer_id, null);
    assert.equal(a.has_saved_payment_method, false);
    assert.match(a.created_at, RFC3339);
    for (const k of Object.keys(a)) assert.ok(!/password|hash|token/i.test(k), `no ${k}`);

    const found = expectStatus(await stack.admin('GET', `/v1/accounts?external_id=${ext}`), 200);
    assert.deepEqual(found, a);
    const me = expectStatus(await stack.asServer(`ext:${ext}`, 'GET', '/v1/account'), 200);
    assert.deepEqual(me, a);
    expectStatus(await stack.asServer(a.id, 'GET', '/v1/account'), 200);

    // A second email-less account is fine.
    const b = expectStatus(await create({ external_id: `${ext}-2` }), 201);
    assert.equal(b.email, null);
    assert.notEqual(b.id, a.id);
});

e2e('POST /v1/accounts: optional email, lower-cased, unique across all accounts', async () => {
    const ext = `u${rand(8)}`;
    const email = `App-${rand(6)}@Example.com`;
    const a = expectStatus(await create({ external_id: ext, email }), 201);
    assert.equal(a.email, email.toLowerCase());
    expectError(await create({ external_id: `${ext}x`, email }), 409, 'email_taken');
    const u = await stack.signup();
    expectError(await create({ external_id: `${ext}y`, email: u.email }), 409, 'email_taken');
    // signup with the app account's email is taken too
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: a.email, password: 'long enough pw' } }), 409, 'email_taken');
});

e2e('POST /v1/accounts: a taken external_id is 409 external_id_taken naming the account', async () => {
    const ext = `dup-${rand(8)}`;
    const a = expectStatus(await create({ external_id: ext }), 201);
    const r = await create({ external_id: ext, email: `x-${rand(6)}@example.com` });
    const e = expectError(r, 409, 'external_id_taken');
    assert.equal(e.param, 'external_id');
    assert.equal(e.account_id, a.id);
    // external ids are case-sensitive: another user
    expectStatus(await create({ external_id: ext.toUpperCase() }), 201);
});

e2e('POST /v1/accounts: a retry with the same Idempotency-Key replays the 201', async () => {
    const ext = `idem-${rand(8)}`;
    const key = `create-${ext}`;
    const r1 = await create({ external_id: ext }, { idem: key });
    const a = expectStatus(r1, 201);
    const r2 = await create({ external_id: ext }, { idem: key });
    assert.equal(r2.status, 201, r2.text);
    assert.equal(r2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(r2.json, a);
    // the same key with another body
    expectError(await create({ external_id: `${ext}z` }, { idem: key }), 409, 'idempotency_key_reused');
});

e2e('POST /v1/accounts: bad input is a 400 with the field', async () => {
    const bad = [
        [{}, 'missing_param'],
        [{ external_id: null }, 'missing_param'],
        [{ external_id: '' }, 'missing_param'],
        [{ external_id: 42 }, 'invalid_param'],
        [{ external_id: 'has space' }, 'invalid_external_id'],
        [{ external_id: 'a/b' }, 'invalid_external_id'],
        [{ external_id: 'café' }, 'invalid_external_id'],
        [{ external_id: 'a'.repeat(129) }, 'invalid_external_id'],
        [{ external_id: `ok${rand(6)}`, email: 'not-an-email' }, 'invalid_email'],
        [{ external_id: `ok${rand(6)}`, email: 7 }, 'invalid_param'],
    ];
    for (const [body, code] of bad) {
        const e = expectError(await create(body), 400, code, JSON.stringify(body));
        assert.ok(e.param === 'external_id' || e.param === 'email', JSON.stringify(e));
    }
    // a NUL byte never gets past the JSON parser
    expectError(await create({ external_id: 'a\u0000b' }), 400, 'invalid_json');
    expectStatus(await create({ external_id: 'a'.repeat(128) }), 201);
    expectStatus(await create({ external_id: `org:7|u-1.x+y@z_${rand(6)}`, email: null }), 201);
});

e2e('/v1/accounts: server key only', async () => {
    const u = await stack.signup();
    expectError(await stack.api('POST', '/v1/accounts', { token: u.token, body: { external_id: 'x' } }), 403, 'forbidden');
    expectError(await stack.api('GET', '/v1/accounts?external_id=x', { token: u.token }), 403, 'forbidden');
    expectError(await stack.api('POST', '/v1/accounts', { body: { external_id: 'x' } }), 401, 'unauthorized');
    expectError(await stack.api('GET', '/v1/accounts?external_id=x'), 401, 'unauthorized');
});

e2e('GET /v1/accounts: 404 when none, 400 without external_id', async () => {
    expectError(await stack.admin('GET', `/v1/accounts?external_id=nobody-${rand(8)}`), 404, 'account_not_found');
    expectError(await stack.admin('GET', '/v1/accounts?external_id=bad%20id'), 404, 'account_not_found');
    expectError(await stack.admin('GET', '/v1/accounts'), 400, 'missing_param');
    expectError(await stack.admin('GET', '/v1/accounts?external_id='), 400, 'missing_param');
    const ext = `pct:${rand(6)}@x`;
    const a = expectStatus(await create({ external_id: ext }), 201);
    const found = expectStatus(await stack.admin('GET', `/v1/accounts?external_id=${encodeURIComponent(ext)}`), 200);
    assert.equal(found.id, a.id);
    // '+' must be percent-encoded in a query (a bare one reads as a space)
    const plus = `p+${rand(6)}`;
    const b = expectStatus(await create({ external_id: plus }), 201);
    assert.equal(expectStatus(await stack.admin('GET', `/v1/accounts?external_id=${encodeURIComponent(plus)}`), 200).id, b.id);
    expectError(await stack.admin('GET', `/v1/accounts?external_id=${plus}`), 404, 'account_not_found');
});

e2e('Creditd-Account: ext:<external_id> reaches every account endpoint, like acct_…', async () => {
    const ext = `e${rand(8)}`;
    const a = expectStatus(await create({ external_id: ext }), 201);
    const as = (m, p, o = {}) => stack.asServer(`ext:${ext}`, m, p, o);
    const g = expectStatus(await as('POST', '/v1/grants', { body: { amount: 500, description: 'welcome' } }), 201);
    assert.equal(g.balance, 500);
    const d = expectStatus(await as('POST', '/v1/debits', { idem: `d-${ext}`, body: { amount: 120, description: 'report' } }), 201);
    assert.equal(d.balance, 380);
    assert.equal(expectStatus(await as('GET', '/v1/balance'), 200).balance, 380);
    assert.equal(expectStatus(await stack.asServer(a.id, 'GET', '/v1/balance'), 200).balance, 380);
    const txns = expectStatus(await as('GET', '/v1/transactions'), 200);
    assert.equal(txns.total, 2);
    expectStatus(await as('GET', '/v1/orders'), 200);
    expectStatus(await as('GET', '/v1/payments'), 200);
    expectError(await as('GET', '/v1/subscription'), 404);
    expectStatus(await as('POST', '/v1/discounts/validate', { body: { code: 'NOPE' } }), 200);

    // Unknown or malformed external ids are 404 account_not_found.
    for (const named of [`ext:nobody-${rand(6)}`, 'ext:', 'ext:bad id', `ext:${'a'.repeat(200)}`]) {
        expectError(await stack.asServer(named, 'GET', '/v1/balance'), 404, 'account_not_found', named);
    }
});

e2e('ext: with an account token: only its own account', async () => {
    const ext = `t${rand(8)}`;
    expectStatus(await create({ external_id: ext }), 201);
    const u = await stack.signup();
    // A password account has no external_id: ext: never names it.
    expectError(await stack.api('GET', '/v1/balance', { token: u.token, account: `ext:${ext}` }), 403, 'forbidden');
    expectStatus(await stack.api('GET', '/v1/balance', { token: u.token, account: u.id }), 200);
});

e2e('an account the app owns cannot log in with a password: the answer of an unknown email', async () => {
    const email = `owned-${rand(6)}@example.com`;
    expectStatus(await create({ external_id: `l${rand(8)}`, email }), 201);
    const owned = await stack.api('POST', '/v1/auth/login', { body: { email, password: 'any password' } });
    const unknown = await stack.api('POST', '/v1/auth/login', { body: { email: `nobody-${rand(6)}@example.com`, password: 'any password' } });
    expectError(owned, 401, 'invalid_credentials');
    expectError(unknown, 401, 'invalid_credentials');
    const masked = (r) => r.text.replace(r.headers['request-id'], 'req_ID');
    assert.equal(masked(owned), masked(unknown));
});

e2e('an account the app owns buys through Checkout with the server key and ext:', async () => {
    const ext = `buyer-${rand(8)}`;
    const a = expectStatus(await create({ external_id: ext }), 201);
    const user = { id: a.id, ext };
    const cfg = await stack.config();
    const pkg = cfg.packages[0];
    await stack.buy(user, { kind: 'package', package_id: pkg.id });
    assert.equal(await stack.balance(user), pkg.credits);
    const orders = await stack.list(user, '/v1/orders');
    assert.equal(orders.length, 1);
    assert.equal(orders[0].status, 'completed');
});
