// bench.mjs - creditd's benchmark: durable debits/s and webhook events/s
// with p50/p99 latency, on the real binary + sandbox over loopback, then a
// correctness check (ledger invariant, exact balances). Also measures the
// disk's fsync rate in the same folder as the database, so the group-commit
// gain is visible: durable debits/s far above fsyncs/s.
//
//   node bench/bench.mjs [--seconds=10] [--connections=64] [--events=3000] [--batch=512] [--threads=0] [--idem=0]
//
// --idem=1 gives every debit its own Idempotency-Key (wrk only).
//
// Uses wrk (Debian package) for the debit phase when it is installed, else
// a node load loop. Targets 127.0.0.1 only; every loop is bounded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Stack, signPayload, rand } from '../tests/e2e/harness.mjs';

const arg = (name, dflt) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const CONNS = arg('connections', 64);
const EVENTS = arg('events', 3000);
const BATCH = arg('batch', 512); // CREDITD_WRITE_BATCH: 1 turns group commit off
const THREADS = arg('threads', 0); // CREDITD_HTTP_THREADS: 0 = a thread per connection
const IDEM = arg('idem', 0); // 1: each debit with its own Idempotency-Key

function pct(sorted, p) {
    if (!sorted.length) return 0;
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Durable 4 KiB writes per second in `dir`: "overwrite" rewrites one block
// (fdatasync, no metadata), "append" grows the file each time like a WAL
// does (fdatasync must flush the size too). The latter bounds a database
// that commits once per request.
function fsyncRate(dir, mode, seconds = 2) {
    const f = path.join(dir, `fsync-${mode}.probe`);
    const fd = fs.openSync(f, 'w');
    const buf = Buffer.alloc(4096, 1);
    let n = 0;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
        fs.writeSync(fd, buf, 0, buf.length, mode === 'append' ? n * 4096 : 0);
        fs.fdatasyncSync(fd);
        n++;
    }
    fs.closeSync(fd);
    fs.unlinkSync(f);
    return Math.round(n / seconds);
}

/** Runs `total` calls of fn() with `conc` in flight; returns latencies (ms). */
async function runLoad(total, conc, fn) {
    const lat = [];
    let next = 0;
    const worker = async () => {
        while (next < total) {
            next++;
            const t0 = performance.now();
            await fn();
            lat.push(performance.now() - t0);
        }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: conc }, worker));
    return { lat: lat.sort((a, b) => a - b), seconds: (performance.now() - t0) / 1000 };
}

function hasWrk() {
    return spawnSync('wrk', ['--version']).error === undefined;
}

async function main() {
    // No checkout rate limit and no pending-orders cap: the webhook phase opens hundreds of
    // checkouts per buyer in seconds.
    const stack = new Stack({ serverEnv: { CREDITD_LOG: 'warn', CREDITD_CHECKOUT_RATE_LIMIT: '0', CREDITD_MAX_PENDING_ORDERS: '10000', CREDITD_WRITE_BATCH: String(BATCH), CREDITD_HTTP_THREADS: String(THREADS) }, sandboxEnv: { CREDITD_LOG: 'warn' } });
    await stack.start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
    const report = { write_batch: BATCH, http_threads: THREADS, connections: CONNS, idempotency_keys: IDEM === 1 };
    try {
        report.fsync_per_s = { overwrite: fsyncRate(stack.dir, 'overwrite'), append: fsyncRate(stack.dir, 'append') };

        // ---- debits
        const u = await stack.signup();
        const acct = u.account.id;
        const START = 1_000_000_000;
        let r = await stack.admin('POST', '/v1/grants', { account: acct, body: { amount: START, description: 'bench' } });
        if (r.status !== 201) throw new Error(`grant: ${r.status} ${JSON.stringify(r.json)}`);
        let debits;
        if (hasWrk()) {
            const w = spawnSync('wrk', ['-t2', `-c${CONNS}`, `-d${SECONDS}s`, '--latency', '-s',
                path.join(import.meta.dirname, 'debit.lua'), `${stack.baseUrl}/v1/debits`],
                { env: { ...process.env, BENCH_KEY: stack.adminKey, BENCH_ACCOUNT: acct, BENCH_IDEM: String(IDEM) }, encoding: 'utf8' });
            const line = (w.stdout || '').split('\n').find((l) => l.startsWith('wrk-json '));
            if (!line) throw new Error(`wrk failed: ${w.stdout} ${w.stderr}`);
            const j = JSON.parse(line.slice(9));
            debits = { tool: 'wrk', requests: j.requests, per_s: Math.round(j.requests / j.seconds),
                p50_ms: j.p50_us / 1000, p99_ms: j.p99_us / 1000, errors: j.errors };
        } else {
            const n = 20000;
            const res = await runLoad(n, CONNS, async () => {
                const x = await stack.admin('POST', '/v1/debits', { account: acct, agent, body: { amount: 1, description: 'bench debit' } });
                if (x.status !== 201) throw new Error(`debit ${x.status}`);
            });
            debits = { tool: 'node', requests: n, per_s: Math.round(n / res.seconds),
                p50_ms: +pct(res.lat, 50).toFixed(2), p99_ms: +pct(res.lat, 99).toFixed(2), errors: 0 };
        }
        report.debits = debits;
        // Requests wrk left in flight still commit after it exits: let them
        // land, then read one snapshot (the count and the newest entry's
        // balance_after come from the same read transaction).
        await new Promise((res) => setTimeout(res, 1000));
        r = await stack.api('GET', '/v1/transactions?limit=1', { key: true, account: acct });
        const entries = r.json.total;
        const newest = r.json.data[0].balance_after;
        const bal = (await stack.api('GET', '/v1/balance', { key: true, account: acct })).json.balance;
        report.debits.exact = newest === START - (entries - 1) && bal === newest;
        report.debits.committed = entries - 1;

        // ---- webhook events: real pending orders, then signed completions
        const buyers = [];
        for (let i = 0; i < 8; i++) buyers.push(await stack.signup());
        const orders = [];
        await runLoad(Math.ceil(EVENTS / 2), 16, async () => {
            const b = buyers[orders.length % buyers.length];
            const x = await stack.api('POST', '/v1/checkout', { token: b.token, agent, body: { kind: 'topup', amount_cents: 1000 } });
            if (x.status !== 201) throw new Error(`checkout ${x.status} ${JSON.stringify(x.json)}`);
            orders.push({ ...x.json, account: b.account.id });
        });
        // Each order gets one event, and every other one a second event id
        // for the same session (a duplicate business effect).
        const bodies = [];
        for (const o of orders) {
            const session = { id: o.session_id, object: 'checkout.session', mode: 'payment', status: 'complete',
                payment_status: 'paid', amount_total: o.amount_cents, currency: o.currency,
                client_reference_id: o.order_id, customer: null, payment_intent: null,
                metadata: { order_id: o.order_id, account_id: o.account, kind: 'topup' } };
            const ev = () => JSON.stringify({ id: `evt_bench_${rand(12)}`, object: 'event', type: 'checkout.session.completed',
                created: Math.floor(Date.now() / 1000), livemode: false, data: { object: session } });
            bodies.push(ev());
            if (bodies.length < EVENTS) bodies.push(ev());
        }
        let k = 0;
        const statuses = {};
        const res = await runLoad(bodies.length, 32, async () => {
            const body = bodies[k++];
            const x = await stack.api('POST', '/v1/webhooks/stripe', { agent, body,
                headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(body, stack.webhookSecret) } });
            const s = x.json && x.json.status;
            statuses[`${x.status}:${s}`] = (statuses[`${x.status}:${s}`] || 0) + 1;
        });
        report.webhooks = { events: bodies.length, per_s: Math.round(bodies.length / res.seconds),
            p50_ms: +pct(res.lat, 50).toFixed(2), p99_ms: +pct(res.lat, 99).toFixed(2), statuses };
        let credited = 0;
        for (const b of buyers) {
            const x = await stack.api('GET', '/v1/balance', { token: b.token });
            credited += x.json.balance;
        }
        report.webhooks.exact = credited === orders.length * 1000;

        r = await stack.admin('GET', '/v1/admin/ledger/verify');
        report.ledger_verify_ok = r.json.ok === true;
        report.ok = report.debits.exact && report.webhooks.exact && report.ledger_verify_ok;
    } finally {
        agent.destroy();
        await stack.stop();
    }
    console.log(JSON.stringify(report, null, 2));
    console.log(`fsync/s ${report.fsync_per_s.append} (append; ${report.fsync_per_s.overwrite} overwrite) | durable debits/s ${report.debits.per_s} ` +
        `(p50 ${report.debits.p50_ms} ms, p99 ${report.debits.p99_ms} ms) | webhook events/s ` +
        `${report.webhooks.per_s} (p50 ${report.webhooks.p50_ms} ms, p99 ${report.webhooks.p99_ms} ms) | ` +
        `correct: ${report.ok}`);
    if (!report.ok) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
