// writer.mjs - the SQLite writer thread's cost per write job, on its own:
// N keyed debits (or holds with their captures) sent with `--conc` in
// flight to the real creditd, then the writer's CPU per job (the thread
// of creditd that used the most CPU during the load, read from
// /proc/<pid>/task) and, with --callgrind, its instructions per job and
// where they go (valgrind's callgrind on `creditd serve`, collecting only
// during the load, one profile per thread; callgrind_annotate of the
// writer's). Instructions do not depend on the machine's load, so two
// builds compare in one sitting even on a shared machine; CPU does.
// --perf samples the process with `perf record -g` during the load and
// prints the writer thread's self time by library and function.
//
//   node bench/writer.mjs [--work=debits|holds] [--n=3000] [--accounts=200]
//       [--conc=64] [--callgrind | --perf] [--top=40] [--keep]
//
// CREDITD_BIN picks the build (a "before" binary for comparison). Every
// tenth debit asks for more than any balance (402), as in perf.mjs; the
// end checks every 1-credit debit left one entry and the ledger verifies.
// Loopback only, bounded by --n.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const opt = (k, d) => {
    const a = process.argv.find((x) => x === `--${k}` || x.startsWith(`--${k}=`));
    if (!a) return d;
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : true;
};
const WORK = opt('work', 'debits');
const N = Number(opt('n', 3000));
const ACCOUNTS = Number(opt('accounts', 200));
const CONC = Number(opt('conc', 64));
const CALLGRIND = opt('callgrind', false);
const TOP = Number(opt('top', 40));
const PERF = opt('perf', false);
if (!['debits', 'holds'].includes(WORK) || !(N >= 10 && N <= 200000 && ACCOUNTS >= 1 && ACCOUNTS <= 5000 && CONC >= 1 && CONC <= 512)) {
    throw new Error('--work=debits|holds, --n 10..200000, --accounts 1..5000, --conc 1..512');
}

const REAL = path.resolve(process.env.CREDITD_BIN || path.join(import.meta.dirname, '..', 'build', 'creditd'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-'));
if (CALLGRIND) {
    // The server under callgrind, the sandbox as it is.
    const w = path.join(tmp, 'creditd');
    fs.writeFileSync(w, `#!/bin/sh\nif [ "$1" = serve ]; then exec valgrind --tool=callgrind --separate-threads=yes ` +
        `--instr-atstart=no --callgrind-out-file=${tmp}/cg.out "${REAL}" "$@"; fi\nexec "${REAL}" "$@"\n`);
    fs.chmodSync(w, 0o755);
    process.env.CREDITD_BIN = w;
} else {
    process.env.CREDITD_BIN = REAL;
}
const { Stack: BaseStack, waitReady } = await import('../tests/e2e/harness.mjs');
// valgrind takes a while to start creditd on a busy machine.
class Stack extends BaseStack {
    async startServer() {
        this.server.start();
        await waitReady(this.server, `${this.baseUrl}/healthz`, 180000);
    }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
const log = (...a) => console.error(`[writer ${new Date().toISOString().slice(11, 19)}]`, ...a);

async function pool(total, conc, fn) {
    let next = 0;
    const worker = async () => { while (next < total) await fn(next++); };
    await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
}

/** CPU seconds per thread of pid: Map tid -> seconds. */
function threadCpu(pid) {
    const out = new Map();
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
        try {
            const f = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
            const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
            out.set(t, (Number(x[11]) + Number(x[12])) / 100);
        } catch { /* the thread ended */ }
    }
    return out;
}

/** valgrind runs its tool as a child process: the deepest descendant. */
function descendant(pid) {
    for (;;) {
        const kids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
            try {
                const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
                return Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === pid;
            } catch { return false; }
        });
        if (!kids.length) return pid;
        pid = Number(kids[0]);
    }
}

async function storeStats(stack) {
    const r = await stack.admin('GET', '/metrics', { agent });
    const num = (name) => Number((new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(r.text) || [])[1] || NaN);
    return { commits: num('creditd_store_commits_total'), jobs: num('creditd_store_jobs_total') };
}

const RUN = `w${Date.now().toString(36)}`;
// Every request here carries its own Idempotency-Key: one whose kept-alive
// connection the server closed meanwhile (its idle deadline, slow under
// valgrind) is sent again, as a client would.
async function retried(fn) {
    for (let i = 0; ; i++) {
        try {
            return await fn();
        } catch (e) {
            if (i >= 3 || e.code !== 'ECONNRESET') throw e;
        }
    }
}
const debit = (stack, accts, g) => {
    const over = g % 10 === 9;
    return retried(() => stack.asServer(accts[g % accts.length], 'POST', '/v1/debits', { agent, idem: `${RUN}-d-${g}`,
        body: `{"amount":${over ? '1000000000000' : 1},"description":"writer debit"}`, headers: { 'Content-Type': 'application/json' } }));
};

/** A hold of 5 and its capture of 3: two requests, two jobs. */
async function holdCapture(stack, accts, g) {
    const a = accts[g % accts.length];
    const h = await retried(() => stack.asServer(a, 'POST', '/v1/holds', { agent, idem: `${RUN}-h-${g}`,
        body: '{"amount":5,"expires_in":3600,"description":"writer hold"}', headers: { 'Content-Type': 'application/json' } }));
    if (h.status !== 201) return [h];
    const c = await retried(() => stack.asServer(a, 'POST', `/v1/holds/${h.json.id}/capture`, { agent, idem: `${RUN}-c-${g}`,
        body: '{"amount":3}', headers: { 'Content-Type': 'application/json' } }));
    return [h, c];
}

async function load(stack, accts) {
    const statuses = new Map();
    let requests = 0;
    const count = (r) => { requests++; statuses.set(r.status, (statuses.get(r.status) || 0) + 1); };
    await pool(WORK === 'debits' ? N : Math.ceil(N / 2), CONC, async (g) => {
        if (WORK === 'debits') count(await debit(stack, accts, g));
        else for (const r of await holdCapture(stack, accts, g)) count(r);
    });
    return { requests, statuses: Object.fromEntries(statuses) };
}

async function check(stack, accts) {
    const fails = [];
    const v = await stack.admin('GET', '/v1/admin/ledger/verify', { agent });
    if (v.status !== 200 || v.json.ok !== true) fails.push(`ledger verify: ${v.status} ${v.text}`);
    if (WORK === 'debits') {
        let sum = 0;
        for (const a of accts) {
            const r = await stack.asServer(a, 'GET', '/v1/balance', { agent });
            sum += 1_000_000_000 - r.json.balance;
        }
        const want = N - Math.floor((N + 0) / 10);
        if (sum !== want) fails.push(`debited ${sum} credits, want ${want}`);
        const r = await debit(stack, accts, 0);
        if (r.status !== 201 || r.headers['idempotent-replayed'] !== 'true') fails.push(`replay: ${r.status}`);
    }
    return fails;
}

function callgrindReport(writerTid) {
    const files = fs.readdirSync(tmp).filter((f) => f.startsWith('cg.out'));
    // The writer's file: the thread with the most instructions.
    let best = null;
    for (const f of files) {
        const m = /^totals: (\d+)/m.exec(fs.readFileSync(path.join(tmp, f), 'utf8'));
        const ir = m ? Number(m[1]) : 0;
        if (!best || ir > best.ir) best = { f, ir };
    }
    const ann = (inclusive) => spawnSync('callgrind_annotate', [`--inclusive=${inclusive ? 'yes' : 'no'}`, `--threshold=99`,
        path.join(tmp, best.f)], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n')
        .filter((l) => /^\s*[0-9,]+ /.test(l)).slice(0, TOP).join('\n');
    void writerTid;
    return { file: best.f, ir: best.ir, self: ann(false), inclusive: ann(true), threads: files.length };
}

async function main() {
    log(`${WORK}: ${N} requests${WORK === 'holds' ? ' (holds + captures)' : ''}, ${ACCOUNTS} accounts, ${CONC} in flight, ${CALLGRIND ? 'callgrind' : 'native'}, ${path.basename(REAL)}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const stack = new Stack({ serverEnv: { CREDITD_LOG: 'warn', CREDITD_IDEM_LEASE_MS: '30000', CREDITD_AUTH_RATE_LIMIT: '0' },
        sandboxEnv: { CREDITD_LOG: 'warn', SANDBOX_WEBHOOK_URL: null } });
    await stack.start();
    try {
        const accts = [];
        await pool(ACCOUNTS, 8, async (i) => {
            const r = await stack.admin('POST', '/v1/accounts', { agent, body: { external_id: `${RUN}-${i}` } });
            if (r.status !== 201) throw new Error(`account: ${r.status} ${r.text}`);
            const g = await stack.asServer(r.json.id, 'POST', '/v1/grants', { agent, body: { amount: 1_000_000_000, description: 'writer' } });
            if (g.status !== 201) throw new Error(`grant: ${g.status} ${g.text}`);
            accts[i] = r.json.id;
        });
        const pid = CALLGRIND ? descendant(stack.server.child.pid) : stack.server.child.pid;
        const s0 = await storeStats(stack);
        if (CALLGRIND) spawnSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
        const perfFile = path.join(tmp, 'perf.data');
        const prof = PERF && spawn('perf', ['record', '-g', '-F', '999', '-p', String(pid), '-o', perfFile],
            { stdio: ['ignore', 'ignore', 'ignore'] });
        const t0 = threadCpu(pid);
        const c0 = Date.now();
        const res = await load(stack, accts);
        const secs = (Date.now() - c0) / 1000;
        const t1 = threadCpu(pid);
        if (prof) {
            prof.kill('SIGINT');
            await new Promise((r) => prof.on('exit', r));
        }
        if (CALLGRIND) spawnSync('callgrind_control', ['-i', 'off', String(pid)], { stdio: 'ignore' });
        const s1 = await storeStats(stack);
        let writer = null, total = 0;
        for (const [tid, s] of t1) {
            const d = s - (t0.get(tid) || 0);
            total += d;
            if (!writer || d > writer.d) writer = { tid, d };
        }
        const jobs = s1.jobs - s0.jobs, commits = s1.commits - s0.commits;
        const out = { work: WORK, requests: res.requests, statuses: res.statuses, seconds: secs, per_s: Math.round(res.requests / secs),
            jobs, commits, jobs_per_commit: +(jobs / Math.max(1, commits)).toFixed(1),
            writer_us_per_job: Math.round((writer.d * 1e6) / Math.max(1, jobs)), creditd_us_per_req: Math.round((total * 1e6) / res.requests),
            load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
        if (prof) {
            const rep = (sort) => spawnSync('perf', ['report', '-i', perfFile, '--stdio', '--no-children', '--tid', writer.tid,
                '--sort', sort, '--percent-limit', '0.7', '-g', 'none'], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout
                .split('\n').filter((l) => l.trim() && !l.startsWith('#')).slice(0, TOP).join('\n');
            out.profile = `writer thread ${writer.tid}, by library:\n${rep('dso')}\nby function:\n${rep('dso,sym')}`;
        }
        if (CALLGRIND) {
            await stack.server.stop('SIGTERM', 60000);
            const cg = callgrindReport(writer.tid);
            out.writer_ir_per_job = Math.round(cg.ir / Math.max(1, jobs));
            console.log(JSON.stringify(out));
            console.log(`writer thread (${cg.file}), self:\n${cg.self}\ninclusive:\n${cg.inclusive}`);
        } else {
            out.fails = await check(stack, accts);
            const { profile } = out;
            delete out.profile;
            console.log(JSON.stringify(out));
            if (profile) console.log(profile);
        }
    } finally {
        if (stack.server.running) await stack.server.stop('SIGKILL');
        await stack.stop().catch(() => {});
        if (!opt('keep', false)) fs.rmSync(tmp, { recursive: true, force: true });
        else log(`kept ${tmp}`);
    }
}
await main();
