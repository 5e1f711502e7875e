// shutdown.test.mjs - SIGTERM drains: with a checkout waiting on a slow
// Stripe (the sandbox's api_delay_ms switch), SIGTERM stops new
// connections at once, the checkout still gets its 201, and the process
// exits 0. With CREDITD_SHUTDOWN_TIMEOUT shorter than the wait, the
// process does not wait for it: it exits 0 while Stripe still holds the
// call. Ordering is asserted, not durations.
import assert from 'node:assert/strict';
import { Stack, e2e, httpRequest, waitFor } from './harness.mjs';
import { after } from 'node:test';

const stacks = [];
after(async () => {
    const reports = [];
    for (const s of stacks) reports.push(await s.stop());
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
});

async function start(serverEnv = {}) {
    const s = new Stack({ serverEnv });
    stacks.push(s);
    await s.start();
    return s;
}

async function sandboxConfig(stack, body) {
    const r = await httpRequest(body ? 'POST' : 'GET', `${stack.sandboxUrl}/_sandbox/config`, body ? { body } : {});
    assert.equal(r.status, 200, r.text);
    return r.json;
}

async function slowCheckout(stack, delayMs) {
    const u = await stack.signup();
    await sandboxConfig(stack, { api_delay_ms: delayMs });
    const pending = stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents: 1000 } });
    pending.catch(() => {}); // a cut request is asserted by the caller
    await waitFor(async () => (await sandboxConfig(stack)).api_waiting >= 1, 10000, { what: 'the checkout waiting on Stripe' });
    return { pending };
}

e2e('SIGTERM with a slow Stripe call in flight: the call gets its reply, exit 0', async () => {
    const stack = await start();
    const { pending } = await slowCheckout(stack, 2500);
    stack.server.child.kill('SIGTERM');
    // New connections are refused at once, while the checkout still waits.
    await waitFor(async () => {
        try {
            await httpRequest('GET', `${stack.baseUrl}/healthz`, { timeoutMs: 500 });
            return false;
        } catch {
            return true;
        }
    }, 5000, { what: 'the listen socket closed' });
    assert.equal(stack.server.exit, null, 'still draining');
    const r = await pending;
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.checkout_url || r.json.url || r.text, /http/);
    const ex = await stack.server.exited;
    assert.deepEqual(ex, { code: 0, signal: null });
});

e2e('the drain is bounded by CREDITD_SHUTDOWN_TIMEOUT: exit 0 while Stripe still holds the call', async () => {
    const stack = await start({ CREDITD_SHUTDOWN_TIMEOUT: '1' });
    const { pending } = await slowCheckout(stack, 20000);
    stack.server.child.kill('SIGTERM');
    const t0 = Date.now();
    const ex = await stack.server.exited;
    assert.deepEqual(ex, { code: 0, signal: null });
    console.log(`exited ${Date.now() - t0} ms after SIGTERM`);
    assert.equal((await sandboxConfig(stack)).api_waiting, 1, 'Stripe still held the call when the process exited');
    await sandboxConfig(stack, { api_delay_ms: 0 });
    await pending.catch(() => {});
}, { timeout: 60000 });
