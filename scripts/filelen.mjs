// filelen.mjs - reports every file of src/**/*.{c,h} longer than 800 lines
// (issue 12: "no file of src/ over ~800 lines"; a file that grows past it
// is split by noun, as store.h into its store_<noun>.h headers).
// Generated files (*_gen.c, such as src/sandbox/shapes_gen.c) are skipped.
// A file's length is its number of lines (a last line without its newline
// counts). Prints file: N lines (max 800) for each and exits 1 when there
// is one, 0 otherwise. No dependencies.
//   node scripts/filelen.mjs [dir-or-file...]   (default: src/)
//   node scripts/filelen.mjs --self-test        (proves a long one fails)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { main, root, shown, sourceFiles } from './srcwalk.mjs';

const MAX = 800;

// The number of lines of a file's text.
export function lineCount(text) {
    if (text === '')
        return 0;
    const n = text.split('\n').length;
    return text.endsWith('\n') ? n - 1 : n;
}

// Findings ('file: ...', file relative to base) for the files under paths.
export function scan(paths, base) {
    const findings = [];
    for (const file of sourceFiles(paths, /\.[ch]$/)) {
        const n = lineCount(readFileSync(file, 'utf8'));
        if (n > MAX)
            findings.push(`${shown(base, file)}: ${n} lines (max ${MAX})`);
    }
    return findings;
}

function selfTest() {
    const dir = mkdtempSync(join(tmpdir(), 'filelen-'));
    try {
        const lines = (n) => Array.from({ length: n }, (_, i) => `/* ${i} */`).join('\n') + '\n';
        mkdirSync(join(dir, 'sub'));
        writeFileSync(join(dir, 'ok.c'), lines(MAX));
        writeFileSync(join(dir, 'sub', 'long.h'), lines(MAX + 1));
        writeFileSync(join(dir, 'long.c'), lines(MAX) + 'int x;'); // no last newline
        writeFileSync(join(dir, 'shapes_gen.c'), lines(5000));
        writeFileSync(join(dir, 'notes.md'), lines(5000));
        const got = scan([dir], dir);
        const want = [`long.c: ${MAX + 1} lines (max ${MAX})`,
                      `sub/long.h: ${MAX + 1} lines (max ${MAX})`];
        if (JSON.stringify(got) !== JSON.stringify(want))
            throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function check(paths) {
    const findings = scan(paths, root);
    for (const f of findings)
        console.log(f);
    if (findings.length)
        console.error(`filelen: ${findings.length} file(s) over ${MAX} lines: split them by noun ` +
                      '(docs/ARCHITECTURE.md, "Where a new behaviour goes")');
    return findings.length > 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
    main('filelen', selfTest, check);
