// idempotency.test.mjs - Idempotency-Key claims that change hands. Two
// creditd processes share one database (as a restarted process does with
// its predecessor's rows): node A claims a key and is slow, node B takes
// the foreign claim over and completes it; when A finally finishes, it
// must not overwrite B's stored reply - the key keeps replaying B's.
//
// Stripe here is a tiny fake on loopback that holds the first
// POST /v1/checkout/sessions until the test releases it, so A is
// deterministically "still running" while B goes through.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';
import { Stack, e2e, waitFor, expectStatus } from './harness.mjs';

/** Fake Stripe: answers checkout sessions; holds the first until released. */
class SlowStripe {
    constructor() {
        this.n = 0;
        this.held = null;
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
                if (req.method === 'POST' && req.url.startsWith('/v1/checkout/sessions') && n === 1) {
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
    nodeA = new Stack({ sandbox: false, serverEnv: { STRIPE_API_BASE: stripe.url } });
    await nodeA.start();
    // Node B: the same database, its own process (another instance id).
    nodeB = new Stack({ sandbox: false, serverEnv: { STRIPE_API_BASE: stripe.url, CREDITD_DB: nodeA.dbPath } });
    await nodeB.start();
}, { timeout: 60000 });

after(async () => {
    const reports = [];
    for (const s of [nodeB, nodeA]) if (s) reports.push(await s.stop());
    await stripe.stop();
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

e2e('a claim taken over by another instance: the first owner finishing late does not overwrite the stored reply', async () => {
    const user = await nodeA.signup();
    const body = { kind: 'topup', amount_cents: 1000 };
    const key = `idem-takeover-${process.pid}`;

    // A claims the key and hangs in the Stripe call.
    const pA = nodeA.api('POST', '/v1/checkout', { token: user.token, idem: key, body, timeoutMs: 30000 });
    await waitFor(() => stripe.held !== null, 10000, { what: 'node A waiting on Stripe' });

    // B sees A's claim (another instance's), takes it over, completes it.
    const rB = await nodeB.api('POST', '/v1/checkout', { token: user.token, idem: key, body });
    const coB = expectStatus(rB, 201);

    // A finishes now, with its own (different) order.
    stripe.release();
    const coA = expectStatus(await pA, 201);
    assert.notEqual(coA.order_id, coB.order_id);

    // The key replays B's reply, on either node, not A's late one.
    for (const node of [nodeA, nodeB]) {
        const r = await node.api('POST', '/v1/checkout', { token: user.token, idem: key, body });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.headers['idempotent-replayed'], 'true');
        assert.equal(r.json.order_id, coB.order_id, 'the stored reply is the new owner\'s');
    }
}, { timeout: 60000 });
