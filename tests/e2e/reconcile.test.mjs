// reconcile.test.mjs - catch-up with Stripe when webhooks never arrive:
// POST /v1/admin/reconcile reads the sandbox's events and fulfils (or
// expires) exactly once, a second run changes nothing, a late webhook is a
// duplicate; the background job does the same on its own; GET /metrics
// (server key, or the open loopback listener) shows requests, webhooks,
// Stripe calls, group commits and the ledger check.
//
// The sandbox here delivers webhooks nowhere (SANDBOX_WEBHOOK_URL unset),
// so creditd learns of a payment only through reconciliation.

import assert from 'node:assert/strict';
import {
    useStack, e2e, Stack, waitFor, rand, expectError, expectStatus,
    runCreditd, freePort, httpRequest, CARD_OK,
} from './harness.mjs';

const stack = useStack({ sandboxEnv: { SANDBOX_WEBHOOK_URL: null } });

const TOPUP = { kind: 'topup', amount_cents: 2000 };

/** A checkout paid in the sandbox that creditd has not heard of. */
async function paidUndelivered(s = stack) {
    const user = await s.signup();
    const co = await s.checkout(user, TOPUP);
    expectStatus(await s.completeSession(co.session_id, CARD_OK), 200);
    // No wait needed: this stack's sandbox has no webhook URL at all.
    assert.equal(await s.balance(user), 0, 'no webhook reached creditd');
    assert.equal((await s.order(user, co.order_id)).status, 'pending');
    return { user, co };
}

async function transactionsFor(user, orderId) {
    return (await stack.list(user, '/v1/transactions')).filter((t) => t.order_id === orderId);
}

function reconcile(opts = {}) {
    return stack.admin('POST', '/v1/admin/reconcile', { body: {}, ...opts });
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

e2e('a paid checkout whose webhook never came: reconcile fulfils it once; a second run applies nothing', async () => {
    const { user, co } = await paidUndelivered();

    const r1 = expectStatus(await reconcile(), 200);
    assert.deepEqual(Object.keys(r1).sort(), ['events_applied', 'events_seen', 'orders_checked', 'orders_fixed']);
    assert.equal(r1.events_applied, 1, JSON.stringify(r1));
    assert.ok(r1.events_seen >= 1, JSON.stringify(r1));
    assert.equal(await stack.balance(user), co.credits);
    const order = await stack.order(user, co.order_id);
    assert.equal(order.status, 'completed');
    const st = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: user.token }), 200);
    assert.equal(st.fulfilled, true);
    const pays = (await stack.list(user, '/v1/payments')).filter((p) => p.order_id === co.order_id);
    assert.equal(pays.length, 1);
    assert.equal(pays[0].status, 'succeeded');

    const r2 = expectStatus(await reconcile(), 200);
    assert.deepEqual(r2, { events_seen: 0, events_applied: 0, orders_checked: 0, orders_fixed: 0 });
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
    await ledgerOk();
});

e2e('only new events are read: two more payments, one run, each credited once', async () => {
    const a = await paidUndelivered();
    const b = await paidUndelivered();
    const r = expectStatus(await reconcile(), 200);
    assert.equal(r.events_applied, 2, JSON.stringify(r));
    // Two checkout.session.completed plus the two payment_intent.succeeded
    // of those Checkout payments (listed, but Checkout's to fulfil).
    assert.equal(r.events_seen, 4, JSON.stringify(r));
    assert.equal(await stack.balance(a.user), a.co.credits);
    assert.equal(await stack.balance(b.user), b.co.credits);
    await ledgerOk();
});

e2e('an expired session is reconciled to an expired order, no credit', async () => {
    const user = await stack.signup();
    const co = await stack.checkout(user, TOPUP);
    expectStatus(await stack.expireSession(co.session_id), 200);
    // The sandbox delivers no webhook here (no URL): nothing to wait for.
    assert.equal((await stack.order(user, co.order_id)).status, 'pending');
    const r = expectStatus(await reconcile(), 200);
    assert.equal(r.events_applied, 1, JSON.stringify(r));
    assert.equal((await stack.order(user, co.order_id)).status, 'expired');
    assert.equal(await stack.balance(user), 0);
});

e2e('the webhook arriving after reconciliation is a duplicate and credits nothing', async () => {
    const { user, co } = await paidUndelivered();
    expectStatus(await reconcile(), 200);
    assert.equal(await stack.balance(user), co.credits);
    const list = await stack.stripe('GET', '/v1/events?type=checkout.session.completed&limit=100');
    assert.equal(list.status, 200, list.text);
    const ev = list.json.data.find((e) => e.data.object.id === co.session_id);
    assert.ok(ev, 'the sandbox has the event');
    const w = await stack.sendWebhook(ev);
    assert.equal(w.status, 200, w.text);
    assert.deepEqual(w.json, { received: true, status: 'duplicate' });
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
});

e2e('POST /v1/admin/reconcile with an Idempotency-Key replays the first answer', async () => {
    const key = `rec-${rand(6)}`;
    const a = await reconcile({ idem: key });
    assert.equal(a.status, 200, a.text);
    const b = await reconcile({ idem: key });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.deepEqual(b.json, a.json);
});

e2e('GET /metrics: requests by route, webhooks by type and outcome, Stripe calls, group commits, ledger check', async () => {
    expectError(await stack.api('GET', '/metrics'), 401);
    const u = await stack.signup();
    expectError(await stack.api('GET', '/metrics', { token: u.token }), 403);
    // One webhook outcome we know: a signed event of a type creditd ignores.
    const w = await stack.sendWebhook({
        id: `evt_e2e_${rand(8)}`, object: 'event', type: 'customer.created', created: Math.floor(Date.now() / 1000),
        data: { object: { id: `cus_${rand(6)}`, object: 'customer' } },
    });
    assert.equal(w.status, 200, w.text);
    expectError(await stack.sendWebhook('{}', { signature: 't=1,v1=00' }), 400);
    expectStatus(await reconcile(), 200);

    const r = await stack.api('GET', '/metrics', { key: true });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const t = r.text;
    assert.match(t, /^# TYPE creditd_http_requests_total counter$/m);
    assert.match(t, /^creditd_http_requests_total\{route="\/v1\/admin\/reconcile",method="POST",status="200"\} \d+$/m);
    assert.match(t, /^creditd_http_requests_total\{route="\/metrics",method="GET",status="401"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_http_request_duration_seconds_bucket\{route="\/v1\/auth\/signup",le="\+Inf"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_webhook_events_total\{type="customer\.created",outcome="ignored"\} 1$/m);
    assert.match(t, /^creditd_webhook_events_total\{type="unknown",outcome="error"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_webhook_events_total\{type="checkout\.session\.completed",outcome="duplicate"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_stripe_requests_total\{method="GET",outcome="ok"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_stripe_requests_total\{method="POST",outcome="ok"\} [1-9]\d*$/m);
    assert.match(t, /^# TYPE creditd_store_batch_size histogram$/m);
    assert.match(t, /^creditd_store_batch_size_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    assert.match(t, /^creditd_store_batch_size_count [1-9]\d*$/m);
    assert.match(t, /^creditd_ledger_ok 1$/m);
    assert.match(t, /^creditd_reconcile_runs_total\{outcome="ok"\} [1-9]\d*$/m);
    // When reconciliation last ran (and last succeeded): the admin console's dashboard shows it.
    const lastRun = Number(/^creditd_reconcile_last_run_timestamp_seconds (\d+)$/m.exec(t)?.[1]);
    const lastOk = Number(/^creditd_reconcile_last_success_timestamp_seconds (\d+)$/m.exec(t)?.[1]);
    assert.ok(Math.abs(lastRun - Date.now() / 1000) < 600, `last run time: ${lastRun}`);
    assert.ok(lastOk > 0 && lastOk <= lastRun, `last success time: ${lastOk}`);
    assert.ok(!t.includes(stack.adminKey) && !t.includes(stack.webhookSecret) && !t.includes(stack.stripeKey),
        'no secret in metrics');
    // Every sample line belongs to a family announced with # TYPE.
    const typed = new Set([...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const line of t.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)[0];
        const fam = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(typed.has(name) || typed.has(fam), `untyped sample: ${line}`);
    }
});

e2e('without a Stripe key: POST /v1/admin/reconcile is 503 stripe_not_configured', async () => {
    const bare = new Stack({ sandbox: false, stripeSecret: false });
    try {
        await bare.start();
        const r = await bare.admin('POST', '/v1/admin/reconcile', { body: {} });
        expectError(r, 503, 'stripe_not_configured');
    } finally {
        await bare.stop();
    }
});

e2e('Stripe unreachable: POST /v1/admin/reconcile is 502 stripe_error', async () => {
    const down = new Stack({ sandbox: false });
    try {
        await down.start();
        expectError(await down.admin('POST', '/v1/admin/reconcile', { body: {} }), 502, 'stripe_error');
    } finally {
        await down.stop();
    }
});

e2e('the background job reconciles on its own; the loopback metrics listener needs no key; SIGTERM stops promptly', async () => {
    const mport = await freePort();
    const bg = new Stack({
        sandboxEnv: { SANDBOX_WEBHOOK_URL: null },
        serverEnv: { CREDITD_RECONCILE_INTERVAL: 1, CREDITD_METRICS_LISTEN: `127.0.0.1:${mport}` },
    });
    try {
        await bg.start();
        const user = await bg.signup();
        const co = await bg.checkout(user, TOPUP);
        expectStatus(await bg.completeSession(co.session_id, CARD_OK), 200);
        await bg.waitFulfilled(user, co.session_id, 15000);
        assert.equal(await bg.balance(user), co.credits);
        // Two more runs of the job (counted by its metric): still once.
        const runs = async () => {
            const r = await httpRequest('GET', `http://127.0.0.1:${mport}/metrics`);
            const x = r.text.match(/^creditd_jobs_runs_total\{job="reconcile",outcome="ok"\} (\d+)$/m);
            return x ? Number(x[1]) : 0;
        };
        const seen = await runs();
        await waitFor(async () => (await runs()) >= seen + 2, 15000, { what: 'two more reconcile runs' });
        assert.equal(await bg.balance(user), co.credits);

        const m = await httpRequest('GET', `http://127.0.0.1:${mport}/metrics`);
        assert.equal(m.status, 200, m.text.slice(0, 200));
        assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        assert.match(m.text, /^creditd_jobs_runs_total\{job="reconcile",outcome="ok"\} [1-9]\d*$/m);
        assert.match(m.text, /^creditd_reconcile_events_applied_total 1$/m);
        assert.match(m.text, /^creditd_ledger_ok 1$/m);
        // Only /metrics lives there.
        const other = await httpRequest('GET', `http://127.0.0.1:${mport}/v1/admin/accounts`);
        assert.equal(other.status, 404);

        const t0 = Date.now();
        const ex = await bg.server.stop('SIGTERM', 20000);
        assert.equal(ex.code, 0, `exit ${JSON.stringify(ex)}`);
        // Promptly: 10 x the job's 1 s interval, for a loaded machine.
        assert.ok(Date.now() - t0 < 10 * 1000, `stopped in ${Date.now() - t0} ms`);
    } finally {
        await bg.stop();
    }
}, { timeout: 90000 });

e2e('CREDITD_METRICS_LISTEN must be loopback; CREDITD_RECONCILE_INTERVAL must be 0..86400', async () => {
    const port = await freePort();
    const good = {
        CREDITD_LISTEN: `127.0.0.1:${port}`,
        CREDITD_DB: ':memory:',
        CREDITD_ADMIN_KEY: `cdk_e2e_${rand(16)}`,
    };
    for (const [name, value] of [
        ['CREDITD_METRICS_LISTEN', '0.0.0.0:9464'],
        ['CREDITD_METRICS_LISTEN', '10.1.2.3:9464'],
        ['CREDITD_METRICS_LISTEN', ':9464'],
        ['CREDITD_RECONCILE_INTERVAL', '-1'],
        ['CREDITD_RECONCILE_INTERVAL', 'often'],
    ]) {
        const r = await runCreditd(['serve'], { ...good, [name]: value }, { timeoutMs: 8000 });
        assert.notEqual(r.signal, 'timeout', `${name}=${value}: the server started anyway`);
        assert.notEqual(r.code, 0, `${name}=${value}: exit status`);
        assert.ok(r.output.includes(name), `${name}=${value}: message names the variable:\n${r.output.slice(-500)}`);
    }
}, { timeout: 90000 });
