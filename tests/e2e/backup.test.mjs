// backup.test.mjs - the backup and restore of docs/OPERATIONS.md, done
// while the server runs and writes: `creditd backup FILE` (no sqlite3
// command needed), `sqlite3 DB ".backup FILE"` and `VACUUM INTO`, then a server started on each copy has the same
// balances and a ledger that verifies. Needs the sqlite3 command (Debian
// package sqlite3); skipped without it. And the automatic copy an upgrade
// makes before it migrates an older SQLite schema.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, freePort, httpRequest, Proc, rand, runCreditd, waitFor, waitReady } from './harness.mjs';

let haveSqlite = true;
try {
    execFileSync('sqlite3', ['-version']);
} catch {
    haveSqlite = false;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-backup-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const adminKey = `cdk_e2e_${rand(16)}`;

async function serve(db, label) {
    const port = await freePort();
    const env = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8', TZ: 'UTC' };
    for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
    const p = new Proc(label, ['serve'], { ...env, CREDITD_LISTEN: `127.0.0.1:${port}`, CREDITD_DB: db, CREDITD_ADMIN_KEY: adminKey }, path.join(tmp, `${label}.log`));
    p.start();
    const base = `http://127.0.0.1:${port}`;
    await waitReady(p, `${base}/healthz`);
    const call = (method, p2, body, account) =>
        httpRequest(method, base + p2, { body, headers: { Authorization: `Bearer ${adminKey}`, ...(account ? { 'Creditd-Account': account } : {}) } });
    return { p, call };
}

async function verify(srv, label) {
    const r = await srv.call('GET', '/v1/admin/ledger/verify');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, true, `${label}: ${r.text}`);
    return r.json;
}

async function balances(srv, ids) {
    const out = [];
    for (const id of ids) {
        const r = await srv.call('GET', `/v1/admin/accounts/${id}`);
        assert.equal(r.status, 200, r.text);
        out.push(r.json.balance);
    }
    return out;
}

function sqlite(db, sql) {
    return execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();
}

e2e('a backup taken while serving (.backup and VACUUM INTO) restores to the same ledger', async () => {
    const db = path.join(tmp, 'live.db');
    const live = await serve(db, 'live');
    const ids = [];
    const copies = { dot: path.join(tmp, 'dot-backup.db'), vacuum: path.join(tmp, 'vacuum.db') };
    let final;
    try {
        for (let i = 0; i < 3; i++) {
            const s = await live.call('POST', '/v1/auth/signup', { email: `b${i}-${rand(6)}@example.com`, password: `pw-${rand(10)}` });
            assert.equal(s.status, 201, s.text);
            ids.push(s.json.account.id);
        }
        // Writes keep coming while the copies are taken.
        let writing = true;
        let n = 0;
        const writer = (async () => {
            while (writing) {
                const r = await live.call('POST', '/v1/grants', { amount: 1 + (n % 7), description: `w${n}` }, ids[n % 3]);
                assert.equal(r.status, 201, r.text);
                n++;
            }
        })();
        await waitFor(() => n >= 20, 20000, { intervalMs: 10, what: '20 grants written' });
        sqlite(db, `.backup '${copies.dot}'`);
        sqlite(db, `VACUUM INTO '${copies.vacuum}'`);
        const seen = n;
        await waitFor(() => n >= seen + 20, 20000, { intervalMs: 10, what: '20 more grants written' });
        writing = false;
        await writer;
        await verify(live, 'live');
        final = await balances(live, ids);
        sqlite(db, `.backup '${path.join(tmp, 'quiet.db')}'`);
    } finally {
        await live.p.stop();
    }
    for (const [label, copy] of Object.entries(copies)) {
        assert.equal(sqlite(copy, 'PRAGMA integrity_check'), 'ok', label);
        const restored = path.join(tmp, `restored-${label}.db`);
        fs.copyFileSync(copy, restored);
        const srv = await serve(restored, `restored-${label}`);
        try {
            const v = await verify(srv, label);
            assert.equal(v.accounts, 3, label);
            assert.ok(v.sum_entries > 0 && v.sum_entries < final.reduce((a, b) => a + b, 0), `${label}: a point in the middle of the writes`);
        } finally {
            await srv.p.stop();
        }
    }
    // A copy taken after the last write has every balance.
    const quiet = await serve(path.join(tmp, 'quiet.db'), 'restored-quiet');
    try {
        await verify(quiet, 'quiet');
        assert.deepEqual(await balances(quiet, ids), final);
    } finally {
        await quiet.p.stop();
    }
}, { skip: !haveSqlite && 'the sqlite3 command is not installed', timeout: 90000 });

e2e('creditd backup <file> while grants are written: a 0600 copy whose ledger verifies', async () => {
    const db = path.join(tmp, 'live2.db');
    const live = await serve(db, 'live2');
    const ids = [];
    const copy = path.join(tmp, 'creditd-backup.db');
    let final;
    try {
        for (let i = 0; i < 3; i++) {
            const s = await live.call('POST', '/v1/auth/signup', { email: `c${i}-${rand(6)}@example.com`, password: `pw-${rand(10)}` });
            assert.equal(s.status, 201, s.text);
            ids.push(s.json.account.id);
        }
        let writing = true;
        let n = 0;
        const writer = (async () => {
            while (writing) {
                const r = await live.call('POST', '/v1/grants', { amount: 1 + (n % 7), description: `w${n}` }, ids[n % 3]);
                assert.equal(r.status, 201, r.text);
                n++;
            }
        })();
        await waitFor(() => n >= 20, 20000, { intervalMs: 10, what: '20 grants written' });
        const r = await runCreditd(['backup', copy], { CREDITD_DB: db });
        assert.equal(r.code, 0, r.output);
        const seen = n;
        await waitFor(() => n >= seen + 20, 20000, { intervalMs: 10, what: '20 more grants written' });
        writing = false;
        await writer;
        await verify(live, 'live2');
        final = await balances(live, ids);
        // An existing file is never overwritten.
        const again = await runCreditd(['backup', copy], { CREDITD_DB: db });
        assert.equal(again.code, 1, again.output);
        assert.match(again.output, /exists/);
    } finally {
        await live.p.stop();
    }
    assert.equal(fs.statSync(copy).mode & 0o777, 0o600);
    const srv = await serve(copy, 'restored-creditd-backup');
    try {
        const v = await verify(srv, 'creditd backup');
        assert.equal(v.accounts, 3);
        assert.ok(v.sum_entries > 0 && v.sum_entries < final.reduce((a, b) => a + b, 0), 'a point in the middle of the writes');
    } finally {
        await srv.p.stop();
    }
}, { timeout: 90000 });

e2e('creditd backup refuses a PostgreSQL URL and points to pg_dump', async () => {
    const r = await runCreditd(['backup', path.join(tmp, 'pg.db')], { CREDITD_DB: 'postgres://u@localhost/creditd' });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /pg_dump/);
    assert.ok(!fs.existsSync(path.join(tmp, 'pg.db')));
});

e2e('serve and migrate copy an older SQLite schema before migrating it (CREDITD_BACKUP_BEFORE_MIGRATE)', async () => {
    const db = path.join(tmp, 'upgrade.db');
    const sql = (q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();
    assert.equal((await runCreditd(['migrate'], { CREDITD_DB: db })).code, 0);
    const latest = Number(sql('SELECT MAX(version) FROM schema_migrations'));
    const prev = Number(sql(`SELECT MAX(version) FROM schema_migrations WHERE version < ${latest}`));
    const copies = () => fs.readdirSync(tmp).filter((f) => f.startsWith('upgrade.db.pre-'));
    assert.deepEqual(copies(), [], 'a new database is not copied');
    // The database as the previous release left it: every migration but
    // the last, run from its own file (whatever the last one does - a new
    // table, a dropped index - the schema is exactly the one before it).
    const ddl = sql("SELECT sql FROM sqlite_master WHERE name = 'schema_migrations'");
    const applied = sql(`SELECT version || '|' || name FROM schema_migrations WHERE version < ${latest} ORDER BY version`)
        .split('\n').map((l) => l.split('|'));
    const migrations = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'store', 'migrations');
    const downgrade = () => {
        for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
        let script = `${ddl};\n`;
        for (const [v, name] of applied) {
            script += `${fs.readFileSync(path.join(migrations, `${name}.sql`), 'utf8')}\n;\n`;
            script += `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${v}, '${name}', 0);\n`;
        }
        execFileSync('sqlite3', [db], { input: script, encoding: 'utf8' });
        assert.equal(Number(sql('SELECT MAX(version) FROM schema_migrations')), prev);
    };
    downgrade();
    sql("INSERT INTO settings (key, value, updated_at) VALUES ('upgrade-marker', 'before', 0)");

    const m = await runCreditd(['migrate'], { CREDITD_DB: db });
    assert.equal(m.code, 0, m.output);
    const [copy] = copies();
    assert.match(copy || '', new RegExp(`^upgrade\\.db\\.pre-v${latest}-\\d{8}T\\d{6}Z\\.bak$`));
    assert.match(m.output, new RegExp(`backup before migrating written to .*${copy.replace(/\./g, '\\.')}`));
    assert.equal(fs.statSync(path.join(tmp, copy)).mode & 0o777, 0o600);
    const old = (q) => execFileSync('sqlite3', [path.join(tmp, copy), q], { encoding: 'utf8' }).trim();
    assert.equal(Number(old('SELECT MAX(version) FROM schema_migrations')), prev, 'the copy is the schema before');
    assert.equal(old("SELECT value FROM settings WHERE key = 'upgrade-marker'"), 'before');
    assert.equal(Number(sql('SELECT MAX(version) FROM schema_migrations')), latest, 'then migrated');

    // Current now: no second copy, from migrate or serve.
    assert.equal((await runCreditd(['migrate'], { CREDITD_DB: db })).code, 0);
    const srv = await serve(db, 'after-upgrade');
    await srv.p.stop();
    assert.equal(copies().length, 1);

    // Off: no copy; and a copy that cannot be written stops the migration.
    downgrade();
    assert.equal((await runCreditd(['migrate'], { CREDITD_DB: db, CREDITD_BACKUP_BEFORE_MIGRATE: '0' })).code, 0);
    assert.equal(copies().length, 1);
    downgrade();
    // Every name the copy could take in the next 20 s is taken (the copy
    // never overwrites): the migration must not run.
    const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
    for (let i = 0; i < 20; i++) fs.writeFileSync(`${db}.pre-v${latest}-${stamp(Date.now() + i * 1000)}.bak`, 'taken');
    const r = await runCreditd(['migrate'], { CREDITD_DB: db });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /no backup before migrating: .*CREDITD_BACKUP_BEFORE_MIGRATE=0/);
    assert.equal(Number(sql('SELECT MAX(version) FROM schema_migrations')), prev, 'not migrated without its copy');
}, { skip: !haveSqlite && 'the sqlite3 command is not installed', timeout: 60000 });
