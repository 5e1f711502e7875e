// times.test.mjs - RFC 3339 times in requests: strict syntax, bounded to
// 1970..9999 (a 400 that changes nothing otherwise), normalised to UTC on
// the way out, and every listing still answering afterwards.

import assert from 'node:assert/strict';
import { useStack, e2e, rand, expectError, expectStatus } from './harness.mjs';

const stack = useStack();

const newCode = () => `TIME${rand(4).toUpperCase()}`;
const createCode = (body) => stack.admin('POST', '/v1/admin/discount_codes', { body });

async function listedCodes() {
    const r = expectStatus(await stack.admin('GET', '/v1/admin/discount_codes?limit=100'), 200);
    return new Map(r.data.map((c) => [c.code, c]));
}

e2e('expires_at outside 1970..9999 or not strict RFC 3339 is a 400 that stores nothing', async () => {
    const bad = [
        '9999-12-31T23:59:59-23:59', // past 9999 once the offset is applied
        '9999-12-31T23:59:60Z',
        '10000-01-01T00:00:00Z',
        '2031-01-01T00:00:00+ 1:00', // non-digit offset (was -159 hours)
        '2031-01-01T00:00:00+1a:00',
        '2031-01-01T00:00:00+24:00',
        '2031-01-01T00:00:00+0100',
        '2031-02-30T00:00:00Z',
        ' 2031-01-01T00:00:00Z',
        '1970-01-01T00:00:00Z', // 0 means "never expires": refused
    ];
    const codes = [];
    for (const expires_at of bad) {
        const code = newCode();
        codes.push(code);
        const e = expectError(await createCode({ code, percent_off: 10, expires_at }), 400, 'invalid_param', expires_at);
        assert.equal(e.param, 'expires_at', expires_at);
    }
    const listed = await listedCodes();
    for (const code of codes) assert.equal(listed.has(code), false, `${code} was stored`);
});

e2e('expires_at up to 9999-12-31T23:59:59Z is stored, shown in UTC, and listings answer', async () => {
    const last = newCode();
    const offset = newCode();
    const r1 = expectStatus(await createCode({ code: last, percent_off: 10, expires_at: '9999-12-31T23:59:59Z' }), 201);
    assert.equal(r1.expires_at, '9999-12-31T23:59:59Z');
    const r2 = expectStatus(await createCode({ code: offset, percent_off: 10, expires_at: '2031-06-01T12:00:00.5+02:00' }), 201);
    assert.equal(r2.expires_at, '2031-06-01T10:00:00Z');
    const listed = await listedCodes();
    assert.equal(listed.get(last)?.expires_at, '9999-12-31T23:59:59Z');
    assert.equal(listed.get(offset)?.expires_at, '2031-06-01T10:00:00Z');
    for (const c of listed.values()) {
        for (const t of [c.expires_at, c.created_at]) {
            if (t !== null) assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${c.code}: ${t}`);
        }
    }
    expectStatus(await stack.api('GET', '/healthz'), 200);
});
