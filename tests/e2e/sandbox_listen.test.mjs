// sandbox_listen.test.mjs - the Stripe sandbox listens on loopback only:
// `creditd sandbox` and `creditd demo` with a SANDBOX_LISTEN that is not
// loopback stop at once (exit 1) with a message naming SANDBOX_LISTEN and
// the override. SANDBOX_ALLOW_NON_LOOPBACK=1 lets it listen there, with a
// warning; then the Host of SANDBOX_PUBLIC_URL is let in beside the
// loopback names, any other Host still 403 host_not_allowed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, rand, runCreditd, freePort, Proc, waitReady, httpRequest } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-sblisten-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

e2e('creditd sandbox and creditd demo refuse a SANDBOX_LISTEN that is not loopback', async () => {
    for (const listen of ['0.0.0.0:0', ':0', '10.1.2.3:0', '[::]:0']) {
        for (const cmd of ['sandbox', 'demo']) {
            const env = { SANDBOX_LISTEN: listen, CREDITD_LISTEN: `127.0.0.1:${await freePort()}`, CREDITD_DEMO_DIR: path.join(tmp, `demo-${rand(4)}`) };
            const r = await runCreditd([cmd], env, { timeoutMs: 8000 });
            assert.notEqual(r.signal, 'timeout', `${cmd} ${listen}: it started anyway`);
            assert.equal(r.code, 1, `${cmd} ${listen}:\n${r.output}`);
            assert.match(r.output, /SANDBOX_LISTEN .*loopback only.*SANDBOX_ALLOW_NON_LOOPBACK/, r.output);
        }
    }
});

e2e('SANDBOX_ALLOW_NON_LOOPBACK=1: it listens on any address, warns, and lets in the Host of SANDBOX_PUBLIC_URL', async () => {
    const port = await freePort();
    const log = path.join(tmp, `allowed-${rand(4)}.log`);
    const env = {
        PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC',
        SANDBOX_LISTEN: `0.0.0.0:${port}`, SANDBOX_ALLOW_NON_LOOPBACK: '1', SANDBOX_PUBLIC_URL: `http://stripe-sandbox.internal:${port}`,
    };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
    const p = new Proc('sandbox-public', ['sandbox'], env, log);
    p.start();
    try {
        await waitReady(p, `http://127.0.0.1:${port}/_sandbox/health`);
        const get = (host) => httpRequest('GET', `http://127.0.0.1:${port}/_sandbox/health`, { headers: { Host: host } });
        assert.equal((await get(`127.0.0.1:${port}`)).status, 200);
        assert.equal((await get(`stripe-sandbox.internal:${port}`)).status, 200);
        assert.equal((await get(`STRIPE-SANDBOX.internal:${port}`)).status, 200);
        const other = await get(`evil.example:${port}`);
        assert.equal(other.status, 403, other.text);
        assert.equal(other.json.error.code, 'host_not_allowed');
    } finally {
        await p.stop();
    }
    assert.match(fs.readFileSync(log, 'utf8'), /warn .*SANDBOX_ALLOW_NON_LOOPBACK.*0\.0\.0\.0/);
});

e2e('SANDBOX_ALLOW_NON_LOOPBACK takes 0 or 1 only', async () => {
    const r = await runCreditd(['sandbox'], { SANDBOX_ALLOW_NON_LOOPBACK: 'yes' }, { timeoutMs: 8000 });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /SANDBOX_ALLOW_NON_LOOPBACK/);
});
