// concurrency.test.mjs - a slow Stripe never stalls requests that do not
// need it. The sandbox's api_delay_ms switch makes every Stripe API call
// wait; while a checkout is stuck in it, debits, reads and other accounts'
// requests all complete. Ordering is asserted, not durations.
import assert from 'node:assert/strict';
import { useStack, e2e, expectStatus, httpRequest, waitFor } from './harness.mjs';

const stack = useStack();

async function sandboxConfig(body) {
    const r = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body });
    assert.equal(r.status, 200, r.text);
    return r.json;
}

e2e('while a checkout waits on a slow Stripe, other requests complete', async () => {
    const slow = await stack.signup();
    const other = await stack.signup();
    await stack.grant(other, 1000);
    await sandboxConfig({ api_delay_ms: 4000 });
    let checkoutDone = false;
    const pending = stack.api('POST', '/v1/checkout', { token: slow.token, body: { kind: 'topup', amount_cents: 1000 } }).then((r) => {
        checkoutDone = true;
        return r;
    });
    try {
        // The checkout has reached the Stripe call: the sandbox has it waiting.
        await waitFor(async () => (await httpRequest('GET', `${stack.sandboxUrl}/_sandbox/config`)).json.api_waiting >= 1, 10000, { what: 'checkout waiting on Stripe' });
        const results = await Promise.all([
            ...Array.from({ length: 20 }, (_, i) => stack.asServer(other.id, 'POST', '/v1/debits',
                { idem: `slow-${i}`, body: { amount: 10, description: `while slow ${i}` } })),
            stack.api('GET', '/v1/balance', { token: slow.token }),
            stack.api('GET', '/v1/orders', { token: slow.token }),
            stack.api('GET', '/v1/config'),
            stack.api('GET', '/readyz'),
        ]);
        for (const r of results.slice(0, 20)) expectStatus(r, 201);
        for (const r of results.slice(20)) expectStatus(r, 200);
        assert.equal(checkoutDone, false, 'the checkout was still waiting for Stripe while all of these finished');
        // The order is visible as pending meanwhile, written before Stripe was called.
        const orders = results[21].json.data;
        assert.equal(orders.length, 1);
        assert.equal(orders[0].status, 'pending');
    } finally {
        await sandboxConfig({ api_delay_ms: 0 });
    }
    const r = await pending;
    assert.equal(r.status, 201, r.text);
    const bal = await stack.balance(other);
    assert.equal(bal, 1000 - 20 * 10);
});
