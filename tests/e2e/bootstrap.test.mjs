// bootstrap.test.mjs - scripts/bootstrap.sh fails when the build fails: in
// a temporary copy of the tracked tree, with a stale build/creditd left
// from an "earlier build" and a source file that no longer compiles,
// bootstrap exits non-zero and says which build failed (before, the build's
// output went through `grep ... || true` and `test -x` passed on the stale
// binary). Also: the banned-call lint (scripts/lint.sh) passes on src/ and
// its self-test proves that a hit fails it; the same for the function
// length check (scripts/funclen.mjs) and the file length check
// (scripts/filelen.mjs); every path docs/ARCHITECTURE.md and
// README.md name exists (scripts/docpaths.mjs), and a stale one fails.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, REPO } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-bootstrap-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

e2e('bootstrap.sh exits non-zero when the build fails, even with a stale binary in build/', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
        const to = path.join(tmp, f);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(REPO, f), to);
    }
    // npm ci is not what this test is about: node_modules looks current.
    fs.mkdirSync(path.join(tmp, 'node_modules'));
    const later = new Date(Date.now() + 60000);
    fs.writeFileSync(path.join(tmp, 'node_modules/.package-lock.json'), '{}');
    fs.utimesSync(path.join(tmp, 'node_modules/.package-lock.json'), later, later);
    // A binary from an "earlier build" and a header every file includes broken.
    fs.mkdirSync(path.join(tmp, 'build'));
    fs.writeFileSync(path.join(tmp, 'build/creditd'), '#!/bin/sh\necho stale\n', { mode: 0o755 });
    fs.appendFileSync(path.join(tmp, 'src/util/util.h'), '\n#error deliberately broken by bootstrap.test.mjs\n');

    const r = spawnSync('bash', ['scripts/bootstrap.sh'], {
        cwd: tmp, encoding: 'utf8', env: { ...process.env, BUILD_JOBS: '1', ASAN: '0' }, timeout: 300000,
    });
    assert.notEqual(r.status, 0, `bootstrap must fail; stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /deliberately broken/, 'the compiler error is shown');
    assert.match(r.stderr, /bootstrap: the build in build failed/);
});

e2e('scripts/lint.sh: src/ has no banned call, and a banned call fails the lint', () => {
    const self = spawnSync('bash', ['scripts/lint.sh', '--self-test'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(self.status, 0, self.stderr);
    const src = spawnSync('bash', ['scripts/lint.sh'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(src.status, 0, src.stdout + src.stderr);
    const dir = fs.mkdtempSync(path.join(tmp, 'lint-'));
    fs.writeFileSync(path.join(dir, 'banned.c'), 'void f(char *d, const char *s)\n{\n    strcpy(d, s);\n}\n');
    const bad = spawnSync('bash', ['scripts/lint.sh', dir], { cwd: REPO, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /banned\.c:3: banned call strcpy/);
    // A store code in src/api/ (or src/http/) fails too; in billing it is fine.
    for (const layer of ['api', 'billing']) {
        fs.mkdirSync(path.join(dir, 'src', layer), { recursive: true });
        fs.writeFileSync(path.join(dir, 'src', layer, 'rc.c'), 'int f(int rc)\n{\n    return rc == CD_STORE_OK;\n}\n');
    }
    const store = spawnSync('bash', ['scripts/lint.sh', path.join(dir, 'src')], { cwd: REPO, encoding: 'utf8' });
    assert.equal(store.status, 1);
    assert.match(store.stdout, /src\/api\/rc\.c:3: store code CD_STORE_OK above billing/);
    assert.doesNotMatch(store.stdout, /billing\/rc\.c/);
});

e2e('scripts/funclen.mjs: no function in src/ over 70 lines, and a longer one fails', () => {
    const self = spawnSync('node', ['scripts/funclen.mjs', '--self-test'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(self.status, 0, self.stderr);
    const src = spawnSync('node', ['scripts/funclen.mjs'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(src.status, 0, src.stdout + src.stderr);
    const dir = fs.mkdtempSync(path.join(tmp, 'funclen-'));
    const body = (n) => '    x++;\n'.repeat(n);
    fs.writeFileSync(path.join(dir, 'long.c'), `int ok(void)\n{\n${body(69)}}\nint g(int x)\n{\n${body(70)}}\n`);
    fs.writeFileSync(path.join(dir, 'long_gen.c'), `int h(int x)\n{\n${body(200)}}\n`);
    const bad = spawnSync('node', ['scripts/funclen.mjs', dir], { cwd: REPO, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout.trim(), `${dir}/long.c:74: g is 71 lines (max 70)`);
});

e2e('scripts/filelen.mjs: no file of src/ over 800 lines, and a longer one fails the lint', () => {
    const self = spawnSync('node', ['scripts/filelen.mjs', '--self-test'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(self.status, 0, self.stderr);
    const src = spawnSync('node', ['scripts/filelen.mjs'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(src.status, 0, src.stdout + src.stderr);
    const dir = fs.mkdtempSync(path.join(tmp, 'filelen-'));
    const lines = (n) => '/* x */\n'.repeat(n);
    fs.writeFileSync(path.join(dir, 'ok.c'), lines(800));
    fs.writeFileSync(path.join(dir, 'long.h'), lines(801));
    fs.writeFileSync(path.join(dir, 'big_gen.c'), lines(3000));
    const bad = spawnSync('node', ['scripts/filelen.mjs', dir], { cwd: REPO, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout.trim(), `${dir}/long.h: 801 lines (max 800)`);
    const lint = spawnSync('bash', ['scripts/lint.sh', '--self-test'], { cwd: REPO, encoding: 'utf8' });
    assert.match(lint.stdout, /filelen self-test: ok/);
});

e2e('scripts/docpaths.mjs: every path the docs name exists, and a stale one fails the lint', () => {
    const self = spawnSync('node', ['scripts/docpaths.mjs', '--self-test'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(self.status, 0, self.stdout + self.stderr);
    const docs = spawnSync('node', ['scripts/docpaths.mjs'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(docs.status, 0, docs.stdout + docs.stderr);
    const dir = fs.mkdtempSync(path.join(tmp, 'docpaths-'));
    const md = path.join(dir, 'stale.md');
    fs.writeFileSync(md, '| row | `src/billing/{ledger,no_such_noun}.c`, `src/api/*.c`, `017_holds.sql` |\n');
    const bad = spawnSync('node', ['scripts/docpaths.mjs', md], { cwd: REPO, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /stale\.md:1: src\/billing\/no_such_noun\.c/);
    assert.doesNotMatch(bad.stdout, /ledger\.c|api|017_holds/);
});
