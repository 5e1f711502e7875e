// cycles.test.mjs - scripts/cycles.mjs (issue 12, "no include or call cycle
// between files"): src/ has no include cycle, build/'s objects no call
// cycle, its self-test passes, and a tree
// with one fails the check with the cycle as a path and the #include lines
// that make it, while a private header (X_int.h) is no cycle with X.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { e2e, REPO } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-cycles-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cycles = (...args) =>
    spawnSync('node', ['scripts/cycles.mjs', ...args], { cwd: REPO, encoding: 'utf8' });

e2e('scripts/cycles.mjs: src/ has no include cycle between files; the self-test passes', () => {
    const self = cycles('--self-test');
    assert.equal(self.status, 0, self.stdout + self.stderr);
    const src = cycles();
    assert.equal(src.status, 0, src.stdout + src.stderr);
    assert.match(src.stdout, /^cycles: no include cycle \(\d+ files, \d+ modules, \d+ edges\)/);
});

e2e('scripts/cycles.mjs --calls: the objects of build/ call each other in no cycle', () => {
    const r = cycles('--calls', path.join(REPO, 'build'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^cycles: no call cycle \(\d+ files/);
}, { skip: !fs.existsSync(path.join(REPO, 'build', 'CMakeFiles')) && 'no build/' });

e2e('scripts/cycles.mjs: a cycle fails with its path and #include lines; a private header is none', () => {
    const put = (rel, text) => {
        fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
        fs.writeFileSync(path.join(tmp, rel), text);
    };
    put('b/ledger.h', '#include "b/billing.h"\n');
    put('b/ledger.c', '#include "b/ledger.h"\n#include "ledger_int.h"\n');
    put('b/ledger_int.h', '#include "b/ledger.h"\n');
    put('b/billing.h', '');
    put('b/outbox.h', '#include "b/ledger.h"\n');
    put('b/outbox.c', '#include "b/outbox.h"\n');
    const ok = cycles(tmp);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);

    put('b/ledger.c', '#include "b/ledger.h"\n#include "ledger_int.h"\n#include "b/outbox.h"\n');
    const bad = cycles(tmp);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^cycle: b\/ledger -> b\/outbox -> b\/ledger$/m);
    assert.match(bad.stdout, /b\/ledger\.c:3: #include "b\/outbox\.h"/);
    assert.match(bad.stdout, /b\/outbox\.h:1: #include "b\/ledger\.h"/);
    assert.match(bad.stderr, /1 include cycle/);
});
