// stripe_types.mjs - checks a JSON value against the TypeScript type
// definitions the official `stripe` npm package ships (the package pins
// the API version the sandbox speaks, 2026-07-29.dahlia; package.json pins
// that release). The .d.ts files are read with the TypeScript compiler API;
// a value conforms when it has no property the type lacks, every
// non-optional property, and the right primitive types and nullability,
// nested objects and arrays checked recursively. Strings typed with
// Stripe's open enums (`'a' | 'b' | OtherString`) must be one of the values
// the pinned version lists - stricter than the types, which let any string
// through, so that a renamed value (ui_mode "hosted") is caught.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { REPO } from './harness.mjs';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const STRIPE_DIR = path.join(REPO, 'node_modules', 'stripe');
const CORE = path.join(STRIPE_DIR, 'cjs', 'stripe.core.d.ts');
const ROOT = path.join(STRIPE_DIR, 'cjs', '__creditd_sandbox_types__.ts');

/** The Stripe types the sandbox's objects are checked against, by the
 * value of their "object" property ("list" is checked by its items). */
export const TYPES = {
    account: 'Stripe.Account',
    'billing_portal.session': 'Stripe.BillingPortal.Session',
    charge: 'Stripe.Charge',
    'checkout.session': 'Stripe.Checkout.Session',
    customer: 'Stripe.Customer',
    dispute: 'Stripe.Dispute',
    event: 'Stripe.Event',
    invoice: 'Stripe.Invoice',
    invoice_payment: 'Stripe.InvoicePayment',
    item: 'Stripe.LineItem',
    line_item: 'Stripe.InvoiceLineItem',
    payment_intent: 'Stripe.PaymentIntent',
    payment_method: 'Stripe.PaymentMethod',
    price: 'Stripe.Price',
    product: 'Stripe.Product',
    refund: 'Stripe.Refund',
    subscription: 'Stripe.Subscription',
    subscription_item: 'Stripe.SubscriptionItem',
    webhook_endpoint: 'Stripe.WebhookEndpoint',
};

/** The API version the installed package pins. */
export function pinnedApiVersion() {
    const src = fs.readFileSync(path.join(STRIPE_DIR, 'cjs', 'apiVersion.js'), 'utf8');
    return /ApiVersion = '([^']+)'/.exec(src)[1];
}

let cached = null;

function load() {
    if (cached) return cached;
    const names = Object.entries(TYPES);
    const rootText = `import type { Stripe } from './stripe.core.js';\n` +
        `export interface Root {\n${names.map(([k, t]) => `  ${JSON.stringify(k)}: ${t};\n  ${JSON.stringify('list:' + k)}: Stripe.ApiList<${t}>;`).join('\n')}\n}\n`;
    const options = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (f, lv, ...rest) => (path.resolve(f) === ROOT ? ts.createSourceFile(f, rootText, lv) : getSourceFile(f, lv, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (f) => path.resolve(f) === ROOT || fileExists(f);
    const program = ts.createProgram([ROOT], options, host);
    const checker = program.getTypeChecker();
    const sf = program.getSourceFile(ROOT);
    const diags = ts.getPreEmitDiagnostics(program, sf);
    if (diags.length) throw new Error('stripe types: ' + diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; '));
    const root = checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(sf.statements[1].name));
    const types = {};
    for (const p of checker.getPropertiesOfType(root)) types[p.name] = checker.getTypeOfSymbol(p);
    if (!types.customer || !types.event) throw new Error('stripe types: the root interface did not resolve');
    cached = { checker, types, CORE, ts };
    return cached;
}

const F = ts.TypeFlags;

function literalOf(checker, t, key) {
    const p = t.getProperty?.(key);
    if (!p) return undefined;
    const pt = checker.getTypeOfSymbol(p);
    return pt.flags & F.StringLiteral ? pt.value : undefined;
}

function describe(checker, t) {
    const s = checker.typeToString(t);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function check(c, v, t, where, errs) {
    const { checker } = c;
    if (t.flags & (F.Any | F.Unknown)) return;
    if (t.isUnion()) {
        let members = t.types.filter((m) => !(m.flags & F.Undefined));
        if (v === null) {
            if (!members.some((m) => m.flags & F.Null)) errs.push(`${where}: null, but the type is ${describe(checker, t)}`);
            return;
        }
        members = members.filter((m) => !(m.flags & F.Null));
        // An open enum ('a' | 'b' | OtherString): the values the pinned
        // version knows, strictly - a value it renamed or removed
        // (ui_mode "hosted") is refused although OtherString would let
        // any string through.
        const lits = members.filter((m) => m.flags & F.StringLiteral).map((m) => m.value);
        if (typeof v === 'string' && lits.length && members.some((m) => m.isIntersection())) {
            if (!lits.includes(v)) errs.push(`${where}: ${JSON.stringify(v)} is not one of ${lits.map((l) => JSON.stringify(l)).join(', ')}`);
            return;
        }
        // Discriminate objects by their "object" and "type" literals (Event is a union of ~280 types).
        if (v && typeof v === 'object' && !Array.isArray(v)) {
            const objs = members.filter((m) => m.flags & F.Object && !checker.isArrayType(m));
            if (objs.length) members = objs;
            for (const key of ['object', 'type']) {
                if (typeof v[key] !== 'string') continue;
                const same = members.filter((m) => {
                    const lit = m.flags & F.Object ? literalOf(checker, m, key) : undefined;
                    return lit === undefined || lit === v[key];
                });
                if (same.length) members = same;
            }
        }
        let best = null;
        for (const m of members) {
            const e = [];
            check(c, v, m, where, e);
            if (!e.length) return;
            if (!best || e.length < best.length) best = e;
        }
        errs.push(...(best || [`${where}: no member of ${describe(checker, t)} fits`]));
        return;
    }
    if (t.isIntersection()) {
        // OtherString is `string & {}`-like: any string.
        if (t.types.some((m) => m.flags & F.String)) {
            if (typeof v !== 'string') errs.push(`${where}: ${JSON.stringify(v)} is not a string`);
            return;
        }
        for (const m of t.types) check(c, v, m, where, errs);
        return;
    }
    if (v === null) {
        if (!(t.flags & F.Null)) errs.push(`${where}: null, but the type is ${describe(checker, t)}`);
        return;
    }
    if (t.flags & F.StringLiteral) {
        if (v !== t.value) errs.push(`${where}: ${JSON.stringify(v)} is not ${JSON.stringify(t.value)}`);
        return;
    }
    if (t.flags & F.String) {
        if (typeof v !== 'string') errs.push(`${where}: ${JSON.stringify(v)} is not a string`);
        return;
    }
    if (t.flags & F.NumberLiteral) {
        if (v !== t.value) errs.push(`${where}: ${JSON.stringify(v)} is not ${t.value}`);
        return;
    }
    if (t.flags & F.Number) {
        if (typeof v !== 'number') errs.push(`${where}: ${JSON.stringify(v)} is not a number`);
        return;
    }
    if (t.flags & F.BooleanLiteral) {
        if (v !== (t.intrinsicName === 'true')) errs.push(`${where}: ${JSON.stringify(v)} is not ${t.intrinsicName}`);
        return;
    }
    if (t.flags & F.Boolean) {
        if (typeof v !== 'boolean') errs.push(`${where}: ${JSON.stringify(v)} is not a boolean`);
        return;
    }
    if (t.flags & (F.Null | F.Undefined | F.Never | F.Void)) {
        errs.push(`${where}: ${JSON.stringify(v)}, but the type is ${describe(checker, t)}`);
        return;
    }
    if (checker.isArrayType(t) || checker.isTupleType(t)) {
        if (!Array.isArray(v)) {
            errs.push(`${where}: not an array`);
            return;
        }
        const elem = checker.getTypeArguments(t)[0];
        v.forEach((x, i) => check(c, x, elem, `${where}[${i}]`, errs));
        return;
    }
    if (t.flags & F.Object) {
        // Decimal: a class on the client side, a string on the wire.
        if (/Decimal/.test(t.getSymbol?.()?.name || '') || /Decimal/.test(checker.typeToString(t))) {
            if (typeof v !== 'string' && typeof v !== 'number') errs.push(`${where}: ${JSON.stringify(v)} is not a decimal`);
            return;
        }
        if (typeof v !== 'object' || Array.isArray(v)) {
            errs.push(`${where}: ${JSON.stringify(v)} is not an object (${describe(checker, t)})`);
            return;
        }
        const props = checker.getPropertiesOfType(t);
        const index = checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & F.String);
        const known = new Set();
        for (const p of props) {
            known.add(p.name);
            const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
            if (!Object.prototype.hasOwnProperty.call(v, p.name)) {
                if (!optional) errs.push(`${where}.${p.name}: missing (${describe(checker, checker.getTypeOfSymbol(p))})`);
                continue;
            }
            check(c, v[p.name], checker.getTypeOfSymbol(p), `${where}.${p.name}`, errs);
        }
        for (const k of Object.keys(v)) {
            if (known.has(k)) continue;
            if (index) check(c, v[k], index.type, `${where}.${k}`, errs);
            else errs.push(`${where}.${k}: not in the type ${describe(checker, t)}`);
        }
        return;
    }
    errs.push(`${where}: unhandled type ${describe(checker, t)}`);
}

/** The loaded types: { checker, types (kind -> ts.Type), ts }. */
export function stripeTypes() {
    return load();
}

/**
 * The problems of value v as the Stripe type for kind (a key of TYPES,
 * "list:<kind>" for a list of them, or undefined: by v.object). [] when
 * it conforms.
 */
export function typeErrors(v, kind, where) {
    const c = load();
    const k = kind || (v && v.object);
    const t = c.types[k];
    if (!t) return [`${where || k}: no Stripe type known for ${JSON.stringify(k)}`];
    const errs = [];
    check(c, v, t, where || (v && v.id) || k, errs);
    return errs;
}
