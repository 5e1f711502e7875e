// install.test.mjs - `cmake --install` with DESTDIR lays out the binary,
// the web UI, the systemd unit and the man page creditd(1) generated from
// the settings table; the installed unit passes `systemd-analyze verify`
// (skipped when the command is missing), and the installed binary runs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { BIN, e2e } from './harness.mjs';

const BUILD = path.dirname(BIN);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-install-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let installed = false;

function install() {
    if (installed) return;
    execFileSync('cmake', ['--install', BUILD, '--prefix', '/usr'], { env: { ...process.env, DESTDIR: root }, stdio: 'pipe' });
    installed = true;
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

e2e('DESTDIR install: binary, web/, unit and a man page from the settings table', () => {
    install();
    const bin = path.join(root, 'usr/bin/creditd');
    assert.ok(fs.statSync(bin).mode & 0o111, 'the binary is executable');
    assert.match(execFileSync(bin, ['version'], { encoding: 'utf8' }), /^creditd .*schema version \d+/);
    for (const f of ['index.html', 'admin.html']) assert.ok(fs.existsSync(path.join(root, 'usr/share/creditd/web', f)), f);
    const unit = fs.readFileSync(path.join(root, 'usr/lib/systemd/system/creditd.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/creditd serve$/m);
    assert.match(unit, /^Environment=CREDITD_WEB_DIR=\/usr\/share\/creditd\/web$/m);
    for (const d of ['DynamicUser=yes', 'StateDirectory=creditd', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes'])
        assert.match(unit, new RegExp(`^${d}$`, 'm'), d);
    const man = fs.readFileSync(path.join(root, 'usr/share/man/man1/creditd.1'), 'utf8');
    assert.match(man, /^\.TH CREDITD 1/);
    // Every setting of `creditd help` is in the man page.
    const help = execFileSync(bin, ['help'], { encoding: 'utf8' });
    const names = [...help.matchAll(/^ {2}((?:CREDITD|STRIPE|PRICE|CURRENCY|SANDBOX)[A-Z0-9_]*)/gm)].map((m) => m[1]);
    assert.ok(names.length > 20, `settings in help: ${names.length}`);
    for (const n of names) assert.ok(man.includes(`.B ${n.replaceAll('-', '\\-')}\n`), `${n} in creditd.1`);
});

e2e('the installed unit passes systemd-analyze verify', () => {
    install();
    // verify resolves ExecStart on this machine: point it at the DESTDIR
    // binary in a copy; everything else is the installed unit. --man=no:
    // Documentation=man:creditd(1) is in DESTDIR, not in this man path.
    const unit = fs.readFileSync(path.join(root, 'usr/lib/systemd/system/creditd.service'), 'utf8')
        .replace(/^ExecStart=\/usr\/bin\/creditd/m, `ExecStart=${path.join(root, 'usr/bin/creditd')}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creditd-unit-'));
    const f = path.join(dir, 'creditd.service');
    fs.writeFileSync(f, unit);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', f], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    // Nothing about our unit (messages about other units on the host are not ours).
    assert.doesNotMatch(out, /creditd\.service:/, out);
}, { skip: !hasSystemdAnalyze && 'systemd-analyze is not installed' });
