// checkout.test.mjs - Stripe Checkout end to end: creditd creates a session on
// the sandbox, the sandbox's control endpoint pays it with a test card, the
// sandbox delivers the signed webhook, creditd fulfils. Also the refusals:
// declined card, expiry, foreign sessions, redirects, no Stripe configured,
// Stripe down.

import assert from 'node:assert/strict';
import {
    useStack, e2e, Stack, waitFor, rand, expectError, expectStatus,
    CARD_OK, CARD_DECLINE,
} from './harness.mjs';

const EXTRA_ORIGIN = 'https://app.example.com';
const stack = useStack({ serverEnv: { CREDITD_ALLOWED_REDIRECT_ORIGINS: EXTRA_ORIGIN } });

/** 1000 cents if the deployment's top-up rules allow it, else its default. */
function topupAmount(cfg) {
    const t = cfg.topup;
    const ok = (a) => a >= t.min_cents && a <= t.max_cents && a % t.step_cents === 0;
    return ok(1000) ? 1000 : t.default_cents;
}

e2e('top-up: checkout, pay with 4242, webhook fulfils; balance, transactions, orders, payments agree', async () => {
    const cfg = await stack.config();
    const amount = topupAmount(cfg);
    const u = await stack.signup();
    assert.equal(await stack.balance(u), 0);

    const co = await stack.checkout(u, { kind: 'topup', amount_cents: amount });
    assert.match(co.order_id, /^ord_/);
    assert.match(co.session_id, /^cs_/);
    assert.equal(typeof co.checkout_url, 'string');
    assert.ok(co.checkout_url.startsWith(stack.sandboxUrl), `checkout_url ${co.checkout_url} is on the sandbox`);
    assert.equal(co.amount_cents, amount);
    assert.equal(co.discount_cents, 0);
    assert.equal(co.credits, amount);
    assert.equal(co.currency, 'usd');

    // The Stripe session carries what API.md promises.
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.client_reference_id, co.order_id);
    assert.equal(sess.metadata.order_id, co.order_id);
    assert.equal(sess.metadata.account_id, u.id);
    assert.equal(sess.metadata.kind, 'topup');
    assert.equal(sess.amount_total, amount);
    assert.equal(sess.mode, 'payment');

    // Before payment: not fulfilled, and reading it never fulfils.
    const before = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: u.token }), 200);
    assert.equal(before.fulfilled, false);
    assert.equal(before.session_id, co.session_id);
    assert.equal(before.order_id, co.order_id);
    assert.equal(before.amount_cents, amount);
    assert.equal(before.credits, amount);
    const pendingOrder = await stack.order(u, co.order_id);
    assert.equal(pendingOrder.status, 'pending');

    const paid = await stack.completeSession(co.session_id, CARD_OK);
    assert.equal(paid.status, 200, `sandbox complete: ${paid.text}`);

    const done = await stack.waitFulfilled(u, co.session_id);
    assert.equal(done.fulfilled, true);
    assert.equal(done.order_id, co.order_id);

    assert.equal(await stack.balance(u), amount);
    const bal = expectStatus(await stack.api('GET', '/v1/balance', { token: u.token }), 200);
    assert.equal(bal.currency, 'usd');
    assert.equal(bal.balance_display, `$${(amount / 100).toFixed(2)}`);

    const txns = await stack.list(u, '/v1/transactions');
    const topups = txns.filter((t) => t.kind === 'topup');
    assert.equal(topups.length, 1, `one topup transaction: ${JSON.stringify(txns)}`);
    assert.equal(topups[0].amount, amount);
    assert.equal(topups[0].balance_after, amount);
    assert.equal(topups[0].order_id, co.order_id);
    assert.match(topups[0].id, /^txn_/);

    const order = await stack.order(u, co.order_id);
    assert.equal(order.status, 'completed');
    assert.equal(order.kind, 'topup');
    assert.equal(order.amount_cents, amount);
    assert.equal(order.credits, amount);
    assert.equal(order.stripe_session_id, co.session_id);
    assert.ok(order.completed_at, 'completed_at set');

    const payments = await stack.list(u, '/v1/payments');
    assert.ok(payments.some((x) => x.order_id === co.order_id), `a payment for the order: ${JSON.stringify(payments)}`);
    // The card's last4 comes with charge.succeeded, which may land after
    // the checkout.session.completed that fulfilled the order.
    const withCard = async () => (await stack.list(u, '/v1/payments'))
        .find((x) => x.order_id === co.order_id && x.payment_method_last4 !== null);
    const p = await waitFor(withCard, 10000, { what: 'the payment\'s card (charge.succeeded)' });
    assert.equal(p.status, 'succeeded');
    assert.equal(p.amount_cents, amount);
    assert.equal(p.payment_method_last4, '4242');
    assert.equal(p.currency, 'usd');

    // The customer Stripe created is saved to the account.
    const acct = expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
    assert.match(String(acct.stripe_customer_id), /^cus_/);

    // Polling again changes nothing.
    await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: u.token });
    assert.equal(await stack.balance(u), amount);
});

e2e('package checkout credits the package credits, charges its price', async () => {
    const cfg = await stack.config();
    assert.ok(Array.isArray(cfg.packages) && cfg.packages.length > 0, 'at least one configured package');
    const pkg = cfg.packages[0];
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'package', package_id: pkg.id });
    assert.equal(co.amount_cents, pkg.price_cents);
    assert.equal(co.credits, pkg.credits);
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.amount_total, pkg.price_cents);
    assert.equal(sess.metadata.kind, 'package');

    expectStatus(await stack.completeSession(co.session_id), 200);
    await stack.waitFulfilled(u, co.session_id);
    assert.equal(await stack.balance(u), pkg.credits);
    const txns = await stack.list(u, '/v1/transactions');
    assert.equal(txns.length, 1);
    assert.equal(txns[0].kind, 'package');
    assert.equal(txns[0].amount, pkg.credits);
    const order = await stack.order(u, co.order_id);
    assert.equal(order.status, 'completed');
    assert.equal(order.kind, 'package');
});

e2e('unknown package id is a 400', async () => {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'package', package_id: `nope_${rand(4)}` } });
    expectError(r, 400);
});

e2e('access with a 10% discount code: 2699 of 2999, code used once after completion', async () => {
    const cfg = await stack.config();
    assert.equal(cfg.price.mode, 'launch');
    assert.equal(cfg.price.launch_cents, 2999);
    const code = `TEN${rand(4).toUpperCase()}`;
    const created = await stack.admin('POST', '/v1/admin/discount_codes', { body: { code, percent_off: 10 } });
    assert.equal(created.status, 201, created.text);

    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'access', discount_code: code });
    assert.equal(co.amount_cents, 2699);
    assert.equal(co.discount_cents, 300);
    assert.equal(co.credits, 2699);
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.amount_total, 2699);

    expectStatus(await stack.completeSession(co.session_id), 200);
    await stack.waitFulfilled(u, co.session_id);
    assert.equal(await stack.balance(u), 2699);

    const order = await stack.order(u, co.order_id);
    assert.equal(order.status, 'completed');
    assert.equal(order.kind, 'access');
    assert.equal(order.discount_cents, 300);
    assert.equal(order.discount_code, code);

    const codes = expectStatus(await stack.admin('GET', '/v1/admin/discount_codes?limit=100'), 200);
    const dc = codes.data.find((c) => c.code === code);
    assert.ok(dc, `code listed: ${JSON.stringify(codes)}`);
    assert.equal(dc.times_used, 1);
    assert.equal(dc.active, true);
});

e2e('declined card: 402 card_error from the sandbox, session stays open, no credits', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: topupAmount(await stack.config()) });
    const r = await stack.completeSession(co.session_id, CARD_DECLINE);
    assert.equal(r.status, 402, r.text);
    assert.equal(r.json?.error?.type, 'card_error');
    await stack.webhooksDelivered(); // whatever the decline sent has landed
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.status, 'open');
    const st = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: u.token }), 200);
    assert.equal(st.fulfilled, false);
    assert.equal(await stack.balance(u), 0);
    assert.equal((await stack.order(u, co.order_id)).status, 'pending');
    assert.equal((await stack.list(u, '/v1/transactions')).length, 0);

    // The same session can still be paid with a good card.
    expectStatus(await stack.completeSession(co.session_id, CARD_OK), 200);
    await stack.waitFulfilled(u, co.session_id);
    assert.equal(await stack.balance(u), co.credits);
});

e2e('expired session (sandbox control endpoint): order becomes expired, no credits', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: topupAmount(await stack.config()) });
    const r = await stack.expireSession(co.session_id);
    assert.equal(r.status, 200, r.text);
    const o = await stack.waitOrderStatus(u, co.order_id, 'expired');
    assert.equal(o.completed_at ?? null, null);
    assert.equal(await stack.balance(u), 0);
    const st = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: u.token }), 200);
    assert.equal(st.fulfilled, false);
    // An expired session can't be paid any more.
    const late = await stack.completeSession(co.session_id, CARD_OK);
    assert.ok(late.status >= 400, `paying an expired session is refused (${late.status})`);
    await stack.webhooksDelivered();
    assert.equal(await stack.balance(u), 0);
});

e2e("expired session (Stripe's POST /v1/checkout/sessions/{id}/expire): order expired", async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: topupAmount(await stack.config()) });
    const r = await stack.stripe('POST', `/v1/checkout/sessions/${co.session_id}/expire`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'expired');
    await stack.waitOrderStatus(u, co.order_id, 'expired');
    assert.equal(await stack.balance(u), 0);
});

e2e("another account's session is 403; an unknown one 404", async () => {
    const a = await stack.signup();
    const b = await stack.signup();
    const co = await stack.checkout(a, { kind: 'topup', amount_cents: topupAmount(await stack.config()) });
    expectError(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: b.token }), 403);
    expectError(await stack.api('GET', `/v1/checkout/cs_test_${rand(12)}`, { token: a.token }), 404);
    // The owner still sees it, and so does the server key naming the owner.
    expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: a.token }), 200);
    expectStatus(await stack.asServer(a.id, 'GET', `/v1/checkout/${co.session_id}`), 200);
    // ... but not the server key naming someone else.
    expectError(await stack.asServer(b.id, 'GET', `/v1/checkout/${co.session_id}`), 403);
});

e2e('redirect URLs: own origin allowed, foreign origin 400 redirect_not_allowed', async () => {
    const u = await stack.signup();
    const amount = topupAmount(await stack.config());
    const ok = await stack.checkout(u, {
        kind: 'topup',
        amount_cents: amount,
        success_url: `${stack.baseUrl}/done?session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${stack.baseUrl}/cancelled`,
    });
    const sess = await stack.getSession(ok.session_id);
    assert.ok(String(sess.success_url).startsWith(stack.baseUrl), `success_url passed through: ${sess.success_url}`);
    // An origin from CREDITD_ALLOWED_REDIRECT_ORIGINS is allowed too.
    await stack.checkout(u, { kind: 'topup', amount_cents: amount, success_url: `${EXTRA_ORIGIN}/thanks`, cancel_url: `${EXTRA_ORIGIN}/back` });

    const before = (await stack.list(u, '/v1/orders')).length;
    // Well-formed URLs on another origin: the contract's code.
    for (const bad of [
        { success_url: 'https://evil.example.com/done' },
        { cancel_url: 'https://evil.example.com/cancel' },
        { success_url: `${stack.baseUrl}@evil.example.com/x` }, // userinfo trick: host is evil.example.com
        { success_url: `http://localhost:${stack.serverPort + 1}/x` },
    ]) {
        const r = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: amount, ...bad } });
        expectError(r, 400, 'redirect_not_allowed');
    }
    // Malformed or prefix-tricks: refused (any 400 code).
    for (const bad of [
        { success_url: `${stack.baseUrl}.evil.example.com/x` },
        { success_url: 'javascript:alert(1)' },
        { success_url: 42 },
    ]) {
        const r = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: amount, ...bad } });
        expectError(r, 400);
    }
    assert.equal((await stack.list(u, '/v1/orders')).length, before, 'a refused checkout leaves no order');
});

e2e('redirect URLs: an upper-case scheme or host passes creditd and the sandbox alike', async () => {
    const u = await stack.signup();
    const amount = topupAmount(await stack.config());
    const upper = stack.baseUrl.replace(/^http:/, 'HTTP:');
    const co = await stack.checkout(u, {
        kind: 'topup',
        amount_cents: amount,
        success_url: `${upper}/done?session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${EXTRA_ORIGIN.replace('https://app.', 'HTTPS://APP.')}:443/back`,
    });
    const sess = await stack.getSession(co.session_id);
    assert.equal(sess.success_url, `${upper}/done?session_id={CHECKOUT_SESSION_ID}`);
});

e2e('top-up amount outside the rules is a 400', async () => {
    const cfg = await stack.config();
    const u = await stack.signup();
    const t = cfg.topup;
    const bad = [t.min_cents - t.step_cents, t.max_cents + t.step_cents];
    if (t.step_cents > 1) bad.push(t.min_cents + 1);
    for (const amount_cents of bad) {
        if (amount_cents <= 0) continue;
        const r = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents } });
        expectError(r, 400);
    }
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup' } }), 400);
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'bogus' } }), 400);
    assert.equal((await stack.list(u, '/v1/orders')).length, 0);
});

e2e('server without STRIPE_SECRET_KEY: 503 stripe_not_configured, no pending order', async () => {
    const bare = new Stack({ sandbox: false, stripeSecret: false });
    try {
        await bare.start();
        const u = await bare.signup();
        const r = await bare.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: 1000 } });
        expectError(r, 503, 'stripe_not_configured');
        const orders = await bare.list(u, '/v1/orders');
        assert.equal(orders.filter((o) => o.status === 'pending').length, 0, JSON.stringify(orders));
        // The rest of the API still works.
        expectStatus(await bare.api('GET', '/healthz'), 200);
        assert.equal(await bare.balance(u), 0);
    } finally {
        await bare.stop();
    }
});

// Last: it stops the shared sandbox (and restarts it afterwards).
e2e('sandbox down: 502 stripe_error with a generic message; the order stays pending (Stripe may have acted)', async () => {
    const u = await stack.signup();
    const amount = topupAmount(await stack.config());
    await stack.stopSandbox();
    try {
        const r = await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: amount }, timeoutMs: 30000 });
        expectError(r, 502, 'stripe_error');
        // What the customer sees says nothing of where Stripe is or why.
        assert.doesNotMatch(r.text, /127\.0\.0\.1|Failed to connect|unreachable|port/i);
        const orders = await stack.list(u, '/v1/orders');
        assert.equal(orders.length, 1, `one order recorded: ${JSON.stringify(orders)}`);
        assert.equal(orders[0].status, 'pending');
        assert.equal(await stack.balance(u), 0);
    } finally {
        await stack.startSandbox();
    }
    // And once Stripe is back, checkout works again.
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: amount });
    assert.match(co.session_id, /^cs_/);
}, { timeout: 60000 });

e2e('open unpaid orders are capped per account: 429 too_many_pending_orders with Retry-After, nothing opened; paying one frees a place', async () => {
    const capped = new Stack({ serverEnv: { CREDITD_MAX_PENDING_ORDERS: '3' } });
    await capped.start();
    try {
        const u = await capped.signup();
        const other = await capped.signup();
        const body = { kind: 'topup', amount_cents: 1000 };
        // The server key is not request-rate limited: only the cap answers.
        const open = [];
        for (let i = 0; i < 3; i++) open.push(expectStatus(await capped.asServer(u.account.id, 'POST', '/v1/checkout', { body }), 201));
        const r = await capped.asServer(u.account.id, 'POST', '/v1/checkout', { body });
        expectError(r, 429, 'too_many_pending_orders');
        assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
        assert.equal((await capped.list(u, '/v1/orders')).length, 3, 'nothing written');
        const tu = expectStatus(await capped.asServer(u.account.id, 'POST', '/v1/topups', { body: { amount_cents: 1000 } }), 409);
        assert.equal(tu.error.code, 'no_saved_payment_method');
        // Another account is not affected.
        expectStatus(await capped.asServer(other.account.id, 'POST', '/v1/checkout', { body }), 201);
        // Paying one frees a place.
        assert.equal((await capped.completeSession(open[0].session_id)).status, 200);
        await capped.waitFulfilled(u, open[0].session_id);
        expectStatus(await capped.asServer(u.account.id, 'POST', '/v1/checkout', { body }), 201);
    } finally {
        const rep = await capped.stop();
        if (rep) throw new Error(rep);
    }
}, { timeout: 60000 });
