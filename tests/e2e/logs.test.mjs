// logs.test.mjs - CREDITD_LOG_FORMAT=json: every line of a full run (sign
// up, checkout, the sandbox's webhooks, an admin call, mail) is one JSON
// object with time, level, component and message; access lines carry
// method, route, status, us and request_id; the Stripe client's lines for
// a call made while handling a request carry that request's id. And no
// configured secret (server key, webhook secret, Stripe key, SMTP
// password) appears anywhere in the log.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useStack, e2e, waitFor, expectStatus } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const sink = new SmtpSink();
await sink.start();
const SMTP_PASSWORD = `smtp-pw-${Date.now()}-secret`;
const stack = useStack({
    serverEnv: {
        CREDITD_LOG_FORMAT: 'json',
        CREDITD_SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${sink.port}`,
        CREDITD_MAIL_FROM: 'billing@example.test',
        CREDITD_MAIL_POLL_MS: '100',
    },
});

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
    await sink.stop();
});
