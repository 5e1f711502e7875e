// card_enrich.test.mjs - the card of a paid order whose charge event never
// came (src/billing/card_enrich.c): the sandbox delivers to a recording
// relay that does NOT forward, so the server gets the completion but never
// charge.succeeded (as when the endpoint is not subscribed to charge.*).
// The background run, after each reconciliation, asks Stripe for the
// PaymentIntent's latest charge once the payment is 10 min old - moved by
// restarting with CREDITD_TEST_CLOCK_OFFSET, never by sleeping - fills the
// card, and asks nothing more for it afterwards.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, logMark, stripeCallsSince, freePort, httpRequest } from './harness.mjs';

const stack = useStack({ relay: true });

/** A paid top-up whose completion reached the server; charge.succeeded
 * only when `withCharge`. */
async function paid(withCharge) {
    const u = await stack.signup();
    const { co, completed, charged, pi, chargeId } = await stack.paidAtRelay(u, 1000);
    if (withCharge) expectStatus(await stack.sendWebhook(charged), 200);
    const r = await stack.sendWebhook(completed);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'processed');
    return { u, co, pi, chargeId };
}

async function payment(u, orderId) {
    return (await stack.list(u, '/v1/payments')).find((p) => p.order_id === orderId) || null;
}

/** Restarts the server with the background job every second, its clock
 * `offset` seconds ahead, and metrics on mport. */
async function restart(offset, mport) {
    Object.assign(stack.server.env, {
        CREDITD_RECONCILE_INTERVAL: '1',
        CREDITD_TEST_CLOCK_OFFSET: String(offset),
        CREDITD_METRICS_LISTEN: `127.0.0.1:${mport}`,
    });
    await stack.restartServer({ graceful: true });
}

async function metric(mport, re) {
    const r = await httpRequest('GET', `http://127.0.0.1:${mport}/metrics`);
    const m = r.text.match(re);
    return m ? Number(m[1]) : 0;
}

const RUNS = /^creditd_jobs_runs_total\{job="reconcile",outcome="ok"\} (\d+)$/m;
const FILLED = /^creditd_card_enrich_total\{result="filled"\} (\d+)$/m;

/** Waits for two more background runs (the second starts after the first
 * one's card look-ups ended). */
async function twoMoreRuns(mport) {
    const seen = await metric(mport, RUNS);
    await waitFor(async () => (await metric(mport, RUNS)) >= seen + 2, 20000, { what: 'two more background runs' });
}

const askedFor = (calls, pi) => calls.filter((l) => l.includes(`/v1/payment_intents/${pi}`));

e2e('a payment whose charge.succeeded never came gets its card from Stripe once it is 10 min old, and only once', async () => {
    const mport = await freePort();
    const lost = await paid(false);
    const got = await paid(true);
    let p = await payment(lost.u, lost.co.order_id);
    assert.equal(p.status, 'succeeded');
    assert.equal(p.payment_method_last4, null, 'no card without the charge event');
    assert.equal((await payment(got.u, got.co.order_id)).payment_method_last4, '4242');

    // Young: the runs ask Stripe nothing about it.
    await restart(0, mport);
    let mark = logMark(stack.server.logFile);
    await twoMoreRuns(mport);
    assert.deepEqual(askedFor(stripeCallsSince(stack.server.logFile, mark), lost.pi), [], 'not asked before 10 min');
    assert.equal((await payment(lost.u, lost.co.order_id)).payment_method_last4, null);

    // 11 min later: the run fills it, as charge.succeeded would have.
    mark = logMark(stack.server.logFile);
    await restart(11 * 60, mport);
    p = await waitFor(async () => {
        const x = await payment(lost.u, lost.co.order_id);
        return x && x.payment_method_last4 ? x : null;
    }, 20000, { what: 'the card filled by the background run' });
    assert.equal(p.payment_method_last4, '4242');
    assert.equal(p.stripe_charge_id, lost.chargeId);
    assert.equal(p.status, 'succeeded');
    const calls = stripeCallsSince(stack.server.logFile, mark);
    assert.equal(askedFor(calls, lost.pi).length, 1, calls.join('\n'));
    assert.deepEqual(askedFor(calls, got.pi), [], 'a payment with its card is never asked about');
    assert.equal(await metric(mport, FILLED), 1);
    const admin = expectStatus(await stack.admin('GET', `/v1/admin/payments?account=${lost.u.id}`), 200);
    assert.equal(admin.data[0].payment_method_last4, '4242');
    assert.equal(await stack.balance(lost.u), 1000, 'credited once');

    // The next runs ask nothing more for it.
    mark = logMark(stack.server.logFile);
    await twoMoreRuns(mport);
    assert.deepEqual(askedFor(stripeCallsSince(stack.server.logFile, mark), lost.pi), []);
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}, { timeout: 120000 });
