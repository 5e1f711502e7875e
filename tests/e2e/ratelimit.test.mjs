// ratelimit.test.mjs - the auth endpoints' limits, answered 429
// rate_limited (type rate_limit_error) with Retry-After:
//  - signup and login requests per client address a minute
//    (CREDITD_AUTH_RATE_LIMIT, here 6 on the `tight` stack);
//  - failed logins, kept in the database: per (email, client address) 5
//    free failures, then a back-off doubling from 2 s, each attempt reserved
//    before the password is checked; per email at most 100 failures an hour
//    from all addresses together.
// Other client addresses are loopback ones (127.0.0.x), bound on the
// client's side with localAddress.
import assert from 'node:assert/strict';
import { useStack, e2e, expectError, expectStatus, rand, waitFor } from './harness.mjs';

const stack = useStack({ serverEnv: { CREDITD_AUTH_RATE_LIMIT: 1000 } });
const tight = useStack({ serverEnv: { CREDITD_AUTH_RATE_LIMIT: 6 } });

const FREE = 5; // failures per (email, address) before the back-off starts
const EMAIL_CEILING = 100; // failures per email an hour, all addresses

const login = (email, password, localAddress) =>
    stack.api('POST', '/v1/auth/login', { body: { email, password }, localAddress });

function expectLimited(r, maxRetry) {
    const e = expectError(r, 429, 'rate_limited');
    assert.equal(e.type, 'rate_limit_error');
    const retry = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxRetry, `Retry-After ${r.headers['retry-after']}`);
    return retry;
}

e2e('40 wrong passwords for one email sent at once: at most 5 are checked (401), the others are 429 before any hashing', async () => {
    const u = await stack.signup();
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => login(u.email, `wrong-${i}-pw`)));
    const checked = rs.filter((r) => r.status === 401);
    const limited = rs.filter((r) => r.status === 429);
    assert.equal(checked.length + limited.length, 40, rs.map((r) => r.status).join(','));
    assert.ok(checked.length >= 1 && checked.length <= FREE, `${checked.length} of 40 reached the password check`);
    for (const r of checked) expectError(r, 401, 'invalid_credentials');
    for (const r of limited) expectLimited(r, 900);
});

e2e('an attack from one address never locks the owner out: the right password from another address works during and after it', async () => {
    const u = await stack.signup();
    const attack = Promise.all(Array.from({ length: 40 }, (_, i) => login(u.email, `guess-${i}-pw`)));
    const owner = login(u.email, u.password, '127.0.0.2');
    const [rs, during] = await Promise.all([attack, owner]);
    expectStatus(during, 200);
    assert.ok(rs.filter((r) => r.status === 401).length <= FREE);
    // The attacker keeps going, one at a time: refused unchecked, except one
    // guess each time a back-off (2 s, doubling) has run out - on a slow
    // machine the attack itself may outlast the first ones.
    const started = Date.now();
    let checkedLater = 0;
    for (let i = 0; i < 10; i++) {
        const r = await login(u.email, `more-${i}-pw`);
        if (r.status === 401) checkedLater++;
        else expectLimited(r, 900);
    }
    const windows = Math.floor(Math.log2(1 + (Date.now() - started) / 2000)) + 1;
    assert.ok(checkedLater <= windows, `${checkedLater} of 10 later guesses checked in ${Date.now() - started} ms`);
    // Case does not make a new counter for the attacker's address: right
    // after a refusal with seconds left, the upper-case email is refused too.
    await waitFor(async () => {
        const r = await login(u.email, 'waiting-guess');
        return r.status === 429 && expectLimited(r, 900) >= 3;
    }, 20000, { intervalMs: 100, what: 'a refusal with 3 s or more left' });
    expectLimited(await login(u.email.toUpperCase(), 'another-guess'), 900);
    // After the attack the owner still logs in, from a known or a new address.
    expectStatus(await login(u.email, u.password, '127.0.0.2'), 200);
    expectStatus(await login(u.email, u.password, '127.0.0.3'), 200);
});

e2e('after 5 failures from one address each next one waits twice as long; the state is in the database and survives a restart', async () => {
    const u = await stack.signup();
    for (let i = 0; i < FREE; i++) expectError(await login(u.email, `wrong-${i}-pw`), 401, 'invalid_credentials');
    // Refused attempts are not counted: polling until one is checked again
    // waits out the back-off (2 s, then 4 s).
    const checkedAgain = () => waitFor(async () => (await login(u.email, 'poll-guess')).status === 401, 15000,
        { intervalMs: 200, what: 'the back-off to end' });
    assert.ok(expectLimited(await login(u.email, 'one-more-guess'), 2) >= 1);
    await checkedAgain();
    assert.ok(expectLimited(await login(u.email, 'one-more-guess'), 4) >= 3);
    await checkedAgain();
    assert.ok(expectLimited(await login(u.email, 'one-more-guess'), 8) >= 7);
    await stack.restartServer();
    // Even the right password waits on this address; not on another.
    expectLimited(await login(u.email, u.password), 8);
    expectStatus(await login(u.email, u.password, '127.0.0.2'), 200);
}, { timeout: 60000 });

e2e('a successful login clears the failures of its address', async () => {
    const u = await stack.signup();
    for (let round = 0; round < 3; round++) {
        for (let i = 0; i < FREE - 1; i++) expectError(await login(u.email, 'nope-nope'), 401);
        expectStatus(await login(u.email, u.password), 200);
    }
});

e2e('100 failures within an hour from many addresses lock the email everywhere; other emails are unaffected', async () => {
    const u = await stack.signup();
    const other = await stack.signup();
    const addrs = Array.from({ length: EMAIL_CEILING / FREE }, (_, i) => `127.0.2.${i + 1}`);
    // Each address tries its 5 in turn; the addresses all at once.
    const perAddr = await Promise.all(addrs.map(async (a) => {
        const statuses = [];
        for (let i = 0; i < FREE; i++) statuses.push((await login(u.email, `spray-${i}-pw`, a)).status);
        return statuses;
    }));
    assert.deepEqual([...new Set(perAddr.flat())], [401]);
    // The 101st attempt, from an address that never failed, with the right password.
    expectLimited(await login(u.email, u.password, '127.0.2.200'), 3600);
    expectStatus(await login(other.email, other.password, '127.0.2.200'), 200);
}, { timeout: 120000 });

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
    // Another address has its own allowance too.
    expectStatus(await tight.api('POST', '/v1/auth/signup', { body: { email: `rl-${rand(5)}@example.com`, password: 'password-123' }, localAddress: '127.0.0.2' }), 201);
});
