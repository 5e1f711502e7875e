// lots.test.mjs - credit lots through the real binary and sandbox: grants
// with an expiry and a category, GET /v1/lots and the balance's totals,
// the order debits draw lots in, a package whose credits expire, expiry
// by the sweeper after a restart with the clock moved ahead (never a
// sleep), exactly once (also across a kill -9 mid-sweep), a refund's clawback taking its own order's lots
// first, and a plan's credits expiring at each period's end but for its
// rollover cap while bought credits stay; the ledger check (lots
// included) stays ok throughout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { useStack, e2e, expectError, expectStatus, waitFor, httpRequest } from './harness.mjs';

const DAY = 86400;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-lots-'));
const catalog = path.join(dir, 'catalog.json');
fs.writeFileSync(catalog, JSON.stringify({
    packages: [
        { id: 'starter', name: 'Starter', price_cents: 1000, credits: 1000 },
        { id: 'trial', name: 'Trial - 300 credits for 30 days', price_cents: 300, credits: 300, expires_in_days: 30 },
    ],
    plans: [
        { id: 'monthly', name: 'Monthly - 500 a month, 100 roll over', price_cents: 1999, interval: 'month',
          credits_per_period: 500, credits_expire: 'period_end', rollover_cap: 100 },
    ],
}));

const stack = useStack({ serverEnv: { CREDITD_CATALOG: catalog, CREDITD_EXPIRY_INTERVAL: '1' } });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function verifyOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, `ledger verify: ${JSON.stringify(v)}`);
    assert.equal(v.lot_mismatch_count, 0);
    assert.deepEqual(v.lot_mismatches, []);
}

const grant = (u, body) => stack.asServer(u.id, 'POST', '/v1/grants', { body: { description: 'e2e', ...body } });
const debit = (u, amount, more = {}) => stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount, ...more } });
const lots = (u, q = '') => stack.list(u, `/v1/lots${q}`);
const balance = async (u) => expectStatus(await stack.api('GET', '/v1/balance', stack.auth(u)), 200);

/** Restarts the server with its clock `seconds` ahead of the system's
 * (crash: kill -9 instead of SIGTERM). */
async function clockAhead(seconds, { crash = false } = {}) {
    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = String(seconds);
    await stack.restartServer({ graceful: !crash });
}

// The balance reply, byte for byte (its fields in docs/API.md's order):
// one statement now reads what four statements in three reads did.
e2e('GET /v1/balance: the body byte for byte, with lots expiring together, a live hold and a debt', async () => {
    const u = await stack.signup();
    expectStatus(await grant(u, { amount: 100, category: 'paid' }), 201);
    // One explicit expiry for both: two expires_in_days grants could land
    // in different seconds on a slow machine.
    const at = new Date((Math.floor(Date.now() / 1000) + 5 * DAY) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    expectStatus(await grant(u, { amount: 30, expires_at: at }), 201);
    expectStatus(await grant(u, { amount: 20, expires_at: at }), 201);
    expectStatus(await grant(u, { amount: 10, category: 'paid', expires_in_days: 9 }), 201);
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/holds', { body: { amount: 40 } }), 201);
    const soon = (await lots(u, '?status=active')).filter((l) => l.amount === 30 || l.amount === 20);
    assert.equal(soon.length, 2);
    assert.deepEqual(soon.map((l) => l.expires_at), [at, at]);
    const r = await stack.api('GET', '/v1/balance', stack.auth(u));
    assert.equal(r.status, 200);
    assert.equal(r.text, JSON.stringify({ balance: 160, balance_display: r.json.balance_display, currency: 'usd',
        held: 40, available: 120, by_category: { paid: 110, promotional: 50 }, debt: 0,
        next_expiry: { amount: 50, at } }));
    // Past every lot: a debt, nothing by category, nothing expires.
    const hold = (await stack.list(u, '/v1/holds'))[0];
    expectStatus(await stack.asServer(u.id, 'POST', `/v1/holds/${hold.id}/release`), 200);
    expectStatus(await debit(u, 200, { allow_negative: true }), 201);
    const r2 = await stack.api('GET', '/v1/balance', stack.auth(u));
    assert.equal(r2.text, JSON.stringify({ balance: -40, balance_display: r2.json.balance_display, currency: 'usd',
        held: 0, available: -40, by_category: { paid: 0, promotional: 0 }, debt: 40, next_expiry: null }));
    await verifyOk();
});

e2e('a grant is a lot: category, expiry, priority; GET /v1/lots and the balance totals', async () => {
    const u = await stack.signup();
    expectStatus(await grant(u, { amount: 300, expires_in_days: 10 }), 201);
    expectStatus(await grant(u, { amount: 200, category: 'paid', priority: 20 }), 201);
    const all = await lots(u);
    assert.equal(all.length, 2);
    const [paid, promo] = all; // newest first
    assert.match(paid.id, /^lot_/);
    assert.deepEqual([paid.source, paid.category, paid.amount, paid.remaining, paid.priority, paid.expires_at, paid.status],
        ['grant', 'paid', 200, 200, 20, null, 'active']);
    assert.deepEqual([promo.category, promo.priority, promo.status], ['promotional', 50, 'active']);
    const exp = Date.parse(promo.expires_at) / 1000;
    assert.ok(Math.abs(exp - (Date.now() / 1000 + 10 * DAY)) < 120, promo.expires_at);

    const b = await balance(u);
    assert.equal(b.balance, 500);
    assert.deepEqual(b.by_category, { paid: 200, promotional: 300 });
    assert.equal(b.debt, 0);
    assert.deepEqual(b.next_expiry, { amount: 300, at: promo.expires_at });

    // filters and pages
    assert.equal((await lots(u, '?status=active')).length, 2);
    assert.equal((await lots(u, '?status=expired')).length, 0);
    const p1 = expectStatus(await stack.api('GET', '/v1/lots?limit=1', { token: u.token }), 200);
    assert.equal(p1.has_more, true);
    assert.equal(p1.next_starting_after, paid.id);
    const p2 = expectStatus(await stack.api('GET', `/v1/lots?limit=1&starting_after=${p1.next_starting_after}`, { token: u.token }), 200);
    assert.deepEqual(p2.data.map((l) => l.id), [promo.id]);
    assert.equal(p2.has_more, false);

    expectError(await stack.api('GET', '/v1/lots?status=gone', { token: u.token }), 400, 'invalid_param');
    expectError(await stack.api('GET', '/v1/lots?starting_after=lot_nope', { token: u.token }), 400, 'invalid_param');
    // another account's lot is no start either
    const other = await stack.signup();
    expectError(await stack.api('GET', `/v1/lots?starting_after=${paid.id}`, { token: other.token }), 400, 'invalid_param');
    expectError(await grant(u, { amount: 1, category: 'gift' }), 400, 'invalid_param');
    expectError(await grant(u, { amount: 1, expires_in_days: 0 }), 400, 'invalid_param');
    expectError(await grant(u, { amount: 1, expires_at: '2001-01-01T00:00:00Z' }), 400, 'invalid_param');
    expectError(await grant(u, { amount: 1, expires_at: '2999-01-01T00:00:00Z', expires_in_days: 3 }), 400, 'invalid_param');
    expectError(await grant(u, { amount: 1, priority: 101 }), 400, 'invalid_param');
    await verifyOk();
});

e2e('debits draw lots by priority, then soonest expiry, then promotional before paid, then oldest', async () => {
    const u = await stack.signup();
    expectStatus(await grant(u, { amount: 100, category: 'paid' }), 201); // A: oldest paid
    expectStatus(await grant(u, { amount: 100 }), 201); // B: promotional, no expiry
    expectStatus(await grant(u, { amount: 100, category: 'paid', expires_in_days: 5 }), 201); // C
    expectStatus(await grant(u, { amount: 100, category: 'paid', priority: 1 }), 201); // D
    const [d, c, b, a] = await lots(u);

    expectStatus(await debit(u, 150), 201); // all of D, 50 of C
    let now = Object.fromEntries((await lots(u)).map((l) => [l.id, l.remaining]));
    assert.deepEqual([now[d.id], now[c.id], now[b.id], now[a.id]], [0, 50, 100, 100]);
    expectStatus(await debit(u, 120), 201); // 50 of C, then B before A: 70 of B
    now = Object.fromEntries((await lots(u)).map((l) => [l.id, l.remaining]));
    assert.deepEqual([now[d.id], now[c.id], now[b.id], now[a.id]], [0, 0, 30, 100]);
    const bal = await balance(u);
    assert.equal(bal.balance, 130);
    assert.deepEqual(bal.by_category, { paid: 100, promotional: 30 });
    assert.equal(bal.next_expiry, null);

    // past every lot (allow_negative) is a debt, repaid first by a credit
    expectStatus(await debit(u, 180, { allow_negative: true }), 201);
    assert.equal((await balance(u)).debt, 50);
    assert.equal((await balance(u)).balance, -50);
    expectStatus(await grant(u, { amount: 80 }), 201);
    const b2 = await balance(u);
    assert.deepEqual([b2.balance, b2.debt], [30, 0]);
    const newest = (await lots(u))[0];
    assert.deepEqual([newest.amount, newest.remaining], [80, 30]);
    await verifyOk();
});

e2e('each transaction shows the lots it drew from (GET /v1/transactions, admin ledger)', async () => {
    const u = await stack.signup();
    expectStatus(await grant(u, { amount: 100, category: 'paid', priority: 1 }), 201);
    expectStatus(await grant(u, { amount: 100 }), 201);
    const [promo, paid] = await lots(u);
    const d = expectStatus(await debit(u, 150), 201); // all of paid, 50 of promo
    const byLot = (t) => Object.fromEntries(t.draws.map((x) => [x.lot_id, x.amount]));
    let txns = await stack.list(u, '/v1/transactions');
    const t = txns.find((x) => x.id === d.transaction_id);
    assert.equal(t.draws.length, 2, JSON.stringify(t));
    assert.deepEqual(byLot(t), { [paid.id]: 100, [promo.id]: 50 });
    assert.equal(t.draws.reduce((s, x) => s + x.amount, 0), -t.amount);
    // credits drew nothing
    assert.ok(txns.filter((x) => x.amount > 0).every((x) => Array.isArray(x.draws) && x.draws.length === 0));
    // past every lot: the draws cover what the lots had, the rest is debt
    const d2 = expectStatus(await debit(u, 80, { allow_negative: true }), 201);
    txns = await stack.list(u, '/v1/transactions');
    assert.deepEqual(byLot(txns.find((x) => x.id === d2.transaction_id)), { [promo.id]: 50 });
    assert.equal((await balance(u)).debt, 30);
    // the operator's ledger list shows the same draws
    const admin = expectStatus(await stack.admin('GET', `/v1/admin/ledger?account=${u.id}`), 200).data;
    assert.deepEqual(byLot(admin.find((x) => x.id === d.transaction_id)), byLot(t));
    await verifyOk();
});

e2e("a refund takes back its own order's lots first", async () => {
    const u = await stack.signup();
    const first = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const second = await stack.buy(u, { kind: 'topup', amount_cents: 2000 });
    expectStatus(await debit(u, 300), 201); // the oldest lot: the first order's
    const r = await stack.admin('POST', `/v1/admin/orders/${second.order_id}/refund`, { body: {} });
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => (await stack.balance(u)) === 700, 10000, { what: 'balance 700 after the refund' });
    const byOrder = Object.fromEntries((await lots(u)).map((l) => [l.order_id, l]));
    assert.equal(byOrder[first.order_id].remaining, 700);
    assert.equal(byOrder[second.order_id].remaining, 0);
    assert.equal(byOrder[second.order_id].source, 'topup');
    assert.equal(byOrder[second.order_id].category, 'paid');
    await verifyOk();
});

e2e('a package with expires_in_days; expiry by the sweeper after a restart with the clock ahead, exactly once', async () => {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'package', package_id: 'trial' });
    expectStatus(await grant(u, { amount: 50, expires_in_days: 2 }), 201);
    expectStatus(await grant(u, { amount: 40, category: 'paid' }), 201);
    expectStatus(await debit(u, 20), 201); // the grant: sooner expiry
    const before = await lots(u);
    const pkg = before.find((l) => l.source === 'package');
    assert.ok(pkg, JSON.stringify(before));
    assert.ok(Math.abs(Date.parse(pkg.expires_at) / 1000 - (Date.now() / 1000 + 30 * DAY)) < 120);
    assert.equal((await balance(u)).balance, 370);

    const srv = { id: u.id }; // the token would expire: the server key from here
    await clockAhead(3 * DAY); // the grant's 30 expire, the package's not yet
    await waitFor(async () => (await stack.balance(srv)) === 340, 15000, { what: 'the grant expired' });
    await clockAhead(31 * DAY); // now the package's 300
    await waitFor(async () => (await stack.balance(srv)) === 40, 15000, { what: 'the package expired' });
    await clockAhead(40 * DAY, { crash: true }); // kill -9 while sweeping: still each lot once
    await clockAhead(41 * DAY, { crash: true });
    const txns = await stack.list(srv, '/v1/transactions');
    const expiries = txns.filter((t) => t.kind === 'expiry');
    assert.deepEqual(expiries.map((t) => t.amount).sort((x, y) => x - y), [-300, -30]);
    assert.equal(await stack.balance(srv), 40);
    const expired = await lots(srv, '?status=expired');
    assert.equal(expired.length, 2);
    assert.ok(expired.every((l) => l.remaining === 0 && l.status === 'expired'));
    // Each expiry entry: written by the sweep (created_at, days after the
    // lot's expiry on the moved clock), effective at its lot's expires_at,
    // and drew that one lot only.
    for (const t of expiries) {
        assert.equal(t.draws.length, 1, JSON.stringify(t));
        const lot = expired.find((l) => l.id === t.draws[0].lot_id);
        assert.ok(lot, JSON.stringify(t));
        assert.equal(t.draws[0].amount, -t.amount);
        assert.equal(t.effective_at, lot.expires_at);
        assert.ok(Date.parse(t.created_at) > Date.parse(t.effective_at), JSON.stringify(t));
    }
    // Other entries take effect when written.
    assert.ok(txns.filter((t) => t.kind !== 'expiry').every((t) => t.effective_at === t.created_at));
    // created_at is the time of writing, so keyset pages by (created_at,
    // seq) walk the ledger once: every entry, none twice.
    const seen = [];
    let after = '';
    for (;;) {
        const pg = expectStatus(await stack.admin('GET', `/v1/admin/ledger?account=${u.id}&limit=1${after}`), 200);
        seen.push(...pg.data.map((t) => t.id));
        if (!pg.has_more) break;
        after = `&starting_after=${pg.next_starting_after}`;
    }
    assert.deepEqual(seen, txns.map((t) => t.id));
    const b = await balance(srv);
    assert.deepEqual(b.by_category, { paid: 40, promotional: 0 });
    // Each expiry is one credits.expired event in the account's feed.
    const ev = expectStatus(await stack.asServer(u.id, 'GET', '/v1/events?after=0&limit=100'), 200).data;
    const exp = ev.filter((e) => e.type === 'credits.expired');
    assert.deepEqual(exp.map((e) => e.data.amount).sort((x, y) => x - y), [-300, -30]);
    assert.ok(exp.every((e) => e.data.kind === 'expiry'));
    // ... saying when the credits expired: the entry's effective_at
    for (const e of exp) {
        assert.equal(e.data.expired_at, expiries.find((t) => t.id === e.data.transaction_id).effective_at);
    }
    await verifyOk();
    await clockAhead(0);
}, { timeout: 90000 });

e2e("a plan's credits expire at the period's end but for the rollover cap; bought credits stay", async () => {
    const u = await stack.signup();
    const srv = { id: u.id };
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: 'monthly' });
    const paid = await stack.completeSession(co.session_id);
    assert.equal(paid.status, 200, paid.text);
    const subId = paid.json.subscription;
    await waitFor(async () => (await stack.balance(u)) === 1500, 10000, { what: 'first period credited' });
    const first = (await lots(u)).find((l) => l.source === 'subscription');
    assert.ok(first && first.expires_at, JSON.stringify(first));
    const end1 = Date.parse(first.expires_at) / 1000;
    expectStatus(await debit(u, 100), 201); // the period's lot: it expires first
    const rn = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/subscriptions/${subId}/renew`, { body: {} });
    assert.equal(rn.status, 200, rn.text);
    await waitFor(async () => (await stack.balance(u)) === 1900, 10000, { what: 'renewal credited' });
    const second = (await lots(u)).find((l) => l.source === 'subscription' && l.id !== first.id);
    const end2 = Date.parse(second.expires_at) / 1000;
    assert.ok(end2 > end1);
    const now = Math.floor(Date.now() / 1000);

    await clockAhead(end1 - now + 60); // period 1 ends: 300 expire, 100 roll over
    await waitFor(async () => (await stack.balance(srv)) === 1600, 15000, { what: 'period 1 expired but the cap' });
    let byId = Object.fromEntries((await lots(srv)).map((l) => [l.id, l]));
    assert.equal(byId[first.id].remaining, 100);
    assert.equal(byId[first.id].expires_at, second.expires_at); // one period on
    await verifyOk();

    await clockAhead(end2 - now + 60); // period 2 ends: the rolled 100 go, 400 of period 2, 100 roll
    await waitFor(async () => (await stack.balance(srv)) === 1100, 15000, { what: 'period 2 expired but the cap' });
    byId = Object.fromEntries((await lots(srv)).map((l) => [l.id, l]));
    assert.equal(byId[first.id].remaining, 0);
    assert.equal(byId[second.id].remaining, 100);
    const topup = Object.values(byId).find((l) => l.source === 'topup');
    assert.equal(topup.remaining, 1000); // bought credits never vanish
    const expiries = (await stack.list(srv, '/v1/transactions')).filter((t) => t.kind === 'expiry');
    assert.deepEqual(expiries.map((t) => t.amount).sort((x, y) => x - y), [-400, -300, -100]);
    await verifyOk();
    await clockAhead(0);
}, { timeout: 90000 });

e2e('kill -9 in the middle of a sweep: after the restart every lot has expired exactly once', async () => {
    const u = await stack.signup();
    const srv = { id: u.id };
    for (let i = 0; i < 200; i++) expectStatus(await grant(u, { amount: 1 + (i % 5), expires_in_days: 1 }), 201);
    expectStatus(await grant(u, { amount: 9, category: 'paid' }), 201);
    await clockAhead(2 * DAY);
    // the first sweep runs a second after the start, in jobs of 64 lots
    await waitFor(async () => (await stack.balance(srv)) < 609, 15000, { what: 'the sweep started' });
    await stack.killServer();
    await stack.startServer();
    await waitFor(async () => (await stack.balance(srv)) === 9, 15000, { what: 'every lot expired' });
    const txns = expectStatus(await stack.api('GET', '/v1/transactions?limit=100', { key: true, account: u.id }), 200);
    assert.equal(txns.total, 201 + 200); // the grants, and one expiry per lot
    assert.ok(txns.data.every((t) => t.kind === 'expiry'));
    const all = [];
    for (let after = null; ;) {
        const q = `/v1/lots?status=expired&limit=100${after ? `&starting_after=${after}` : ''}`;
        const p = expectStatus(await stack.api('GET', q, { key: true, account: u.id }), 200);
        all.push(...p.data);
        if (!p.has_more) break;
        after = p.next_starting_after;
    }
    assert.equal(all.length, 200);
    assert.ok(all.every((l) => l.remaining === 0));
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
    await clockAhead(0);
}, { timeout: 120000 });
