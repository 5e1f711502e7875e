// topup.test.mjs - POST /v1/topups (the saved card charged off-session)
// and POST /v1/payment_intents (confirmed by the payer's page), both
// credited only by payment_intent.succeeded, through the real sandbox.
// 4000000000000341 succeeds in Checkout (so it gets saved) but declines
// off-session.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectError, expectStatus, httpRequest, rand } from './harness.mjs';

const stack = useStack({ relayForward: true });

const topup = (u, body, opts = {}) => stack.api('POST', '/v1/topups', { token: u.token, body, ...opts });

async function accountOf(u) {
    return expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
}

async function paymentOf(u, orderId) {
    return (await stack.list(u, '/v1/payments')).find((p) => p.order_id === orderId);
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('a card saved by a Checkout purchase pays a top-up off-session; credited on payment_intent.succeeded, once', async () => {
    const u = await stack.signup();
    expectError(await topup(u, { amount_cents: 2000 }), 409, 'no_saved_payment_method');
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await waitFor(async () => (await accountOf(u)).has_saved_payment_method === true, 10000, { what: 'card saved' });

    const r = await topup(u, { amount_cents: 2000 });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['order_id', 'payment_intent_id', 'status']);
    assert.equal(r.json.status, 'processing');
    assert.match(r.json.payment_intent_id, /^pi_/);
    await waitFor(async () => (await stack.balance(u)) === 3000, 10000, { what: 'balance 3000' });
    const o = await stack.waitOrderStatus(u, r.json.order_id, 'completed');
    assert.equal(o.kind, 'topup');
    assert.equal(o.amount_cents, 2000);
    assert.equal(o.credits, 2000);
    assert.equal(o.stripe_payment_intent_id, r.json.payment_intent_id);
    assert.equal(o.stripe_session_id, null);
    const p = await paymentOf(u, r.json.order_id);
    assert.equal(p.status, 'succeeded');
    assert.equal(p.payment_method_last4, '4242');
    assert.equal(p.stripe_payment_intent_id, r.json.payment_intent_id);
    assert.match(p.stripe_charge_id, /^ch_/);
    const t = (await stack.list(u, '/v1/transactions')).filter((x) => x.order_id === r.json.order_id);
    assert.deepEqual(t.map((x) => [x.kind, x.amount]), [['topup', 2000]]);

    // The succeeded event again, and under another id: still once.
    const ev = await waitFor(() => stack.relay.find('payment_intent.succeeded', r.json.payment_intent_id)[0], 10000);
    assert.equal((await stack.sendWebhook(ev)).json.status, 'duplicate');
    const again = await stack.sendWebhook({ ...ev, id: `evt_e2e_${rand(10)}` });
    assert.equal(again.status, 200, again.text);
    assert.equal(await stack.balance(u), 3000);

    // And the order refunds like any other.
    expectStatus(await stack.admin('POST', `/v1/admin/orders/${r.json.order_id}/refund`, { body: {} }), 202);
    await waitFor(async () => (await stack.balance(u)) === 1000, 10000, { what: 'balance 1000 after refund' });
    await ledgerOk();
});

e2e('top-up refusals: no saved card 409, bad amounts 400, server key with Creditd-Account works', async () => {
    const u = await stack.signup();
    expectError(await topup(u, { amount_cents: 1000 }), 409, 'no_saved_payment_method');
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await waitFor(async () => (await accountOf(u)).has_saved_payment_method === true, 10000);
    const cfg = await stack.config();
    expectError(await topup(u, { amount_cents: 0 }), 400, 'invalid_amount');
    expectError(await topup(u, { amount_cents: '1000' }), 400, 'invalid_amount');
    expectError(await topup(u, {}), 400, 'invalid_amount');
    expectError(await topup(u, { amount_cents: cfg.topup.max_cents + cfg.topup.step_cents }), 400, 'invalid_amount');
    if (cfg.topup.step_cents > 1) expectError(await topup(u, { amount_cents: cfg.topup.min_cents + 1 }), 400, 'invalid_amount');
    const r = await stack.asServer(u.id, 'POST', '/v1/topups', { body: { amount_cents: 1000 } });
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => (await stack.balance(u)) === 2000, 10000, { what: 'balance 2000' });
    expectError(await stack.api('POST', '/v1/topups', { body: { amount_cents: 1000 } }), 401);
});

e2e('a saved card that declines off-session: 402 card_declined with the decline code, order failed, nothing credited', async () => {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 }, '4000000000000341');
    await waitFor(async () => (await accountOf(u)).has_saved_payment_method === true, 10000);
    assert.equal(await stack.balance(u), 1000);

    const r = await topup(u, { amount_cents: 2000 });
    const e = expectError(r, 402, 'card_declined');
    assert.equal(e.type, 'payment_required');
    assert.match(e.message, /generic_decline/);
    const orders = (await stack.list(u, '/v1/orders')).filter((o) => o.kind === 'topup' && o.amount_cents === 2000);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].status, 'failed');
    assert.match(orders[0].stripe_payment_intent_id, /^pi_/);
    const p = await paymentOf(u, orders[0].id);
    assert.equal(p.status, 'failed');
    assert.match(p.failure_reason, /generic_decline/);
    // payment_intent.payment_failed arrives too and changes nothing.
    await waitFor(() => stack.relay.find('payment_intent.payment_failed', orders[0].stripe_payment_intent_id)[0], 10000);
    await waitFor(async () => (await stack.order(u, orders[0].id)).status === 'failed', 5000);
    assert.equal(await stack.balance(u), 1000);
});

e2e('Idempotency-Key: the same top-up request replays, charges once, credits once', async () => {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await waitFor(async () => (await accountOf(u)).has_saved_payment_method === true, 10000);
    const key = `topup-${rand(8)}`;
    const a = await topup(u, { amount_cents: 3000 }, { idem: key });
    assert.equal(a.status, 202, a.text);
    const b = await topup(u, { amount_cents: 3000 }, { idem: key });
    assert.equal(b.status, 202, b.text);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.deepEqual(b.json, a.json);
    expectError(await topup(u, { amount_cents: 4000 }, { idem: key }), 409, 'idempotency_key_reused');
    await waitFor(async () => (await stack.balance(u)) === 4000, 10000, { what: 'balance 4000' });
    await stack.webhooksDelivered(); // every event of the charge has landed
    assert.equal(await stack.balance(u), 4000);
    const tops = (await stack.list(u, '/v1/orders')).filter((o) => o.kind === 'topup' && o.amount_cents === 3000);
    assert.equal(tops.length, 1);
    const pis = await stack.stripe('GET', `/v1/payment_intents?customer=${(await accountOf(u)).stripe_customer_id}&limit=100`);
    assert.equal(pis.json.data.filter((pi) => pi.metadata.order_id === a.json.order_id).length, 1);
});

e2e('POST /v1/payment_intents: 201 with a client secret; the payer confirms; credited once', async () => {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/payment_intents', {
        token: u.token,
        body: { amount_cents: 1500, description: 'API credits' },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['client_secret', 'order_id', 'payment_intent_id']);
    assert.ok(r.json.client_secret.startsWith(`${r.json.payment_intent_id}_secret_`), r.json.client_secret);
    let o = await stack.order(u, r.json.order_id);
    assert.equal(o.status, 'pending');
    assert.equal(o.kind, 'payment_intent');
    const pi = expectStatus(await stack.stripe('GET', `/v1/payment_intents/${r.json.payment_intent_id}`), 200);
    assert.equal(pi.status, 'requires_payment_method');
    assert.equal(pi.amount, 1500);
    assert.equal(pi.metadata.order_id, r.json.order_id);
    assert.equal(pi.metadata.account_id, u.id);
    assert.equal(await stack.balance(u), 0);

    // A declined attempt fails the order; a second card on the same intent completes it.
    const bad = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/payment_intents/${r.json.payment_intent_id}/confirm`, {
        body: { card: '4000000000000002' },
    });
    assert.equal(bad.status, 402, bad.text);
    await stack.waitOrderStatus(u, r.json.order_id, 'failed');
    const ok = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/payment_intents/${r.json.payment_intent_id}/confirm`, {
        body: { card: '4242424242424242' },
    });
    assert.equal(ok.status, 200, ok.text);
    await waitFor(async () => (await stack.balance(u)) === 1500, 10000, { what: 'balance 1500' });
    o = await stack.waitOrderStatus(u, r.json.order_id, 'completed');
    const p = await paymentOf(u, r.json.order_id);
    assert.equal(p.status, 'succeeded');
    assert.equal(p.payment_method_last4, '4242');
    const t = (await stack.list(u, '/v1/transactions')).filter((x) => x.order_id === r.json.order_id);
    assert.equal(t.length, 1);
    assert.equal(t[0].kind, 'purchase');

    expectError(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 10 } }), 400, 'amount_below_minimum');
    expectError(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 1000, currency: 'eur' } }), 400, 'invalid_param');
    expectError(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 1.5 } }), 400, 'invalid_amount');
    await ledgerOk();
});

e2e('a lost payment_intent.succeeded is caught up by reconciliation', async () => {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 700 } });
    assert.equal(r.status, 201, r.text);
    // Paid while the relay drops deliveries (answers 200 without forwarding).
    const fwd = stack.relay.forwardTo;
    stack.relay.forwardTo = null;
    try {
        const ok = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/payment_intents/${r.json.payment_intent_id}/confirm`, {
            body: { card: '4242424242424242' },
        });
        assert.equal(ok.status, 200, ok.text);
        await waitFor(() => stack.relay.find('payment_intent.succeeded', r.json.payment_intent_id)[0], 10000);
    } finally {
        stack.relay.forwardTo = fwd;
    }
    assert.equal(await stack.balance(u), 0);
    const rec = expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.ok(rec.events_applied >= 1, JSON.stringify(rec));
    assert.equal(await stack.balance(u), 700);
    assert.equal((await stack.order(u, r.json.order_id)).status, 'completed');
    await ledgerOk();
});
