// subscription.test.mjs - Checkout in subscription mode through the real
// sandbox: credits come once per paid invoice (never from the session as
// well), renewals add a period, replayed events change nothing, the
// subscription's state is what Stripe holds now (an old
// customer.subscription.updated delivered late cannot undo a cancel),
// cancellation, a failed renewal (past_due, no credits), and the errors.
//
// The sandbox delivers to a recording relay that forwards to the server,
// so the test sees every delivery and can replay it (re-signed).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { useStack, e2e, waitFor, expectStatus, expectError, httpRequest, rand, logMark, stripeCallsSince, CARD_DECLINE } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

// Receipts go to a loopback SMTP sink (its port is known once it started,
// before the stack starts: hooks run in the order they were registered).
const sink = new SmtpSink();
const serverEnv = { CREDITD_MAIL_FROM: 'billing@creditd.test', CREDITD_MAIL_POLL_MS: '100' };
before(async () => {
    await sink.start();
    serverEnv.CREDITD_SMTP_URL = sink.url;
});
after(async () => sink.stop());
const stack = useStack({ relayForward: true, serverEnv });

/** Every delivery the sandbox made has had its final answer. */
async function settled() {
    await waitFor(
        async () => {
            const r = await httpRequest('GET', `${stack.sandboxUrl}/_sandbox/config`);
            return r.status === 200 && r.json.pending === 0;
        },
        10000,
        { what: 'sandbox deliveries settled' },
    );
}

async function plan() {
    const cfg = await stack.config();
    assert.ok(Array.isArray(cfg.plans) && cfg.plans.length > 0, 'GET /v1/config lists plans');
    const p = cfg.plans[0];
    assert.ok(p.credits_per_period > 0 && p.price_cents > 0, JSON.stringify(p));
    return p;
}

async function subscription(u) {
    return stack.api('GET', '/v1/subscription', { token: u.token });
}

async function waitSub(u, pred, what) {
    return waitFor(
        async () => {
            const r = await subscription(u);
            return r.status === 200 && pred(r.json) ? r.json : null;
        },
        10000,
        { what },
    );
}

/** A new account subscribed to plan p with 4242: {u, co, sub}. */
async function subscribe(p) {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    assert.equal(co.amount_cents, p.price_cents);
    assert.equal(co.credits, p.credits_per_period);
    assert.equal(co.discount_cents, 0);
    const r = await stack.completeSession(co.session_id);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.mode, 'subscription');
    assert.match(r.json.subscription, /^sub_/);
    assert.match(r.json.invoice, /^in_/);
    const sub = await waitSub(u, (s) => s.status === 'active', 'subscription active');
    await settled();
    return { u, co, sub, subId: r.json.subscription };
}

function sandboxRenew(subId, body = {}) {
    return httpRequest('POST', `${stack.sandboxUrl}/_sandbox/subscriptions/${subId}/renew`, { body });
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('subscribe, renew, replay, cancel at period end, stale update, cancel', async () => {
    const p = await plan();
    const { u, co, sub, subId } = await subscribe(p);

    // Active, a period end in the future, the plan and the Stripe id.
    assert.equal(sub.plan_id, p.id);
    assert.equal(sub.stripe_subscription_id, subId);
    assert.equal(sub.cancel_at_period_end, false);
    assert.match(sub.current_period_end, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Date.parse(sub.current_period_end) > Date.now() + 86400 * 1000, sub.current_period_end);

    // Credits exactly once for the first period (invoice.paid), not also
    // for the session; the order is completed and the checkout fulfilled.
    await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'first period credited' });
    assert.equal(await stack.balance(u), p.credits_per_period);
    const st = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: u.token }), 200);
    assert.equal(st.fulfilled, true);
    assert.equal(st.status, 'completed');
    const o = await stack.order(u, co.order_id);
    assert.equal(o.kind, 'subscription');
    assert.equal(o.status, 'completed');
    assert.equal(o.amount_cents, p.price_cents);
    const txns = await stack.list(u, '/v1/transactions');
    assert.equal(txns.length, 1);
    assert.equal(txns[0].kind, 'subscription');
    assert.equal(txns[0].amount, p.credits_per_period);
    const pays = (await stack.list(u, '/v1/payments')).filter((x) => x.order_id === co.order_id);
    assert.equal(pays.length, 1);
    assert.equal(pays[0].status, 'succeeded');
    assert.equal(pays[0].amount_cents, p.price_cents);
    const acct = expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
    assert.match(acct.stripe_customer_id, /^cus_/);

    // Renewal: a new paid invoice, a second period's credits, a later end.
    const rn = await sandboxRenew(subId);
    assert.equal(rn.status, 200, rn.text);
    assert.equal(rn.json.latest_invoice.billing_reason, 'subscription_cycle');
    assert.equal(rn.json.latest_invoice.status, 'paid');
    await waitFor(async () => (await stack.balance(u)) === 2 * p.credits_per_period, 10000, { what: 'renewal credited' });
    const after = await waitSub(u, (s) => Date.parse(s.current_period_end) > Date.parse(sub.current_period_end), 'period advanced');
    assert.equal(after.status, 'active');
    await settled();

    // Replay every delivery so far: the same ids are duplicates; the
    // invoices again under new event ids credit nothing either.
    const delivered = stack.relay.events.map((e) => e.json).filter(Boolean);
    const types = new Set(delivered.map((e) => e.type));
    for (const t of ['customer.subscription.created', 'customer.subscription.updated', 'invoice.paid', 'checkout.session.completed']) {
        assert.ok(types.has(t), `the sandbox delivered ${t}`);
    }
    // An invoice's charge.succeeded comes before its invoice.paid, as at
    // Stripe: its card is kept (charge_cards) and a replay keeps it again
    // (no credits).
    for (const ev of delivered) {
        const r = await stack.sendWebhook(ev);
        assert.equal(r.status, 200, r.text);
        const ok = ev.type === 'charge.succeeded' ? ['duplicate', 'ignored', 'processed'] : ['duplicate', 'ignored'];
        assert.ok(ok.includes(r.json.status), `${ev.type}: ${r.json.status}`);
    }
    for (const ev of delivered.filter((e) => e.type === 'invoice.paid' || e.type === 'checkout.session.completed')) {
        const r = await stack.sendWebhook({ ...ev, id: `evt_e2e_${rand(10)}` });
        assert.equal(r.status, 200, r.text);
    }
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    assert.deepEqual((await subscription(u)).json, after);
    // Reconciliation sees the same events and applies nothing new.
    expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);

    // An update captured before the cancel (its snapshot says
    // cancel_at_period_end false) ...
    const old = stack.relay.find('customer.subscription.updated', subId).slice(-1)[0];
    assert.equal(old.data.object.cancel_at_period_end, false);

    // Cancel at period end (Stripe's API).
    const up = await stack.stripe('POST', `/v1/subscriptions/${subId}`, { body: { cancel_at_period_end: 'true' } });
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.cancel_at_period_end, true);
    await waitSub(u, (s) => s.cancel_at_period_end === true, 'cancel_at_period_end true');
    await settled();

    // ... delivered late, under a new id (so it is processed): creditd
    // re-reads the subscription, so the cancel stays.
    const late = await stack.sendWebhook({ ...old, id: `evt_e2e_${rand(10)}` });
    assert.equal(late.status, 200, late.text);
    assert.equal(late.json.status, 'processed');
    const still = expectStatus(await subscription(u), 200);
    assert.equal(still.cancel_at_period_end, true);
    assert.equal(still.status, 'active');

    // Cancel now.
    const del = await stack.stripe('DELETE', `/v1/subscriptions/${subId}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.status, 'canceled');
    await waitSub(u, (s) => s.status === 'canceled', 'status canceled');
    await settled();
    // Replaying the old update once more cannot bring it back.
    const late2 = await stack.sendWebhook({ ...old, id: `evt_e2e_${rand(10)}` });
    assert.equal(late2.status, 200, late2.text);
    assert.equal((await subscription(u)).json.status, 'canceled');
    // A canceled subscription cannot be renewed.
    expectStatus(await sandboxRenew(subId), 400);
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    await ledgerOk();
});

e2e('a failed renewal: past_due and no credits', async () => {
    const p = await plan();
    const { u, subId } = await subscribe(p);
    await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'first period credited' });
    const rn = await sandboxRenew(subId, { card_fails: true });
    assert.equal(rn.status, 200, rn.text);
    assert.equal(rn.json.status, 'past_due');
    assert.equal(rn.json.latest_invoice.status, 'open');
    assert.equal(rn.json.latest_invoice.amount_paid, 0);
    await waitSub(u, (s) => s.status === 'past_due', 'status past_due');
    await settled();
    assert.ok(stack.relay.find('invoice.payment_failed').some((e) => e.data.object.id === rn.json.latest_invoice.id));
    assert.equal(await stack.balance(u), p.credits_per_period);

    // Paid on the next try: active again, one more period's credits.
    const ok = await sandboxRenew(subId);
    assert.equal(ok.status, 200, ok.text);
    await waitSub(u, (s) => s.status === 'active', 'active again');
    await waitFor(async () => (await stack.balance(u)) === 2 * p.credits_per_period, 10000, { what: 'paid renewal credited' });
    await settled();
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    await ledgerOk();
});

/** A renewal whose events the relay holds: {charged, paid, ipaid,
 * invoiceId, pi} (ipaid: its invoice_payment.paid). */
async function heldRenewal(subId) {
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null;
    let rn;
    try {
        rn = await sandboxRenew(subId);
        assert.equal(rn.status, 200, rn.text);
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    const invoiceId = rn.json.latest_invoice.id;
    const ips = await stack.stripe('GET', `/v1/invoice_payments?invoice=${invoiceId}`);
    assert.equal(ips.status, 200, ips.text);
    const pi = ips.json.data[0].payment.payment_intent;
    const paid = stack.relay.find('invoice.paid', invoiceId)[0];
    const charged = stack.relay.find('charge.succeeded').find((e) => e.data.object.payment_intent === pi);
    const ipaid = stack.relay.find('invoice_payment.paid').find((e) => e.data.object.invoice === invoiceId);
    assert.ok(paid && charged && ipaid, 'the renewal\'s invoice.paid, charge.succeeded and invoice_payment.paid were held');
    return { paid, charged, ipaid, invoiceId, pi };
}

for (const chargeFirst of [true, false]) {
    const order = chargeFirst ? 'charge.succeeded, then invoice.paid' : 'invoice.paid, then charge.succeeded';
    e2e(`a renewal's payment row has the card's last4 (${order})`, async () => {
        const p = await plan();
        const { u, subId } = await subscribe(p);
        await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'first period credited' });
        const { paid, charged, ipaid, pi } = await heldRenewal(subId);
        // invoice.paid names no PaymentIntent: invoice_payment.paid links
        // them (last here: the card kept from the charge comes with it).
        for (const ev of chargeFirst ? [charged, ipaid, paid] : [paid, charged, ipaid]) {
            const r = await stack.sendWebhook(ev);
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.status, 'processed', ev.type);
        }
        assert.equal(await stack.balance(u), 2 * p.credits_per_period);
        const all = await stack.list(u, '/v1/payments');
        const pays = all.filter((x) => x.stripe_payment_intent_id === pi);
        assert.equal(pays.length, 1, JSON.stringify(all));
        assert.equal(pays[0].status, 'succeeded');
        assert.equal(pays[0].payment_method_last4, '4242');
        assert.equal(pays[0].stripe_charge_id, charged.data.object.id);
        // Redelivered, both change nothing.
        for (const ev of [paid, charged, ipaid]) expectStatus(await stack.sendWebhook(ev), 200);
        assert.equal(await stack.balance(u), 2 * p.credits_per_period);
        await ledgerOk();
    });
}

function sandboxApiDelay(ms) {
    return httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body: { api_delay_ms: ms } });
}

e2e('invoice.paid is answered from the database alone: with Stripe slow it credits at once; the PaymentIntent and card come later with invoice_payment.paid and charge.succeeded', async () => {
    const p = await plan();
    const { u, co, subId } = await subscribe(p);
    await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'first period credited' });
    const { paid, charged, ipaid, pi } = await heldRenewal(subId);
    const renewalRow = async () => (await stack.list(u, '/v1/payments')).find((x) => x.order_id !== co.order_id);
    expectStatus(await sandboxApiDelay(5000), 200);
    try {
        const mark = logMark(stack.server.logFile);
        const r = await stack.sendWebhook(paid);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.status, 'processed');
        assert.deepEqual(stripeCallsSince(stack.server.logFile, mark), [], 'answered without a Stripe read');
    } finally {
        expectStatus(await sandboxApiDelay(0), 200);
    }
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    let row = await renewalRow();
    assert.equal(row.status, 'succeeded');
    assert.equal(row.amount_cents, p.price_cents);
    assert.equal(row.stripe_payment_intent_id, null);
    assert.equal(row.payment_method_last4, null);
    // Later: the invoice's payment names its PaymentIntent, then its charge
    // the card.
    const r1 = await stack.sendWebhook(ipaid);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    row = await renewalRow();
    assert.equal(row.stripe_payment_intent_id, pi);
    assert.equal(row.payment_method_last4, null);
    expectStatus(await stack.sendWebhook(charged), 200);
    row = await renewalRow();
    assert.equal(row.payment_method_last4, '4242');
    assert.equal(row.stripe_charge_id, charged.data.object.id);
    assert.equal((await stack.sendWebhook(ipaid)).json.status, 'duplicate');
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    await ledgerOk();
});

e2e('a renewal refunded before its invoice_payment.paid came: the admin refund asks Stripe for the PaymentIntent', async () => {
    const p = await plan();
    const { u, co, subId } = await subscribe(p);
    await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'first period credited' });
    const { paid, pi } = await heldRenewal(subId);
    assert.equal((await stack.sendWebhook(paid)).json.status, 'processed');
    const row = (await stack.list(u, '/v1/payments')).find((x) => x.order_id !== co.order_id);
    assert.equal(row.stripe_payment_intent_id, null);
    const rf = await stack.admin('POST', `/v1/admin/orders/${row.order_id}/refund`, { body: {} });
    assert.equal(rf.status, 202, rf.text);
    await stack.waitOrderStatus(u, row.order_id, 'refunded');
    const after = (await stack.list(u, '/v1/payments')).find((x) => x.order_id === row.order_id);
    assert.equal(after.stripe_payment_intent_id, pi);
    await waitFor(async () => (await stack.balance(u)) === p.credits_per_period, 10000, { what: 'renewal taken back' });
    await ledgerOk();
});

e2e('invoice.paid first (nothing synced yet): the subscription found through Stripe; older shapes; $0 and foreign invoices', async () => {
    const p = await plan();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    // Hold every delivery at the relay; the test delivers them itself.
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null;
    let subId;
    try {
        const r = await stack.completeSession(co.session_id);
        assert.equal(r.status, 200, r.text);
        subId = r.json.subscription;
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    const byType = (t) => stack.relay.find(t).filter((e) => JSON.stringify(e.data.object).includes(subId));
    const inv = byType('invoice.paid')[0];
    const created = byType('customer.subscription.created')[0];
    const completed = stack.relay.find('checkout.session.completed', co.session_id)[0];
    assert.ok(inv && created && completed, 'the three events were held');
    expectError(await subscription(u), 404, 'no_subscription');

    // invoice.paid first: creditd asks Stripe whose subscription it is,
    // credits the period and stores the subscription.
    const r1 = await stack.sendWebhook(inv);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    assert.equal(await stack.balance(u), p.credits_per_period);
    const s1 = expectStatus(await subscription(u), 200);
    assert.equal(s1.status, 'active');
    assert.equal(s1.stripe_subscription_id, subId);
    assert.equal(s1.plan_id, p.id);

    // Then the others: nothing more is credited.
    for (const ev of [created, completed]) {
        const r = await stack.sendWebhook(ev);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.status, 'processed', ev.type);
    }
    assert.equal(await stack.balance(u), p.credits_per_period);
    assert.equal((await stack.order(u, co.order_id)).status, 'completed');

    // The older invoice shape (no parent, only the top-level
    // subscription), under a new event id: the same invoice, no credit.
    const legacy = structuredClone(inv);
    legacy.id = `evt_e2e_${rand(10)}`;
    delete legacy.data.object.parent;
    legacy.data.object.subscription = subId;
    const r2 = await stack.sendWebhook(legacy);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.status, 'processed');
    assert.equal(await stack.balance(u), p.credits_per_period);

    // A subscription Stripe does not know: ignored.
    const foreign = structuredClone(inv);
    foreign.id = `evt_e2e_${rand(10)}`;
    foreign.data.object.id = `in_e2e${rand(8)}`;
    foreign.data.object.parent.subscription_details.subscription = `sub_e2enope${rand(6)}`;
    foreign.data.object.subscription = foreign.data.object.parent.subscription_details.subscription;
    const f = await stack.sendWebhook(foreign);
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.status, 'ignored');

    // A $0 invoice (a trial) grants nothing.
    const trial = structuredClone(inv);
    trial.id = `evt_e2e_${rand(10)}`;
    trial.data.object.id = `in_e2e${rand(8)}`;
    trial.data.object.amount_paid = 0;
    const t = await stack.sendWebhook(trial);
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.status, 'ignored');
    assert.equal(await stack.balance(u), p.credits_per_period);
    await ledgerOk();
});

/** A subscription whose first events the relay holds: {u, co, subId,
 * inv, created, completed, charged, ipaid, pi}. */
async function heldStart(p) {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null;
    let subId, invoiceId;
    try {
        const r = await stack.completeSession(co.session_id);
        assert.equal(r.status, 200, r.text);
        subId = r.json.subscription;
        invoiceId = r.json.invoice;
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    const ips = await stack.stripe('GET', `/v1/invoice_payments?invoice=${invoiceId}`);
    assert.equal(ips.status, 200, ips.text);
    const pi = ips.json.data[0].payment.payment_intent;
    const inv = stack.relay.find('invoice.paid', invoiceId)[0];
    const created = stack.relay.find('customer.subscription.created', subId)[0];
    const completed = stack.relay.find('checkout.session.completed', co.session_id)[0];
    const charged = stack.relay.find('charge.succeeded').find((e) => e.data.object.payment_intent === pi);
    const ipaid = stack.relay.find('invoice_payment.paid').find((e) => e.data.object.invoice === invoiceId);
    assert.ok(inv && created && completed && charged && ipaid, 'the first events were held');
    return { u, co, subId, inv, created, completed, charged, ipaid, pi };
}

async function revenue() {
    const r = expectStatus(await stack.admin('GET', '/v1/admin/summary'), 200);
    return r.revenue.find((x) => x.currency === 'usd') || { payments: 0, gross_cents: 0 };
}

const receipts = (u) => sink.to(u.email).filter((m) => /^Subject: Your receipt/m.test(m.data)).length;
const again = (ev) => ({ ...ev, id: `evt_e2e_${rand(10)}` });

// The first period is the checkout's order whatever the order of
// invoice.paid and checkout.session.completed: one order, credited once,
// one payment row (with the card once the charge is seen), one receipt,
// the revenue counted once.
for (const way of ['checkout first', 'invoice first', 'both at once']) {
    e2e(`the first period is one order and one payment (${way}, then duplicates of both)`, async () => {
        const p = await plan();
        const rev0 = await revenue();
        const h = await heldStart(p);
        const send = async (ev) => {
            const r = await stack.sendWebhook(ev);
            assert.equal(r.status, 200, r.text);
            return r.json.status;
        };
        if (way === 'checkout first') {
            assert.equal(await send(h.completed), 'processed');
            assert.equal(await send(h.inv), 'processed');
        } else if (way === 'invoice first') {
            assert.equal(await send(h.inv), 'processed');
            assert.equal(await send(h.completed), 'processed');
        } else {
            await Promise.all([send(h.inv), send(h.completed)]);
        }
        for (const ev of [h.inv, h.completed, again(h.inv), again(h.completed), h.created, h.charged, h.ipaid]) await send(ev);
        assert.equal(await stack.balance(h.u), p.credits_per_period);
        const orders = (await stack.list(h.u, '/v1/orders')).filter((o) => o.status !== 'pending');
        assert.deepEqual(orders.map((o) => [o.id, o.status, o.amount_cents]), [[h.co.order_id, 'completed', p.price_cents]]);
        const pays = await stack.list(h.u, '/v1/payments');
        assert.equal(pays.length, 1, JSON.stringify(pays));
        assert.equal(pays[0].order_id, h.co.order_id);
        assert.equal(pays[0].status, 'succeeded');
        assert.equal(pays[0].amount_cents, p.price_cents);
        assert.equal(pays[0].stripe_payment_intent_id, h.pi);
        assert.equal(pays[0].payment_method_last4, '4242');
        // The customer Checkout made is the account's, whoever came first.
        const acct = expectStatus(await stack.api('GET', '/v1/account', { token: h.u.token }), 200);
        assert.equal(acct.stripe_customer_id, h.inv.data.object.customer);
        const rev1 = await revenue();
        assert.equal(rev1.payments - rev0.payments, 1);
        assert.equal(rev1.gross_cents - rev0.gross_cents, p.price_cents);
        await waitFor(() => receipts(h.u) >= 1, 10000, { what: 'receipt' });
        // A later charge's receipt would be queued after this one: one
        // renewal, then exactly two receipts for two periods.
        const rn = await sandboxRenew(h.subId);
        assert.equal(rn.status, 200, rn.text);
        await waitFor(async () => (await stack.balance(h.u)) === 2 * p.credits_per_period, 10000, { what: 'renewal credited' });
        await waitFor(() => receipts(h.u) >= 2, 10000, { what: 'renewal receipt' });
        await settled();
        assert.equal(receipts(h.u), 2);
        assert.equal((await stack.list(h.u, '/v1/payments')).length, 2);
        await ledgerOk();
    });
}

e2e('lost webhooks: reconciliation syncs the subscription and credits the invoices once', async () => {
    const p = await plan();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null; // every delivery "succeeds" at the relay only
    let subId;
    try {
        const r = await stack.completeSession(co.session_id);
        assert.equal(r.status, 200, r.text);
        subId = r.json.subscription;
        const rn = await sandboxRenew(subId);
        assert.equal(rn.status, 200, rn.text);
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    expectError(await subscription(u), 404, 'no_subscription');
    assert.equal(await stack.balance(u), 0);

    const rec = expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.ok(rec.events_applied >= 4, JSON.stringify(rec));
    const s = expectStatus(await subscription(u), 200);
    assert.equal(s.stripe_subscription_id, subId);
    assert.equal(s.status, 'active');
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    assert.equal((await stack.order(u, co.order_id)).status, 'completed');
    // The lost invoice_payment.paid events too: each period's payment row
    // has the PaymentIntent that paid its invoice.
    const rows = await stack.list(u, '/v1/payments');
    assert.equal(rows.length, 2, JSON.stringify(rows));
    for (const row of rows) assert.match(String(row.stripe_payment_intent_id), /^pi_/, JSON.stringify(row));
    // Again: nothing new.
    expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    await ledgerOk();
});

e2e('reconciliation never moves its cursor past an event it did not apply (Stripe failing the re-read)', async () => {
    const p = await plan();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null;
    let subId;
    try {
        const r = await stack.completeSession(co.session_id);
        assert.equal(r.status, 200, r.text);
        subId = r.json.subscription;
        assert.equal((await sandboxRenew(subId)).status, 200);
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    // The next six reads of the subscription fail: creditd's client tries
    // each read 3 times, so the re-reads of customer.subscription.created
    // and of the first invoice.paid fail (a run that skipped the first
    // would fail the second, and lose that period for good).
    const cfg = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, {
        body: { fail_next: { method: 'GET', path: `/v1/subscriptions/${subId}`, count: 6 } },
    });
    assert.equal(cfg.status, 200, cfg.text);
    let runs = 0;
    for (;;) {
        const rec = await stack.admin('POST', '/v1/admin/reconcile', { body: {} });
        runs++;
        if (rec.status === 200) break;
        expectError(rec, 502, 'stripe_error');
        assert.ok(runs < 5, 'reconciliation recovers once Stripe answers');
    }
    assert.ok(runs >= 2, 'the failing runs stopped before the event');
    // Both periods granted: no event was passed over.
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    expectStatus(await stack.admin('POST', '/v1/admin/reconcile', { body: {} }), 200);
    assert.equal(await stack.balance(u), 2 * p.credits_per_period);
    await ledgerOk();
});

e2e('declined card at checkout; errors: unknown plan, missing plan, discount code, no subscription', async () => {
    const p = await plan();
    const u = await stack.signup();
    expectError(await subscription(u), 404, 'no_subscription');

    const co = await stack.checkout(u, { kind: 'subscription', plan_id: p.id });
    const d = await stack.completeSession(co.session_id, CARD_DECLINE);
    assert.equal(d.status, 402, d.text);
    assert.equal(d.json.error.code, 'card_declined');
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.status, 'open');
    assert.equal(sess.subscription, null);
    await settled();
    expectError(await subscription(u), 404, 'no_subscription');
    assert.equal((await stack.order(u, co.order_id)).status, 'pending');
    assert.equal(await stack.balance(u), 0);

    expectError(
        await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'subscription', plan_id: 'no_such_plan' } }),
        400,
        'unknown_plan',
    );
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'subscription' } }), 400, 'missing_param');
    expectError(
        await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'subscription', plan_id: p.id, discount_code: 'ANY' } }),
        400,
        'discount_not_applicable',
    );
    expectError(await stack.api('GET', '/v1/subscription'), 401);
});

e2e('the buyer cancels at period end and resumes (POST /v1/subscription/cancel|resume); 409 once ended; 404 without one', async () => {
    const p = await plan();
    const { u, subId } = await subscribe(p);
    const before = stack.relay.find('customer.subscription.updated', subId).length;

    // Cancel at period end with the account token: Stripe's reply is
    // stored at once, and Stripe says so too.
    const c = expectStatus(await stack.api('POST', '/v1/subscription/cancel', { token: u.token, idem: `k-${rand(8)}` }), 200);
    assert.equal(c.cancel_at_period_end, true);
    assert.equal(c.status, 'active');
    assert.equal(c.stripe_subscription_id, subId);
    assert.equal(c.plan_id, p.id);
    assert.deepEqual(expectStatus(await subscription(u), 200), c);
    const atStripe = await stack.stripe('GET', `/v1/subscriptions/${subId}`);
    assert.equal(atStripe.json.cancel_at_period_end, true);
    // The sandbox sends customer.subscription.updated; creditd applies it.
    await waitFor(() => stack.relay.find('customer.subscription.updated', subId).length > before, 10000, { what: 'the update event' });
    await settled();
    assert.equal((await subscription(u)).json.cancel_at_period_end, true);

    // Cancel again (no key): still 200, nothing changes.
    assert.equal(expectStatus(await stack.api('POST', '/v1/subscription/cancel', { token: u.token }), 200).cancel_at_period_end, true);

    // Resume with the server key + Creditd-Account.
    const r = expectStatus(await stack.asServer(u.id, 'POST', '/v1/subscription/resume'), 200);
    assert.equal(r.cancel_at_period_end, false);
    assert.equal((await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.cancel_at_period_end, false);
    await settled();
    assert.equal((await subscription(u)).json.cancel_at_period_end, false);

    // Cancel, then the period ends: canceled, and both calls are 409.
    expectStatus(await stack.api('POST', '/v1/subscription/cancel', { token: u.token }), 200);
    expectStatus(await sandboxRenew(subId), 200);
    await waitSub(u, (s) => s.status === 'canceled', 'ended at period end');
    await settled();
    expectError(await stack.api('POST', '/v1/subscription/resume', { token: u.token }), 409, 'subscription_ended');
    expectError(await stack.api('POST', '/v1/subscription/cancel', { token: u.token }), 409, 'subscription_ended');
    assert.equal(await stack.balance(u), p.credits_per_period);

    // No subscription; no auth.
    const v = await stack.signup();
    expectError(await stack.api('POST', '/v1/subscription/cancel', { token: v.token }), 404, 'no_subscription');
    expectError(await stack.api('POST', '/v1/subscription/resume', { token: v.token }), 404, 'no_subscription');
    expectError(await stack.api('POST', '/v1/subscription/cancel'), 401);
    await ledgerOk();
});

e2e('cancel: Stripe already ended it (our copy not yet synced) is 409, and the copy is synced', async () => {
    const p = await plan();
    const { u, subId } = await subscribe(p);
    const forward = stack.relay.forwardTo;
    stack.relay.forwardTo = null; // creditd does not hear of the cancel
    try {
        const del = await stack.stripe('DELETE', `/v1/subscriptions/${subId}`);
        assert.equal(del.status, 200, del.text);
        await settled();
    } finally {
        stack.relay.forwardTo = forward;
    }
    assert.equal((await subscription(u)).json.status, 'active');
    expectError(await stack.api('POST', '/v1/subscription/cancel', { token: u.token }), 409, 'subscription_ended');
    assert.equal((await subscription(u)).json.status, 'canceled');
});

/** A form post to a sandbox page (as the browser sends it). */
function pagePost(url, fields) {
    return httpRequest('POST', url, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(new URLSearchParams(fields).toString()),
    });
}

e2e('POST /v1/billing_portal: a Stripe Billing Portal session; the sandbox portal cancels and changes the card', async () => {
    const p = await plan();
    const { u, subId } = await subscribe(p);
    const before = (await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.default_payment_method;

    const bp = expectStatus(await stack.api('POST', '/v1/billing_portal', { token: u.token, body: { return_url: `${stack.baseUrl}/dashboard` } }), 201);
    assert.deepEqual(Object.keys(bp), ['url']);
    assert.ok(bp.url.startsWith(`${stack.sandboxUrl}/billing_portal/bps_`), bp.url);
    // Without a body (the dashboard is the default return), and with the server key.
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/billing_portal'), 201);

    const page = await httpRequest('GET', bp.url);
    assert.equal(page.status, 200);
    assert.match(page.text, /Cancel subscription/);
    assert.match(page.text, /Visa ending in 4242/i);
    assert.ok(page.text.includes(`${stack.baseUrl}/dashboard`), 'a link back');

    // A declined card is refused on the page; nothing changes.
    const bad = await pagePost(`${bp.url}/card`, { card: '4000 0000 0000 0002', exp: '12 / 34', cvc: '123' });
    assert.equal(bad.status, 402, bad.text);
    assert.match(bad.text, /role="alert"/);
    assert.equal((await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.default_payment_method, before);
    // A good one becomes the subscription's card.
    const good = await pagePost(`${bp.url}/card`, { card: '5555 5555 5555 4444', exp: '12 / 34', cvc: '123' });
    assert.equal(good.status, 303, good.text);
    const after = (await stack.stripe('GET', `/v1/subscriptions/${subId}`)).json.default_payment_method;
    assert.notEqual(after, before);
    assert.match((await httpRequest('GET', bp.url)).text, /ending in 4444/);

    // Cancel on the portal: creditd hears of it through the event.
    const c = await pagePost(`${bp.url}/cancel`, { subscription: subId });
    assert.equal(c.status, 303, c.text);
    await waitSub(u, (s) => s.cancel_at_period_end === true, 'canceled at period end through the portal');
    // The period ends: canceled, as set on the portal.
    expectStatus(await sandboxRenew(subId), 200);
    await waitSub(u, (s) => s.status === 'canceled', 'ended at period end');
    await settled();

    // Errors.
    expectError(await stack.api('POST', '/v1/billing_portal', { token: u.token, body: { return_url: 'https://elsewhere.example/' } }), 400, 'redirect_not_allowed');
    const v = await stack.signup();
    expectError(await stack.api('POST', '/v1/billing_portal', { token: v.token }), 409, 'no_stripe_customer');
    expectError(await stack.api('POST', '/v1/billing_portal'), 401);
    assert.equal((await httpRequest('GET', `${stack.sandboxUrl}/billing_portal/bps_nope`)).status, 404);
});
