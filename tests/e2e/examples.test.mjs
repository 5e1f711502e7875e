// examples.test.mjs - the client examples in docs/examples/ (curl, Node
// fetch, Python urllib), each run as a reader runs it against a server and
// the Stripe sandbox: an account, a paid $10 top-up, a 250-credit debit
// with an Idempotency-Key retried once (the same transaction), the balance.
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { useStack, e2e, REPO, expectStatus } from './harness.mjs';

const stack = useStack({});

function run(cmd, args) {
    const env = {
        ...process.env,
        CREDITD_URL: stack.baseUrl,
        CREDITD_SERVER_KEY: stack.adminKey,
        CREDITD_SANDBOX: stack.sandboxUrl,
    };
    return new Promise((resolve) => {
        execFile(cmd, args, { env, timeout: 90000 },
            (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
    });
}

const EXAMPLES = [
    ['curl', 'bash', ['docs/examples/curl.sh']],
    ['Node', process.execPath, ['docs/examples/node.mjs']],
    ['Python', 'python3', ['docs/examples/python.py']],
];

for (const [name, cmd, args] of EXAMPLES) {
    e2e(`the ${name} example runs and ends with 750 credits`, async () => {
        const r = await run(cmd, args.map((a) => path.join(REPO, a)));
        assert.equal(r.code, 0, `exit 0\n${r.stderr}\n${r.stdout}`);
        const account = /^account (acct_\S+)$/m.exec(r.stdout);
        assert.ok(account, r.stdout);
        assert.match(r.stdout, /^checkout http:\/\/127\.0\.0\.1:\d+\/\S+$/m);
        const d = /^debit (txn_\S+) retry (txn_\S+)/m.exec(r.stdout);
        assert.ok(d, r.stdout);
        assert.equal(d[1], d[2], 'the retry is the same debit');
        assert.match(r.stdout.trimEnd(), /\nbalance 750$/);

        // The server agrees: one top-up, one debit.
        const a = expectStatus(await stack.admin('GET', `/v1/admin/accounts/${account[1]}`), 200);
        assert.equal(a.balance, 750);
        const t = expectStatus(await stack.asServer(account[1], 'GET', '/v1/transactions'), 200);
        assert.deepEqual(t.data.map((x) => x.amount).sort((x, y) => x - y), [-250, 1000]);
    }, { timeout: 120000 });
}
