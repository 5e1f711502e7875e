// topup_resend.test.mjs - an off-session top-up whose outcome creditd
// never learned, re-sent more than 24 h later, when Stripe (the sandbox)
// has forgotten its Idempotency-Key: creditd looks the payment up first
// (GET /v1/payment_intents?customer=&created[gte]=, matched on
// metadata.order_id) and adopts it - one charge, credited once - or, when
// Stripe never made it, sends it under a new key. Before that look-up, a
// re-send past creditd's own 24 h was refused (409 idempotency_key_reused:
// auto top-up turned off, the charge never credited), and one inside it
// that Stripe no longer covered charged twice. Time moves by the
// sandbox's advance_clock_s switch and a server restarted with
// CREDITD_TEST_CLOCK_OFFSET ahead; webhooks are lost by a relay that stops
// forwarding, and reconciliation is off so that only the re-send decides.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, httpRequest } from './harness.mjs';

const stack = useStack({
    relayForward: true,
    serverEnv: { CREDITD_AUTOTOPUP_POLL_MS: '200', CREDITD_RECONCILE_INTERVAL: '0' },
});
const DAY_AND_AN_HOUR = 25 * 3600;

const getAt = async (u) => expectStatus(await stack.api('GET', '/v1/auto_topup', { token: u.token }), 200);
const debit = (u, amount) => stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount, description: 'e2e usage' } });

async function sandboxConfig(body) {
    return expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body }), 200);
}

/** The sandbox's PaymentIntents made for an account (metadata.account_id). */
async function intentsOf(u) {
    const all = [];
    let after = '';
    for (;;) {
        const r = expectStatus(await stack.stripe('GET', `/v1/payment_intents?limit=100${after}`), 200);
        all.push(...r.data);
        if (!r.has_more) break;
        after = `&starting_after=${r.data[r.data.length - 1].id}`;
    }
    return all.filter((pi) => pi.metadata && pi.metadata.account_id === u.id);
}

async function savedCardUser(card = '4242424242424242') {
    stack.relay.forwardTo = `${stack.baseUrl}/v1/webhooks/stripe`;
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 }, card);
    await waitFor(async () => (await stack.api('GET', '/v1/account', { token: u.token })).json.has_saved_payment_method === true,
        10000, { what: 'card saved' });
    return u;
}

/** Starts an auto top-up whose first POST meets fault (the sandbox's
 * fail_next), with its webhook lost; returns the in-flight attempt. */
async function unknownOutcome(u, fault) {
    stack.relay.forwardTo = null; // webhooks lost from here
    expectStatus(await stack.api('PUT', '/v1/auto_topup', {
        token: u.token, body: { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 },
    }), 200);
    // 'before': fails each of the client's 3 tries (nothing made, nothing
    // saved); 'after': made, its 500 saved and replayed to the retries.
    await sandboxConfig({
        fail_next: { path: '/v1/payment_intents', count: fault === 'after' ? 1 : 3, after: fault === 'after' },
    });
    const failed0 = await stripe5xx();
    expectStatus(await debit(u, 600), 201); // 400: under the threshold
    // The send is over, the client's own retries under the same key too.
    await waitFor(async () => (await stripe5xx()) > failed0, 15000, { what: 'the POST failed' });
    const v = await getAt(u);
    assert.equal((await sandboxConfig({})).fail_next.count, 0);
    assert.equal(v.last_attempt.status, 'in_flight', JSON.stringify(v));
    return v.last_attempt;
}

/** Later: the sandbox's clock sandboxS ahead (past 24 h it has forgotten
 * the key), the server restarted serverS ahead re-sends (webhooks
 * delivered again). */
const ahead = { sandbox: 0, server: 0 };
async function later(sandboxS, serverS = sandboxS) {
    const c = await sandboxConfig({ advance_clock_s: sandboxS });
    ahead.sandbox += sandboxS;
    ahead.server += serverS;
    assert.equal(c.clock_offset_s, ahead.sandbox);
    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = String(ahead.server);
    stack.relay.forwardTo = `${stack.baseUrl}/v1/webhooks/stripe`;
    await stack.restartServer({ graceful: true });
}

async function settled(u, id) {
    return waitFor(async () => {
        const v = await getAt(u);
        return v.last_attempt.id === id && v.last_attempt.status !== 'in_flight' && v;
    }, 20000, { what: 'the attempt settled' });
}

/** The server's Stripe calls that ended in a 5xx (after their retries). */
async function stripe5xx() {
    const m = (await stack.admin('GET', '/metrics')).text
        .match(/^creditd_stripe_requests_total\{method="POST",outcome="http_5xx"\} (\d+)$/m);
    return m ? Number(m[1]) : 0;
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('a charge made but never answered, re-sent after Stripe forgot its key: adopted, charged once, credited once', async () => {
    const u = await savedCardUser();
    const a = await unknownOutcome(u, 'after');
    const first = (await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id);
    assert.equal(first.length, 1);
    assert.equal(first[0].status, 'succeeded'); // charged, creditd never heard
    assert.equal(await stack.balance(u), 400);

    await later(DAY_AND_AN_HOUR);
    const v = await settled(u, a.id);
    assert.equal(v.last_attempt.status, 'succeeded', JSON.stringify(v));
    const pis = (await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id);
    assert.deepEqual(pis.map((pi) => [pi.id, pi.status]), [[first[0].id, 'succeeded']]);
    await waitFor(async () => (await stack.balance(u)) === 2400, 10000, { what: 'balance 2400' });
    const orders = (await stack.list(u, '/v1/orders')).filter((o) => o.id === a.order_id);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].status, 'completed');
    assert.equal(orders[0].stripe_payment_intent_id, first[0].id);
    assert.match((await stack.admin('GET', '/metrics')).text, /^creditd_topup_lookups_total\{result="found"\} 1$/m);
    await stack.webhooksDelivered();
    assert.equal(await stack.balance(u), 2400); // once, webhooks or not
    await ledgerOk();
});

e2e('a charge Stripe never made, re-sent after a day: sent again under a new key, charged once', async () => {
    const u = await savedCardUser();
    const a = await unknownOutcome(u, 'before');
    assert.equal((await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id).length, 0);

    await later(DAY_AND_AN_HOUR);
    const v = await settled(u, a.id);
    assert.equal(v.last_attempt.status, 'succeeded', JSON.stringify(v));
    const pis = (await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id);
    assert.equal(pis.length, 1);
    assert.equal(pis[0].status, 'succeeded');
    // made by the new key: the first one's 24 h were over
    const ev = expectStatus(await stack.stripe('GET', '/v1/events?type=payment_intent.created&limit=100'), 200).data
        .find((e) => e.data.object.id === pis[0].id);
    assert.equal(ev.request.idempotency_key, `topup:${a.order_id}:create:r1`);
    assert.match((await stack.admin('GET', '/metrics')).text, /^creditd_topup_lookups_total\{result="none"\} 1$/m);
    await waitFor(async () => (await stack.balance(u)) === 2400, 10000, { what: 'balance 2400' });
    await ledgerOk();
});

e2e('a decline made but never answered, found after a day: a decline (retried in 1 h), not a new charge', async () => {
    const u = await savedCardUser('4000000000000341'); // attaches, declines off-session
    const a = await unknownOutcome(u, 'after');
    await later(DAY_AND_AN_HOUR);
    const v = await waitFor(async () => {
        const x = await getAt(u);
        return x.last_attempt.decline_code && x;
    }, 20000, { what: 'the attempt declined' });
    assert.equal(v.last_attempt.id, a.id);
    assert.equal(v.last_attempt.status, 'pending', JSON.stringify(v)); // tried again in 1 h
    assert.equal(v.consecutive_declines, 1);
    const pis = (await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id);
    assert.deepEqual(pis.map((pi) => pi.status), ['requires_payment_method']);
    const order = (await stack.list(u, '/v1/orders')).find((o) => o.id === a.order_id);
    assert.equal(order.status, 'failed');
    assert.equal(order.stripe_payment_intent_id, pis[0].id);
    assert.equal(await stack.balance(u), 400);
    await ledgerOk();
});

// Stripe's clock 4 minutes ahead of ours (within the webhooks' 5 minute
// tolerance): a re-send 100 s before creditd's own 24 h are up, when Stripe
// has just pruned the key. Without the look-up this charged twice.
e2e('a re-send just inside 24 h that Stripe no longer covers: looked up, adopted, charged once', async () => {
    const u = await savedCardUser();
    const a = await unknownOutcome(u, 'after');
    await later(86400 + 140, 86400 - 100);
    await waitFor(async () => (await stack.balance(u)) === 2400, 10000, { what: 'balance 2400' });
    const pis = (await intentsOf(u)).filter((pi) => pi.metadata.order_id === a.order_id);
    assert.equal(pis.length, 1, JSON.stringify(pis.map((pi) => [pi.id, pi.status])));
    const v = await settled(u, a.id);
    assert.equal(v.last_attempt.status, 'succeeded', JSON.stringify(v));
    await ledgerOk();
});
