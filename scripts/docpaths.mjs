#!/usr/bin/env node
// Every repository path the guide pages name must exist, so a stale row
// fails the lint (issue 12). Reads docs/ARCHITECTURE.md and README.md (or
// the files given), takes each src/..., tests/..., scripts/..., bench/...,
// docs/..., web/... path and checks it against the tree:
//   - a brace list expands: src/billing/{ledger,lots}.c is two paths;
//   - `*` is a glob and `<word>` / `NNN` are placeholders: each must match
//     at least one file (src/store/*.c, tests/unit/test_<layer>_<name>.c,
//     src/store/migrations/NNN_<name>.sql);
//   - a trailing `/` names a directory;
//   - a path .gitignore lists from the root (`/tests/browser/screenshots/`)
//     is made by a run, not committed, and is not checked.
// A migration named alone (`016_lots.sql`) must exist in both dialects,
// src/store/migrations/ and src/store/migrations/pg/.
// Prints file:line: path for each missing one and exits 1 when there is one.
//   node scripts/docpaths.mjs [file...]    (from any directory)
//   node scripts/docpaths.mjs --self-test  (proves a missing path fails)
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOTS = ['src', 'tests', 'scripts', 'bench', 'docs', 'web'];
const PATH_RE = new RegExp(
  `(?<![A-Za-z0-9_./{}-])(?:${ROOTS.join('|')})/[A-Za-z0-9_./{},*<>-]*`, 'g');

// src/a/{b,c}.c -> [src/a/b.c, src/a/c.c] (nested lists too).
function expandBraces(p) {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  const head = p.slice(0, m.index), tail = p.slice(m.index + m[0].length);
  return m[1].split(',').flatMap((alt) => expandBraces(head + alt + tail));
}

// A path as written in prose ends before punctuation that closes a
// sentence or a list; "src/" alone and "docs/" alone are directories.
function clean(raw) {
  let p = raw;
  while (/[.,]$/.test(p)) p = p.slice(0, -1);
  return p;
}

function segmentRe(seg) {
  const esc = seg.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  const re = esc.replace(/<[^<>]*>/g, '.+').replace(/NNN/g, '[0-9]{3}')
    .replace(/\*/g, '.*');
  return new RegExp(`^${re}$`);
}

function isPattern(seg) {
  return /[*<>]|NNN/.test(seg);
}

// Does rel (relative to root) name something in the tree?
function exists(root, rel) {
  const wantDir = rel.endsWith('/');
  const segs = rel.split('/').filter(Boolean);
  let dirs = [root];
  for (let i = 0; i < segs.length; i++) {
    const last = i === segs.length - 1;
    const next = [];
    for (const d of dirs) {
      if (!isPattern(segs[i])) {
        const q = path.join(d, segs[i]);
        if (fs.existsSync(q)) next.push(q);
        continue;
      }
      let names = [];
      try { names = fs.readdirSync(d); } catch { continue; }
      const re = segmentRe(segs[i]);
      for (const n of names) if (re.test(n)) next.push(path.join(d, n));
    }
    dirs = next;
    if (!dirs.length) return false;
    if (last && wantDir)
      return dirs.some((q) => fs.statSync(q).isDirectory());
  }
  return true;
}

// The root-anchored entries of .gitignore: outputs a run creates.
function ignoredPrefixes(root) {
  let text = '';
  try { text = fs.readFileSync(path.join(root, '.gitignore'), 'utf8'); } catch {}
  return text.split('\n').map((l) => l.trim())
    .filter((l) => l.startsWith('/') && !/[*?[]/.test(l)).map((l) => l.slice(1));
}

const MIGRATION_RE = /(?<![A-Za-z0-9_./-])[0-9]{3}_[a-z0-9_]+\.sql/g;
const MIGRATION_DIRS = ['src/store/migrations', 'src/store/migrations/pg'];

export function missingPaths(root, file) {
  const bad = [];
  const ignored = ignoredPrefixes(root);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(PATH_RE)) {
      for (const p of expandBraces(clean(m[0]))) {
        if (ignored.some((g) => p === g || p.startsWith(g.replace(/\/?$/, '/'))))
          continue;
        if (/[{}]/.test(p) || !exists(root, p))
          bad.push(`${file}:${i + 1}: ${p}`);
      }
    }
    for (const m of line.matchAll(MIGRATION_RE)) {
      for (const d of MIGRATION_DIRS)
        if (!fs.existsSync(path.join(root, d, m[0])))
          bad.push(`${file}:${i + 1}: ${d}/${m[0]}`);
    }
  });
  return bad;
}

function selfTest() {
  const t = fs.mkdtempSync(path.join(os.tmpdir(), 'docpaths-'));
  try {
    fs.mkdirSync(path.join(t, 'src/store/migrations/pg'), { recursive: true });
    for (const f of ['src/store/a.c', 'src/store/b.c',
      'src/store/migrations/001_init.sql', 'src/store/migrations/pg/001_init.sql',
      'src/store/migrations/002_half.sql'])
      fs.writeFileSync(path.join(t, f), '');
    fs.writeFileSync(path.join(t, '.gitignore'), '/build/\n/src/out/\n');
    const ok = path.join(t, 'ok.md');
    fs.writeFileSync(ok, '| x | `src/store/{a,b}.c`, `src/store/*.c`, ' +
      'src/store/migrations/NNN_<name>.sql and src/store/. Also ' +
      'not/src/x.c and `src/` and src/out/x made by a run; `001_init.sql`\n');
    const bad = path.join(t, 'bad.md');
    fs.writeFileSync(bad, 'intro\n`src/store/{a,gone}.c` and src/none/\n' +
      'table `002_half.sql`\n');
    const r1 = missingPaths(t, ok), r2 = missingPaths(t, bad);
    const want = [`${bad}:2: src/store/gone.c`, `${bad}:2: src/none/`,
      `${bad}:3: src/store/migrations/pg/002_half.sql`];
    if (r1.length || JSON.stringify(r2) !== JSON.stringify(want)) {
      console.error('docpaths self-test failed:', r1, r2);
      process.exit(1);
    }
    console.log('docpaths self-test: ok');
  } finally {
    fs.rmSync(t, { recursive: true, force: true });
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args[0] === '--self-test') {
  selfTest();
} else {
  const files = args.length ? args : ['docs/ARCHITECTURE.md', 'README.md'];
  const bad = files.flatMap((f) => missingPaths(root, path.resolve(root, f)));
  for (const b of bad) console.log(path.relative(root, b.split(':')[0]) +
    b.slice(b.split(':')[0].length));
  if (bad.length) {
    console.error('docpaths: paths named in the docs are missing ' +
      '(see scripts/docpaths.mjs)');
    process.exit(1);
  }
}
