// sandbox.test.mjs - the sandbox lets in only what a local script or
// creditd sends, never what a web page can: a forged Host (DNS rebinding),
// a foreign Origin, or JSON as text/plain (a "simple" cross-site request)
// is refused with Stripe's error shape and changes nothing - the session
// stays open, the account stays at 0 - while creditd's own calls and the
// tests' JSON calls pay the same session afterwards. Deliveries go on
// while creditd is down, duplicated and jittered, and nothing is lost.
// Lists page as Stripe pages them (starting_after, ending_before, has_more).

import assert from 'node:assert/strict';
import { useStack, e2e, expectError, expectStatus, httpRequest, waitFor, CARD_OK } from './harness.mjs';

const stack = useStack();

function complete(sessionId, { headers = {}, body = { card: CARD_OK } } = {}) {
    return httpRequest('POST', `${stack.sandboxUrl}/_sandbox/checkout/${sessionId}/complete`, { headers, body });
}

async function stillOpen(user, co) {
    assert.equal((await stack.getSession(co.session_id)).status, 'open');
    const c = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: user.token }), 200);
    assert.equal(c.fulfilled, false);
    assert.equal(await stack.balance(user), 0);
}

e2e('a forged Host, a foreign Origin or a text/plain body changes nothing', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'topup', amount_cents: 1000 });
    const id = co.session_id;

    // DNS rebinding: the page's own name, pointed at 127.0.0.1.
    for (const host of ['evil.example', `evil.example:${stack.sandboxPort}`, `127.0.0.1.evil.example:${stack.sandboxPort}`]) {
        expectError(await complete(id, { headers: { Host: host } }), 403, 'host_not_allowed', host);
        const read = await httpRequest('GET', `${stack.sandboxUrl}/v1/checkout/sessions/${id}`, {
            headers: { Host: host, Authorization: `Bearer ${stack.stripeKey}` },
        });
        expectError(read, 403, 'host_not_allowed', `${host} GET`);
        expectError(await httpRequest('GET', `${stack.sandboxUrl}/checkout/${id}`, { headers: { Host: host } }),
            403, 'host_not_allowed', `${host} page`);
    }

    // A page on another origin posting to the sandbox.
    for (const origin of ['http://evil.example', 'null', stack.baseUrl]) {
        expectError(await complete(id, { headers: { Origin: origin } }), 403, 'origin_not_allowed', origin);
        const form = await httpRequest('POST', `${stack.sandboxUrl}/checkout/${id}/pay`, {
            headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' },
            body: `card=${CARD_OK}&exp=12%2F34&cvc=123`,
        });
        expectError(form, 403, 'origin_not_allowed', `${origin} form`);
        expectError(await complete(id, { headers: { Origin: origin, 'Content-Type': 'text/plain' } }),
            403, 'origin_not_allowed', `${origin} text/plain`);
    }

    // JSON as text/plain, the body a cross-site fetch may send without a preflight.
    expectError(await complete(id, { headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ card: CARD_OK }) }),
        400, 'invalid_content_type');
    expectError(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/checkout/${id}/expire`, {
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: '{}',
    }), 400, 'invalid_content_type', 'expire');

    await stillOpen(u, co);

    // The sandbox's own origin and loopback names are fine; creditd's Stripe calls made the session.
    expectStatus(await complete(id, { headers: { Host: `localhost:${stack.sandboxPort}`, Origin: `http://localhost:${stack.sandboxPort}` } }), 200);
    await stack.waitFulfilled(u, id);
    assert.equal(await stack.balance(u), 1000);
});

e2e('webhooks to a dead server are retried until it is back: duplicated and jittered, credited once, none given up', async () => {
    const config = async (body) => expectStatus(await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body }), 200);
    const user = await stack.signup();
    const co = await stack.checkout(user, { kind: 'topup', amount_cents: 1000 });
    const before = await config({ duplicate_deliveries: 2, delivery_jitter_ms: 200 });
    try {
        await stack.killServer();
        expectStatus(await complete(co.session_id), 200);
        // The sandbox tries, fails and keeps the deliveries.
        await waitFor(async () => {
            const c = await config({});
            return c.attempts > before.attempts && c.pending > 0 ? c : null;
        }, 10000, { what: 'a delivery attempt to the dead server' });
        await stack.startServer();
        await stack.waitFulfilled(user, co.session_id, 20000);
        await waitFor(async () => (await config({})).pending === 0, 30000, { what: 'every delivery done' });
    } finally {
        await config({ duplicate_deliveries: 1, delivery_jitter_ms: 0 });
    }
    const after = await config({});
    assert.equal(after.failed, before.failed, 'no delivery given up');
    assert.ok(after.attempts - before.attempts > after.delivered - before.delivered, 'some attempts failed and were retried');
    assert.equal(await stack.balance(user), 1000);
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true);
});

e2e('the sandbox refuses what Stripe refuses: unknown parameters, a JSON body, an unknown currency', async () => {
    const v1 = (method, path, body, ctype = 'application/x-www-form-urlencoded') =>
        httpRequest(method, `${stack.sandboxUrl}${path}`, {
            headers: { Authorization: `Bearer ${stack.stripeKey}`, ...(body !== undefined ? { 'Content-Type': ctype } : {}) },
            body,
        });
    const unknown = (r, param) => {
        assert.equal(r.status, 400, r.text);
        const { type, code, param: p, message } = r.json.error;
        assert.deepEqual({ type, code, param: p, message }, {
            type: 'invalid_request_error', code: 'parameter_unknown', param,
            message: `Received unknown parameter: ${param}`,
        });
    };
    const item = (cur) => 'mode=payment&success_url=http%3A%2F%2F127.0.0.1%3A9%2Fok' +
        `&line_items[0][price_data][currency]=${cur}&line_items[0][price_data][unit_amount]=500` +
        '&line_items[0][price_data][product_data][name]=x&line_items[0][quantity]=1';

    unknown(await v1('POST', '/v1/customers', 'email=a%40b.c&emali=x'), 'emali');
    unknown(await v1('POST', '/v1/checkout/sessions', `${item('usd')}&line_items[0][pricedata][currency]=usd`),
        'line_items[0][pricedata][currency]');
    unknown(await v1('POST', '/v1/checkout/sessions', `${item('usd')}&metadata[a][b]=c`), 'metadata[a][b]');
    unknown(await v1('GET', '/v1/payment_intents?limit=1&custmer=cus_x'), 'custmer');
    expectStatus(await v1('GET', '/v1/payment_intents?limit=1&expand[]=data.customer'), 200);

    const json = await v1('POST', '/v1/customers', JSON.stringify({ email: 'a@b.c' }), 'application/json');
    assert.equal(json.status, 400, json.text);
    assert.equal(json.json.error.type, 'invalid_request_error');
    assert.match(json.json.error.message, /application\/x-www-form-urlencoded/);

    const upper = expectStatus(await v1('POST', '/v1/checkout/sessions', item('USD')), 200);
    assert.equal(upper.currency, 'usd');
    const bad = await v1('POST', '/v1/checkout/sessions', item('xyz'));
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.param, 'line_items[0][price_data][currency]');
    assert.match(bad.json.error.message, /^Invalid currency: xyz/);
});

e2e('lists page as Stripe pages them: newest first, starting_after older, ending_before newer, has_more', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) {
        ids.push(expectStatus(await stack.stripe('POST', '/v1/customers', { body: { email: `page${i}@example.com` } }), 200).id);
    }
    const page = async (q) => {
        const r = expectStatus(await stack.stripe('GET', `/v1/customers?${q}`), 200);
        return { ids: r.data.map((c) => c.id), more: r.has_more };
    };
    assert.deepEqual(await page(`limit=2&ending_before=${ids[0]}`), { ids: [ids[2], ids[1]], more: true });
    assert.deepEqual(await page(`limit=2&ending_before=${ids[2]}`), { ids: [ids[3]], more: false });
    assert.deepEqual(await page(`limit=2&starting_after=${ids[3]}`), { ids: [ids[2], ids[1]], more: true });
    const last = await page(`limit=100&starting_after=${ids[1]}`);
    assert.equal(last.ids[0], ids[0]);
    assert.equal(last.more, false);
});
