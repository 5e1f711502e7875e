// ratelimit_checkout.test.mjs - the request limits (shared in the database) of the
// payment routes, with their defaults, answered 429 rate_limited with
// Retry-After:
//  - POST /v1/checkout, /v1/topups and /v1/payment_intents together: 10 a
//    minute per account (CREDITD_CHECKOUT_RATE_LIMIT), nothing written for
//    a refused one; a 429 is never stored under its Idempotency-Key;
//  - discount code guesses (POST /v1/discounts/validate, and a checkout
//    carrying discount_code): 20 a minute per account and 20 a minute per
//    client address (CREDITD_DISCOUNT_RATE_LIMIT).
// Each test uses its own loopback client addresses (127.0.1.x), so the
// per-address counters of one test do not touch another's.
import assert from 'node:assert/strict';
import { useStack, e2e, expectError, expectStatus, rand, waitFor } from './harness.mjs';

const stack = useStack();

const CHECKOUTS = 10;
const GUESSES = 20;

function expectLimited(r, maxRetry = 60) {
    const e = expectError(r, 429, 'rate_limited');
    assert.equal(e.type, 'rate_limit_error');
    const retry = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxRetry, `Retry-After ${r.headers['retry-after']}`);
}

const topup = (u, opts = {}) =>
    stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: 1000 }, ...opts });

/** The sandbox's Checkout sessions of an account. */
async function sessionsOf(u) {
    const r = await stack.stripe('GET', '/v1/checkout/sessions?limit=100');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.has_more, false);
    return r.json.data.filter((s) => s.metadata && s.metadata.account_id === u.id);
}

e2e('the 11th quick checkout of an account is 429 and creates no order or session; top-ups and payment intents share the limit; another account is unaffected', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    const rs = await Promise.all(Array.from({ length: CHECKOUTS }, () => topup(u)));
    for (const r of rs) expectStatus(r, 201);
    expectLimited(await topup(u));
    expectLimited(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 500 } }));
    expectLimited(await stack.api('POST', '/v1/topups', { token: u.token, body: { amount_cents: 1000 } }));
    assert.equal((await stack.list(u, '/v1/orders')).length, CHECKOUTS);
    assert.equal((await sessionsOf(u)).length, CHECKOUTS);
    // Another account (same address) still buys.
    expectStatus(await topup(other), 201);
    // Reads are not limited.
    expectStatus(await stack.api('GET', '/v1/orders', { token: u.token }), 200);
});

e2e('a 429 is not stored under its Idempotency-Key: the same key runs once the limit allows, then replays', async () => {
    const u = await stack.signup();
    for (let i = 0; i < CHECKOUTS; i++) expectStatus(await topup(u), 201);
    const idem = `e2e-rl-${rand(6)}`;
    expectLimited(await topup(u, { idem }));
    // One checkout a minute comes back every 6 s.
    const ok = await waitFor(async () => {
        const r = await topup(u, { idem });
        if (r.status !== 429) return r;
        return null;
    }, 15000, { intervalMs: 250, what: 'the keyed checkout to run' });
    const first = expectStatus(ok, 201);
    const again = await topup(u, { idem });
    assert.equal(expectStatus(again, 201).order_id, first.order_id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal((await stack.list(u, '/v1/orders')).length, CHECKOUTS + 1);
}, { timeout: 30000 });

const validate = (u, code, localAddress) =>
    stack.api('POST', '/v1/discounts/validate', { token: u.token, body: { code, kind: 'access' }, localAddress });

e2e('discount guesses: 20 a minute per account, from any address; a checkout with a code counts too and writes nothing', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    for (let i = 0; i < GUESSES; i++) {
        const v = expectStatus(await validate(u, `GUESS${rand(4).toUpperCase()}`, '127.0.1.1'), 200);
        assert.equal(v.valid, false);
    }
    expectLimited(await validate(u, 'GUESS21', '127.0.1.1'));
    // A new address does not help this account.
    expectLimited(await validate(u, 'GUESS22', '127.0.1.2'));
    const co = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access', discount_code: 'GUESS23' }, localAddress: '127.0.1.2' });
    expectLimited(co);
    assert.equal((await stack.list(u, '/v1/orders')).length, 0);
    // A checkout without a code is no guess.
    expectStatus(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access' }, localAddress: '127.0.1.2' }), 201);
    // Another account from that address guesses freely.
    expectStatus(await validate(other, 'GUESS24', '127.0.1.2'), 200);
    // The server key (the operator's backend) is not limited.
    for (let i = 0; i < 3; i++) {
        expectStatus(await stack.asServer(u.id, 'POST', '/v1/discounts/validate', { body: { code: `SRV${i}` } }), 200);
    }
});

e2e('discount guesses: 20 a minute per client address, whatever the account', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => stack.signup()));
    for (const u of users.slice(0, 4)) {
        for (let i = 0; i < GUESSES / 4; i++) expectStatus(await validate(u, `ADDR${rand(4).toUpperCase()}`, '127.0.1.3'), 200);
    }
    const fifth = users[4];
    expectLimited(await validate(fifth, 'ADDR21', '127.0.1.3'));
    const co = await stack.api('POST', '/v1/checkout', { token: fifth.token, body: { kind: 'access', discount_code: 'ADDR22' }, localAddress: '127.0.1.3' });
    expectLimited(co);
    assert.equal((await stack.list(fifth, '/v1/orders')).length, 0);
    // The same account from another address is fine.
    expectStatus(await validate(fifth, 'ADDR23', '127.0.1.4'), 200);
});
