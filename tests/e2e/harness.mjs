// harness.mjs - the end-to-end harness: starts the real `creditd sandbox`
// and `creditd serve` on loopback (free ports, a temp dir per stack, fresh
// keys per run), talks to them over plain node:http, and always kills what it
// started. Nothing here imitates creditd; the only stand-in is an optional
// webhook relay that records what the sandbox delivers (and may forward it).
//
// Usage in a test file:
//   const stack = useStack({ relay: true });   // registers before/after hooks
//   e2e('name', async () => { const u = await stack.signup(); ... });
//
// Environment: CREDITD_BIN (default <repo>/build/creditd), E2E_KEEP_TMP=1 to
// keep temp dirs, E2E_VERBOSE=1 to echo every log tail even on success.
// ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS pass through to the
// processes; ASAN_OPTIONS defaults to scripts/test.sh's (an e2e file run by
// hand against build-asan/ checks what the suite checks).

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import Stripe from 'stripe';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const BIN = process.env.CREDITD_BIN || path.join(REPO, 'build', 'creditd');

process.env.ASAN_OPTIONS ??= 'detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1';

export const CARD_OK = '4242424242424242';
export const CARD_DECLINE = '4000000000000002';

const stripeSdk = new Stripe('sk_test_e2e_signing_only');

// ---------------------------------------------------------------- small utils

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function rand(n = 8) {
    return crypto.randomBytes(n).toString('hex');
}

/** A port that was free a moment ago on 127.0.0.1 (bind :0, read, close). */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

/** Distinct free ports (each probed while the others are still held). */
export async function freePorts(n) {
    const held = [];
    try {
        for (let i = 0; i < n; i++) {
            const srv = net.createServer();
            await new Promise((res, rej) => {
                srv.on('error', rej);
                srv.listen(0, '127.0.0.1', res);
            });
            held.push(srv);
        }
        return held.map((s) => s.address().port);
    } finally {
        await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
}

/**
 * Polls fn() (sync or async) every intervalMs until it returns a truthy
 * value, which is returned. Throws after timeoutMs with the last value or
 * error in the message. Exceptions from fn count as "not yet".
 */
export async function waitFor(fn, timeoutMs = 10000, { intervalMs = 50, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    let lastErr;
    for (;;) {
        try {
            last = await fn();
            lastErr = undefined;
            if (last) return last;
        } catch (e) {
            lastErr = e;
        }
        if (Date.now() >= deadline) break;
        await sleep(intervalMs);
    }
    const detail = lastErr ? `last error: ${lastErr.message}` : `last value: ${safeJson(last)}`;
    throw new Error(`waitFor(${what}) timed out after ${timeoutMs} ms; ${detail}`);
}

function safeJson(v) {
    try {
        const s = JSON.stringify(v);
        return s && s.length > 600 ? s.slice(0, 600) + '...' : s;
    } catch {
        return String(v);
    }
}

/** The last `lines` lines of a file ('' if it can't be read). */
export function tailFile(file, lines = 60) {
    try {
        const st = fs.statSync(file);
        const len = Math.min(st.size, 64 * 1024);
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(len);
        fs.readSync(fd, buf, 0, len, st.size - len);
        fs.closeSync(fd);
        return buf.toString('utf8').split('\n').slice(-lines).join('\n');
    } catch {
        return '';
    }
}

/** A log file's size in bytes now: a mark for stripeCallsSince. */
export function logMark(file) {
    return fs.statSync(file).size;
}

/**
 * The Stripe API calls a server logged after mark (one debug line per
 * attempt, src/stripe/client.c; the harness runs creditd at debug). A
 * call made while answering a request is logged before its reply, so
 * this tells "answered without Stripe" apart from "answered after a
 * Stripe call" however slow the machine.
 */
export function stripeCallsSince(file, mark) {
    const text = fs.readFileSync(file).subarray(mark).toString('utf8');
    return text.split('\n').filter((l) => /\bstripe\b.*\b(GET|POST|DELETE) \/v1\/\S* -> -?\d+ attempt \d+/.test(l));
}

/** Sanitizer findings in a log file (a few lines around each), or ''. */
export function sanitizerReport(file) {
    let text;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch {
        return '';
    }
    const lines = text.split('\n');
    const out = [];
    lines.forEach((l, i) => {
        if (/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)/.test(l)) {
            out.push(`${path.basename(file)}:${i + 1}: ${lines.slice(i, i + 8).join('\n    ')}`);
        }
    });
    return out.slice(0, 5).join('\n');
}

/** RFC 3339 UTC, second resolution ("2026-11-21T20:30:00Z"). */
export function rfc3339(ms) {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// --------------------------------------------------------------- HTTP client

/**
 * One HTTP request over node:http. body: object (sent as JSON), string or
 * Buffer (sent raw), or undefined. Resolves {status, headers, text, json}
 * (json null when the body isn't JSON). A response that arrives before the
 * upload finished (e.g. an early 413) wins over the write error that follows.
 * localAddress binds the client socket (e.g. '127.0.0.2': another client
 * address on loopback, for the per-address limits).
 */
export function httpRequest(method, url, { headers = {}, body, agent, timeoutMs = 15000, localAddress } = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const hdrs = { ...headers };
        let payload;
        if (body !== undefined) {
            if (Buffer.isBuffer(body) || typeof body === 'string') {
                payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
            } else {
                payload = Buffer.from(JSON.stringify(body), 'utf8');
            }
            if (!Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type')) {
                hdrs['Content-Type'] = 'application/json';
            }
            hdrs['Content-Length'] = String(payload.length);
        }
        let settled = false;
        let gotResponse = false;
        const req = http.request(
            {
                method,
                hostname: u.hostname,
                port: u.port,
                path: u.pathname + u.search,
                headers: hdrs,
                agent: agent === undefined ? false : agent,
                ...(localAddress ? { localAddress } : {}),
            },
            (res) => {
                gotResponse = true;
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('error', (e) => finish(e));
                res.on('end', () => {
                    const text = Buffer.concat(chunks).toString('utf8');
                    let json = null;
                    if (text.length) {
                        try {
                            json = JSON.parse(text);
                        } catch {
                            json = null;
                        }
                    }
                    finish(null, { status: res.statusCode, headers: res.headers, text, json });
                });
            },
        );
        const timer = setTimeout(() => {
            req.destroy(new Error(`${method} ${u.pathname} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        function finish(err, val) {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (err) reject(err);
            else resolve(val);
        }
        req.on('error', (e) => {
            // EPIPE/ECONNRESET after the server already answered: keep the answer.
            if (gotResponse) return;
            finish(e);
        });
        if (payload) req.end(payload);
        else req.end();
    });
}

// ------------------------------------------------------------ process control

// Every child we start, so a crash of the test process still kills them.
const liveChildren = new Set();
function killAllChildren() {
    for (const c of liveChildren) {
        try {
            c.kill('SIGKILL');
        } catch {
            /* already gone */
        }
    }
}
process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
        killAllChildren();
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
}

// Every log file of the stacks alive in this process, for dumping on failure.
const liveLogs = new Map(); // name -> file

function baseEnv() {
    // Built from scratch: nothing from the developer's shell (no real Stripe
    // key, no CREDITD_* overrides) leaks into the processes under test.
    const env = {
        PATH: process.env.PATH || '/usr/bin:/bin',
        HOME: process.env.HOME || os.tmpdir(),
        LANG: 'C.UTF-8',
        TZ: 'UTC',
    };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
        if (process.env[k]) env[k] = process.env[k];
    }
    return env;
}

export class Proc {
    constructor(name, args, env, logFile, bin = BIN) {
        this.bin = bin;
        this.name = name;
        this.args = args;
        this.env = env;
        this.logFile = logFile;
        this.child = null;
        this.exit = null; // {code, signal} once it exits
    }

    start() {
        if (!fs.existsSync(this.bin)) {
            throw new Error(`creditd binary not found at ${this.bin} (build it, or set CREDITD_BIN)`);
        }
        const fd = fs.openSync(this.logFile, 'a');
        fs.writeSync(fd, `\n==== ${new Date().toISOString()} start ${this.name}: ${path.basename(this.bin)} ${this.args.join(' ')}\n`);
        this.exit = null;
        const child = spawn(this.bin, this.args, { env: this.env, stdio: ['ignore', fd, fd] });
        fs.closeSync(fd);
        this.child = child;
        liveChildren.add(child);
        this.exited = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                liveChildren.delete(child);
                this.exit = { code, signal };
                resolve(this.exit);
            });
            child.on('error', (e) => {
                liveChildren.delete(child);
                this.exit = { code: -1, signal: null, error: e };
                resolve(this.exit);
            });
        });
    }

    get running() {
        return this.child !== null && this.exit === null;
    }

    /** Sends sig and waits (bounded) for the exit; SIGKILL if it lingers. */
    async stop(sig = 'SIGTERM', graceMs = 5000) {
        if (!this.running) return this.exit;
        this.child.kill(sig);
        const t = await Promise.race([this.exited, sleep(graceMs).then(() => null)]);
        if (t) return t;
        this.child.kill('SIGKILL');
        return this.exited;
    }

    kill9() {
        return this.stop('SIGKILL', 5000);
    }
}

export async function waitReady(proc, url, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let lastErr = 'no answer';
    while (Date.now() < deadline) {
        if (proc.exit) {
            throw new Error(
                `${proc.name} exited during start-up (${safeJson(proc.exit)}); log tail:\n${tailFile(proc.logFile, 40)}`,
            );
        }
        try {
            const r = await httpRequest('GET', url, { timeoutMs: 1000 });
            if (r.status === 200) return;
            lastErr = `status ${r.status}`;
        } catch (e) {
            lastErr = e.message;
        }
        await sleep(50);
    }
    throw new Error(`${proc.name} not ready at ${url} after ${timeoutMs} ms (${lastErr}); log tail:\n${tailFile(proc.logFile, 40)}`);
}

/**
 * Runs `creditd <args>` to completion with env (on top of a clean base)
 * and returns {code, signal, output}. Killed after timeoutMs.
 */
export async function runCreditd(args, env, { timeoutMs = 10000 } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-run-'));
    const log = path.join(dir, 'out.log');
    const p = new Proc(`run-${args.join('-')}`, args, { ...baseEnv(), ...env }, log);
    try {
        p.start();
        const ex = await Promise.race([p.exited, sleep(timeoutMs).then(() => null)]);
        if (!ex) {
            await p.stop('SIGKILL');
            return { code: null, signal: 'timeout', output: fs.readFileSync(log, 'utf8') };
        }
        return { code: ex.code, signal: ex.signal, output: fs.readFileSync(log, 'utf8') };
    } finally {
        await p.stop('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// --------------------------------------------------------------- the relay

/**
 * A loopback HTTP endpoint the sandbox delivers webhooks to, so a test can
 * see exactly what the sandbox sent. When `forward` is set it passes the raw
 * body and Stripe-Signature on to the server and answers with the server's
 * status (so the sandbox's retry logic sees the truth).
 */
export class Relay {
    constructor() {
        this.events = []; // {headers, raw, json, at}
        this.forwardTo = null;
        this.server = null;
        this.port = 0;
    }

    async start() {
        this.server = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', async () => {
                const raw = Buffer.concat(chunks);
                let json = null;
                try {
                    json = JSON.parse(raw.toString('utf8'));
                } catch {
                    json = null;
                }
                this.events.push({ headers: req.headers, raw, json, at: Date.now() });
                if (!this.forwardTo) {
                    res.writeHead(200, { 'Content-Type': 'application/json' });
                    res.end('{"received":true}');
                    return;
                }
                try {
                    const r = await httpRequest('POST', this.forwardTo, {
                        body: raw,
                        headers: {
                            'Content-Type': 'application/json',
                            'Stripe-Signature': req.headers['stripe-signature'] || '',
                        },
                    });
                    res.writeHead(r.status, { 'Content-Type': 'application/json' });
                    res.end(r.text);
                } catch (e) {
                    res.writeHead(502);
                    res.end();
                }
            });
        });
        await new Promise((resolve, reject) => {
            this.server.on('error', reject);
            this.server.listen(0, '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
        return this;
    }

    get url() {
        return `http://127.0.0.1:${this.port}/webhook`;
    }

    /** Events of a type, optionally for one data.object.id. */
    find(type, objectId) {
        return this.events
            .map((e) => e.json)
            .filter((j) => j && j.type === type && (!objectId || (j.data && j.data.object && j.data.object.id === objectId)));
    }

    async stop() {
        if (!this.server) return;
        this.server.closeAllConnections?.();
        await new Promise((r) => this.server.close(r));
        this.server = null;
    }
}

// ------------------------------------------------------------------ a stack

/**
 * A sandbox plus a server, wired together, in its own temp dir.
 * opts:
 *   sandbox: false          no sandbox (STRIPE_API_BASE points at a closed port)
 *   relay: true             sandbox delivers to a recording relay, not to the server
 *   relayForward: true      ... and the relay forwards to the server
 *   stripeSecret: false     start the server without STRIPE_SECRET_KEY
 *   webhookSecret: false    start the server without STRIPE_WEBHOOK_SECRET
 *   serverEnv: {...}        extra/overriding env for the server (value null deletes)
 *   sandboxEnv: {...}       extra/overriding env for the sandbox
 */
/** url (postgres://user@host:port/db?params) naming database db. */
function pgUrlWithDb(url, db) {
    const u = new URL(url);
    u.pathname = `/${db}`;
    return u.toString();
}

/** Runs one statement on the CD_E2E_PG_URL server (psql, bounded). */
function pgSql(sql) {
    execFileSync('psql', [process.env.CD_E2E_PG_URL, '-qAtc', sql], {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 30000,
    });
}

export class Stack {
    constructor(opts = {}) {
        this.opts = opts;
        this.id = rand(4);
        this.dir = null;
        this.adminKey = `cdk_e2e_${rand(24)}`;
        this.stripeKey = `sk_test_e2e${rand(12)}`;
        this.publishableKey = `pk_test_e2e${rand(12)}`;
        this.webhookSecret = `whsec_e2e${rand(16)}`;
        this.sandbox = null;
        this.server = null;
        this.relay = null;
    }

    get baseUrl() {
        return `http://127.0.0.1:${this.serverPort}`;
    }

    get sandboxUrl() {
        return `http://127.0.0.1:${this.sandboxPort}`;
    }

    /** The server's CREDITD_DB: a SQLite file in the stack's dir, or with
     * CD_E2E_PG_URL (a PostgreSQL server, scripts/pg_cluster.sh) a fresh
     * database of its own on that server. */
    get dbPath() {
        if (this.pgDb) return pgUrlWithDb(process.env.CD_E2E_PG_URL, this.pgDb);
        return path.join(this.dir, 'creditd.db');
    }

    async start() {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-e2e-'));
        if (process.env.CD_E2E_PG_URL) {
            this.pgDb = `creditd_e2e_${process.pid}_${this.id}_${rand(6).toLowerCase()}`;
            pgSql(`CREATE DATABASE ${this.pgDb}`);
        }
        [this.serverPort, this.sandboxPort] = await freePorts(2);
        const o = this.opts;
        if (o.relay || o.relayForward) {
            this.relay = await new Relay().start();
            if (o.relayForward) this.relay.forwardTo = `${this.baseUrl}/v1/webhooks/stripe`;
        }

        const sbEnv = {
            ...baseEnv(),
            SANDBOX_LISTEN: `127.0.0.1:${this.sandboxPort}`,
            SANDBOX_WEBHOOK_URL: this.relay ? this.relay.url : `${this.baseUrl}/v1/webhooks/stripe`,
            SANDBOX_WEBHOOK_SECRET: this.webhookSecret,
            SANDBOX_PUBLIC_URL: this.sandboxUrl,
            CREDITD_LOG: 'debug',
        };
        applyOverrides(sbEnv, o.sandboxEnv);
        this.sandbox = new Proc(`sandbox-${this.id}`, ['sandbox'], sbEnv, path.join(this.dir, 'sandbox.log'));

        const svEnv = {
            ...baseEnv(),
            CREDITD_LISTEN: `127.0.0.1:${this.serverPort}`,
            CREDITD_DB: this.dbPath,
            CREDITD_ADMIN_KEY: this.adminKey,
            CREDITD_BASE_URL: this.baseUrl,
            STRIPE_SECRET_KEY: this.stripeKey,
            STRIPE_PUBLISHABLE_KEY: this.publishableKey,
            STRIPE_WEBHOOK_SECRET: this.webhookSecret,
            STRIPE_API_BASE: this.sandboxUrl,
            CREDITD_LOG: 'debug',
            // No background reconciliation: a test decides what creditd
            // learns and when (POST /v1/admin/reconcile, or serverEnv).
            CREDITD_RECONCILE_INTERVAL: '0',
            // A retry after a kill -9 waits for the dead claim's lease;
            // live requests renew theirs, so a short one is safe here.
            CREDITD_IDEM_LEASE_MS: '2000',
            // Every test client is on 127.0.0.1 (300 concurrent debits in
            // concurrency.test.mjs): no per-address cap unless a test sets
            // one (flood.test.mjs).
            CREDITD_HTTP_PER_ADDRESS: '0',
        };
        if (o.stripeSecret === false) delete svEnv.STRIPE_SECRET_KEY;
        if (o.webhookSecret === false) delete svEnv.STRIPE_WEBHOOK_SECRET;
        applyOverrides(svEnv, o.serverEnv);
        this.server = new Proc(`server-${this.id}`, ['serve'], svEnv, path.join(this.dir, 'server.log'));

        liveLogs.set(this.sandbox.name, this.sandbox.logFile);
        liveLogs.set(this.server.name, this.server.logFile);

        if (o.sandbox !== false) await this.startSandbox();
        await this.startServer();
        return this;
    }

    async startSandbox() {
        this.sandbox.start();
        await waitReady(this.sandbox, `${this.sandboxUrl}/_sandbox/health`);
    }

    async startServer() {
        // After a kill -9 the port may linger for a moment: retry a few times.
        let lastErr;
        for (let attempt = 0; attempt < 5; attempt++) {
            this.server.start();
            try {
                await waitReady(this.server, `${this.baseUrl}/healthz`);
                return;
            } catch (e) {
                lastErr = e;
                const exited = this.server.exit !== null;
                await this.server.stop('SIGKILL');
                if (!exited) throw e; // up but never healthy: retrying won't help
                await sleep(200);
            }
        }
        throw lastErr;
    }

    /** kill -9 the server (no chance to flush anything). */
    async killServer() {
        await this.server.kill9();
    }

    /** kill -9 and start again on the same port and database. */
    async restartServer({ graceful = false } = {}) {
        if (graceful) await this.server.stop('SIGTERM');
        else await this.server.kill9();
        await this.startServer();
    }

    async stopSandbox() {
        await this.sandbox.stop('SIGTERM');
    }

    async restartSandbox() {
        await this.sandbox.stop('SIGTERM');
        await this.startSandbox();
    }

    /**
     * Stops everything and removes the temp dir. Returns the sanitizer
     * reports (ASan/UBSan/LSan) found in the logs, '' when clean; the temp
     * dir is kept when there are any.
     */
    async stop() {
        const procs = [this.server, this.sandbox].filter(Boolean);
        await Promise.all(procs.map((p) => p.stop('SIGTERM', 3000)));
        if (this.relay) await this.relay.stop();
        for (const p of procs) liveLogs.delete(p.name);
        const reports = procs.map((p) => sanitizerReport(p.logFile)).filter(Boolean).join('\n');
        if (this.dir && !process.env.E2E_KEEP_TMP && !reports) {
            fs.rmSync(this.dir, { recursive: true, force: true });
            if (this.pgDb) pgSql(`DROP DATABASE IF EXISTS ${this.pgDb}`);
        }
        return reports;
    }

    logTails(lines = 60) {
        const out = [];
        for (const p of [this.server, this.sandbox]) {
            if (p) out.push(`---- ${p.name} (${p.logFile}) ----\n${tailFile(p.logFile, lines)}`);
        }
        return out.join('\n');
    }

    // ---------------------------------------------------------- API helpers

    /**
     * Calls the creditd API. opts: token (account token), key (server key
     * string, or true for this stack's admin key), account (Creditd-Account),
     * idem (Idempotency-Key), body, headers, agent, localAddress (the
     * client address to connect from, e.g. '127.0.0.2').
     */
    api(method, p, { token, key, account, idem, body, headers = {}, agent, timeoutMs, localAddress } = {}) {
        const h = { ...headers };
        if (token) h.Authorization = `Bearer ${token}`;
        if (key) h.Authorization = `Bearer ${key === true ? this.adminKey : key}`;
        if (account) h['Creditd-Account'] = account;
        if (idem !== undefined) h['Idempotency-Key'] = idem;
        return httpRequest(method, this.baseUrl + p, { headers: h, body, agent, timeoutMs, localAddress });
    }

    /** Admin call with the server key. */
    admin(method, p, opts = {}) {
        return this.api(method, p, { ...opts, key: true });
    }

    /** Account endpoint reached with the server key + Creditd-Account. */
    asServer(accountId, method, p, opts = {}) {
        return this.api(method, p, { ...opts, key: true, account: accountId });
    }

    /** A fresh account: {id, email, password, token, account}. */
    async signup({ email, password } = {}) {
        email = email || `e2e-${rand(6)}@example.com`;
        password = password || `pw-${rand(8)}`;
        const r = await this.api('POST', '/v1/auth/signup', { body: { email, password } });
        if (r.status !== 201 || !r.json || !r.json.token || !r.json.account) {
            throw new Error(`signup failed: ${r.status} ${r.text}`);
        }
        return { id: r.json.account.id, email, password, token: r.json.token, account: r.json.account };
    }

    /** How to reach a user's account: its token, or (an account the app
     * owns, {id, ext}) the server key with Creditd-Account. */
    auth(user) {
        if (user.token) return { token: user.token };
        return { key: true, account: user.ext ? `ext:${user.ext}` : user.id };
    }

    async balance(user) {
        const r = await this.api('GET', '/v1/balance', this.auth(user));
        if (r.status !== 200) throw new Error(`GET /v1/balance: ${r.status} ${r.text}`);
        return r.json.balance;
    }

    async list(user, p) {
        const sep = p.includes('?') ? '&' : '?';
        const r = await this.api('GET', `${p}${sep}limit=100`, this.auth(user));
        if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.text}`);
        return r.json.data;
    }

    async config() {
        const r = await this.api('GET', '/v1/config');
        if (r.status !== 200) throw new Error(`GET /v1/config: ${r.status} ${r.text}`);
        return r.json;
    }

    async grant(user, amount, description = 'e2e grant') {
        const r = await this.asServer(user.id, 'POST', '/v1/grants', { body: { amount, description } });
        if (r.status !== 201) throw new Error(`grant: ${r.status} ${r.text}`);
        return r.json;
    }

    /** POST /v1/checkout, asserting 201; returns the reply body. */
    async checkout(user, body) {
        const r = await this.api('POST', '/v1/checkout', { ...this.auth(user), body });
        if (r.status !== 201) throw new Error(`checkout ${safeJson(body)}: ${r.status} ${r.text}`);
        return r.json;
    }

    /** Polls GET /v1/checkout/{sid} until fulfilled; returns the reply. */
    async waitFulfilled(user, sessionId, timeoutMs = 10000) {
        return waitFor(
            async () => {
                const r = await this.api('GET', `/v1/checkout/${sessionId}`, this.auth(user));
                return r.status === 200 && r.json.fulfilled === true ? r.json : null;
            },
            timeoutMs,
            { what: `checkout ${sessionId} fulfilled` },
        );
    }

    /** The order with this id from GET /v1/orders (null if absent). */
    async order(user, orderId) {
        const orders = await this.list(user, '/v1/orders');
        return orders.find((o) => o.id === orderId) || null;
    }

    async waitOrderStatus(user, orderId, status, timeoutMs = 10000) {
        return waitFor(
            async () => {
                const o = await this.order(user, orderId);
                return o && o.status === status ? o : null;
            },
            timeoutMs,
            { what: `order ${orderId} ${status}` },
        );
    }

    // ------------------------------------------------------ sandbox helpers

    /** Calls the sandbox with a sk_test key (Stripe's own API paths). */
    stripe(method, p, { body, headers = {} } = {}) {
        const h = { Authorization: `Bearer ${this.stripeKey}`, ...headers };
        let b = body;
        if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
            b = new URLSearchParams(body).toString();
            h['Content-Type'] = 'application/x-www-form-urlencoded';
        }
        return httpRequest(method, this.sandboxUrl + p, { headers: h, body: b });
    }

    /** The sandbox's control endpoint: pay a session with a test card. */
    completeSession(sessionId, card = CARD_OK) {
        return httpRequest('POST', `${this.sandboxUrl}/_sandbox/checkout/${encodeURIComponent(sessionId)}/complete`, {
            body: { card },
        });
    }

    expireSession(sessionId) {
        return httpRequest('POST', `${this.sandboxUrl}/_sandbox/checkout/${encodeURIComponent(sessionId)}/expire`, {
            body: {},
        });
    }

    /**
     * Waits until the sandbox has no webhook delivery in flight or queued
     * (its `pending` count, which drops only once the receiver answered or
     * the retries ran out). Every event emitted by a sandbox call that has
     * returned is counted, so after this whatever creditd (or the relay)
     * does with those webhooks has been done: the condition to wait on
     * before asserting that a delivery changed nothing.
     */
    async webhooksDelivered(timeoutMs = 10000) {
        return waitFor(async () => {
            const r = await httpRequest('GET', `${this.sandboxUrl}/_sandbox/config`);
            return r.status === 200 && r.json.pending === 0 ? r.json : null;
        }, timeoutMs, { what: 'sandbox webhook deliveries done' });
    }

    async getSession(sessionId) {
        const r = await this.stripe('GET', `/v1/checkout/sessions/${encodeURIComponent(sessionId)}`);
        if (r.status !== 200) throw new Error(`sandbox GET session ${sessionId}: ${r.status} ${r.text}`);
        return r.json;
    }

    /** checkout + pay with 4242 + wait until fulfilled. Returns the checkout reply. */
    async buy(user, body, card = CARD_OK) {
        const co = await this.checkout(user, body);
        const r = await this.completeSession(co.session_id, card);
        if (r.status !== 200) throw new Error(`sandbox complete ${co.session_id}: ${r.status} ${r.text}`);
        await this.waitFulfilled(user, co.session_id);
        return co;
    }

    /**
     * With `relay: true`: a top-up checkout of `amount` paid at the
     * sandbox, its events held at the relay, undelivered. Returns the
     * checkout reply, the checkout.session.completed and charge.succeeded
     * events as the sandbox signed them, the PaymentIntent and charge ids.
     */
    async paidAtRelay(user, amount = 1000) {
        const co = await this.checkout(user, { kind: 'topup', amount_cents: amount });
        const r = await this.completeSession(co.session_id);
        if (r.status !== 200) throw new Error(`sandbox complete ${co.session_id}: ${r.status} ${r.text}`);
        const completed = await waitFor(() => this.relay.find('checkout.session.completed', co.session_id)[0], 10000, {
            what: 'checkout.session.completed at the relay',
        });
        const pi = completed.data.object.payment_intent;
        const piEvent = await waitFor(() => this.relay.find('payment_intent.succeeded', pi)[0], 10000, {
            what: 'payment_intent.succeeded at the relay',
        });
        const chargeId = piEvent.data.object.latest_charge;
        const charged = await waitFor(() => this.relay.find('charge.succeeded', chargeId)[0], 10000, {
            what: 'charge.succeeded at the relay',
        });
        return { co, completed, charged, pi, chargeId };
    }

    // ------------------------------------------------------ webhook helpers

    /**
     * Posts a webhook event to the server, signed the way Stripe signs.
     * event: object (JSON.stringify'd) or a raw string/Buffer payload.
     * opts: secret (default this stack's), timestamp (unix s), signature
     * (a full Stripe-Signature header to send instead), noSignature.
     */
    sendWebhook(event, { secret, timestamp, signature, noSignature = false, headers = {} } = {}) {
        const payload = typeof event === 'string' || Buffer.isBuffer(event) ? event.toString() : JSON.stringify(event);
        const h = { 'Content-Type': 'application/json', ...headers };
        if (!noSignature) {
            h['Stripe-Signature'] =
                signature ||
                signPayload(payload, secret || this.webhookSecret, timestamp);
        }
        return httpRequest('POST', `${this.baseUrl}/v1/webhooks/stripe`, { headers: h, body: payload });
    }
}

function applyOverrides(env, over) {
    if (!over) return;
    for (const [k, v] of Object.entries(over)) {
        if (v === null || v === undefined) delete env[k];
        else env[k] = String(v);
    }
}

/** Stripe-Signature for payload, exactly as the official SDK computes it. */
export function signPayload(payload, secret, timestamp) {
    const opts = { payload, secret };
    if (timestamp !== undefined) opts.timestamp = timestamp;
    return stripeSdk.webhooks.generateTestHeaderString(opts);
}

/** A Stripe event envelope around a data object. */
export function makeEvent(type, object, { id } = {}) {
    return {
        id: id || `evt_e2e_${rand(12)}`,
        object: 'event',
        api_version: '2026-07-29.dahlia',
        created: Math.floor(Date.now() / 1000),
        data: { object },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
    };
}

// ------------------------------------------------------------ test wiring

/**
 * Creates a Stack for this test file: started in before(), stopped in
 * after(). The returned object is the Stack (fields fill in at start).
 */
export function useStack(opts = {}) {
    const stack = new Stack(opts);
    before(async () => {
        try {
            await stack.start();
        } catch (e) {
            process.stderr.write(`\n[e2e] stack start failed: ${e.message}\n${stack.dir ? stack.logTails(80) : ''}\n`);
            await stack.stop().catch(() => {});
            throw e;
        }
    }, { timeout: 60000 });
    after(async () => {
        if (process.env.E2E_VERBOSE) process.stderr.write(stack.logTails(40) + '\n');
        const reports = await stack.stop();
        if (reports) throw new Error(`sanitizer reports in the logs (kept in ${stack.dir}):\n${reports}`);
    }, { timeout: 30000 });
    return stack;
}

/**
 * test() with a time bound and, when the test fails, the tail of every live
 * process log on stderr.
 */
export function e2e(name, fn, { timeout = 60000, skip, todo } = {}) {
    return test(name, { timeout, skip, todo }, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            dumpLogs(name);
            throw e;
        }
    });
}

export function dumpLogs(label) {
    const parts = [`\n[e2e] FAILED: ${label}`];
    for (const [name, file] of liveLogs) {
        parts.push(`---- ${name} (${file}) last lines ----\n${tailFile(file, 60)}`);
    }
    process.stderr.write(parts.join('\n') + '\n');
}

/** Asserts the API.md error shape and returns err.error. */
export function errorOf(r) {
    if (!r.json || typeof r.json.error !== 'object' || r.json.error === null) {
        throw new Error(`expected the API.md error shape, got ${r.status} ${r.text.slice(0, 300)}`);
    }
    return r.json.error;
}

export const ERROR_TYPES = [
    'invalid_request_error',
    'authentication_error',
    'permission_error',
    'not_found',
    'conflict',
    'payment_required',
    'rate_limit_error',
    'api_error',
];

/**
 * Asserts r is an error reply: the given status, the API.md shape, a known
 * type, and (when given) the code. Returns the error object.
 */
export function expectError(r, status, code, label = '') {
    const where = label ? `${label}: ` : '';
    assert.equal(r.status, status, `${where}expected ${status}${code ? ' ' + code : ''}, got ${r.status} ${r.text.slice(0, 300)}`);
    const e = errorOf(r);
    assert.ok(ERROR_TYPES.includes(e.type), `error.type ${e.type} is not one of API.md's`);
    assert.equal(typeof e.message, 'string', 'error.message is a string');
    assert.equal(typeof e.code, 'string', 'error.code is a string');
    if (code) assert.equal(e.code, code, `${where}error.code: ${r.text.slice(0, 300)}`);
    return e;
}

/** Asserts a 2xx-or-given status and returns json. */
export function expectStatus(r, status) {
    assert.equal(r.status, status, `expected ${status}, got ${r.status} ${r.text.slice(0, 400)}`);
    return r.json;
}
