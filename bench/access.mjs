// access.mjs - the cost of an account read as access purchases grow
// (ACCESS_ORDER, migration 030): for each size, a fresh SQLite database
// (the real server migrates it), one signed-up account, then `size` other
// accounts each with one paid access order bulk-inserted through Debian's
// sqlite3 CLI (and one paid access order for the measured account), the
// server restarted, then over HTTP, sequentially on one keep-alive client:
//   - GET /v1/account with the account's token (reads the account with its
//     access: ACCOUNT_SEL, two correlated subqueries over orders);
//   - GET /v1/admin/accounts?limit=100 (100 accounts, 200 subqueries);
// each the median wall time of `--reads` requests (after 10 unmeasured)
// and the server's CPU per request (/proc/<pid>/stat, user + system).
//
//   CREDITD_BIN=... node bench/access.mjs [--sizes=100,10000] [--reads=300]
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Stack } from '../tests/e2e/harness.mjs';

const opt = (k, d) => {
    const a = process.argv.find((x) => x.startsWith(`--${k}=`));
    return a ? a.slice(k.length + 3) : d;
};
const SIZES = opt('sizes', '100,10000').split(',').map(Number);
const READS = Number(opt('reads', '300'));
if (!SIZES.every((n) => n >= 1 && n <= 1_000_000)) throw new Error('--sizes: each 1..1e6');
if (!(READS >= 10 && READS <= 10_000)) throw new Error('--reads: 10..10000');

function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(x[11]) + Number(x[12])) / 100; // utime, stime in USER_HZ
}

async function timed(stack, fn, check) {
    for (let i = 0; i < 10; i++) check(await fn());
    const pid = stack.server.child.pid;
    const t = [];
    const c0 = cpuSeconds(pid);
    for (let i = 0; i < READS; i++) {
        const t0 = performance.now();
        check(await fn());
        t.push(performance.now() - t0);
    }
    const cpu_us = ((cpuSeconds(pid) - c0) * 1e6) / READS;
    t.sort((x, y) => x - y);
    return { median_ms: +t[Math.floor(READS / 2)].toFixed(3), cpu_us: Math.round(cpu_us) };
}

function fill(stack, u, size) {
    const sql = `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${size})
INSERT INTO accounts (id, email, created_at) SELECT printf('acct_bulk%016d', x), printf('bulk%d@example.com', x), 1700000000 + x FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${size})
INSERT INTO orders (id, account_id, kind, status, amount_cents, credits, currency, created_at, completed_at, updated_at)
SELECT printf('ord_bulk%016d', x), printf('acct_bulk%016d', x), 'access', 'completed', 1000, 1000, 'usd', 1700000000 + x, 1700000000 + x, 1700000000 + x FROM c;
INSERT INTO orders (id, account_id, kind, status, amount_cents, credits, currency, created_at, completed_at, updated_at)
VALUES ('ord_bulkmine', '${u.id}', 'access', 'completed', 1000, 1000, 'usd', 1700000000, 1700000000, 1700000000);
COMMIT;`;
    const s = spawnSync('sqlite3', [stack.dbPath], { input: sql, encoding: 'utf8', timeout: 600000 });
    if (s.status !== 0) throw new Error(`sqlite3: ${s.stderr}`);
}

async function measure(size) {
    const stack = new Stack({ serverEnv: { CREDITD_LOG: 'warn' }, sandboxEnv: { CREDITD_LOG: 'warn' } });
    await stack.start();
    try {
        const u = await stack.signup();
        await stack.server.stop('SIGTERM');
        fill(stack, u, size);
        await stack.startServer();
        const account = await timed(stack, () => stack.api('GET', '/v1/account', { token: u.token }), (r) => {
            if (r.status !== 200 || !r.json.access.granted) throw new Error(`GET /v1/account: ${r.status} ${r.text.slice(0, 200)}`);
        });
        const list = await timed(stack, () => stack.admin('GET', '/v1/admin/accounts?limit=100'), (r) => {
            if (r.status !== 200 || r.json.data.length !== 100) throw new Error(`admin list: ${r.status} ${r.text.slice(0, 200)}`);
        });
        return { size, account, list };
    } finally {
        await stack.stop();
    }
}

async function main() {
    const rows = [];
    for (const n of SIZES) {
        rows.push(await measure(n));
        console.error(JSON.stringify(rows.at(-1)));
    }
    console.log('| accounts with an access order | `GET /v1/account` median | CPU per request | `GET /v1/admin/accounts?limit=100` median | CPU per request |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
        console.log(`| ${r.size.toLocaleString('en')} | ${r.account.median_ms} ms | ${r.account.cpu_us} µs | ${r.list.median_ms} ms | ${r.list.cpu_us} µs |`);
    }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
