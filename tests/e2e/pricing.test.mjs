// pricing.test.mjs - GET /v1/config, the dynamic price (launch/rrp/sale,
// persisted and effective at once), discount codes (percent, fixed,
// duplicates, listing, deactivation, max_uses, expiry) and
// POST /v1/discounts/validate.

import assert from 'node:assert/strict';
import { useStack, e2e, rand, expectError, expectStatus, rfc3339 } from './harness.mjs';

// Every test here tries discount codes from 127.0.0.1: together far more
// than the default 20 a minute per address (ratelimit_checkout.test.mjs
// tests that limit).
const stack = useStack({ serverEnv: { CREDITD_DISCOUNT_RATE_LIMIT: 1000 } });

const DEFAULTS = { mode: 'launch', launch_cents: 2999, rrp_cents: 4999, sale_cents: 2499 };

const putPricing = (p) => stack.admin('PUT', '/v1/admin/pricing', { body: p });
const newCode = (prefix = 'E2E') => `${prefix}${rand(4).toUpperCase()}`;
const createCode = (body) => stack.admin('POST', '/v1/admin/discount_codes', { body });
const validate = (u, code, kind = 'access') =>
    stack.api('POST', '/v1/discounts/validate', { token: u.token, body: kind ? { code, kind } : { code } });

async function listedCode(code) {
    const r = expectStatus(await stack.admin('GET', '/v1/admin/discount_codes?limit=100'), 200);
    assert.ok(Array.isArray(r.data), 'list shape');
    assert.equal(typeof r.total, 'number');
    return r.data.find((c) => c.code === code) || null;
}

e2e('GET /v1/config: shape, defaults, no secret anywhere', async () => {
    const r = await stack.api('GET', '/v1/config');
    const c = expectStatus(r, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.equal(c.publishable_key, stack.publishableKey);
    assert.equal(c.currency, 'usd');
    assert.deepEqual(c.price, { mode: 'launch', base_cents: 2999, launch_cents: 2999, rrp_cents: 4999, sale_cents: 2499 });
    assert.ok(Array.isArray(c.packages));
    for (const p of c.packages) {
        assert.equal(typeof p.id, 'string');
        assert.equal(typeof p.name, 'string');
        assert.ok(Number.isInteger(p.price_cents) && p.price_cents > 0);
        assert.ok(Number.isInteger(p.credits) && p.credits > 0);
    }
    assert.ok(Array.isArray(c.plans));
    for (const p of c.plans) {
        assert.equal(typeof p.id, 'string');
        assert.equal(typeof p.name, 'string');
        assert.ok(Number.isInteger(p.price_cents) && p.price_cents > 0);
        assert.equal(typeof p.interval, 'string');
        assert.ok(Number.isInteger(p.credits_per_period) && p.credits_per_period > 0);
    }
    const t = c.topup;
    for (const k of ['min_cents', 'max_cents', 'step_cents', 'default_cents']) assert.ok(Number.isInteger(t[k]) && t[k] > 0, k);
    assert.ok(t.min_cents <= t.default_cents && t.default_cents <= t.max_cents);
    assert.equal(t.default_cents % t.step_cents, 0);

    for (const secret of ['sk_', 'whsec_', stack.stripeKey, stack.webhookSecret, stack.adminKey]) {
        assert.ok(!r.text.includes(secret), `config must not contain ${secret.slice(0, 6)}...`);
    }
});

e2e('admin pricing: defaults, PUT effective at once in config, validate and checkout; persisted across restart', async () => {
    try {
        assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), DEFAULTS);
        const u = await stack.signup();

        const expectPrice = async (cents) => {
            const cfg = await stack.config();
            assert.equal(cfg.price.base_cents, cents);
            const co = await stack.checkout(u, { kind: 'access' });
            assert.equal(co.amount_cents, cents);
            assert.equal(co.credits, cents);
            assert.equal(co.discount_cents, 0);
            const sess = await stack.getSession(co.session_id);
            assert.equal(sess.amount_total, cents);
        };

        await expectPrice(2999);

        const sale = expectStatus(await putPricing({ ...DEFAULTS, mode: 'sale' }), 200);
        assert.equal(sale.mode, 'sale');
        assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), { ...DEFAULTS, mode: 'sale' });
        await expectPrice(2499);

        expectStatus(await putPricing({ ...DEFAULTS, mode: 'rrp' }), 200);
        await expectPrice(4999);
        assert.equal((await stack.config()).price.mode, 'rrp');

        const custom = { mode: 'launch', launch_cents: 1999, rrp_cents: 5999, sale_cents: 1499 };
        expectStatus(await putPricing(custom), 200);
        await expectPrice(1999);
        const cfg = await stack.config();
        assert.deepEqual(cfg.price, { mode: 'launch', base_cents: 1999, launch_cents: 1999, rrp_cents: 5999, sale_cents: 1499 });

        // Persisted: survives kill -9 and restart.
        await stack.restartServer();
        assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), custom);
        await expectPrice(1999);
    } finally {
        expectStatus(await putPricing(DEFAULTS), 200);
    }
    assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), DEFAULTS);
});

e2e('admin pricing: bad input is a 400 and changes nothing', async () => {
    const bad = [
        { ...DEFAULTS, mode: 'free' },
        { ...DEFAULTS, mode: 5 },
        { ...DEFAULTS, launch_cents: 0 },
        { ...DEFAULTS, rrp_cents: -1 },
        { ...DEFAULTS, sale_cents: 12.5 },
        { ...DEFAULTS, launch_cents: '2999' },
        { ...DEFAULTS, launch_cents: 1e12 + 1 },
    ];
    for (const body of bad) expectError(await putPricing(body), 400);
    expectError(await stack.admin('PUT', '/v1/admin/pricing', { body: '{"mode":' }), 400);
    assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), DEFAULTS);
});

e2e('discount codes: percent and fixed, 409 duplicate, listed with times_used and active, validate shape', async () => {
    const pct = newCode('PCT');
    const fix = newCode('FIX');
    expectStatus(await createCode({ code: pct, percent_off: 10 }), 201);
    expectStatus(await createCode({ code: fix, amount_off_cents: 500 }), 201);
    expectError(await createCode({ code: pct, percent_off: 20 }), 409);
    expectError(await createCode({ code: fix, amount_off_cents: 100 }), 409);

    for (const code of [pct, fix]) {
        const c = await listedCode(code);
        assert.ok(c, `${code} listed`);
        assert.equal(c.times_used, 0);
        assert.equal(c.active, true);
    }
    // Not pinned by API.md, but if the list echoes the terms they must be right.
    const lp = await listedCode(pct);
    const lf = await listedCode(fix);
    if ('percent_off' in lp) assert.equal(lp.percent_off, 10);
    if ('amount_off_cents' in lf) assert.equal(lf.amount_off_cents, 500);

    const u = await stack.signup();
    const v1 = expectStatus(await validate(u, pct), 200);
    assert.deepEqual(v1, { valid: true, base_cents: 2999, discount_cents: 300, final_cents: 2699, error: null });
    const v2 = expectStatus(await validate(u, fix), 200);
    assert.deepEqual(v2, { valid: true, base_cents: 2999, discount_cents: 500, final_cents: 2499, error: null });
    const v3 = expectStatus(await validate(u, pct, null), 200);
    assert.equal(v3.valid, true);

    const unknown = expectStatus(await validate(u, `NOPE${rand(4)}`), 200);
    assert.equal(unknown.valid, false);
    assert.equal(unknown.error, 'unknown_code');
    assert.equal(unknown.discount_cents, 0);

    // Checkout with the fixed code.
    const co = await stack.checkout(u, { kind: 'access', discount_code: fix });
    assert.equal(co.amount_cents, 2499);
    assert.equal(co.discount_cents, 500);
    // An unknown code at checkout is refused.
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access', discount_code: `NOPE${rand(4)}` } }), 400);
});

e2e('discount follows the current price mode (10% of 2499 in sale mode)', async () => {
    const pct = newCode('SALE');
    expectStatus(await createCode({ code: pct, percent_off: 10 }), 201);
    const u = await stack.signup();
    try {
        expectStatus(await putPricing({ ...DEFAULTS, mode: 'sale' }), 200);
        const v = expectStatus(await validate(u, pct), 200);
        assert.deepEqual(v, { valid: true, base_cents: 2499, discount_cents: 250, final_cents: 2249, error: null });
        const co = await stack.checkout(u, { kind: 'access', discount_code: pct });
        assert.equal(co.amount_cents, 2249);
        assert.equal(co.discount_cents, 250);
    } finally {
        expectStatus(await putPricing(DEFAULTS), 200);
    }
});

e2e('discount code input validation: 400s', async () => {
    const bad = [
        { code: newCode(), percent_off: 101 },
        { code: newCode(), percent_off: 0 },
        { code: newCode(), percent_off: -5 },
        { code: newCode(), percent_off: '10' },
        { code: newCode(), amount_off_cents: 0 },
        { code: newCode(), amount_off_cents: -100 },
        { code: newCode() },
        { code: newCode(), percent_off: 10, amount_off_cents: 100 },
        { percent_off: 10 },
        { code: '', percent_off: 10 },
        { code: 42, percent_off: 10 },
        { code: newCode(), percent_off: 10, max_uses: 'many' },
        { code: newCode(), percent_off: 10, expires_at: 'tomorrow' },
    ];
    for (const body of bad) {
        const r = await createCode(body);
        expectError(r, 400);
    }
});

e2e('deactivate: listed inactive, validate says inactive, checkout with it 400', async () => {
    const code = newCode('OFF');
    expectStatus(await createCode({ code, percent_off: 25 }), 201);
    const u = await stack.signup();
    assert.equal(expectStatus(await validate(u, code), 200).valid, true);
    expectStatus(await stack.admin('POST', `/v1/admin/discount_codes/${code}/deactivate`), 200);
    const c = await listedCode(code);
    assert.equal(c.active, false);
    const v = expectStatus(await validate(u, code), 200);
    assert.equal(v.valid, false);
    assert.equal(v.error, 'inactive');
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access', discount_code: code } }), 400);
    assert.equal((await stack.list(u, '/v1/orders')).length, 0);
    expectError(await stack.admin('POST', `/v1/admin/discount_codes/NOPE${rand(4)}/deactivate`), 404);
});

e2e('max_uses exhausted after a completed purchase: validate says exhausted, checkout 400', async () => {
    const code = newCode('ONCE');
    expectStatus(await createCode({ code, percent_off: 20, max_uses: 1 }), 201);
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'access', discount_code: code });
    assert.equal(co.amount_cents, 2399); // 20% of 2999 = 599.8 -> 600
    assert.equal(co.discount_cents, 600);
    assert.equal(await stack.balance(u), 2399);
    assert.equal((await listedCode(code)).times_used, 1);

    const other = await stack.signup();
    const v = expectStatus(await validate(other, code), 200);
    assert.equal(v.valid, false);
    assert.equal(v.error, 'exhausted');
    expectError(await stack.api('POST', '/v1/checkout', { token: other.token, body: { kind: 'access', discount_code: code } }), 400);
    assert.equal((await listedCode(code)).times_used, 1);
});

e2e('expired code: validate says expired, checkout 400', async () => {
    const code = newCode('EXP');
    const exp = Math.floor(Date.now() / 1000) * 1000 + 60000;
    expectStatus(await createCode({ code, percent_off: 10, expires_at: rfc3339(exp) }), 201);
    const u = await stack.signup();
    assert.equal(expectStatus(await validate(u, code), 200).valid, true, 'valid before expires_at');
    // Past expires_at by the injectable clock (cd_now), not by a wait:
    // the server restarted 120 s ahead, then put back for the other tests.
    stack.server.env.CREDITD_TEST_CLOCK_OFFSET = '120';
    await stack.restartServer({ graceful: true });
    try {
        const v = expectStatus(await validate(u, code), 200);
        assert.equal(v.valid, false);
        assert.equal(v.error, 'expired');
        expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access', discount_code: code } }), 400);
    } finally {
        delete stack.server.env.CREDITD_TEST_CLOCK_OFFSET;
        await stack.restartServer({ graceful: true });
    }
}, { timeout: 30000 });

e2e('admin pricing: a price under the 50-cent smallest charge is 400 invalid_amount naming the field; 50 is fine', async () => {
    try {
        for (const [k, v] of [['launch_cents', 1], ['rrp_cents', 49], ['sale_cents', 10]]) {
            const e = expectError(await putPricing({ ...DEFAULTS, [k]: v }), 400, 'invalid_amount', `${k}=${v}`);
            assert.equal(e.param, k);
        }
        assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), DEFAULTS);
        const p = expectStatus(await putPricing({ ...DEFAULTS, mode: 'sale', sale_cents: 50 }), 200);
        assert.equal(p.sale_cents, 50);
        // ... and an access checkout at that price works.
        const u = await stack.signup();
        assert.equal((await stack.checkout(u, { kind: 'access' })).amount_cents, 50);
    } finally {
        expectStatus(await putPricing(DEFAULTS), 200);
    }
});

e2e('max_uses 1: of 6 checkouts opened at once before any is paid, exactly one opens; expiry frees the use', async () => {
    const code = newCode('RACE');
    expectStatus(await createCode({ code, percent_off: 10, max_uses: 1 }), 201);
    const users = await Promise.all(Array.from({ length: 6 }, () => stack.signup()));
    const body = { kind: 'access', discount_code: code };
    const rs = await Promise.all(users.map((u) => stack.api('POST', '/v1/checkout', { token: u.token, body })));
    const won = rs.map((r, i) => (r.status === 201 ? i : -1)).filter((i) => i >= 0);
    assert.equal(won.length, 1, rs.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
    for (const r of rs) if (r.status !== 201) expectError(r, 400, 'discount_exhausted');
    let orders = 0;
    for (const u of users) orders += (await stack.list(u, '/v1/orders')).length;
    assert.equal(orders, 1, 'a refused checkout writes no order');
    assert.equal((await listedCode(code)).times_used, 0, 'times_used counts fulfilled uses only');

    // The open checkout expires: its hold on the code goes.
    const winner = users[won[0]];
    const first = rs[won[0]].json;
    expectStatus(await stack.expireSession(first.session_id), 200);
    await stack.waitOrderStatus(winner, first.order_id, 'expired');
    const loser = users[(won[0] + 1) % users.length];
    await stack.buy(loser, body);
    assert.equal((await listedCode(code)).times_used, 1);
    expectError(await stack.api('POST', '/v1/checkout', { token: winner.token, body }), 400, 'discount_exhausted');
});

e2e('one customer opening max_uses checkouts with a code never locks others out: one hold per account, validate and checkout agree', async () => {
    const code = newCode('HOLD');
    expectStatus(await createCode({ code, percent_off: 10, max_uses: 2 }), 201);
    const [hoarder, other, third] = await Promise.all([stack.signup(), stack.signup(), stack.signup()]);
    const body = { kind: 'access', discount_code: code };
    const opened = [];
    for (let i = 0; i < 3; i++)
        opened.push(expectStatus(await stack.api('POST', '/v1/checkout', { token: hoarder.token, body }), 201));
    // Each replaced the one before: only the last is still open, the
    // others are expired here and at Stripe.
    const orders = await stack.list(hoarder, '/v1/orders');
    assert.deepEqual(orders.map((o) => o.status).sort(), ['expired', 'expired', 'pending']);
    for (const co of opened.slice(0, 2))
        assert.equal((await stack.getSession(co.session_id)).status, 'expired');
    const last = await stack.getSession(opened[2].session_id);
    assert.equal(last.status, 'open');
    // The session ends with its hold: about CREDITD_CHECKOUT_EXPIRES (1 h) after it opened.
    assert.ok(Math.abs(last.expires_at - (last.created + 3600)) <= 5, `expires_at ${last.expires_at} vs created ${last.created}`);

    const validate = async (u) => expectStatus(await stack.api('POST', '/v1/discounts/validate', { token: u.token, body: { code } }), 200);
    // One use held by the hoarder, one left: the others may use it.
    assert.equal((await validate(other)).valid, true);
    assert.equal((await validate(hoarder)).valid, true);
    const co = expectStatus(await stack.api('POST', '/v1/checkout', { token: other.token, body }), 201);
    // Now both uses are held: validate says so, and checkout agrees.
    const v = await validate(third);
    assert.equal(v.valid, false);
    assert.equal(v.error, 'exhausted');
    expectError(await stack.api('POST', '/v1/checkout', { token: third.token, body }), 400, 'discount_exhausted');
    // A hold ends with its session.
    expectStatus(await stack.expireSession(co.session_id), 200);
    await stack.waitOrderStatus(other, co.order_id, 'expired');
    assert.equal((await validate(third)).valid, true);
    await stack.buy(third, body);
    assert.equal((await listedCode(code)).times_used, 1);
});

e2e('a number past int64 names its field: invalid_param for a count, invalid_amount for money', async () => {
    const code = newCode('BIG');
    const huge = '99999999999999999999999';
    let e = expectError(
        await stack.admin('POST', '/v1/admin/discount_codes', { body: `{"code":"${code}","percent_off":10,"max_uses":${huge}}` }),
        400, 'invalid_param');
    assert.equal(e.param, 'max_uses');
    e = expectError(
        await stack.admin('POST', '/v1/admin/discount_codes', { body: `{"code":"${code}", "amount_off_cents" :\n -${huge} }` }),
        400, 'invalid_amount');
    assert.equal(e.param, 'amount_off_cents');
    e = expectError(await putPricing(`{"mode":"launch","launch_cents":${huge}}`), 400, 'invalid_amount');
    assert.equal(e.param, 'launch_cents');
    // Not a member of an object: still a 400 invalid_amount, no param.
    e = expectError(await stack.admin('POST', '/v1/admin/discount_codes', { body: `{"code":"${code}","x":[${huge}]}` }), 400, 'invalid_amount');
    assert.equal(e.param, undefined);
    assert.equal(await listedCode(code), null);
    assert.deepEqual(expectStatus(await stack.admin('GET', '/v1/admin/pricing'), 200), DEFAULTS);
});
