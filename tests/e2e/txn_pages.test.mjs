// txn_pages.test.mjs - keyset pages of GET /v1/transactions (024):
// starting_after walks the whole ledger with no entry twice and none
// missing, also while entries are added between pages; has_more and
// next_starting_after on both kinds of page (offset pages keep total,
// limit, offset); a starting_after that is not one of the account's
// entries, malformed, or combined with offset is 400.

import assert from 'node:assert/strict';
import { useStack, e2e, expectError, expectStatus } from './harness.mjs';

const stack = useStack({ sandbox: false });

const page = (u, q) => stack.api('GET', `/v1/transactions?${q}`, { token: u.token });

async function grants(u, n, from = 0) {
    for (let i = 0; i < n; i++) await stack.grant(u, 1 + from + i, `g${from + i}`);
}

// Every page from the newest by starting_after; the ids in order.
async function walk(u, limit, between = async () => {}) {
    const ids = [];
    let after = null;
    for (let pages = 0; pages < 1000; pages++) {
        const p = expectStatus(await page(u, `limit=${limit}${after ? `&starting_after=${after}` : ''}`), 200);
        assert.equal(p.limit, limit);
        assert.equal(p.offset, 0);
        assert.ok(p.data.length <= limit);
        ids.push(...p.data.map((t) => t.id));
        if (!p.has_more) {
            assert.equal(p.next_starting_after, null);
            return { ids, total: p.total };
        }
        assert.equal(p.data.length, limit);
        assert.equal(p.next_starting_after, p.data.at(-1).id);
        after = p.next_starting_after;
        await between();
    }
    throw new Error('walk: more than 1000 pages');
}

e2e('transactions: starting_after walks the whole ledger once, newest first', async () => {
    const u = await stack.signup();
    await grants(u, 45); // most share a second: ties broken by seq
    const all = (await stack.list(u, '/v1/transactions')).map((t) => t.id);
    assert.equal(all.length, 45);
    for (const limit of [1, 7, 45, 100]) {
        const w = await walk(u, limit);
        assert.deepEqual(w.ids, all, `limit ${limit}`);
        assert.equal(w.total, 45);
    }
    // The offset page says the same: has_more and where to go on.
    const p = expectStatus(await page(u, 'limit=10&offset=30'), 200);
    assert.equal(p.total, 45);
    assert.equal(p.offset, 30);
    assert.equal(p.has_more, true);
    assert.equal(p.next_starting_after, all[39]);
    const q = expectStatus(await page(u, `limit=10&starting_after=${p.next_starting_after}`), 200);
    assert.deepEqual(q.data.map((t) => t.id), all.slice(40));
    assert.equal(q.has_more, false);
    const last = expectStatus(await page(u, 'limit=5&offset=40'), 200);
    assert.equal(last.has_more, false);
    assert.equal(last.next_starting_after, null);
    const empty = expectStatus(await page(await stack.signup(), 'limit=5'), 200);
    assert.deepEqual(empty, { data: [], total: 0, limit: 5, offset: 0, has_more: false, next_starting_after: null });
});

e2e('transactions: entries added while paging neither repeat nor hide a row', async () => {
    const u = await stack.signup();
    await grants(u, 30);
    const before = (await stack.list(u, '/v1/transactions')).map((t) => t.id);
    let added = 0;
    const w = await walk(u, 4, async () => {
        await grants(u, 2, 100 + added);
        added += 2;
    });
    assert.ok(added >= 14);
    assert.equal(new Set(w.ids).size, w.ids.length, 'no entry twice');
    assert.deepEqual(w.ids, before, 'exactly the entries there when the walk began');
    assert.equal(w.total, 30 + added);
    // Offset paging over the same growth shifts: the keyset walk does not.
    const after = (await stack.list(u, '/v1/transactions')).map((t) => t.id);
    assert.deepEqual(after.slice(added), before);
});

e2e('transactions: a bad starting_after is 400 invalid_param', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    await grants(u, 3);
    const theirs = (await stack.grant(other, 5)).transaction_id;
    const mine = (await stack.list(u, '/v1/transactions'))[0].id;
    for (const [q, param] of [
        ['starting_after=txn_doesnotexist', 'starting_after'],
        [`starting_after=${theirs}`, 'starting_after'], // another account's entry
        ['starting_after=', 'starting_after'],
        [`starting_after=${'x'.repeat(80)}`, 'starting_after'],
        ['starting_after=a%20b', 'starting_after'],
        [`starting_after=${mine}&offset=0`, 'offset'],
        [`starting_after=${mine}&limit=0`, 'limit'],
    ]) {
        const e = expectError(await page(u, q), 400, 'invalid_param', q);
        assert.equal(e.param, param, q);
        if (param !== 'limit')
            assert.equal(e.message, param === 'offset' ? 'page with starting_after or with offset, not both'
                : 'starting_after names no transaction of this account', q);
    }
    // The other account still pages from its own entry.
    const p = expectStatus(await page(other, `starting_after=${theirs}`), 200);
    assert.deepEqual(p.data, []);
    assert.equal(p.total, 1);
});
