// harness.test.mjs - checks the harness's own helpers without the creditd
// binary: ports, polling, the HTTP client (including an early 413), webhook
// signing against a hand-computed HMAC, the relay, and process start /
// kill -9 / restart with a throwaway node HTTP server as the child.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
    freePort, freePorts, waitFor, httpRequest, signPayload, makeEvent, Relay, Proc, waitReady,
    rfc3339, tailFile, sanitizerReport,
} from './harness.mjs';

test('freePort / freePorts give bindable, distinct ports', async () => {
    const p = await freePort();
    assert.ok(p > 0 && p < 65536);
    const ps = await freePorts(3);
    assert.equal(new Set(ps).size, 3);
    const srv = http.createServer();
    await new Promise((r) => srv.listen(ps[0], '127.0.0.1', r));
    await new Promise((r) => srv.close(r));
});

test('waitFor returns the first truthy value, and times out with the last one', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? n : 0), 2000, { intervalMs: 5 }), 3);
    await assert.rejects(waitFor(() => ({ nope: 0 }) && false, 100, { what: 'never' }), /waitFor\(never\) timed out/);
    let m = 0;
    assert.equal(await waitFor(async () => { if (++m < 2) throw new Error('x'); return 'ok'; }, 1000, { intervalMs: 5 }), 'ok');
});

test('httpRequest: JSON and raw bodies, headers, non-JSON replies, early 413', async () => {
    const srv = http.createServer((req, res) => {
        if (req.url === '/early') {
            res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
            res.end('{"error":{"type":"invalid_request_error","code":"body_too_large","message":"m"}}');
            req.destroy();
            return;
        }
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks).toString();
            if (req.url === '/text') {
                res.writeHead(200, { 'Content-Type': 'text/plain' });
                res.end('plain');
                return;
            }
            res.writeHead(201, { 'Content-Type': 'application/json', 'X-Echo': req.headers['x-test'] || '' });
            res.end(JSON.stringify({ method: req.method, ct: req.headers['content-type'], body }));
        });
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${srv.address().port}`;
    try {
        const a = await httpRequest('POST', `${base}/x`, { body: { a: 1 }, headers: { 'X-Test': 'yes' } });
        assert.equal(a.status, 201);
        assert.equal(a.headers['x-echo'], 'yes');
        assert.deepEqual(a.json, { method: 'POST', ct: 'application/json', body: '{"a":1}' });
        const b = await httpRequest('POST', `${base}/x`, { body: '{raw', headers: { 'content-type': 'text/x' } });
        assert.equal(b.json.body, '{raw');
        assert.equal(b.json.ct, 'text/x');
        const c = await httpRequest('GET', `${base}/text`);
        assert.equal(c.json, null);
        assert.equal(c.text, 'plain');
        const d = await httpRequest('POST', `${base}/early`, { body: 'x'.repeat(4 * 1024 * 1024) });
        assert.equal(d.status, 413);
        assert.equal(d.json.error.code, 'body_too_large');
    } finally {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
    }
});

test('signPayload equals HMAC-SHA256(secret, "t.payload") in Stripe header form', () => {
    const payload = JSON.stringify(makeEvent('x.y', { id: 'obj_1' }));
    const h = signPayload(payload, 'whsec_abc', 1700000000);
    const want = crypto.createHmac('sha256', 'whsec_abc').update(`1700000000.${payload}`).digest('hex');
    assert.equal(h, `t=1700000000,v1=${want}`);
    const now = signPayload(payload, 'whsec_abc');
    const t = Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(now)[1]);
    assert.ok(Math.abs(t - Date.now() / 1000) < 5);
});

test('makeEvent and rfc3339', () => {
    const e = makeEvent('checkout.session.completed', { id: 'cs_1' });
    assert.match(e.id, /^evt_/);
    assert.equal(e.object, 'event');
    assert.equal(e.data.object.id, 'cs_1');
    assert.equal(rfc3339(Date.UTC(2026, 10, 21, 20, 30, 0, 123)), '2026-11-21T20:30:00Z');
});

test('Relay records deliveries and forwards them when asked', async () => {
    const got = [];
    const target = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            got.push({ sig: req.headers['stripe-signature'], body: Buffer.concat(chunks).toString() });
            res.writeHead(500);
            res.end('{"no":1}');
        });
    });
    await new Promise((r) => target.listen(0, '127.0.0.1', r));
    const relay = await new Relay().start();
    try {
        const ev = makeEvent('a.b', { id: 'o1' });
        const r1 = await httpRequest('POST', relay.url, { body: ev, headers: { 'Stripe-Signature': 't=1,v1=00' } });
        assert.equal(r1.status, 200);
        assert.equal(relay.find('a.b', 'o1').length, 1);
        assert.equal(relay.find('a.b', 'other').length, 0);
        relay.forwardTo = `http://127.0.0.1:${target.address().port}/hook`;
        const r2 = await httpRequest('POST', relay.url, { body: ev, headers: { 'Stripe-Signature': 't=2,v1=11' } });
        assert.equal(r2.status, 500, 'the target status goes back to the sender');
        assert.deepEqual(got, [{ sig: 't=2,v1=11', body: JSON.stringify(ev) }]);
        assert.equal(relay.events.length, 2);
    } finally {
        await relay.stop();
        await new Promise((r) => target.close(r));
    }
});

test('Proc: start, ready, kill -9, restart on the same port, log capture', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-selftest-'));
    const port = await freePort();
    const script = path.join(dir, 'srv.cjs');
    fs.writeFileSync(script, `
        const http = require('http');
        process.stderr.write('child starting\\n');
        http.createServer((q, s) => { s.writeHead(200); s.end('{"status":"ok"}'); })
            .listen(Number(process.env.PORT), '127.0.0.1');
    `);
    const log = path.join(dir, 'child.log');
    const p = new Proc('selftest', [script], { PATH: process.env.PATH, PORT: String(port) }, log, process.execPath);
    try {
        p.start();
        await waitReady(p, `http://127.0.0.1:${port}/healthz`, 5000);
        assert.ok(p.running);
        const pid1 = p.child.pid;
        const ex = await p.kill9();
        assert.equal(ex.signal, 'SIGKILL');
        assert.equal(p.running, false);
        await assert.rejects(httpRequest('GET', `http://127.0.0.1:${port}/healthz`, { timeoutMs: 500 }));
        p.start();
        await waitReady(p, `http://127.0.0.1:${port}/healthz`, 5000);
        assert.notEqual(p.child.pid, pid1);
        await p.stop('SIGTERM');
        assert.equal(p.running, false);
        await waitFor(() => (tailFile(log).match(/child starting/g) || []).length === 2, 5000, { what: 'both starts logged' });
    } finally {
        await p.stop('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('Proc: a child that dies during start-up is reported with its log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-selftest-'));
    const log = path.join(dir, 'child.log');
    const p = new Proc('dies', ['-e', 'console.error("bad CREDITD_X value"); process.exit(2)'], { PATH: process.env.PATH }, log, process.execPath);
    try {
        p.start();
        await assert.rejects(waitReady(p, `http://127.0.0.1:${await freePort()}/healthz`, 5000), /exited during start-up[\s\S]*bad CREDITD_X value/);
    } finally {
        await p.stop('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('Proc: a missing binary is a clear error', () => {
    const p = new Proc('missing', [], {}, path.join(os.tmpdir(), 'nowhere.log'), '/nonexistent/creditd');
    assert.throws(() => p.start(), /creditd binary not found at \/nonexistent\/creditd/);
});

test('sanitizerReport finds ASan/UBSan lines and nothing in a clean log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-selftest-'));
    try {
        const clean = path.join(dir, 'clean.log');
        fs.writeFileSync(clean, 'info main listening\ninfo api GET /healthz 200\n');
        assert.equal(sanitizerReport(clean), '');
        const dirty = path.join(dir, 'dirty.log');
        fs.writeFileSync(dirty, 'info x\n==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n#0 foo\n');
        assert.match(sanitizerReport(dirty), /dirty\.log:2: .*heap-use-after-free/);
        const ub = path.join(dir, 'ub.log');
        fs.writeFileSync(ub, 'src/x.c:10:5: runtime error: signed integer overflow\n');
        assert.match(sanitizerReport(ub), /signed integer overflow/);
        assert.equal(sanitizerReport(path.join(dir, 'missing.log')), '');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
