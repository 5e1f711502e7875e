// autotopup.test.mjs - auto top-up through the real binary and sandbox:
// a card saved by a purchase, the setting turned on, a debit under the
// threshold starts exactly one off-session top-up (also under concurrent
// debits), the monthly cap, and a card that declines off-session
// (4000000000000341): the decline code recorded, retried after 1 h and
// 6 h (the server restarted with CREDITD_TEST_CLOCK_OFFSET ahead), then
// auto top-up turned off with a reason.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectError, expectStatus, httpRequest } from './harness.mjs';

const stack = useStack({ relayForward: true, serverEnv: { CREDITD_AUTOTOPUP_POLL_MS: '200' } });

const getAt = async (u) => expectStatus(await stack.api('GET', '/v1/auto_topup', { token: u.token }), 200);
const putAt = (u, body) => stack.api('PUT', '/v1/auto_topup', { token: u.token, body });
const debit = (u, amount) => stack.asServer(u.id, 'POST', '/v1/debits', { body: { amount, description: 'e2e usage' } });

async function savedCardUser(card) {
    const u = await stack.signup();
    await stack.buy(u, { kind: 'topup', amount_cents: 1000 }, card);
    await waitFor(async () => (await stack.api('GET', '/v1/account', { token: u.token })).json.has_saved_payment_method === true,
        10000, { what: 'card saved' });
    assert.equal(await stack.balance(u), 1000);
    return u;
}

async function ledgerOk() {
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true, JSON.stringify(v));
}

async function sandboxConfig(body) {
    expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body }), 200);
}

const topupOrders = async (u, cents) => (await stack.list(u, '/v1/orders')).filter((o) => o.kind === 'topup' && o.amount_cents === cents);

e2e('settings: defaults, refusals (no saved card 409, bad amounts 400), server key with Creditd-Account', async () => {
    const u = await stack.signup();
    const d = await getAt(u);
    assert.equal(d.enabled, false);
    assert.equal(d.last_attempt, null);
    assert.equal(d.last_failure, null);
    expectError(await putAt(u, { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 }), 409, 'no_saved_payment_method');
    expectError(await putAt(u, { threshold: 500 }), 400, 'missing_param');
    expectError(await putAt(u, { enabled: 'yes' }), 400, 'invalid_param');
    expectError(await putAt(u, { enabled: true, amount_cents: 2000, monthly_cap_cents: 10000 }), 400, 'missing_param');
    expectError(await putAt(u, { enabled: true, threshold: -1, amount_cents: 2000, monthly_cap_cents: 10000 }), 400, 'invalid_amount');
    const cfg = await stack.config();
    expectError(await putAt(u, { enabled: false, amount_cents: cfg.topup.max_cents + cfg.topup.step_cents }), 400, 'invalid_amount');
    expectError(await putAt(u, { enabled: false, threshold: 10, amount_cents: 2000, monthly_cap_cents: 1000 }), 400, 'invalid_param');
    // Turning it off is always allowed, and keeps the amounts.
    const off = expectStatus(await putAt(u, { enabled: false, threshold: 10, amount_cents: 2000, monthly_cap_cents: 4000 }), 200);
    assert.equal(off.enabled, false);
    assert.equal(off.amount_cents, 2000);
    const viaServer = expectStatus(await stack.asServer(u.id, 'GET', '/v1/auto_topup'), 200);
    assert.deepEqual(viaServer, off);
    expectError(await stack.api('GET', '/v1/auto_topup'), 401);
});

e2e('a debit under the threshold starts one off-session top-up; credited by its webhook; the attempt succeeds', async () => {
    const u = await savedCardUser();
    const on = expectStatus(await putAt(u, { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 }), 200);
    assert.equal(on.enabled, true);
    assert.equal(on.last_attempt, null);
    expectStatus(await debit(u, 400), 201); // 600: above the threshold
    assert.equal((await getAt(u)).last_attempt, null);
    expectStatus(await debit(u, 200), 201); // 400: under
    const started = await getAt(u);
    assert.ok(['pending', 'in_flight', 'succeeded'].includes(started.last_attempt.status), JSON.stringify(started));
    assert.equal(started.month_spent_cents, 2000);
    await waitFor(async () => (await stack.balance(u)) === 2400, 15000, { what: 'balance 2400' });
    const done = await waitFor(async () => {
        const v = await getAt(u);
        return v.last_attempt.status === 'succeeded' && v;
    }, 15000, { what: 'attempt succeeded' });
    assert.equal(done.last_attempt.tries, 1);
    assert.equal(done.consecutive_declines, 0);
    const orders = await topupOrders(u, 2000);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].id, done.last_attempt.order_id);
    assert.equal(orders[0].status, 'completed');
    await ledgerOk();
});

e2e('a hold that takes the available balance under the threshold starts one top-up; the balance and the hold are left alone', async () => {
    const u = await savedCardUser();
    expectStatus(await putAt(u, { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 }), 200);
    const h = expectStatus(await stack.asServer(u.id, 'POST', '/v1/holds', { body: { amount: 300 } }), 201);
    assert.equal((await getAt(u)).last_attempt, null); // available 700: above
    expectStatus(await stack.asServer(u.id, 'POST', '/v1/holds', { body: { amount: 300 } }), 201); // available 400: under
    const done = await waitFor(async () => {
        const v = await getAt(u);
        return v.last_attempt && v.last_attempt.status === 'succeeded' && v;
    }, 15000, { what: 'attempt succeeded' });
    assert.equal(done.last_attempt.tries, 1);
    await waitFor(async () => (await stack.balance(u)) === 3000, 15000, { what: 'balance 3000' });
    const b = expectStatus(await stack.asServer(u.id, 'GET', '/v1/balance'), 200);
    assert.equal(b.held, 600);
    assert.equal(b.available, 2400);
    assert.equal((await topupOrders(u, 2000)).length, 1);
    expectStatus(await stack.asServer(u.id, 'POST', `/v1/holds/${h.id}/release`, {}), 200);
    const ev = expectStatus(await stack.asServer(u.id, 'GET', '/v1/events?after=0&limit=100'), 200).data;
    const ok = ev.filter((e) => e.type === 'auto_topup.succeeded');
    assert.equal(ok.length, 1);
    assert.equal(ok[0].data.auto_topup.id, done.last_attempt.id);
    assert.equal(ok[0].data.auto_topup.amount_cents, 2000);
    assert.deepEqual(ev.filter((e) => e.type === 'hold.released').map((e) => e.data.hold.id), [h.id]);
    await ledgerOk();
});

e2e('concurrent debits under the threshold start exactly one top-up; the monthly cap stops the next', async () => {
    const u = await savedCardUser();
    expectStatus(await putAt(u, { enabled: true, threshold: 900, amount_cents: 2000, monthly_cap_cents: 2000 }), 200);
    const rs = await Promise.all(Array.from({ length: 20 }, () => debit(u, 10)));
    for (const r of rs) assert.equal(r.status, 201, r.text);
    await waitFor(async () => (await stack.balance(u)) === 2800, 15000, { what: 'balance 2800' });
    const v = await waitFor(async () => {
        const x = await getAt(u);
        return x.last_attempt.status === 'succeeded' && x;
    }, 15000, { what: 'attempt succeeded' });
    assert.equal((await topupOrders(u, 2000)).length, 1);
    assert.equal(v.month_spent_cents, 2000);
    // Under the threshold again: the cap (2000 this month) is spent.
    expectStatus(await debit(u, 2000), 201);
    const after = await getAt(u);
    assert.equal(after.last_attempt.id, v.last_attempt.id);
    assert.equal(after.last_attempt.status, 'succeeded');
    assert.equal(await stack.balance(u), 800);
    await ledgerOk();
});

e2e('kill -9 while Stripe is charging the card: resumed under the same key, charged and credited once', async () => {
    const u = await savedCardUser();
    expectStatus(await putAt(u, { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 }), 200);
    await sandboxConfig({ api_delay_ms: 2500 });
    try {
        expectStatus(await debit(u, 600), 201);
        const a = await waitFor(async () => {
            const x = (await getAt(u)).last_attempt;
            return x && x.status === 'in_flight' && x;
        }, 10000, { what: 'attempt at Stripe' });
        // Its order is written just before the PaymentIntent is POSTed
        // (each Stripe call takes 2.5 s now): kill -9 inside that call.
        await waitFor(async () => (await topupOrders(u, 2000)).some((o) => o.id === a.order_id), 10000,
            { what: 'order opened', intervalMs: 20 });
        await stack.killServer();
        await stack.startServer();
        await waitFor(async () => (await stack.balance(u)) === 2400, 30000, { what: 'balance 2400' });
        const v = await waitFor(async () => {
            const x = await getAt(u);
            return x.last_attempt.status === 'succeeded' && x;
        }, 15000, { what: 'attempt succeeded' });
        assert.equal(v.last_attempt.id, a.id);
        assert.equal(v.last_attempt.order_id, a.order_id);
        const cus = (await stack.api('GET', '/v1/account', { token: u.token })).json.stripe_customer_id;
        const pis = (await stack.stripe('GET', `/v1/payment_intents?customer=${cus}&limit=100`)).json.data;
        assert.equal(pis.filter((pi) => pi.metadata.order_id === a.order_id).length, 1);
        assert.equal((await topupOrders(u, 2000)).length, 1);
    } finally {
        await sandboxConfig({ api_delay_ms: 0 });
    }
    await ledgerOk();
}, { timeout: 90000 });

e2e('a card that declines off-session: reason recorded, retried after 1 h and 6 h, then turned off', async () => {
    const u = await savedCardUser('4000000000000341');
    expectStatus(await putAt(u, { enabled: true, threshold: 500, amount_cents: 2000, monthly_cap_cents: 10000 }), 200);
    expectStatus(await debit(u, 600), 201);
    const declined = async (n) => waitFor(async () => {
        const x = await getAt(u);
        return x.consecutive_declines === n && x;
    }, 15000, { what: `${n} decline(s)` });
    let v = await declined(1);
    assert.equal(v.enabled, true);
    assert.equal(v.last_failure.decline_code, 'generic_decline');
    assert.match(v.last_failure.message, /declined/);
    assert.equal(v.last_attempt.status, 'pending');
    assert.equal(v.last_attempt.decline_code, 'generic_decline');
    const wait1 = Date.parse(v.last_attempt.next_try_at) - Date.parse(v.last_attempt.updated_at);
    assert.equal(wait1, 3600 * 1000);
    // Another debit meanwhile starts nothing new: the attempt is open.
    expectStatus(await debit(u, 10), 201);
    assert.equal((await getAt(u)).last_attempt.id, v.last_attempt.id);

    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = String(3600 + 60);
    await stack.restartServer({ graceful: true });
    v = await declined(2);
    assert.equal(v.last_attempt.tries, 2);
    assert.equal(Date.parse(v.last_attempt.next_try_at) - Date.parse(v.last_attempt.updated_at), 6 * 3600 * 1000);

    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = String(3600 + 6 * 3600 + 120);
    await stack.restartServer({ graceful: true });
    v = await declined(3);
    assert.equal(v.enabled, false);
    assert.equal(v.last_attempt.status, 'failed');
    assert.equal(v.last_attempt.tries, 3);
    assert.match(v.disabled_reason, /3 declines in a row/);
    assert.match(v.disabled_reason, /generic_decline/);
    const failed = await topupOrders(u, 2000);
    assert.equal(failed.length, 3);
    for (const o of failed) assert.equal(o.status, 'failed');
    assert.equal(await stack.balance(u), 390);
    const metrics = (await stack.admin('GET', '/metrics')).text;
    assert.match(metrics, /^creditd_autotopup_total\{outcome="failed"\} 1$/m);
    // Each decline is an auto_topup.failed event; the last says it is off.
    const fails = expectStatus(await stack.asServer(u.id, 'GET', '/v1/events?after=0&limit=100'), 200).data
        .filter((e) => e.type === 'auto_topup.failed');
    assert.equal(fails.length, 3);
    for (const e of fails) assert.equal(e.data.auto_topup.decline_code, 'generic_decline');
    assert.deepEqual(fails.map((e) => e.data.auto_topup.enabled), [true, true, false]);
    // Turned on again: a fresh start (the count and the reason cleared).
    const again = expectStatus(await putAt(u, { enabled: true, threshold: 100, amount_cents: 2000, monthly_cap_cents: 10000 }), 200);
    assert.equal(again.consecutive_declines, 0);
    assert.equal(again.disabled_reason, null);
    await ledgerOk();
}, { timeout: 90000 });
