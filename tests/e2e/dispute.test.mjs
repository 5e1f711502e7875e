// dispute.test.mjs - charge.dispute.created holds the payment's credits
// back, charge.dispute.closed gives them back when won and keeps them when
// lost; each exactly once, whatever Stripe delivers twice or under another
// event id. Disputes are opened and closed with the sandbox's control
// endpoint POST /_sandbox/charges/{id}/dispute; the relay forwards every
// event to the server and keeps a copy for replays.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, httpRequest, rand } from './harness.mjs';

const stack = useStack({ relayForward: true });

async function chargeOf(sessionId) {
    const sess = await stack.getSession(sessionId);
    const r = await stack.stripe('GET', `/v1/payment_intents/${sess.payment_intent}`);
    assert.equal(r.status, 200, r.text);
    return r.json.latest_charge;
}

function dispute(chargeId, status) {
    return httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${chargeId}/dispute`, {
        body: status === undefined ? {} : { status },
    });
}

async function disputeTxns(user, orderId) {
    return (await stack.list(user, '/v1/transactions')).filter((t) => t.kind === 'dispute' && t.order_id === orderId);
}

async function paymentOf(user, orderId) {
    return (await stack.list(user, '/v1/payments')).find((p) => p.order_id === orderId);
}

async function eventFor(type, disputeId) {
    return waitFor(() => stack.relay.find(type, disputeId)[0], 10000, { what: `${type} for ${disputeId} at the relay` });
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('created holds the credits back once; closed won gives them back once', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const ch = await chargeOf(co.session_id);

    const d = expectStatus(await dispute(ch), 200);
    assert.match(d.id, /^dp_/);
    assert.equal(d.status, 'needs_response');
    await waitFor(async () => (await stack.balance(u)) === 0, 10000, { what: 'balance 0 after the hold' });
    await stack.waitOrderStatus(u, co.order_id, 'disputed');
    assert.equal((await paymentOf(u, co.order_id)).status, 'disputed');
    let txns = await disputeTxns(u, co.order_id);
    assert.deepEqual(txns.map((t) => t.amount), [-1000]);

    // The same event again is a duplicate; under another id it holds nothing more.
    const created = await eventFor('charge.dispute.created', d.id);
    const dup = await stack.sendWebhook(created);
    assert.equal(dup.status, 200, dup.text);
    assert.equal(dup.json.status, 'duplicate');
    const again = await stack.sendWebhook({ ...created, id: `evt_e2e_${rand(10)}` });
    assert.equal(again.status, 200, again.text);
    assert.equal(await stack.balance(u), 0);
    assert.equal((await disputeTxns(u, co.order_id)).length, 1);

    // A second open while one is open is refused by the sandbox.
    assert.equal((await dispute(ch)).status, 400);

    const won = expectStatus(await dispute(ch, 'won'), 200);
    assert.equal(won.id, d.id);
    assert.equal(won.status, 'won');
    await waitFor(async () => (await stack.balance(u)) === 1000, 10000, { what: 'balance back to 1000' });
    await stack.waitOrderStatus(u, co.order_id, 'completed');
    assert.equal((await paymentOf(u, co.order_id)).status, 'succeeded');

    const closed = await eventFor('charge.dispute.closed', d.id);
    assert.equal((await stack.sendWebhook(closed)).json.status, 'duplicate');
    const re = await stack.sendWebhook({ ...closed, id: `evt_e2e_${rand(10)}` });
    assert.equal(re.status, 200, re.text);
    // The created event replayed after the win holds nothing either.
    assert.equal((await stack.sendWebhook({ ...created, id: `evt_e2e_${rand(10)}` })).status, 200);
    assert.equal(await stack.balance(u), 1000);
    txns = await disputeTxns(u, co.order_id);
    assert.deepEqual(txns.map((t) => t.amount).sort((a, b) => a - b), [-1000, 1000]);
    await ledgerOk();
});

e2e('closed lost keeps the hold: final, and the balance may go negative', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 2000 });
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 1500, description: 'spent' } }), 201);
    const ch = await chargeOf(co.session_id);

    const d = expectStatus(await dispute(ch), 200);
    await waitFor(async () => (await stack.balance(u)) === -1500, 10000, { what: 'balance -1500 after the hold' });
    const lost = expectStatus(await dispute(ch, 'lost'), 200);
    assert.equal(lost.status, 'lost');
    const closed = await eventFor('charge.dispute.closed', d.id);
    assert.equal(closed.data.object.status, 'lost');
    // Give the delivery a moment: nothing may come back.
    await waitFor(async () => stack.relay.find('charge.dispute.closed', d.id).length >= 1, 5000);
    const re = await stack.sendWebhook({ ...closed, id: `evt_e2e_${rand(10)}` });
    assert.equal(re.status, 200, re.text);
    assert.equal(await stack.balance(u), -1500);
    assert.equal((await stack.order(u, co.order_id)).status, 'disputed');
    assert.deepEqual((await disputeTxns(u, co.order_id)).map((t) => t.amount), [-2000]);
    // A lost dispute is closed: the sandbox refuses to open it again.
    assert.equal((await dispute(ch)).status, 400);
    await ledgerOk();
});

e2e('after a partial refund only what is left is held, and a win returns the order to partially_refunded', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    expectStatus(await stack.admin('POST', `/v1/admin/orders/${co.order_id}/refund`, { body: { amount_cents: 300 } }), 202);
    await waitFor(async () => (await stack.balance(u)) === 700, 10000, { what: 'balance 700 after the refund' });
    const ch = await chargeOf(co.session_id);
    expectStatus(await dispute(ch), 200);
    await waitFor(async () => (await stack.balance(u)) === 0, 10000, { what: 'balance 0 after the hold' });
    // A disputed order cannot be refunded from here.
    const r = await stack.admin('POST', `/v1/admin/orders/${co.order_id}/refund`, { body: {} });
    assert.equal(r.status, 409, r.text);
    expectStatus(await dispute(ch, 'won'), 200);
    await waitFor(async () => (await stack.balance(u)) === 700, 10000, { what: 'balance 700 after the win' });
    await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    const p = await paymentOf(u, co.order_id);
    assert.equal(p.status, 'partially_refunded');
    assert.equal(p.amount_refunded_cents, 300);
    await ledgerOk();
});

e2e('sandbox dispute endpoint: unknown charge 404, bad status 400, a pi_ id stands for its charge', async () => {
    assert.equal((await dispute('ch_doesnotexist')).status, 404);
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const sess = await stack.getSession(co.session_id);
    assert.equal((await dispute(sess.payment_intent, 'maybe')).status, 400);
    const d = expectStatus(await dispute(sess.payment_intent), 200);
    assert.equal(d.charge, await chargeOf(co.session_id));
    assert.equal(d.payment_intent, sess.payment_intent);
    const got = await stack.stripe('GET', `/v1/disputes/${d.id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.status, 'needs_response');
    await waitFor(async () => (await stack.balance(u)) === 0, 10000, { what: 'held' });
});
