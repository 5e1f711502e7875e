// nodes_mail.test.mjs - the "mail" lease moves to another node when its
// holder dies (issue 7): two `creditd serve` nodes on one PostgreSQL
// database.
//
//  - node A (its SMTP server accepts the connection and never answers)
//    sends a receipt: it takes the mail lease (creditd_lease_held{lease=
//    "mail"} 1) and stalls mid-send; it is killed -9 there, lease held;
//  - node B (a working SMTP sink) starts, more mail is queued (password
//    resets): while A's lease is live B is refused it (its gauge reads 0)
//    and sends nothing;
//  - B restarted with CREDITD_TEST_CLOCK_OFFSET past the lease's ttl
//    (CD_MAIL_BATCH x 30 + 300 = 900 s) takes the lease over and sends
//    every queued mail exactly once, A's receipt included.
// Delivery is at least once: a mail whose 250 came back just before its
// holder died is sent again by the next holder (at most twice per crash).
// Here A's SMTP server never took the message, so it arrives exactly once.
//
// Runs only with CD_E2E_PG_URL (scripts/test.sh's PostgreSQL pass).

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before } from 'node:test';
import { Stack, e2e, waitFor, expectStatus, rand } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const PG = !!process.env.CD_E2E_PG_URL;
const skip = PG ? false : 'needs CD_E2E_PG_URL (a PostgreSQL server)';

const FROM = 'billing@creditd.test';
const LEASE_TTL_S = 20 * 30 + 300; // CD_MAIL_BATCH x 30 + 300 (mail.c)
const MAIL = { CREDITD_MAIL_FROM: FROM, CREDITD_MAIL_POLL_MS: '100', CREDITD_MAIL_RETRY_BASE_MS: '200' };

/** An SMTP server that accepts connections and never says a word. */
class StallSink {
    constructor() {
        this.connections = 0;
        this.sockets = new Set();
        this.server = net.createServer((s) => {
            this.connections++;
            this.sockets.add(s);
            s.on('error', () => {});
            s.on('close', () => this.sockets.delete(s));
        });
    }

    start() {
        return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this)));
    }

    get url() {
        return `smtp://127.0.0.1:${this.server.address().port}`;
    }

    stop() {
        for (const s of this.sockets) s.destroy();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

const sink = new SmtpSink();
const stall = new StallSink();
let a;
let b;

before(async () => {
    if (!PG) return;
    await sink.start();
    await stall.start();
    a = new Stack({ serverEnv: { ...MAIL, CREDITD_SMTP_URL: stall.url } });
    await a.start();
}, { timeout: 60000 });

after(async () => {
    const reports = [];
    for (const n of [b, a]) if (n) reports.push(await n.stop());
    if (PG) {
        await sink.stop();
        await stall.stop();
    }
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

/** A node's mail lease gauge (undefined until it first tried) and sent count. */
async function mailState(n) {
    const r = await n.admin('GET', '/metrics', { timeoutMs: 3000 });
    assert.equal(r.status, 200);
    const lease = r.text.match(/^creditd_lease_held\{lease="mail"\} (\S+)$/m);
    const sent = r.text.match(/^creditd_mail_total\{outcome="sent"\} (\S+)$/m);
    return { lease: lease ? Number(lease[1]) : undefined, sent: sent ? Number(sent[1]) : 0 };
}

e2e('mail lease: the holder dies mid-send; no node sends while its lease is live; after the ttl another takes it over and sends every mail once', async (t) => {
    // 1. A sends a receipt: lease taken, send stuck at the SMTP greeting.
    const u = await a.signup();
    const p = (await a.config()).packages[0];
    await a.buy(u, { kind: 'package', package_id: p.id });
    await waitFor(async () => stall.connections > 0 && (await mailState(a)).lease === 1, 10000,
        { what: 'node A holds the mail lease and is mid-send' });
    await a.killServer();
    assert.equal(sink.messages.length, 0);

    // 2. B starts on the same database; more mail is queued through it.
    b = new Stack({
        sandbox: false,
        serverEnv: {
            ...MAIL,
            CREDITD_SMTP_URL: sink.url,
            CREDITD_DB: a.dbPath,
            STRIPE_API_BASE: a.sandboxUrl,
            STRIPE_SECRET_KEY: a.stripeKey,
            STRIPE_PUBLISHABLE_KEY: a.publishableKey,
            STRIPE_WEBHOOK_SECRET: a.webhookSecret,
            CREDITD_ADMIN_KEY: a.adminKey,
        },
    });
    b.adminKey = a.adminKey;
    await b.start();
    const emails = [];
    for (let i = 0; i < 3; i++) {
        const email = `nm-${rand(6)}@example.com`;
        expectStatus(await b.api('POST', '/v1/auth/signup', { body: { email, password: 'password-123' } }), 201);
        expectStatus(await b.api('POST', '/v1/password_reset', { body: { email } }), 202);
        emails.push(email);
    }
    // While A's lease is live B is refused it (its gauge appears, at 0)
    // and sends nothing.
    await waitFor(async () => (await mailState(b)).lease === 0, 10000, { what: 'node B refused the mail lease' });
    assert.equal((await mailState(b)).sent, 0);
    assert.equal(sink.messages.length, 0, 'a node sent mail while another held the lease');

    // 3. Past the ttl (B restarted with its clock ahead) B takes the lease
    //    over and sends all four, each once.
    b.server.env.CREDITD_TEST_CLOCK_OFFSET = String(LEASE_TTL_S + 60);
    await b.restartServer({ graceful: true });
    const all = [u.email, ...emails];
    await waitFor(async () => (await mailState(b)).sent >= all.length, 15000, { what: 'node B sends the queued mail' });
    const st = await mailState(b);
    assert.equal(st.lease, 1);
    assert.equal(st.sent, all.length);
    for (const e of all) assert.equal(sink.to(e).length, 1, `one mail to ${e}`);
    assert.equal(sink.messages.length, all.length);
    // A's receipt, in flight when it died: its SMTP server never took it,
    // so it arrives once (the design's bound is at least once, at most
    // twice for the one in flight).
    assert.match(sink.to(u.email)[0].data, /Thanks for your purchase/);
    t.diagnostic(`A's stalled server saw ${stall.connections} connection(s); B sent ${st.sent} mails`);
}, { skip, timeout: 90000 });
