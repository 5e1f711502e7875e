// funclen.mjs - reports every function in src/**/*.c longer than 70 lines
// (issue 12: "functions over ~70 lines are split where that reads better").
// A function is a `{` alone at column 0 up to the next `}` alone at column
// 0 (the style of every file here); its length is the lines after the `{`
// up to and including the `}`. Its name is the identifier before the first
// `(` of the signature (the lines from the last one starting at column 0).
// Generated files (*_gen.c, such as src/sandbox/shapes_gen.c) are skipped.
// Prints file:line: name is N lines (max 70) for each and exits 1 when
// there is one, 0 otherwise. No dependencies.
//   node scripts/funclen.mjs [dir-or-file...]   (default: src/)
//   node scripts/funclen.mjs --self-test        (proves a long one fails)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { main, root, shown, sourceFiles } from './srcwalk.mjs';

const MAX = 70;

// Functions that truly read better whole, as 'path:name': 'why'. Keep it
// short; an entry whose function is back under the limit is reported (as
// a note) so that it can go.
const EXEMPT = {
    // none today; a function that truly reads better whole is listed here
    // as 'src/<file>.c:<name>': '<why>'
};

// The function name of the body opening at lines[open]: the last line at
// column 0 before it starts the signature; null when it has no '(' (a
// struct or an initializer with its brace on a line of its own).
function nameBefore(lines, open) {
    let j = open - 1;
    while (j >= 0 && !/^[A-Za-z_]/.test(lines[j]))
        j--;
    if (j < 0)
        return null;
    const sig = lines.slice(j, open).join(' ');
    const m = /([A-Za-z_]\w*)\s*\(/.exec(sig);
    return m ? m[1] : null;
}

// [{line, name, length}] of the functions of one file's text.
export function functions(text) {
    const lines = text.split('\n');
    const out = [];
    let open = -1;
    for (let i = 0; i < lines.length; i++) {
        const l = lines[i].replace(/\s+$/, '');
        if (l === '{') {
            open = i;
        } else if (l === '}' && open >= 0) {
            const name = nameBefore(lines, open);
            if (name)
                out.push({ line: open + 1, name, length: i - open });
            open = -1;
        }
    }
    return out;
}

// Findings ('file:line: ...', file relative to base) for the files under
// paths, and notes on the exemptions that matched nothing.
export function scan(paths, base, exempt) {
    const findings = [], seen = new Set();
    for (const file of sourceFiles(paths, /\.c$/)) {
        const rel = relative(base, file);
        for (const f of functions(readFileSync(file, 'utf8'))) {
            const key = `${rel}:${f.name}`;
            if (f.length <= MAX)
                continue;
            if (exempt[key]) {
                seen.add(key);
                continue;
            }
            findings.push(`${shown(base, file)}:${f.line}: ${f.name} is ${f.length} lines (max ${MAX})`);
        }
    }
    const notes = Object.keys(exempt).filter((k) => !seen.has(k))
        .map((k) => `funclen: exemption ${k} is no longer needed (or the function is gone): remove it`);
    return { findings, notes };
}

function selfTest() {
    const dir = mkdtempSync(join(tmpdir(), 'funclen-'));
    try {
        const body = (n) => Array.from({ length: n - 1 }, (_, i) => `    x += ${i};`).join('\n');
        writeFileSync(join(dir, 'a.c'), [
            'struct s', '{', body(80), '};', // no '(': not a function
            'static int short_one(int a,', '                     int b)', '{', body(MAX), '}',
            '/* a comment */', 'int long_one(void)', '{', body(MAX + 1), '}',
            'static void', 'kept_whole(void)', '{', body(90), '}',
        ].join('\n') + '\n');
        writeFileSync(join(dir, 'b_gen.c'), `void gen(void)\n{\n${body(200)}\n}\n`);
        writeFileSync(join(dir, 'note.h'), `void h(void)\n{\n${body(200)}\n}\n`);
        const { findings, notes } = scan([dir], dir, { 'a.c:kept_whole': 'test', 'a.c:gone': 'test' });
        const want = [`a.c:158: long_one is ${MAX + 1} lines (max ${MAX})`];
        if (JSON.stringify(findings) !== JSON.stringify(want))
            throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(findings)}`);
        if (notes.length !== 1 || !notes[0].includes('a.c:gone'))
            throw new Error(`expected a note on the stale exemption, got ${JSON.stringify(notes)}`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function check(paths, whole) {
    const { findings, notes } = scan(paths, root, EXEMPT);
    if (whole) // a part of the tree leaves other exemptions unseen
        for (const n of notes)
            console.error(n);
    for (const f of findings)
        console.log(f);
    if (findings.length)
        console.error(`funclen: ${findings.length} function(s) over ${MAX} lines: split them ` +
                      '(or, if one truly reads better whole, add it to EXEMPT in scripts/funclen.mjs with why)');
    return findings.length > 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
    main('funclen', selfTest, check);
