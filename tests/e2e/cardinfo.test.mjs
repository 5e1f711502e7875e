// cardinfo.test.mjs - the webhook's reply depends on the database only: a
// checkout.session.completed never asks Stripe for the card; the payment
// row gets its last4 from charge.succeeded, which Stripe sends anyway, in
// whichever order the two arrive. The sandbox delivers to a recording
// relay that does NOT forward, so the test decides what reaches the
// server and when (signed exactly as Stripe signs).

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, logMark, stripeCallsSince } from './harness.mjs';

const stack = useStack({ relay: true });

/** A paid checkout whose events sit at the relay, undelivered. */
async function paidUndelivered(amount = 1000) {
    const u = await stack.signup();
    const { co, completed, charged, chargeId } = await stack.paidAtRelay(u, amount);
    return { u, co, completed, charged, chargeId, amount };
}

async function payment(u, orderId) {
    return (await stack.list(u, '/v1/payments')).find((p) => p.order_id === orderId) || null;
}

e2e('charge.succeeded before the completion: the payment row has last4 4242 from the start', async () => {
    const { u, co, completed, charged, chargeId, amount } = await paidUndelivered();
    const r1 = await stack.sendWebhook(charged);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    assert.equal(await stack.balance(u), 0, 'a charge event credits nothing');

    const r2 = await stack.sendWebhook(completed);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.status, 'processed');
    assert.equal(await stack.balance(u), amount);
    const p = await payment(u, co.order_id);
    assert.ok(p, 'a payment row');
    assert.equal(p.payment_method_last4, '4242');
    assert.equal(p.stripe_charge_id, chargeId);
    // A redelivery changes nothing.
    expectStatus(await stack.sendWebhook(charged), 200);
    assert.equal((await payment(u, co.order_id)).payment_method_last4, '4242');
});

// Last: it stops the sandbox (Stripe's API unreachable from here on).
e2e('completion while the Stripe API is unreachable: 200 and credited at once; the charge event brings last4 later', async () => {
    const { u, co, completed, charged, chargeId, amount } = await paidUndelivered();
    await stack.stopSandbox();

    const mark = logMark(stack.server.logFile);
    const r = await stack.sendWebhook(completed);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'processed');
    assert.deepEqual(stripeCallsSince(stack.server.logFile, mark), [], 'answered without trying Stripe');
    assert.equal(await stack.balance(u), amount);
    let p = await payment(u, co.order_id);
    assert.equal(p.status, 'succeeded');
    assert.equal(p.payment_method_last4, null, 'unknown until the charge event');

    const r2 = await stack.sendWebhook(charged);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.status, 'processed');
    p = await payment(u, co.order_id);
    assert.equal(p.payment_method_last4, '4242');
    assert.equal(p.stripe_charge_id, chargeId);
    assert.equal(await stack.balance(u), amount, 'credited once');
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
});
