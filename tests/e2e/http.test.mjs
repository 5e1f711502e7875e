// http.test.mjs - the HTTP surface: health and readiness, the one JSON
// error shape, body caps, malformed JSON, wrong field types, unknown fields
// ignored, /metrics behind the server key.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { useStack, e2e, rand, expectError, expectStatus, runCreditd, freePort, waitFor } from './harness.mjs';

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

// ------------------------------------------------------------ trust fixes

/** Sends raw bytes, resolves {head, text, closed} once the server closes or
 * a full reply (headers + Content-Length body) is in; rejects after
 * guardMs (a hang guard, not a timing assertion). keepOpen: never half-close
 * our side, so only the server can end the exchange. */
function rawExchange(port, bytes, { guardMs = 8000 } = {}) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
        const timer = setTimeout(() => {
            s.destroy();
            reject(new Error(`no complete reply within ${guardMs} ms: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
        }, guardMs);
        const done = (closed) => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('latin1');
            const [head, ...rest] = text.split('\r\n\r\n');
            resolve({ head, body: rest.join('\r\n\r\n'), text, closed });
            s.destroy();
        };
        s.on('data', (c) => {
            chunks.push(c);
        });
        s.on('end', () => done(true));
        s.on('error', (e) => (chunks.length ? done(true) : (clearTimeout(timer), reject(e))));
    });
}

const statusOf = (head) => Number((/^HTTP\/1\.[01] (\d{3})/.exec(head) || [])[1]);
const headerOf = (head, name) => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(head);
    return m ? m[1].trim() : undefined;
};

e2e('every /v1 JSON reply and every error reply is Cache-Control: no-store; static files keep theirs', async () => {
    const email = `e2e-${rand(6)}@example.com`;
    const signup = await stack.api('POST', '/v1/auth/signup', { body: { email, password: 'long enough pw' } });
    expectStatus(signup, 201);
    const token = signup.json.token;
    const replies = {
        'signup (a token)': signup,
        'login (a token)': await stack.api('POST', '/v1/auth/login', { body: { email, password: 'long enough pw' } }),
        'GET /v1/account': await stack.api('GET', '/v1/account', { token }),
        'GET /v1/balance': await stack.api('GET', '/v1/balance', { token }),
        'GET /v1/config': await stack.api('GET', '/v1/config'),
        '401': await stack.api('GET', '/v1/account'),
        '404 api': await stack.api('GET', '/v1/nope'),
        '404 static': await stack.api('GET', '/no-such-file.js'),
        '400': await stack.api('POST', '/v1/auth/signup', { body: '{' }),
        '413': await stack.api('POST', '/v1/auth/signup', { body: { pad: 'x'.repeat(65 * 1024) } }),
    };
    for (const [what, r] of Object.entries(replies)) {
        assert.equal(r.headers['cache-control'], 'no-store', `${what} (${r.status}): Cache-Control ${r.headers['cache-control']}`);
    }
    const js = await stack.api('GET', '/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=300');
    const html = await stack.api('GET', '/');
    assert.equal(html.status, 200);
    assert.equal(html.headers['cache-control'], 'no-cache');
});

e2e('a decoded NUL or control byte in a path is refused, never another file', async () => {
    const js = await stack.api('GET', '/app.js');
    assert.equal(js.status, 200);
    for (const p of ['/app.js%00.html', '/app.js%00', '/index.html%00.js', '/app.js%0a', '/app%1b.js', '/app.js%7f', '/v1/checkout/cs_x%00y']) {
        const r = await stack.api('GET', p);
        const e = expectError(r, 400);
        assert.equal(e.code, 'invalid_path', p);
        assert.ok(!r.text.includes(js.text.slice(0, 40)), `${p} served a file`);
    }
    // An encoded byte that is not a control byte still works.
    expectStatus(await stack.api('GET', '/app%2ejs'), 200);
});

// A client still sending when the reply comes (any real network, or a
// streamed body): the 413 must reach it, not an EPIPE/ECONNRESET.
const OVERSIZED = [
    ['/v1/webhooks/stripe', 2 * 1024 * 1024],
    ['/v1/auth/signup', 200 * 1024],
];

/** A body produced 64 KiB at a time, one chunk per event-loop turn. */
function trickle(size) {
    let sent = 0;
    return new ReadableStream({
        async pull(ctrl) {
            if (sent >= size) return ctrl.close();
            await new Promise((r) => setImmediate(r));
            const n = Math.min(64 * 1024, size - sent);
            sent += n;
            ctrl.enqueue(new Uint8Array(n).fill(0x61));
        },
    });
}

e2e('an oversized body gets its 413 JSON reply with Node fetch (no EPIPE), webhook and API route', async () => {
    for (let round = 0; round < 3; round++) {
        for (const [p, size] of OVERSIZED) {
            const r = await fetch(stack.baseUrl + p, {
                method: 'POST',
                duplex: 'half',
                headers: { 'Content-Type': 'application/json', 'Content-Length': String(size), 'Stripe-Signature': 't=1,v1=00' },
                body: trickle(size),
            });
            assert.equal(r.status, 413, p);
            const j = await r.json();
            assert.equal(j.error.code, 'body_too_large', p);
            assert.equal(j.error.type, 'invalid_request_error', p);
        }
    }
});

e2e('an oversized body gets its 413 JSON reply with node:http, with no socket error at all', async () => {
    for (let round = 0; round < 3; round++) {
        for (const [p, size] of OVERSIZED) {
            const got = await new Promise((resolve, reject) => {
                const req = http.request(`${stack.baseUrl}${p}`, {
                    method: 'POST',
                    agent: false,
                    headers: { 'Content-Type': 'application/json', 'Content-Length': String(size) },
                }, (res) => {
                    const chunks = [];
                    res.on('data', (c) => chunks.push(c));
                    res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
                    res.on('error', reject);
                });
                req.on('error', reject); // an EPIPE/ECONNRESET fails the test
                (async () => {
                    for (let sent = 0; sent < size; sent += 64 * 1024) {
                        if (req.destroyed) return;
                        await new Promise((r) => setImmediate(r));
                        req.write(Buffer.alloc(Math.min(64 * 1024, size - sent), 0x62));
                    }
                    req.end();
                })();
            });
            assert.equal(got.status, 413, `${p}: ${got.text}`);
            assert.equal(JSON.parse(got.text).error.code, 'body_too_large');
        }
    }
    expectStatus(await stack.api('GET', '/healthz'), 200);
});

e2e('Transfer-Encoding other than a lone chunked is refused at once, and the connection closed', async () => {
    const cases = [
        ['gzip, chunked', 501],
        ['chunked, gzip', 400],
        ['gzip', 400],
        ['identity', 400],
        ['chunked\r\nContent-Length: 5', 400],
        ['chunked\r\nTransfer-Encoding: chunked', 400],
    ];
    for (const [te, status] of cases) {
        const r = await rawExchange(
            stack.serverPort,
            `POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n5\r\n{"a":\r\n`,
        );
        assert.equal(statusOf(r.head), status, `${te}: ${r.head}`);
        assert.match(r.body, /"error"/, te);
        assert.equal(r.closed, true, `${te}: the server closes the connection`);
    }
    // A lone chunked still works.
    const body = JSON.stringify({ email: `e2e-${rand(6)}@example.com`, password: 'long enough pw' });
    const ok = await rawExchange(
        stack.serverPort,
        `POST /v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    assert.equal(statusOf(ok.head), 201, ok.text);
});

e2e('a header that may come once, sent twice, is a 400 duplicate_header naming it: nothing is done, the connection closed', async () => {
    const u = await stack.signup();
    await stack.grant(u, 1000);
    const other = await stack.signup();
    const body = '{"amount":1}';
    const debit = (extra) => `POST /v1/debits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${stack.adminKey}\r\nCreditd-Account: ${u.id}\r\nIdempotency-Key: dup-${rand(8)}\r\n` +
        `${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
    const cases = [
        // Two lengths: which one frames the body is what smuggling is made of.
        ['Content-Length', `Content-Length: ${body.length + 1}\r\n`],
        ['Content-Length', `Content-Length: ${body.length}\r\n`],
        ['Authorization', 'Authorization: Bearer not-the-key\r\n'],
        ['Creditd-Account', `Creditd-Account: ${other.id}\r\n`],
        ['Idempotency-Key', `idempotency-key: dup-${rand(8)}\r\n`],
        ['Content-Type', 'Content-Type: text/plain\r\n'],
        ['Host', 'Host: elsewhere.example\r\n'],
    ];
    for (const [name, extra] of cases) {
        const r = await rawExchange(stack.serverPort, debit(extra));
        assert.equal(statusOf(r.head), 400, `${name}: ${r.text}`);
        const e = JSON.parse(r.body).error;
        assert.equal(e.code, 'duplicate_header', name);
        assert.equal(e.type, 'invalid_request_error', name);
        assert.match(e.message, new RegExp(name, 'i'));
        assert.equal(r.closed, true, `${name}: the server closes the connection`);
    }
    assert.equal(await stack.balance(u), 1000, 'no duplicate-header request debited');
    assert.equal(await stack.balance(other), 0);
    // The webhook's Stripe-Signature, twice: refused the same way.
    const hook = await rawExchange(stack.serverPort, 'POST /v1/webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Content-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\nStripe-Signature: t=2,v1=00\r\nContent-Length: 2\r\n\r\n{}');
    assert.equal(statusOf(hook.head), 400, hook.text);
    assert.equal(JSON.parse(hook.body).error.code, 'duplicate_header');
    // Once each, the same request goes through.
    const ok = await rawExchange(stack.serverPort, debit('Connection: close\r\n'));
    assert.equal(statusOf(ok.head), 201, ok.text);
    assert.equal(await stack.balance(u), 999);
});

e2e('a header field name with whitespace before its colon is a 400 invalid_header and closes the connection: its body is never read as another request', async () => {
    // libmicrohttpd alone took "Content-Length : 42" for another field: the
    // body framed nothing and its bytes were read as a second request -
    // what a proxy that honoured that length would never have sent.
    const smuggled = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    for (const name of ['Content-Length ', 'Content-Length\t', 'X-Foo ', 'Bad(Name)']) {
        const r = await rawExchange(stack.serverPort, 'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
            `Content-Type: application/json\r\n${name}: ${smuggled.length}\r\n\r\n${smuggled}`);
        assert.equal(statusOf(r.head), 400, `${JSON.stringify(name)}: ${r.text}`);
        const e = JSON.parse(r.body.split('HTTP/1.1')[0]).error;
        assert.equal(e.code, 'invalid_header', name);
        assert.equal(r.closed, true, name);
        assert.doesNotMatch(r.text, /"status":"ok"/, `${JSON.stringify(name)}: the body was read as a request`);
    }
});

e2e('every reply carries a Request-Id, the same id is in the error body and in the access log', async () => {
    const u = await stack.signup();
    const ok = await stack.api('GET', '/v1/balance', { token: u.token });
    const notFound = await stack.api('GET', '/v1/nope');
    const unauth = await stack.api('GET', '/v1/account');
    const tooBig = await stack.api('POST', '/v1/auth/signup', { body: { pad: 'x'.repeat(65 * 1024) } });
    const page = await stack.api('GET', '/app.js');
    const ids = new Set();
    for (const r of [ok, notFound, unauth, tooBig, page]) {
        const id = r.headers['request-id'];
        assert.match(String(id), /^req_[0-9A-Za-z]{16}$/, `${r.status}: Request-Id ${id}`);
        ids.add(id);
        if (r.status >= 400) assert.equal(expectError(r, r.status).request_id, id, `${r.status}: error.request_id`);
    }
    assert.equal(ids.size, 5, 'ids are unique');
    const id = notFound.headers['request-id'];
    const line = await waitFor(() => fs.readFileSync(stack.server.logFile, 'utf8').split('\n').find((l) => l.includes(id)), 5000, { what: 'access log line' });
    assert.match(line, /GET \/v1\/nope 404 /, 'no route: the path is logged');
});

e2e('control bytes from the request line never reach the log raw', async () => {
    const r = await rawExchange(stack.serverPort, 'G\x1b[2J\x1b[31mET\x07 / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const id = headerOf(r.head, 'Request-Id');
    assert.ok(id, r.head);
    const line = await waitFor(() => fs.readFileSync(stack.server.logFile, 'latin1').split('\n').find((l) => l.includes(id)), 5000, { what: 'access log line' });
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(line), `raw control byte in ${JSON.stringify(line)}`);
    assert.ok(line.includes('G\\x1b[2J\\x1b[31mET\\x07'), line);
});
