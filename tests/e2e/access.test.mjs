// access.test.mjs - access as an entitlement: a paid `access` order sets
// Account.access {"granted": true, "since", "order_id"}; a partial refund
// keeps it, a full refund or a dispute holding the whole amount takes it
// (the clawback rules of credits), a won dispute gives it back. Refunds go
// through POST /v1/admin/orders/{id}/refund, disputes through the
// sandbox's control endpoint; the relay forwards every event to the
// server and keeps a copy.

import assert from 'node:assert/strict';
import { useStack, e2e, waitFor, expectStatus, httpRequest, rand } from './harness.mjs';

const stack = useStack({ relayForward: true });

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

async function accessOf(user) {
    return expectStatus(await stack.api('GET', '/v1/account', stack.auth(user)), 200).access;
}

async function waitAccess(user, granted, what) {
    return waitFor(async () => {
        const a = await accessOf(user);
        return a.granted === granted ? a : null;
    }, 10000, { what });
}

async function chargeOf(sessionId) {
    const sess = await stack.getSession(sessionId);
    const r = await stack.stripe('GET', `/v1/payment_intents/${sess.payment_intent}`);
    assert.equal(r.status, 200, r.text);
    return r.json.latest_charge;
}

function dispute(chargeId, status) {
    return httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${chargeId}/dispute`, {
        body: status === undefined ? {} : { status },
    });
}

const refund = (orderId, body = {}) => stack.admin('POST', `/v1/admin/orders/${orderId}/refund`, { body });

e2e('a new account has no access; a paid access order grants it; a package does not', async () => {
    const u = await stack.signup();
    assert.deepEqual(u.account.access, { granted: false });
    assert.deepEqual(await accessOf(u), { granted: false });
    const cfg = await stack.config();
    await stack.buy(u, { kind: 'package', package_id: cfg.packages[0].id });
    assert.deepEqual(await accessOf(u), { granted: false });

    const co = await stack.buy(u, { kind: 'access' });
    const a = await accessOf(u);
    assert.deepEqual(Object.keys(a).sort(), ['granted', 'order_id', 'since']);
    assert.equal(a.granted, true);
    assert.equal(a.order_id, co.order_id);
    assert.match(a.since, RFC3339);
    const order = await stack.order(u, co.order_id);
    assert.equal(a.since, order.completed_at);
    // The same on every Account: login, the admin view.
    const login = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 200);
    assert.deepEqual(login.account.access, a);
    assert.deepEqual(expectStatus(await stack.admin('GET', `/v1/admin/accounts/${u.id}`), 200).access, a);
    // Authentication reads the account without its access (token or server
    // key): GET /v1/account reads it whole.
    assert.deepEqual(expectStatus(await stack.asServer(u.id, 'GET', '/v1/account'), 200).access, a);
});

e2e('an account the app owns: access read with the server key and ext:', async () => {
    const ext = `acc-${rand(8)}`;
    const acct = expectStatus(await stack.admin('POST', '/v1/accounts', { body: { external_id: ext } }), 201);
    assert.deepEqual(acct.access, { granted: false });
    const user = { id: acct.id, ext };
    const co = await stack.buy(user, { kind: 'access' });
    const a = await accessOf(user);
    assert.equal(a.granted, true);
    assert.equal(a.order_id, co.order_id);
    const found = expectStatus(await stack.admin('GET', `/v1/accounts?external_id=${ext}`), 200);
    assert.deepEqual(found.access, a);
});

e2e('a partial refund keeps access; the full refund revokes it', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'access' });
    const granted = await accessOf(u);
    assert.equal(granted.granted, true);
    const paid = (await stack.order(u, co.order_id)).amount_cents;

    expectStatus(await refund(co.order_id, { amount_cents: 100 }), 202);
    await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    assert.deepEqual(await accessOf(u), granted);

    expectStatus(await refund(co.order_id), 202);
    await stack.waitOrderStatus(u, co.order_id, 'refunded');
    assert.deepEqual(await waitAccess(u, false, 'access revoked by the full refund'), { granted: false });
    assert.ok(paid > 100);
});

e2e('a dispute of the whole payment revokes access while open; won gives it back, lost keeps it revoked', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'access' });
    const granted = await accessOf(u);
    const ch = await chargeOf(co.session_id);

    expectStatus(await dispute(ch), 200);
    await stack.waitOrderStatus(u, co.order_id, 'disputed');
    assert.deepEqual(await waitAccess(u, false, 'access held by the open dispute'), { granted: false });
    expectStatus(await dispute(ch, 'won'), 200);
    const back = await waitAccess(u, true, 'access back after the dispute was won');
    assert.deepEqual(back, granted);

    const u2 = await stack.signup();
    const co2 = await stack.buy(u2, { kind: 'access' });
    const ch2 = await chargeOf(co2.session_id);
    const d2 = expectStatus(await dispute(ch2), 200);
    await waitAccess(u2, false, 'access held by the open dispute');
    expectStatus(await dispute(ch2, 'lost'), 200);
    const closed = await waitFor(() => stack.relay.find('charge.dispute.closed', d2.id)[0], 10000, { what: 'charge.dispute.closed at the relay' });
    // Delivered again under another id: once it answers, the close is applied.
    expectStatus(await stack.sendWebhook({ ...closed, id: `evt_e2e_${rand(10)}` }), 200);
    assert.deepEqual(await accessOf(u2), { granted: false });
});
