// refund.test.mjs - POST /v1/admin/orders/{id}/refund through the sandbox,
// and charge.refunded applied by its cumulative amount_refunded, so
// duplicated or reordered refund events never count twice.
//
// The sandbox delivers through a forwarding relay, which records every event
// so that the test can replay them afterwards.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectError, expectStatus, httpRequest } from './harness.mjs';

const stack = useStack({ relayForward: true });

const refund = (orderId, body = {}) => stack.admin('POST', `/v1/admin/orders/${orderId}/refund`, { body });

async function paymentOf(user, orderId) {
    return (await stack.list(user, '/v1/payments')).find((p) => p.order_id === orderId);
}

e2e('partial then full refund: credits come off in step, order and payment follow; replays change nothing', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    assert.equal(await stack.balance(u), 1000);

    const r1 = await refund(co.order_id, { amount_cents: 400 });
    assert.equal(r1.status, 202, r1.text);
    await waitFor(async () => (await stack.balance(u)) === 600, 10000, { what: 'balance 600 after partial refund' });
    let o = await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    assert.equal(o.amount_cents, 1000);
    let p = await paymentOf(u, co.order_id);
    assert.equal(p.status, 'partially_refunded');
    assert.equal(p.amount_refunded_cents, 400);

    const r2 = await refund(co.order_id); // the rest
    assert.equal(r2.status, 202, r2.text);
    await waitFor(async () => (await stack.balance(u)) === 0, 10000, { what: 'balance 0 after full refund' });
    o = await stack.waitOrderStatus(u, co.order_id, 'refunded');
    p = await paymentOf(u, co.order_id);
    assert.equal(p.status, 'refunded');
    assert.equal(p.amount_refunded_cents, 1000);
    assert.ok(p.refunded_at, 'refunded_at set');

    const refunds = (await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'refund');
    assert.deepEqual(refunds.map((t) => t.amount).sort((a, b) => a - b), [-600, -400]);

    // Replay every charge.refunded the sandbox sent, newest first, then oldest first.
    // (refund.* events may settle the refund before charge.refunded arrives.)
    const refundedEvents = () => stack.relay.events.map((e) => e.json).filter((j) => j && j.type === 'charge.refunded');
    await waitFor(() => refundedEvents().length >= 2, 10000, { what: 'two charge.refunded events' });
    const evs = refundedEvents();
    for (const ev of [...evs].reverse().concat(evs)) {
        const r = await stack.sendWebhook({ ...ev, id: `${ev.id}_replay${Math.random().toString(16).slice(2, 8)}` });
        assert.equal(r.status, 200, r.text);
    }
    assert.equal(await stack.balance(u), 0);
    assert.equal((await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'refund').length, 2);
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true);
});

e2e('a refund after the credits were spent takes the balance negative', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 900, description: 'spent' } }), 201);
    assert.equal((await refund(co.order_id)).status, 202);
    await waitFor(async () => (await stack.balance(u)) === -900, 10000, { what: 'balance -900' });
});

e2e('refund refusals: unknown order 404, pending order 409, account token 403, too much 400', async () => {
    const u = await stack.signup();
    expectError(await refund('ord_doesnotexist'), 404);
    const pending = await stack.checkout(u, { kind: 'topup', amount_cents: 1000 });
    const r = await refund(pending.order_id);
    assert.ok(r.status === 409 || r.status === 400, `refund of a pending order: ${r.status} ${r.text}`);
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    expectError(await stack.api('POST', `/v1/admin/orders/${co.order_id}/refund`, { token: u.token, body: {} }), 403);
    const tooMuch = await refund(co.order_id, { amount_cents: 1001 });
    assert.ok(tooMuch.status === 400 || tooMuch.status === 409 || tooMuch.status === 502, `over-refund: ${tooMuch.status}`);
    expectError(await refund(co.order_id, { amount_cents: 0 }), 400, 'invalid_amount');
    assert.equal(await stack.balance(u), 1000);
});

// Last: it moves the server's clock. A refund whose answer was lost is
// re-sent with its first Stripe Idempotency-Key only while Stripe surely
// still knows that key (23 h after the refund's row, written just before
// its first send; Stripe keeps keys at least 24 h): later, a retry is
// refused rather than risk a second refund (docs/OPERATIONS.md, "A
// payment whose outcome is unknown").
e2e('a refund whose answer was lost, retried 23.5 h later: 409, never sent again', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    // The payment's charge id comes with charge.succeeded, which may land
    // after the checkout.session.completed that fulfilled the order.
    const charge = await waitFor(async () => (await paymentOf(u, co.order_id)).stripe_charge_id, 10000,
        { what: 'the payment\'s charge id (charge.succeeded)' });
    expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, {
        body: { fail_next: { path: '/v1/refunds', count: 1, after: true } },
    }), 200);
    const key = `refund-late-${Date.now()}`;
    const first = await stack.admin('POST', `/v1/admin/orders/${co.order_id}/refund`, { idem: key, body: { amount_cents: 400 } });
    assert.equal(first.status, 502, first.text); // made at Stripe, the answer lost
    assert.equal((await stack.stripe('GET', `/v1/charges/${charge}`)).json.amount_refunded, 400);

    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = String(23.5 * 3600);
    await stack.restartServer({ graceful: true });
    const late = await stack.admin('POST', `/v1/admin/orders/${co.order_id}/refund`, { idem: key, body: { amount_cents: 400 } });
    expectError(late, 409, 'idempotency_key_reused');
    assert.equal((await stack.stripe('GET', `/v1/charges/${charge}`)).json.amount_refunded, 400);
});
