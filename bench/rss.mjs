// rss.mjs - creditd's resident memory with many accounts: starts the real
// server on a fresh database (migrated), stops it, inserts N accounts in
// one bulk SQL statement through Debian's sqlite3 CLI (ids acct_<24 digits>,
// balance 0, no ledger entries, so the ledger invariant holds), starts it
// again and reads VmRSS after start, after a balance-read load of random
// accounts (wrk, server key + Creditd-Account), and checks the ledger.
//
//   node bench/rss.mjs [--accounts=1000000] [--seconds=10] [--connections=64]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Stack } from '../tests/e2e/harness.mjs';

const opt = (name, dflt) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : dflt;
};
const N = opt('accounts', 1_000_000);
const SECONDS = opt('seconds', 10);
const CONNS = opt('connections', 64);
if (!(N >= 1 && N <= 20_000_000 && SECONDS >= 1 && SECONDS <= 120 && CONNS >= 1 && CONNS <= 512)) {
    throw new Error('out of range: --accounts 1..2e7, --seconds 1..120, --connections 1..512');
}
const LUA = path.join(import.meta.dirname, 'perf');
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;

async function main() {
    const stack = new Stack({ serverEnv: { CREDITD_LOG: 'warn' }, sandboxEnv: { CREDITD_LOG: 'warn' } });
    await stack.start();
    const out = { accounts: N };
    try {
        await stack.server.stop('SIGTERM');
        const sql = `PRAGMA journal_mode=WAL;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${N})
INSERT INTO accounts (id, email, password_hash, balance, created_at)
SELECT printf('acct_%024d', x), printf('bulk%d@example.com', x), NULL, 0, unixepoch() FROM c;`;
        let t0 = Date.now();
        const s = spawnSync('sqlite3', [stack.dbPath], { input: sql, encoding: 'utf8', timeout: 600000 });
        if (s.status !== 0) throw new Error(`sqlite3: ${s.stderr}`);
        out.insert_s = (Date.now() - t0) / 1000;
        out.db_mib = +(['', '-wal'].map((x) => fs.existsSync(stack.dbPath + x) ? fs.statSync(stack.dbPath + x).size : 0).reduce((a, b) => a + b) / 1048576).toFixed(1);
        t0 = Date.now();
        await stack.startServer();
        out.start_s = (Date.now() - t0) / 1000;
        const pid = stack.server.child.pid;
        out.rss_after_start_kb = rssKb(pid);
        const w = spawnSync('wrk', ['-t2', `-c${CONNS}`, `-d${SECONDS}s`, '--latency', '-s', path.join(LUA, 'balance-server.lua'), stack.baseUrl],
            { env: { ...process.env, PERF_LUA_DIR: LUA, PERF_KEY: stack.adminKey, PERF_ACCOUNT_COUNT: String(N) },
                encoding: 'utf8', timeout: (SECONDS + 60) * 1000 });
        const line = (w.stdout || '').split('\n').find((l) => l.startsWith('wrk-json '));
        if (!line) throw new Error(`wrk: ${w.stdout} ${w.stderr}`);
        const j = JSON.parse(line.slice(9));
        out.reads_per_s = Math.round(j.requests / j.seconds);
        out.p50_ms = j.p50_us / 1000;
        out.p99_ms = j.p99_us / 1000;
        out.non2xx = j.non2xx3xx;
        out.rss_after_load_kb = rssKb(pid);
        const v = await stack.admin('GET', '/v1/admin/ledger/verify');
        out.verify_ok = v.status === 200 && v.json.ok === true && v.json.accounts === N;
    } finally {
        await stack.stop();
    }
    console.log(JSON.stringify(out));
    console.log(`${N} accounts: bulk insert ${out.insert_s} s (${out.db_mib} MiB), start ${out.start_s} s; VmRSS ` +
        `${mib(out.rss_after_start_kb)} after start, ${mib(out.rss_after_load_kb)} after ${SECONDS} s of balance reads ` +
        `(${out.reads_per_s}/s, p50 ${out.p50_ms} ms, p99 ${out.p99_ms} ms, ${out.non2xx} non-2xx); ledger verify ${out.verify_ok ? 'ok' : 'FAILED'}`);
    if (!out.verify_ok || out.non2xx) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
