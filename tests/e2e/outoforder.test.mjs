// outoforder.test.mjs - events in any order (API.md): a refund or a
// dispute delivered before the payment's checkout.session.completed must
// not let the completion credit. The sandbox delivers to a recording relay
// that does NOT forward, so the test decides what reaches the server and
// in which order (signed exactly as Stripe signs).

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, httpRequest, rand } from './harness.mjs';

const stack = useStack({ relay: true });

/** A paid checkout whose events sit at the relay, undelivered. */
async function paidUndelivered(amount = 1000) {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: amount });
    const r = await stack.completeSession(co.session_id);
    assert.equal(r.status, 200, r.text);
    const completed = await waitFor(() => stack.relay.find('checkout.session.completed', co.session_id)[0], 10000, {
        what: 'checkout.session.completed at the relay',
    });
    const pi = completed.data.object.payment_intent;
    const piEvent = await waitFor(() => stack.relay.find('payment_intent.succeeded', pi)[0], 10000);
    return { u, co, completed, pi, chargeId: piEvent.data.object.latest_charge };
}

async function refundedEvent(chargeId) {
    return waitFor(() => stack.relay.find('charge.refunded', chargeId).slice(-1)[0], 10000, { what: 'charge.refunded at the relay' });
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('charge.refunded before checkout.session.completed: the completion credits and the same job takes it all back', async () => {
    const { u, co, completed, chargeId } = await paidUndelivered();
    const re = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/checkout/${co.session_id}/refund`, { body: {} });
    assert.equal(re.status, 200, re.text);
    const refunded = await refundedEvent(chargeId);

    const r1 = await stack.sendWebhook(refunded);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    const o = await stack.order(u, co.order_id);
    assert.equal(o.status, 'refunded');
    assert.equal(await stack.balance(u), 0);

    const r2 = await stack.sendWebhook(completed);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(await stack.balance(u), 0);
    assert.equal((await stack.order(u, co.order_id)).status, 'refunded');
    // Nor through another event id, nor through reconciliation.
    await stack.sendWebhook({ ...completed, id: `evt_e2e_${rand(10)}` });
    expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.equal(await stack.balance(u), 0);
    const pays = (await stack.list(u, '/v1/payments')).filter((p) => p.order_id === co.order_id);
    assert.equal(pays.length, 1);
    assert.equal(pays[0].status, 'refunded');
    assert.equal(pays[0].amount_refunded_cents, 1000);
    const txns = await stack.list(u, '/v1/transactions');
    assert.deepEqual(txns.map((t) => t.amount).sort((a, b) => a - b), [-1000, 1000]);
    await ledgerOk();
});

e2e('a partial refund found through Stripe, first of all events: the late completion keeps what the refund leaves', async () => {
    const { u, co, completed, chargeId } = await paidUndelivered();
    const re = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/checkout/${co.session_id}/refund`, { body: { amount: 400 } });
    assert.equal(re.status, 200, re.text);
    const refunded = await refundedEvent(chargeId);
    const bare = structuredClone(refunded);
    bare.id = `evt_e2e_${rand(10)}`;
    bare.data.object.metadata = {};
    const r1 = await stack.sendWebhook(bare);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    assert.equal((await stack.order(u, co.order_id)).status, 'partially_refunded');
    assert.equal(await stack.balance(u), 0);
    await stack.sendWebhook(completed);
    // $10 for 1,000 credits, $4 refunded: 600 stay.
    assert.equal(await stack.balance(u), 600);
    assert.equal((await stack.order(u, co.order_id)).status, 'partially_refunded');
    await ledgerOk();
});

e2e('a dispute before the completion: the completion credits and holds; won gives it all back', async () => {
    const { u, co, completed, chargeId } = await paidUndelivered();
    const d = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${chargeId}/dispute`, { body: {} });
    assert.equal(d.status, 200, d.text);
    const created = await waitFor(() => stack.relay.find('charge.dispute.created', d.json.id)[0], 10000);
    assert.equal((await stack.sendWebhook(created)).json.status, 'processed');
    assert.equal((await stack.order(u, co.order_id)).status, 'disputed');
    await stack.sendWebhook(completed);
    assert.equal(await stack.balance(u), 0);
    assert.equal((await stack.order(u, co.order_id)).status, 'disputed');
    const w = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${chargeId}/dispute`, { body: { status: 'won' } });
    assert.equal(w.status, 200, w.text);
    const closed = await waitFor(() => stack.relay.find('charge.dispute.closed', d.json.id)[0], 10000);
    assert.equal((await stack.sendWebhook(closed)).json.status, 'processed');
    assert.equal((await stack.order(u, co.order_id)).status, 'completed');
    assert.equal(await stack.balance(u), 1000);
    await ledgerOk();
});

e2e('a dispute already won when its created event arrives holds nothing', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: 1000 });
    assert.equal((await stack.completeSession(co.session_id)).status, 200);
    const completed = await waitFor(() => stack.relay.find('checkout.session.completed', co.session_id)[0], 10000);
    assert.equal((await stack.sendWebhook(completed)).json.status, 'processed');
    assert.equal(await stack.balance(u), 1000);
    const pi = completed.data.object.payment_intent;
    const d = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${pi}/dispute`, { body: {} });
    assert.equal(d.status, 200, d.text);
    const w = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${pi}/dispute`, { body: { status: 'won' } });
    assert.equal(w.status, 200, w.text);
    const closed = await waitFor(() => stack.relay.find('charge.dispute.closed', d.json.id)[0], 10000);
    const created = await waitFor(() => stack.relay.find('charge.dispute.created', d.json.id)[0], 10000);
    // closed first, then created: the balance never moves.
    assert.equal((await stack.sendWebhook(closed)).status, 200);
    assert.equal(await stack.balance(u), 1000);
    assert.equal((await stack.sendWebhook(created)).status, 200);
    assert.equal(await stack.balance(u), 1000);
    assert.equal((await stack.order(u, co.order_id)).status, 'completed');
    await ledgerOk();
});

e2e('stale and reordered partial refunds: the cumulative amount decides', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: 1000 });
    assert.equal((await stack.completeSession(co.session_id)).status, 200);
    const completed = await waitFor(() => stack.relay.find('checkout.session.completed', co.session_id)[0], 10000);
    assert.equal((await stack.sendWebhook(completed)).json.status, 'processed');
    const pi = completed.data.object.payment_intent;
    const chargeId = (await waitFor(() => stack.relay.find('payment_intent.succeeded', pi)[0], 10000)).data.object.latest_charge;
    for (const amount of [100, 200, 300]) {
        const re = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/checkout/${co.session_id}/refund`, { body: { amount } });
        assert.equal(re.status, 200, re.text);
    }
    const evs = await waitFor(() => {
        const l = stack.relay.find('charge.refunded', chargeId);
        return l.length === 3 ? l : null;
    }, 10000);
    // Newest (600 refunded) first: takes 600 at once; the older two change
    // nothing. Newest by the cumulative amount, not by arrival at the relay.
    const newestFirst = [...evs].sort((a, b) => b.data.object.amount_refunded - a.data.object.amount_refunded);
    assert.deepEqual(newestFirst.map((ev) => ev.data.object.amount_refunded), [600, 300, 100]);
    for (const ev of newestFirst) assert.equal((await stack.sendWebhook(ev)).status, 200);
    assert.equal(await stack.balance(u), 400);
    assert.equal((await stack.order(u, co.order_id)).status, 'partially_refunded');
    const refunds = (await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'refund');
    assert.deepEqual(refunds.map((t) => t.amount), [-600]);
    await ledgerOk();
});
