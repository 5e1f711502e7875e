// cycles.mjs - fails when the files of src/ include (or, with --calls,
// call) each other in a cycle
// (issue 12: "no include or call cycle between files").
//
// A module is a file without its extension (billing/ledger = ledger.c +
// ledger.h); there is an edge A -> B when A.c or A.h includes B.h, as
// "x.h" next to the file or "dir/x.h" from src/. A private header belongs
// to its noun: X_int.h is part of X, and a directory's internal.h is part
// of the module named after the directory (sandbox/internal.h is part of
// sandbox/sandbox), so X <-> X_int is not a cycle. Every strongly
// connected group of modules is reported as cycles (a -> b -> a), one
// through each of its edges, each with the #include lines that make it.
//
//   node scripts/cycles.mjs [dir]        (default: src/) exit 1 on a cycle
//   node scripts/cycles.mjs --self-test  (a fixture with and without one)
//   node scripts/cycles.mjs --calls [build/]  the same for calls, from the
//                                        build's objects (nm)
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync,
         rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const INCLUDE = /^\s*#\s*include\s+"([^"]+)"/;

function sources(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.[ch]$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

// The module of a path relative to the root (no extension), private
// headers folded into their noun.
function moduleOf(rel, exists) {
  const m = rel.replace(/\.[ch]$/, '');
  const priv = /^(.*)_int$/.exec(m);
  if (priv && exists(priv[1])) return priv[1];
  if (basename(m) === 'internal' && dirname(m) !== '.') {
    const noun = join(dirname(m), basename(dirname(m)));
    if (exists(noun)) return noun;
  }
  return m;
}

// { edges: Map(module -> Map(module -> [{file, line, text}])), files }
export function graph(root) {
  const files = sources(root);
  const rels = new Set(files.map((f) => relative(root, f)));
  const exists = (m) => rels.has(`${m}.c`) || rels.has(`${m}.h`);
  const edges = new Map();
  for (const f of files) {
    const rel = relative(root, f);
    const from = moduleOf(rel, exists);
    if (!edges.has(from)) edges.set(from, new Map());
    readFileSync(f, 'utf8').split('\n').forEach((text, i) => {
      const inc = INCLUDE.exec(text);
      if (!inc) return;
      let target = normalize(join(dirname(rel), inc[1]));
      if (!rels.has(target)) target = normalize(inc[1]);
      if (!rels.has(target)) return; // a system or generated header
      const to = moduleOf(target, exists);
      if (to === from) return;
      const out = edges.get(from);
      if (!out.has(to)) out.set(to, []);
      out.get(to).push({ file: rel, line: i + 1, text: text.trim() });
    });
  }
  return { edges, files: files.length };
}

// Tarjan's strongly connected components (iterative), those of 2 or more.
function groups(edges) {
  const index = new Map(), low = new Map(), stack = [], on = new Set();
  const out = [];
  let n = 0;
  const succ = (v) => [...(edges.get(v)?.keys() ?? [])].sort();
  for (const start of [...edges.keys()].sort()) {
    if (index.has(start)) continue;
    const work = [[start, succ(start), 0]];
    index.set(start, n); low.set(start, n++); stack.push(start); on.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const [v, next] = top;
      if (top[2] < next.length) {
        const w = next[top[2]++];
        if (!index.has(w)) {
          index.set(w, n); low.set(w, n++); stack.push(w); on.add(w);
          work.push([w, succ(w), 0]);
        } else if (on.has(w)) {
          low.set(v, Math.min(low.get(v), index.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1][0];
        low.set(u, Math.min(low.get(u), low.get(v)));
      }
      if (low.get(v) === index.get(v)) {
        const comp = [];
        let w;
        do { w = stack.pop(); on.delete(w); comp.push(w); } while (w !== v);
        if (comp.length > 1) out.push(comp.sort());
      }
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

// The shortest path from a to b inside the group (BFS), a and b included.
function path(edges, inside, a, b) {
  const prev = new Map([[a, null]]);
  const queue = [a];
  while (queue.length) {
    const v = queue.shift();
    if (v === b) break;
    for (const w of [...(edges.get(v)?.keys() ?? [])].sort())
      if (inside.has(w) && !prev.has(w)) { prev.set(w, v); queue.push(w); }
  }
  const p = [];
  for (let v = b; v !== null; v = prev.get(v)) p.unshift(v);
  return p;
}

// Cycles covering every edge of every group: [[a, b, ..., a], ...].
export function cycles(edges) {
  const out = [], seen = new Set();
  for (const comp of groups(edges)) {
    const inside = new Set(comp);
    for (const u of comp) {
      for (const v of [...edges.get(u).keys()].sort()) {
        if (!inside.has(v)) continue;
        const c = [u, ...path(edges, inside, v, u)];
        const ring = c.slice(0, -1);
        const k = ring.indexOf([...ring].sort()[0]);
        const key = [...ring.slice(k), ...ring.slice(0, k)].join(' ');
        if (!seen.has(key)) { seen.add(key); out.push(c); }
      }
    }
  }
  return out;
}

// --calls: the same graph from a build's object files (nm): A -> B when
// an object of src/A.c uses a global symbol that src/B.c defines. Only
// src/ objects count, each source once; a private header's noun is folded
// as above. scripts/test.sh runs it after the build.
export function callGraph(build, root) {
  const objs = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.c.o') && p.includes(`${sep}src${sep}`)) objs.push(p);
    }
  };
  walk(build);
  const rels = new Set(sources(root).map((f) => relative(root, f)));
  const exists = (m) => rels.has(`${m}.c`) || rels.has(`${m}.h`);
  const defs = new Map(), uses = new Map();
  for (const o of objs.sort()) {
    const rel = o.slice(o.lastIndexOf(`${sep}src${sep}`) + 5, -2);
    if (!rels.has(rel)) continue;
    const m = moduleOf(rel, exists);
    if (uses.has(`${m}\0${rel}`)) continue; // the same source in two targets
    uses.set(`${m}\0${rel}`, []);
    const nm = spawnSync('nm', ['-P', o], { encoding: 'utf8' });
    if (nm.status !== 0) throw new Error(`nm ${o}: ${nm.stderr}`);
    for (const line of nm.stdout.split('\n')) {
      const [sym, type] = line.split(' ');
      if (type === 'U') uses.get(`${m}\0${rel}`).push(sym);
      else if (/^[TDBRCVW]$/.test(type ?? '')) defs.set(sym, m);
    }
  }
  const edges = new Map();
  for (const [key, syms] of uses) {
    const [from, rel] = key.split('\0');
    if (!edges.has(from)) edges.set(from, new Map());
    for (const sym of syms) {
      const to = defs.get(sym);
      if (!to || to === from) continue;
      const out = edges.get(from);
      if (!out.has(to)) out.set(to, []);
      out.get(to).push({ file: `${rel}.c`, text: sym });
    }
  }
  return { edges, files: uses.size };
}

function report(root, build) {
  const { edges, files } = build ? callGraph(build, root) : graph(root);
  const what = build ? 'call' : 'include';
  const found = cycles(edges);
  for (const c of found) {
    console.log(`${build ? 'call ' : ''}cycle: ${c.join(' -> ')}`);
    for (let i = 0; i + 1 < c.length; i++) {
      const by = edges.get(c[i]).get(c[i + 1]);
      if (build)
        console.log(`  ${c[i]} -> ${c[i + 1]}: ${[...new Set(by.map((u) => u.text))].sort().join(', ')}`);
      else
        for (const inc of by) console.log(`  ${join(root, inc.file)}:${inc.line}: ${inc.text}`);
    }
  }
  if (found.length) {
    console.error(`cycles: ${found.length} ${what} cycle(s) between files ` +
                  `of ${root} (see scripts/cycles.mjs)`);
    return 1;
  }
  const n = [...edges.values()].reduce((s, m) => s + m.size, 0);
  console.log(`cycles: no ${what} cycle (${files} files, ${edges.size} ` +
              `modules, ${n} edges)`);
  return 0;
}

function selfTest() {
  const t = mkdtempSync(join(tmpdir(), 'cycles-'));
  const put = (rel, text) => {
    mkdirSync(dirname(join(t, rel)), { recursive: true });
    writeFileSync(join(t, rel), text);
  };
  const fail = (why) => { throw new Error(`cycles self-test: ${why}`); };
  try {
    // No cycle: private headers fold into their noun; a system header and
    // an include in a comment's text are not edges.
    put('a/low.h', '#include <stdio.h>\n * #include "a/high.h" (a comment)\n');
    put('a/low.c', '#include "a/low.h"\n#include "low_int.h"\n');
    put('a/low_int.h', '#include "a/low.h"\n');
    put('a/high.c', '#include "a/high.h"\n#include "low.h"\n');
    put('a/high.h', '');
    put('sb/sb.h', '');
    put('sb/internal.h', '#include "sb/sb.h"\n');
    put('sb/sb.c', '#include "sb/internal.h"\n');
    let { edges } = graph(t);
    if (cycles(edges).length)
      fail(`a tree without a cycle has one: ${JSON.stringify(cycles(edges))}`);
    if (!edges.get('a/high').has('a/low') || edges.has('a/low_int') ||
        edges.has('sb/internal'))
      fail('the edges or the private-header folding are wrong');
    // A cycle: low.c includes high.h.
    put('a/low.c', '#include "a/low.h"\n#include "low_int.h"\n\n#include "a/high.h"\n');
    ({ edges } = graph(t));
    const c = cycles(edges);
    if (c.length !== 1 || c[0].join(' -> ') !== 'a/high -> a/low -> a/high')
      fail(`expected a/high -> a/low -> a/high, got ${JSON.stringify(c)}`);
    const inc = edges.get('a/low').get('a/high');
    if (inc.length !== 1 || inc[0].file !== join('a', 'low.c') || inc[0].line !== 4)
      fail(`expected the include at a/low.c:4, got ${JSON.stringify(inc)}`);
    // Calls, from objects: a.c calls b(); then b.c calls a() too.
    const cc = (rel, text) => {
      put(`src/${rel}`, text);
      const o = join(t, 'build', 'CMakeFiles', 'x.dir', 'src', `${rel}.o`);
      mkdirSync(dirname(o), { recursive: true });
      const r = spawnSync('cc', ['-c', '-o', o, join(t, 'src', rel)], { encoding: 'utf8' });
      if (r.status !== 0) fail(`cc ${rel}: ${r.stderr}`);
    };
    cc('p/a.c', 'int b(void);\nint a(void) { return b(); }\n');
    cc('p/b.c', 'int b(void) { return 1; }\n');
    ({ edges } = callGraph(join(t, 'build'), join(t, 'src')));
    if (cycles(edges).length || !edges.get('p/a').has('p/b'))
      fail(`calls: expected only p/a -> p/b, got ${JSON.stringify([...edges])}`);
    cc('p/b.c', 'int a(void);\nint b(void) { return 1; }\nint c(void) { return a(); }\n');
    ({ edges } = callGraph(join(t, 'build'), join(t, 'src')));
    if (cycles(edges).map((x) => x.join(' -> ')).join() !== 'p/a -> p/b -> p/a')
      fail(`calls: expected p/a -> p/b -> p/a, got ${JSON.stringify(cycles(edges))}`);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
  console.log('cycles self-test: ok');
  return 0;
}

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const arg = process.argv[2];
  if (arg === '--self-test') process.exit(selfTest());
  const calls = arg === '--calls';
  const build = calls ? (process.argv[3] ?? join(rootDir, 'build')) : null;
  const dir = calls ? join(rootDir, 'src') : arg ?? join(rootDir, 'src');
  for (const d of [dir, build].filter(Boolean))
    if (!existsSync(d)) { console.error(`cycles: no such directory: ${d}`); process.exit(2); }
  process.exit(report(relative(process.cwd(), dir) || '.', build));
}
