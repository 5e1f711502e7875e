// email_verification.test.mjs - CREDITD_REQUIRE_EMAIL_VERIFICATION=1: a
// password account gets a one-time link at signup (SMTP sink of
// smtp_sink.mjs) and cannot buy (403 email_not_verified on checkout, top-up
// and payment intent) until it opens it; POST /v1/email_verification mails
// a new link (3 an hour); accounts owned by the application are not gated;
// a password reset verifies the address too.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { useStack, e2e, waitFor, rand, expectError, expectStatus } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const sink = await new SmtpSink().start();
const stack = useStack({
    serverEnv: {
        CREDITD_SMTP_URL: sink.url,
        CREDITD_MAIL_FROM: 'billing@creditd.test',
        CREDITD_MAIL_POLL_MS: '100',
        CREDITD_REQUIRE_EMAIL_VERIFICATION: '1',
        CREDITD_AUTH_RATE_LIMIT: '1000',
    },
});
after(() => sink.stop());

const confirm = (token) => stack.api('POST', '/v1/email_verification/confirm', { body: { token } });

function links(addr, n = 1) {
    return waitFor(() => {
        const ls = sink.to(addr).map((m) => m.data.match(/verify#token=(cdv_[0-9a-f]{64})\r?$/m)).filter(Boolean).map((m) => m[1]);
        return ls.length >= n ? ls : null;
    }, 10000, { what: `${n} verification link(s) to ${addr}` });
}

e2e('signup mails a link; no purchase until it is opened; then buying works', async () => {
    const u = await stack.signup();
    assert.equal(u.account.email_verified, false);
    const [token] = await links(u.email);
    const mail = sink.to(u.email)[0];
    assert.match(mail.data, /^Subject: Confirm your email address\r$/m);

    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'access' } }), 403, 'email_not_verified');
    expectError(await stack.api('POST', '/v1/payment_intents', { token: u.token, body: { amount_cents: 500 } }), 403, 'email_not_verified');
    expectError(await stack.api('POST', '/v1/topups', { token: u.token, body: { amount_cents: 1000 } }), 403, 'email_not_verified');
    // the server key acting for the account is gated the same way
    expectError(await stack.asServer(u.id, 'POST', '/v1/checkout', { body: { kind: 'access' } }), 403, 'email_not_verified');

    const r = await confirm(token);
    assert.equal(r.status, 204, r.text);
    const me = expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200);
    assert.equal(me.email_verified, true);
    await stack.buy(u, { kind: 'access' });
    expectError(await confirm(token), 400, 'invalid_verification_token');
    expectError(await stack.api('POST', '/v1/email_verification', { token: u.token }), 409, 'email_already_verified');
});

e2e('POST /v1/email_verification mails a new link, 3 an hour (the signup link counts)', async () => {
    const u = await stack.signup();
    await links(u.email);
    for (let i = 0; i < 2; i++) {
        const r = await stack.api('POST', '/v1/email_verification', { token: u.token });
        assert.equal(r.status, 202, r.text);
        assert.deepEqual(r.json, { status: 'accepted' });
    }
    const r = await stack.api('POST', '/v1/email_verification', { token: u.token });
    expectError(r, 429, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) > 0);
    const ls = await links(u.email, 3);
    // any one of them verifies, and uses the others
    assert.equal((await confirm(ls[1])).status, 204);
    expectError(await confirm(ls[2]), 400, 'invalid_verification_token');
});

e2e('accounts owned by the application are not gated; without an email there is nothing to verify', async () => {
    const ext = `v${rand(8)}`;
    const a = expectStatus(await stack.admin('POST', '/v1/accounts', { body: { external_id: ext, email: `app-${rand(6)}@example.com` } }), 201);
    assert.equal(a.email_verified, false);
    await stack.buy({ id: a.id, ext }, { kind: 'access' });
    const b = expectStatus(await stack.admin('POST', '/v1/accounts', { body: { external_id: `${ext}-2` } }), 201);
    expectError(await stack.asServer(b.id, 'POST', '/v1/email_verification'), 409, 'no_email');
});

e2e('a password reset verifies the address too', async () => {
    const u = await stack.signup();
    await links(u.email);
    expectStatus(await stack.api('POST', '/v1/password_reset', { body: { email: u.email } }), 202);
    const m = await waitFor(() => sink.to(u.email).find((x) => x.data.includes("/reset#token=")), 10000, { what: 'reset mail' });
    const token = m.data.match(/reset#token=(cdr_[0-9a-f]{64})/)[1];
    assert.equal((await stack.api('POST', '/v1/password_reset/confirm', { body: { token, password: 'a new password' } })).status, 204);
    const login = expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: 'a new password' } }), 200);
    assert.equal(login.account.email_verified, true);
});

e2e('bad tokens: 400 invalid_verification_token alike; missing is missing_param', async () => {
    expectError(await confirm('cdv_nope'), 400, 'invalid_verification_token');
    expectError(await confirm(`cdv_${'0'.repeat(64)}`), 400, 'invalid_verification_token');
    expectError(await stack.api('POST', '/v1/email_verification/confirm', { body: {} }), 400, 'missing_param');
    // a reset token is not a verification token
    expectError(await confirm(`cdr_${'0'.repeat(64)}`), 400, 'invalid_verification_token');
});
