// errors.test.mjs - the one error table (src/util/error_codes.h) against
// docs/API.md and the code. No server: the sources are read at test time.
//
// - docs/API.md's "Errors" table holds exactly the codes of
//   CD_ERROR_CODES, in the same order, each with the status of its kind
//   (CD_ERROR_KINDS of src/util/error.h).
// - Every code the code base sets with a literal kind (`CD_EK_X, "code"`)
//   is set with the kind the table gives it, so the reply layer's lookup
//   by code never changes a status.
// - docs/openapi.yaml's ErrorCode enum holds the same codes.
// - The docs' sentence on "type" agrees with the kinds' types.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { REPO } from './harness.mjs';

const read = (...p) => fs.readFileSync(path.join(REPO, ...p), 'utf8');

/** The body of a `#define NAME(X) ...` X-macro, as its X(...) argument lists. */
function xmacro(src, name) {
    const start = src.indexOf(`#define ${name}(X)`);
    assert.ok(start >= 0, `${name} defined`);
    const lines = [];
    for (const line of src.slice(start).split('\n')) {
        lines.push(line);
        if (!line.trimEnd().endsWith('\\')) break;
    }
    const rows = [];
    const re = /X\(([^)]*)\)/g;
    for (let m; (m = re.exec(lines.join('\n'))); ) rows.push(m[1].split(',').map((s) => s.trim()));
    return rows;
}

/** kind name -> {status, type}. */
function kinds() {
    const out = new Map();
    for (const [name, status, type] of xmacro(read('src', 'util', 'error.h'), 'CD_ERROR_KINDS')) {
        out.set(name, { status: Number(status), type: JSON.parse(type) });
    }
    return out;
}

/** [code, kind] in table order. */
const tableCodes = () => xmacro(read('src', 'util', 'error_codes.h'), 'CD_ERROR_CODES');

/** "status code" rows of docs/API.md's Errors table, in order. */
function docRows() {
    const doc = read('docs', 'API.md');
    const section = doc.slice(doc.indexOf('\n## Errors\n'));
    const end = section.indexOf('\n## ', 5);
    const rows = [];
    for (const line of section.slice(0, end < 0 ? undefined : end).split('\n')) {
        const m = /^\| (\d{3}) \| ([^|]*)\|/.exec(line);
        if (!m) continue;
        for (const c of m[2].matchAll(/`([a-z_]+)`/g)) rows.push(`${m[1]} ${c[1]}`);
    }
    return rows;
}

test('docs/API.md lists every code of src/util/error_codes.h with its status, in order', () => {
    const k = kinds();
    const want = tableCodes().map(([code, kind]) => {
        assert.ok(k.has(kind), `${code}: kind ${kind} is one of CD_ERROR_KINDS`);
        return `${k.get(kind).status} ${code}`;
    });
    assert.ok(want.length >= 60, `table parsed (${want.length} codes)`);
    assert.equal(new Set(want).size, want.length, 'no code twice in the table');
    assert.deepEqual(docRows(), want);
});

test('docs/openapi.yaml\'s ErrorCode enum is the codes of the table', () => {
    const spec = YAML.parse(read('docs', 'openapi.yaml'));
    const enumCodes = [...spec.components.schemas.ErrorCode.enum].sort();
    assert.deepEqual(enumCodes, tableCodes().map(([code]) => code).sort());
});

test('every code set with a literal kind in src/ is set with the kind of the table', () => {
    const table = new Map(tableCodes());
    const wrong = [];
    const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith('.c')) {
                const src = fs.readFileSync(p, 'utf8');
                const re = /CD_EK_([A-Z_]+)\s*,\s*"([a-z_]+)"/g;
                for (let m; (m = re.exec(src)); ) {
                    if (table.has(m[2]) && table.get(m[2]) !== m[1]) {
                        wrong.push(`${path.relative(REPO, p)}: ${m[2]} as ${m[1]}, table ${table.get(m[2])}`);
                    }
                }
            }
        }
    };
    walk(path.join(REPO, 'src'));
    assert.deepEqual(wrong, []);
});

test('the type of each status in docs/API.md is the type of its kind', () => {
    const doc = read('docs', 'API.md');
    const section = doc.slice(doc.indexOf('\n## Errors\n'));
    const sentence = /The `type` follows the status: ([^]*?)\. This is/.exec(section);
    assert.ok(sentence, 'the sentence on type is there');
    // "400, 405, 413 and 501 `invalid_request_error`; 401 `authentication_error`; ..."
    const said = new Map();
    for (const part of sentence[1].replace(/\s+/g, ' ').split(';')) {
        const m = /^(.*)`([a-z_]+)`\s*$/.exec(part.trim());
        assert.ok(m, `parsed: ${part}`);
        for (const s of m[1].match(/\d{3}/g)) said.set(Number(s), m[2]);
    }
    for (const [name, { status, type }] of kinds()) {
        if (name === 'NONE') continue;
        assert.equal(said.get(status), type, `${status} (${name})`);
    }
});
