// pages.mjs - the time of a transactions (and a payments) page as one
// account's ledger (and payment history) grows: for each size, a fresh
// database (the real server migrates it), one account and `size` ledger
// rows bulk-inserted through Debian's sqlite3 CLI (balance = the sum, and
// the entry count migration 023's trigger keeps set once after the fill,
// so the ledger invariant holds), then,
// through the real server over HTTP, the median of 9 requests (after one
// unmeasured) for:
//   - the first page of GET /v1/transactions;
//   - its oldest page by keyset (starting_after the 21st-oldest entry, 024);
//   - its oldest page by offset (offset = size - 20);
//   - the oldest page of GET /v1/admin/ledger?account= (keyset);
// and, over as many orders and payments of the same account (one paid
// order per payment, bulk-inserted the same way, 026's count triggers
// dropped for the fill), the first, the oldest by keyset and the oldest
// by offset page of GET /v1/payments.
//
//   node bench/pages.mjs [--sizes=1000,1000000,10000000]
import { spawnSync } from 'node:child_process';
import { Stack } from '../tests/e2e/harness.mjs';

const a = process.argv.find((x) => x.startsWith('--sizes='));
const SIZES = (a ? a.slice(8) : '1000,1000000').split(',').map(Number);
if (!SIZES.every((n) => n >= 100 && n <= 20_000_000)) throw new Error('--sizes: each 100..2e7');

async function median(fn) {
    const t = [];
    await fn(); // warm: the first request after start opens statements
    for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        const r = await fn();
        if (r.status !== 200 || !r.json.data.length) throw new Error(`${r.status} ${r.text.slice(0, 200)}`);
        t.push(performance.now() - t0);
    }
    return +t.sort((x, y) => x - y)[4].toFixed(2);
}

async function measure(size) {
    const stack = new Stack({ serverEnv: { CREDITD_LOG: 'warn' }, sandboxEnv: { CREDITD_LOG: 'warn' } });
    await stack.start();
    try {
        const u = await stack.signup();
        await stack.server.stop('SIGTERM');
        // The fill: the count trigger (023) dropped for the insert and put
        // back as the migration wrote it, the count set once.
        const trigs = ['ledger_entries_count', 'orders_count', 'payments_count'].map((name) => {
            const t = spawnSync('sqlite3', [stack.dbPath, `SELECT sql FROM sqlite_master WHERE name = '${name}'`], { encoding: 'utf8' });
            if (t.status !== 0 || !t.stdout.includes('CREATE TRIGGER')) throw new Error(`sqlite3: ${t.stderr}`);
            return { name, sql: t.stdout.trim() };
        });
        const sql = `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;
BEGIN;
${trigs.map((t) => `DROP TRIGGER ${t.name};`).join('\n')}
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${size})
INSERT INTO ledger (id, account_id, amount, balance_after, kind, ref, description, created_at)
SELECT printf('txn_%024d', x), '${u.id}', 1, x, 'grant', printf('bulk:%d', x), 'bulk', 1700000000 + x FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${size})
INSERT INTO orders (id, account_id, kind, status, amount_cents, credits, currency, created_at, completed_at, updated_at)
SELECT printf('ord_%024d', x), '${u.id}', 'topup', 'completed', 1000, 1000, 'usd', 1700000000 + x, 1700000000 + x, 1700000000 + x FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${size})
INSERT INTO payments (id, order_id, account_id, status, amount_cents, currency, description, created_at, paid_at)
SELECT printf('pay_%024d', x), printf('ord_%024d', x), '${u.id}', 'succeeded', 1000, 'usd', 'bulk', 1700000000 + x, 1700000000 + x FROM c;
${trigs.map((t) => `${t.sql};`).join('\n')}
UPDATE accounts SET balance = ${size}, ledger_entries = ${size}, orders_count = ${size}, payments_count = ${size} WHERE id = '${u.id}';
COMMIT;`;
        const t0 = Date.now();
        const s = spawnSync('sqlite3', [stack.dbPath], { input: sql, encoding: 'utf8', timeout: 1800000 });
        if (s.status !== 0) throw new Error(`sqlite3: ${s.stderr}`);
        const insert_s = (Date.now() - t0) / 1000;
        await stack.startServer();
        // A page at 10M rows can take longer than the harness's 15 s default.
        const timeoutMs = 300000;
        const tx = (q) => () => stack.api('GET', `/v1/transactions?${q}`, { token: u.token, timeoutMs });
        // The 21st-oldest row: starting after it, the keyset page is the oldest 20.
        const oldest = `txn_${String(21).padStart(24, '0')}`;
        const keyset = () => stack.admin('GET', `/v1/admin/ledger?account=${u.id}&limit=20&starting_after=${oldest}`, { timeoutMs });
        const r = { size, insert_s, first_page_ms: await median(tx('limit=20')),
            last_page_keyset_ms: await median(tx(`limit=20&starting_after=${oldest}`)),
            last_page_offset_ms: await median(tx(`limit=20&offset=${size - 20}`)),
            admin_oldest_keyset_ms: await median(keyset) };
        const last = await tx(`limit=20&starting_after=${oldest}`)();
        if (last.json.data.at(-1).id !== `txn_${String(1).padStart(24, '0')}` || last.json.has_more || last.json.total !== size)
            throw new Error(`the keyset page is not the oldest 20: ${last.text.slice(0, 300)}`);
        const pay = (q) => () => stack.api('GET', `/v1/payments?${q}`, { token: u.token, timeoutMs });
        const oldestPay = `pay_${String(21).padStart(24, '0')}`;
        r.pay_first_page_ms = await median(pay('limit=20'));
        r.pay_last_page_keyset_ms = await median(pay(`limit=20&starting_after=${oldestPay}`));
        r.pay_last_page_offset_ms = await median(pay(`limit=20&offset=${size - 20}`));
        const lastPay = await pay(`limit=20&starting_after=${oldestPay}`)();
        if (lastPay.json.data.at(-1).id !== `pay_${String(1).padStart(24, '0')}` || lastPay.json.has_more || lastPay.json.total !== size)
            throw new Error(`the payments keyset page is not the oldest 20: ${lastPay.text.slice(0, 300)}`);
        return r;
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
    console.log('| ledger rows (one account) | first page | oldest page, keyset (`starting_after`) | oldest page, offset | admin ledger oldest page, keyset |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.size.toLocaleString('en')} | ${r.first_page_ms} ms | ${r.last_page_keyset_ms} ms | ${r.last_page_offset_ms} ms | ${r.admin_oldest_keyset_ms} ms |`);
    console.log('');
    console.log('| payments (one account) | first page | oldest page, keyset (`starting_after`) | oldest page, offset |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.size.toLocaleString('en')} | ${r.pay_first_page_ms} ms | ${r.pay_last_page_keyset_ms} ms | ${r.pay_last_page_offset_ms} ms |`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
