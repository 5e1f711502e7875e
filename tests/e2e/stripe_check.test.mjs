// stripe_check.test.mjs - `creditd stripe check` against the sandbox:
// the key (GET /v1/account) and the webhook endpoint of CREDITD_BASE_URL
// (GET /v1/webhook_endpoints) with enabled_events covering every type
// creditd handles. Exit 0 all good, 1 a check failed, 2 Stripe could not
// be asked.
import assert from 'node:assert/strict';
import { useStack, e2e, httpRequest, runCreditd } from './harness.mjs';

const stack = useStack();

const HANDLED = [
    'checkout.session.completed', 'checkout.session.async_payment_succeeded', 'checkout.session.async_payment_failed',
    'checkout.session.expired', 'payment_intent.succeeded', 'payment_intent.payment_failed', 'charge.refunded',
    'charge.refund.updated', 'refund.created', 'refund.updated', 'refund.failed', 'charge.dispute.created',
    'charge.dispute.updated', 'charge.dispute.closed', 'customer.subscription.created',
    'customer.subscription.updated', 'customer.subscription.deleted', 'invoice.paid', 'invoice_payment.paid',
];

async function events(list) {
    const r = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body: { webhook_events: list } });
    assert.equal(r.status, 200, r.text);
}

const check = (env = {}) => runCreditd(['stripe', 'check'], {
    STRIPE_SECRET_KEY: stack.stripeKey,
    STRIPE_API_BASE: stack.sandboxUrl,
    CREDITD_BASE_URL: stack.baseUrl,
    ...env,
});

e2e('an endpoint with every event ("*", or the exact list) passes', async () => {
    await events(['*']);
    let r = await check();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /ok +secret key: account acct_/);
    assert.match(r.output, new RegExp(`ok +webhook endpoint ${stack.baseUrl}/v1/webhooks/stripe: enabled, all ${HANDLED.length} event types`));
    await events([...HANDLED, 'customer.created']);
    r = await check();
    assert.equal(r.code, 0, r.output);
    assert.ok(!r.output.includes(stack.stripeKey), 'the key is never printed');
});

e2e('a missing event type or no endpoint for the base URL fails with exit 1', async () => {
    await events(HANDLED.filter((t) => t !== 'invoice.paid' && t !== 'refund.failed'));
    let r = await check();
    assert.equal(r.code, 1, r.output);
    assert.doesNotMatch(r.output, /invoice_payment\.paid/);
    assert.match(r.output, /FAIL webhook endpoint: event refund\.failed is not enabled/);
    assert.match(r.output, /FAIL webhook endpoint: event invoice\.paid is not enabled/);
    // invoice_payment.paid too (docs/OPERATIONS.md asks for it): without it
    // a subscription payment's PaymentIntent never arrives.
    await events(HANDLED.filter((t) => t !== 'invoice_payment.paid'));
    r = await check();
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /FAIL webhook endpoint: event invoice_payment\.paid is not enabled/);
    await events(['*']);
    r = await check({ CREDITD_BASE_URL: 'https://elsewhere.example.com' });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /FAIL webhook endpoint: none for https:\/\/elsewhere\.example\.com\/v1\/webhooks\/stripe/);
});

e2e('Stripe that cannot be asked: exit 2, and no key at all: exit 2', async () => {
    let r = await check({ STRIPE_API_BASE: 'http://127.0.0.1:9' });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /FAIL secret key: Stripe/);
    r = await runCreditd(['stripe', 'check'], { STRIPE_API_BASE: stack.sandboxUrl });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /STRIPE_SECRET_KEY is not set/);
}, { timeout: 60000 });
