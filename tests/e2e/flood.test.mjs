// flood.test.mjs - one client cannot take the server off the air: a
// per-address connection cap, absolute deadlines for a request's head and
// body (a trickling client is cut), a global cap answered 503 with
// Retry-After, a memory budget for unfinished bodies, and a webhook with a
// missing or malformed Stripe-Signature refused before its body is read.
// Other client addresses on loopback (127.0.0.2...) stand for other hosts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { useStack, e2e, expectError, freePort, httpRequest, waitFor } from './harness.mjs';

const HEADER_S = 4;
const BODY_S = 3;
const PER_ADDRESS = 64;
const MAX_CONNS = 100;
const BUDGET_KB = 4096;
const mport = await freePort();
const stack = useStack({
    serverEnv: {
        CREDITD_HTTP_PER_ADDRESS: PER_ADDRESS,
        CREDITD_HTTP_HEADER_TIMEOUT: HEADER_S,
        CREDITD_HTTP_BODY_TIMEOUT: BODY_S,
        CREDITD_HTTP_MAX_CONNECTIONS: MAX_CONNS,
        CREDITD_HTTP_BODY_BUDGET_KB: BUDGET_KB,
        CREDITD_METRICS_LISTEN: `127.0.0.1:${mport}`,
        CREDITD_LOG: 'info', // no line per cut connection
    },
});

/** The server's creditd_http_* samples for server="api", by name/reason. */
async function metrics() {
    const r = await httpRequest('GET', `http://127.0.0.1:${mport}/metrics`);
    assert.equal(r.status, 200);
    const m = { refused: {}, connections: 0, bodyBytes: 0 };
    for (const line of r.text.split('\n')) {
        let x = line.match(/^creditd_http_refused_total\{server="api",reason="(\w+)"\} (\S+)$/);
        if (x) m.refused[x[1]] = Number(x[2]);
        x = line.match(/^creditd_http_connections\{server="api"\} (\S+)$/);
        if (x) m.connections = Number(x[1]);
        x = line.match(/^creditd_http_body_bytes\{server="api"\} (\S+)$/);
        if (x) m.bodyBytes = Number(x[1]);
    }
    return m;
}

function rssKb() {
    const s = fs.readFileSync(`/proc/${stack.server.child.pid}/status`, 'utf8');
    return Number(s.match(/VmRSS:\s+(\d+) kB/)[1]);
}

/**
 * Opens n connections from localAddress that each write `head` and then
 * one byte every tickMs, never finishing. Resolves to the list of
 * {opened, closed} times once every socket is connected or closed.
 */
async function trickle(n, localAddress, head, tickMs = 500) {
    const socks = [];
    for (let i = 0; i < n; i++) {
        const s = net.connect({ host: '127.0.0.1', port: stack.serverPort, localAddress });
        const rec = { sock: s, opened: null, closed: null };
        s.on('connect', () => {
            rec.opened = Date.now();
            if (head) s.write(head);
        });
        s.on('error', () => {});
        s.on('close', () => {
            rec.closed = Date.now();
        });
        s.on('data', () => {});
        socks.push(rec);
    }
    const timer = setInterval(() => {
        for (const r of socks) if (r.opened && !r.closed && tickMs) r.sock.write('a');
    }, tickMs || 1000);
    socks.stop = () => {
        clearInterval(timer);
        for (const r of socks) r.sock.destroy();
    };
    await waitFor(() => socks.every((r) => r.opened || r.closed), 20000, { what: 'all connected or closed' });
    return socks;
}

function percentile(xs, p) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

e2e('2,000 trickling connections from one address: another client keeps its answers, the tricklers are cut, memory stays bounded', async (t) => {
    const rss0 = rssKb();
    const before = await metrics();
    const socks = await trickle(2000, '127.0.0.2', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: ');
    try {
        // The per-address cap holds them to PER_ADDRESS at once.
        const held = await waitFor(async () => {
            const m = await metrics();
            return m.connections >= PER_ADDRESS && m;
        }, 10000, { what: 'the tricklers held' });
        assert.ok(held.connections <= PER_ADDRESS + 2, `open connections ${held.connections}`);
        assert.ok((held.refused.per_address || 0) - (before.refused.per_address || 0) >= 2000 - PER_ADDRESS - 10,
            `per_address refusals: ${JSON.stringify(held.refused)}`);

        // A normal client on 127.0.0.1, while they trickle.
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const lat = [];
        let maxRss = rssKb();
        for (let i = 0; i < 300; i++) {
            const t0 = process.hrtime.bigint();
            const r = await httpRequest('GET', `${stack.baseUrl}/healthz`, { agent });
            lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
            assert.equal(r.status, 200, r.text);
            if (i % 50 === 0) maxRss = Math.max(maxRss, rssKb());
        }
        agent.destroy();
        const stillHeld = socks.filter((r) => r.opened && !r.closed).length;
        assert.ok(stillHeld >= PER_ADDRESS, `the flood was still on during the measurement (${stillHeld} open)`);
        const p99 = percentile(lat, 99);
        t.diagnostic(`normal client: p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; RSS +${maxRss - rss0} kB`);
        // The bar (issue 8): the normal client's p99 under 100 ms
        // while the flood holds its connections.
        assert.ok(p99 < 100, `p99 ${p99.toFixed(1)} ms (p50 ${percentile(lat, 50).toFixed(1)} ms)`);
        assert.ok(maxRss - rss0 < 64 * 1024, `RSS grew ${maxRss - rss0} kB`);

        // Each held trickler is cut at the head deadline, trickling or not.
        await waitFor(() => socks.every((r) => r.closed), 10 * HEADER_S * 1000, { what: 'every trickler closed' });
        const lives = socks.map((r) => r.closed - r.opened).filter((ms) => ms > 1000);
        assert.ok(lives.length >= PER_ADDRESS - 2 && lives.length <= PER_ADDRESS + 2, `held: ${lives.length}`);
        for (const ms of lives) {
            // opened is when this busy client saw the connect: up to ~1 s late.
            // At the deadline, not before; late by at most another deadline.
            assert.ok(ms >= HEADER_S * 1000 - 1000 && ms <= 2 * HEADER_S * 1000, `cut after ${ms} ms`);
        }
        const after = await metrics();
        assert.ok((after.refused.header_timeout || 0) - (before.refused.header_timeout || 0) >= PER_ADDRESS - 2,
            JSON.stringify(after.refused));
        assert.equal(after.connections, 0);
    } finally {
        socks.stop();
    }
}, { timeout: 120000 });

e2e('past the connection cap a request is answered 503 server_busy with Retry-After, not dropped', async () => {
    const idle = [await trickle(50, '127.0.0.3', '', 0), await trickle(50, '127.0.0.4', '', 0)];
    try {
        await waitFor(async () => (await metrics()).connections >= MAX_CONNS, 10000, { what: 'the server full' });
        const r = await httpRequest('GET', `${stack.baseUrl}/healthz`, { localAddress: '127.0.0.5' });
        expectError(r, 503, 'server_busy');
        assert.equal(r.headers['retry-after'], '1');
        assert.ok((await metrics()).refused.busy >= 1);
    } finally {
        for (const socks of idle) socks.stop();
    }
    // Room again once they are gone.
    await waitFor(async () => (await metrics()).connections === 0, 10000, { what: 'connections closed' });
    const r = await httpRequest('GET', `${stack.baseUrl}/healthz`, { localAddress: '127.0.0.5' });
    assert.equal(r.status, 200);
});

/** A webhook head declaring a body of len bytes, with a well-formed but
 * wrong signature. */
function webhookHead(len, sig = `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`) {
    return `POST /v1/webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        (sig === null ? '' : `Stripe-Signature: ${sig}\r\n`) + `Content-Length: ${len}\r\n\r\n`;
}

/** Sends raw bytes on a new connection; resolves to the reply text once
 * the server closes or a full reply is in. */
function rawExchange(bytes, localAddress = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: stack.serverPort, localAddress });
        let text = '';
        s.on('connect', () => s.write(bytes));
        s.on('data', (d) => {
            text += d.toString('latin1');
            const m = text.match(/\r\nContent-Length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/i);
            if (m && Buffer.byteLength(m[2], 'latin1') >= Number(m[1])) {
                s.destroy();
                resolve(text);
            }
        });
        s.on('error', (e) => (text ? resolve(text) : reject(e)));
        s.on('close', () => resolve(text));
    });
}

function parseReply(text) {
    const [head, body] = text.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), headers: head, json: JSON.parse(body) };
}

e2e('a webhook without a well-formed Stripe-Signature is refused from its head, before its body is sent', async () => {
    for (const sig of [null, '', 't=abc,v1=00', 'v1=' + '0'.repeat(64), 'garbage']) {
        // Only the head goes out: the 1 MiB body is never sent.
        const r = parseReply(await rawExchange(webhookHead(1024 * 1024, sig)));
        assert.equal(r.status, 400, `${sig}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error.code, 'invalid_signature', sig);
    }
    // A well-formed header still gets its body read and verified.
    const body = '{"id":"evt_x"}';
    const r = parseReply(await rawExchange(webhookHead(body.length) + body));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'invalid_signature');
    assert.match(r.json.error.message, /No signatures found/);
});

e2e('unfinished bodies share a memory budget: past it 503 server_busy, and a stalled body is cut at its deadline', async () => {
    const rss0 = rssKb();
    const MiB = 1024 * 1024;
    const holders = [];
    try {
        for (let i = 0; i < 4; i++) {
            const s = net.connect({ host: '127.0.0.1', port: stack.serverPort, localAddress: '127.0.0.6' });
            const rec = { sock: s, closed: null, opened: null };
            s.on('error', () => {});
            s.on('close', () => (rec.closed = Date.now()));
            s.on('connect', () => {
                rec.opened = Date.now();
                s.write(webhookHead(MiB) + 'x'.repeat(MiB - 1));
            });
            holders.push(rec);
        }
        await waitFor(async () => (await metrics()).bodyBytes >= 4 * MiB - 4, 15000, { what: 'four bodies held' });
        const r = parseReply(await rawExchange(webhookHead(MiB), '127.0.0.7'));
        assert.equal(r.status, 503);
        assert.equal(r.json.error.code, 'server_busy');
        assert.match(r.headers, /\r\nRetry-After: 1\r\n/i);
        assert.ok(rssKb() - rss0 < 48 * 1024, `RSS grew ${rssKb() - rss0} kB`);
        // The stalled bodies are cut BODY_S after their heads; the budget returns.
        await waitFor(() => holders.every((h) => h.closed), 10 * BODY_S * 1000, { what: 'stalled bodies cut' });
        for (const h of holders) assert.ok(h.closed - h.opened >= BODY_S * 1000 - 500, `${h.closed - h.opened} ms`);
        const m = await waitFor(async () => {
            const x = await metrics();
            return x.bodyBytes === 0 && x;
        }, 5000, { what: 'budget returned' });
        assert.ok(m.refused.body_timeout >= 4, JSON.stringify(m.refused));
        assert.ok(m.refused.body_budget >= 1, JSON.stringify(m.refused));
        const ok = parseReply(await rawExchange(webhookHead(2) + '{}', '127.0.0.7'));
        assert.equal(ok.status, 400, 'a body fits again (refused by its signature only)');
    } finally {
        for (const h of holders) h.sock.destroy();
    }
}, { timeout: 90000 });
