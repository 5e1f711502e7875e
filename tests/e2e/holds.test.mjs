// holds.test.mjs - holds, authorise then capture, through the real binary:
// create, partial capture, release, capture past the hold, finished holds,
// Idempotency-Key replays, debits and holds that may spend only the
// available balance, races of capture vs release vs new holds vs debits
// (each hold finishes once), the list and its pages, expiry by restarting
// with CREDITD_TEST_CLOCK_OFFSET, and ledger verify (held == active holds)
// after each. Runs on PostgreSQL too with CD_E2E_PG_URL, and then also
// races two nodes (two `creditd serve` on one database).
import assert from 'node:assert/strict';
import { Stack, useStack, e2e, expectStatus, expectError, waitFor, rand } from './harness.mjs';

const stack = useStack();

async function account(credits) {
    const u = await stack.signup();
    if (credits) await stack.grant(u, credits);
    return u;
}

const hold = (u, body, opts = {}) => stack.asServer(u.id, 'POST', '/v1/holds', { body, ...opts });
const capture = (u, id, amount, opts = {}) =>
    stack.asServer(u.id, 'POST', `/v1/holds/${id}/capture`, { body: { amount }, ...opts });
const release = (u, id, opts = {}) => stack.asServer(u.id, 'POST', `/v1/holds/${id}/release`, opts);
const debit = (u, amount, opts = {}) =>
    stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount, description: 'e2e debit' }, ...opts });

async function balance(u) {
    return expectStatus(await stack.api('GET', '/v1/balance', { token: u.token }), 200);
}

async function verifyOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.held_mismatch_count, 0, JSON.stringify(v));
}

e2e('a hold reserves credits; a partial capture spends part and frees the rest', async () => {
    const u = await account(1000);
    const h = expectStatus(await hold(u, { amount: 300, description: 'AI run', expires_in: 600 }), 201);
    assert.match(h.id, /^hold_/);
    assert.equal(h.object, 'hold');
    assert.equal(h.status, 'active');
    assert.equal(h.amount, 300);
    assert.equal(h.captured, 0);
    assert.equal(h.transaction_id, null);
    assert.equal(Date.parse(h.expires_at) - Date.parse(h.created_at), 600 * 1000);
    let b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [1000, 300, 700]);

    // A debit may spend only the available balance.
    expectError(await debit(u, 701), 402, 'insufficient_balance');
    expectStatus(await debit(u, 700), 201);
    b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [300, 300, 0]);
    // So may another hold.
    expectError(await hold(u, { amount: 1 }), 402, 'insufficient_balance');

    const c = expectStatus(await capture(u, h.id, 120), 200);
    assert.equal(c.status, 'captured');
    assert.equal(c.captured, 120);
    assert.match(c.transaction_id, /^txn_/);
    assert.ok(c.finished_at);
    b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [180, 0, 180]);
    const txns = await stack.list(u, '/v1/transactions');
    const entry = txns.find((t) => t.id === c.transaction_id);
    assert.equal(entry.amount, -120);
    assert.equal(entry.kind, 'usage');
    assert.equal(entry.balance_after, 180);

    // A finished hold: neither captured nor released again.
    expectError(await capture(u, h.id, 1), 409, 'hold_not_active');
    expectError(await release(u, h.id), 409, 'hold_not_active');
    const got = expectStatus(await stack.api('GET', `/v1/holds/${h.id}`, { token: u.token }), 200);
    assert.deepEqual(got, c);
    await verifyOk();
});

e2e('release returns it all; a capture past the hold is 400 and leaves it active', async () => {
    const u = await account(500);
    const h = expectStatus(await hold(u, { amount: 200 }), 201);
    // The default lifetime is 15 minutes.
    assert.equal(Date.parse(h.expires_at) - Date.parse(h.created_at), 900 * 1000);
    expectError(await capture(u, h.id, 201), 400, 'capture_exceeds_hold');
    expectError(await capture(u, h.id, 0), 400, 'invalid_amount');
    assert.equal((await balance(u)).held, 200);
    const r = expectStatus(await release(u, h.id), 200);
    assert.equal(r.status, 'released');
    assert.equal(r.captured, 0);
    const b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [500, 0, 500]);
    expectError(await release(u, h.id), 409, 'hold_not_active');
    expectError(await capture(u, 'hold_nope', 1), 404, 'hold_not_found');
    // Another account's hold is not found.
    const other = await account(10);
    expectError(await release(other, h.id), 404, 'hold_not_found');
    expectError(await stack.api('GET', `/v1/holds/${h.id}`, { token: other.token }), 404, 'hold_not_found');
    await verifyOk();
});

e2e('bounds and access: amount, expires_in, description; writes need the server key', async () => {
    const u = await account(100);
    expectError(await hold(u, { amount: 0 }), 400, 'invalid_amount');
    expectError(await hold(u, { amount: 1e12 + 1 }), 400, 'invalid_amount');
    expectError(await hold(u, { amount: 1, expires_in: 0 }), 400, 'invalid_param');
    expectError(await hold(u, { amount: 1, expires_in: 7 * 86400 + 1 }), 400, 'invalid_param');
    expectError(await hold(u, { amount: 1, expires_in: 'soon' }), 400, 'invalid_param');
    expectError(await hold(u, { amount: 1, description: 'x'.repeat(501) }), 400, 'invalid_param');
    expectStatus(await hold(u, { amount: 1, expires_in: 7 * 86400 }), 201);
    expectError(await stack.api('POST', '/v1/holds', { token: u.token, body: { amount: 1 } }), 403, 'forbidden');
    expectStatus(await stack.api('GET', '/v1/holds', { token: u.token }), 200);
});

e2e('Idempotency-Key: a create and a capture replay; another key meets a finished hold', async () => {
    const u = await account(1000);
    const key = `hold-${rand()}`;
    const a = await hold(u, { amount: 100, description: 'once' }, { idem: key });
    const h = expectStatus(a, 201);
    const b = await hold(u, { description: 'once', amount: 100 }, { idem: key });
    assert.equal(b.status, 201);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.deepEqual(b.json, h);
    expectError(await hold(u, { amount: 101 }, { idem: key }), 409, 'idempotency_key_reused');
    assert.equal((await balance(u)).held, 100, 'one hold for one key');

    const ck = `cap-${rand()}`;
    const c1 = expectStatus(await capture(u, h.id, 60, { idem: ck }), 200);
    const c2 = await capture(u, h.id, 60, { idem: ck });
    assert.equal(c2.status, 200);
    assert.equal(c2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(c2.json, c1);
    expectError(await capture(u, h.id, 60, { idem: `cap-${rand()}` }), 409, 'hold_not_active');
    const rk = `rel-${rand()}`;
    expectError(await release(u, h.id, { idem: rk }), 409, 'hold_not_active');
    // A refusal is a reply like any other: replayed too.
    const again = await release(u, h.id, { idem: rk });
    expectError(again, 409, 'hold_not_active');
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const b2 = await balance(u);
    assert.deepEqual([b2.balance, b2.held], [940, 0]);
    await verifyOk();
});

e2e('races: parallel captures and releases finish a hold once', async () => {
    const u = await account(1000);
    for (let round = 0; round < 3; round++) {
        const h = expectStatus(await hold(u, { amount: 100 }), 201);
        const reqs = [];
        for (let i = 0; i < 8; i++) {
            reqs.push(capture(u, h.id, 10 + i));
            reqs.push(release(u, h.id, i % 2 ? { idem: `r-${rand()}` } : {}));
        }
        const rs = await Promise.all(reqs);
        const ok = rs.filter((r) => r.status === 200);
        assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
        for (const r of rs) if (r.status !== 200) expectError(r, 409, 'hold_not_active');
    }
    const b = await balance(u);
    assert.equal(b.held, 0);
    const spent = 1000 - b.balance;
    const txns = await stack.list(u, '/v1/transactions');
    assert.equal(txns.filter((t) => t.kind === 'usage').reduce((s, t) => s - t.amount, 0), spent);
    assert.ok(txns.filter((t) => t.kind === 'usage').length <= 3);
    await verifyOk();
});

e2e('races: parallel holds and debits never spend more than the balance', async () => {
    const u = await account(1000);
    const reqs = [];
    for (let i = 0; i < 12; i++) {
        reqs.push(hold(u, { amount: 100 }));
        reqs.push(debit(u, 100));
    }
    const rs = await Promise.all(reqs);
    const ok = rs.filter((r) => r.status === 201);
    assert.equal(ok.length, 10, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of rs) if (r.status !== 201) expectError(r, 402, 'insufficient_balance');
    const holds = ok.filter((r) => r.json.object === 'hold').length;
    const b = await balance(u);
    assert.equal(b.held, holds * 100);
    assert.equal(b.balance, 1000 - (10 - holds) * 100);
    assert.equal(b.available, 0);
    await verifyOk();
});

e2e('GET /v1/holds: newest first, keyset pages, status filter', async () => {
    const u = await account(100);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(expectStatus(await hold(u, { amount: 10 }), 201).id);
    expectStatus(await release(u, ids[1]), 200);
    expectStatus(await capture(u, ids[3], 5), 200);
    const auth = { token: u.token };
    const p1 = expectStatus(await stack.api('GET', '/v1/holds?limit=2', auth), 200);
    assert.equal(p1.data.length, 2);
    assert.equal(p1.has_more, true);
    const p2 = expectStatus(await stack.api('GET', `/v1/holds?limit=2&starting_after=${p1.next_starting_after}`, auth), 200);
    const p3 = expectStatus(await stack.api('GET', `/v1/holds?limit=2&starting_after=${p2.next_starting_after}`, auth), 200);
    assert.equal(p3.has_more, false);
    assert.equal(p3.next_starting_after, null);
    assert.deepEqual([...p1.data, ...p2.data, ...p3.data].map((h) => h.id), [...ids].reverse());
    const active = expectStatus(await stack.api('GET', '/v1/holds?status=active', auth), 200);
    assert.deepEqual(active.data.map((h) => h.id), [ids[4], ids[2], ids[0]]);
    const rel = expectStatus(await stack.api('GET', '/v1/holds?status=released', auth), 200);
    assert.deepEqual(rel.data.map((h) => h.id), [ids[1]]);
    expectError(await stack.api('GET', '/v1/holds?status=open', auth), 400, 'invalid_param');
    expectError(await stack.api('GET', '/v1/holds?starting_after=hold_nope', auth), 400, 'invalid_param');
    expectError(await stack.api('GET', '/v1/holds?limit=0', auth), 400, 'invalid_param');
});

e2e('two nodes on one PostgreSQL database: each hold finishes once, nothing is overspent', async () => {
    const b = new Stack({
        sandbox: false,
        serverEnv: { CREDITD_DB: stack.dbPath, CREDITD_ADMIN_KEY: stack.adminKey, STRIPE_API_BASE: stack.sandboxUrl },
    });
    b.adminKey = stack.adminKey;
    await b.start();
    try {
        const nodes = [stack, b];
        const u = await account(1000);
        const on = (i, method, p, opts) => nodes[i % 2].asServer(u.id, method, p, opts);
        for (let round = 0; round < 3; round++) {
            const h = expectStatus(await on(round, 'POST', '/v1/holds', { body: { amount: 100 } }), 201);
            const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2
                ? on(i, 'POST', `/v1/holds/${h.id}/capture`, { body: { amount: 10 + i } })
                : on(i, 'POST', `/v1/holds/${h.id}/release`, {}))));
            assert.equal(rs.filter((r) => r.status === 200).length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
            for (const r of rs) if (r.status !== 200) expectError(r, 409, 'hold_not_active');
        }
        const left = (await balance(u)).available;
        const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2
            ? on(i >> 1, 'POST', '/v1/holds', { body: { amount: 100 } })
            : on(i >> 1, 'POST', '/v1/debits', { body: { amount: 100, description: 'nodes' } }))));
        assert.equal(rs.filter((r) => r.status === 201).length, Math.min(16, Math.floor(left / 100)));
        const bal = await balance(u);
        assert.ok(bal.available >= 0 && bal.available < 100, JSON.stringify(bal));
        await verifyOk();
    } finally {
        await b.stop();
    }
}, { skip: process.env.CD_E2E_PG_URL ? false : 'needs CD_E2E_PG_URL (a PostgreSQL server)' });

// Last: it moves the server's clock forward for the rest of the file.
e2e('an expired hold releases itself (clock moved by a restart), once', async () => {
    const u = await account(1000);
    const short = expectStatus(await hold(u, { amount: 300, expires_in: 60 }), 201);
    const long = expectStatus(await hold(u, { amount: 200, expires_in: 3600 }), 201);
    const racer = expectStatus(await hold(u, { amount: 100, expires_in: 60 }), 201);
    assert.equal((await balance(u)).available, 400);
    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = '120';
    await stack.restartServer({ graceful: true });

    // Seen as expired at once, whatever the sweeper did yet.
    const got = expectStatus(await stack.api('GET', `/v1/holds/${short.id}`, { token: u.token }), 200);
    assert.equal(got.status, 'expired');
    assert.equal(got.finished_at, got.expires_at);
    let b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [1000, 200, 800]);
    // Capture and release of an expired hold race the sweeper: all 409.
    const rs = await Promise.all([capture(u, racer.id, 50), release(u, racer.id), capture(u, short.id, 1)]);
    for (const r of rs) expectError(r, 409, 'hold_not_active');
    // The sweeper's pass (under its lease) writes it down.
    await waitFor(async () => {
        const m = await stack.api('GET', '/metrics', { key: true });
        return /creditd_jobs_runs_total\{job="holds",outcome="ok"\} [1-9]/.test(m.text);
    }, 20000, { what: 'a hold sweep' });
    const exp = expectStatus(await stack.api('GET', '/v1/holds?status=expired', { token: u.token }), 200);
    assert.deepEqual(exp.data.map((h) => h.id).sort(), [short.id, racer.id].sort());
    expectStatus(await debit(u, 800), 201);
    expectError(await debit(u, 1), 402, 'insufficient_balance');
    expectStatus(await capture(u, long.id, 200), 200);
    b = await balance(u);
    assert.deepEqual([b.balance, b.held, b.available], [0, 0, 0]);
    // The outbox: one hold.released per expired hold (status expired), one
    // hold.captured, in the account's sequence.
    const ev = expectStatus(await stack.asServer(u.id, 'GET', '/v1/events?after=0&limit=100'), 200).data;
    const holdEv = ev.filter((e) => e.type.startsWith('hold.'));
    assert.deepEqual(holdEv.map((e) => [e.type, e.data.hold.id, e.data.hold.status]).sort(),
        [['hold.captured', long.id, 'captured'], ['hold.released', racer.id, 'expired'],
            ['hold.released', short.id, 'expired']].sort());
    assert.equal(holdEv.find((e) => e.type === 'hold.captured').data.hold.captured, 200);
    await verifyOk();
});
