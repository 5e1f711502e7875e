// logs.test.mjs - CREDITD_LOG_FORMAT=json: every line of a full run (sign
// up, checkout, the sandbox's webhooks, an admin call, mail) is one JSON
// object with time, level, component and message; access lines carry
// method, route, status, us and request_id; the Stripe client's lines for
// a call made while handling a request carry that request's id. And no
// configured secret (server key, webhook secret, Stripe key, SMTP
// password) appears anywhere in the log. Background runs (reconciliation,
// the mail sender) log under a job_id of their own per run, with their
// Stripe calls; lines logged inside a store job carry the id of the
// request or run that queued it (the receipt queued by a webhook, or by
// a reconciliation run that applied the event first).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after } from 'node:test';
import { useStack, e2e, waitFor, expectStatus } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const sink = new SmtpSink();
await sink.start();
after(() => sink.stop());
const SMTP_PASSWORD = `smtp-pw-${Date.now()}-secret`;
const stack = useStack({
    serverEnv: {
        CREDITD_LOG_FORMAT: 'json',
        CREDITD_SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${sink.port}`,
        CREDITD_MAIL_FROM: 'billing@example.test',
        CREDITD_MAIL_POLL_MS: '100',
        CREDITD_RECONCILE_INTERVAL: '1',
    },
});

const parsed = () => lines().map((l) => JSON.parse(l));

function lines() {
    // The harness's own '==== start' markers are not the server's lines.
    return fs.readFileSync(stack.server.logFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('==== '));
}

e2e('a full run in JSON logs: one object per line, request ids, no secret', async () => {
    const u = await stack.signup();
    const cfg = await stack.config();
    const co = await stack.buy(u, { kind: 'package', package_id: cfg.packages[0].id });
    expectStatus(await stack.admin('GET', `/v1/admin/accounts/${u.account.id}`), 200);
    await waitFor(() => lines().some((l) => l.includes('"route":"/v1/webhooks/stripe"')), 10000,
        { what: 'a webhook access line' });

    const objs = lines().map((l) => {
        try {
            return JSON.parse(l);
        } catch {
            // libc or sanitizer output is not ours to format
            assert.fail(`not a JSON line: ${l}`);
        }
    });
    for (const o of objs) {
        assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), o.level);
        assert.equal(typeof o.component, 'string');
        assert.equal(typeof o.message, 'string');
    }
    const access = objs.filter((o) => o.route !== undefined);
    assert.ok(access.length > 3);
    for (const a of access) {
        assert.equal(typeof a.method, 'string');
        assert.equal(typeof a.status, 'number');
        assert.equal(typeof a.us, 'number');
        assert.match(a.request_id, /^req_/);
        assert.notEqual(a.route, '-');
    }
    const checkout = access.find((a) => a.method === 'POST' && a.route === '/v1/checkout' && a.status === 200)
        || access.find((a) => a.method === 'POST' && a.route.startsWith('/v1/checkout'));
    assert.ok(checkout, 'a checkout access line');
    const stripeLines = objs.filter((o) => o.component === 'stripe' && o.request_id === checkout.request_id);
    assert.ok(stripeLines.length > 0, `Stripe client lines carry ${checkout.request_id}`);
    const hooks = new Set(access.filter((a) => a.route === '/v1/webhooks/stripe').map((a) => a.request_id));
    assert.ok(objs.some((o) => o.route === undefined && o.component !== 'api' && hooks.has(o.request_id)),
        'the webhook handling logs under its request id');
    assert.ok(co.order_id);

    const text = fs.readFileSync(stack.server.logFile, 'utf8');
    for (const [name, secret] of [
        ['server key', stack.adminKey],
        ['webhook secret', stack.webhookSecret],
        ['Stripe key', stack.stripeKey],
        ['SMTP password', SMTP_PASSWORD],
    ]) assert.ok(!text.includes(secret), `the ${name} is in the log`);
});

e2e('background runs log under a job id per run; store jobs log under their caller\'s id', async () => {
    const u = await stack.signup();
    const cfg = await stack.config();
    await stack.buy(u, { kind: 'package', package_id: cfg.packages[0].id });
    const runsDone = (objs) => objs.filter((o) => o.component === 'reconcile' && /^events seen/.test(o.message));
    await waitFor(() => runsDone(parsed()).length >= 2 && parsed().some((o) => o.component === 'mail' && / sent \(/.test(o.message)),
        20000, { what: 'two reconciliation runs and a sent receipt' });
    const objs = parsed();
    const JOB = /^job_[0-9A-Za-z]{24}$/;

    const runs = runsDone(objs);
    for (const r of runs) {
        assert.match(r.job_id, JOB, r.message);
        assert.equal(r.request_id, undefined);
    }
    assert.equal(new Set(runs.map((r) => r.job_id)).size, runs.length, 'a fresh id per run');
    const run = runs[0].job_id;
    assert.ok(objs.some((o) => o.component === 'stripe' && o.job_id === run && /\/v1\/events/.test(o.message)),
        `the run's Stripe call logs under ${run}`);
    for (const o of objs.filter((x) => x.component === 'reconcile'))
        assert.ok(o.job_id || o.request_id, `a reconcile line without an id: ${o.message}`);

    const sent = objs.find((o) => o.component === 'mail' && / sent \(/.test(o.message));
    assert.match(sent.job_id, JOB);
    const hooks = new Set(objs.filter((o) => o.route === '/v1/webhooks/stripe').map((o) => o.request_id));
    const queued = objs.filter((o) => o.component === 'mail' && /receipt .* queued/.test(o.message));
    assert.ok(queued.length > 0, 'a receipt queued (debug line, logged by the store\'s writer thread)');
    // With a reconciliation run every second, a run may fetch the event
    // from Stripe and credit the order before the sandbox's webhook lands:
    // then the receipt is queued by that run, under the run's job id.
    const runIds = new Set(objs.filter((o) => (o.component === 'reconcile' || o.component === 'stripe') && o.job_id).map((o) => o.job_id));
    for (const q of queued) {
        assert.ok(hooks.has(q.request_id) || runIds.has(q.job_id),
            `queued under its webhook's request id or its reconciliation run's job id: ${JSON.stringify(q)}`);
    }
}, { timeout: 60000 });
