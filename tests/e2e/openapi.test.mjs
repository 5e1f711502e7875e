// openapi.test.mjs - the running server against docs/openapi.yaml.
//
// - Every route of the server (read from the route tables in
//   src/api/*.c at test time, so a new route is caught) is documented,
//   and every documented route is one the server has.
// - A walk through the whole API (signup, checkout paid through the
//   sandbox, top-up, payment intent, subscription, debits, grants,
//   discount codes, refunds, reconciliation, webhooks, errors) validates
//   every reply: its status must be documented for the operation and its
//   body must match the schema for that status (ajv, JSON Schema 2020-12,
//   the dialect of OpenAPI 3.1), and the document itself is valid OpenAPI
//   3.1 (@seriousme/openapi-schema-validator).
// - Every documented operation answered 2xx at least once (so none is a
//   404 or 405 of the router).
//
// OPENAPI_EXAMPLES=<file> writes every exchange (request and reply) as
// JSON, the source of the examples in docs/API.md.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, after } from 'node:test';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import { useStack, e2e, REPO, waitFor, httpRequest, expectStatus } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const SPEC_FILE = path.join(REPO, 'docs', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Route patterns as the server's tables hold them ("{}" for a segment). */
export function serverRoutes() {
    const dir = path.join(REPO, 'src', 'api');
    const out = new Set();
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.c'))) {
        const src = fs.readFileSync(path.join(dir, f), 'utf8');
        const re = /"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"(\/[^"]*)"/g;
        for (let m; (m = re.exec(src)); ) out.add(`${m[1]} ${m[2]}`);
    }
    return out;
}

const norm = (p) => p.replace(/\{[^}]*\}/g, '{}');

function loadSpec() {
    return YAML.parse(fs.readFileSync(SPEC_FILE, 'utf8'));
}

/** "METHOD /pattern{}" -> {path (as documented), op}. */
function documentedRoutes(spec) {
    const out = new Map();
    for (const [p, item] of Object.entries(spec.paths)) {
        for (const m of METHODS) {
            if (item[m]) out.set(`${m.toUpperCase()} ${norm(p)}`, { path: p, op: item[m] });
        }
    }
    return out;
}

test('docs/openapi.yaml is a valid OpenAPI 3.1 document', async () => {
    const v = new Validator();
    const r = await v.validate(SPEC_FILE);
    assert.equal(v.version, '3.1');
    assert.ok(r.valid, JSON.stringify(r.errors, null, 1));
});

test('every route of the server is documented in docs/openapi.yaml, and no other', () => {
    const spec = loadSpec();
    assert.match(spec.openapi, /^3\.1\./);
    const server = serverRoutes();
    assert.ok(server.size >= 30, `route tables parsed (${server.size} routes found)`);
    const docs = new Set(documentedRoutes(spec).keys());
    const undocumented = [...server].filter((r) => !docs.has(r));
    const unknown = [...docs].filter((r) => !server.has(r));
    assert.deepEqual(undocumented, [], 'server routes missing from docs/openapi.yaml');
    assert.deepEqual(unknown, [], 'documented routes the server does not have');
});

// Codes only start-up uses (a listener that cannot be opened); no reply has them.
const STARTUP_ONLY = new Set(['bad_listen', 'listen_failed', 'nomem']);

/** "METHOD /pattern{}" -> the flag sets its route-table entries carry. */
function serverFlags() {
    const dir = path.join(REPO, 'src', 'api');
    const out = new Map();
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.c'))) {
        const src = fs.readFileSync(path.join(dir, f), 'utf8');
        const re = /"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"(\/[^"]*)"\s*,\s*\w+\s*,\s*([A-Z_|\s]+)/g;
        for (let m; (m = re.exec(src)); ) {
            const key = `${m[1]} ${m[2]}`;
            if (!out.has(key)) out.set(key, []);
            out.get(key).push(new Set(m[3].split('|').map((x) => x.trim()).filter(Boolean)));
        }
    }
    return out;
}

test('auth and Idempotency-Key of each route are documented as the route table has them', () => {
    const spec = loadSpec();
    const docs = documentedRoutes(spec);
    const wrong = [];
    for (const [key, sets] of serverFlags()) {
        const d = docs.get(key);
        if (!d) continue; // the test above names it
        const sec = (d.op.security || []).map((s) => Object.keys(s)[0]).sort().join(',');
        const idem = (d.op.parameters || []).some((p) => p.$ref === '#/components/parameters/IdempotencyKey');
        const fits = sets.some((f) => {
            const want = f.has('CD_ROUTE_ADMIN') || f.has('CD_ROUTE_SERVER_ACCOUNT') ? 'serverKey'
                : f.has('CD_ROUTE_ACCOUNT') ? 'accountToken,serverKey,sessionCookie'
                : f.has('CD_ROUTE_TOKEN') ? 'accountToken,sessionCookie' : '';
            return sec === want && idem === f.has('CD_ROUTE_IDEMPOTENT');
        });
        if (!fits) wrong.push(`${key}: documented security [${sec}] idempotent ${idem}; table ${sets.map((f) => [...f].join('|')).join(' / ')}`);
    }
    assert.deepEqual(wrong, []);
});

test('every error code the API code sets is in the error schema', () => {
    const codes = new Set(loadSpec().components.schemas.ErrorCode.enum);
    const missing = new Set();
    for (const d of ['api', 'billing', 'http', 'stripe']) {
        const dir = path.join(REPO, 'src', d);
        for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.c'))) {
            const src = fs.readFileSync(path.join(dir, f), 'utf8');
            const re = /CD_EK_[A-Z_]+\s*,\s*"([a-z_]+)"/g;
            for (let m; (m = re.exec(src)); ) {
                if (!codes.has(m[1]) && !STARTUP_ONLY.has(m[1])) missing.add(`${m[1]} (src/${d}/${f})`);
            }
        }
    }
    assert.deepEqual([...missing], [], 'error codes missing from components.schemas.ErrorCode');
});

test('every error code in the error schema is one the code base uses', () => {
    const spec = loadSpec();
    const codes = spec.components.schemas.ErrorCode.enum;
    const src = [];
    const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith('.c')) src.push(fs.readFileSync(p, 'utf8'));
        }
    };
    walk(path.join(REPO, 'src'));
    const all = src.join('\n');
    for (const c of codes) {
        // discount_* codes are built as "discount_" + the validation error.
        const found = all.includes(`"${c}"`) || (c.startsWith('discount_') && all.includes(`"${c.slice(9)}"`));
        assert.ok(found, `error code ${c} appears in src/`);
    }
});

// ----------------------------------------------------------- the walk

// Mail goes to a loopback sink, for the password reset link.
const sink = await new SmtpSink().start();
after(() => sink.stop());
const stack = useStack({
    serverEnv: { CREDITD_SMTP_URL: sink.url, CREDITD_MAIL_FROM: 'billing@creditd.test', CREDITD_MAIL_POLL_MS: '100' },
});
const spec = loadSpec();
const routes = documentedRoutes(spec);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...spec, $id: 'openapi' });
const validators = new Map();
const answered = new Map(); // route key -> Set of statuses
const examples = [];

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** The response object documented for this status (a $ref followed), and
 * the ajv reference of its JSON schema (null when it has none). */
function schemaFor(key, status) {
    const { path: p, op } = routes.get(key);
    const code = op.responses[String(status)] ? String(status) : 'default';
    let resp = op.responses[code];
    assert.ok(resp, `${key}: status ${status} is not documented`);
    let ptr = ['paths', p, key.split(' ')[0].toLowerCase(), 'responses', code].map(esc);
    if (resp.$ref) {
        ptr = resp.$ref.replace(/^#\//, '').split('/');
        resp = ptr.reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
    }
    const json = resp.content && resp.content['application/json'];
    return { resp, ref: json ? `openapi#/${[...ptr, 'content', esc('application/json'), 'schema'].join('/')}` : null };
}

/** Validates one reply of the route `key` ("POST /v1/checkout"). */
function check(key, r, req = {}) {
    assert.ok(routes.has(key), `${key} is documented`);
    const { resp, ref } = schemaFor(key, r.status);
    if (ref) {
        assert.ok(r.json !== null && r.json !== undefined, `${key} ${r.status}: a JSON body (${r.text.slice(0, 200)})`);
        let v = validators.get(ref);
        if (!v) {
            v = ajv.compile({ $ref: ref });
            validators.set(ref, v);
        }
        assert.ok(v(r.json), `${key} ${r.status} body does not match its schema: ` +
            `${ajv.errorsText(v.errors)}\n${r.text.slice(0, 600)}`);
    } else if (!resp.content) {
        assert.equal(r.text, '', `${key} ${r.status}: no body documented`);
    }
    const rb = routes.get(key).op.requestBody;
    if (r.status < 300 && req.body !== undefined && rb) {
        // A body the server accepted must be one the document allows.
        const ptr = ['paths', routes.get(key).path, key.split(' ')[0].toLowerCase(), 'requestBody', 'content',
            'application/json', 'schema'].map(esc).join('/');
        const v = ajv.getSchema(`openapi#/${ptr}`) || ajv.compile({ $ref: `openapi#/${ptr}` });
        assert.ok(v(req.body), `${key}: the accepted request body does not match its schema: ${ajv.errorsText(v.errors)}`);
    }
    if (!answered.has(key)) answered.set(key, new Set());
    answered.get(key).add(r.status);
    examples.push({ route: key, request: req, status: r.status, body: r.json ?? r.text });
    return r.json;
}

/** The documented route key a concrete path answers to (literal segments win). */
function routeOf(method, p) {
    const segs = p.split('?')[0].split('/');
    let best = null;
    for (const key of routes.keys()) {
        const [m, pat] = key.split(' ');
        const ps = pat.split('/');
        if (m !== method || ps.length !== segs.length) continue;
        if (!ps.every((s, i) => s === '{}' || s === segs[i])) continue;
        const holes = ps.filter((s) => s === '{}').length;
        if (!best || holes < best.holes) best = { key, holes };
    }
    assert.ok(best, `${method} ${p} matches a documented route`);
    return best.key;
}

/** Calls the API and validates the reply. opts as stack.api. */
async function call(method, p, opts = {}) {
    const key = routeOf(method, p);
    const r = await stack.api(method, p, opts);
    const req = { method, path: p };
    if (opts.body !== undefined) req.body = opts.body;
    if (opts.idem !== undefined) req.idempotency_key = opts.idem;
    if (opts.account) req.account = opts.account;
    req.auth = opts.token ? 'token' : opts.key ? 'server' : 'none';
    check(key, r, req);
    return r;
}

function sandbox(p, body) {
    return httpRequest('POST', `${stack.sandboxUrl}${p}`, { body });
}

e2e('the whole API answers as docs/openapi.yaml says', async () => {
    const admin = { key: true };
    expectStatus(await call('GET', '/healthz'), 200);
    expectStatus(await call('GET', '/readyz'), 200);
    const cfg = expectStatus(await call('GET', '/v1/config'), 200);
    const m = await stack.api('GET', '/metrics', admin);
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'], /^text\/plain/);
    check('GET /metrics', m, { method: 'GET', path: '/metrics' });
    await call('GET', '/v1/balance'); // 401

    const email = `ada-${Date.now()}@example.com`;
    const cred = { email, password: 'correct horse' };
    const su = expectStatus(await call('POST', '/v1/auth/signup', { body: cred }), 201);
    const tok = { token: su.token };
    const acct = su.account.id;
    await call('POST', '/v1/auth/signup', { body: cred }); // 409
    await call('POST', '/v1/auth/signup', { body: { email: 'x@example.com', password: 'short' } }); // 400
    expectStatus(await call('POST', '/v1/auth/login', { body: cred }), 200);
    await call('POST', '/v1/auth/login', { body: { email, password: 'wrong password' } }); // 401

    // A portal link, redeemed once (cookie session), then refused.
    const srvAcct = { key: true, account: acct };
    const ps = expectStatus(await call('POST', '/v1/portal_sessions', { ...srvAcct, body: { return_url: `${stack.baseUrl}/app` } }), 201);
    await call('POST', '/v1/portal_sessions', { ...srvAcct, body: { return_url: 'https://elsewhere.example/' } }); // 400
    await call('POST', '/v1/portal_sessions', { ...tok, body: {} }); // 403
    const linkToken = ps.url.split('#')[1];
    const cookieSession = { 'Creditd-Session': 'cookie' };
    await call('POST', '/v1/auth/portal', { body: { token: linkToken } }); // 400: no Creditd-Session
    const red = await call('POST', '/v1/auth/portal', { headers: cookieSession, body: { token: linkToken } });
    assert.equal(red.status, 200, red.text);
    assert.match(String(red.headers['set-cookie']), /creditd_session=cdt_[0-9a-f]{64}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax/);
    await call('POST', '/v1/auth/portal', { headers: cookieSession, body: { token: linkToken } }); // 401 invalid_portal_link
    await call('POST', '/v1/auth/logout', { headers: { Cookie: String(red.headers['set-cookie']).split(';')[0] } }); // 403 csrf_failed

    await call('GET', '/v1/account', tok);
    await call('GET', '/v1/account', { key: true }); // 400 missing_account
    await call('GET', '/v1/balance', tok);
    await call('GET', '/v1/transactions', tok);
    await call('GET', '/v1/subscription', tok); // 404
    await call('POST', '/v1/subscription/cancel', tok); // 404
    await call('POST', '/v1/billing_portal', tok); // 409 no_stripe_customer

    // An account the application owns, reached as ext:<external_id>.
    const ext = `user_${Date.now()}`;
    const app = expectStatus(await call('POST', '/v1/accounts', { ...admin, idem: `acct-${ext}`, body: { external_id: ext, email: `app-${Date.now()}@example.com` } }), 201);
    await call('POST', '/v1/accounts', { ...admin, body: { external_id: ext } }); // 409 external_id_taken
    await call('POST', '/v1/accounts', { ...admin, body: { external_id: 'no spaces' } }); // 400
    expectStatus(await call('GET', `/v1/accounts?external_id=${ext}`, admin), 200);
    await call('GET', '/v1/accounts?external_id=nobody', admin); // 404
    await call('GET', '/v1/accounts', admin); // 400
    assert.equal(expectStatus(await call('GET', '/v1/account', { key: true, account: `ext:${ext}` }), 200).id, app.id);
    await call('GET', '/v1/balance', { key: true, account: 'ext:nobody' }); // 404
    // Access bought: Account.access granted (the other branch of Access).
    await stack.buy({ id: app.id, ext }, { kind: 'access' });
    const granted = expectStatus(await call('GET', '/v1/account', { key: true, account: `ext:${ext}` }), 200);
    assert.equal(granted.access.granted, true);

    // The operator sets prices and a code.
    await call('GET', '/v1/admin/pricing', admin);
    await call('PUT', '/v1/admin/pricing', { ...admin, body: { mode: 'launch', launch_cents: 2999, rrp_cents: 4999, sale_cents: 2499 } });
    await call('GET', '/v1/admin/pricing', tok); // 403
    const code = `SAVE10${Date.now() % 100000}`;
    expectStatus(await call('POST', '/v1/admin/discount_codes', {
        ...admin, body: { code, percent_off: 10, max_uses: 100, expires_at: '2031-06-01T10:00:00Z' } }), 201);
    await call('POST', '/v1/admin/discount_codes', { ...admin, body: { code, percent_off: 10 } }); // 409
    expectStatus(await call('POST', '/v1/admin/discount_codes', {
        ...admin, body: { code: `${code}F`, amount_off_cents: 500 } }), 201);
    await call('GET', '/v1/admin/discount_codes', admin);
    await call('POST', '/v1/discounts/validate', { ...tok, body: { code, kind: 'access' } });
    await call('POST', '/v1/discounts/validate', { ...tok, body: { code: 'NOPE' } });

    // Checkout: a top-up paid in the sandbox.
    await call('POST', '/v1/checkout', { ...tok, body: { kind: 'nope' } }); // 400
    const co = expectStatus(await call('POST', '/v1/checkout', {
        ...tok, idem: `co-${Date.now()}`, body: { kind: 'topup', amount_cents: 1000 } }), 201);
    await call('GET', `/v1/checkout/${co.session_id}`, tok);
    assert.equal((await sandbox(`/_sandbox/checkout/${co.session_id}/complete`, { card: '4242424242424242' })).status, 200);
    await stack.waitFulfilled(su, co.session_id);
    await call('GET', `/v1/checkout/${co.session_id}`, tok);
    await call('GET', '/v1/checkout/cs_test_unknown', tok); // 404
    const pkg = expectStatus(await call('POST', '/v1/checkout', {
        ...tok, body: { kind: 'package', package_id: cfg.packages[0].id, discount_code: code } }), 201);
    await call('POST', '/v1/checkout', { ...tok, body: { kind: 'access', discount_code: `${code}F` } });
    assert.equal((await sandbox(`/_sandbox/checkout/${pkg.session_id}/complete`, { card: '4242424242424242' })).status, 200);
    await stack.waitFulfilled(su, pkg.session_id);
    await call('POST', `/v1/admin/discount_codes/${encodeURIComponent(`${code}F`)}/deactivate`, admin);

    // The saved card: an off-session top-up, and a PaymentIntent.
    const tu = expectStatus(await call('POST', '/v1/topups', { ...tok, body: { amount_cents: 2000 } }), 202);
    expectStatus(await call('GET', '/v1/auto_topup', tok), 200);
    expectStatus(await call('PUT', '/v1/auto_topup', { ...tok, body: { enabled: true, threshold: 100, amount_cents: 2000, monthly_cap_cents: 2000 } }), 200);
    await call('PUT', '/v1/auto_topup', { ...tok, body: { enabled: true } }); // 400
    expectStatus(await call('PUT', '/v1/auto_topup', { ...tok, body: { enabled: false } }), 200);
    await waitFor(async () => (await stack.order(su, tu.order_id))?.status === 'completed', 10000, { what: 'top-up credited' });
    const pi = expectStatus(await call('POST', '/v1/payment_intents', { ...tok, body: { amount_cents: 500 } }), 201);
    assert.equal((await sandbox(`/_sandbox/payment_intents/${pi.payment_intent_id}/confirm`, { card: '4242424242424242' })).status, 200);
    await waitFor(async () => (await stack.order(su, pi.order_id))?.status === 'completed', 10000, { what: 'PaymentIntent credited' });

    // A subscription.
    const sub = expectStatus(await call('POST', '/v1/checkout', {
        ...tok, body: { kind: 'subscription', plan_id: cfg.plans[0].id } }), 201);
    assert.equal((await sandbox(`/_sandbox/checkout/${sub.session_id}/complete`, { card: '4242424242424242' })).status, 200);
    await waitFor(async () => (await stack.api('GET', '/v1/subscription', tok)).status === 200, 10000, { what: 'subscription stored' });
    await call('GET', '/v1/subscription', tok);
    await call('POST', '/v1/subscription/cancel', { ...tok, idem: `cancel-${Date.now()}` });
    await call('POST', '/v1/subscription/resume', tok);
    await call('POST', '/v1/billing_portal', { ...tok, body: { return_url: `${stack.baseUrl}/dashboard` } });
    await call('POST', '/v1/billing_portal', { ...tok, body: { return_url: 'https://elsewhere.example/' } }); // 400

    // The backend spends and gives credits.
    const srv = { key: true, account: acct };
    await call('POST', '/v1/debits', { ...srv, idem: `job-${Date.now()}`, body: { amount: 250, description: 'report #42' } });
    await call('POST', '/v1/debits', { ...srv, body: { amount: 10 ** 9, description: 'too much' } }); // 402
    await call('POST', '/v1/debits', { ...tok, body: { amount: 1, description: 'x' } }); // 403
    await call('POST', '/v1/debits', { ...srv, body: { amount: 0, description: 'x' } }); // 400
    await call('POST', '/v1/grants', { ...srv, body: { amount: 100, description: 'welcome bonus' } });
    // Idempotency-Key: a replay, another body (409), a bad key (400).
    const g1 = await call('POST', '/v1/grants', { ...srv, idem: 'grant-1', body: { amount: 5, description: 'g' } });
    const g2 = await call('POST', '/v1/grants', { ...srv, idem: 'grant-1', body: { amount: 5, description: 'g' } });
    assert.equal(g2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(g2.json, g1.json);
    await call('POST', '/v1/grants', { ...srv, idem: 'grant-1', body: { amount: 6, description: 'g' } }); // 409
    await call('POST', '/v1/grants', { ...srv, idem: 'x'.repeat(256), body: { amount: 5 } }); // 400
    await call('GET', '/v1/balance', { key: true, account: 'acct_unknown' }); // 404
    await call('POST', '/v1/grants', { ...srv, body: '{"amount":' }); // 400 invalid_json
    await call('POST', '/v1/grants', { ...srv, body: { amount: 1, description: 'x'.repeat(70000) } }); // 413
    // Holds: reserve, capture part, release, list, read; their errors.
    const h1 = expectStatus(await call('POST', '/v1/holds', { ...srv, idem: `hold-${Date.now()}`, body: { amount: 300, description: 'AI run', expires_in: 600 } }), 201);
    await call('POST', '/v1/holds', { ...srv, body: { amount: 10 ** 9 } }); // 402
    await call('POST', '/v1/holds', { ...srv, body: { amount: 1, expires_in: 0 } }); // 400
    await call('POST', '/v1/holds', { ...tok, body: { amount: 1 } }); // 403
    await call('POST', `/v1/holds/${h1.id}/capture`, { ...srv, body: { amount: 301 } }); // 400 capture_exceeds_hold
    expectStatus(await call('POST', `/v1/holds/${h1.id}/capture`, { ...srv, body: { amount: 120 } }), 200);
    await call('POST', `/v1/holds/${h1.id}/release`, srv); // 409 hold_not_active
    const h2 = expectStatus(await call('POST', '/v1/holds', { ...srv, body: { amount: 50 } }), 201);
    expectStatus(await call('POST', `/v1/holds/${h2.id}/release`, srv), 200);
    await call('POST', '/v1/holds/hold_unknown/capture', { ...srv, body: { amount: 1 } }); // 404
    expectStatus(await call('GET', '/v1/holds?limit=1', tok), 200);
    await call('GET', '/v1/holds?status=open', tok); // 400
    expectStatus(await call('GET', `/v1/holds/${h1.id}`, tok), 200);
    await call('GET', '/v1/holds/hold_unknown', tok); // 404

    await call('POST', '/v1/grants', { ...srv, body: { amount: 40, category: 'paid', expires_in_days: 30, priority: 10 } });
    await call('POST', '/v1/grants', { ...srv, body: { amount: 1, category: 'gift' } }); // 400
    await call('GET', '/v1/balance', tok);
    const lots = expectStatus(await call('GET', '/v1/lots?limit=1', tok), 200);
    await call('GET', `/v1/lots?status=active&starting_after=${lots.next_starting_after}`, tok);
    await call('GET', '/v1/lots?status=expired', { key: true, account: acct });
    await call('GET', '/v1/lots?status=gone', tok); // 400
    const txns = expectStatus(await call('GET', '/v1/transactions?limit=1', tok), 200);
    await call('GET', `/v1/transactions?limit=5&starting_after=${txns.data[0].id}`, tok);
    await call('GET', '/v1/transactions?starting_after=txn_nope', tok); // 400
    await call('GET', '/v1/orders', tok);
    await call('GET', '/v1/payments', tok);

    // Refunds, reconciliation, problems, accounts, the ledger.
    await call('POST', `/v1/admin/orders/${co.order_id}/refund`, { ...admin, body: { amount_cents: 400 } });
    await waitFor(async () => (await stack.order(su, co.order_id))?.status === 'partially_refunded', 10000, { what: 'refund applied' });
    await call('POST', '/v1/admin/orders/ord_unknown/refund', { ...admin, body: {} }); // 404
    await call('POST', '/v1/admin/reconcile', admin);
    await call('GET', '/v1/admin/problems', admin);
    await call('GET', '/v1/admin/accounts?limit=2', admin);
    await call('GET', `/v1/admin/accounts/${acct}`, admin);
    await call('GET', '/v1/admin/accounts/acct_unknown', admin); // 404
    await call('GET', `/v1/admin/accounts?email=${encodeURIComponent(email)}`, admin);
    const ords = expectStatus(await call('GET', '/v1/admin/orders?limit=1', admin), 200);
    if (ords.next_starting_after) await call('GET', `/v1/admin/orders?limit=1&starting_after=${ords.next_starting_after}`, admin);
    await call('GET', `/v1/admin/orders?status=completed&account=${acct}`, admin);
    await call('GET', '/v1/admin/orders?status=nope', admin); // 400
    await call('GET', '/v1/admin/orders?offset=5', admin); // 400
    const led = expectStatus(await call('GET', '/v1/admin/ledger?limit=2', admin), 200);
    if (led.next_starting_after) await call('GET', `/v1/admin/ledger?limit=2&starting_after=${led.next_starting_after}`, admin);
    await call('GET', '/v1/admin/ledger', tok); // 403
    const pays = expectStatus(await call('GET', '/v1/admin/payments?limit=1', admin), 200);
    assert.ok(pays.data.length === 1, 'the walk has a payment to show');
    if (pays.next_starting_after) await call('GET', `/v1/admin/payments?limit=1&starting_after=${pays.next_starting_after}`, admin);
    await call('GET', `/v1/admin/payments?status=succeeded&account=${acct}`, admin);
    await call('GET', '/v1/admin/payments?kind=topup', admin); // 400
    const subs = expectStatus(await call('GET', '/v1/admin/subscriptions?limit=1', admin), 200);
    assert.ok(subs.data.length === 1, 'the walk has a subscription to show');
    await call('GET', '/v1/admin/subscriptions?status=active', admin);
    await call('GET', '/v1/admin/subscriptions?status=nope', admin); // 400
    await call('GET', '/v1/admin/subscriptions', tok); // 403
    const sum = expectStatus(await call('GET', '/v1/admin/summary', admin), 200);
    assert.ok(sum.revenue.length >= 1, 'the walk has revenue to sum');
    await call('GET', '/v1/admin/summary?from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z', admin);
    await call('GET', '/v1/admin/summary?from=nope', admin); // 400
    await call('GET', `/v1/admin/export/orders.csv?account=${acct}`, admin);
    await call('GET', '/v1/admin/export/ledger.csv', admin);
    await call('GET', '/v1/admin/ledger/verify', admin);

    // Events: the pull feed, balance alerts, webhook endpoints, replay.
    const evs = expectStatus(await call('GET', '/v1/events?after=0&limit=5', srv), 200);
    await call('GET', '/v1/events?after=-1', srv); // 400
    await call('PUT', '/v1/balance_alerts', { ...srv, body: { thresholds: [100, 10] } });
    await call('PUT', '/v1/balance_alerts', { ...srv, body: { thresholds: [-1] } }); // 400
    await call('GET', '/v1/balance_alerts', tok);
    const we = expectStatus(await call('POST', '/v1/admin/webhook_endpoints', { ...admin, body: { url: 'http://127.0.0.1:9/hook', enabled_events: ['balance.low'] } }), 201);
    await call('POST', '/v1/admin/webhook_endpoints', { ...admin, body: { url: 'ftp://example.com/' } }); // 400
    await call('GET', '/v1/admin/webhook_endpoints', admin);
    await call('GET', `/v1/admin/webhook_endpoints/${we.id}`, admin);
    await call('GET', '/v1/admin/webhook_endpoints/we_unknown', admin); // 404
    await call('POST', `/v1/admin/webhook_endpoints/${we.id}`, { ...admin, body: { enabled: false } });
    await call('POST', `/v1/admin/webhook_endpoints/${we.id}/rotate_secret`, { ...admin, body: { expires_in: 60 } });
    await call('GET', `/v1/admin/webhook_endpoints/${we.id}/deliveries`, admin);
    await call('POST', '/v1/admin/events/replay', { ...admin, body: { endpoint: we.id, event_ids: [evs.data[0].id] } });
    await call('POST', '/v1/admin/events/replay', { ...admin, body: { endpoint: we.id } }); // 400
    await call('DELETE', `/v1/admin/webhook_endpoints/${we.id}`, admin);

    // The webhook: an event creditd does not handle, and a bad signature.
    const ev = { id: `evt_${Date.now()}`, object: 'event', type: 'customer.created', created: Math.floor(Date.now() / 1000), data: { object: {} } };
    const w = await stack.sendWebhook(ev);
    check('POST /v1/webhooks/stripe', w, { method: 'POST', path: '/v1/webhooks/stripe', body: ev });
    const wb = await stack.sendWebhook(ev, { secret: 'whsec_wrong' });
    check('POST /v1/webhooks/stripe', wb, { method: 'POST', path: '/v1/webhooks/stripe', body: ev });

    const lo = await call('POST', '/v1/auth/logout', tok);
    assert.equal(lo.status, 204);
    await call('GET', '/v1/balance', tok); // 401: the token died

    // Password reset: the link arrives by mail; confirming ends sessions.
    assert.equal((await call('POST', '/v1/password_reset', { body: { email } })).status, 202);
    await call('POST', '/v1/password_reset', { body: { email: 'not-an-email' } }); // 400
    const mail = await waitFor(() => sink.to(email).find((m) => m.data.includes("/reset#token=")), 10000, { what: 'reset mail' });
    const rtok = mail.data.match(/reset#token=(cdr_[0-9a-f]{64})/)[1];
    await call('POST', '/v1/password_reset/confirm', { body: { token: rtok, password: 'short' } }); // 400
    assert.equal((await call('POST', '/v1/password_reset/confirm', { body: { token: rtok, password: 'a new password' } })).status, 204);
    await call('POST', '/v1/password_reset/confirm', { body: { token: rtok, password: 'a new password' } }); // 400 used

    // Email verification: a link on request; the reset above verified the
    // address already (409), so a fresh account takes the 2xx path.
    await call('POST', '/v1/email_verification', { key: true, account: acct }); // 409 email_already_verified
    const v = expectStatus(await call('POST', '/v1/auth/signup', { body: { email: `verify-${Date.now()}@example.com`, password: 'correct horse' } }), 201);
    assert.equal((await call('POST', '/v1/email_verification', { token: v.token })).status, 202);
    const vmail = await waitFor(() => sink.to(v.account.email).find((m) => m.data.includes("/verify#token=")), 10000, { what: 'verify mail' });
    const vtok = vmail.data.match(/verify#token=(cdv_[0-9a-f]{64})/)[1];
    assert.equal((await call('POST', '/v1/email_verification/confirm', { body: { token: vtok } })).status, 204);
    await call('POST', '/v1/email_verification/confirm', { body: { token: vtok } }); // 400 used

    // Answers of the router itself: a known path with another method, an
    // unknown path under /v1/. Both are Errors.
    const errOnly = ajv.compile({ $ref: 'openapi#/components/schemas/Error' });
    for (const [m, p, status, code] of [['DELETE', '/v1/balance', 405, 'method_not_allowed'], ['GET', '/v1/nope', 404, 'not_found']]) {
        const r = await stack.api(m, p, tok);
        assert.equal(r.status, status, r.text);
        assert.ok(errOnly(r.json), ajv.errorsText(errOnly.errors));
        assert.equal(r.json.error.code, code);
    }

    const silent = [...routes.keys()].filter((k) => ![...(answered.get(k) || [])].some((s) => s >= 200 && s < 300));
    assert.deepEqual(silent, [], 'documented operations that never answered 2xx');
    if (process.env.OPENAPI_EXAMPLES) fs.writeFileSync(process.env.OPENAPI_EXAMPLES, JSON.stringify(examples, null, 1));
}, { timeout: 120000 });
