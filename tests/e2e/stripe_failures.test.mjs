// stripe_failures.test.mjs - an Idempotency-Key covers the Stripe call.
// The same request retried after Stripe answered 500 having charged, after
// creditd was killed while Stripe charged, or sent twice at once, charges
// the card once and credits once; an admin refund retried after a kill,
// with its webhook applied in between, refunds once and answers with the
// same refund. The sandbox's fail_next switch makes Stripe answer 500
// after doing the work (and replay that 500 for the same key, as Stripe
// does); api_delay_ms holds its answer while the test kills creditd. A
// checkout retried after a kill sends Stripe the parameters of its first
// attempt, even when the account saved a customer in between.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectError, expectStatus, httpRequest, rand } from './harness.mjs';

const stack = useStack({ relayForward: true });

const topup = (u, body, opts = {}) => stack.api('POST', '/v1/topups', { token: u.token, body, ...opts });

async function sandboxConfig(body) {
    const r = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body });
    assert.equal(r.status, 200, r.text);
    return r.json;
}

async function accountOf(u) {
    return expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
}

/** An account whose card a $10 Checkout purchase saved (balance 1000). */
async function savedCardUser() {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await waitFor(async () => (await accountOf(u)).has_saved_payment_method === true, 10000, { what: 'card saved' });
    await waitFor(async () => (await stack.balance(u)) === 1000, 10000, { what: 'first purchase credited' });
    u.customer = (await accountOf(u)).stripe_customer_id;
    return u;
}

/** The customer's PaymentIntents of `amount` at the sandbox (asked of the
 * sandbox alone: creditd may be down). */
async function intentsOf(u, amount) {
    const r = await stack.stripe('GET', `/v1/payment_intents?customer=${u.customer}&limit=100`);
    assert.equal(r.status, 200, r.text);
    return r.json.data.filter((pi) => pi.amount === amount);
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

/** Retries a request while it answers 409 idempotency_in_progress. */
async function untilFree(send, what) {
    return waitFor(async () => {
        const r = await send();
        return r.status === 409 && r.json?.error?.code === 'idempotency_in_progress' ? null : r;
    }, 20000, { intervalMs: 200, what });
}

e2e('top-up: Stripe answers 500 after charging; the retry with the same key charges nothing more', async () => {
    const u = await savedCardUser();
    const key = `topup-500-${rand(6)}`;
    await sandboxConfig({ fail_next: { path: '/v1/payment_intents', count: 1, after: true } });
    const r1 = await topup(u, { amount_cents: 2000 }, { idem: key, timeoutMs: 30000 });
    expectError(r1, 502, 'stripe_error');
    // Stripe charged: its webhook credits the order, once.
    await waitFor(async () => (await stack.balance(u)) === 3000, 15000, { what: 'the charge credited by its webhook' });

    const r2 = expectStatus(await untilFree(() => topup(u, { amount_cents: 2000 }, { idem: key }), 'retry'), 202);
    assert.equal(r2.status, 'succeeded');
    const pis = await intentsOf(u, 2000);
    assert.equal(pis.length, 1, 'one PaymentIntent for one request');
    assert.equal(r2.payment_intent_id, pis[0].id);
    assert.equal(await stack.balance(u), 3000);
    const orders = (await stack.list(u, '/v1/orders')).filter((o) => o.amount_cents === 2000);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].id, r2.order_id);
    await ledgerOk();
}, { timeout: 90000 });

e2e('top-up: creditd killed while Stripe charges; after restart the retry gets the same PaymentIntent', async () => {
    const u = await savedCardUser();
    const key = `topup-kill-${rand(6)}`;
    await sandboxConfig({ api_delay_ms: 1500 });
    const p = topup(u, { amount_cents: 2000 }, { idem: key, timeoutMs: 30000 }).catch((e) => e);
    // The order is written just before the charge is asked (after the
    // saved card is looked up, which Stripe delays too).
    await waitFor(async () => (await stack.list(u, '/v1/orders')).some((o) => o.amount_cents === 2000) &&
        (await sandboxConfig({})).api_waiting >= 1, 10000, { what: 'creditd waiting on Stripe for the charge' });
    await stack.killServer();
    await p;
    await sandboxConfig({ api_delay_ms: 0 });
    // Stripe goes on and charges.
    await waitFor(async () => (await intentsOf(u, 2000)).length === 1, 10000, { what: 'the charge at Stripe' });
    await stack.restartServer();

    const r = expectStatus(await untilFree(() => topup(u, { amount_cents: 2000 }, { idem: key }), 'the dead claim free'), 202);
    const pis = await intentsOf(u, 2000);
    assert.equal(pis.length, 1, 'still one PaymentIntent');
    assert.equal(r.payment_intent_id, pis[0].id);
    await waitFor(async () => (await stack.balance(u)) === 3000, 15000, { what: 'credited once' });
    assert.equal((await stack.list(u, '/v1/orders')).filter((o) => o.amount_cents === 2000).length, 1);
    await ledgerOk();
}, { timeout: 90000 });

e2e('top-up: the same key twice at once charges once', async () => {
    const u = await savedCardUser();
    const key = `topup-twice-${rand(6)}`;
    await sandboxConfig({ api_delay_ms: 500 });
    let rs;
    try {
        rs = await Promise.all([0, 1].map(() => topup(u, { amount_cents: 2000 }, { idem: key })));
    } finally {
        await sandboxConfig({ api_delay_ms: 0 });
    }
    const codes = rs.map((r) => r.status).sort();
    assert.ok(codes.includes(202), `one ran: ${codes}`);
    for (const r of rs) if (r.status !== 202) expectError(r, 409, 'idempotency_in_progress');
    assert.equal((await intentsOf(u, 2000)).length, 1);
    await waitFor(async () => (await stack.balance(u)) === 3000, 15000, { what: 'credited once' });
    await ledgerOk();
});

e2e('checkout: killed while Stripe opens the session, a customer saved meanwhile; the retry gets the same session', async () => {
    // Found by tests/chaos/chaos.mjs: the retry named the account's new
    // customer where the first attempt had asked Stripe to create one, so
    // Stripe refused the same Idempotency-Key with other parameters, and
    // every retry of the purchase answered 502.
    const u = await stack.signup();
    const key = `checkout-kill-${rand(6)}`;
    const body = { kind: 'topup', amount_cents: 1000 };
    const checkout = (opts = {}) => stack.api('POST', '/v1/checkout', { token: u.token, idem: key, body, ...opts });
    await sandboxConfig({ api_delay_ms: 1500 });
    const p = checkout({ timeoutMs: 30000 }).catch((e) => e);
    await waitFor(async () => (await stack.list(u, '/v1/orders')).some((o) => o.amount_cents === 1000) &&
        (await sandboxConfig({})).api_waiting >= 1, 10000, { what: 'creditd waiting on Stripe for the session' });
    await stack.killServer();
    await p;
    await sandboxConfig({ api_delay_ms: 0 });
    await waitFor(async () => (await sandboxConfig({})).api_waiting === 0, 10000, { what: 'Stripe made the session' });
    await stack.restartServer();

    // Another purchase saves a customer on the account.
    await stack.buy(u, { kind: 'topup', amount_cents: 2000 });
    await waitFor(async () => (await accountOf(u)).stripe_customer_id, 10000, { what: 'customer saved' });

    const r = expectStatus(await untilFree(() => checkout(), 'the dead claim free'), 201);
    const orders = (await stack.list(u, '/v1/orders')).filter((o) => o.amount_cents === 1000);
    assert.equal(orders.length, 1);
    assert.equal(r.order_id, orders[0].id);
    expectStatus(await stack.completeSession(r.session_id), 200);
    await stack.waitFulfilled(u, r.session_id);
    await waitFor(async () => (await stack.balance(u)) === 3000, 10000, { what: 'both credited once' });
    await ledgerOk();
}, { timeout: 90000 });

e2e('admin refund: killed while Stripe refunds, the webhook applied after restart; the retry answers the same refund', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const orderId = co.order_id;
    await waitFor(async () => (await stack.balance(u)) === 1000, 10000, { what: 'credited' });
    const o = await stack.order(u, orderId);
    const charge = (await stack.stripe('GET', `/v1/payment_intents/${o.stripe_payment_intent_id}`)).json.latest_charge;
    const key = `refund-kill-${rand(6)}`;
    const refund = () => stack.admin('POST', `/v1/admin/orders/${orderId}/refund`, { idem: key, body: { amount_cents: 400 }, timeoutMs: 30000 });

    await sandboxConfig({ api_delay_ms: 1500 });
    const p = refund().catch((e) => e);
    await waitFor(async () => (await sandboxConfig({})).api_waiting >= 1, 10000, { what: 'creditd waiting on Stripe' });
    await stack.killServer();
    await p;
    await sandboxConfig({ api_delay_ms: 0 });
    await waitFor(async () => (await stack.stripe('GET', `/v1/charges/${charge}`)).json.amount_refunded === 400, 10000, { what: 'the refund at Stripe' });
    await stack.restartServer();
    // Its webhooks arrive: 400 of 1,000 taken back.
    await waitFor(async () => (await stack.balance(u)) === 600, 15000, { what: 'the refund applied' });

    const r = expectStatus(await untilFree(refund, 'the dead claim free'), 202);
    const ch = (await stack.stripe('GET', `/v1/charges/${charge}`)).json;
    assert.equal(ch.amount_refunded, 400, 'one refund of 400');
    assert.equal(ch.refunds.data.length, 1);
    assert.equal(r.refund_id, ch.refunds.data[0].id);
    assert.equal(r.amount_cents, 400);
    assert.equal(await stack.balance(u), 600);
    assert.equal((await stack.order(u, orderId)).status, 'partially_refunded');
    await ledgerOk();
}, { timeout: 90000 });
