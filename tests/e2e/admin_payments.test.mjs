// admin_payments.test.mjs - the operator's lists of every account's
// payments and subscriptions: GET /v1/admin/payments (filters: account,
// status, from/to; keyset pages with starting_after) and GET
// /v1/admin/subscriptions (account, status - Stripe's -, from/to; pages
// after a stripe_subscription_id); GET /v1/admin/summary (the dashboard's
// revenue and orders by status, summed in SQL); bad parameters are 400
// naming the parameter; all need the server key.

import assert from 'node:assert/strict';
import { e2e, expectError, useStack, waitFor } from './harness.mjs';

const stack = useStack();

/** Every page of an admin list, following next_starting_after (key: the row's id member). */
async function allPages(path, limit, key = 'id') {
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
        assert.equal(after, r.json.data.at(-1)[key]);
    }
    throw new Error('no last page');
}

/** A new account subscribed to the first plan (4242), its subscription
 * active and its first period's payment in: that payment comes from its
 * own webhook (invoice.paid), so a test that does not wait for it leaves
 * it to land in the next test's totals. */
async function subscribe() {
    const cfg = await stack.config();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'subscription', plan_id: cfg.plans[0].id });
    const r = await stack.completeSession(co.session_id);
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => {
        const s = await stack.api('GET', '/v1/subscription', { token: u.token });
        return s.status === 200 && s.json.status === 'active';
    }, 10000, { what: 'subscription active' });
    await waitFor(async () => (await stack.list(u, '/v1/payments')).length === 1,
        10000, { what: 'first period paid' });
    return { u, subId: r.json.subscription, plan: cfg.plans[0] };
}

e2e('GET /v1/admin/payments: every account, filters, keyset pages', async () => {
    const cfg = await stack.config();
    const amount = cfg.topup.default_cents;
    const a = await stack.signup();
    const b = await stack.signup();
    const p1 = await stack.buy(a, { kind: 'topup', amount_cents: amount });
    const p2 = await stack.buy(a, { kind: 'topup', amount_cents: amount + 1000 });
    const p3 = await stack.buy(b, { kind: 'topup', amount_cents: amount });
    const orderOf = async (u) => (await stack.list(u, '/v1/payments')).map((p) => p.id);
    const aPays = await orderOf(a);
    assert.equal(aPays.length, 2);

    const mine = await allPages(`/v1/admin/payments?account=${a.id}`, 1);
    assert.deepEqual(mine.map((p) => p.id), aPays, 'newest first, each once');
    for (const p of mine) {
        assert.equal(p.account_id, a.id);
        assert.equal(p.status, 'succeeded');
        assert.match(p.id, /^pay_/);
    }
    assert.deepEqual(mine.map((p) => p.order_id), [p2.order_id, p1.order_id]);
    assert.equal(mine[0].amount_cents, amount + 1000);

    const ok = await allPages('/v1/admin/payments?status=succeeded', 100);
    const ids = ok.map((p) => p.order_id);
    assert.ok([p1, p2, p3].every((c) => ids.includes(c.order_id)));
    for (const p of ok) assert.equal(p.status, 'succeeded');
    assert.deepEqual(await allPages(`/v1/admin/payments?account=${b.id}&status=refunded`, 5), []);
    assert.deepEqual(await allPages('/v1/admin/payments?from=2999-01-01T00:00:00Z', 5), []);
    const window = await allPages(`/v1/admin/payments?account=${b.id}&from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z`, 5);
    assert.deepEqual(window.map((p) => p.order_id), [p3.order_id]);

    const everything = await allPages('/v1/admin/payments', 2);
    assert.equal(new Set(everything.map((p) => p.id)).size, everything.length, 'no payment twice');
    const pos = (o) => everything.findIndex((p) => p.order_id === o.order_id);
    assert.ok(pos(p3) >= 0 && pos(p3) < pos(p2) && pos(p2) < pos(p1), 'newest first');
});

e2e('GET /v1/admin/subscriptions: every account, status filter, pages after a subscription id', async () => {
    const s1 = await subscribe();
    const s2 = await subscribe();
    const all = await allPages('/v1/admin/subscriptions', 1, 'stripe_subscription_id');
    const mineIdx = (s) => all.findIndex((x) => x.stripe_subscription_id === s.subId);
    assert.ok(mineIdx(s2) >= 0 && mineIdx(s2) < mineIdx(s1), 'newest first');
    const row = all[mineIdx(s1)];
    assert.equal(row.account_id, s1.u.id);
    assert.equal(row.plan_id, s1.plan.id);
    assert.equal(row.status, 'active');
    assert.equal(row.cancel_at_period_end, false);
    assert.match(row.current_period_end, /^\d{4}-\d\d-\d\dT/);

    const one = await allPages(`/v1/admin/subscriptions?account=${s2.u.id}`, 5, 'stripe_subscription_id');
    assert.deepEqual(one.map((x) => x.stripe_subscription_id), [s2.subId]);
    const active = await allPages('/v1/admin/subscriptions?status=active', 100, 'stripe_subscription_id');
    assert.ok(active.some((x) => x.stripe_subscription_id === s1.subId));
    assert.deepEqual(await allPages(`/v1/admin/subscriptions?account=${s1.u.id}&status=canceled`, 5), []);
}, { timeout: 60000 });

e2e('GET /v1/admin/summary: revenue gross, refunded and net, and orders by status, summed by the database', async () => {
    const summary = async (q = '') => {
        const r = await stack.admin('GET', `/v1/admin/summary${q}`);
        assert.equal(r.status, 200, r.text);
        return r.json;
    };
    const usd = (s) => s.revenue.find((x) => x.currency === 'usd') || { payments: 0, gross_cents: 0, refunded_cents: 0, net_cents: 0 };
    const before = await summary();
    const u = await stack.signup();
    const a = await stack.buy(u, { kind: 'topup', amount_cents: 3000 });
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await stack.checkout(u, { kind: 'topup', amount_cents: 1000 }); // open, unpaid
    const rf = await stack.admin('POST', `/v1/admin/orders/${a.order_id}/refund`, { body: { amount_cents: 500 } });
    assert.equal(rf.status, 202, rf.text);
    await stack.waitOrderStatus(u, a.order_id, 'partially_refunded');
    const after = await summary();
    const d = (k) => usd(after)[k] - usd(before)[k];
    assert.equal(d('payments'), 2);
    assert.equal(d('gross_cents'), 4000);
    assert.equal(d('refunded_cents'), 500);
    assert.equal(d('net_cents'), 3500);
    assert.equal(usd(after).net_cents, usd(after).gross_cents - usd(after).refunded_cents);
    const n = (s, k) => s.orders_by_status[k] || 0;
    assert.equal(n(after, 'partially_refunded') - n(before, 'partially_refunded'), 1);
    assert.equal(n(after, 'completed') - n(before, 'completed'), 1);
    assert.equal(n(after, 'pending') - n(before, 'pending'), 1);
    // A window: from/to as given; nothing in the future.
    const later = await summary('?from=2999-01-01T00:00:00Z&to=2999-02-01T00:00:00Z');
    assert.deepEqual([later.from, later.to, later.revenue, later.orders_by_status],
        ['2999-01-01T00:00:00Z', '2999-02-01T00:00:00Z', [], {}]);
    for (const [q, param] of [
        ['?from=yesterday', 'from'],
        ['?to=2030-01-01T00:00:00Z&from=2030-01-02T00:00:00Z', 'to'],
        ['?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z', 'to'],
    ]) {
        const r = await stack.admin('GET', `/v1/admin/summary${q}`);
        expectError(r, 400, 'invalid_param', q);
        assert.equal(r.json.error.param, param, q);
    }
    expectError(await stack.api('GET', '/v1/admin/summary', { token: u.token }), 403, 'forbidden');
});

e2e('GET /v1/admin/payments and /subscriptions refuse bad parameters with 400, and need the server key', async () => {
    for (const [path, param] of [
        ['/v1/admin/payments?limit=0', 'limit'],
        ['/v1/admin/payments?limit=101', 'limit'],
        ['/v1/admin/payments?status=completed', 'status'],
        ['/v1/admin/payments?kind=topup', 'kind'],
        ['/v1/admin/payments?from=yesterday', 'from'],
        ['/v1/admin/payments?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', 'to'],
        ['/v1/admin/payments?starting_after=pay_nope', 'starting_after'],
        ['/v1/admin/payments?offset=20', 'offset'],
        [`/v1/admin/payments?account=${'x'.repeat(100)}`, 'account'],
        ['/v1/admin/subscriptions?status=paid', 'status'],
        ['/v1/admin/subscriptions?kind=plan', 'kind'],
        ['/v1/admin/subscriptions?starting_after=sub_nope', 'starting_after'],
        ['/v1/admin/subscriptions?limit=abc', 'limit'],
    ]) {
        const r = await stack.admin('GET', path);
        expectError(r, 400, 'invalid_param', path);
        assert.equal(r.json.error.param, param, path);
    }
    const u = await stack.signup();
    for (const p of ['/v1/admin/payments', '/v1/admin/subscriptions']) {
        expectError(await stack.api('GET', p), 401, 'unauthorized', p);
        expectError(await stack.api('GET', p, { token: u.token }), 403, 'forbidden', p);
    }
});
