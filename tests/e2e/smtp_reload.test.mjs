// smtp_reload.test.mjs - SMTP credential rotation without a restart:
// CREDITD_SMTP_PASSWORD_FILE is read at start and again on SIGHUP (with the
// user name in CREDITD_SMTP_URL). Mail refused for a bad login while the
// SMTP server already wants the new password is not given up: it stays
// queued and goes out once SIGHUP loads the new one; a bad file on SIGHUP
// keeps the old password; the same process serves throughout and the log
// never holds a password; requests and mail in flight during ten reloads
// all complete. A missing file, or the file without
// CREDITD_SMTP_URL, stops start-up.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, freePort, rand, runCreditd, useStack, waitFor } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-smtp-reload-'));
const pwFile = path.join(tmp, 'smtp-password');
const [pass1, pass2] = [`pw1-${rand(16)}`, `pw2 ${rand(16)}`];
fs.writeFileSync(pwFile, `${pass1}\n`, { mode: 0o600 });
const sink = await new SmtpSink({ user: 'creditd', pass: pass1 }).start();
const stack = useStack({
    sandbox: false,
    serverEnv: {
        CREDITD_SMTP_URL: `smtp://creditd@127.0.0.1:${sink.port}`,
        CREDITD_SMTP_PASSWORD_FILE: pwFile,
        CREDITD_MAIL_FROM: 'billing@creditd.test',
        CREDITD_MAIL_POLL_MS: '100',
        CREDITD_MAIL_RETRY_BASE_MS: '200',
        CREDITD_AUTH_RATE_LIMIT: '1000',
    },
});
after(async () => {
    await sink.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

const log = () => fs.readFileSync(stack.server.logFile, 'utf8');
const count = (re) => (log().match(re) || []).length;

/** A password account that asks for a reset link (a mail through the outbox). */
async function mailSomeone() {
    const u = await stack.signup();
    const r = await stack.api('POST', '/v1/password_reset', { body: { email: u.email } });
    assert.equal(r.status, 202, r.text);
    return u.email;
}

const delivered = (addr) => waitFor(() => sink.to(addr).length === 1, 15000, { what: `the mail to ${addr}` });

async function metric(outcome) {
    const r = await stack.admin('GET', '/metrics');
    const m = r.text.match(new RegExp(`^creditd_mail_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'));
    return m ? Number(m[1]) : 0;
}

/** Writes the file, sends SIGHUP and waits for the n-th line matching re. */
async function hup(content, re, n) {
    fs.writeFileSync(pwFile, content, { mode: 0o600 });
    stack.server.child.kill('SIGHUP');
    await waitFor(() => count(re) >= n, 5000, { what: `SIGHUP line ${re} x${n}` });
}

e2e('SIGHUP reloads CREDITD_SMTP_PASSWORD_FILE: mail refused meanwhile is kept and sent with the new password', async () => {
    const pid = stack.server.child.pid;
    const first = await mailSomeone();
    await delivered(first);
    assert.deepEqual(sink.logins.at(-1), { user: 'creditd', pass: pass1, ok: true });

    // The SMTP server rotates first: the next mail's login is refused.
    sink.auth.pass = pass2;
    const during = await mailSomeone();
    await waitFor(() => sink.logins.some((l) => !l.ok && l.pass === pass1), 10000, { what: 'a refused login' });
    // The sink logs the login before it answers; the sender counts the
    // retry once it has written the mail's next attempt, a moment later.
    await waitFor(async () => (await metric('retry')) >= 1, 10000, { what: 'the refused mail set to be tried again' });
    assert.equal(sink.to(during).length, 0);
    assert.equal(await metric('failed'), 0, 'a refused login never gives a mail up');

    await hup(`${pass2}\r\n`, /SIGHUP: SMTP password loaded from CREDITD_SMTP_PASSWORD_FILE/g, 1);
    await delivered(during);
    assert.deepEqual(sink.logins.at(-1), { user: 'creditd', pass: pass2, ok: true });
    await delivered(await mailSomeone());

    // A bad file changes nothing.
    await hup('', /CREDITD_SMTP_PASSWORD_FILE: .*holds no password; the SMTP password is unchanged/g, 1);
    await hup('two\nlines\n', /CREDITD_SMTP_PASSWORD_FILE: .*more than one line.*unchanged/g, 1);
    fs.rmSync(pwFile);
    stack.server.child.kill('SIGHUP');
    await waitFor(() => count(/CREDITD_SMTP_PASSWORD_FILE: cannot read .*unchanged/g) >= 1, 5000, { what: 'missing file' });
    await delivered(await mailSomeone());
    assert.equal(sink.logins.at(-1).pass, pass2);

    assert.ok(stack.server.running, 'the same process served throughout');
    assert.equal(stack.server.child.pid, pid);
    assert.equal(await metric('failed'), 0);
    const text = log();
    for (const s of [pass1, pass2]) assert.ok(!text.includes(s), 'no password in the log');
}, { timeout: 90000 });

e2e('SIGHUP under load drops no request and no mail: 10 reloads while requests and a mail are in flight', async () => {
    fs.writeFileSync(pwFile, `${sink.auth.pass}\n`, { mode: 0o600 });
    const before = count(/SIGHUP: SMTP password loaded/g);
    let stop = false;
    let done = 0;
    const failures = [];
    const load = (async () => {
        while (!stop) {
            const rs = await Promise.all([
                stack.admin('GET', '/v1/admin/pricing'),
                stack.api('GET', '/healthz'),
            ]);
            for (const r of rs) if (r.status !== 200) failures.push(r.status);
            done += rs.length;
        }
    })();
    const to = await mailSomeone();
    for (let i = 1; i <= 10; i++) {
        stack.server.child.kill('SIGHUP');
        await waitFor(() => count(/SIGHUP: SMTP password loaded/g) >= before + i, 5000, { what: `reload ${i}` });
    }
    await delivered(to);
    stop = true;
    await load;
    assert.deepEqual(failures, [], 'every request during the reloads answered 200');
    assert.ok(done > 0);
    assert.equal(sink.to(to).length, 1, 'the mail went out once');
    assert.ok(stack.server.running);
}, { timeout: 60000 });

e2e('CREDITD_SMTP_PASSWORD_FILE: unreadable, empty, or without CREDITD_SMTP_URL stops start-up', async () => {
    const base = { CREDITD_LISTEN: `127.0.0.1:${await freePort()}`, CREDITD_DB: ':memory:', CREDITD_MAIL_FROM: 'billing@creditd.test' };
    const empty = path.join(tmp, 'empty');
    fs.writeFileSync(empty, '\n');
    const good = path.join(tmp, 'good');
    const secret = `pw-${rand(16)}`;
    fs.writeFileSync(good, secret);
    const url = `smtp://creditd@127.0.0.1:${sink.port}`;
    for (const env of [
        { CREDITD_SMTP_URL: url, CREDITD_SMTP_PASSWORD_FILE: path.join(tmp, 'none') },
        { CREDITD_SMTP_URL: url, CREDITD_SMTP_PASSWORD_FILE: empty },
        { CREDITD_SMTP_PASSWORD_FILE: good },
    ]) {
        const r = await runCreditd(['serve'], { ...base, ...env }, { timeoutMs: 8000 });
        assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.output.slice(-300)}`);
        assert.match(r.output, /CREDITD_SMTP_PASSWORD_FILE/);
        assert.ok(!r.output.includes(secret), 'no password in the message');
    }
});
