// catalog.test.mjs - CREDITD_CATALOG: packages, plans and top-up limits
// from a JSON file replace the built-in ones, reach GET /v1/config and
// checkout; a bad file stops start-up naming the variable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { useStack, e2e, rand, expectError, runCreditd, freePort } from './harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-catalog-'));
const file = path.join(dir, 'catalog.json');
fs.writeFileSync(file, JSON.stringify({
    packages: [
        { id: 'mini', name: 'Mini - 300 credits', price_cents: 300, credits: 300 },
        { id: 'mega', name: 'Mega - 25,000 credits', price_cents: 20000, credits: 25000 },
    ],
    plans: [{ id: 'weekly', name: 'Weekly', price_cents: 500, interval: 'week', credits_per_period: 600 }],
    topup: { min_cents: 500, max_cents: 2500, step_cents: 500, default_cents: 1000 },
    credit_unit: { name: 'tokens', display: 'currency' },
}));

const stack = useStack({ serverEnv: { CREDITD_CATALOG: file } });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

e2e('GET /v1/config shows the catalog file, not the built-in one', async () => {
    const c = await stack.config();
    assert.deepEqual(c.packages.map((p) => [p.id, p.price_cents, p.credits]), [['mini', 300, 300], ['mega', 20000, 25000]]);
    assert.deepEqual(c.plans.map((p) => [p.id, p.interval, p.credits_per_period]), [['weekly', 'week', 600]]);
    assert.deepEqual(c.topup, { min_cents: 500, max_cents: 2500, step_cents: 500, default_cents: 1000 });
    assert.deepEqual(c.credit_unit, { name: 'tokens', display: 'currency' });
});

e2e('a catalog package is bought for its price and credits; top-up limits follow the file', async () => {
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'package', package_id: 'mega' });
    assert.equal(co.amount_cents, 20000);
    assert.equal(co.credits, 25000);
    await stack.completeSession(co.session_id);
    await stack.waitFulfilled(u, co.session_id);
    assert.equal(await stack.balance(u), 25000);
    // A built-in package id no longer exists.
    expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'package', package_id: 'starter' } }), 400);
    // $5 steps from $5 to $25.
    assert.equal((await stack.checkout(u, { kind: 'topup', amount_cents: 1500 })).credits, 1500);
    for (const amount_cents of [1000 + 250, 3000, 100]) {
        expectError(await stack.api('POST', '/v1/checkout', { token: u.token, body: { kind: 'topup', amount_cents } }), 400, 'invalid_amount');
    }
});

e2e('a broken catalog file stops start-up and names CREDITD_CATALOG', async () => {
    const bad = [
        '{"packages": [{"id": "x", "name": "X", "price_cents": 10, "credits": 5}]}', // below the 50-cent minimum
        '{"packages": "nope"}',
        'not json',
        '{"credit_unit": {"name": "credits", "display": "cash"}}',
        '{"credit_unit": {"name": ""}}',
        '{"credit_unit": "credits"}',
        '{"topup": {"min_cents": 5000, "max_cents": 1000, "step_cents": 100, "default_cents": 2000}}',
    ];
    for (const text of bad) {
        const f = path.join(dir, `bad-${rand(4)}.json`);
        fs.writeFileSync(f, text);
        const r = await runCreditd(['serve'], {
            CREDITD_LISTEN: `127.0.0.1:${await freePort()}`,
            CREDITD_DB: path.join(dir, `db-${rand(4)}.db`),
            CREDITD_CATALOG: f,
        }, { timeoutMs: 8000 });
        assert.notEqual(r.code, 0, `${text}: exit status`);
        assert.ok(r.output.includes('CREDITD_CATALOG'), `${text}: ${r.output.slice(-300)}`);
    }
    const missing = await runCreditd(['serve'], { CREDITD_LISTEN: `127.0.0.1:${await freePort()}`, CREDITD_CATALOG: path.join(dir, 'nope.json') }, { timeoutMs: 8000 });
    assert.notEqual(missing.code, 0);
    assert.ok(missing.output.includes('CREDITD_CATALOG'));
}, { timeout: 60000 });
