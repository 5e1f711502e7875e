// nodes.test.mjs - three `creditd serve` processes on one PostgreSQL
// database (issue 7): the database, not a process, keeps every effect
// exactly-once.
//
//  - the same signed webhook posted to all three nodes at the same moment
//    credits the order once;
//  - concurrent debits on one account spread over the nodes, some
//    overdrawing: the balance is exact, never below zero, the ledger
//    verifies;
//  - the same Idempotency-Key raced on two nodes: one effect, the others
//    replay it or answer idempotency_in_progress;
//  - a node kill -9'd under load and restarted: every acknowledged write is
//    there.
//
// Runs only with CD_E2E_PG_URL (scripts/test.sh's PostgreSQL pass). Node A
// has the sandbox, which delivers its webhooks to a recording relay, so
// each test decides what the nodes receive.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';
import {
    Stack, e2e, waitFor, rand, expectError, expectStatus, makeEvent, CARD_OK,
} from './harness.mjs';

const PG = !!process.env.CD_E2E_PG_URL;
const skip = PG ? false : 'needs CD_E2E_PG_URL (a PostgreSQL server)';

let nodes = [];

before(async () => {
    if (!PG) return;
    const a = new Stack({ relay: true });
    await a.start();
    nodes = [a];
    for (let i = 0; i < 2; i++) {
        const n = new Stack({
            sandbox: false,
            serverEnv: {
                CREDITD_DB: a.dbPath,
                STRIPE_API_BASE: a.sandboxUrl,
                STRIPE_SECRET_KEY: a.stripeKey,
                STRIPE_PUBLISHABLE_KEY: a.publishableKey,
                STRIPE_WEBHOOK_SECRET: a.webhookSecret,
                CREDITD_ADMIN_KEY: a.adminKey,
            },
        });
        // The helpers sign and authorise with the stack's own secrets.
        n.adminKey = a.adminKey;
        n.webhookSecret = a.webhookSecret;
        await n.start();
        nodes.push(n);
    }
}, { timeout: 90000 });

after(async () => {
    const reports = [];
    for (const n of nodes.slice().reverse()) reports.push(await n.stop());
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

async function verifyLedger() {
    const v = expectStatus(await nodes[1].admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, `ledger verify: ${JSON.stringify(v)}`);
    assert.deepEqual(v.mismatches, []);
}

function debit(node, user, amount, { idem, agent } = {}) {
    return node.asServer(user.id, 'POST', '/v1/debits', { idem, agent, body: { amount, description: 'nodes' } });
}

e2e('the same webhook posted to all three nodes at once credits the order once', async () => {
    const [a] = nodes;
    const user = await a.signup();
    const co = await a.checkout(user, { kind: 'topup', amount_cents: 2000 });
    expectStatus(await a.completeSession(co.session_id, CARD_OK), 200);
    let event = null;
    try {
        event = await waitFor(() => a.relay.find('checkout.session.completed', co.session_id)[0], 5000, {
            what: 'sandbox delivers checkout.session.completed',
        });
    } catch {
        event = makeEvent('checkout.session.completed', await a.getSession(co.session_id));
    }
    const payload = JSON.stringify(event);
    // Two posts to each node, all at the same moment.
    const rs = await Promise.all(nodes.flatMap((n) => [n.sendWebhook(payload), n.sendWebhook(payload)]));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const statuses = rs.map((r) => r.json.status).sort();
    assert.deepEqual(statuses, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'processed']);
    // A second event id for the same session, again on every node.
    const again = JSON.stringify({ ...event, id: `evt_nodes_${rand(8)}` });
    const rs2 = await Promise.all(nodes.map((n) => n.sendWebhook(again)));
    for (const r of rs2) assert.equal(r.status, 200, r.text);
    for (const n of nodes) assert.equal(await n.balance(user), co.credits);
    const txns = (await a.list(user, '/v1/transactions')).filter((t) => t.order_id === co.order_id);
    assert.equal(txns.length, 1, JSON.stringify(txns));
    await verifyLedger();
}, { skip, timeout: 60000 });

e2e('90 concurrent debits of 3 from 100, spread over three nodes: 33 pass, balance 1, ledger verifies', async () => {
    const user = await nodes[0].signup();
    await nodes[0].grant(user, 100);
    const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: 10 }));
    let rs;
    try {
        rs = await Promise.all(Array.from({ length: 90 }, (_, i) => debit(nodes[i % 3], user, 3, { agent: agents[i % 3] })));
    } finally {
        for (const g of agents) g.destroy();
    }
    const ok = rs.filter((r) => r.status === 201).length;
    for (const r of rs) {
        if (r.status !== 201) expectError(r, 402, 'insufficient_balance');
    }
    assert.equal(ok, 33);
    for (const n of nodes) assert.equal(await n.balance(user), 1);
    const usage = (await nodes[2].list(user, '/v1/transactions')).filter((t) => t.kind === 'usage');
    assert.equal(usage.length, 33);
    for (const t of usage) assert.ok(t.balance_after >= 0, JSON.stringify(t));
    await verifyLedger();
}, { skip, timeout: 90000 });

e2e('one Idempotency-Key raced on two nodes: one debit; the rest replay it or answer in progress', async () => {
    const user = await nodes[0].signup();
    await nodes[0].grant(user, 1000);
    const key = `nodes-race-${rand(6)}`;
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => debit(nodes[i % 2], user, 7, { idem: key })));
    const ok = rs.filter((r) => r.status === 201);
    assert.ok(ok.length >= 1, `statuses: ${rs.map((r) => r.status)}`);
    for (const r of rs) {
        if (r.status !== 201) expectError(r, 409, 'idempotency_in_progress');
    }
    assert.equal(new Set(ok.map((r) => r.json.transaction_id)).size, 1, 'every 201 is the same transaction');
    // Once settled, both nodes replay the one reply.
    for (const n of nodes.slice(0, 2)) {
        const r = await waitFor(async () => {
            const x = await debit(n, user, 7, { idem: key });
            return x.status === 201 ? x : null;
        }, 10000, { what: 'the key settles' });
        assert.equal(r.headers['idempotent-replayed'], 'true');
    }
    assert.equal(await nodes[1].balance(user), 993);
    await verifyLedger();
}, { skip, timeout: 60000 });

e2e('a node kill -9ed under load and restarted: every acknowledged grant is in the ledger', async () => {
    const [a, b] = nodes;
    const user = await a.signup();
    const acked = [];
    let stop = false;
    // Grants to node B, eight at a time, until it dies.
    const load = Promise.all(Array.from({ length: 8 }, async () => {
        while (!stop) {
            const r = await b.asServer(user.id, 'POST', '/v1/grants', { body: { amount: 1, description: 'kill' } })
                .catch(() => null);
            if (!r) break;
            if (r.status === 201) acked.push(r.json.transaction_id);
        }
    }));
    await waitFor(() => acked.length >= 40, 20000, { what: '40 grants acknowledged' });
    await b.killServer();
    stop = true;
    await load;
    await b.startServer();
    const ids = new Set();
    let total = 0;
    for (let off = 0; ; off += 100) {
        const r = expectStatus(await a.api('GET', `/v1/transactions?limit=100&offset=${off}`, { token: user.token }), 200);
        for (const t of r.data) ids.add(t.id);
        total += r.data.length;
        if (r.data.length < 100) break;
    }
    for (const id of acked) assert.ok(ids.has(id), `acknowledged ${id} is in the ledger`);
    assert.equal(await b.balance(user), total);
    await verifyLedger();
}, { skip, timeout: 90000 });
