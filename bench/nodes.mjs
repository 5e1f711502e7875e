// nodes.mjs - durable debits/s and webhook events/s with 1, 2 and 3
// `creditd serve` nodes on one PostgreSQL database (docs/SCALING.md),
// loopback only, bounded in time and count:
//
//  - debits: debits of 1 from a large balance (on --accounts accounts) over
//    --connections keep-alive connections spread evenly over the nodes for
//    --seconds, then the ledger and the balances are checked;
//  - webhooks: --orders pending top-up orders are opened and paid in the
//    sandbox (which delivers nothing), then their signed
//    checkout.session.completed events (plus ~3 % re-deliveries) are posted
//    over --connections connections spread over the nodes, each once; every
//    order must be credited once (events processed = orders, the rest
//    duplicates) and the ledger must verify. Reports events/s and how many
//    each node took.
//
//   CD_E2E_PG_URL=postgres://... node bench/nodes.mjs [--seconds=5]
//       [--connections=32] [--nodes=1,2,3] [--accounts=1] [--orders=1000]
//       [--batch=N (CREDITD_WRITE_BATCH)] [--only=debits,webhooks]
//
// (scripts/pg_cluster.sh start prints a CD_PG_URL to use.)
import http from 'node:http';
import { Stack, signPayload, rand } from '../tests/e2e/harness.mjs';

const arg = (name, dflt) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.split('=')[1] : dflt;
};
const SECONDS = Math.min(Number(arg('seconds', 5)), 60);
const CONNS = Math.min(Number(arg('connections', 32)), 256);
const NODES = String(arg('nodes', '1,2,3')).split(',').map(Number).filter((n) => n >= 1 && n <= 3);
const ACCOUNTS = Math.min(Math.max(Number(arg('accounts', 1)), 1), 1000);
const ORDERS = Math.min(Number(arg('orders', 1000)), 5000);
const BATCH = arg('batch', null);
const ONLY = String(arg('only', 'debits,webhooks')).split(',');
const QUIET = {
    CREDITD_LOG: 'warn', CREDITD_CHECKOUT_RATE_LIMIT: '0', CREDITD_AUTH_RATE_LIMIT: '0',
    CREDITD_MAX_PENDING_ORDERS: '10000', CREDITD_IDEM_LEASE_MS: '30000',
    ...(BATCH ? { CREDITD_WRITE_BATCH: String(BATCH) } : {}),
};

async function pool(total, conc, fn) {
    let next = 0;
    const worker = async () => { while (next < total) await fn(next++); };
    await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
}

async function startNodes(n) {
    // The sandbox delivers no webhooks: the benchmark posts them.
    const a = new Stack({ serverEnv: QUIET, sandboxEnv: { CREDITD_LOG: 'warn', SANDBOX_WEBHOOK_URL: null } });
    await a.start();
    const nodes = [a];
    for (let i = 1; i < n; i++) {
        const s = new Stack({
            sandbox: false,
            serverEnv: {
                ...QUIET, CREDITD_DB: a.dbPath, CREDITD_ADMIN_KEY: a.adminKey, STRIPE_API_BASE: a.sandboxUrl,
                STRIPE_SECRET_KEY: a.stripeKey, STRIPE_WEBHOOK_SECRET: a.webhookSecret,
            },
        });
        s.adminKey = a.adminKey;
        s.webhookSecret = a.webhookSecret;
        await s.start();
        nodes.push(s);
    }
    return nodes;
}

async function debits(nodes) {
    const n = nodes.length;
    const users = [];
    for (let i = 0; i < ACCOUNTS; i++) {
        const u = await nodes[0].signup();
        await nodes[0].grant(u, 1e9);
        users.push(u);
    }
    const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: CONNS }));
    const end = Date.now() + SECONDS * 1000;
    const okBy = users.map(() => 0);
    let failed = 0;
    const statuses = {};
    const worker = async (i) => {
        const node = nodes[i % n];
        for (let k = i; Date.now() < end; k += CONNS) {
            const u = k % ACCOUNTS;
            const r = await node.asServer(users[u].id, 'POST', '/v1/debits', { agent: agents[i % n], body: { amount: 1, description: 'bench' } });
            if (r.status === 201) okBy[u]++;
            else {
                failed++;
                statuses[r.status] = (statuses[r.status] || 0) + 1;
            }
        }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONNS }, (_, i) => worker(i)));
    const secs = (performance.now() - t0) / 1000;
    for (const g of agents) g.destroy();
    const ok = okBy.reduce((a, b) => a + b, 0);
    const v = (await nodes[0].admin('GET', '/v1/admin/ledger/verify')).json;
    let exact = true;
    for (let u = 0; u < ACCOUNTS; u++) exact &&= (await nodes[n - 1].balance(users[u])) === 1e9 - okBy[u];
    return { debits_per_s: Math.round(ok / secs), failed, statuses, ledger_ok: v.ok, balances_exact: exact };
}

async function webhooks(nodes) {
    const a = nodes[0];
    const n = nodes.length;
    const users = [];
    for (let i = 0; i < 20; i++) users.push(await a.signup());
    const orders = [];
    await pool(ORDERS, 16, async (i) => {
        const u = users[i % users.length];
        const r = await a.asServer(u.id, 'POST', '/v1/checkout', { body: { kind: 'topup', amount_cents: 1000 } });
        if (r.status !== 201) throw new Error(`checkout ${r.status} ${r.text}`);
        const o = r.json;
        const c = await a.completeSession(o.session_id);
        if (c.status !== 200) throw new Error(`sandbox complete: ${c.status} ${c.text}`);
        const session = await a.getSession(o.session_id);
        o.body = JSON.stringify({ id: `evt_nodes_${rand(14)}`, object: 'event', type: 'checkout.session.completed',
            api_version: '2026-07-29.dahlia', created: Math.floor(Date.now() / 1000), livemode: false,
            pending_webhooks: 1, request: { id: null, idempotency_key: null }, data: { object: session } });
        orders[i] = o;
    });
    const events = orders.map((o) => o.body);
    const dups = Math.round(ORDERS * 0.03);
    for (let i = 0; i < dups; i++) events.push(events[Math.floor(Math.random() * ORDERS)]);
    for (let i = events.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [events[i], events[j]] = [events[j], events[i]];
    }
    const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: CONNS }));
    const perNode = nodes.map(() => 0);
    const outcome = {};
    let next = 0;
    const worker = async (w) => {
        const k = w % n;
        for (let i = next++; i < events.length; i = next++) {
            const body = events[i];
            const r = await nodes[k].api('POST', '/v1/webhooks/stripe', { agent: agents[k], body,
                headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(body, a.webhookSecret) } });
            const key = r.status === 200 ? r.json.status : `http_${r.status}`;
            outcome[key] = (outcome[key] || 0) + 1;
            perNode[k]++;
        }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONNS }, (_, w) => worker(w)));
    const secs = (performance.now() - t0) / 1000;
    for (const g of agents) g.destroy();
    const v = (await a.admin('GET', '/v1/admin/ledger/verify')).json;
    return {
        events: events.length, events_per_s: Math.round(events.length / secs), per_node: perNode, outcome,
        credited_once: outcome.processed === ORDERS && (outcome.duplicate || 0) === dups, ledger_ok: v.ok,
    };
}

async function run(n) {
    const nodes = await startNodes(n);
    try {
        const out = { nodes: n };
        if (ONLY.includes('debits')) Object.assign(out, await debits(nodes));
        if (ONLY.includes('webhooks')) out.webhooks = await webhooks(nodes);
        return out;
    } finally {
        for (const s of nodes.reverse()) await s.stop();
    }
}

if (!process.env.CD_E2E_PG_URL) {
    console.error('nodes.mjs: set CD_E2E_PG_URL (scripts/pg_cluster.sh start)');
    process.exit(2);
}
const out = [];
for (const n of NODES) out.push(await run(n));
console.log(JSON.stringify({ seconds: SECONDS, connections: CONNS, accounts: ACCOUNTS, orders: ORDERS, write_batch: BATCH || 'default (512)', runs: out }));
