#!/usr/bin/env node
// gen_sandbox_shapes.mjs - writes src/sandbox/shapes_gen.c: for each Stripe
// object the sandbox returns, the skeleton of every property the pinned API
// version always returns (the non-optional properties of the type in the
// official `stripe` npm package, nested objects recursively), with the
// value the sandbox shows where it does not model the property: null when
// the type allows it, else [], {}, false, 0, or the values below. A
// nullable object is {"?": its skeleton}: null when missing, completed
// from its skeleton when there; an optional object is {"+": its skeleton}:
// left out when missing, completed when there.
// cd_sandbox_shape (shapes.c) fills what an object lacks from it.
//
//   node scripts/gen_sandbox_shapes.mjs          # rewrite the file
//   node scripts/gen_sandbox_shapes.mjs --check  # exit 1 when out of date

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripeTypes, pinnedApiVersion } from '../tests/e2e/stripe_types.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, 'src', 'sandbox', 'shapes_gen.c');

// The objects, by their "object" value.
const KINDS = ['account', 'billing_portal.session', 'charge', 'checkout.session', 'customer', 'dispute', 'invoice',
    'invoice_payment', 'item', 'line_item', 'payment_intent', 'payment_method', 'price', 'product', 'refund',
    'subscription', 'subscription_item', 'webhook_endpoint'];

// Non-null values the types demand and the sandbox does not model (path
// below the object -> value); anything else non-null and unmodelled is an
// error here, so that no made-up value slips in unreviewed.
const VALUES = {
    '*.livemode': false,
    '*.metadata': {},
    '*.object': undefined, // set by the object itself
    '*.id': undefined,
    '*.created': undefined,
    '*.currency': undefined,
    '*.amount': undefined,
    // Who issues the invoices: the account itself.
    'invoice.issuer.type': 'self',
    'subscription.invoice_settings.issuer.type': 'self',
    // New subscriptions bill in the flexible mode since 2025-09-30.
    'subscription.billing_mode.type': 'flexible',
};

// Optional properties the sandbox sets, whose objects it completes.
const OPTIONAL_OBJECTS = ['card'];

const { checker, types, ts } = stripeTypes();
const F = ts.TypeFlags;
const unreviewed = [];

function pick(kind, where) {
    for (const k of [where, `*.${where.split('.').pop()}`]) if (k in VALUES) return { v: VALUES[k] };
    return null;
}

function skel(t, where, depth) {
    if (t.isUnion()) {
        const ms = t.types.filter((m) => !(m.flags & F.Undefined));
        if (ms.some((m) => m.flags & F.Null)) {
            // A nullable object: null when missing, its own skeleton when
            // present - written {"?": skeleton}.
            const objs = ms.filter((m) => !(m.flags & F.Null));
            if (objs.length === 1 && objs[0].flags & F.Object && !checker.isArrayType(objs[0]) &&
                !/Decimal/.test(checker.typeToString(objs[0])) && checker.getPropertiesOfType(objs[0]).length) {
                return { '?': skel(objs[0], where, depth) };
            }
            return null;
        }
        // A non-null union: booleans, enums, an id or its expansion.
        if (ms.every((m) => m.flags & F.BooleanLiteral)) return false;
        return skel(ms[0], where, depth);
    }
    if (t.flags & F.Null) return null;
    if (t.flags & F.Boolean || t.flags & F.BooleanLiteral) return false;
    if (t.flags & (F.Number | F.NumberLiteral)) return 0;
    if (checker.isArrayType(t)) return [];
    if (t.isIntersection() || t.flags & (F.String | F.StringLiteral)) {
        unreviewed.push(`${where}: ${checker.typeToString(t).slice(0, 60)}`);
        return t.flags & F.StringLiteral ? t.value : '';
    }
    if (t.flags & F.Object) {
        if (/Decimal/.test(checker.typeToString(t))) return '0';
        const props = checker.getPropertiesOfType(t);
        if (!props.length) return {};
        if (depth > 7) return {};
        const o = {};
        for (const p of props) {
            const w = `${where}.${p.name}`;
            if (p.flags & ts.SymbolFlags.Optional) {
                // An optional object the sandbox models (the card of a
                // PaymentMethod or of a charge's payment_method_details):
                // completed when there - {"+": skeleton}.
                if (!OPTIONAL_OBJECTS.includes(p.name) || /_options\./.test(w)) continue;
                const pt = checker.getTypeOfSymbol(p);
                const ms = (pt.isUnion() ? pt.types : [pt]).filter((m) => !(m.flags & (F.Undefined | F.Null)));
                if (ms.length === 1 && ms[0].flags & F.Object && !checker.isArrayType(ms[0]) &&
                    !/Decimal/.test(checker.typeToString(ms[0])) && checker.getPropertiesOfType(ms[0]).length) {
                    o[p.name] = { '+': skel(ms[0], w, depth + 1) };
                }
                continue;
            }
            const given = pick(null, w);
            if (given) {
                if (given.v !== undefined) o[p.name] = given.v;
                continue;
            }
            o[p.name] = skel(checker.getTypeOfSymbol(p), w, depth + 1);
        }
        return o;
    }
    throw new Error(`${where}: unhandled ${checker.typeToString(t)}`);
}

const shapes = {};
for (const k of KINDS) shapes[k] = skel(types[k], k, 0);

function cString(s) {
    const out = [];
    for (let i = 0; i < s.length; i += 70) out.push('    "' + s.slice(i, i + 70).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"');
    return out.join('\n');
}

let c = `/*
 * shapes_gen.c - generated by scripts/gen_sandbox_shapes.mjs from the
 * type definitions of the stripe npm package (API version
 * ${pinnedApiVersion()}); do not edit. Each object's skeleton: every property
 * that version always returns, with the value the sandbox shows where it
 * does not model the property. Read by shapes.c.
 */
#include "sandbox/internal.h"

#include "util/util.h"

const struct cd_sandbox_shape_src cd_sandbox_shape_srcs[] = {
`;
for (const k of KINDS) c += `    {"${k}",\n${cString(JSON.stringify(shapes[k]))}},\n`;
c += `};
const size_t cd_sandbox_shape_nsrcs = CD_ARRAY_LEN(cd_sandbox_shape_srcs);
`;

if (unreviewed.length && process.argv.includes('--list')) console.log(unreviewed.join('\n'));
if (process.argv.includes('--check')) {
    const now = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (now !== c) {
        console.error(`${path.relative(REPO, OUT)} is out of date: run node scripts/gen_sandbox_shapes.mjs`);
        process.exit(1);
    }
} else if (!process.argv.includes('--list')) {
    fs.writeFileSync(OUT, c);
}
