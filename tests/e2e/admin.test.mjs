// admin.test.mjs - the operator's lists and exports: GET
// /v1/admin/accounts?email= filters, GET /v1/admin/orders and
// /v1/admin/ledger (every account, filters, keyset pages with
// starting_after, bounded limit), and the streamed CSV exports
// /v1/admin/export/orders.csv and ledger.csv (RFC 4180 quoting, formula
// cells defused, every row once across pages).

import assert from 'node:assert/strict';
import http from 'node:http';
import { e2e, expectError, rand, useStack } from './harness.mjs';

const stack = useStack();

/** Every page of an admin list, following next_starting_after. */
async function allPages(path, limit) {
    const seen = [];
    let after = null;
    for (let i = 0; i < 1000; i++) {
        const sep = path.includes('?') ? '&' : '?';
        const r = await stack.admin('GET', `${path}${sep}limit=${limit}${after ? `&starting_after=${after}` : ''}`);
        assert.equal(r.status, 200, r.text);
        assert.ok(r.json.data.length <= limit);
        seen.push(...r.json.data);
        if (!r.json.has_more) {
            assert.equal(r.json.next_starting_after, null);
            return seen;
        }
        after = r.json.next_starting_after;
        assert.equal(after, r.json.data.at(-1).id);
    }
    throw new Error('no last page');
}

/** A small RFC 4180 parser: rows of cells. */
function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') {
                cell += '"';
                i++;
            } else if (c === '"') {
                quoted = false;
            } else {
                cell += c;
            }
        } else if (c === '"') {
            quoted = true;
        } else if (c === ',') {
            row.push(cell);
            cell = '';
        } else if (c === '\r' && text[i + 1] === '\n') {
            row.push(cell);
            rows.push(row);
            row = [];
            cell = '';
            i++;
        } else {
            cell += c;
        }
    }
    assert.equal(row.length + cell.length, 0, 'the CSV ends with CRLF');
    return rows;
}

/** GET an export; asserts a streamed CSV and returns {header, rows}. */
async function exportCsv(path) {
    const r = await stack.admin('GET', path);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^text\/csv; charset=utf-8/);
    assert.match(r.headers['content-disposition'], /^attachment; filename="(orders|ledger)\.csv"$/);
    assert.equal(r.headers['transfer-encoding'], 'chunked', 'streamed, not sized up front');
    assert.equal(r.headers['cache-control'], 'no-store');
    const [header, ...rows] = parseCsv(r.text);
    for (const row of rows) assert.equal(row.length, header.length, `row ${row}`);
    return { header, rows, text: r.text };
}

e2e('GET /v1/admin/accounts?email= returns that account only (any case)', async () => {
    const a = await stack.signup();
    await stack.signup();
    const r = await stack.admin('GET', `/v1/admin/accounts?email=${encodeURIComponent(a.email.toUpperCase())}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.total, 1);
    assert.deepEqual(r.json.data.map((x) => x.id), [a.id]);
    assert.equal(r.json.data[0].balance, 0);

    const none = await stack.admin('GET', `/v1/admin/accounts?email=nobody-${rand(6)}@example.com`);
    assert.equal(none.status, 200);
    assert.equal(none.json.total, 0);
    assert.deepEqual(none.json.data, []);
    const junk = await stack.admin('GET', '/v1/admin/accounts?email=not-an-email');
    assert.equal(junk.status, 200);
    assert.deepEqual(junk.json.data, []);
    expectError(await stack.admin('GET', `/v1/admin/accounts?email=${'a'.repeat(300)}@example.com`), 400, 'invalid_param');
    // Without the filter: every account, as before.
    const all = await stack.admin('GET', '/v1/admin/accounts?limit=100');
    assert.ok(all.json.total >= 2);
});

e2e('GET /v1/admin/orders: every account, filters, keyset pages', async () => {
    const cfg = await stack.config();
    const amount = cfg.topup.default_cents;
    const a = await stack.signup();
    const b = await stack.signup();
    const paid = await stack.buy(a, { kind: 'topup', amount_cents: amount });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await stack.checkout(a, { kind: 'topup', amount_cents: amount }));
    const other = await stack.checkout(b, { kind: 'topup', amount_cents: amount });

    const mine = await allPages(`/v1/admin/orders?account=${a.id}`, 2);
    assert.deepEqual(mine.map((o) => o.id), [...open.reverse(), paid].map((c) => c.order_id), 'newest first, each once');
    for (const o of mine) assert.equal(o.account_id, a.id);

    const completed = await allPages(`/v1/admin/orders?account=${a.id}&status=completed`, 10);
    assert.deepEqual(completed.map((o) => o.id), [paid.order_id]);
    const pending = await allPages('/v1/admin/orders?status=pending&kind=topup', 100);
    const ids = pending.map((o) => o.id);
    assert.ok(ids.includes(other.order_id) && !ids.includes(paid.order_id));
    for (const o of pending) assert.equal(o.status, 'pending');
    assert.deepEqual(await allPages('/v1/admin/orders?kind=no_such_kind', 5), []);

    // A time window: [from, to) on created_at.
    const future = await allPages('/v1/admin/orders?from=2999-01-01T00:00:00Z', 5);
    assert.deepEqual(future, []);
    const window = await allPages(`/v1/admin/orders?account=${b.id}&from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z`, 5);
    assert.deepEqual(window.map((o) => o.id), [other.order_id]);

    // Every account, paged: b's order comes before a's (newer).
    const everything = await allPages('/v1/admin/orders', 3);
    const pos = (id) => everything.findIndex((o) => o.id === id);
    assert.ok(pos(other.order_id) >= 0 && pos(other.order_id) < pos(paid.order_id));
    assert.equal(new Set(everything.map((o) => o.id)).size, everything.length, 'no order twice');
});

e2e('GET /v1/admin/orders and /ledger refuse bad parameters with 400, and need the server key', async () => {
    const bad = [
        ['/v1/admin/orders?limit=0', 'limit'],
        ['/v1/admin/orders?limit=101', 'limit'],
        ['/v1/admin/orders?status=paid', 'status'],
        ['/v1/admin/orders?from=yesterday', 'from'],
        ['/v1/admin/orders?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', 'to'],
        ['/v1/admin/orders?starting_after=ord_nope', 'starting_after'],
        ['/v1/admin/orders?offset=20', 'offset'],
        [`/v1/admin/orders?account=${'x'.repeat(100)}`, 'account'],
        ['/v1/admin/orders?kind=a%20b', 'kind'],
        ['/v1/admin/ledger?status=completed', 'status'],
        ['/v1/admin/ledger?starting_after=txn_nope', 'starting_after'],
        ['/v1/admin/export/orders.csv?status=paid', 'status'],
        ['/v1/admin/export/ledger.csv?to=soon', 'to'],
    ];
    for (const [p, param] of bad) {
        const r = await stack.admin('GET', p);
        expectError(r, 400, 'invalid_param', p);
        assert.equal(r.json.error.param, param, p);
    }
    const u = await stack.signup();
    for (const p of ['/v1/admin/orders', '/v1/admin/ledger', '/v1/admin/export/orders.csv', '/v1/admin/export/ledger.csv']) {
        assert.equal((await stack.api('GET', p)).status, 401, p);
        assert.equal((await stack.api('GET', p, { token: u.token })).status, 403, p);
    }
});

e2e('GET /v1/admin/ledger: every account, filters by account and kind, keyset pages', async () => {
    const a = await stack.signup();
    const b = await stack.signup();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await stack.grant(i % 2 ? b : a, 10 + i, `g${i}`)).transaction_id);
    const debit = await stack.asServer(a.id, 'POST', '/v1/debits', { body: { amount: 3, description: 'use' } });
    assert.equal(debit.status, 201, debit.text);

    const ofA = await allPages(`/v1/admin/ledger?account=${a.id}`, 2);
    assert.deepEqual(ofA.map((e) => e.amount), [-3, 14, 12, 10]);
    for (const e of ofA) {
        assert.equal(e.account_id, a.id);
        assert.equal(typeof e.ref, 'string');
    }
    const usage = await allPages(`/v1/admin/ledger?account=${a.id}&kind=${ofA[0].kind}`, 10);
    assert.deepEqual(usage.map((e) => e.amount), [-3]);
    const all = await allPages('/v1/admin/ledger', 4);
    for (const id of made) assert.equal(all.filter((e) => e.id === id).length, 1, id);
});

e2e('CSV exports: streamed, every row once across pages, quotes and formulas escaped', async () => {
    const a = await stack.signup();
    const tricky = ['=HYPERLINK("http://evil.example")', '+1+2', '-5', '@SUM(A1)', 'a, "quoted" value', 'plain'];
    for (const d of tricky) await stack.grant(a, 1, d);
    // More entries than one export page (200 rows), so the stream reads
    // several pages.
    const extra = 450;
    for (let i = 0; i < extra; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, k) => stack.grant(a, 1, `bulk ${i + k}`)));
    }
    // A debit drawn from five lots (each grant is a lot of 1).
    const debit = await stack.asServer(a.id, 'POST', '/v1/debits', { body: { amount: 5, description: 'use five' } });
    assert.equal(debit.status, 201, debit.text);
    const { header, rows } = await exportCsv(`/v1/admin/export/ledger.csv?account=${a.id}`);
    // New columns only ever come last: draws, effective_at.
    assert.deepEqual(header, ['id', 'account_id', 'amount', 'balance_after', 'kind', 'ref', 'order_id', 'description', 'created_at', 'draws', 'effective_at']);
    assert.equal(rows.length, tricky.length + extra + 1);
    const ids = rows.map((r) => r[0]);
    assert.equal(new Set(ids).size, ids.length, 'no row twice');
    const listed = await allPages(`/v1/admin/ledger?account=${a.id}`, 100);
    assert.deepEqual(ids, listed.map((e) => e.id), 'the same rows, in the list order');
    // draws and effective_at as the JSON list has them.
    for (const [i, e] of listed.entries()) {
        assert.equal(rows[i][9], e.draws.map((d) => `${d.lot_id}:${d.amount}`).join(';'), e.id);
        assert.equal(rows[i][10], e.effective_at, e.id);
    }
    const used = rows.find((r) => r[0] === debit.json.transaction_id);
    assert.equal(used[9].split(';').length, 5);
    assert.equal(used[9].split(';').reduce((n, d) => n + Number(d.split(':')[1]), 0), 5);
    const desc = new Map(rows.map((r) => [r[7], r]));
    assert.ok(desc.has("'=HYPERLINK(\"http://evil.example\")"), 'a formula gets a leading quote');
    assert.ok(desc.has("'+1+2") && desc.has("'-5") && desc.has("'@SUM(A1)"));
    assert.ok(desc.has('a, "quoted" value') && desc.has('plain'));
    for (const r of rows) {
        assert.equal(r.length, 11);
        assert.equal(r[1], a.id);
        assert.match(r[2], /^-?\d+$/, 'amounts are plain numbers');
        assert.match(r[8], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    // The raw text: quoted cells double their quotes.
    const raw = (await stack.admin('GET', `/v1/admin/export/ledger.csv?account=${a.id}`)).text;
    assert.ok(raw.includes('"\'=HYPERLINK(""http://evil.example"")"'), 'RFC 4180 quoting');
    assert.ok(raw.includes('"a, ""quoted"" value"'));

    // An empty export is the header alone.
    const empty = await exportCsv('/v1/admin/export/ledger.csv?kind=no_such_kind');
    assert.equal(empty.rows.length, 0);
    assert.equal(empty.text, `${empty.header.join(',')}\r\n`);
}, { timeout: 120000 });

e2e('a client that leaves in the middle of an export costs nothing (the stream is freed)', async () => {
    for (let round = 0; round < 5; round++) {
        await new Promise((resolve, reject) => {
            const req = http.get(`${stack.baseUrl}/v1/admin/export/ledger.csv`, { headers: { Authorization: `Bearer ${stack.adminKey}` } }, (res) => {
                assert.equal(res.statusCode, 200);
                res.once('data', () => {
                    req.destroy();
                    resolve();
                });
            });
            req.on('error', (e) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
        });
    }
    const r = await stack.admin('GET', '/v1/admin/ledger?limit=1');
    assert.equal(r.status, 200, 'the server still answers');
});

e2e('CSV export of orders: filters, one row per order', async () => {
    const cfg = await stack.config();
    const a = await stack.signup();
    const paid = await stack.buy(a, { kind: 'topup', amount_cents: cfg.topup.default_cents });
    const open = await stack.checkout(a, { kind: 'topup', amount_cents: cfg.topup.default_cents });
    const { header, rows } = await exportCsv(`/v1/admin/export/orders.csv?account=${a.id}`);
    assert.deepEqual(header.slice(0, 5), ['id', 'account_id', 'kind', 'status', 'amount_cents']);
    assert.deepEqual(rows.map((r) => r[0]), [open.order_id, paid.order_id]);
    const col = (name) => header.indexOf(name);
    assert.equal(rows[1][col('status')], 'completed');
    assert.equal(rows[1][col('amount_cents')], String(cfg.topup.default_cents));
    assert.match(rows[1][col('completed_at')], /Z$/);
    assert.equal(rows[0][col('completed_at')], '', 'not completed: empty');
    const done = await exportCsv(`/v1/admin/export/orders.csv?account=${a.id}&status=completed`);
    assert.deepEqual(done.rows.map((r) => r[0]), [paid.order_id]);
});
