// sandbox_types.test.mjs - every object the sandbox returns, and every
// event it delivers, is what the pinned Stripe API version returns: each
// is checked against the type definitions of the official `stripe` npm
// package (stripe_types.mjs reads its .d.ts files with the TypeScript
// compiler API) - no property the type lacks, every non-optional one
// present, the right primitive types and nullability, nested objects too.
// Drives a purchase, a PaymentIntent paid by the payer, a subscription with
// a renewal and its invoices, a refund, a dispute, a billing portal
// session, the webhook endpoints, the account and the events list.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { useStack, e2e, expectStatus, httpRequest, waitFor, REPO } from './harness.mjs';
import { typeErrors, pinnedApiVersion } from './stripe_types.mjs';

const stack = useStack({ relayForward: true });
const API_VERSION = '2026-07-29.dahlia';

const checked = new Map(); // kind -> count
const problems = [];

// Paths holding "": a value made up to fill a non-null property (the
// skeletons' placeholder), never one the sandbox means.
function empties(v, where, out) {
    if (v === '') out.push(`${where}: ""`);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) empties(x, `${where}.${k}`, out);
    return out;
}

function conform(v, kind, where) {
    const k = kind || v.object;
    const errs = [...typeErrors(v, kind, where), ...empties(v, where, [])];
    checked.set(k, (checked.get(k) || 0) + 1);
    problems.push(...errs);
    return v;
}

/** GET a sandbox /v1 path and check the reply (an object or a list). */
async function get(p, kind) {
    const v = expectStatus(await stack.stripe('GET', p), 200);
    if (v.object === 'list') {
        const items = v.data.map((x) => x.object);
        conform(v, `list:${kind || items[0]}`, `GET ${p}`);
    } else conform(v, kind, `GET ${p}`);
    return v;
}

async function post(p, body, kind) {
    const v = expectStatus(await stack.stripe('POST', p, { body }), 200);
    return conform(v, kind, `POST ${p}`);
}

async function settled() {
    await waitFor(async () => {
        const r = await httpRequest('GET', `${stack.sandboxUrl}/_sandbox/config`);
        return r.status === 200 && r.json.pending === 0;
    }, 15000, { what: 'sandbox deliveries settled' });
}

e2e('the installed stripe package pins the API version the sandbox speaks; its skeletons are generated from it', async () => {
    assert.equal(pinnedApiVersion(), API_VERSION);
    const gen = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'gen_sandbox_shapes.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const ev = await stack.stripe('GET', '/v1/events?limit=1');
    assert.equal(ev.status, 200, ev.text);
});

e2e('every object the sandbox returns and every event it delivers fits the stripe types', async () => {
    const u = await stack.signup();

    // A purchase through creditd: session, customer, payment intent, charge, card.
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const sess = await get(`/v1/checkout/sessions/${co.session_id}`);
    await get(`/v1/checkout/sessions/${co.session_id}?expand[]=line_items`);
    await get(`/v1/checkout/sessions/${co.session_id}/line_items`, 'item');
    await get('/v1/checkout/sessions?limit=3');
    const pi = await get(`/v1/payment_intents/${sess.payment_intent}`);
    await get(`/v1/payment_intents/${sess.payment_intent}?expand[]=latest_charge&expand[]=customer`);
    await get('/v1/payment_intents?limit=3');
    const ch = await get(`/v1/charges/${pi.latest_charge}`);
    await get('/v1/charges?limit=3');
    await get(`/v1/payment_methods/${ch.payment_method}`);
    await get(`/v1/customers/${sess.customer}`);
    await get('/v1/customers?limit=3');
    await get(`/v1/customers/${sess.customer}/payment_methods`, 'payment_method');

    // A PaymentIntent through creditd, paid by the payer's page.
    const t = expectStatus(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 1000 } }), 201);
    expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/payment_intents/${t.payment_intent_id}/confirm`,
        { body: { card: '4242424242424242' } }), 200);
    await get(`/v1/payment_intents/${t.payment_intent_id}`);
    // A PaymentIntent created and confirmed through the API.
    const pi2 = await post('/v1/payment_intents', { amount: '900', currency: 'usd', customer: sess.customer }, 'payment_intent');
    await post(`/v1/payment_intents/${pi2.id}/confirm`, { payment_method: 'pm_card_visa' }, 'payment_intent');

    // A refund and a dispute.
    const re = await post('/v1/refunds', { charge: ch.id, amount: '200' }, 'refund');
    await get(`/v1/refunds/${re.id}`);
    const co2 = await stack.buy(u, { kind: 'topup', amount_cents: 2000 });
    const pi3 = await get(`/v1/payment_intents/${(await stack.getSession(co2.session_id)).payment_intent}`);
    const dp = expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${pi3.latest_charge}/dispute`, { body: {} }), 200);
    conform(dp, 'dispute', 'POST /_sandbox/charges/{id}/dispute');
    expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/charges/${pi3.latest_charge}/dispute`, { body: { status: 'won' } }), 200);
    await get(`/v1/disputes/${dp.id}`);
    await get('/v1/disputes?limit=3');

    // A subscription, renewed once (paid) and once more (failed), and its invoices.
    const cfg = await stack.config();
    const subCo = await stack.checkout(u, { kind: 'subscription', plan_id: cfg.plans[0].id });
    const done = expectStatus(await stack.completeSession(subCo.session_id), 200);
    conform(done, 'checkout.session', 'POST /_sandbox/checkout/{id}/complete');
    await settled();
    for (const body of [{}, { card_fails: true }]) {
        const r = expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/subscriptions/${done.subscription}/renew`, { body }), 200);
        conform(r, 'subscription', 'POST /_sandbox/subscriptions/{id}/renew');
        await settled();
    }
    const sub = await get(`/v1/subscriptions/${done.subscription}`);
    await get(`/v1/subscriptions/${done.subscription}?expand[]=latest_invoice`);
    await get('/v1/subscriptions?limit=3');
    await get(`/v1/invoices/${sub.latest_invoice}`);
    const invs = await get(`/v1/invoices?subscription=${sub.id}`, 'invoice');
    assert.ok(invs.data.length >= 3, 'the first invoice and two renewals');
    const paid = invs.data.find((i) => i.status === 'paid');
    const ips = await get(`/v1/invoice_payments?invoice=${paid.id}`, 'invoice_payment');
    assert.equal(ips.data.length, 1);
    assert.equal(ips.data[0].invoice, paid.id);
    const byPi = await get(`/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=${ips.data[0].payment.payment_intent}&limit=1`, 'invoice_payment');
    assert.equal(byPi.data[0].id, ips.data[0].id);
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: 'true' }, 'subscription');

    // The billing portal, the webhook endpoints, the account.
    await post('/v1/billing_portal/sessions', { customer: sess.customer, return_url: `${stack.baseUrl}/app` }, 'billing_portal.session');
    await get('/v1/webhook_endpoints', 'webhook_endpoint');
    await get('/v1/account', 'account');

    // The events, listed and delivered.
    await settled();
    const events = await get('/v1/events?limit=100', 'event');
    await get(`/v1/events/${events.data[0].id}`);
    const delivered = stack.relay.events.map((e) => e.json);
    assert.ok(delivered.length >= 20, `${delivered.length} deliveries`);
    for (const ev of delivered) conform(ev, 'event', `delivered ${ev.type} ${ev.id}`);
    const types = new Set(delivered.map((e) => e.type));
    for (const want of ['checkout.session.completed', 'payment_intent.succeeded', 'charge.succeeded', 'charge.refunded',
        'refund.created', 'charge.dispute.created', 'charge.dispute.closed', 'customer.subscription.created',
        'customer.subscription.updated', 'invoice.paid', 'invoice.payment_failed', 'payment_method.attached']) {
        assert.ok(types.has(want), `${want} delivered`);
    }

    for (const k of ['checkout.session', 'customer', 'payment_intent', 'charge', 'payment_method', 'refund', 'dispute',
        'subscription', 'invoice', 'invoice_payment', 'billing_portal.session', 'webhook_endpoint', 'event']) {
        assert.ok(checked.get(k) || checked.get(`list:${k}`), `${k} checked`);
    }
    assert.deepEqual(problems, [], `${problems.length} differences from the stripe types:\n${problems.slice(0, 80).join('\n')}`);
}, { timeout: 120000 });

e2e('the check fails on what the pinned version removed: invoice.subscription, ui_mode hosted, card.network, a charge card\'s display_brand', async () => {
    const inv = { ...(await get('/v1/invoices?limit=1', 'invoice')).data[0] };
    inv.subscription = 'sub_x';
    assert.ok(typeErrors(inv).some((e) => /\.subscription: not in the type/.test(e)), 'invoice.subscription refused');
    const s = { ...(await get('/v1/checkout/sessions?limit=1', 'checkout.session')).data[0], ui_mode: 'hosted' };
    assert.ok(typeErrors(s).some((e) => /\.ui_mode: "hosted" is not one of/.test(e)), typeErrors(s).join('\n'));
    const pm = (await get('/v1/payment_methods?limit=1', 'payment_method')).data[0];
    pm.card = { ...pm.card, network: pm.card.brand };
    assert.deepEqual(typeErrors(pm).map((e) => e.replace(/^\S+?\./, '')), ['card.network: not in the type Card']);
    const ch = (await get('/v1/charges?limit=1', 'charge')).data[0];
    ch.payment_method_details.card.display_brand = 'visa';
    assert.ok(typeErrors(ch).some((e) => /\.card\.display_brand: not in the type/.test(e)), 'display_brand refused');
});
