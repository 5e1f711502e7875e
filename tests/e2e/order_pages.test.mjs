// order_pages.test.mjs - keyset pages of the account's own GET /v1/orders
// and GET /v1/payments (026), as GET /v1/transactions has them:
// starting_after walks every row once, newest first, also while new
// orders and payments are written between pages; has_more and
// next_starting_after on both kinds of page (offset pages keep total,
// limit, offset as before); a starting_after that is not one of the
// account's own rows (another account's, the other list's, unknown,
// malformed) or combined with offset is 400 invalid_param. Orders are
// POST /v1/payment_intents (pending, written at once); payments are
// top-ups paid off-session with the card a Checkout purchase saved.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectError, expectStatus } from './harness.mjs';

const stack = useStack({ relayForward: true, serverEnv: { CREDITD_CHECKOUT_RATE_LIMIT: '0' } });

const page = (u, list, q) => stack.api('GET', `/v1/${list}?${q}`, { token: u.token });

async function newOrders(u, n) {
    for (let i = 0; i < n; i++)
        expectStatus(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 500 + i } }), 201);
}

async function paymentCount(u) {
    return expectStatus(await page(u, 'payments', 'limit=1'), 200).total;
}

// n top-ups, each waited for until its payment is listed.
async function newPayments(u, n) {
    for (let i = 0; i < n; i++) {
        const before = await paymentCount(u);
        expectStatus(await stack.api('POST', '/v1/topups', { token: u.token, body: { amount_cents: 1000 * (i + 1) } }), 202);
        await waitFor(async () => (await paymentCount(u)) === before + 1, 10000, { what: 'payment listed' });
    }
}

// Every page from the newest by starting_after; the ids in order.
async function walk(u, list, limit, between = async () => {}) {
    const ids = [];
    let after = null;
    for (let pages = 0; pages < 200; pages++) {
        const p = expectStatus(await page(u, list, `limit=${limit}${after ? `&starting_after=${after}` : ''}`), 200);
        assert.equal(p.limit, limit);
        assert.equal(p.offset, 0);
        assert.ok(p.data.length <= limit);
        ids.push(...p.data.map((r) => r.id));
        if (!p.has_more) {
            assert.equal(p.next_starting_after, null);
            return { ids, total: p.total };
        }
        assert.equal(p.data.length, limit);
        assert.equal(p.next_starting_after, p.data.at(-1).id);
        after = p.next_starting_after;
        await between();
    }
    throw new Error('walk: more than 200 pages');
}

e2e('orders: starting_after walks every order once, newest first, while orders are added', async () => {
    const u = await stack.signup();
    await newOrders(u, 13); // most share a second: ties broken by seq
    const all = (await stack.list(u, '/v1/orders')).map((o) => o.id);
    assert.equal(all.length, 13);
    for (const limit of [1, 5, 13, 100]) {
        const w = await walk(u, 'orders', limit);
        assert.deepEqual(w.ids, all, `limit ${limit}`);
        assert.equal(w.total, 13);
    }
    let added = 0;
    const w = await walk(u, 'orders', 4, async () => {
        await newOrders(u, 2);
        added += 2;
    });
    assert.equal(added, 6);
    assert.equal(new Set(w.ids).size, w.ids.length, 'no order twice');
    assert.deepEqual(w.ids, all, 'exactly the orders there when the walk began');
    assert.equal(w.total, 13 + added);
    const now = (await stack.list(u, '/v1/orders')).map((o) => o.id);
    assert.deepEqual(now.slice(added), all);

    // The offset page says the same: has_more and where to go on.
    const p = expectStatus(await page(u, 'orders', 'limit=5&offset=10'), 200);
    assert.equal(p.total, 19);
    assert.equal(p.offset, 10);
    assert.equal(p.has_more, true);
    assert.equal(p.next_starting_after, now[14]);
    const q = expectStatus(await page(u, 'orders', `limit=5&starting_after=${p.next_starting_after}`), 200);
    assert.deepEqual(q.data.map((o) => o.id), now.slice(15));
    assert.equal(q.has_more, false);
    const last = expectStatus(await page(u, 'orders', 'limit=5&offset=15'), 200);
    assert.equal(last.has_more, false);
    assert.equal(last.next_starting_after, null);
    const empty = expectStatus(await page(await stack.signup(), 'orders', 'limit=5'), 200);
    assert.deepEqual(empty, { data: [], total: 0, limit: 5, offset: 0, has_more: false, next_starting_after: null });
});

e2e('payments: starting_after walks every payment once, newest first, while payments are added', async () => {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 }); // saves the card: a payment too
    await waitFor(async () => expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200).has_saved_payment_method === true,
        10000, { what: 'card saved' });
    await newPayments(u, 6);
    const all = (await stack.list(u, '/v1/payments')).map((x) => x.id);
    assert.equal(all.length, 7);
    for (const limit of [1, 3, 7]) {
        const w = await walk(u, 'payments', limit);
        assert.deepEqual(w.ids, all, `limit ${limit}`);
        assert.equal(w.total, 7);
    }
    let added = 0;
    const w = await walk(u, 'payments', 3, async () => {
        await newPayments(u, 1);
        added += 1;
    });
    assert.equal(added, 2);
    assert.equal(new Set(w.ids).size, w.ids.length, 'no payment twice');
    assert.deepEqual(w.ids, all, 'exactly the payments there when the walk began');
    assert.equal(w.total, 7 + added);
    // Default limit 50 either way; the offset page has has_more too.
    const d = expectStatus(await page(u, 'payments', `starting_after=${all[0]}`), 200);
    assert.equal(d.limit, 50);
    assert.deepEqual(d.data.map((x) => x.id), all.slice(1));
    const o = expectStatus(await page(u, 'payments', 'limit=2&offset=1'), 200);
    assert.equal(o.has_more, true);
    assert.equal(o.next_starting_after, o.data[1].id);
});

e2e('orders and payments: a bad starting_after is 400 invalid_param', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    await newOrders(u, 2);
    await newOrders(other, 1);
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    await stack.buy(other, { kind: 'topup', amount_cents: 1000 });
    await waitFor(async () => (await paymentCount(other)) === 1 && (await paymentCount(u)) === 1, 10000, { what: 'payments listed' });
    const mine = { orders: (await stack.list(u, '/v1/orders'))[0].id, payments: (await stack.list(u, '/v1/payments'))[0].id };
    const theirAll = { orders: await stack.list(other, '/v1/orders'), payments: await stack.list(other, '/v1/payments') };
    const theirs = { orders: theirAll.orders.at(-1).id, payments: theirAll.payments.at(-1).id }; // their oldest
    for (const [list, otherList] of [['orders', 'payments'], ['payments', 'orders']]) {
        for (const [q, param] of [
            ['starting_after=ord_doesnotexist', 'starting_after'],
            [`starting_after=${theirs[list]}`, 'starting_after'], // another account's
            [`starting_after=${mine[otherList]}`, 'starting_after'], // the other list's
            ['starting_after=', 'starting_after'],
            [`starting_after=${'x'.repeat(80)}`, 'starting_after'],
            ['starting_after=a%20b', 'starting_after'],
            [`starting_after=${mine[list]}&offset=0`, 'offset'],
            [`starting_after=${mine[list]}&limit=0`, 'limit'],
            [`starting_after=${mine[list]}&limit=101`, 'limit'],
        ]) {
            const e = expectError(await page(u, list, q), 400, 'invalid_param', `${list} ${q}`);
            assert.equal(e.param, param, `${list} ${q}`);
            if (param !== 'limit')
                assert.equal(e.message, param === 'offset' ? 'page with starting_after or with offset, not both'
                    : `starting_after names no ${list.slice(0, -1)} of this account`, `${list} ${q}`);
        }
        // The other account still pages from its own row.
        const p = expectStatus(await page(other, list, `starting_after=${theirs[list]}`), 200);
        assert.deepEqual(p.data, []);
        assert.equal(p.total, theirAll[list].length);
        assert.equal(p.has_more, false);
    }
});
