// perf.mjs - one sitting: the machine's HTTP ceiling (nginx answering a
// fixed 200 on loopback) and creditd (the real binary + its Stripe sandbox,
// SQLite in a temp dir, durable commits) on four workloads, each driven by
// wrk with a lua script from bench/perf/ and checked exactly afterwards:
//
//   webhooks  signed checkout.session.completed for real pending orders
//             (made through POST /v1/checkout first), ~3 % re-deliveries
//   debits    POST /v1/debits, each with its own Idempotency-Key, over the
//             accounts, ~10 % asking for more than the balance (402)
//   balance   GET /v1/balance with each account's own token
//   holds     hold and capture: POST /v1/holds (5 credits, keyed), then its
//             POST /v1/holds/{id}/capture (3 of them, keyed) once the 201
//             came back - about half of each
//   mixed     70 % balance reads, 25 % idempotent debits, 5 % webhooks
//
//   node bench/perf.mjs [--seconds=10] [--connections=64] [--accounts=200]
//       [--orders=8000] [--json[=file]] [--db=CREDITD_DB] [--perf=webhooks]
//       [--only=webhooks,debits,balance,holds,mixed] [--set=CREDITD_X=v,CREDITD_Y=w]
//
// --set passes CREDITD_* settings to creditd (e.g. --set=CREDITD_HTTP_THREADS=0
// for the thread-per-connection mode), to compare designs in one sitting.
//
// Needs wrk and nginx (WITH_BENCH=1 bash scripts/bootstrap.sh); --perf
// needs linux-perf. Loopback only; every phase is bounded in time.
//
// The checks, after each workload (cumulative over the run), once
// creditd's store has settled (queue empty, job counter still: requests
// wrk cut off may still be committing):
//  - a request wrk sent when its time ran out may or may not have landed:
//    every issued debit or event that left no ledger entry is sent again
//    (a client's retry) and the count is reported as "resent";
//  - then every issued 1-credit debit has exactly one ledger entry under
//    its own key on its own account, no overdrawing debit has any, and a
//    replay of sampled keys answers the same status and transaction id and
//    writes nothing;
//  - every issued order is credited exactly once, with its credits, and no
//    order that was not paid is credited;
//  - every balance equals the sum of its account's ledger entries as read
//    back through GET /v1/admin/ledger, and GET /v1/admin/ledger/verify
//    says ok;
//  - every hold of the run (listed back through GET /v1/holds) is
//    captured once, for 3, with one ledger entry "hold:<id>:capture" of
//    -3 (a hold whose capture the cut-off left out is captured then, as a
//    client's retry, and counted as "resent"); no account holds anything
//    afterwards; a replay of sampled captures answers the same
//    transaction and writes nothing;
//  - no reply other than 2xx (and 402 for overdrawing debits).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Stack, signPayload, rand, freePort } from '../tests/e2e/harness.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
    const a = argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
    if (!a) return dflt;
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
const SECONDS = Number(opt('seconds', 10));
const CONNS = Number(opt('connections', 64));
const ACCOUNTS = Number(opt('accounts', 200));
const ORDERS = Number(opt('orders', 8000));
const THREADS = 2;
const DB = opt('db', null);
const PERF = opt('perf', null);
const ONLY = String(opt('only', 'webhooks,debits,balance,holds,mixed')).split(',');
const JSON_OUT = opt('json', null);
const SETS = String(opt('set', '') || '').split(',').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1 || !/^CREDITD_[A-Z0-9_]+$/.test(kv.slice(0, i))) throw new Error(`--set: want CREDITD_NAME=value, got ${kv}`);
    return [kv.slice(0, i), kv.slice(i + 1)];
});
const LUA = path.join(import.meta.dirname, 'perf');
const RUN = `p${rand(6)}`;
const GRANT = 1_000_000_000;
const OVER = 1_000_000_000_000;
if (!(SECONDS >= 1 && SECONDS <= 120 && CONNS >= 1 && CONNS <= 512 && ACCOUNTS >= 1 && ACCOUNTS <= 2000 &&
      ORDERS >= 10 && ORDERS <= 100000)) {
    throw new Error('out of range: --seconds 1..120, --connections 1..512, --accounts 1..2000, --orders 10..100000');
}

const cleanups = [];
process.on('exit', () => { for (const f of cleanups.reverse()) try { f(); } catch { /* exiting */ } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const log = (...a) => console.error(`[perf ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Runs `total` calls of fn(i) with `conc` in flight. */
async function pool(total, conc, fn) {
    let next = 0;
    const worker = async () => { while (next < total) await fn(next++); };
    await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
}

function waitPort(port, timeoutMs = 10000) {
    const end = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
        const tryOnce = () => {
            const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(); });
            s.on('error', () => {
                s.destroy();
                if (Date.now() > end) reject(new Error(`port ${port} never opened`));
                else setTimeout(tryOnce, 50);
            });
        };
        tryOnce();
    });
}

// ------------------------------------------------------------ nginx

/** nginx with its own prefix and config in a temp dir; stopped on exit. */
async function startNginx() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perf-nginx-'));
    fs.chmodSync(dir, 0o755);
    const port = await freePort();
    const t = (n) => path.join(dir, n);
    const conf = [
        'daemon off;', 'master_process on;', 'worker_processes 2;',
        `pid ${t('nginx.pid')};`, `error_log ${t('error.log')} warn;`,
        // As root the workers would switch to nobody; nothing here needs
        // a file they could not read.
        ...(process.getuid() === 0 ? ['user nobody nogroup;'] : []),
        'events { worker_connections 2048; }',
        'http {', '  access_log off;',
        `  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')};`,
        `  fastcgi_temp_path ${t('fastcgi')}; uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};`,
        `  server { listen 127.0.0.1:${port}; location / { default_type text/plain; return 200 "ok\\n"; } }`,
        '}', '',
    ].join('\n');
    fs.writeFileSync(t('nginx.conf'), conf);
    const child = spawn('nginx', ['-p', dir, '-c', t('nginx.conf'), '-e', t('error.log')], { stdio: 'ignore' });
    const stop = () => { if (child.exitCode === null) child.kill('SIGTERM'); };
    cleanups.push(() => { stop(); fs.rmSync(dir, { recursive: true, force: true }); });
    await waitPort(port);
    return { url: `http://127.0.0.1:${port}/`, stop };
}

// ------------------------------------------------------------ wrk

function wrk(script, url, env = {}) {
    const w = spawnSync('wrk', [`-t${THREADS}`, `-c${CONNS}`, `-d${SECONDS}s`, '--timeout', '10s', '--latency',
        '-s', path.join(LUA, script), url],
    { env: { ...process.env, PERF_LUA_DIR: LUA, PERF_THREADS: String(THREADS), PERF_RUN: RUN, ...env },
        encoding: 'utf8', timeout: (SECONDS + 60) * 1000 });
    const line = (w.stdout || '').split('\n').find((l) => l.startsWith('wrk-json '));
    if (!line) throw new Error(`wrk ${script} failed: ${w.error || ''} ${w.stdout} ${w.stderr}`);
    const j = JSON.parse(line.slice(9));
    const sum = (k) => j.threads.reduce((a, t) => a + t[k], 0);
    return { ...j, per_s: Math.round(j.requests / j.seconds), p50_ms: j.p50_us / 1000, p99_ms: j.p99_us / 1000,
        c2xx: sum('c2xx'), c402: sum('c402'), cother: sum('cother') };
}

// ------------------------------------------------------------ creditd set-up

async function makeAccounts(stack, dir) {
    const accts = [];
    await pool(ACCOUNTS, 4, async (i) => {
        const u = await stack.signup();
        const r = await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: GRANT, description: 'perf' } });
        if (r.status !== 201) throw new Error(`grant: ${r.status} ${r.text}`);
        accts[i] = u;
    });
    const file = path.join(dir, 'accounts.tsv');
    fs.writeFileSync(file, accts.map((u) => `${u.id}\t${u.token}\n`).join(''));
    return { accts, file };
}

/** n pending top-up orders through the API, spread over the accounts. */
async function makeOrders(stack, accts, n, agent) {
    const orders = [];
    await pool(n, 16, async (i) => {
        const a = accts[i % accts.length];
        const r = await stack.asServer(a.id, 'POST', '/v1/checkout', { agent, body: { kind: 'topup', amount_cents: 1000 } });
        if (r.status !== 201) throw new Error(`checkout ${r.status} ${r.text}`);
        orders[i] = { ...r.json, account: a.id };
    });
    return orders;
}

/**
 * Pays each order in the sandbox (card 4242; the sandbox here sends no
 * webhooks) and builds its checkout.session.completed from the paid
 * session as the sandbox reports it (its PaymentIntent and customer
 * included, as Stripe sends them), in o.event.
 */
async function payOrders(stack, orders) {
    await pool(orders.length, 16, async (i) => {
        const o = orders[i];
        const r = await stack.completeSession(o.session_id);
        if (r.status !== 200) throw new Error(`sandbox complete: ${r.status} ${r.text}`);
        const session = await stack.getSession(o.session_id);
        if (session.payment_status !== 'paid' || !session.payment_intent) throw new Error(`session not paid: ${JSON.stringify(session).slice(0, 300)}`);
        o.event = JSON.stringify({ id: `evt_perf_${rand(14)}`, object: 'event', type: 'checkout.session.completed',
            api_version: '2026-07-29.dahlia', created: Math.floor(Date.now() / 1000), livemode: false,
            pending_webhooks: 1, request: { id: null, idempotency_key: null }, data: { object: session } });
    });
}

/**
 * One event per order, plus ~3 % re-deliveries of
 * some of them (same event id and body, new signature), shuffled; written as
 * signature<TAB>body lines. Returns [{order, body}] in line order.
 */
function writeEvents(stack, orders, file) {
    const lines = orders.map((o) => ({ order: o, body: o.event }));
    const dups = Math.round(orders.length * 0.03);
    for (let i = 0; i < dups; i++) lines.push(lines[Math.floor(Math.random() * orders.length)]);
    for (let i = lines.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [lines[i], lines[j]] = [lines[j], lines[i]];
    }
    fs.writeFileSync(file, lines.map((l) => `${signPayload(l.body, stack.webhookSecret)}\t${l.body}\n`).join(''));
    return lines;
}

// ------------------------------------------------------------ the ledger, read back

/** Reads the ledger's new entries (newest first, keyset) into led.rows. */
async function readLedger(stack, led, agent) {
    let after = null;
    const fresh = [];
    for (;;) {
        const q = `/v1/admin/ledger?limit=100${after ? `&starting_after=${after}` : ''}`;
        const r = await stack.admin('GET', q, { agent });
        if (r.status !== 200) throw new Error(`ledger: ${r.status} ${r.text}`);
        let old = false;
        for (const e of r.json.data) {
            if (led.rows.has(e.id)) { old = true; break; }
            fresh.push(e);
        }
        if (old || !r.json.has_more) break;
        after = r.json.next_starting_after;
    }
    for (const e of fresh) {
        led.rows.set(e.id, e);
        if (e.ref) led.byRef.set(e.ref, e);
        if (e.order_id) led.byOrder.set(e.order_id, (led.byOrder.get(e.order_id) || []).concat(e));
    }
    return fresh.length;
}

const debitRef = (acct, prefix, g) => `idem:server:${acct}:${RUN}-${prefix}-${g}`;

function debitRequest(stack, accts, prefix, g, over, agent) {
    const a = accts[g % accts.length];
    return stack.asServer(a.id, 'POST', '/v1/debits', { agent, idem: `${RUN}-${prefix}-${g}`,
        body: `{"amount":${over ? OVER : 1},"description":"perf debit"}`, headers: { 'Content-Type': 'application/json' } });
}

/**
 * Debits g in `issued` (with their overdraw rule): resend those that left
 * no entry, then require exactly the right entries and replay a sample.
 */
async function checkDebits(ctx, prefix, issued, isOver) {
    const { stack, accts, led, agent } = ctx;
    const fails = [];
    await readLedger(stack, led, agent);
    const missing = issued.filter((g) => !isOver(g) && !led.byRef.has(debitRef(accts[g % accts.length].id, prefix, g)));
    await pool(missing.length, 16, async (i) => {
        const r = await debitRequest(stack, accts, prefix, missing[i], false, agent);
        if (r.status !== 201) fails.push(`resent debit ${missing[i]}: ${r.status}`);
    });
    await readLedger(stack, led, agent);
    const issuedSet = new Set(issued);
    let accepted = 0;
    const re = new RegExp(`^idem:server:(acct_[A-Za-z0-9]+):${RUN}-${prefix}-(\\d+)$`);
    for (const e of led.rows.values()) {
        const m = e.ref && re.exec(e.ref);
        if (!m) continue;
        const g = Number(m[2]);
        accepted++;
        if (!issuedSet.has(g)) fails.push(`debit ${g} was never sent`);
        if (isOver(g)) fails.push(`overdrawing debit ${g} accepted`);
        if (e.amount !== -1 || e.kind !== 'usage' || e.account_id !== accts[g % accts.length].id) fails.push(`debit ${g}: ${JSON.stringify(e)}`);
    }
    const want = issued.filter((g) => !isOver(g)).length;
    if (accepted !== want) fails.push(`${accepted} debits in the ledger, ${want} issued`);
    // Replays: the same status and transaction, twice, nothing written.
    const sample = issued.filter((_, i) => i % Math.max(1, Math.floor(issued.length / 100)) === 0).slice(0, 100);
    for (const g of sample) {
        for (let k = 0; k < 2; k++) {
            const r = await debitRequest(stack, accts, prefix, g, isOver(g), agent);
            const e = led.byRef.get(debitRef(accts[g % accts.length].id, prefix, g));
            const ok = isOver(g) ? r.status === 402 && !e
                : r.status === 201 && e && r.json.transaction_id === e.id && r.headers['idempotent-replayed'] === 'true';
            if (!ok) fails.push(`replay ${g}: ${r.status} ${r.text}`);
        }
    }
    if (await readLedger(stack, led, agent)) fails.push('replays wrote to the ledger');
    return { resent: missing.length, accepted, replayed: sample.length * 2, fails };
}

/** Orders whose event lines were issued: resend the ones not credited, then exactly once each. */
async function checkOrders(ctx, lines, issuedIdx, allOrders) {
    const { stack, led, agent } = ctx;
    const fails = [];
    const issued = new Map();
    for (const i of issuedIdx) issued.set(lines[i].order.order_id, lines[i]);
    await readLedger(stack, led, agent);
    const missing = [...issued.values()].filter((l) => !led.byOrder.has(l.order.order_id));
    await pool(missing.length, 16, async (i) => {
        const body = missing[i].body;
        const r = await stack.api('POST', '/v1/webhooks/stripe', { agent, body,
            headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(body, stack.webhookSecret) } });
        if (r.status !== 200) fails.push(`resent event: ${r.status} ${r.text}`);
    });
    await readLedger(stack, led, agent);
    let credited = 0;
    for (const o of allOrders) {
        const es = (led.byOrder.get(o.order_id) || []).filter((e) => e.amount > 0);
        if (issued.has(o.order_id)) {
            if (es.length !== 1 || es[0].amount !== o.credits || es[0].account_id !== o.account) {
                fails.push(`order ${o.order_id}: ${JSON.stringify(es)}`);
            } else credited++;
        } else if (es.length) fails.push(`unpaid order ${o.order_id} credited`);
    }
    return { resent: missing.length, credited, fails };
}

/** Every hold of an account, through GET /v1/holds (keyset pages). */
async function listHolds(stack, acct, agent) {
    const out = [];
    for (let after = null; ;) {
        const r = await stack.asServer(acct, 'GET', `/v1/holds?limit=100${after ? `&starting_after=${after}` : ''}`, { agent });
        if (r.status !== 200) throw new Error(`holds of ${acct}: ${r.status} ${r.text}`);
        for (const x of r.json.data) out.push({ ...x, account: acct });
        if (!r.json.has_more) return out;
        after = r.json.next_starting_after;
    }
}

const captureHold = (stack, x, agent) => stack.asServer(x.account, 'POST', `/v1/holds/${x.id}/capture`,
    { agent, idem: `${RUN}-hcc-${x.id}`, body: '{"amount":3}', headers: { 'Content-Type': 'application/json' } });

/** Hold-and-capture: each hold captured once for 3, one entry each, nothing left held. */
async function checkHolds(ctx, issued) {
    const { stack, accts, led, agent } = ctx;
    const fails = [];
    const holds = [];
    await pool(accts.length, 8, async (i) => { holds.push(...(await listHolds(stack, accts[i].id, agent))); });
    const open = holds.filter((x) => x.status === 'active');
    await pool(open.length, 16, async (i) => {
        const r = await captureHold(stack, open[i], agent);
        if (r.status !== 200) fails.push(`resent capture ${open[i].id}: ${r.status} ${r.text}`);
        else Object.assign(open[i], r.json);
    });
    await readLedger(stack, led, agent);
    if (holds.length > issued) fails.push(`${holds.length} holds, ${issued} issued`);
    for (const x of holds) {
        const e = led.byRef.get(`hold:${x.id}:capture`);
        if (x.status !== 'captured' || x.captured !== 3 || !e || e.id !== x.transaction_id || e.amount !== -3 ||
            e.account_id !== x.account) fails.push(`hold ${x.id}: ${JSON.stringify(x)} ${JSON.stringify(e)}`);
    }
    const entries = [...led.rows.values()].filter((e) => /^hold:.*:capture$/.test(e.ref || '')).length;
    if (entries !== holds.length) fails.push(`${entries} capture entries for ${holds.length} holds`);
    const sample = holds.filter((_, i) => i % Math.max(1, Math.floor(holds.length / 100)) === 0).slice(0, 100);
    for (const x of sample) {
        const r = await captureHold(stack, x, agent);
        if (r.status !== 200 || r.json.transaction_id !== x.transaction_id || r.headers['idempotent-replayed'] !== 'true') {
            fails.push(`replayed capture ${x.id}: ${r.status} ${r.text}`);
        }
    }
    if (await readLedger(stack, led, agent)) fails.push('replayed captures wrote to the ledger');
    await pool(accts.length, 8, async (i) => {
        const r = await stack.api('GET', '/v1/balance', { token: accts[i].token, agent });
        if (r.status !== 200 || r.json.held !== 0 || r.json.available !== r.json.balance) fails.push(`held on ${accts[i].id}: ${r.text}`);
    });
    return { resent: open.length, captured: holds.length, replayed: sample.length, fails };
}

/** Every balance = the sum of its entries as read back; the server's verify. */
async function checkBalances(ctx) {
    const { stack, accts, led, agent } = ctx;
    const fails = [];
    await readLedger(stack, led, agent);
    const sums = new Map();
    for (const e of led.rows.values()) sums.set(e.account_id, (sums.get(e.account_id) || 0) + e.amount);
    await pool(accts.length, 8, async (i) => {
        const r = await stack.api('GET', '/v1/balance', { token: accts[i].token, agent });
        if (r.status !== 200 || r.json.balance !== sums.get(accts[i].id)) {
            fails.push(`balance ${accts[i].id}: ${r.status} ${r.text} != ${sums.get(accts[i].id)}`);
        }
    });
    const v = await stack.admin('GET', '/v1/admin/ledger/verify', { agent });
    if (v.status !== 200 || v.json.ok !== true) fails.push(`ledger verify: ${v.status} ${v.text}`);
    return fails;
}

/** The store's commit and job counters from GET /metrics. */
async function storeStats(stack) {
    const r = await stack.admin('GET', '/metrics');
    const num = (name) => Number((new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(r.text) || [])[1] || NaN);
    return { commits: num('creditd_store_commits_total'), jobs: num('creditd_store_jobs_total'),
        queue: num('creditd_store_queue_depth'), retries: num('creditd_store_retries_total') };
}

/** After wrk stops, requests it cut off may still be on their way to the
 * commit inside creditd (a hold or debit whose client went away still
 * lands): waits, up to 10 s, until the store's queue is empty and its job
 * counter stands still, so that the checks see every write. */
async function quiesce(stack) {
    const deadline = Date.now() + 10000;
    let last = await storeStats(stack);
    while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        const now = await storeStats(stack);
        if (now.queue === 0 && now.jobs === last.jobs) return;
        last = now;
    }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(x[11]) + Number(x[12])) / 100; // utime, stime in USER_HZ
}

// ------------------------------------------------------------ profile

function startPerf(pid, file) {
    const p = spawn('perf', ['record', '-g', '-F', '499', '-p', String(pid), '-o', file, '--', 'sleep', String(SECONDS)],
        { stdio: ['ignore', 'ignore', fs.openSync(`${file}.log`, 'w')] });
    cleanups.push(() => { if (p.exitCode === null) p.kill('SIGINT'); });
    return new Promise((resolve) => p.on('exit', resolve));
}

function perfReport(file) {
    const rep = (sort, limit) => {
        const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', sort,
            '--percent-limit', limit, '-g', 'none'], { encoding: 'utf8', timeout: 300000, maxBuffer: 64 << 20 });
        return (r.stdout || '').split('\n').filter((l) => l.trim() && !l.startsWith('#')).slice(0, 30).join('\n');
    };
    if (!fs.existsSync(file)) return `perf recorded nothing: ${fs.readFileSync(`${file}.log`, 'utf8').trim()}`;
    return `by thread:\n${rep('pid', '2')}\nby library:\n${rep('dso', '1')}\nby function:\n${rep('dso,sym', '1')}`;
}

// ------------------------------------------------------------ main

const threadIssued = (res, key, fn) => {
    const out = [];
    for (const t of res.threads) for (let k = 0; k < t[key]; k++) out.push(fn(k, t.tid));
    return out;
};

async function main() {
    const report = { when: new Date().toISOString(), settings: Object.fromEntries(SETS), host: { cpus: os.cpus().length, load_before: load() },
        seconds: SECONDS, connections: CONNS, accounts: ACCOUNTS, db: DB || 'sqlite (temp dir)', workloads: [] };
    log(`load average ${report.host.load_before} on ${os.cpus().length} cpus`);

    log('nginx ceiling');
    const ng = await startNginx();
    const ceil = wrk('ceiling.lua', ng.url);
    ng.stop();
    report.ceiling = { per_s: ceil.per_s, p50_ms: ceil.p50_ms, p99_ms: ceil.p99_ms, ok: ceil.cother === 0 && ceil.socket_errors === 0 };

    const serverEnv = { CREDITD_LOG: 'warn', CREDITD_CHECKOUT_RATE_LIMIT: '0', CREDITD_AUTH_RATE_LIMIT: '0',
        CREDITD_MAX_PENDING_ORDERS: '10000', CREDITD_IDEM_LEASE_MS: '30000' };
    if (DB) serverEnv.CREDITD_DB = DB;
    for (const [k, v] of SETS) serverEnv[k] = v;
    // The sandbox sends no webhooks: wrk delivers the events, each once
    // (plus the re-deliveries).
    const stack = new Stack({ serverEnv, sandboxEnv: { CREDITD_LOG: 'warn', SANDBOX_WEBHOOK_URL: null } });
    await stack.start();
    cleanups.push(() => { for (const p of [stack.server, stack.sandbox]) if (p && p.running) p.child.kill('SIGKILL'); });
    // A connection per check request: a kept-alive one may be closed by
    // the server's idle deadline just as the next request goes out.
    const agent = false;
    try {
        log(`creditd up; ${ACCOUNTS} accounts`);
        const { accts, file: acctFile } = await makeAccounts(stack, stack.dir);
        const ctx = { stack, accts, agent, led: { rows: new Map(), byRef: new Map(), byOrder: new Map() } };
        await readLedger(stack, ctx.led, agent);
        const env = { PERF_KEY: stack.adminKey, PERF_ACCOUNTS: acctFile };
        const url = stack.baseUrl;
        const pid = stack.server.child.pid;

        const run = async (name, script, extraEnv, check) => {
            if (!ONLY.includes(name)) return;
            log(`${name}: ${SECONDS} s, ${CONNS} connections`);
            const s0 = await storeStats(stack);
            const spid = stack.sandbox.child.pid;
            const c0 = [cpuSeconds(pid), cpuSeconds(spid)];
            const prof = PERF === name ? startPerf(pid, path.join(stack.dir, 'perf.data')) : null;
            const res = wrk(script, url, { ...env, ...extraEnv });
            if (prof) await prof;
            const c1 = [cpuSeconds(pid), cpuSeconds(spid)];
            const s1 = await storeStats(stack);
            const store = { commits: s1.commits - s0.commits, jobs: s1.jobs - s0.jobs, retries: s1.retries - s0.retries };
            store.commits_per_s = Math.round(store.commits / res.seconds);
            store.jobs_per_commit = +(store.jobs / Math.max(1, store.commits)).toFixed(2);
            store.jobs_per_request = +(store.jobs / Math.max(1, res.requests)).toFixed(2);
            // CPU per request: creditd's own, and the Stripe sandbox's (what
            // creditd asked Stripe for during the run).
            const cpu = { creditd_us_per_req: Math.round(((c1[0] - c0[0]) * 1e6) / Math.max(1, res.requests)),
                sandbox_us_per_req: Math.round(((c1[1] - c0[1]) * 1e6) / Math.max(1, res.requests)),
                creditd_cores: +((c1[0] - c0[0]) / res.seconds).toFixed(2) };
            await quiesce(stack);
            const c = await check(res);
            const fails = [...c.fails, ...(await checkBalances(ctx))];
            if (res.cother) fails.unshift(`${res.cother} replies other than 2xx/402`);
            if (res.socket_errors) fails.unshift(`${res.socket_errors} socket errors`);
            const w = { workload: name, per_s: res.per_s, share: res.per_s / ceil.per_s, p50_ms: res.p50_ms, p99_ms: res.p99_ms,
                requests: res.requests, store, cpu, c2xx: res.c2xx, c402: res.c402, cother: res.cother, ...c, fails: fails.slice(0, 20),
                fail_count: fails.length, ok: fails.length === 0 };
            if (prof) w.profile = perfReport(path.join(stack.dir, 'perf.data'));
            report.workloads.push(w);
            log(`${name}: ${res.per_s}/s p50 ${res.p50_ms} ms p99 ${res.p99_ms} ms, check ${w.ok ? 'ok' : fails.slice(0, 3).join('; ')}`);
        };

        if (ONLY.includes('webhooks')) {
            log(`webhooks: ${ORDERS} orders through POST /v1/checkout, paid in the sandbox`);
            const orders = await makeOrders(stack, accts, ORDERS, agent);
            await payOrders(stack, orders);
            const evFile = path.join(stack.dir, 'events.tsv');
            const lines = writeEvents(stack, orders, evFile);
            await run('webhooks', 'webhooks.lua', { PERF_EVENTS: evFile }, async (res) => {
                const idx = threadIssued(res, 'wn', (k, tid) => k * THREADS + tid);
                const c = await checkOrders(ctx, lines, idx, orders);
                return { ...c, events_sent: idx.length, exhausted: idx.length === lines.length };
            });
        }
        await run('debits', 'debits.lua', {}, async (res) => {
            const issued = threadIssued(res, 'n', (k, tid) => k * THREADS + tid);
            return checkDebits(ctx, 'db', issued, (g) => g % 10 === 9);
        });
        await run('balance', 'balance.lua', {}, async () => {
            const before = ctx.led.rows.size;
            await readLedger(stack, ctx.led, agent);
            return { fails: ctx.led.rows.size === before ? [] : ['balance reads wrote to the ledger'] };
        });
        await run('holds', 'holds.lua', {}, async (res) => {
            const issued = res.threads.reduce((a, t) => a + t.n, 0);
            return { ...(await checkHolds(ctx, issued)), captures_sent: res.threads.reduce((a, t) => a + t.wn, 0) };
        });
        if (ONLY.includes('mixed')) {
            const n = Math.max(10, Math.round(ORDERS / 4));
            log(`mixed: ${n} more orders, paid in the sandbox`);
            const orders = await makeOrders(stack, accts, n, agent);
            await payOrders(stack, orders);
            const evFile = path.join(stack.dir, 'events-mixed.tsv');
            const lines = writeEvents(stack, orders, evFile);
            await run('mixed', 'mixed.lua', { PERF_EVENTS: evFile }, async (res) => {
                const idx = threadIssued(res, 'wn', (k, tid) => k * THREADS + tid);
                const o = await checkOrders(ctx, lines, idx, orders);
                const issued = threadIssued(res, 'n', (k, tid) => k * THREADS + tid).filter((g) => g % 20 >= 1 && g % 20 <= 5);
                const d = await checkDebits(ctx, 'mx', issued, (g) => Math.floor(g / 20) % 10 === 9);
                return { resent: o.resent + d.resent, credited: o.credited, accepted: d.accepted, replayed: d.replayed,
                    events_sent: idx.length, exhausted: idx.length === lines.length, fails: [...o.fails, ...d.fails] };
            });
        }
        const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        report.creditd_vmrss_kb = Number((/VmRSS:\s+(\d+)/.exec(st) || [])[1]);
        report.creditd_threads = Number((/Threads:\s+(\d+)/.exec(st) || [])[1]);
        // VmRSS = RssAnon (the heap: page caches, buffers) + RssFile (mapped
        // files: the binary, and the database when SQLite maps it).
        report.creditd_rssanon_kb = Number((/RssAnon:\s+(\d+)/.exec(st) || [])[1]);
        report.creditd_rssfile_kb = Number((/RssFile:\s+(\d+)/.exec(st) || [])[1]);
    } finally {
        await stack.stop();
    }
    report.host.load_after = load();
    report.ok = report.ceiling.ok && report.workloads.every((w) => w.ok);
    printTable(report);
    if (JSON_OUT) {
        const f = JSON_OUT === true ? `perf-${report.when.replace(/[:.]/g, '-')}.json` : JSON_OUT;
        fs.writeFileSync(f, JSON.stringify(report, null, 2));
        console.log(`results saved to ${f}`);
    }
    if (!report.ok) process.exitCode = 1;
}

function printTable(r) {
    const rows = [['workload', 'req/s', 'share of nginx', 'p50 ms', 'p99 ms', 'check']];
    rows.push(['nginx fixed 200 (ceiling)', r.ceiling.per_s, '100 %', r.ceiling.p50_ms, r.ceiling.p99_ms, r.ceiling.ok ? 'ok' : 'FAIL']);
    for (const w of r.workloads) {
        rows.push([w.workload, w.per_s, `${(w.share * 100).toFixed(1)} %`, w.p50_ms, w.p99_ms, w.ok ? 'ok' : 'FAIL']);
    }
    console.log(`\n${r.when}  ${r.host.cpus} cpus, load average before ${r.host.load_before}, after ${r.host.load_after}`);
    console.log(`wrk -t${THREADS} -c${r.connections} -d${r.seconds}s; ${r.accounts} accounts; store ${r.db}\n`);
    const width = rows[0].map((_, i) => Math.max(...rows.map((x) => String(x[i]).length)));
    for (const [i, x] of rows.entries()) {
        console.log(`| ${x.map((v, j) => String(v).padEnd(width[j])).join(' | ')} |`);
        if (i === 0) console.log(`|${width.map((n) => '-'.repeat(n + 2)).join('|')}|`);
    }
    for (const w of r.workloads) {
        const bits = [`${w.requests} requests`, `${w.c2xx} 2xx`, `${w.c402} 402`];
        if (w.events_sent !== undefined) bits.push(`${w.events_sent} events sent${w.exhausted ? ' (the prepared events ran out before the time did: req/s is a lower bound, raise --orders)' : ''}`);
        if (w.credited !== undefined) bits.push(`${w.credited} orders credited once`);
        if (w.accepted !== undefined) bits.push(`${w.accepted} debits in the ledger`);
        if (w.captured !== undefined) bits.push(`${w.captured} holds captured once`);
        if (w.replayed) bits.push(`${w.replayed} replays unchanged`);
        if (w.resent) bits.push(`${w.resent} resent after the cut-off`);
        bits.push(`store: ${w.store.commits_per_s} commits/s, ${w.store.jobs_per_commit} jobs per commit, ${w.store.retries} retries, ${w.store.jobs_per_request} jobs per request; CPU per request: creditd ${w.cpu.creditd_us_per_req} µs (${w.cpu.creditd_cores} cores busy), Stripe sandbox ${w.cpu.sandbox_us_per_req} µs`);
        console.log(`${w.workload}: ${bits.join(', ')}`);
        for (const f of w.fails) console.log(`  FAIL ${f}`);
        if (w.profile) console.log(`profile of creditd during ${w.workload} (perf, self time):\n${w.profile}`);
    }
    if (r.creditd_vmrss_kb) console.log(`creditd VmRSS at the end: ${(r.creditd_vmrss_kb / 1024).toFixed(1)} MiB ` +
        `(RssAnon ${(r.creditd_rssanon_kb / 1024).toFixed(1)}, RssFile ${(r.creditd_rssfile_kb / 1024).toFixed(1)}), ${r.creditd_threads} threads`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
