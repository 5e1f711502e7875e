// http.test.mjs - the HTTP surface: health and readiness, the one JSON
// error shape, body caps, malformed JSON, wrong field types, unknown fields
// ignored, /metrics behind the server key.

import assert from 'node:assert/strict';
import net from 'node:net';
import { useStack, e2e, rand, expectError, expectStatus, runCreditd, freePort } from './harness.mjs';

const stack = useStack({ sandbox: false });

e2e('GET /healthz is 200 {"status":"ok"}; GET /readyz is 200', async () => {
    const h = await stack.api('GET', '/healthz');
    assert.deepEqual(expectStatus(h, 200), { status: 'ok' });
    assert.match(String(h.headers['content-type']), /^application\/json/);
    const r = await stack.api('GET', '/readyz');
    assert.equal(r.status, 200, r.text);
});

e2e('unknown route: 404 in the JSON error shape', async () => {
    for (const p of ['/v1/nope', '/v1/admin/nope', `/v1/${rand(6)}/x`]) {
        const r = await stack.api('GET', p, { key: true });
        const e = expectError(r, 404);
        assert.equal(e.type, 'not_found');
        assert.match(String(r.headers['content-type']), /^application\/json/);
    }
});

e2e('wrong method on a known path: a 4xx in the error shape', async () => {
    const u = await stack.signup();
    const r = await stack.api('DELETE', '/v1/balance', { token: u.token });
    assert.ok(r.status === 404 || r.status === 405, `${r.status}`);
    expectError(r, r.status);
});

e2e('API body over 64 KiB: 413; just under is parsed', async () => {
    const big = { email: `e2e-${rand(6)}@example.com`, password: 'long enough pw', pad: 'x'.repeat(65 * 1024) };
    const r = await stack.api('POST', '/v1/auth/signup', { body: big });
    const e = expectError(r, 413);
    assert.equal(e.type, 'invalid_request_error');
    // The account was not created.
    const login = await stack.api('POST', '/v1/auth/login', { body: { email: big.email, password: big.password } });
    expectError(login, 401);

    const ok = { email: `e2e-${rand(6)}@example.com`, password: 'long enough pw', pad: 'y'.repeat(60 * 1024) };
    expectStatus(await stack.api('POST', '/v1/auth/signup', { body: ok }), 201);
    // The server is still fine.
    expectStatus(await stack.api('GET', '/healthz'), 200);
});

e2e('a 413 on an authenticated route, too', async () => {
    const u = await stack.signup();
    const r = await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 1, description: 'z'.repeat(70 * 1024) } });
    expectError(r, 413);
    assert.equal(await stack.balance(u), 0);
});

e2e('malformed JSON: 400 invalid_request_error', async () => {
    const u = await stack.signup();
    for (const body of ['{', '{"email":', 'not json', '{"a":1}}', '\u0000', '{"email":"a@b.c","password":"12345678",}']) {
        const r = await stack.api('POST', '/v1/auth/signup', { body });
        const e = expectError(r, 400);
        assert.equal(e.type, 'invalid_request_error', `body ${JSON.stringify(body)}`);
    }
    for (const body of ['[]', '"string"', '42', 'null', '']) {
        const r = await stack.asServer(u.id, 'POST', '/v1/grants', { body });
        expectError(r, 400);
    }
    assert.equal(await stack.balance(u), 0);
});

e2e('a field of the wrong type is a 400', async () => {
    const u = await stack.signup();
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: 123, password: 'long enough pw' } }), 400);
    expectError(await stack.api('POST', '/v1/auth/signup', { body: { email: `e2e-${rand(6)}@example.com`, password: 12345678 } }), 400);
    expectError(await stack.api('POST', '/v1/auth/login', { body: { email: ['x'], password: 'long enough pw' } }), 400);
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 5 } }), 400);
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access', discount_code: 5 } }), 400);
    expectError(await stack.api('POST', '/v1/discounts/validate', { token: u.token, body: { code: 5 } }), 400);
});

e2e('unknown request fields are ignored', async () => {
    const email = `e2e-${rand(6)}@example.com`;
    const r = await stack.api('POST', '/v1/auth/signup', { body: { email, password: 'long enough pw', favourite_colour: 'teal', nested: { a: [1, 2] } } });
    expectStatus(r, 201);
});

e2e('responses are JSON with the error shape for every error status we can provoke', async () => {
    const samples = [
        await stack.api('GET', '/v1/account'), // 401
        await stack.api('GET', '/v1/nowhere'), // 404
        await stack.api('POST', '/v1/auth/signup', { body: '{' }), // 400
    ];
    for (const r of samples) {
        const e = expectError(r, r.status);
        assert.ok(!('stack' in e), 'no internals leak');
        assert.match(String(r.headers['content-type']), /^application\/json/);
    }
});

e2e('GET /metrics: 401 without the server key, Prometheus text with it', async () => {
    expectError(await stack.api('GET', '/metrics'), 401);
    const u = await stack.signup();
    const tok = await stack.api('GET', '/metrics', { token: u.token });
    assert.ok(tok.status === 401 || tok.status === 403, `account token on /metrics: ${tok.status}`);
    const r = await stack.api('GET', '/metrics', { key: true });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(r.text, /^# (HELP|TYPE) /m);
    assert.ok(!r.text.includes(stack.adminKey) && !r.text.includes(stack.webhookSecret), 'no secret in metrics');
});

e2e('a garbage request line or header flood does not take the server down', async () => {
    await new Promise((resolve) => {
        const s = net.connect(stack.serverPort, '127.0.0.1', () => {
            s.end('GARBAGE / HTTP/9.9\r\nX: ' + 'a'.repeat(20000) + '\r\n\r\n');
        });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(3000, () => s.destroy());
        s.resume();
    });
    expectStatus(await stack.api('GET', '/healthz'), 200);
});

e2e('a bad configuration value stops start-up with a message naming the variable', async () => {
    const port = await freePort();
    const good = {
        CREDITD_LISTEN: `127.0.0.1:${port}`,
        CREDITD_DB: ':memory:',
        CREDITD_ADMIN_KEY: `cdk_e2e_${rand(16)}`,
    };
    const cases = [
        ['PRICE_MODE', 'free'],
        ['PRICE_LAUNCH_CENTS', '-5'],
        ['STRIPE_WEBHOOK_TOLERANCE', 'abc'],
        ['CREDITD_LOG', 'loud'],
        ['CREDITD_LISTEN', 'not-an-address'],
    ];
    for (const [name, value] of cases) {
        const r = await runCreditd(['serve'], { ...good, [name]: value }, { timeoutMs: 8000 });
        assert.notEqual(r.signal, 'timeout', `${name}=${value}: the server started anyway`);
        assert.notEqual(r.code, 0, `${name}=${value}: exit status`);
        assert.ok(r.output.includes(name), `${name}=${value}: message names the variable:\n${r.output.slice(-500)}`);
    }
}, { timeout: 90000 });
