// ledger.test.mjs - grants and debits (server key + Creditd-Account):
// balances, 402 with nothing written, allow_negative, amount validation,
// Idempotency-Key replay and reuse, 200 concurrent debits over 32 sockets,
// the ledger invariant, debits whose clients hung up before the reply,
// and durability across kill -9.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { useStack, e2e, rand, expectError, expectStatus, waitFor } from './harness.mjs';

const stack = useStack({ sandbox: false });

const debit = (u, amount, { idem, allow_negative, description = 'e2e usage', agent } = {}) =>
    stack.asServer(u.id, 'POST', '/v1/debits', {
        idem,
        agent,
        body: allow_negative === undefined ? { amount, description } : { amount, description, allow_negative },
    });

async function verifyLedger() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, `ledger verify: ${JSON.stringify(v)}`);
    assert.equal(v.sum_balances, v.sum_entries);
    assert.deepEqual(v.mismatches, []);
    assert.equal(typeof v.accounts, 'number');
    return v;
}

e2e('grant then debit: balances, transaction rows, display', async () => {
    const u = await stack.signup();
    const g = expectStatus(await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 500, description: 'welcome' } }), 201);
    assert.match(g.transaction_id, /^txn_/);
    assert.equal(g.balance, 500);

    const d = expectStatus(await debit(u, 200), 201);
    assert.match(d.transaction_id, /^txn_/);
    assert.notEqual(d.transaction_id, g.transaction_id);
    assert.equal(d.balance, 300);

    const bal = expectStatus(await stack.api('GET', '/v1/balance', { token: u.token }), 200);
    assert.deepEqual(bal, { balance: 300, balance_display: '$3.00', currency: 'usd', held: 0, available: 300, by_category: { paid: 0, promotional: 300 }, debt: 0, next_expiry: null });

    const txns = await stack.list(u, '/v1/transactions');
    assert.equal(txns.length, 2);
    // newest first
    assert.equal(txns[0].id, d.transaction_id);
    assert.equal(txns[0].amount, -200);
    assert.equal(txns[0].balance_after, 300);
    assert.equal(txns[0].kind, 'usage');
    assert.equal(txns[0].description, 'e2e usage');
    assert.equal(txns[0].order_id, null);
    assert.match(txns[0].created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.equal(txns[1].id, g.transaction_id);
    assert.equal(txns[1].amount, 500);
    assert.equal(txns[1].balance_after, 500);
    assert.equal(txns[1].kind, 'grant');
    assert.equal(txns[1].description, 'welcome');

    // The admin view agrees.
    const a = expectStatus(await stack.admin('GET', `/v1/admin/accounts/${u.id}`), 200);
    assert.equal(a.id, u.id);
    assert.equal(a.balance, 300);
    await verifyLedger();
});

e2e('debit beyond the balance: 402 insufficient_balance, nothing written', async () => {
    const u = await stack.signup();
    await stack.grant(u, 300);
    const r = await debit(u, 301);
    const e = expectError(r, 402, 'insufficient_balance');
    assert.equal(e.type, 'payment_required');
    assert.equal(await stack.balance(u), 300);
    assert.equal((await stack.list(u, '/v1/transactions')).length, 1);
    // A debit of exactly the balance is fine and leaves 0.
    assert.equal(expectStatus(await debit(u, 300), 201).balance, 0);
    expectError(await debit(u, 1), 402, 'insufficient_balance');
    expectError(await debit(u, 1, { allow_negative: false }), 402, 'insufficient_balance');
    assert.equal(await stack.balance(u), 0);
});

e2e('allow_negative lets a debit take the balance below zero', async () => {
    const u = await stack.signup();
    await stack.grant(u, 300);
    const d = expectStatus(await debit(u, 1000, { allow_negative: true }), 201);
    assert.equal(d.balance, -700);
    const bal = expectStatus(await stack.api('GET', '/v1/balance', { token: u.token }), 200);
    assert.equal(bal.balance, -700);
    assert.ok(/^(-\$7\.00|\$-7\.00)$/.test(bal.balance_display), `negative display: ${bal.balance_display}`);
    expectError(await debit(u, 1), 402, 'insufficient_balance');
    await verifyLedger();
});

e2e('amount validation: 0, -1, 1.5, "10", 10^12+1, null, missing, bool -> 400 invalid_amount, nothing written', async () => {
    const u = await stack.signup();
    await stack.grant(u, 1000);
    const bad = [0, -1, 1.5, '10', 1e12 + 1, null, undefined, true, [], {}];
    for (const p of ['/v1/debits', '/v1/grants']) {
        for (const amount of bad) {
            const body = amount === undefined ? { description: 'x' } : { amount, description: 'x' };
            const r = await stack.asServer(u.id, 'POST', p, { body });
            const e = expectError(r, 400, 'invalid_amount');
            assert.equal(e.type, 'invalid_request_error');
        }
        // An integer too large for int64 in the raw JSON: refused (any 400).
        const huge = await stack.asServer(u.id, 'POST', p, { body: '{"amount":99999999999999999999999,"description":"x"}' });
        expectError(huge, 400);
    }
    assert.equal(await stack.balance(u), 1000);
    assert.equal((await stack.list(u, '/v1/transactions')).length, 1);
    // The bounds themselves are fine.
    assert.equal(expectStatus(await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 1e12, description: 'max' } }), 201).balance, 1e12 + 1000);
    assert.equal(expectStatus(await debit(u, 1), 201).balance, 1e12 + 999);
});

e2e('wrong field types are a 400', async () => {
    const u = await stack.signup();
    await stack.grant(u, 100);
    expectError(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 1, description: 5 } }), 400);
    expectError(await stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount: 1, description: 'x', allow_negative: 'yes' } }), 400);
    expectError(await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 1, description: ['x'] } }), 400);
    assert.equal(await stack.balance(u), 100);
});

e2e('Idempotency-Key: same key and body replays (same status, body, Idempotent-Replayed: true), debits once', async () => {
    const u = await stack.signup();
    await stack.grant(u, 1000);
    const key = `e2e-${rand(8)}`;
    const first = await debit(u, 250, { idem: key });
    assert.equal(first.status, 201, first.text);
    assert.notEqual(first.headers['idempotent-replayed'], 'true');
    for (let i = 0; i < 3; i++) {
        const again = await debit(u, 250, { idem: key });
        assert.equal(again.status, first.status);
        assert.equal(again.text, first.text, 'byte-identical body');
        assert.equal(again.headers['idempotent-replayed'], 'true');
    }
    assert.equal(await stack.balance(u), 750);
    assert.equal((await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'usage').length, 1);

    // Same key, different body: 409, nothing written.
    expectError(await debit(u, 251, { idem: key }), 409, 'idempotency_key_reused');
    expectError(await debit(u, 250, { idem: key, description: 'another description' }), 409, 'idempotency_key_reused');
    assert.equal(await stack.balance(u), 750);

    // Grants honour it too.
    const gk = `e2e-g-${rand(8)}`;
    const g1 = expectStatus(await stack.asServer(u.id, 'POST', '/v1/grants', { idem: gk, body: { amount: 5, description: 'g' } }), 201);
    const g2 = await stack.asServer(u.id, 'POST', '/v1/grants', { idem: gk, body: { amount: 5, description: 'g' } });
    assert.equal(g2.status, 201);
    assert.deepEqual(g2.json, g1);
    assert.equal(g2.headers['idempotent-replayed'], 'true');
    assert.equal(await stack.balance(u), 755);
});

e2e("Idempotency-Key: another account's request with the same key is never answered with the first one's reply", async () => {
    const a = await stack.signup();
    const b = await stack.signup();
    await stack.grant(a, 100);
    await stack.grant(b, 100);
    const key = `e2e-shared-${rand(6)}`;
    const ra = expectStatus(await debit(a, 10, { idem: key }), 201);
    const rb = await debit(b, 10, { idem: key });
    if (rb.status === 201) {
        assert.notEqual(rb.json.transaction_id, ra.transaction_id);
        assert.equal(await stack.balance(b), 90);
    } else {
        expectError(rb, 409);
        assert.equal(await stack.balance(b), 100);
    }
    assert.equal(await stack.balance(a), 90);
});

e2e('Idempotency-Key longer than 255 characters is a 400', async () => {
    const u = await stack.signup();
    await stack.grant(u, 100);
    expectError(await debit(u, 1, { idem: 'k'.repeat(256) }), 400);
    expectStatus(await debit(u, 1, { idem: 'k'.repeat(255) }), 201);
    assert.equal(await stack.balance(u), 99);
});

e2e('20 concurrent requests with one Idempotency-Key debit once', async () => {
    const u = await stack.signup();
    await stack.grant(u, 1000);
    const key = `e2e-race-${rand(6)}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    try {
        const rs = await Promise.all(Array.from({ length: 20 }, () => debit(u, 7, { idem: key, agent })));
        const ok = rs.filter((r) => r.status === 201);
        assert.ok(ok.length >= 1, `statuses: ${rs.map((r) => r.status)}`);
        for (const r of rs) assert.ok(r.status === 201 || r.status === 409, `${r.status} ${r.text}`);
        const ids = new Set(ok.map((r) => r.json.transaction_id));
        assert.equal(ids.size, 1, 'every 201 is the same transaction');
    } finally {
        agent.destroy();
    }
    assert.equal(await stack.balance(u), 993);
    assert.equal((await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'usage').length, 1);
});

e2e('200 concurrent debits over 32 connections: exact balance, never negative, 201+402 = 200, ledger verifies', async () => {
    const u = await stack.signup();
    const N = 200;
    const EACH = 100;
    const COVERED = 137; // the start balance covers this many debits
    await stack.grant(u, COVERED * EACH);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    let rs;
    try {
        rs = await Promise.all(Array.from({ length: N }, (_, i) => debit(u, EACH, { agent, description: `burst ${i}` })));
    } finally {
        agent.destroy();
    }
    const ok = rs.filter((r) => r.status === 201);
    const refused = rs.filter((r) => r.status === 402);
    assert.equal(ok.length + refused.length, N, `other statuses: ${rs.filter((r) => r.status !== 201 && r.status !== 402).map((r) => `${r.status} ${r.text}`).slice(0, 5)}`);
    assert.equal(ok.length, COVERED, 'exactly the covered debits succeed');
    for (const r of refused) assert.equal(r.json.error.code, 'insufficient_balance');
    // Each success saw a distinct balance: a serial history.
    const seen = ok.map((r) => r.json.balance).sort((x, y) => x - y);
    assert.deepEqual(seen, Array.from({ length: COVERED }, (_, i) => i * EACH));
    assert.equal(new Set(ok.map((r) => r.json.transaction_id)).size, COVERED);

    const bal = await stack.balance(u);
    assert.equal(bal, COVERED * EACH - EACH * ok.length);
    assert.equal(bal, 0);
    const txns = await stack.list(u, '/v1/transactions');
    const t = expectStatus(await stack.api('GET', '/v1/transactions?limit=1', { token: u.token }), 200);
    assert.equal(t.total, 1 + COVERED);
    for (const x of txns) assert.ok(x.balance_after >= 0, `balance_after ${x.balance_after} never negative`);
    await verifyLedger();
}, { timeout: 120000 });

e2e('Idempotency-Key on a refused body: the 400 is kept and replayed, the key then refuses another body', async () => {
    // The handler answers without reaching billing; the key's claim and
    // reply are still one job (committed from a completion: the request
    // never waits on its thread).
    const u = await stack.signup();
    const key = `bad-${rand(8)}`;
    const first = await debit(u, 0, { idem: key });
    expectError(first, 400, 'invalid_amount');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const again = await debit(u, 0, { idem: key });
    assert.equal(again.status, 400);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, first.text);
    expectError(await debit(u, 5, { idem: key }), 409, 'idempotency_key_reused');
    assert.equal((await stack.list(u, '/v1/transactions')).length, 0);
});

e2e('debits whose clients hang up before the reply: each lands once, replays after, the server carries on', async () => {
    // The debit is answered from its commit (the request deferred, its
    // reply built on the HTTP thread): a client gone meanwhile drops the
    // reply, never the debit, and costs nothing (ASan checks the leak).
    const u = await stack.signup();
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 1000 } }), 201);
    const url = new URL(stack.baseUrl);
    const keys = [];
    const sends = [];
    for (let i = 0; i < 40; i++) {
        const body = JSON.stringify({ amount: 1, description: `gone ${i}` });
        const key = i % 2 ? `gone-${rand(8)}` : null;
        if (key) keys.push({ key, body });
        const head = [
            'POST /v1/debits HTTP/1.1', `Host: ${url.host}`, `Authorization: Bearer ${stack.adminKey}`,
            `Creditd-Account: ${u.id}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`,
            ...(key ? [`Idempotency-Key: ${key}`] : []), 'Connection: close', '', ''].join('\r\n');
        sends.push(new Promise((resolve, reject) => {
            const sock = net.connect(Number(url.port), url.hostname, () => {
                sock.end(head + body, () => { sock.destroy(); resolve(); });
            });
            sock.on('error', reject);
        }));
    }
    await Promise.all(sends);
    await waitFor(async () => (await stack.balance(u)) === 960, 15000, { what: 'all 40 debits' });
    const txns = await stack.list(u, '/v1/transactions');
    assert.equal(txns.filter((t) => t.kind === 'usage').length, 40);
    for (const { key, body } of keys.slice(0, 3)) {
        const r = await stack.asServer(u.id, 'POST', '/v1/debits', { idem: key, body: JSON.parse(body) });
        assert.equal(r.status, 201);
        assert.equal(r.headers['idempotent-replayed'], 'true');
    }
    assert.equal(await stack.balance(u), 960);
    await verifyLedger();
});

e2e('kill -9 right after a 201 debit: after restart the debit is in the ledger and the balance', async () => {
    const u = await stack.signup();
    await stack.grant(u, 1000);
    const key = `e2e-durable-${rand(6)}`;
    const d = expectStatus(await debit(u, 123, { idem: key }), 201);
    await stack.killServer();
    await stack.restartServer();
    const txns = await stack.list(u, '/v1/transactions');
    assert.ok(txns.some((t) => t.id === d.transaction_id), `debit ${d.transaction_id} survived`);
    assert.equal(await stack.balance(u), 877);
    // The idempotency record survived too: a retry replays.
    const again = await debit(u, 123, { idem: key });
    assert.equal(again.status, 201);
    assert.equal(again.json.transaction_id, d.transaction_id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await stack.balance(u), 877);
    await verifyLedger();
});

e2e('kill -9 during a burst: every acknowledged debit survives; retries with the same keys finish the job exactly once', async (t) => {
    const u = await stack.signup();
    const N = 50;
    await stack.grant(u, N * 10);
    const keys = Array.from({ length: N }, (_, i) => `e2e-burst-${rand(4)}-${i}`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let killing = null;
    const settled = await Promise.allSettled(
        keys.map((idem) =>
            debit(u, 10, { idem, agent, description: 'burst' }).then((r) => {
                if (r.status === 201 && !killing) killing = stack.killServer();
                return r;
            }),
        ),
    );
    agent.destroy();
    if (killing) await killing;
    else await stack.killServer();
    const acked = settled.filter((s) => s.status === 'fulfilled' && s.value.status === 201).map((s) => s.value.json.transaction_id);
    assert.ok(acked.length >= 1, 'at least one debit was acknowledged before the kill');
    const lost = settled.filter((s) => s.status === 'rejected').length;

    await stack.restartServer();
    const ids = new Set((await stack.list(u, '/v1/transactions')).map((t) => t.id));
    for (const id of acked) assert.ok(ids.has(id), `acknowledged debit ${id} survived kill -9`);
    const usage1 = (await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'usage').length;
    assert.equal(await stack.balance(u), N * 10 - 10 * usage1);
    t.diagnostic(`burst: ${acked.length} acknowledged, ${lost} cut off by the kill, ${usage1} committed`);

    // Retry every request with its key: committed ones replay, the rest run.
    // A claim the killed process held is "in progress" (409, Retry-After)
    // until its lease ends; a client retries it then, as a real one would.
    for (const idem of keys) {
        const r = await waitFor(async () => {
            const x = await debit(u, 10, { idem, description: 'burst' });
            return x.status === 409 && x.json?.error?.code === 'idempotency_in_progress' ? null : x;
        }, 20000, { intervalMs: 200, what: `key ${idem} free again` });
        assert.equal(r.status, 201, r.text);
    }
    const usage2 = (await stack.list(u, '/v1/transactions')).filter((t) => t.kind === 'usage').length;
    assert.equal(usage2, N, 'each key debited exactly once');
    assert.equal(await stack.balance(u), 0);
    await verifyLedger();
}, { timeout: 90000 });

e2e('lists: limit/offset/total, newest first', async () => {
    const u = await stack.signup();
    for (const d of ['one', 'two', 'three']) await stack.grant(u, 1, d);
    const p1 = expectStatus(await stack.api('GET', '/v1/transactions?limit=2', { token: u.token }), 200);
    assert.equal(p1.total, 3);
    assert.equal(p1.limit, 2);
    assert.equal(p1.offset, 0);
    assert.deepEqual(p1.data.map((t) => t.description), ['three', 'two']);
    const p2 = expectStatus(await stack.api('GET', '/v1/transactions?limit=2&offset=2', { token: u.token }), 200);
    assert.equal(p2.offset, 2);
    assert.deepEqual(p2.data.map((t) => t.description), ['one']);
    const all = expectStatus(await stack.api('GET', '/v1/transactions', { token: u.token }), 200);
    assert.equal(all.limit, 20);
    assert.equal(all.data.length, 3);
    const pays = expectStatus(await stack.api('GET', '/v1/payments', { token: u.token }), 200);
    assert.equal(pays.limit, 50, 'payments default limit is 50');
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1']) {
        const r = await stack.api('GET', `/v1/transactions?${q}`, { token: u.token });
        // Out of range: refused or clamped, never a crash or a silent huge page.
        if (r.status === 200) assert.ok(r.json.limit >= 1 && r.json.limit <= 100, `${q}: limit ${r.json.limit}`);
        else expectError(r, 400);
    }
});
