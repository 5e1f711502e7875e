// idempotency.test.mjs - Idempotency-Key claims between processes. Two
// creditd processes share one database (as a restarted process does with
// its predecessor's rows, or several nodes do). A claim held by a live
// process - node A waiting for Stripe - is never taken over: node B is
// told the request is in progress. A claim whose process died is taken
// over once its lease ends, and the retry names the same order, so Stripe
// is asked again under the same Idempotency-Key (no second charge).
//
// Stripe here is a tiny fake on loopback that can hold a POST
// /v1/checkout/sessions until the test releases it, so A is
// deterministically "still running" while B tries.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';
import { Stack, e2e, waitFor, expectStatus, expectError, sleep } from './harness.mjs';

const LEASE_MS = 2000;

/** Fake Stripe: answers checkout sessions; holds the first until released. */
class SlowStripe {
    constructor() {
        this.n = 0;
        this.held = null;
        this.hold = true; /* hold the next session POST */
        this.keys = [];   /* Idempotency-Key of every session POST */
        this.server = null;
    }

    async start() {
        this.server = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const n = ++this.n;
                const reply = () => {
                    res.writeHead(200, { 'Content-Type': 'application/json' });
                    res.end(JSON.stringify({
                        id: `cs_test_slow${n}_${process.pid}`,
                        object: 'checkout.session',
                        url: `https://pay.example/c/${n}`,
                    }));
                };
                const session = req.method === 'POST' && req.url.startsWith('/v1/checkout/sessions');
                if (session) this.keys.push(req.headers['idempotency-key']);
                if (session && this.hold) {
                    this.hold = false;
                    this.held = reply;
                } else {
                    reply();
                }
            });
        });
        await new Promise((resolve, reject) => {
            this.server.on('error', reject);
            this.server.listen(0, '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
        return this;
    }

    get url() {
        return `http://127.0.0.1:${this.port}`;
    }

    release() {
        if (this.held) this.held();
        this.held = null;
    }

    holdNext() {
        this.hold = true;
        this.keys = [];
    }

    async stop() {
        this.release();
        if (!this.server) return;
        this.server.closeAllConnections?.();
        await new Promise((r) => this.server.close(r));
        this.server = null;
    }
}

const stripe = new SlowStripe();
let nodeA = null;
let nodeB = null;

before(async () => {
    await stripe.start();
    const env = { STRIPE_API_BASE: stripe.url, CREDITD_IDEM_LEASE_MS: String(LEASE_MS) };
    nodeA = new Stack({ sandbox: false, serverEnv: env });
    await nodeA.start();
    // Node B: the same database, its own process.
    nodeB = new Stack({ sandbox: false, serverEnv: { ...env, CREDITD_DB: nodeA.dbPath } });
    await nodeB.start();
}, { timeout: 60000 });

after(async () => {
    const reports = [];
    for (const s of [nodeB, nodeA]) if (s) reports.push(await s.stop());
    await stripe.stop();
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

e2e('a claim held by a live node is never taken over: the other node answers in progress, then both replay the first reply', async () => {
    const user = await nodeA.signup();
    const body = { kind: 'topup', amount_cents: 1000 };
    const key = `idem-live-${process.pid}`;

    stripe.holdNext();
    // A claims the key and hangs in the Stripe call - longer than a lease,
    // so only A's heartbeat keeps the claim A's.
    const pA = nodeA.api('POST', '/v1/checkout', { token: user.token, idem: key, body, timeoutMs: 30000 });
    await waitFor(() => stripe.held !== null, 10000, { what: 'node A waiting on Stripe' });
    const leaseEnd = Date.now() + 2 * LEASE_MS;
    while (Date.now() < leaseEnd) {
        const rB = await nodeB.api('POST', '/v1/checkout', { token: user.token, idem: key, body });
        expectError(rB, 409, 'idempotency_in_progress');
        assert.equal(rB.headers['retry-after'], '1');
        // Pacing, not a wait on the server: the loop must span two leases
        // of wall time, which IS the behaviour under test (only A's
        // heartbeat keeps the claim A's).
        await sleep(250);
    }
    stripe.release();
    const coA = expectStatus(await pA, 201);
    assert.equal(stripe.keys.length, 1, 'Stripe was asked once');

    for (const node of [nodeA, nodeB]) {
        const r = await node.api('POST', '/v1/checkout', { token: user.token, idem: key, body });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.headers['idempotent-replayed'], 'true');
        assert.equal(r.json.order_id, coA.order_id);
    }
    assert.equal((await nodeA.list(user, '/v1/orders')).length, 1);
}, { timeout: 60000 });

e2e('a node killed while Stripe answers: the retry on another node finds the same order and asks Stripe with the same key', async () => {
    const user = await nodeA.signup();
    const body = { kind: 'topup', amount_cents: 2000 };
    const key = `idem-killed-${process.pid}`;

    stripe.holdNext();
    const pA = nodeA.api('POST', '/v1/checkout', { token: user.token, idem: key, body, timeoutMs: 30000 }).catch((e) => e);
    await waitFor(() => stripe.held !== null, 10000, { what: 'node A waiting on Stripe' });
    await nodeA.killServer();
    await pA;
    stripe.release(); // Stripe made the session; A never heard of it

    // B: in progress until A's lease ends, then it runs again.
    const r = await waitFor(async () => {
        const x = await nodeB.api('POST', '/v1/checkout', { token: user.token, idem: key, body });
        return x.status === 409 ? null : x;
    }, 20000, { intervalMs: 200, what: 'the dead claim free again' });
    const co = expectStatus(r, 201);
    assert.equal(stripe.keys.length, 2);
    assert.equal(stripe.keys[1], stripe.keys[0], 'the same Stripe Idempotency-Key');
    assert.equal(stripe.keys[0], `checkout:${co.order_id}:create`);
    const orders = await nodeB.list(user, '/v1/orders');
    assert.equal(orders.length, 1, 'one order for one request');
    assert.equal(orders[0].id, co.order_id);
    await nodeA.restartServer();
}, { timeout: 60000 });

e2e('the fingerprint is the JSON meaning: other whitespace or key order replays, another value is 409', async () => {
    const u = await nodeA.signup();
    await nodeA.grant(u, 1000);
    const key = `idem-meaning-${process.pid}`;
    const send = (body) => nodeA.asServer(u.id, 'POST', '/v1/debits', { idem: key, body });
    const first = expectStatus(await send('{"amount":250,"description":"meaning"}'), 201);
    for (const same of [
        '{ "description" : "meaning",\n  "amount" : 250 }',
        '{"amount":250,"description":"mean\\u0069ng"}',
        '\t{"amount":250,"description":"meaning"}\r\n',
    ]) {
        const r = await send(same);
        assert.equal(r.status, 201, `${same}: ${r.text}`);
        assert.deepEqual(r.json, first, same);
        assert.equal(r.headers['idempotent-replayed'], 'true', same);
    }
    expectError(await send('{"description":"meaning","amount":251}'), 409, 'idempotency_key_reused');
    expectError(await send('{"amount":250,"description":"meaning!"}'), 409, 'idempotency_key_reused');
    expectError(await send('{"amount":250,"description":"meaning","metadata":{}}'), 409, 'idempotency_key_reused');
    assert.equal(await nodeA.balance(u), 750, 'debited once');
});
