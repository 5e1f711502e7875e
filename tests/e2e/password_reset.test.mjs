// password_reset.test.mjs - password reset by a one-time link mailed
// through the outbox to a loopback SMTP sink (smtp_sink.mjs):
// POST /v1/password_reset answers 202 alike for every email (no account
// enumeration) and mails a link only to a password account, at most 3 an
// hour; POST /v1/password_reset/confirm sets the password once, ends every
// session, and refuses a used, unknown or malformed token.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { useStack, e2e, waitFor, rand, expectError, expectStatus } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const sink = await new SmtpSink().start();
const stack = useStack({
    sandbox: false,
    serverEnv: {
        CREDITD_SMTP_URL: sink.url,
        CREDITD_MAIL_FROM: 'billing@creditd.test',
        CREDITD_MAIL_POLL_MS: '100',
        CREDITD_AUTH_RATE_LIMIT: '1000',
    },
});
after(() => sink.stop());

const reset = (email) => stack.api('POST', '/v1/password_reset', { body: { email } });
const confirm = (body) => stack.api('POST', '/v1/password_reset/confirm', { body });

/** The reset mails to addr so far, once there are n. */
function mailsTo(addr, n = 1) {
    return waitFor(() => (sink.to(addr).length >= n ? sink.to(addr) : null), 10000, { what: `${n} mail(s) to ${addr}` });
}

function tokenOf(mail) {
    const m = mail.data.match(/reset#token=(cdr_[0-9a-f]{64})\r?$/m);
    assert.ok(m, `a reset link in ${mail.data}`);
    return m[1];
}

e2e('202 alike for a known, an unknown and an app-owned email; only the password account gets a link', async () => {
    const u = await stack.signup();
    const owned = `owned-${rand(6)}@example.com`;
    expectStatus(await stack.admin('POST', '/v1/accounts', { body: { external_id: `o${rand(8)}`, email: owned } }), 201);
    const unknown = `nobody-${rand(6)}@example.com`;
    const masked = (r) => r.text.replace(r.headers['request-id'], 'req_ID');
    const rs = [await reset(unknown), await reset(owned), await reset(u.email)];
    for (const r of rs) assert.equal(r.status, 202, r.text);
    assert.deepEqual(rs[2].json, { status: 'accepted' });
    assert.equal(masked(rs[0]), masked(rs[2]));
    assert.equal(masked(rs[1]), masked(rs[2]));

    // Mail goes out in the order it was queued: once u's link is here,
    // anything queued for the other two would be too.
    const [mail] = await mailsTo(u.email);
    assert.match(mail.data, /^Subject: Reset your password\r$/m);
    assert.ok(mail.data.includes(`${stack.baseUrl}/reset#token=`), mail.data);
    assert.equal(sink.to(unknown).length, 0);
    assert.equal(sink.to(owned).length, 0);
    assert.ok(!rs[2].text.includes(tokenOf(mail)), 'the token is only in the mail');
});

e2e('confirm: sets the password once and ends every session', async () => {
    const u = await stack.signup();
    const other = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 200);
    expectStatus(await reset(u.email.toUpperCase()), 202);
    const token = tokenOf((await mailsTo(u.email))[0]);

    expectError(await confirm({ token, password: 'short' }), 400, 'weak_password');
    const ok = await confirm({ token, password: 'a new password' });
    assert.equal(ok.status, 204, ok.text);
    expectError(await stack.api('GET', '/v1/account', { token: u.token }), 401, 'invalid_token');
    expectError(await stack.api('GET', '/v1/account', { token: other.token }), 401, 'invalid_token');
    expectError(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 401, 'invalid_credentials');
    const login = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: 'a new password' } }), 200);
    assert.equal(login.account.id, u.id);

    // Single use.
    expectError(await confirm({ token, password: 'yet another one' }), 400, 'invalid_reset_token');
    expectStatus(await stack.api('GET', '/v1/account', { token: login.token }), 200);
});

e2e('a newer link confirmed makes the older ones useless', async () => {
    const u = await stack.signup();
    expectStatus(await reset(u.email), 202);
    expectStatus(await reset(u.email), 202);
    const [m1, m2] = await mailsTo(u.email, 2);
    assert.equal((await confirm({ token: tokenOf(m2), password: 'second link pw' })).status, 204);
    expectError(await confirm({ token: tokenOf(m1), password: 'first link pw!' }), 400, 'invalid_reset_token');
});

e2e('at most 3 links an hour per account, still 202', async () => {
    const u = await stack.signup();
    for (let i = 0; i < 5; i++) assert.equal((await reset(u.email)).status, 202);
    const marker = await stack.signup();
    expectStatus(await reset(marker.email), 202);
    await mailsTo(marker.email);
    assert.equal(sink.to(u.email).length, 3);
});

e2e('bad input: 400 with the field; unknown and malformed tokens answer alike', async () => {
    expectError(await stack.api('POST', '/v1/password_reset', { body: {} }), 400, 'missing_param');
    expectError(await reset('not-an-email'), 400, 'invalid_email');
    expectError(await reset(42), 400, 'invalid_param');
    expectError(await confirm({ password: 'long enough pw' }), 400, 'missing_param');
    expectError(await confirm({ token: 'cdr_x' }), 400, 'missing_param');
    expectError(await confirm({ token: 'cdr_x', password: 7 }), 400, 'invalid_param');
    const a = expectError(await confirm({ token: 'cdr_nope', password: 'long enough pw' }), 400, 'invalid_reset_token');
    const b = expectError(await confirm({ token: `cdr_${'0'.repeat(64)}`, password: 'long enough pw' }), 400, 'invalid_reset_token');
    assert.equal(a.message, b.message);
    assert.equal(a.param, 'token');
});
