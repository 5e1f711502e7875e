// mail.test.mjs - the mail outbox end to end: a purchase queues exactly one
// receipt in its fulfilment job and the sender delivers it over SMTP to a
// tiny SMTP sink (smtp_sink.mjs, loopback); replayed webhooks never send a
// second one; a sink that answers 451 at first gets the mail later, once;
// without CREDITD_SMTP_URL the server runs and the mail is skipped; and
// CREDITD_SMTP_URL without CREDITD_MAIL_FROM stops start-up.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import {
    Stack, e2e, waitFor, rand, makeEvent, runCreditd, dumpLogs,
} from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const FROM = 'billing@creditd.test';
const sink = new SmtpSink();
let stack; // with SMTP
let plain; // without CREDITD_SMTP_URL

async function startStack(opts) {
    const s = new Stack(opts);
    try {
        await s.start();
    } catch (e) {
        process.stderr.write(`\n[e2e] stack start failed: ${e.message}\n${s.dir ? s.logTails(80) : ''}\n`);
        await s.stop().catch(() => {});
        throw e;
    }
    return s;
}

before(async () => {
    await sink.start();
    stack = await startStack({
        serverEnv: {
            CREDITD_SMTP_URL: sink.url,
            CREDITD_MAIL_FROM: FROM,
            CREDITD_MAIL_POLL_MS: '100',
            CREDITD_MAIL_RETRY_BASE_MS: '200',
        },
    });
    plain = await startStack({ serverEnv: { CREDITD_MAIL_POLL_MS: '100' } });
}, { timeout: 60000 });

after(async () => {
    const reports = [];
    for (const s of [stack, plain]) if (s) reports.push(await s.stop());
    await sink.stop();
    const r = reports.filter(Boolean).join('\n');
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

async function pkg(s) {
    const cfg = await s.config();
    return cfg.packages[0];
}

/**
 * Waits until the sender has gone past every mail queued so far: a fresh
 * purchase queues a sentinel receipt after them (the sender takes due mail
 * in queue order), so once the sentinel is delivered a second mail queued
 * earlier would have been too. The condition that replaces a fixed sleep
 * before asserting that nothing more was sent.
 */
async function senderPastQueue(s) {
    const p = await pkg(s);
    const u = await s.signup();
    await s.buy(u, { kind: 'package', package_id: p.id });
    await waitFor(() => sink.to(u.email).length === 1, 15000, { what: 'sentinel receipt' });
}

async function metric(s, outcome) {
    const r = await s.admin('GET', '/metrics');
    assert.equal(r.status, 200);
    const m = r.text.match(new RegExp(`^creditd_mail_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'));
    return m ? Number(m[1]) : 0;
}

e2e('a purchase with 4242 sends exactly one receipt to the account email', async () => {
    const p = await pkg(stack);
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'package', package_id: p.id });
    const [msg] = await waitFor(() => (sink.to(u.email).length ? sink.to(u.email) : null), 10000, { what: 'receipt' });
    assert.equal(msg.from, `<${FROM}>`);
    const d = msg.data;
    assert.match(d, new RegExp(`^To: ${u.email.replace(/[.+]/g, '\\$&')}\\r$`, 'mi'));
    assert.match(d, new RegExp(`^From: "creditd" <${FROM.replace(/\./g, '\\.')}>\\r$`, 'mi'));
    assert.match(d, /^Subject: Your receipt: .+\r$/m);
    assert.match(d, /^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000\r$/m);
    assert.match(d, /^Message-ID: <mail_[^>]+@creditd\.test>\r$/m);
    assert.match(d, /^Content-Type: text\/plain; charset=utf-8\r$/m);
    assert.match(d, /Thanks for your purchase/);
    assert.ok(d.includes(`$${(p.price_cents / 100).toFixed(2)}`), `amount in ${d}`);
    assert.match(d, new RegExp(`Credits added:\\s+${p.credits}\\b`));
    assert.match(d, new RegExp(`New balance:\\s+${p.credits} credits`));
    assert.ok(d.includes(co.order_id), 'order id in the receipt');
    assert.ok(!d.includes(u.token), 'no token in mail');
    assert.ok(!d.includes(stack.adminKey) && !d.includes(stack.stripeKey), 'no secret in mail');
    await senderPastQueue(stack);
    assert.equal(sink.to(u.email).length, 1, 'still exactly one');
    assert.ok((await metric(stack, 'sent')) >= 1);
});

e2e('the same webhook delivered 5 times (same and new event ids) still sends one mail', async () => {
    const p = await pkg(stack);
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'package', package_id: p.id });
    await waitFor(() => sink.to(u.email).length === 1, 10000, { what: 'first receipt' });
    const sess = await stack.getSession(co.session_id);
    const ev = makeEvent('checkout.session.completed', sess);
    for (let i = 0; i < 5; i++) {
        const same = await stack.sendWebhook(ev);
        assert.equal(same.status, 200, same.text);
        const fresh = await stack.sendWebhook(makeEvent('checkout.session.completed', sess));
        assert.equal(fresh.status, 200, fresh.text);
    }
    await senderPastQueue(stack);
    assert.equal(sink.to(u.email).length, 1);
    assert.equal(await stack.balance(u), p.credits);
});

e2e('SMTP answering 451 at first: the mail is retried and delivered once', async () => {
    const p = await pkg(stack);
    const u = await stack.signup();
    const before = sink.dataAttempts;
    const retriesBefore = await metric(stack, 'retry');
    sink.failData = 2;
    await stack.buy(u, { kind: 'package', package_id: p.id });
    await waitFor(() => sink.to(u.email).length === 1, 15000, { what: 'receipt after retries' });
    assert.ok(sink.dataAttempts - before >= 3, `3 DATA attempts, saw ${sink.dataAttempts - before}`);
    assert.ok((await metric(stack, 'retry')) - retriesBefore >= 2);
    await senderPastQueue(stack);
    assert.equal(sink.to(u.email).length, 1);
});

e2e('without CREDITD_SMTP_URL the server runs and the receipt is skipped', async () => {
    const p = await pkg(plain);
    const u = await plain.signup();
    const before = await metric(plain, 'skipped');
    await plain.buy(u, { kind: 'package', package_id: p.id });
    await waitFor(async () => (await metric(plain, 'skipped')) > before, 10000, { what: 'skipped mail' });
    assert.equal(sink.to(u.email).length, 0);
    assert.equal(await plain.balance(u), p.credits);
});

e2e('CREDITD_SMTP_URL without CREDITD_MAIL_FROM stops start-up naming the variable', async () => {
    const r = await runCreditd(['serve'], {
        CREDITD_LISTEN: '127.0.0.1:1',
        CREDITD_DB: `/tmp/creditd-mail-${rand(6)}.db`,
        CREDITD_SMTP_URL: sink.url,
    });
    if (r.code === 0) dumpLogs('mail-from');
    assert.notEqual(r.code, 0);
    assert.match(r.output, /CREDITD_MAIL_FROM/);
    const bad = await runCreditd(['serve'], { CREDITD_MAIL_POLL_MS: '5' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.output, /CREDITD_MAIL_POLL_MS/);
});
