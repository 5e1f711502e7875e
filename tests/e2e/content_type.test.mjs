// content_type.test.mjs - a request body is read as JSON only when it says
// it is JSON or says nothing: a body with another Content-Type is a 415
// unsupported_media_type in the JSON error shape, answered from the head
// (nothing is done, no body byte is needed). application/json with
// parameters, in any case, is JSON; no Content-Type at all is JSON too;
// a body-less POST is not looked at. The webhook takes Stripe's
// "application/json; charset=utf-8".

import assert from 'node:assert/strict';
import http from 'node:http';
import { useStack, e2e, rand, expectError, expectStatus, makeEvent } from './harness.mjs';

const stack = useStack({ sandbox: false });

/** A POST with exactly these headers (httpRequest adds application/json to a body without a type). */
function rawPost(p, body, headers) {
    return new Promise((resolve, reject) => {
        const req = http.request(`${stack.baseUrl}${p}`, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json = null;
                try {
                    json = JSON.parse(text);
                } catch {}
                resolve({ status: res.statusCode, headers: res.headers, text, json });
            });
        });
        req.on('error', reject);
        req.end(body);
    });
}

const signupBody = () => JSON.stringify({ email: `ct-${rand(6)}@example.com`, password: 'long enough pw' });

e2e('a body with a non-JSON Content-Type is a 415 unsupported_media_type; nothing is done', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
        'application/jsonp', 'application/json-seq', 'text/json']) {
        const body = signupBody();
        const r = await stack.api('POST', '/v1/auth/signup', { body, headers: { 'Content-Type': ct } });
        const e = expectError(r, 415, 'unsupported_media_type', ct);
        assert.equal(e.type, 'invalid_request_error');
        assert.equal(e.request_id, r.headers['request-id']);
        assert.match(e.message, /application\/json/);
        // Not created: the same body as JSON signs up.
        expectStatus(await stack.api('POST', '/v1/auth/signup', { body }), 201);
    }
    // With a credential too: the debit is not applied.
    const u = await stack.signup();
    await stack.asServer(u.id, 'POST', '/v1/grants', { body: { amount: 100, description: 'seed' } });
    const r = await stack.asServer(u.id, 'POST', '/v1/debits', {
        body: JSON.stringify({ amount: 10 }), headers: { 'Content-Type': 'text/plain', 'Idempotency-Key': `ct-${rand(6)}` },
    });
    expectError(r, 415, 'unsupported_media_type');
    assert.equal(await stack.balance(u), 100);
});

e2e('application/json with parameters, in any case, and no Content-Type at all are JSON', async () => {
    for (const ct of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8',
        ' application/json ; charset="utf-8"', null]) {
        const r = await rawPost('/v1/auth/signup', signupBody(), ct === null ? {} : { 'Content-Type': ct });
        expectStatus(r, 201);
    }
});

e2e('a POST without a body is not refused for its Content-Type', async () => {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/auth/logout', { token: u.token, headers: { 'Content-Type': 'text/plain', 'Content-Length': '0' } });
    assert.ok(r.status < 400, `${r.status} ${r.text}`);
});

e2e('the Stripe webhook takes application/json; charset=utf-8 and refuses text/plain', async () => {
    const ev = makeEvent('customer.created', { id: `cus_${rand(8)}`, object: 'customer' });
    const ok = await stack.sendWebhook(ev, { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    assert.equal(ok.status, 200, ok.text);
    const bad = await stack.sendWebhook(makeEvent('customer.created', { id: `cus_${rand(8)}`, object: 'customer' }),
        { headers: { 'Content-Type': 'text/plain' } });
    expectError(bad, 415, 'unsupported_media_type');
});
