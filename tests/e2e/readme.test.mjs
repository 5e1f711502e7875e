// readme.test.mjs - README's curl walk-through, run as it is written.
//
// The first ```sh block under "## The whole flow with curl" is taken from
// README.md at test time and run with bash against a server and sandbox
// wired like `creditd demo` (API, SANDBOX and SERVER_KEY in the
// environment, as a reader sets them). It must run without error and end
// with the balance the README promises.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { useStack, e2e, REPO, expectStatus } from './harness.mjs';

const stack = useStack({});

/** The shell block of README's curl walk-through. */
export function walkthrough() {
    const md = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const at = md.indexOf('## The whole flow with curl');
    assert.ok(at >= 0, 'README has "## The whole flow with curl"');
    const m = /```sh\n([\s\S]*?)```/.exec(md.slice(at));
    assert.ok(m, 'a ```sh block follows it');
    return m[1];
}

function run(script, env) {
    return new Promise((resolve) => {
        execFile('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, ...env }, timeout: 60000 },
            (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
    });
}

test('README links only to files inside the repository, and they exist', () => {
    const md = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const targets = [...md.matchAll(/\]\(([^)\s]+)\)/g), ...md.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(targets.length > 0);
    for (const t of targets) {
        assert.doesNotMatch(t, /^[a-z]+:|^\/|(^|\/)\.\.\//, `${t}: a relative path inside the repository`);
        const file = path.join(REPO, t.split('#')[0]);
        assert.ok(file.startsWith(REPO + path.sep) && fs.existsSync(file), `${t} exists`);
    }
});

e2e('README curl walk-through runs pasted as it is and ends with 750 credits', async () => {
    for (const tool of ['curl', 'jq']) {
        const r = spawnSync(tool, ['--version']);
        assert.equal(r.status, 0, `${tool} is installed (scripts/bootstrap.sh installs it)`);
    }
    const script = walkthrough();
    assert.doesNotMatch(script, /…/, 'no literal placeholders: every id is captured');
    const r = await run(script, { API: stack.baseUrl, SANDBOX: stack.sandboxUrl, SERVER_KEY: stack.adminKey });
    assert.equal(r.code, 0, `the block exits 0\n${r.stderr}\n${r.stdout}`);

    // curl prints no newline after a body: take the last balance reply.
    const balances = [...r.stdout.matchAll(/\{"balance":(-?\d+),"balance_display"/g)].map((m) => Number(m[1]));
    assert.deepEqual(balances, [1000, 750], r.stdout);
    assert.ok(r.stdout.trimEnd().endsWith('}'), 'the balance is the last thing printed');
    assert.match(r.stdout, /"fulfilled":true/);
    assert.match(r.stdout, /"completed"/);
    assert.match(r.stdout, /"payment_method_last4":"4242"/);

    const account = /^account (acct_\S+)$/m.exec(r.stdout);
    assert.ok(account, 'the account id was captured');
    const a = expectStatus(await stack.admin('GET', `/v1/admin/accounts/${account[1]}`), 200);
    assert.equal(a.balance, 750);
    const v = expectStatus(await stack.admin('GET', '/v1/admin/ledger/verify'), 200);
    assert.equal(v.ok, true);
});
