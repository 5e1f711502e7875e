// cli.test.mjs - `creditd admin <noun> <verb>`, the operator's CLI, run as
// a separate process against a server and its sandbox: every subcommand's
// table and --json output, the exit codes (0 ok, 1 API error with its
// code, 2 usage or not confirmed, 3 unreachable or 5xx, 4 ledger check
// failed), the key from CREDITD_ADMIN_KEY or --key-file (never an
// argument), help on every level, and the refund confirmation: refused
// without --yes when stdin is not a terminal, asked on a pseudo-terminal.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, e2e, freePort, rand, useStack, waitFor } from './harness.mjs';

const stack = useStack();

const haveScript = (() => {
    try {
        execFileSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
})();

/**
 * Runs `creditd admin ...args`; stdin is a pipe (not a terminal) fed
 * `input` (with tty, a pseudo-terminal is, and stdout and stderr arrive
 * together in out). env replaces the defaults (server URL and key) key by key;
 * null deletes one. Returns {code, out, err}.
 */
function cli(args, { env = {}, input = '', tty = false } = {}) {
    const e = {
        PATH: process.env.PATH,
        LANG: 'C.UTF-8',
        CREDITD_URL: stack.baseUrl,
        CREDITD_ADMIN_KEY: stack.adminKey,
    };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
        if (process.env[k]) e[k] = process.env[k];
    }
    for (const [k, v] of Object.entries(env)) {
        if (v === null) delete e[k];
        else e[k] = v;
    }
    return new Promise((resolve, reject) => {
        // tty: run under script(1), whose pseudo-terminal is stdin.
        const quote = (a) => `'${a.replace(/'/g, "'\\''")}'`;
        const p = tty
            ? spawn('script', ['-qec', [BIN, 'admin', ...args].map(quote).join(' '), '/dev/null'], { env: e, stdio: ['pipe', 'pipe', 'pipe'] })
            : spawn(BIN, ['admin', ...args], { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        const timer = setTimeout(() => p.kill('SIGKILL'), 30000);
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('error', reject);
        p.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code: code ?? signal, out, err });
        });
        // The CLI may exit before reading stdin (most never read it).
        p.stdin.on('error', () => {});
        p.stdin.end(input);
    });
}

function ok(r, label = '') {
    assert.equal(r.code, 0, `${label} exit ${r.code}\nstdout:${r.out}\nstderr:${r.err}`);
    return r;
}

/** The table's header cells and rows, split on runs of 2+ spaces. */
function table(text) {
    const lines = text.split('\n').filter((l) => l && !l.startsWith('('));
    return lines.map((l) => l.trim().split(/ {2,}/));
}

e2e('help on every level, usage errors exit 2', async () => {
    const top = ok(await cli(['--help']));
    for (const noun of ['pricing', 'discounts', 'accounts', 'orders', 'payments', 'subscriptions', 'ledger', 'problems', 'reconcile', 'summary']) {
        assert.match(top.out, new RegExp(`^  ${noun} `, 'm'));
        const h = ok(await cli([noun, '--help']), noun);
        const single = noun === 'reconcile' || noun === 'summary';
        assert.match(h.out, new RegExp(`usage: creditd admin ${noun}${single ? ' \\[' : ' <verb>'}`));
    }
    const v = ok(await cli(['pricing', 'set', '--help']));
    assert.match(v.out, /pricing set \[--mode launch\|rrp\|sale\]/);
    assert.match(top.out, /exit codes: 0 ok, 1 the API refused/);

    let r = await cli([]);
    assert.equal(r.code, 2);
    r = await cli(['nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown noun 'nonsense'/);
    r = await cli(['pricing', 'frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown verb 'frobnicate' for pricing/);
    r = await cli(['pricing', 'get', '--bogus', '1']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown option --bogus/);
    r = await cli(['accounts', 'grant', 'acct_x', 'ten', '--reason', 'r']);
    assert.equal(r.code, 2);
    assert.match(r.err, /the amount \(credits\) must be a whole number/);
    r = await cli(['pricing', 'get', '--output', '/tmp/x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--output is for exports/);
    r = await cli(['ledger', 'list', '--idempotency-key', 'k']);
    assert.equal(r.code, 2);
    r = await cli(['accounts', 'grant', 'acct_x', '10']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--reason TEXT is required/);
});

e2e('the key: environment or --key-file, never an argument; a wrong one is 1, no server is 3', async () => {
    let r = await cli(['pricing', 'get'], { env: { CREDITD_ADMIN_KEY: null } });
    assert.equal(r.code, 2);
    assert.match(r.err, /no server key: set CREDITD_ADMIN_KEY or use --key-file FILE/);

    r = await cli(['pricing', 'get', `--key=${stack.adminKey}`]);
    assert.equal(r.code, 2);
    assert.match(r.err, /never a command-line argument/);
    assert.ok(!r.err.includes(stack.adminKey));

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-cli-'));
    const file = path.join(dir, 'key');
    fs.writeFileSync(file, `${stack.adminKey}\n`, { mode: 0o600 });
    const kf = ok(await cli(['pricing', 'get', '--key-file', file], { env: { CREDITD_ADMIN_KEY: null } }), 'key file');
    assert.equal(kf.err, '');
    fs.chmodSync(file, 0o644);
    const loose = ok(await cli(['pricing', 'get', '--key-file', file], { env: { CREDITD_ADMIN_KEY: null } }));
    assert.match(loose.err, /warning: --key-file .* can be read by other users \(chmod 600 it\)/);
    r = await cli(['pricing', 'get', '--key-file', path.join(dir, 'missing')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--key-file .*missing: No such file/);
    fs.rmSync(dir, { recursive: true, force: true });

    r = await cli(['pricing', 'get'], { env: { CREDITD_ADMIN_KEY: `wrong_${rand(20)}` } });
    assert.equal(r.code, 1);
    assert.match(r.err, /^creditd admin: 401 \w+: /m);

    const port = await freePort();
    r = await cli(['pricing', 'get', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 3);
    assert.match(r.err, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+/);
});

e2e('pricing get and set: fields with money, --json is the server JSON, 400 is exit 1', async () => {
    ok(await cli(['pricing', 'set', '--mode', 'sale', '--sale-cents', '1999', '--rrp-cents', '4999']));
    const t = ok(await cli(['pricing', 'get']));
    assert.match(t.out, /^mode +sale$/m);
    assert.match(t.out, /^sale_cents +\$19\.99$/m);
    assert.match(t.out, /^rrp_cents +\$49\.99$/m);
    const j = JSON.parse(ok(await cli(['pricing', 'get', '--json'])).out);
    const api = await stack.admin('GET', '/v1/admin/pricing');
    assert.deepEqual(j, api.json);
    assert.equal(j.mode, 'sale');

    const bad = await cli(['pricing', 'set', '--mode', 'free']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /400 invalid_param: .*\(param mode\)/);
    let r = await cli(['pricing', 'set']);
    assert.equal(r.code, 2);
    ok(await cli(['pricing', 'set', '--mode', 'launch']));
});

e2e('discounts create, list, deactivate (and the API errors)', async () => {
    const code = `CLI${rand(6).toUpperCase()}`;
    const c = ok(await cli(['discounts', 'create', code, '--percent-off', '15', '--max-uses', '3']));
    assert.match(c.err, /idempotency key: cli_[0-9a-f]{24}/);
    const rows = table(c.out);
    assert.deepEqual(rows[0], ['CODE', 'OFF', 'USED', 'MAX USES', 'EXPIRES', 'ACTIVE', 'CREATED']);
    assert.deepEqual(rows[1].slice(0, 6), [code, '15%', '0', '3', '-', 'yes']);

    const c2 = `CLI${rand(6).toUpperCase()}`;
    const j = JSON.parse(ok(await cli(['discounts', 'create', c2, '--amount-off-cents', '500', '--json'])).out);
    assert.equal(j.amount_off_cents, 500);

    let r = await cli(['discounts', 'create', code, '--percent-off', '10']);
    assert.equal(r.code, 1);
    assert.match(r.err, /409 code_exists: /);
    r = await cli(['discounts', 'create', 'X', '--percent-off', '10', '--amount-off-cents', '5']);
    assert.equal(r.code, 2);

    const list = table(ok(await cli(['discounts', 'list', '--limit', '100'])).out);
    const row = list.find((x) => x[0] === c2);
    assert.deepEqual(row.slice(1, 4), ['$5.00', '0', 'unlimited']);
    const lj = JSON.parse(ok(await cli(['discounts', 'list', '--json'])).out);
    assert.ok(lj.data.some((d) => d.code === code));

    const d = table(ok(await cli(['discounts', 'deactivate', code])).out);
    assert.equal(d[1][5], 'no');
    r = await cli(['discounts', 'deactivate', 'NOSUCHCODE']);
    assert.equal(r.code, 1);
    assert.match(r.err, /404 not_found/);
});

e2e('accounts list, show, grant and debit (idempotency key printed and reusable)', async () => {
    const u = await stack.signup();
    const list = table(ok(await cli(['accounts', 'list', '--limit', '100'])).out);
    assert.deepEqual(list[0], ['ID', 'EMAIL', 'BALANCE', 'SAVED CARD', 'CREATED']);
    assert.ok(list.some((x) => x[0] === u.id && x[1] === u.email && x[2] === '0'));
    const f = JSON.parse(ok(await cli(['accounts', 'list', '--email', u.email.toUpperCase(), '--json'])).out);
    assert.deepEqual(f.data.map((a) => a.id), [u.id]);

    const g = ok(await cli(['accounts', 'grant', u.email, '500', '--reason', 'welcome gift']));
    const key = g.err.match(/idempotency key: (\S+)/)[1];
    assert.match(g.out, new RegExp(`^granted 500 credits to ${u.id}: transaction txn_\\w+, balance now 500$`, 'm'));
    const again = ok(await cli(['accounts', 'grant', u.id, '500', '--reason', 'welcome gift', '--idempotency-key', key, '--json']));
    assert.equal(JSON.parse(again.out).balance, 500, 'the same key replays, no second grant');
    assert.equal(await stack.balance(u), 500);

    let r = await cli(['accounts', 'debit', u.id, '501', '--reason', 'too much']);
    assert.equal(r.code, 1);
    assert.match(r.err, /402 insufficient_balance/);
    ok(await cli(['accounts', 'debit', u.id, '120', '--reason', 'usage']));
    assert.equal(await stack.balance(u), 380);
    r = await cli(['accounts', 'grant', u.id, '1', '--reason', 'x', '--allow-negative']);
    assert.equal(r.code, 2);
    // a grant's lot: paid, expiring in 30 days; not for debits
    ok(await cli(['accounts', 'grant', u.id, '20', '--reason', 'goodwill', '--category', 'paid', '--expires-in-days', '30']));
    const lot = (await stack.list({ id: u.id }, '/v1/lots'))[0];
    assert.deepEqual([lot.amount, lot.category, typeof lot.expires_at], [20, 'paid', 'string']);
    r = await cli(['accounts', 'debit', u.id, '1', '--reason', 'x', '--expires-in-days', '3']);
    assert.equal(r.code, 2);
    r = await cli(['accounts', 'grant', u.id, '1', '--reason', 'x', '--category', 'gift']);
    assert.equal(r.code, 1);
    assert.match(r.err, /400 invalid_param/);
    ok(await cli(['accounts', 'debit', u.id, '20', '--reason', 'usage']));

    const s = ok(await cli(['accounts', 'show', u.id])).out;
    assert.match(s, new RegExp(`^email +${u.email.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(s, /^balance +380$/m);
    assert.match(s, /^balance_display +\$3\.80$/m);
    assert.match(s, /last ledger entries:\nENTRY +AMOUNT +BALANCE AFTER +KIND/);
    assert.match(s, /-120 +380 +usage +usage/);
    const sj = JSON.parse(ok(await cli(['accounts', 'show', u.email, '--json'])).out);
    assert.equal(sj.id, u.id);
    r = await cli(['accounts', 'show', 'acct_nosuch']);
    assert.equal(r.code, 1);
    assert.match(r.err, /404 account_not_found/);
    r = await cli(['accounts', 'show', 'nobody@example.com']);
    assert.equal(r.code, 1);
    assert.match(r.err, /no account with the email address nobody@example\.com/);
});

e2e('orders list and refund: refused without --yes off a terminal, done with it', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 1000 });
    const rows = table(ok(await cli(['orders', 'list', '--account', u.id])).out);
    assert.deepEqual(rows[0], ['ID', 'ACCOUNT', 'KIND', 'STATUS', 'AMOUNT', 'DISCOUNT', 'CREDITS', 'CREATED']);
    assert.deepEqual(rows[1].slice(0, 7), [co.order_id, u.id, 'topup', 'completed', '$10.00', '$0.00', '1000']);
    const j = JSON.parse(ok(await cli(['orders', 'list', '--status', 'completed', '--limit', '1', '--json'])).out);
    assert.equal(j.limit, 1);
    let r = await cli(['orders', 'list', '--status', 'nonsense']);
    assert.equal(r.code, 1);
    assert.match(r.err, /400 invalid_param/);

    r = await cli(['orders', 'refund', co.order_id, '--amount-cents', '300'], { input: 'y\n' });
    assert.equal(r.code, 2);
    assert.match(r.err, /not confirmed: stdin is not a terminal; pass --yes/);
    assert.equal((await stack.order(u, co.order_id)).status, 'completed');

    if (haveScript) {
        r = await cli(['orders', 'refund', co.order_id, '--amount-cents', '300'], { tty: true, input: 'n\n' });
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, /Refund \$3\.00 of order ord_\w+ through Stripe\? \[y\/N\]/);
        assert.match(r.out, /not confirmed; nothing was done/);
        assert.equal((await stack.order(u, co.order_id)).status, 'completed');
        r = ok(await cli(['orders', 'refund', co.order_id, '--amount-cents', '100'], { tty: true, input: 'y\n' }));
        assert.match(r.out, /refund re_\w+ of \$1\.00/);
        await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    }
    r = ok(await cli(['orders', 'refund', co.order_id, '--amount-cents', '300', '--yes']));
    assert.match(r.out, /^refund re_\w+ of \$3\.00: ord_\w+, Stripe status \w+/m);
    assert.match(r.err, /idempotency key: cli_/);
    await stack.waitOrderStatus(u, co.order_id, 'partially_refunded');
    r = await cli(['orders', 'refund', 'ord_nosuch', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.err, /404 order_not_found/);

    const csv = ok(await cli(['orders', 'export', '--account', u.id])).out;
    assert.match(csv, /^id,account_id,kind,status,amount_cents/);
    assert.ok(csv.includes(co.order_id));
});

e2e('payments list, subscriptions list and summary: tables, filters, --json, a bad parameter is exit 1', async () => {
    const u = await stack.signup();
    const co = await stack.buy(u, { kind: 'topup', amount_cents: 2000 });
    const rows = table(ok(await cli(['payments', 'list', '--account', u.id])).out);
    assert.deepEqual(rows[0], ['ID', 'ACCOUNT', 'ORDER', 'STATUS', 'AMOUNT', 'REFUNDED', 'CARD', 'CREATED']);
    assert.equal(rows.length, 2);
    assert.match(rows[1][0], /^pay_/);
    assert.deepEqual(rows[1].slice(1, 6), [u.id, co.order_id, 'succeeded', '$20.00', '$0.00']);
    const j = JSON.parse(ok(await cli(['payments', 'list', '--status', 'succeeded', '--limit', '1', '--json'])).out);
    assert.equal(j.limit, 1);
    assert.equal(j.data.length, 1);
    let r = await cli(['payments', 'list', '--status', 'completed']);
    assert.equal(r.code, 1);
    assert.match(r.err, /400 invalid_param/);
    r = await cli(['payments', 'list', '--kind', 'topup']);
    assert.equal(r.code, 2, 'no --kind on payments');

    const cfg = await stack.config();
    const s = await stack.signup();
    const sco = await stack.checkout(s, { kind: 'subscription', plan_id: cfg.plans[0].id });
    const done = await stack.completeSession(sco.session_id);
    assert.equal(done.status, 200, done.text);
    const subId = done.json.subscription;
    const subs = await waitFor(async () => {
        const l = JSON.parse(ok(await cli(['subscriptions', 'list', '--account', s.id, '--json'])).out);
        return l.data.length && l.data[0].status === 'active' ? l : null;
    }, 10000, { what: 'the subscription listed active' });
    assert.equal(subs.data[0].stripe_subscription_id, subId);
    const srows = table(ok(await cli(['subscriptions', 'list', '--status', 'active', '--account', s.id])).out);
    assert.deepEqual(srows[0], ['SUBSCRIPTION', 'ACCOUNT', 'PLAN', 'STATUS', 'PERIOD END', 'CANCEL AT END', 'CREATED']);
    assert.deepEqual(srows[1].slice(0, 4), [subId, s.id, cfg.plans[0].id, 'active']);
    r = await cli(['subscriptions', 'list', '--status', 'nonsense']);
    assert.equal(r.code, 1);
    assert.match(r.err, /400 invalid_param/);

    // summary: the window's revenue and orders by status.
    const sum = ok(await cli(['summary'])).out;
    assert.match(sum, /^from \d{4}-\d\d-\d\dT\S+ to \d{4}-\d\d-\d\dT\S+$/m);
    const srow = table(sum).find((x) => x[0] === 'usd');
    assert.ok(srow && Number(srow[1]) >= 2, `a usd row: ${sum}`);
    assert.match(sum, /^orders by status:.* completed \d+/m);
    const sj = JSON.parse(ok(await cli(['summary', '--from', '2999-01-01T00:00:00Z', '--to', '2999-01-02T00:00:00Z', '--json'])).out);
    assert.deepEqual(sj.revenue, []);
    r = await cli(['summary', '--from', 'yesterday']);
    assert.equal(r.code, 1);
    assert.match(r.err, /400 invalid_param/);
});

e2e('ledger list, verify and export (stdout and --output); problems; reconcile', async () => {
    const u = await stack.signup();
    await stack.grant(u, 250, 'ledger, "quoted"');
    const rows = table(ok(await cli(['ledger', 'list', '--account', u.id])).out);
    assert.deepEqual(rows[0], ['ID', 'ACCOUNT', 'AMOUNT', 'BALANCE AFTER', 'KIND', 'ORDER', 'DESCRIPTION', 'CREATED']);
    assert.deepEqual(rows[1].slice(1, 7), [u.id, '250', '250', 'grant', '-', 'ledger, "quoted"']);
    const lj = JSON.parse(ok(await cli(['ledger', 'list', '--limit', '1', '--json'])).out);
    assert.equal(lj.data.length, 1);
    let r = await cli(['ledger', 'list', '--status', 'x']);
    assert.equal(r.code, 2, 'status is no ledger filter');

    const v = ok(await cli(['ledger', 'verify'])).out;
    assert.match(v, /^ok +yes$/m);
    assert.match(v, /^mismatch_count +0$/m);
    assert.equal(JSON.parse(ok(await cli(['ledger', 'verify', '--json'])).out).ok, true);

    const csv = ok(await cli(['ledger', 'export', '--account', u.id])).out;
    assert.equal(csv.split('\r\n')[0].replace(/\r?\n.*/s, ''), 'id,account_id,amount,balance_after,kind,ref,order_id,description,created_at,draws,effective_at');
    assert.ok(csv.includes('"ledger, ""quoted"""'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-cli-'));
    const out = path.join(dir, 'ledger.csv');
    r = ok(await cli(['ledger', 'export', '--output', out]));
    assert.match(r.err, /export written to/);
    assert.ok(fs.readFileSync(out, 'utf8').includes(u.id));
    assert.ok(!fs.existsSync(`${out}.part`));
    r = await cli(['ledger', 'export', '--output', path.join(dir, 'bad.csv'), '--from', 'yesterday']);
    assert.equal(r.code, 1);
    assert.ok(!fs.existsSync(path.join(dir, 'bad.csv')) && !fs.existsSync(path.join(dir, 'bad.csv.part')));
    fs.rmSync(dir, { recursive: true, force: true });

    const p = ok(await cli(['problems', 'list']));
    assert.match(p.out, /^ID +KIND +ORDER +ACCOUNT +EVENT +DETAIL +CREATED$/m);
    assert.ok(Array.isArray(JSON.parse(ok(await cli(['problems', 'list', '--json'])).out).data));

    const rc = ok(await cli(['reconcile'])).out;
    assert.match(rc, /^events_seen +\d+$/m);
    assert.match(rc, /^orders_fixed +\d+$/m);
    assert.equal(typeof JSON.parse(ok(await cli(['reconcile', '--json'])).out).events_applied, 'number');
    r = await cli(['reconcile', 'now']);
    assert.equal(r.code, 2);
});

const haveSqlite = (() => {
    try {
        execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
})();

const PG = !!process.env.CD_E2E_PG_URL;

e2e('ledger verify exits 4 and lists the mismatch when a balance is off', async () => {
    const u = await stack.signup();
    await stack.grant(u, 70);
    // The stack's database: a SQLite file, or with CD_E2E_PG_URL a
    // PostgreSQL URL (psql comes with Debian's postgresql).
    const stmt = (delta) => `UPDATE accounts SET balance = balance + (${delta}) WHERE id = '${u.id}';`;
    const sql = (delta) => (PG
        ? execFileSync('psql', [stack.dbPath, '-qAtc', stmt(delta)], { timeout: 30000 })
        : execFileSync('sqlite3', ['-cmd', '.timeout 5000', stack.dbPath, stmt(delta)]));
    sql(1);
    try {
        const r = await cli(['ledger', 'verify']);
        assert.equal(r.code, 4, r.out + r.err);
        assert.match(r.out, /^ok +no$/m);
        assert.match(r.out, new RegExp(`^  mismatch: .*${u.id}`, 'm'));
        assert.match(r.err, /the ledger check found mismatches/);
    } finally {
        sql(-1);
    }
    ok(await cli(['ledger', 'verify']));
}, { skip: !PG && !haveSqlite && 'the sqlite3 command is not installed' });

e2e('a 5xx is exit 3 with its code: reconcile while Stripe (the sandbox) is down', async () => {
    await stack.stopSandbox();
    try {
        const r = await cli(['reconcile']);
        assert.equal(r.code, 3, r.out + r.err);
        assert.match(r.err, /^creditd admin: 502 stripe_error: /m);
    } finally {
        await stack.startSandbox();
    }
    ok(await cli(['reconcile']));
});
