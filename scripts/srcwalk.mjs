// srcwalk.mjs - what scripts/funclen.mjs and scripts/filelen.mjs share:
// the repository root, the source files under some paths (a walk in name
// order, generated *_gen.c files such as src/sandbox/shapes_gen.c left
// out), a file's path as a finding shows it, and the command's frame
// (--self-test, or the paths given, src/ by default). No dependencies.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function walk(p, re) {
    const st = statSync(p);
    if (!st.isDirectory())
        return re.test(p) ? [p] : [];
    return readdirSync(p).sort().flatMap((e) => walk(join(p, e), re));
}

// The files under paths whose names match re, generated ones left out.
export function sourceFiles(paths, re) {
    return paths.flatMap((p) => walk(p, re)).filter((f) => !/_gen\.c$/.test(f));
}

// file relative to base, or as given when it lies outside base.
export function shown(base, file) {
    const rel = relative(base, file);
    return rel.startsWith('..') ? file : rel;
}

// The command: `--self-test` runs selfTest (it throws on a failure) and
// prints '<name> self-test: ok'; otherwise check(paths, whole) - whole when
// no path was given (src/) - returns whether anything was found, and the
// exit status says so.
export function main(name, selfTest, check) {
    const args = process.argv.slice(2);
    if (args[0] === '--self-test') {
        try {
            selfTest();
        } catch (e) {
            console.error(`${name} self-test: ${e.message}`);
            process.exit(1);
        }
        console.log(`${name} self-test: ok`);
        process.exit(0);
    }
    const found = check(args.length ? args : [join(root, 'src')], !args.length);
    process.exit(found ? 1 : 0);
}
