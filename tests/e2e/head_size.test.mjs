// head_size.test.mjs - an oversized request head. creditd's own limit
// (16 KiB of request line and header fields, 100 fields) answers 431
// headers_too_large in the JSON error shape with a Request-Id, and closes
// the connection. A head past libmicrohttpd's own memory limit (about
// 31 KiB) never reaches creditd: libmicrohttpd answers its own 431 (an
// HTML body, no Request-Id) and closes - pinned here, with the server
// still answering after it (docs/API.md, "HTTP").

import assert from 'node:assert/strict';
import net from 'node:net';
import { useStack, e2e, expectStatus } from './harness.mjs';

const stack = useStack({ sandbox: false });

/** Sends a raw GET /healthz head with the given header fields; resolves
 * {status, headers, body, closed} once the server closes or 5 s pass. */
function rawHead(fields) {
    return new Promise((resolve) => {
        const s = net.connect(stack.serverPort, '127.0.0.1', () => {
            let head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n';
            for (const [k, v] of fields) head += `${k}: ${v}\r\n`;
            s.write(head + '\r\n');
        });
        const chunks = [];
        let closed = false;
        const done = () => {
            const text = Buffer.concat(chunks).toString('latin1');
            const [top, ...rest] = text.split('\r\n\r\n');
            const lines = top.split('\r\n');
            const headers = {};
            for (const l of lines.slice(1)) {
                const i = l.indexOf(':');
                if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
            }
            resolve({ status: Number((/^HTTP\/1\.\d (\d{3})/.exec(lines[0]) || [])[1]), headers, body: rest.join('\r\n\r\n'), closed });
        };
        s.on('data', (d) => chunks.push(d));
        s.on('error', () => {});
        s.on('close', () => {
            closed = true;
            done();
        });
        s.setTimeout(5000, () => s.destroy());
    });
}

const pad = (n) => 'a'.repeat(n);

e2e('a head over 16 KiB, or over 100 fields: 431 headers_too_large in the JSON error shape, connection closed', async () => {
    for (const fields of [[['X-Pad', pad(17 * 1024)]], Array.from({ length: 8 }, (_, i) => [`X-Pad-${i}`, pad(2200)]),
        Array.from({ length: 101 }, (_, i) => [`X-F${i}`, 'v'])]) {
        const r = await rawHead(fields);
        assert.equal(r.status, 431, r.body);
        assert.match(r.headers['content-type'], /^application\/json/);
        const e = JSON.parse(r.body).error;
        assert.equal(e.code, 'headers_too_large');
        assert.equal(e.type, 'invalid_request_error');
        assert.match(r.headers['request-id'], /^req_[A-Za-z0-9]{16}$/);
        assert.equal(e.request_id, r.headers['request-id']);
        assert.equal(r.headers.connection, 'close');
        assert.ok(r.closed, 'the connection is closed');
    }
    expectStatus(await stack.api('GET', '/healthz'), 200);
});

e2e('a head under the limits is served', async () => {
    const r = await rawHead([['X-Pad', pad(15 * 1024)], ...Array.from({ length: 90 }, (_, i) => [`X-F${i}`, 'v'])]);
    assert.equal(r.status, 200, r.body);
});

e2e("a head past libmicrohttpd's memory limit: its own 431 (not ours), the connection closed, the server unharmed", async () => {
    const r = await rawHead([['X-Pad', pad(40 * 1024)]]);
    assert.equal(r.status, 431);
    assert.equal(r.headers['request-id'], undefined, "libmicrohttpd's reply: creditd never saw the request");
    assert.ok(r.closed, 'the connection is closed');
    expectStatus(await stack.api('GET', '/healthz'), 200);
});
