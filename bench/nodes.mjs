// nodes.mjs - durable debits/s with 1, 2 and 3 `creditd serve` nodes on
// one PostgreSQL database (docs/SCALING.md), loopback only, bounded in
// time: each run sends debits of 1 from a large balance over
// --connections keep-alive connections spread evenly over the nodes for
// --seconds, then checks the ledger.
//
//   CD_E2E_PG_URL=postgres://... node bench/nodes.mjs [--seconds=5] [--connections=32]
//
// (scripts/pg_cluster.sh start prints a CD_PG_URL to use.)
import http from 'node:http';
import { Stack } from '../tests/e2e/harness.mjs';

const arg = (name, dflt) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : dflt;
};
const SECONDS = Math.min(arg('seconds', 5), 60);
const CONNS = Math.min(arg('connections', 32), 256);
const QUIET = { CREDITD_LOG: 'warn' };

async function startNodes(n) {
    const a = new Stack({ serverEnv: QUIET, sandboxEnv: QUIET });
    await a.start();
    const nodes = [a];
    for (let i = 1; i < n; i++) {
        const s = new Stack({
            sandbox: false,
            serverEnv: { ...QUIET, CREDITD_DB: a.dbPath, CREDITD_ADMIN_KEY: a.adminKey, STRIPE_API_BASE: a.sandboxUrl },
        });
        s.adminKey = a.adminKey;
        await s.start();
        nodes.push(s);
    }
    return nodes;
}

async function run(n) {
    const nodes = await startNodes(n);
    try {
        const user = await nodes[0].signup();
        await nodes[0].grant(user, 1e9);
        const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: CONNS }));
        const end = Date.now() + SECONDS * 1000;
        let ok = 0, failed = 0;
        const statuses = {};
        const worker = async (i) => {
            const node = nodes[i % n];
            while (Date.now() < end) {
                const r = await node.asServer(user.id, 'POST', '/v1/debits', { agent: agents[i % n], body: { amount: 1, description: 'bench' } });
                if (r.status === 201) ok++;
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
        const v = (await nodes[0].admin('GET', '/v1/admin/ledger/verify')).json;
        const bal = await nodes[n - 1].balance(user);
        return { nodes: n, debits_per_s: Math.round(ok / secs), failed, statuses, ledger_ok: v.ok, balance_exact: bal === 1e9 - ok };
    } finally {
        for (const s of nodes.reverse()) await s.stop();
    }
}

if (!process.env.CD_E2E_PG_URL) {
    console.error('nodes.mjs: set CD_E2E_PG_URL (scripts/pg_cluster.sh start)');
    process.exit(2);
}
const out = [];
for (const n of [1, 2, 3]) out.push(await run(n));
console.log(JSON.stringify({ seconds: SECONDS, connections: CONNS, runs: out }, null, 1));
