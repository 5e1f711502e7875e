// sqltrace.mjs - what one keyed debit and one checkout.session.completed
// webhook execute in the writer (docs/PERFORMANCE.md, "What one job
// executes"). Needs a build with assertions on (build-asan/ or a Debug
// build): the writer's statement tracer (src/store/sql_trace.c) is on with
// CREDITD_SQL_TRACE=1 and prints each statement and the WAL's frames after
// each commit to the server's log.
//
//   CREDITD_BIN=$PWD/build-asan/creditd node bench/sqltrace.mjs [--n=5]
//       [--burst=256] [--fill=5000]
//
// Prints, for the last of n keyed debits (server key + Creditd-Account,
// each its own Idempotency-Key) and for the last of n paid top-ups (the
// sandbox sends checkout.session.completed), every statement the writer
// ran between the request and its reply, and the WAL frames its commit
// wrote. With --burst=K it then sends K keyed debits at once over 32
// accounts, and pays K top-ups at once (their webhooks arrive together),
// so that the writer batches them as under load, and prints the WAL
// frames written per job and the jobs per commit. --fill=N first makes
// N keyed debits (not measured), so the indexes are more than a few
// pages, as in a database in use: a random key then dirties a leaf page
// of its own.
import fs from 'node:fs';
import { Stack, waitFor } from '../tests/e2e/harness.mjs';

const arg = (k, d) => {
    const a = process.argv.find((x) => x.startsWith(`--${k}=`));
    return a ? a.slice(k.length + 3) : d;
};
const N = Number(arg('n', '5'));
const BURST = Number(arg('burst', '0'));
const FILL = Number(arg('fill', '0'));

const stack = new Stack({ serverEnv: { CREDITD_SQL_TRACE: '1', CREDITD_LOG: 'info' } });
await stack.start();
const log = () => fs.readFileSync(stack.server.logFile, 'utf8');
const lines = () => log().split('\n').filter((l) => l.startsWith('sqltrace '));

/* The writer's lines of one action: everything traced while it ran (the
 * trace is flushed before the reply, the WAL line right after COMMIT). */
async function traced(label, fn) {
    const from = lines().length;
    await fn();
    await waitFor(() => lines().slice(from).some((l) => l.startsWith('sqltrace wal')), 5000);
    const got = lines().slice(from);
    const stmts = got.filter((l) => l.startsWith('sqltrace stmt'));
    const wal = got.filter((l) => l.startsWith('sqltrace wal')).map((l) => Number(l.split(' ')[2]));
    console.log(`\n== ${label}: ${stmts.length} statements, WAL frames after each commit: ${wal.join(', ')}`);
    for (const s of stmts) {
        const [, , ns, ...sql] = s.split(' ');
        console.log(`${String(Math.round(ns / 1000)).padStart(5)} µs  ${sql.join(' ').replace(/\s+/g, ' ')}`);
    }
    return { stmts, wal };
}

/* WAL frames, commits and jobs while fn runs (its jobs alone: nothing
 * else writes meanwhile but the outbox/mail senders, counted apart). */
async function measured(label, jobs, fn) {
    const from = lines().length;
    await fn();
    await waitFor(() => lines().slice(from).some((l) => l.startsWith('sqltrace wal')), 5000);
    const got = lines().slice(from);
    const before = Number((lines().slice(0, from).filter((l) => l.startsWith('sqltrace wal')).pop() || 'sqltrace wal 0').split(' ')[2]);
    const wal = got.filter((l) => l.startsWith('sqltrace wal')).map((l) => Number(l.split(' ')[2]));
    const commits = got.filter((l) => / COMMIT$/.test(l)).length;
    const saves = got.filter((l) => / SAVEPOINT j$/.test(l)).length;
    const stmts = got.filter((l) => l.startsWith('sqltrace stmt') && !/ (BEGIN IMMEDIATE|SAVEPOINT j|RELEASE j|COMMIT)$/.test(l)).length;
    const frames = wal[wal.length - 1] - before;
    console.log(`\n== burst ${label}: ${jobs} requests, ${saves} write jobs in ${commits} commits ` +
        `(${(saves / commits).toFixed(1)} jobs/commit), ${stmts} statements ` +
        `(${(stmts / jobs).toFixed(1)} per request), ${frames} WAL frames (${(frames / jobs).toFixed(2)} per request)`);
}

async function burst(u0) {
    const users = [u0];
    for (let i = 1; i < 32; i++) {
        const u = await stack.signup();
        await stack.grant(u, 1000000);
        users.push(u);
    }
    for (let i = 0; i < FILL; i += 64) {
        await Promise.all(Array.from({ length: Math.min(64, FILL - i) }, (_, k) =>
            stack.asServer(users[(i + k) % users.length].id, 'POST', '/v1/debits', { idem: `fill-${i + k}-${Date.now()}`, body: { amount: 1, description: 'fill' } })));
    }
    await measured('keyed debits', BURST, () => Promise.all(Array.from({ length: BURST }, (_, i) =>
        stack.asServer(users[i % users.length].id, 'POST', '/v1/debits', { idem: `burst-${i}-${Date.now()}`, body: { amount: 1, description: 'burst' } })
            .then((r) => { if (r.status !== 201) throw new Error(`debit ${r.status} ${r.text}`); }))));
    const cos = [];
    for (let i = 0; i < BURST; i++) cos.push({ u: users[i % users.length], co: await stack.checkout(users[i % users.length], { kind: 'topup', amount_cents: 1000 }) });
    await measured('paid top-ups (webhooks)', BURST, () => Promise.all(cos.map(async ({ u, co }) => {
        const c = await stack.completeSession(co.session_id);
        if (c.status !== 200) throw new Error(`complete ${c.status} ${c.text}`);
        await stack.waitFulfilled(u, co.session_id, 60000);
    })));
}

try {
    const u = await stack.signup();
    await stack.grant(u, 1000000);
    const wals = [];
    for (let i = 0; i < N; i++) {
        const r = await traced(`keyed debit ${i + 1}`, async () => {
            const d = await stack.asServer(u.id, 'POST', '/v1/debits', { idem: `trace-${i}-${Date.now()}`, body: { amount: 1, description: 'trace' } });
            if (d.status !== 201) throw new Error(`debit ${d.status} ${d.text}`);
        });
        wals.push(r.wal);
    }
    for (let i = 0; i < N; i++) {
        let co;
        await traced(`POST /v1/checkout ${i + 1}`, async () => {
            co = await stack.checkout(u, { kind: 'topup', amount_cents: 1000 });
        });
        const r = await traced(`paid in the sandbox, its webhooks ${i + 1}`, async () => {
            const c = await stack.completeSession(co.session_id);
            if (c.status !== 200) throw new Error(`complete ${c.status} ${c.text}`);
            await stack.waitFulfilled(u, co.session_id);
        });
        wals.push(r.wal);
    }
    if (BURST > 0) await burst(u);
} finally {
    await stack.stop();
}
