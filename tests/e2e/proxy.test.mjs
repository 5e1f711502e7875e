// proxy.test.mjs - CREDITD_TRUSTED_PROXIES: behind listed proxies the
// per-address limits count the client that X-Forwarded-For names (its
// right-most address that is not a trusted proxy), so what a client
// writes into the header itself changes nothing; without the setting the
// header is ignored and every client counts as the proxy.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, freePort, httpRequest, Proc, rand, runCreditd, waitReady } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-proxy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function serve(env, label) {
    const port = await freePort();
    const sys = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC' };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) sys[k] = process.env[k];
    const p = new Proc(label, ['serve'], {
        ...sys, CREDITD_LISTEN: `127.0.0.1:${port}`, CREDITD_DB: path.join(tmp, `${label}.db`),
        CREDITD_ADMIN_KEY: `cdk_e2e_${rand(16)}`, CREDITD_AUTH_RATE_LIMIT: '2', ...env,
    }, path.join(tmp, `${label}.log`));
    p.start();
    await waitReady(p, `http://127.0.0.1:${port}/healthz`);
    const signup = async (xff) => {
        const headers = xff === undefined ? {} : { 'X-Forwarded-For': xff };
        const r = await httpRequest('POST', `http://127.0.0.1:${port}/v1/auth/signup`, {
            body: { email: `p-${rand(8)}@example.com`, password: `pw-${rand(10)}` }, headers,
        });
        return r.status;
    };
    return { p, signup };
}

e2e('behind a trusted proxy, each forwarded client has its own signup limit; spoofed entries are ignored', async () => {
    const srv = await serve({ CREDITD_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.2' }, 'trusted');
    try {
        assert.deepEqual([await srv.signup('203.0.113.7'), await srv.signup('203.0.113.7'), await srv.signup('203.0.113.7')], [201, 201, 429]);
        assert.equal(await srv.signup('203.0.113.8'), 201, 'another client, its own count');
        // The client wrote its own X-Forwarded-For; the proxy appended the
        // address it saw. Only that one counts.
        assert.equal(await srv.signup('1.1.1.1, 198.51.100.1'), 201);
        assert.equal(await srv.signup('2.2.2.2,198.51.100.1'), 201);
        assert.equal(await srv.signup('3.3.3.3, 198.51.100.1'), 429, 'spoofed left entries do not make a new client');
        // Two trusted hops: the address before them is the client.
        assert.equal(await srv.signup('198.51.100.9, 10.0.0.2'), 201);
        assert.equal(await srv.signup('198.51.100.9 , 10.0.0.2'), 201);
        assert.equal(await srv.signup('198.51.100.9'), 429, 'the same client through one hop');
        // IPv6 clients count per /64.
        assert.equal(await srv.signup('2001:db8:1:2::1'), 201);
        assert.equal(await srv.signup('2001:DB8:1:2:0:0:0:2'), 201);
        assert.equal(await srv.signup('2001:db8:1:2::3'), 429);
        // A proxy that adds its own X-Forwarded-For line after the client's:
        // the lines are one list (RFC 9110 5.3), read from the last line's end.
        assert.equal(await srv.signup(['4.4.4.4', '198.51.100.20']), 201);
        assert.equal(await srv.signup(['5.5.5.5', '198.51.100.20']), 201);
        assert.equal(await srv.signup(['6.6.6.6', '198.51.100.20']), 429, 'a spoofed first line does not make a new client');
        assert.equal(await srv.signup(['198.51.100.21', '10.0.0.2']), 201, 'a trusted hop on the last line: the line before names the client');
        assert.equal(await srv.signup(['198.51.100.21, 10.0.0.2', '10.0.0.2']), 201);
        assert.equal(await srv.signup(['198.51.100.21', '10.0.0.2, 10.0.0.2']), 429, 'the same client');
        // No header, or an entry that is no address: the proxy itself.
        assert.equal(await srv.signup(), 201);
        assert.equal(await srv.signup('not-an-address'), 201);
        assert.equal(await srv.signup(''), 429);
    } finally {
        await srv.p.stop();
    }
});

e2e('without CREDITD_TRUSTED_PROXIES, X-Forwarded-For is ignored', async () => {
    const srv = await serve({}, 'untrusted');
    try {
        assert.deepEqual([await srv.signup('203.0.113.1'), await srv.signup('203.0.113.2'), await srv.signup('203.0.113.3')], [201, 201, 429]);
    } finally {
        await srv.p.stop();
    }
    // From a peer that is not listed, too.
    const other = await serve({ CREDITD_TRUSTED_PROXIES: '10.9.9.9' }, 'other-proxy');
    try {
        assert.deepEqual([await other.signup('203.0.113.1'), await other.signup('203.0.113.2'), await other.signup('203.0.113.3')], [201, 201, 429]);
    } finally {
        await other.p.stop();
    }
});

e2e('CREDITD_TRUSTED_PROXIES takes IP addresses only', async () => {
    for (const v of ['10.0.0.0/8', 'proxy.internal', '10.0.0.1,,10.0.0.2', Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}`).join(',')]) {
        const r = await runCreditd(['serve'], { CREDITD_LISTEN: `127.0.0.1:${await freePort()}`, CREDITD_DB: ':memory:', CREDITD_TRUSTED_PROXIES: v }, { timeoutMs: 8000 });
        assert.equal(r.code, 2, `${v}: ${r.output.slice(-300)}`);
        assert.match(r.output, /CREDITD_TRUSTED_PROXIES/);
    }
});
