// outbox.test.mjs - outbound events: written with their effect, numbered
// per account without gaps, pulled with GET /v1/events, pushed signed
// (Creditd-Signature, Stripe's scheme: checked here with the stripe
// package's own webhooks.constructEvent) to a receiver on loopback that
// fails at random (500s, timeouts, resets) for a while; balance alerts;
// webhook endpoint admin, secret rotation, deliveries, replays, and the
// disabling of an endpoint that keeps failing (with the injectable clock);
// with CD_E2E_PG_URL, a second node on the same database.

import assert from 'node:assert/strict';
import http from 'node:http';
import Stripe from 'stripe';
import { useStack, Stack, e2e, expectError, expectStatus, waitFor, freePort, httpRequest } from './harness.mjs';

const stripe = new Stripe('sk_test_unused');

const stack = useStack({
    serverEnv: {
        CREDITD_EVENTS_POLL_MS: '20',
        CREDITD_EVENTS_RETRY_BASE_MS: '10',
        CREDITD_EVENTS_TIMEOUT_MS: '300',
        CREDITD_EVENTS_RETRY_WINDOW: '600',
        CREDITD_EVENTS_DISABLE_AFTER: '600',
    },
});

/** A receiver on loopback: verifies each delivery with constructEvent and
 * keeps the events in arrival order; `chaos` (0..1) is the share of
 * requests answered with a 500, a hang past the sender's timeout or a
 * reset. */
class Receiver {
    constructor() {
        this.secrets = [];
        this.got = [];
        this.headers = [];
        this.chaos = 0;
        this.faults = { 500: 0, hang: 0, reset: 0 };
        this.bad = [];
        this.server = http.createServer((req, res) => this.handle(req, res));
        this.hung = new Set();
    }

    async start() {
        await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
        this.url = `http://127.0.0.1:${this.server.address().port}/hook`;
        return this;
    }

    handle(req, res) {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            if (Math.random() < this.chaos) {
                const f = ['500', 'hang', 'reset'][Math.floor(Math.random() * 3)];
                this.faults[f]++;
                if (f === '500') return res.writeHead(500).end('no');
                if (f === 'reset') return req.socket.destroy();
                this.hung.add(res);
                // A receiver that hangs for a second IS the fault under
                // test (the sender's timeout), not a wait on the server.
                return setTimeout(() => { this.hung.delete(res); res.destroy(); }, 1000);
            }
            const body = Buffer.concat(chunks).toString();
            const sig = req.headers['creditd-signature'];
            this.headers.push(sig);
            let ev = null;
            for (const s of this.secrets) {
                try {
                    ev = stripe.webhooks.constructEvent(body, sig, s);
                    break;
                } catch {
                    /* the next secret */
                }
            }
            if (!ev) {
                this.bad.push(sig);
                return res.writeHead(400).end('bad signature');
            }
            this.got.push(ev);
            res.writeHead(200).end('ok');
        });
    }

    of(account) {
        return this.got.filter((e) => e.account === account);
    }

    async stop() {
        for (const r of this.hung) r.destroy();
        this.server.closeAllConnections();
        await new Promise((r) => this.server.close(r));
    }
}

async function events(accountId, after = 0, limit = 100) {
    const all = [];
    for (;;) {
        const r = expectStatus(await stack.asServer(accountId, 'GET', `/v1/events?after=${after}&limit=${limit}`), 200);
        all.push(...r.data);
        if (!r.has_more) return all;
        after = r.data[r.data.length - 1].sequence;
    }
}

async function verifyLedger() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, `ledger verify: ${JSON.stringify(v)}`);
}

const createEndpoint = async (body) => expectStatus(await stack.admin('POST', '/v1/admin/webhook_endpoints', { body }), 201);

function assertGapless(list, label) {
    list.forEach((e, i) => assert.equal(e.sequence, i + 1, `${label}: sequence ${i + 1}`));
}

e2e('the pull feed: every effect an event, sequence 1..n without gaps, has_more paging, account scope', async () => {
    const u = await stack.signup();
    await stack.grant(u, 500);
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 200 } }), 201);
    expectError(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 900 } }), 402, 'insufficient_balance');
    await stack.grant(u, 7);
    const all = await events(u.id, 0, 2);
    assert.deepEqual(all.map((e) => e.type), ['credits.granted', 'credits.debited', 'credits.granted']);
    assertGapless(all, 'feed');
    const e = all[1];
    assert.match(e.id, /^evt_/);
    assert.equal(e.object, 'event');
    assert.equal(e.account, u.id);
    assert.equal(typeof e.created, 'number');
    assert.equal(e.data.amount, -200);
    assert.equal(e.data.balance_after, 300);
    assert.match(e.data.transaction_id, /^txn_/);
    const after = expectStatus(await stack.asServer(u.id, 'GET', '/v1/events?after=2'), 200);
    assert.deepEqual(after.data.map((x) => x.sequence), [3]);
    assert.equal(after.has_more, false);
    expectError(await stack.asServer(u.id, 'GET', '/v1/events?after=-1'), 400, 'invalid_param');
    expectError(await stack.asServer(u.id, 'GET', '/v1/events?limit=101'), 400, 'invalid_param');
    // server key + Creditd-Account only
    expectError(await stack.api('GET', '/v1/events', { token: u.token }), 403, 'forbidden');
    // another account sees its own
    const v = await stack.signup();
    assert.deepEqual(await events(v.id), []);
});

e2e('a purchase and its refund: order.completed, credits.granted, refund.applied, credits.debited in one sequence', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    expectStatus(await stack.admin('POST', `/v1/admin/orders/${co.order_id}/refund`, { body: { amount_cents: 400 } }), 202);
    await waitFor(async () => (await events(u.id)).some((e) => e.type === 'refund.applied'), 10000, { what: 'refund.applied' });
    const all = await events(u.id);
    assertGapless(all, 'purchase');
    const types = all.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ['credits.granted', 'order.completed']);
    assert.ok(types.includes('credits.debited'), types.join());
    const oc = all.find((e) => e.type === 'order.completed');
    assert.equal(oc.data.order.id, co.order_id);
    assert.equal(oc.data.order.status, 'completed');
    assert.equal(oc.data.order.credits, 1000);
    const ra = all.find((e) => e.type === 'refund.applied');
    assert.equal(ra.data.amount_cents, 400);
    assert.equal(ra.data.order.id, co.order_id);
    await verifyLedger();
});

e2e('a dispute opened and won, a declined off-session top-up, a subscription: dispute.*, payment.failed once, subscription.updated', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 }, '4000000000000341'); // saved; declines off-session
    const sess = await stack.getSession(co.session_id);
    const ch = expectStatus(await stack.stripe('GET', `/v1/payment_intents/${sess.payment_intent}`), 200).latest_charge;
    const dispute = (body) => httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${ch}/dispute`, { body });
    const d = expectStatus(await dispute({}), 200);
    await waitFor(async () => (await events(u.id)).some((e) => e.type === 'dispute.opened'), 10000, { what: 'dispute.opened' });
    expectStatus(await dispute({ status: 'won' }), 200);
    await waitFor(async () => (await events(u.id)).some((e) => e.type === 'dispute.closed'), 10000, { what: 'dispute.closed' });
    let all = await events(u.id);
    const opened = all.find((e) => e.type === 'dispute.opened');
    assert.equal(opened.data.dispute_id, d.id);
    assert.equal(opened.data.order.id, co.order_id);
    assert.equal(all.find((e) => e.type === 'dispute.closed').data.status, 'won');

    await waitFor(async () => expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200).has_saved_payment_method === true, 10000, { what: 'card saved' });
    expectError(await stack.api('POST', '/v1/topups', { token: u.token, body: { amount_cents: 2000 } }), 402, 'card_declined');
    await waitFor(async () => (await events(u.id)).some((e) => e.type === 'payment.failed'), 10000, { what: 'payment.failed' });
    // payment_intent.payment_failed arrives too: still one event
    const orders = await stack.list(u, '/v1/orders');
    const failed = orders.find((o) => o.status === 'failed');
    await waitFor(async () => {
        const r = await stack.stripe('GET', `/v1/events?limit=100`);
        return r.json.data.some((e) => e.type === 'payment_intent.payment_failed' && e.data.object.id === failed.stripe_payment_intent_id);
    }, 10000, { what: 'payment_intent.payment_failed sent' });
    expectStatus(await stack.admin('POST', '/v1/admin/reconcile'), 200);
    all = await events(u.id);
    const pf = all.filter((e) => e.type === 'payment.failed');
    assert.equal(pf.length, 1, JSON.stringify(pf));
    assert.equal(pf[0].data.order.id, failed.id);
    assert.match(pf[0].data.order.failure_reason, /decline/);
    assertGapless(all, 'dispute and decline');

    const cfg = await stack.config();
    assert.ok(cfg.plans.length > 0, 'the default catalog has plans');
    {
        const s = await stack.signup();
        const sc = await stack.checkout(s, { kind: 'subscription', plan_id: cfg.plans[0].id });
        expectStatus(await stack.completeSession(sc.session_id), 200);
        await waitFor(async () => (await events(s.id)).some((e) => e.type === 'subscription.updated' && e.data.status === 'active'), 10000, { what: 'subscription.updated' });
        // checkout.session.completed (order.completed) and the subscription's
        // own events come as separate webhooks, in any order
        await waitFor(async () => (await events(s.id)).some((e) => e.type === 'order.completed'), 10000, { what: 'order.completed' });
        assert.equal((await events(s.id)).filter((e) => e.type === 'order.completed').length, 1);
        // the buyer cancels at period end: one more subscription.updated
        expectStatus(await stack.api('POST', '/v1/subscription/cancel', { token: s.token }), 200);
        await waitFor(async () => (await events(s.id)).some((e) => e.type === 'subscription.updated' && e.data.cancel_at_period_end === true), 10000, { what: 'subscription.updated (cancel)' });
        // a re-read that finds nothing new writes no event
        const n = (await events(s.id)).length;
        expectStatus(await stack.admin('POST', '/v1/admin/reconcile'), 200);
        const subs = (await events(s.id)).filter((e) => e.type === 'subscription.updated');
        const keys = subs.map((e) => JSON.stringify(e.data));
        assert.equal(new Set(keys).size, keys.length, `no repeated subscription.updated: ${keys.join(' | ')}`);
        assert.ok((await events(s.id)).length >= n);
        assertGapless(await events(s.id), 'subscription');
    }
    await verifyLedger();
});

e2e('balance alerts: balance.low crossing down, balance.recovered crossing up, once per crossing; bounds', async () => {
    const u = await stack.signup();
    const put = (thresholds) => stack.asServer(u.id, 'PUT', '/v1/balance_alerts', { body: { thresholds } });
    expectError(await put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 400, 'invalid_param');
    expectError(await put([-1]), 400, 'invalid_param');
    expectError(await put(['5']), 400, 'invalid_param');
    expectError(await put([1e13]), 400, 'invalid_param');
    assert.deepEqual(expectStatus(await put([100, 50]), 200), { thresholds: [50, 100] });
    assert.deepEqual(expectStatus(await stack.api('GET', '/v1/balance_alerts', { token: u.token }), 200), { thresholds: [50, 100] });

    const debit = (amount) => stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount } });
    await stack.grant(u, 150); // 0 -> 150: up across 50 and 100
    expectStatus(await debit(60), 201); // 150 -> 90: down across 100
    expectStatus(await debit(5), 201); // 90 -> 85: nothing
    expectStatus(await debit(45), 201); // 85 -> 40: down across 50
    expectStatus(await debit(40), 201); // 40 -> 0: nothing
    await stack.grant(u, 100); // 0 -> 100: up across 50 and 100
    const alerts = (await events(u.id)).filter((e) => e.type.startsWith('balance.'));
    assert.deepEqual(
        alerts.map((e) => [e.type, e.data.threshold, e.data.balance_before, e.data.balance_after]),
        [
            ['balance.recovered', 50, 0, 150],
            ['balance.recovered', 100, 0, 150],
            ['balance.low', 100, 150, 90],
            ['balance.low', 50, 85, 40],
            ['balance.recovered', 50, 0, 100],
            ['balance.recovered', 100, 0, 100],
        ],
    );
    assertGapless(await events(u.id), 'alerts');
    assert.deepEqual(expectStatus(await put([]), 200), { thresholds: [] });
});

e2e('webhook endpoints: create (secret once), list, get, update, validation, delete', async () => {
    const bad = [
        [{ url: 'ftp://127.0.0.1/x' }, 'url'],
        [{ url: 'http://' }, 'url'],
        [{ url: `http://127.0.0.1/${'a'.repeat(1100)}` }, 'url'],
        [{ url: 'http://127.0.0.1/x y' }, 'url'],
        [{ url: 'http://127.0.0.1/x', enabled_events: ['credits.granted', 'nope'] }, 'enabled_events'],
        [{ url: 'http://127.0.0.1/x', enabled_events: [] }, 'enabled_events'],
    ];
    for (const [body, param] of bad) {
        const e = expectError(await stack.admin('POST', '/v1/admin/webhook_endpoints', { body }), 400, 'invalid_param', JSON.stringify(body).slice(0, 80));
        assert.equal(e.param, param);
    }
    expectError(await stack.admin('POST', '/v1/admin/webhook_endpoints', { body: {} }), 400, 'missing_param');
    const w = await createEndpoint({ url: 'http://127.0.0.1:9/hook', description: 'app', enabled_events: ['balance.low', 'order.completed'] });
    assert.match(w.id, /^we_/);
    assert.match(w.secret, /^whsec_/);
    assert.deepEqual(w.enabled_events, ['balance.low', 'order.completed']);
    assert.equal(w.status, 'enabled');
    const g = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    assert.equal(g.secret, undefined);
    assert.equal(g.url, 'http://127.0.0.1:9/hook');
    const l = expectStatus(await stack.admin('GET', '/v1/admin/webhook_endpoints'), 200);
    assert.ok(l.data.some((x) => x.id === w.id));
    const up = expectStatus(await stack.admin('POST', `/v1/admin/webhook_endpoints/${w.id}`, { body: { enabled: false, enabled_events: ['*'] } }), 200);
    assert.equal(up.status, 'disabled');
    assert.deepEqual(up.enabled_events, ['*']);
    expectStatus(await stack.admin('DELETE', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    expectError(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}`), 404, 'not_found');
    expectError(await stack.admin('POST', `/v1/admin/webhook_endpoints/${w.id}/rotate_secret`), 404, 'not_found');
    // accounts cannot reach them
    const u = await stack.signup();
    expectError(await stack.api('GET', '/v1/admin/webhook_endpoints', { token: u.token }), 403, 'forbidden');
});

e2e('chaos: a receiver failing at random gets every event at least once, in sequence, signed; rotation; replay', async () => {
    const rx = await new Receiver().start();
    try {
        const w = await createEndpoint({ url: rx.url });
        rx.secrets = [w.secret];
        rx.chaos = 0.4;
        const users = [await stack.signup(), await stack.signup(), await stack.signup()];
        const ops = [];
        for (const u of users) {
            ops.push((async () => {
                await stack.grant(u, 1000);
                for (let i = 0; i < 15; i++) {
                    const r = await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 10 + i } });
                    expectStatus(r, 201);
                }
            })());
        }
        await Promise.all(ops);
        await waitFor(() => rx.faults[500] + rx.faults.hang + rx.faults.reset >= 10, 20000, { what: 'some faults' });
        rx.chaos = 0;
        for (const u of users) {
            const feed = await events(u.id);
            assert.equal(feed.length, 16);
            assertGapless(feed, 'feed');
            await waitFor(() => new Set(rx.of(u.id).map((e) => e.sequence)).size === feed.length, 30000, {
                what: `all ${feed.length} events of ${u.id} delivered (have ${new Set(rx.of(u.id).map((e) => e.sequence)).size})`,
            });
            // first arrivals in sequence order; ids and bodies match the feed
            const first = [];
            for (const e of rx.of(u.id)) if (!first.includes(e.sequence)) first.push(e.sequence);
            assert.deepEqual(first, feed.map((e) => e.sequence), 'per-account order');
            for (const e of rx.of(u.id)) assert.deepEqual(e, feed[e.sequence - 1]);
        }
        assert.deepEqual(rx.bad, []);
        await verifyLedger();

        // The receiver takes an event before it answers; the sender marks
        // the delivery once it has the answer: wait for the last ones.
        const dl = await waitFor(async () => {
            const x = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}/deliveries?limit=100`), 200);
            return x.data.every((d) => d.status === 'delivered') && x;
        }, 10000, { what: 'every delivery marked delivered' });
        assert.equal(dl.data.length, 48);
        assert.ok(dl.data.every((d) => d.status === 'delivered'), JSON.stringify(dl.data.find((d) => d.status !== 'delivered')));
        assert.ok(dl.data.some((d) => d.attempts > 1), 'some deliveries were retried');

        // Rotation: the new secret signs, and the old one alongside it.
        const rot = expectStatus(await stack.admin('POST', `/v1/admin/webhook_endpoints/${w.id}/rotate_secret`, { body: { expires_in: 3600 } }), 200);
        assert.notEqual(rot.secret, w.secret);
        assert.ok(rot.previous_secret_expires_at);
        rx.headers = [];
        rx.secrets = [rot.secret];
        const n0 = rx.got.length;
        await stack.grant(users[0], 1);
        await waitFor(() => rx.got.length > n0, 10000, { what: 'delivery after rotation' });
        assert.equal(rx.headers[0].match(/v1=/g).length, 2, rx.headers[0]);
        const last = rx.got[rx.got.length - 1];
        const body = JSON.stringify(last);
        // both secrets verify the header of that delivery (recomputed here)
        for (const s of [rot.secret, w.secret]) {
            const h = stripe.webhooks.generateTestHeaderString({ payload: body, secret: s });
            assert.ok(stripe.webhooks.constructEvent(body, h, s));
        }
        rx.secrets = [w.secret]; // the old secret alone still verifies during the window
        const n1 = rx.got.length;
        await stack.grant(users[0], 1);
        await waitFor(() => rx.got.length > n1, 10000, { what: 'delivery verified with the old secret' });
        rx.secrets = [rot.secret];

        // Replay: two events by id, then a range of one account.
        const feed0 = await events(users[1].id);
        const n2 = rx.got.length;
        const r1 = expectStatus(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: w.id, event_ids: [feed0[0].id, feed0[3].id] } }), 200);
        assert.equal(r1.replayed, 2);
        await waitFor(() => rx.got.length >= n2 + 2, 10000, { what: 'replayed by id' });
        assert.deepEqual(rx.got.slice(n2).map((e) => e.id), [feed0[0].id, feed0[3].id]);
        const n3 = rx.got.length;
        const r2 = expectStatus(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: w.id, account: users[1].id, from_seq: 10, to_seq: 12 } }), 200);
        assert.equal(r2.replayed, 3);
        await waitFor(() => rx.got.length >= n3 + 3, 10000, { what: 'replayed range' });
        assert.deepEqual(rx.got.slice(n3).map((e) => e.sequence), [10, 11, 12]);
        expectError(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: w.id, event_ids: ['evt_nope'] } }), 404, 'not_found');
        expectError(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: 'we_nope', event_ids: [feed0[0].id] } }), 404, 'not_found');
        expectError(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: w.id } }), 400, 'missing_param');
        expectStatus(await stack.admin('DELETE', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    } finally {
        await rx.stop();
    }
}, { timeout: 120000 });

e2e('two nodes on one PostgreSQL: debits spread over both, one sender at a time, every event delivered once in order, no gaps', async () => {
    const b = new Stack({
        sandbox: false,
        serverEnv: {
            ...stack.opts.serverEnv,
            CREDITD_DB: stack.dbPath,
            STRIPE_API_BASE: stack.sandboxUrl,
            STRIPE_SECRET_KEY: stack.stripeKey,
            STRIPE_PUBLISHABLE_KEY: stack.publishableKey,
            STRIPE_WEBHOOK_SECRET: stack.webhookSecret,
            CREDITD_ADMIN_KEY: stack.adminKey,
        },
    });
    b.adminKey = stack.adminKey;
    await b.start();
    const rx = await new Receiver().start();
    try {
        const w = await createEndpoint({ url: rx.url });
        rx.secrets = [w.secret];
        rx.chaos = 0.2;
        const users = [await stack.signup(), await stack.signup()];
        await Promise.all(users.map((u) => stack.grant(u, 10000)));
        const ops = [];
        for (let i = 0; i < 40; i++) {
            const node = i % 2 ? b : stack;
            ops.push(node.asServer(users[i % 4 < 2 ? 0 : 1].id, 'POST', '/v1/debits', { body: { amount: 1 + i } }));
        }
        for (const r of await Promise.all(ops)) expectStatus(r, 201);
        rx.chaos = 0;
        for (const u of users) {
            const feed = await events(u.id);
            assert.equal(feed.length, 21);
            assertGapless(feed, 'two nodes');
            await waitFor(() => new Set(rx.of(u.id).map((e) => e.sequence)).size === feed.length, 30000, { what: `all events of ${u.id}` });
            const first = [];
            for (const e of rx.of(u.id)) if (!first.includes(e.sequence)) first.push(e.sequence);
            assert.deepEqual(first, feed.map((e) => e.sequence), 'per-account order across nodes');
        }
        assert.deepEqual(rx.bad, []);
        await verifyLedger();
        expectStatus(await stack.admin('DELETE', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    } finally {
        await rx.stop();
        const reports = await b.stop();
        assert.equal(reports || '', '', 'sanitizer reports of the second node');
    }
}, { timeout: 120000, skip: process.env.CD_E2E_PG_URL ? false : 'needs CD_E2E_PG_URL (two nodes on one PostgreSQL)' });

e2e('an endpoint failing past the disable span is disabled, logged and listed as a problem (test clock)', async () => {
    const dead = await freePort();
    const w = await createEndpoint({ url: `http://127.0.0.1:${dead}/hook` });
    const u = await stack.signup();
    await stack.grant(u, 5);
    await waitFor(async () => {
        const d = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}/deliveries`), 200).data;
        return d.length === 1 && d[0].attempts >= 1;
    }, 10000, { what: 'a failed attempt' });
    let g = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    assert.equal(g.status, 'enabled');
    assert.ok(g.failing_since, 'failing_since set');
    // Eleven minutes later (past CREDITD_EVENTS_DISABLE_AFTER=600 and the
    // retry window), the next attempt gives up and disables the endpoint.
    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = '660';
    await stack.restartServer({ graceful: true });
    await waitFor(async () => expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}`), 200).status === 'disabled', 10000, { what: 'disabled' });
    g = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}`), 200);
    assert.equal(g.disabled_reason, 'failing for too long');
    const d = expectStatus(await stack.admin('GET', `/v1/admin/webhook_endpoints/${w.id}/deliveries`), 200).data;
    assert.equal(d[0].status, 'failed');
    const p = expectStatus(await stack.admin('GET', '/v1/admin/problems'), 200);
    assert.ok(p.data.some((x) => x.kind === 'endpoint_disabled' && x.detail.includes(w.id)), JSON.stringify(p.data));
    // Enabled again by the operator, and replayed, it delivers (a live receiver now).
    const rx = await new Receiver().start();
    try {
        rx.secrets = [w.secret];
        const up = expectStatus(await stack.admin('POST', `/v1/admin/webhook_endpoints/${w.id}`, { body: { enabled: true, url: rx.url } }), 200);
        assert.equal(up.status, 'enabled');
        assert.equal(up.failing_since, null);
        expectStatus(await stack.admin('POST', '/v1/admin/events/replay', { body: { endpoint: w.id, account: u.id, from_seq: 1 } }), 200);
        await waitFor(() => rx.got.length === 1, 10000, { what: 'delivered after re-enabling' });
        assert.equal(rx.got[0].type, 'credits.granted');
    } finally {
        await rx.stop();
    }
    await verifyLedger();
});
