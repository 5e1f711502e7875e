// rotation.test.mjs - webhook secret rotation without a restart:
// STRIPE_WEBHOOK_SECRET_FILE is read at start and again on SIGHUP; during
// a rotation it holds both secrets; a bad file on SIGHUP keeps the old
// secrets; the process (same pid) serves throughout. SIGHUP without the
// file changes nothing and does not stop the server.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, freePort, httpRequest, makeEvent, Proc, rand, runCreditd, signPayload, waitFor, waitReady } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-rotation-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const secret = () => `whsec_e2e${rand(24)}`;

async function serve(env, label) {
    const port = await freePort();
    const sys = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC' };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) sys[k] = process.env[k];
    const p = new Proc(label, ['serve'], {
        ...sys, CREDITD_LISTEN: `127.0.0.1:${port}`, CREDITD_DB: path.join(tmp, `${label}.db`), CREDITD_ADMIN_KEY: `cdk_e2e_${rand(16)}`, ...env,
    }, path.join(tmp, `${label}.log`));
    p.start();
    await waitReady(p, `http://127.0.0.1:${port}/healthz`);
    return { p, url: `http://127.0.0.1:${port}` };
}

/** Posts an event signed with s; returns the status. */
async function deliver(url, s) {
    const payload = JSON.stringify(makeEvent('customer.created', { id: `cus_${rand(8)}`, object: 'customer' }));
    const r = await httpRequest('POST', `${url}/v1/webhooks/stripe`, {
        body: payload,
        headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(payload, s) },
    });
    return r.status;
}

const log = (p) => fs.readFileSync(p.logFile, 'utf8');
const count = (text, re) => (text.match(re) || []).length;

/** Writes the file, sends SIGHUP and waits for the n-th reload line. */
async function rotate(srv, file, content, n, re = /SIGHUP: \d+ webhook secret\(s\) loaded/g) {
    fs.writeFileSync(file, content, { mode: 0o600 });
    srv.p.child.kill('SIGHUP');
    await waitFor(() => count(log(srv.p), re) >= n, 5000, { what: `reload ${n}` });
}

e2e('SIGHUP reloads STRIPE_WEBHOOK_SECRET_FILE: both secrets during a rotation, then the new one alone', async () => {
    const [oldS, newS] = [secret(), secret()];
    const file = path.join(tmp, 'secrets');
    fs.writeFileSync(file, `${oldS}\n`, { mode: 0o600 });
    const srv = await serve({ STRIPE_WEBHOOK_SECRET_FILE: file }, 'rotate');
    const pid = srv.p.child.pid;
    try {
        assert.equal(await deliver(srv.url, oldS), 200);
        assert.equal(await deliver(srv.url, newS), 400);

        await rotate(srv, file, `${newS}\n${oldS}\n`, 1);
        assert.match(log(srv.p), /SIGHUP: 2 webhook secret\(s\) loaded/);
        assert.equal(await deliver(srv.url, newS), 200, 'the new secret');
        assert.equal(await deliver(srv.url, oldS), 200, 'the old one, during the rotation');

        await rotate(srv, file, `${newS}`, 2);
        assert.equal(await deliver(srv.url, newS), 200);
        assert.equal(await deliver(srv.url, oldS), 400, 'the old secret is gone');

        // A broken file changes nothing.
        await rotate(srv, file, 'not-a-secret', 1, /STRIPE_WEBHOOK_SECRET_FILE: .*unchanged/g);
        assert.equal(await deliver(srv.url, newS), 200);
        fs.rmSync(file);
        srv.p.child.kill('SIGHUP');
        await waitFor(() => count(log(srv.p), /STRIPE_WEBHOOK_SECRET_FILE: cannot read .*unchanged/g) >= 1, 5000, { what: 'missing file' });
        assert.equal(await deliver(srv.url, newS), 200);

        assert.ok(srv.p.running, 'the same process served throughout');
        assert.equal(srv.p.child.pid, pid);
        const text = log(srv.p);
        for (const s of [oldS, newS]) assert.ok(!text.includes(s), 'no secret in the log');
    } finally {
        await srv.p.stop();
    }
    assert.equal(srv.p.exit.code, 0);
}, { timeout: 60000 });

e2e('SIGHUP without STRIPE_WEBHOOK_SECRET_FILE keeps the server and its secret', async () => {
    const s = secret();
    const srv = await serve({ STRIPE_WEBHOOK_SECRET: s }, 'nohup');
    try {
        srv.p.child.kill('SIGHUP');
        await waitFor(() => /SIGHUP: STRIPE_WEBHOOK_SECRET_FILE is not set/.test(log(srv.p)), 5000, { what: 'the SIGHUP line' });
        assert.ok(srv.p.running);
        assert.equal(await deliver(srv.url, s), 200);
    } finally {
        await srv.p.stop();
    }
});

e2e('STRIPE_WEBHOOK_SECRET_FILE: unreadable, empty or bad, or set with STRIPE_WEBHOOK_SECRET, stops start-up', async () => {
    const base = { CREDITD_LISTEN: `127.0.0.1:${await freePort()}`, CREDITD_DB: ':memory:' };
    const empty = path.join(tmp, 'empty');
    fs.writeFileSync(empty, ' \n');
    const bad = path.join(tmp, 'bad');
    fs.writeFileSync(bad, 'whsec_short');
    const good = path.join(tmp, 'good');
    fs.writeFileSync(good, secret());
    for (const env of [
        { STRIPE_WEBHOOK_SECRET_FILE: path.join(tmp, 'none') },
        { STRIPE_WEBHOOK_SECRET_FILE: empty },
        { STRIPE_WEBHOOK_SECRET_FILE: bad },
        { STRIPE_WEBHOOK_SECRET_FILE: good, STRIPE_WEBHOOK_SECRET: secret() },
    ]) {
        const r = await runCreditd(['serve'], { ...base, ...env }, { timeoutMs: 8000 });
        assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.output.slice(-300)}`);
        assert.match(r.output, /STRIPE_WEBHOOK_SECRET_FILE/);
        assert.ok(!r.output.includes(fs.readFileSync(good, 'utf8')), 'no secret in the message');
    }
});
