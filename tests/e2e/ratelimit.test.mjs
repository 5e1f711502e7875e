// ratelimit.test.mjs - the auth endpoints' limits: signup and login
// requests per client address a minute (CREDITD_AUTH_RATE_LIMIT, here 6),
// and failed logins per email (10 per 15 minutes, whatever the password or
// address), answered 429 rate_limit_error with Retry-After.
import assert from 'node:assert/strict';
import { useStack, e2e, expectError, expectStatus, rand } from './harness.mjs';

const stack = useStack({ serverEnv: { CREDITD_AUTH_RATE_LIMIT: 1000 } });
const tight = useStack({ serverEnv: { CREDITD_AUTH_RATE_LIMIT: 6 } });

e2e('10 failed logins lock that email for a while, even with the right password; other emails still log in', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    for (let i = 0; i < 10; i++) {
        const r = await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: `wrong-${i}-pw` } });
        expectError(r, 401, 'invalid_credentials');
    }
    const locked = await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } });
    const e = expectError(locked, 429, 'rate_limited');
    assert.equal(e.type, 'rate_limit_error');
    const retry = Number(locked.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 900, `Retry-After ${locked.headers['retry-after']}`);
    // The same address of another email is unaffected.
    expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: other.email, password: other.password } }), 200);
    // Case and spaces do not make a new counter.
    const upper = await stack.api('POST', '/v1/auth/login', { body: { email: u.email.toUpperCase(), password: u.password } });
    expectError(upper, 429, 'rate_limited');
});

e2e('a successful login resets the failure count', async () => {
    const u = await stack.signup();
    for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 9; i++) {
            expectError(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: 'nope-nope' } }), 401);
        }
        expectStatus(await stack.api('POST', '/v1/auth/login', { body: { email: u.email, password: u.password } }), 200);
    }
});

e2e('signup and login past the per-address limit answer 429 and create nothing', async () => {
    const statuses = [];
    const emails = [];
    for (let i = 0; i < 8; i++) {
        const email = `rl-${rand(5)}@example.com`;
        emails.push(email);
        const r = await tight.api('POST', '/v1/auth/signup', { body: { email, password: 'password-123' } });
        statuses.push(r.status);
        if (r.status === 429) {
            assert.ok(Number(r.headers['retry-after']) >= 1);
            expectError(r, 429, 'rate_limited');
        }
    }
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 201, 429, 429]);
    // The refused signups wrote nothing: the server key sees six accounts.
    const list = expectStatus(await tight.admin('GET', '/v1/admin/accounts?limit=100'), 200);
    const got = new Set(list.data.map((a) => a.email));
    assert.equal(emails.filter((e) => got.has(e)).length, 6);
    // Login counts separately from signup, with its own allowance.
    expectStatus(await tight.api('POST', '/v1/auth/login', { body: { email: emails[0], password: 'password-123' } }), 200);
});
