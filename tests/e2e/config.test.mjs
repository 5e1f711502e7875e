// config.test.mjs - start-up: URL settings without a host stop start-up
// with a message naming the variable (they used to crash), a live Stripe
// key is never sent over plain http to a non-loopback host, and the
// SQLite database (and its -wal/-shm) is created private (0600); a port
// in use stops start-up; no libmicrohttpd noise; warnings for a missing
// admin key or web directory and a live key off api.stripe.com; a
// non-zero test clock offset warned about and shown in /metrics; static
// pages logged with their path.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, rand, runCreditd, freePort, Proc, waitReady, waitFor, httpRequest } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function baseEnv() {
    return {
        CREDITD_LISTEN: `127.0.0.1:${await freePort()}`,
        CREDITD_DB: ':memory:',
        CREDITD_ADMIN_KEY: `cdk_e2e_${rand(16)}`,
    };
}

/** Runs `creditd serve` with env; asserts it stops at once, naming name. */
async function expectRefused(env, name, label) {
    const r = await runCreditd(['serve'], { ...(await baseEnv()), ...env }, { timeoutMs: 8000 });
    assert.notEqual(r.signal, 'timeout', `${label}: the server started anyway`);
    assert.equal(r.signal, null, `${label}: killed by ${r.signal}:\n${r.output.slice(-1500)}`);
    assert.notEqual(r.code, 0, `${label}: exit status`);
    assert.doesNotMatch(r.output, /AddressSanitizer|runtime error/, `${label}: sanitizer report`);
    assert.ok(r.output.includes(name), `${label}: message names ${name}:\n${r.output.slice(-500)}`);
    return r.output;
}

/** Starts `creditd serve` with env and waits until /healthz answers. */
async function startServe(env, label) {
    const port = await freePort();
    const log = path.join(tmp, `${label}-${rand(4)}.log`);
    const sys = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC' };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) sys[k] = process.env[k];
    const p = new Proc(label, ['serve'], { ...sys, ...(await baseEnv()), CREDITD_LISTEN: `127.0.0.1:${port}`, ...env }, log);
    p.start();
    await waitReady(p, `http://127.0.0.1:${port}/healthz`);
    return p;
}

e2e('a URL setting without a host stops start-up with a message naming it', async () => {
    const cases = [
        ['CREDITD_BASE_URL', 'http://'],
        ['CREDITD_BASE_URL', 'https:///'],
        ['CREDITD_BASE_URL', 'http://:8080'],
        ['CREDITD_BASE_URL', 'http://user@host'],
        ['STRIPE_API_BASE', 'https:///'],
        ['STRIPE_API_BASE', 'http://'],
        ['STRIPE_API_BASE', 'http://127.0.0.1:99999'],
        ['CREDITD_ALLOWED_REDIRECT_ORIGINS', 'https://ok.example.com,http://'],
    ];
    for (const [name, value] of cases) {
        await expectRefused({ [name]: value }, name, `${name}=${value}`);
    }
}, { timeout: 120000 });

e2e('a live key with a plain-http STRIPE_API_BASE off loopback is refused at start-up', async () => {
    const live = `sk_live_${rand(12)}`;
    for (const base of ['http://10.1.2.3:12111', 'http://api.stripe.com', 'HTTP://stripe-proxy.internal:8080/v1']) {
        const out = await expectRefused({ STRIPE_SECRET_KEY: live, STRIPE_API_BASE: base }, 'STRIPE_API_BASE', base);
        assert.ok(!out.includes(live), 'the key is not in the message');
    }
    await expectRefused({ STRIPE_SECRET_KEY: `rk_live_${rand(12)}`, STRIPE_API_BASE: 'http://10.1.2.3' }, 'STRIPE_API_BASE', 'rk_live_');
    // Loopback (a local proxy or the sandbox), https, and test keys start.
    const ok = [
        { STRIPE_SECRET_KEY: live, STRIPE_API_BASE: 'http://127.0.0.1:12111' },
        { STRIPE_SECRET_KEY: live, STRIPE_API_BASE: 'http://[::1]:12111' },
        { STRIPE_SECRET_KEY: live, STRIPE_API_BASE: 'https://api.stripe.com' },
        { STRIPE_SECRET_KEY: `sk_test_${rand(12)}`, STRIPE_API_BASE: 'http://10.1.2.3:12111' },
    ];
    for (const env of ok) {
        const p = await startServe(env, 'live-ok');
        await p.stop();
    }
}, { timeout: 120000 });

function mode(file) {
    return fs.statSync(file).mode & 0o777;
}

e2e('the database is created 0600 (and its -wal/-shm); an existing file keeps its mode', async () => {
    const old = process.umask(0o022);
    try {
        const fresh = path.join(tmp, `fresh-${rand(4)}.db`);
        const r = await runCreditd(['migrate'], { ...(await baseEnv()), CREDITD_DB: fresh });
        assert.equal(r.code, 0, r.output);
        assert.equal(mode(fresh).toString(8), '600', 'fresh database file');

        const existing = path.join(tmp, `existing-${rand(4)}.db`);
        fs.writeFileSync(existing, '');
        fs.chmodSync(existing, 0o640);
        assert.equal((await runCreditd(['migrate'], { ...(await baseEnv()), CREDITD_DB: existing })).code, 0);
        assert.equal(mode(existing).toString(8), '640', 'existing file left alone');

        const served = path.join(tmp, `served-${rand(4)}.db`);
        const p = await startServe({ CREDITD_DB: served }, 'filemode');
        try {
            for (const f of [served, `${served}-wal`, `${served}-shm`]) {
                assert.equal(mode(f).toString(8), '600', f);
            }
        } finally {
            await p.stop();
        }
    } finally {
        process.umask(old);
    }
}, { timeout: 60000 });

/** The text of p's log so far. */
function logOf(p) {
    return fs.readFileSync(p.logFile, 'utf8');
}

e2e('a second server on a port already in use exits non-zero with a clear message', async () => {
    const first = await startServe({}, 'port-first');
    try {
        const listen = first.env.CREDITD_LISTEN;
        const r = await runCreditd(['serve'], { ...(await baseEnv()), CREDITD_LISTEN: listen }, { timeoutMs: 8000 });
        assert.notEqual(r.signal, 'timeout', `the second server started on ${listen}:\n${r.output.slice(-800)}`);
        assert.notEqual(r.code, 0, 'exit status');
        assert.match(r.output, /CREDITD_LISTEN/, r.output);
        assert.match(r.output, /already in use/, r.output);
        // The first one still answers, alone.
        const h = await httpRequest('GET', `http://${listen}/healthz`);
        assert.equal(h.status, 200);
    } finally {
        await first.stop();
    }
}, { timeout: 60000 });

e2e('start-up prints no libmicrohttpd warnings (thread per connection, a pool, the demo)', async () => {
    for (const threads of ['0', '1', '4']) {
        const p = await startServe({ CREDITD_HTTP_THREADS: threads, CREDITD_METRICS_LISTEN: `127.0.0.1:${await freePort()}` }, `mhd-${threads}`);
        await p.stop();
        assert.doesNotMatch(logOf(p), /mhd:|Zero size|EXTERNAL_LOGGER/, `CREDITD_HTTP_THREADS=${threads}:\n${logOf(p)}`);
    }
    const [port, sbport] = [await freePort(), await freePort()];
    const demoDir = path.join(tmp, `demo-${rand(4)}`);
    const sys = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC' };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) sys[k] = process.env[k];
    const demo = new Proc('demo', ['demo'], {
        ...sys, CREDITD_LISTEN: `127.0.0.1:${port}`, SANDBOX_LISTEN: `127.0.0.1:${sbport}`, CREDITD_DEMO_DIR: demoDir,
    }, path.join(tmp, `demo-${rand(4)}.log`));
    demo.start();
    try {
        await waitReady(demo, `http://127.0.0.1:${port}/healthz`);
    } finally {
        await demo.stop();
    }
    assert.doesNotMatch(logOf(demo), /mhd:|Zero size|EXTERNAL_LOGGER/, logOf(demo));
}, { timeout: 90000 });

e2e('creditd --version names the database schema version it brings', async () => {
    for (const arg of ['--version', 'version']) {
        const r = await runCreditd([arg], {});
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /^creditd \d+\.\d+\.\d+ \(database schema version \d+\)$/m, r.output);
    }
    const db = path.join(tmp, `version-${rand(4)}.db`);
    const m = await runCreditd(['migrate'], { ...(await baseEnv()), CREDITD_DB: db });
    const v = (await runCreditd(['--version'], {})).output.match(/schema version (\d+)/)[1];
    assert.match(m.output, new RegExp(`schema version ${v}\\b`), 'the same number migrate reports');
});

e2e('start-up warns about a missing admin key, a missing web directory, a live key off api.stripe.com, a plain-http public URL', async () => {
    const noKey = await startServe({ CREDITD_ADMIN_KEY: '' }, 'no-admin-key');
    await noKey.stop();
    assert.match(logOf(noKey), /warn .*CREDITD_ADMIN_KEY is not set/, logOf(noKey));

    const noWeb = await startServe({ CREDITD_WEB_DIR: path.join(tmp, 'no-such-dir') }, 'no-web-dir');
    await noWeb.stop();
    assert.match(logOf(noWeb), /warn .*CREDITD_WEB_DIR .*no-such-dir/, logOf(noWeb));

    const live = `sk_live_${rand(12)}`;
    const toSandbox = await startServe({ STRIPE_SECRET_KEY: live, STRIPE_API_BASE: 'http://127.0.0.1:12111' }, 'live-sandbox');
    await toSandbox.stop();
    assert.match(logOf(toSandbox), /warn .*live STRIPE_SECRET_KEY.*STRIPE_API_BASE/, logOf(toSandbox));
    assert.ok(!logOf(toSandbox).includes(live), 'the key is not logged');

    const plain = await startServe({ CREDITD_BASE_URL: 'http://credits.example.com' }, 'plain-http');
    await plain.stop();
    assert.match(logOf(plain), /warn .*CREDITD_BASE_URL http:\/\/credits\.example\.com is plain http/, logOf(plain));

    // The usual set-up says none of it (https, or http on loopback).
    const quiet = await startServe({ STRIPE_SECRET_KEY: live, STRIPE_API_BASE: 'https://api.stripe.com', CREDITD_BASE_URL: 'https://credits.example.com' }, 'quiet');
    await quiet.stop();
    assert.doesNotMatch(logOf(quiet), /CREDITD_ADMIN_KEY|CREDITD_WEB_DIR|STRIPE_API_BASE|CREDITD_BASE_URL/, logOf(quiet));
    const local = await startServe({}, 'quiet-local');
    await local.stop();
    assert.doesNotMatch(logOf(local), /CREDITD_BASE_URL/, logOf(local));
}, { timeout: 60000 });

/** GET /metrics of p with its server key: the test clock's gauge line. */
async function clockGauge(p) {
    const r = await httpRequest('GET', `http://${p.env.CREDITD_LISTEN}/metrics`, {
        headers: { Authorization: `Bearer ${p.env.CREDITD_ADMIN_KEY}` },
    });
    assert.equal(r.status, 200, r.text);
    return r.text.match(/^creditd_test_clock_offset_seconds .*$/m)?.[0];
}

e2e('a non-zero CREDITD_TEST_CLOCK_OFFSET is warned about at start-up and shown in /metrics; 0 says nothing', async () => {
    const ahead = await startServe({ CREDITD_TEST_CLOCK_OFFSET: '3600' }, 'clock-ahead');
    let gauge;
    try {
        gauge = await clockGauge(ahead);
    } finally {
        await ahead.stop();
    }
    const warned = logOf(ahead).match(/^.*warn .*CREDITD_TEST_CLOCK_OFFSET.*$/gm) || [];
    assert.equal(warned.length, 1, logOf(ahead));
    assert.match(warned[0], /CREDITD_TEST_CLOCK_OFFSET is 3600\b.*tests only/, warned[0]);
    assert.equal(gauge, 'creditd_test_clock_offset_seconds 3600');

    for (const [label, env] of [['clock-unset', {}], ['clock-zero', { CREDITD_TEST_CLOCK_OFFSET: '0' }]]) {
        const p = await startServe(env, label);
        try {
            gauge = await clockGauge(p);
        } finally {
            await p.stop();
        }
        assert.doesNotMatch(logOf(p), /CREDITD_TEST_CLOCK_OFFSET/, logOf(p));
        assert.equal(gauge, 'creditd_test_clock_offset_seconds 0', label);
    }
}, { timeout: 60000 });

e2e('a static page is logged with its path, not "-"', async () => {
    const p = await startServe({}, 'static-log');
    try {
        const listen = p.env.CREDITD_LISTEN;
        assert.equal((await httpRequest('GET', `http://${listen}/`)).status, 200);
        assert.equal((await httpRequest('GET', `http://${listen}/app.js`)).status, 200);
        assert.equal((await httpRequest('GET', `http://${listen}/no-such-page`)).status, 404);
        await waitFor(() => /GET \/no-such-page 404/.test(logOf(p)), 5000, { what: 'the 404 line' });
    } finally {
        await p.stop();
    }
    const log = logOf(p);
    assert.match(log, /GET \/ 200 \d+us req_/, log);
    assert.match(log, /GET \/app\.js 200 /, log);
    assert.doesNotMatch(log, /GET - /, log);
}, { timeout: 60000 });

e2e('the flood limits are checked at start-up, naming the variable', async () => {
    for (const [name, value] of [
        ['CREDITD_HTTP_MAX_CONNECTIONS', '8'],
        ['CREDITD_HTTP_MAX_CONNECTIONS', '100000'],
        ['CREDITD_HTTP_PER_ADDRESS', '-1'],
        ['CREDITD_HTTP_HEADER_TIMEOUT', 'soon'],
        ['CREDITD_HTTP_BODY_TIMEOUT', '3601'],
        ['CREDITD_HTTP_BODY_BUDGET_KB', '1.5'],
    ]) {
        await expectRefused({ [name]: value }, name, `${name}=${value}`);
    }
    // 0 turns each off (behind a proxy: CREDITD_HTTP_PER_ADDRESS=0).
    const p = await startServe({
        CREDITD_HTTP_PER_ADDRESS: '0', CREDITD_HTTP_HEADER_TIMEOUT: '0',
        CREDITD_HTTP_BODY_TIMEOUT: '0', CREDITD_HTTP_BODY_BUDGET_KB: '0',
    }, 'flood-off');
    await p.stop();
}, { timeout: 120000 });

e2e('an unknown CREDITD_* variable is warned about once at start-up, by name only, with the nearest setting', async () => {
    const secret = `sk_test_Zq9${rand(12)}`;
    const p = await startServe({
        CREDITD_STRIPE_SECRETKEY: secret, CREDITD_WRITE_BACH: '8', CREDITD_ZZQX_NOTHING_LIKE_IT: '1',
        // Read outside the settings table, or by the tools around creditd: known.
        CREDITD_SQL_TRACE: '', CREDITD_DEMO_DIR: tmp, CREDITD_URL: 'http://127.0.0.1:1', CREDITD_BIN: '/bin/true',
    }, 'unknown-names');
    await p.stop();
    const log = logOf(p);
    assert.ok(!log.includes(secret.slice(8)), 'the value is never logged');
    const warned = log.match(/^.*warn .*not a setting.*$/gm) || [];
    assert.equal(warned.length, 3, log);
    assert.match(log, /warn .*CREDITD_STRIPE_SECRETKEY is not a setting.*did you mean STRIPE_SECRET_KEY\?/);
    assert.match(log, /warn .*CREDITD_WRITE_BACH is not a setting.*did you mean CREDITD_WRITE_BATCH\?/);
    assert.match(log, /warn .*CREDITD_ZZQX_NOTHING_LIKE_IT is not a setting/);
    assert.doesNotMatch(log, /CREDITD_ZZQX_NOTHING_LIKE_IT[^\n]*did you mean/);
    assert.doesNotMatch(log, /CREDITD_(SQL_TRACE|DEMO_DIR|URL|BIN) is not/);
});

e2e('creditd config check: exit 0 when every CREDITD_* name is known, 1 naming the unknown ones, 2 for a bad value', async () => {
    const ok = await runCreditd(['config', 'check'], { CREDITD_WRITE_BATCH: '8', CREDITD_BIN: 'x' });
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /configuration ok/);
    const secret = `sk_test_Zq9${rand(12)}`;
    const bad = await runCreditd(['config', 'check'], { CREDITD_STRIPE_SECRETKEY: secret });
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, /CREDITD_STRIPE_SECRETKEY.*STRIPE_SECRET_KEY/);
    assert.ok(!bad.output.includes(secret.slice(8)), 'the value is never printed');
    const value = await runCreditd(['config', 'check'], { CREDITD_WRITE_BATCH: 'many' });
    assert.equal(value.code, 2, value.output);
    assert.match(value.output, /CREDITD_WRITE_BATCH/);
});
