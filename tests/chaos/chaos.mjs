// chaos.mjs - creditd's fault run: a mixed load against the real binary
// while the server is kill -9'ed every few seconds and restarted on the
// same database and port, and the sandbox (its own process, so it survives
// the kills) duplicates, shuffles and delays every webhook delivery. Then
// an exact check of everything that was acknowledged.
//
//   node tests/chaos/chaos.mjs [--seconds=30] [--workers=4] [--seed=1]
//        [--kill-min-ms=2000] [--kill-max-ms=5000] [--duplicates=2]
//        [--delivery-attempts=40]
//        [--jitter-ms=300] [--delay-ms=0] [--stripe-delay-ms=20]
//        [--reconcile-s=3] [--timeout-rate=0.1] [--json]
//
// --delivery-attempts is how often the sandbox tries one delivery (40:
// about 6 minutes; Stripe tries for three days, so a server killed this
// often must not lose one), --stripe-delay-ms slows every Stripe call (so kills land inside them),
// --reconcile-s runs the server's background reconciliation that often
// (racing the webhooks), --timeout-rate is the share of first attempts
// sent with a client timeout of 1..40 ms.
//
// The load (per worker, a seeded choice per step): sign-ups, grants and
// debits with an Idempotency-Key, checkouts paid (4242) or declined
// (4000000000000002) through the sandbox's control endpoints, off-session
// top-ups with the card a paid checkout saved, admin
// refunds (full and partial) of paid orders, disputes opened and closed
// (won or lost) on paid charges. A request whose outcome is
// unknown (connection cut by a kill, a client timeout injected on purpose,
// a 5xx, 409 idempotency_in_progress) is sent again with the same key until
// a definite answer, as a real client does; some acknowledged requests are
// replayed (same key, same body: the same answer) or sent twice at once.
//
// The check, after a clean drain (no webhook left at the sandbox, every
// paid order fulfilled, reconciliation run): every acknowledged grant and
// debit is in the ledger once and nothing else is; every paid order is
// credited once and every declined one never; refunds and disputes take
// floor(C * min(A, R + D) / A) credits once per order; Stripe holds one
// Checkout session per checkout and one PaymentIntent per top-up; each balance equals the sum of
// its acknowledged operations; GET /v1/admin/ledger/verify is ok; no
// delivery was given up; no sanitizer report. Any mismatch is printed and
// the exit status is 1.
//
// Environment: CREDITD_BIN (default build/creditd), E2E_KEEP_TMP=1,
// CHAOS_LOG=debug (both processes' log level; info by default).
// Targets 127.0.0.1 only; every loop is bounded in time.
import { Stack, httpRequest, sleep, waitFor, CARD_OK, CARD_DECLINE } from '../e2e/harness.mjs';

// ------------------------------------------------------------------ options

function option(name, dflt) {
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === `--${name}`) {
            const next = argv[i + 1];
            return next === undefined || next.startsWith('--') ? true : next;
        }
        if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
    }
    return dflt;
}

function numOption(name, dflt, lo, hi) {
    const v = Number(option(name, dflt));
    if (!Number.isFinite(v) || v < lo || v > hi) {
        console.error(`chaos: --${name} must be a number in ${lo}..${hi}`);
        process.exit(2);
    }
    return v;
}

const OPT = {
    seconds: numOption('seconds', 30, 1, 24 * 3600),
    workers: numOption('workers', 4, 1, 64),
    seed: numOption('seed', 1, 0, 2 ** 32 - 1),
    killMin: numOption('kill-min-ms', 2000, 100, 600000),
    killMax: numOption('kill-max-ms', 5000, 100, 600000),
    duplicates: numOption('duplicates', 2, 1, 10),
    attempts: numOption('delivery-attempts', 40, 1, 1000),
    jitter: numOption('jitter-ms', 300, 0, 60000),
    delay: numOption('delay-ms', 0, 0, 60000),
    stripeDelay: numOption('stripe-delay-ms', 20, 0, 60000),
    reconcile: numOption('reconcile-s', 3, 0, 86400),
    timeoutRate: numOption('timeout-rate', 0.1, 0, 1),
    json: option('json', false) !== false,
};
if (OPT.killMax < OPT.killMin) OPT.killMax = OPT.killMin;

const RESOLVE_MS = 90000; // one request's retries, at most
const DRAIN_MS = 180000; // webhooks and fulfilment after the run, at most
const PASSWORD = 'chaos-password-1';

// ------------------------------------------------------------- seeded PRNG

/** mulberry32: a small seeded generator, [0, 1). */
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const between = (rnd, lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (rnd, arr) => arr[Math.floor(rnd() * arr.length)];

// ----------------------------------------------------------------- the model

const runId = `${OPT.seed.toString(36)}${Date.now().toString(36)}`;
const stats = {
    ops: {}, // op -> count started
    acked: {
        signup: 0, grant: 0, debit: 0, debit_refused: 0, checkout_paid: 0, checkout_declined: 0, topup: 0,
        refund: 0, refund_refused: 0, dispute_opened: 0, dispute_closed: 0,
    },
    kills: 0,
    restarts_ms_max: 0,
    retries: 0, // requests sent again with the same key (no definite answer)
    injected_timeouts: 0,
    replays_checked: 0,
    double_sends: 0,
    refunds_skipped_unfulfilled: 0,
    pending_cap_hits: 0,
};
const problems = []; // what went wrong during the run (not the final check)
// {id, email, token, grants: [{key, txn, amount}], debits: [...], refused: [key], paidOnce, saved}
const accounts = [];
// {id, account, session, pi, amount, credits, paid, declined, expired,
//  refunds: [amount], disputes: [{id, amount, status}], busy}
const orders = [];

let stack;
let catalog;
let deadline;
let serverDown = false;

function count(op) {
    stats.ops[op] = (stats.ops[op] || 0) + 1;
}

// ------------------------------------------------- requests of unknown outcome

/** True when an answer says what happened (else: send the same again). */
function definite(r) {
    if (!r) return false;
    if (r.status >= 500) return false;
    if (r.status === 409 && r.json?.error?.code === 'idempotency_in_progress') return false;
    if (r.status === 429 && r.json?.error?.code === 'rate_limited') return false;
    return true;
}

/**
 * Sends send(timeoutMs) until definite(); the first attempt may carry a
 * tiny client timeout (the client gives up, the server may still commit).
 * Resolves the definite reply; throws after RESOLVE_MS.
 */
async function settle(what, rnd, send) {
    const t0 = Date.now();
    for (let attempt = 1; ; attempt++) {
        let timeoutMs = 15000;
        if (attempt === 1 && rnd() < OPT.timeoutRate) {
            timeoutMs = between(rnd, 1, 40);
            stats.injected_timeouts++;
        }
        let r = null;
        try {
            r = await send(timeoutMs);
        } catch {
            r = null;
        }
        if (definite(r)) return r;
        if (Date.now() - t0 > RESOLVE_MS) {
            throw new Error(`${what}: no definite answer after ${attempt} attempts in ${RESOLVE_MS} ms` +
                (r ? ` (last ${r.status} ${r.text.slice(0, 200)})` : ' (last: no answer)'));
        }
        stats.retries++;
        await sleep(serverDown ? 100 : 20 + Math.floor(Math.random() * 180)); // timing, not a seeded choice
    }
}

function api(method, p, { token, account, idem, body, timeoutMs, admin } = {}) {
    const h = {};
    if (token) h.Authorization = `Bearer ${token}`;
    if (admin || account) h.Authorization = `Bearer ${stack.adminKey}`;
    if (account) h['Creditd-Account'] = account;
    if (idem) h['Idempotency-Key'] = idem;
    return httpRequest(method, stack.baseUrl + p, { headers: h, body, timeoutMs });
}

function sandbox(method, p, body) {
    return httpRequest(method, stack.sandboxUrl + p, { body, timeoutMs: 15000 });
}

// --------------------------------------------------------------- operations

async function opSignup(w, rnd, n) {
    count('signup');
    const email = `chaos-${runId}-${w}-${n}@example.com`;
    let r = await settle(`signup ${email}`, rnd, (t) =>
        api('POST', '/v1/auth/signup', { body: { email, password: PASSWORD }, timeoutMs: t }));
    if (r.status === 409 && r.json?.error?.code === 'email_taken') {
        // An earlier attempt created it and its answer was lost.
        r = await settle(`login ${email}`, rnd, (t) =>
            api('POST', '/v1/auth/login', { body: { email, password: PASSWORD }, timeoutMs: t }));
    }
    if (r.status !== 201 && r.status !== 200) {
        problems.push(`signup ${email}: ${r.status} ${r.text}`);
        return;
    }
    stats.acked.signup++;
    accounts.push({ id: r.json.account.id, email, token: r.json.token, grants: [], debits: [], refused: [] });
}

/** A grant or debit with a key; replays or doubles some. */
async function opLedger(kind, w, rnd, n) {
    count(kind);
    const acct = pick(rnd, accounts);
    const key = `${kind}-${runId}-${w}-${n}`;
    const body = kind === 'grant'
        ? { amount: between(rnd, 1, 5000), description: `chaos grant ${n}` }
        : { amount: between(rnd, 1, 3000), description: `chaos debit ${n}`, allow_negative: rnd() < 0.5 };
    const send = (t) => api('POST', `/v1/${kind}s`, { account: acct.id, idem: key, body, timeoutMs: t });
    let r;
    if (rnd() < 0.05) {
        stats.double_sends++;
        const [a, b] = await Promise.all([settle(key, rnd, send), settle(key, rnd, send)]);
        if (a.status !== b.status || a.json?.transaction_id !== b.json?.transaction_id) {
            problems.push(`${key} sent twice at once: ${a.status} ${a.text} vs ${b.status} ${b.text}`);
        }
        r = a;
    } else {
        r = await settle(key, rnd, send);
    }
    if (r.status === 201) {
        stats.acked[kind]++;
        (kind === 'grant' ? acct.grants : acct.debits).push({ key, txn: r.json.transaction_id, amount: body.amount });
    } else if (kind === 'debit' && r.status === 402 && r.json?.error?.code === 'insufficient_balance') {
        stats.acked.debit_refused++;
        acct.refused.push(key);
    } else {
        problems.push(`${key}: unexpected ${r.status} ${r.text}`);
        return;
    }
    if (rnd() < 0.15) await checkReplay(key, rnd, send, r);
}

/** The same key and body again: the same status and body, marked replayed. */
async function checkReplay(key, rnd, send, first) {
    stats.replays_checked++;
    const again = await settle(`${key} replay`, rnd, send);
    if (again.status !== first.status || again.text !== first.text || again.headers['idempotent-replayed'] !== 'true') {
        problems.push(`${key} replay: first ${first.status} ${first.text}, again ${again.status} ${again.text} ` +
            `(Idempotent-Replayed: ${again.headers['idempotent-replayed']})`);
    }
}

function checkoutBody(rnd) {
    if (catalog.packages.length && rnd() < 0.4) return { kind: 'package', package_id: pick(rnd, catalog.packages).id };
    const t = catalog.topup;
    const steps = Math.max(0, Math.min(5, Math.floor((t.max_cents - t.min_cents) / t.step_cents)));
    return { kind: 'topup', amount_cents: t.min_cents + t.step_cents * between(rnd, 0, steps) };
}

async function opCheckout(paid, w, rnd, n) {
    const op = paid ? 'checkout_paid' : 'checkout_declined';
    count(op);
    const acct = pick(rnd, accounts);
    const key = `checkout-${runId}-${w}-${n}`;
    const body = checkoutBody(rnd);
    const r = await settle(key, rnd, (t) => api('POST', '/v1/checkout', { token: acct.token, idem: key, body, timeoutMs: t }));
    if (r.status === 429 && r.json?.error?.code === 'too_many_pending_orders') {
        stats.pending_cap_hits++;
        return;
    }
    if (r.status !== 201) {
        problems.push(`${key}: unexpected ${r.status} ${r.text}`);
        return;
    }
    const o = {
        id: r.json.order_id, account: acct, session: r.json.session_id, amount: r.json.amount_cents,
        credits: r.json.credits, paid: false, declined: false, expired: false, refunds: [], disputes: [], busy: false,
    };
    const pay = await sandbox('POST', `/_sandbox/checkout/${encodeURIComponent(o.session)}/complete`,
        { card: paid ? CARD_OK : CARD_DECLINE });
    if (paid && pay.status === 200) {
        o.paid = true;
        acct.paidOnce = true;
        stats.acked.checkout_paid++;
    } else if (!paid && pay.status === 402) {
        o.declined = true;
        stats.acked.checkout_declined++;
        if (rnd() < 0.7) {
            const ex = await sandbox('POST', `/_sandbox/checkout/${encodeURIComponent(o.session)}/expire`, {});
            if (ex.status === 200) o.expired = true;
            else problems.push(`expire ${o.session}: ${ex.status} ${ex.text}`);
        }
    } else {
        problems.push(`pay ${o.session} (${paid ? 'ok card' : 'declining card'}): ${pay.status} ${pay.text}`);
    }
    orders.push(o);
}

/** Learns whether a paid checkout saved the account's card (a webhook away). */
async function opSaved(rnd) {
    const acct = pick(rnd, accounts);
    if (acct.saved || !acct.paidOnce) return;
    try {
        const r = await api('GET', '/v1/account', { token: acct.token, timeoutMs: 5000 });
        if (r.status === 200 && r.json.has_saved_payment_method === true) acct.saved = true;
    } catch {
        /* the server is down: another time */
    }
}

/** An off-session top-up with the card a paid checkout saved. */
async function opTopup(w, rnd, n) {
    const acct = pick(rnd, accounts);
    if (!acct.saved) return;
    count('topup');
    const key = `topup-${runId}-${w}-${n}`;
    const t = catalog.topup;
    const body = { amount_cents: t.min_cents + t.step_cents * between(rnd, 0, 3) };
    const r = await settle(key, rnd, (tm) => api('POST', '/v1/topups', { token: acct.token, idem: key, body, timeoutMs: tm }));
    if (r.status === 429 && r.json?.error?.code === 'too_many_pending_orders') {
        stats.pending_cap_hits++;
        return;
    }
    if (r.status !== 202) {
        problems.push(`${key}: unexpected ${r.status} ${r.text}`);
        return;
    }
    stats.acked.topup++;
    orders.push({
        id: r.json.order_id, account: acct, session: null, amount: body.amount_cents, credits: body.amount_cents,
        pi: r.json.payment_intent_id, paid: true, declined: false, expired: false, refunds: [], disputes: [], busy: false,
    });
}

/** Opens a dispute on a paid order's charge, or closes its open one (won
 * or lost): the sandbox delivers charge.dispute.created / .closed. */
const CLOSED = ['won', 'lost', 'warning_closed', 'prevented'];

async function opDispute(rnd) {
    const open = orders.filter((o) => !o.busy && o.disputes.length && !CLOSED.includes(o.disputes[0].status));
    const fresh = orders.filter((o) => o.paid && !o.busy && o.disputes.length === 0);
    const pool = open.length && (rnd() < 0.6 || !fresh.length) ? open : fresh;
    if (!pool.length) return;
    count('dispute');
    const o = pick(rnd, pool);
    o.busy = true;
    try {
        if (!o.pi) {
            const sess = await stack.stripe('GET', `/v1/checkout/sessions/${encodeURIComponent(o.session)}`);
            if (sess.status !== 200 || !sess.json.payment_intent) {
                problems.push(`session ${o.session} at the sandbox: ${sess.status} ${sess.text.slice(0, 200)}`);
                return;
            }
            o.pi = sess.json.payment_intent;
        }
        const closing = o.disputes.length > 0;
        const body = closing ? { status: rnd() < 0.5 ? 'won' : 'lost' } : {};
        const r = await sandbox('POST', `/_sandbox/charges/${encodeURIComponent(o.pi)}/dispute`, body);
        if (r.status !== 200) {
            problems.push(`dispute ${o.pi} ${JSON.stringify(body)}: ${r.status} ${r.text.slice(0, 200)}`);
            return;
        }
        if (closing) o.disputes[0].status = r.json.status;
        else o.disputes.push({ id: r.json.id, amount: r.json.amount, status: r.json.status });
        stats.acked[closing ? 'dispute_closed' : 'dispute_opened']++;
    } finally {
        o.busy = false;
    }
}

const refunded = (o) => o.refunds.reduce((a, b) => a + b, 0);

async function opRefund(w, rnd, n) {
    const open = orders.filter((o) => o.paid && !o.busy && refunded(o) < o.amount);
    if (!open.length) return;
    count('refund');
    const o = pick(rnd, open);
    o.busy = true;
    try {
        // Only a fulfilled order can be refunded; its webhook may be late.
        let f = null;
        try {
            f = o.session
                ? await api('GET', `/v1/checkout/${encodeURIComponent(o.session)}`, { token: o.account.token, timeoutMs: 5000 })
                : { status: 200, json: { fulfilled: true } }; // a top-up: a 409 says when it is not
        } catch {
            f = null;
        }
        if (!f || f.status !== 200 || f.json.fulfilled !== true) {
            stats.refunds_skipped_unfulfilled++;
            return;
        }
        const left = o.amount - refunded(o);
        const body = left > 1 && rnd() < 0.6 ? { amount_cents: between(rnd, 1, left - 1) } : {};
        const key = `refund-${runId}-${w}-${n}`;
        const r = await settle(key, rnd, (t) =>
            api('POST', `/v1/admin/orders/${o.id}/refund`, { admin: true, idem: key, body, timeoutMs: t }));
        if (r.status === 202) {
            const want = body.amount_cents ?? left;
            if (r.json.amount_cents !== want) problems.push(`${key}: refunded ${r.json.amount_cents}, asked ${want}`);
            o.refunds.push(r.json.amount_cents);
            stats.acked.refund++;
        } else if (r.status === 409 && r.json?.error?.code === 'order_not_refundable') {
            stats.acked.refund_refused++;
        } else {
            problems.push(`${key}: unexpected ${r.status} ${r.text}`);
        }
    } finally {
        o.busy = false;
    }
}

const MIX = [
    ['grant', 20], ['debit', 30], ['checkout_paid', 16], ['checkout_declined', 7], ['topup', 6], ['refund', 14],
    ['signup', 3], ['saved', 2], ['dispute', 3],
];
const MIX_TOTAL = MIX.reduce((a, [, x]) => a + x, 0);

async function worker(w) {
    const rnd = prng(OPT.seed * 1000 + w + 1);
    let n = 0;
    await opSignup(w, rnd, n++);
    while (Date.now() < deadline) {
        let x = rnd() * MIX_TOTAL;
        const op = MIX.find(([, wt]) => (x -= wt) < 0)[0];
        try {
            if (op === 'signup') await opSignup(w, rnd, n++);
            else if (op === 'grant' || op === 'debit') await opLedger(op, w, rnd, n++);
            else if (op === 'checkout_paid') await opCheckout(true, w, rnd, n++);
            else if (op === 'checkout_declined') await opCheckout(false, w, rnd, n++);
            else if (op === 'topup') await opTopup(w, rnd, n++);
            else if (op === 'saved') await opSaved(rnd);
            else if (op === 'dispute') await opDispute(rnd);
            else await opRefund(w, rnd, n++);
        } catch (e) {
            problems.push(`worker ${w} ${op}: ${e.message}`);
        }
    }
}

async function killer() {
    const rnd = prng(OPT.seed ^ 0x9e3779b9);
    while (Date.now() < deadline) {
        await sleep(between(rnd, OPT.killMin, OPT.killMax));
        if (Date.now() >= deadline) break;
        serverDown = true;
        const t0 = Date.now();
        await stack.killServer();
        stats.kills++;
        await stack.startServer();
        serverDown = false;
        stats.restarts_ms_max = Math.max(stats.restarts_ms_max, Date.now() - t0);
    }
}

// ---------------------------------------------------------------- the check

/** Every row of an account list (newest first), paged by 100. */
async function listAll(acct, p) {
    const out = [];
    for (let offset = 0; ; offset += 100) {
        const r = await api('GET', `${p}?limit=100&offset=${offset}`, { token: acct.token, timeoutMs: 30000 });
        if (r.status !== 200) throw new Error(`GET ${p} of ${acct.id}: ${r.status} ${r.text}`);
        out.push(...r.json.data);
        if (r.json.data.length < 100 || out.length >= r.json.total) return out;
    }
}

async function sandboxStats() {
    const r = await sandbox('GET', '/_sandbox/config');
    if (r.status !== 200) throw new Error(`sandbox config: ${r.status} ${r.text}`);
    return r.json;
}

/** Waits until the sandbox holds no delivery and every paid order is fulfilled. */
async function drain(what) {
    const paid = orders.filter((o) => o.paid);
    await waitFor(async () => {
        if ((await sandboxStats()).pending !== 0) return false;
        for (const acct of accounts) {
            const mine = paid.filter((o) => o.account === acct);
            if (!mine.length) continue;
            const byId = new Map((await listAll(acct, '/v1/orders')).map((x) => [x.id, x]));
            if (mine.some((o) => !byId.get(o.id) || byId.get(o.id).status === 'pending')) return false;
        }
        return true;
    }, DRAIN_MS, { intervalMs: 250, what });
}

/** What disputes hold: every dispute not won. */
const held = (o) => o.disputes.filter((d) => !['won', 'warning_closed', 'prevented'].includes(d.status)) // open or lost
    .reduce((a, d) => a + d.amount, 0);

/** floor(C * min(A, R + D) / A), at most C: what refunds and disputes
 * take from an order (docs/API-NOTES.md, one clawback figure). */
function clawback(o) {
    const { credits, amount } = o;
    const t = (BigInt(credits) * BigInt(Math.min(amount, refunded(o) + held(o)))) / BigInt(amount);
    return Number(t < BigInt(credits) ? t : BigInt(credits));
}

const FULFIL_KINDS = new Set(['purchase', 'topup', 'package']);

function expectedStatus(o) {
    if (o.paid && held(o) > 0) return 'disputed';
    if (o.paid) {
        const r = refunded(o);
        return r === 0 ? 'completed' : r >= o.amount ? 'refunded' : 'partially_refunded';
    }
    return o.expired ? 'expired' : 'pending';
}

/** Checks one account exactly; pushes every difference to diff. */
async function checkAccount(acct, diff) {
    const rows = await listAll(acct, '/v1/transactions');
    const byId = new Map();
    for (const t of rows) {
        if (byId.has(t.id)) diff.push(`${acct.id}: transaction ${t.id} listed twice`);
        byId.set(t.id, t);
    }
    let expected = 0;
    const known = new Set();
    for (const [list, kind, sign] of [[acct.grants, 'grant', 1], [acct.debits, 'usage', -1]]) {
        for (const g of list) {
            const t = byId.get(g.txn);
            known.add(g.txn);
            expected += sign * g.amount;
            if (!t) diff.push(`${acct.id}: acknowledged ${g.key} (${g.txn}) missing from the ledger`);
            else if (t.kind !== kind || t.amount !== sign * g.amount) {
                diff.push(`${acct.id}: ${g.key} is ${t.kind} ${t.amount}, acknowledged ${kind} ${sign * g.amount}`);
            }
        }
    }
    for (const t of rows) {
        if ((t.kind === 'grant' || t.kind === 'usage') && !known.has(t.id)) {
            diff.push(`${acct.id}: ${t.kind} ${t.id} of ${t.amount} was never acknowledged (a lost or doubled write)`);
        }
    }
    const listed = new Map((await listAll(acct, '/v1/orders')).map((x) => [x.id, x]));
    const payments = new Map((await listAll(acct, '/v1/payments')).map((x) => [x.order_id, x]));
    for (const o of orders.filter((x) => x.account === acct)) {
        const mine = rows.filter((t) => t.order_id === o.id);
        const credit = mine.filter((t) => FULFIL_KINDS.has(t.kind));
        const back = mine.filter((t) => t.kind === 'refund' || t.kind === 'dispute');
        const taken = -back.reduce((a, t) => a + t.amount, 0);
        const other = mine.filter((t) => !FULFIL_KINDS.has(t.kind) && !back.includes(t));
        const wantTaken = o.paid ? clawback(o) : 0;
        if (o.paid && (credit.length !== 1 || credit[0].amount !== o.credits)) {
            diff.push(`${acct.id}: paid ${o.id} credited ${JSON.stringify(credit.map((t) => t.amount))}, want once ${o.credits}`);
        }
        if (!o.paid && credit.length) diff.push(`${acct.id}: unpaid ${o.id} was credited ${JSON.stringify(credit.map((t) => t.amount))}`);
        if (taken !== wantTaken) {
            diff.push(`${acct.id}: ${o.id} refunds ${JSON.stringify(o.refunds)} and disputes ${JSON.stringify(o.disputes)} ` +
                `of ${o.amount} took ${taken} credits, want ${wantTaken} of ${o.credits}`);
        }
        if (other.length) diff.push(`${acct.id}: ${o.id} has unexpected rows ${JSON.stringify(other)}`);
        const st = listed.get(o.id)?.status;
        if (st !== expectedStatus(o)) diff.push(`${acct.id}: ${o.id} is ${st}, want ${expectedStatus(o)}`);
        if (o.paid && payments.get(o.id)?.amount_refunded_cents !== refunded(o)) {
            diff.push(`${acct.id}: ${o.id} payment shows ${payments.get(o.id)?.amount_refunded_cents} refunded, acknowledged ${refunded(o)}`);
        }
        expected += o.paid ? o.credits - wantTaken : 0;
    }
    const bal = await api('GET', '/v1/balance', { token: acct.token });
    if (bal.status !== 200) diff.push(`${acct.id}: GET /v1/balance ${bal.status} ${bal.text}`);
    else if (bal.json.balance !== expected) {
        diff.push(`${acct.id}: balance ${bal.json.balance}, the acknowledged operations sum to ${expected}`);
    }
    return rows.length;
}

/** Every object of a Stripe list at the sandbox, paged by 100. */
async function stripeListAll(p) {
    const out = [];
    for (let after = null; ;) {
        const r = await stack.stripe('GET', `${p}?limit=100${after ? `&starting_after=${after}` : ''}`);
        if (r.status !== 200) throw new Error(`sandbox GET ${p}: ${r.status} ${r.text.slice(0, 200)}`);
        out.push(...r.json.data);
        if (!r.json.has_more || !r.json.data.length) return out;
        after = r.json.data[r.json.data.length - 1].id;
    }
}

/** Stripe's side: one Checkout session per checkout order, one
 * PaymentIntent per top-up, none for an order never acknowledged - so no
 * retry opened or charged twice. */
async function checkStripe(diff) {
    const known = new Map(orders.map((o) => [o.id, o]));
    const seen = new Map(); // order id -> count
    const note = (kind, obj) => {
        const id = obj.metadata?.order_id;
        if (!id) return;
        const k = `${kind}:${id}`;
        seen.set(k, (seen.get(k) || 0) + 1);
        if (!known.has(id)) diff.push(`Stripe has ${kind} ${obj.id} for ${id}, an order never acknowledged`);
    };
    for (const x of await stripeListAll('/v1/checkout/sessions')) note('session', x);
    for (const x of await stripeListAll('/v1/payment_intents')) {
        // a Checkout order's PaymentIntent carries its order id too
        if (x.metadata?.kind === 'topup' && !known.get(x.metadata.order_id)?.session) note('topup', x);
    }
    for (const o of orders) {
        const k = o.session ? `session:${o.id}` : `topup:${o.id}`;
        if (seen.get(k) !== 1) diff.push(`${o.id}: ${seen.get(k) || 0} ${o.session ? 'Checkout sessions' : 'PaymentIntents'} at Stripe, want 1`);
    }
    return seen.size;
}

async function checkAll() {
    const diff = [...problems.map((p) => `during the run: ${p}`)];
    let rows = 0;
    for (const acct of accounts) {
        const a = await api('GET', `/v1/admin/accounts/${acct.id}`, { admin: true });
        if (a.status !== 200) diff.push(`acknowledged sign-up ${acct.email} (${acct.id}): ${a.status}`);
        rows += await checkAccount(acct, diff);
    }
    const v = await api('GET', '/v1/admin/ledger/verify', { admin: true, timeoutMs: 60000 });
    if (v.status !== 200 || v.json.ok !== true) diff.push(`ledger verify: ${v.status} ${v.text.slice(0, 500)}`);
    const stripeObjects = await checkStripe(diff);
    const sb = await sandboxStats();
    if (sb.failed !== 0 || sb.dropped !== 0) diff.push(`sandbox gave up ${sb.failed} deliveries and dropped ${sb.dropped}`);
    return { diff, rows, stripeObjects, sandbox: sb };
}

// --------------------------------------------------------------------- main

async function main() {
    stack = new Stack({
        serverEnv: {
            CREDITD_LOG: process.env.CHAOS_LOG || 'info',
            CREDITD_AUTH_RATE_LIMIT: '0',
            CREDITD_CHECKOUT_RATE_LIMIT: '0',
            CREDITD_IDEM_LEASE_MS: '2000',
            CREDITD_RECONCILE_INTERVAL: String(OPT.reconcile),
        },
        sandboxEnv: { CREDITD_LOG: process.env.CHAOS_LOG || 'info' },
    });
    await stack.start();
    const t0 = Date.now();
    let result;
    try {
        const cfg = await sandbox('POST', '/_sandbox/config', {
            duplicate_deliveries: OPT.duplicates, shuffle: true, delivery_attempts: OPT.attempts,
            delivery_delay_ms: OPT.delay, delivery_jitter_ms: OPT.jitter,
            api_delay_ms: OPT.stripeDelay, // a kill lands inside Stripe calls
        });
        if (cfg.status !== 200) throw new Error(`sandbox config: ${cfg.status} ${cfg.text}`);
        catalog = (await api('GET', '/v1/config')).json;
        deadline = Date.now() + OPT.seconds * 1000;
        const progress = setInterval(() => {
            if (!OPT.json) process.stderr.write(`chaos: ${Math.round((Date.now() - t0) / 1000)} s, ${stats.kills} kills, acked ${JSON.stringify(stats.acked)}\n`);
        }, 10000);
        await Promise.all([killer(), ...Array.from({ length: OPT.workers }, (_, w) => worker(w))]);
        clearInterval(progress);
        const loadMs = Date.now() - t0;

        // The end: a clean restart, the deliveries drained, reconciliation.
        await stack.restartServer({ graceful: true });
        await drain('webhooks drained and paid orders fulfilled');
        const rec = await api('POST', '/v1/admin/reconcile', { admin: true, timeoutMs: 120000 });
        if (rec.status !== 200) problems.push(`reconcile: ${rec.status} ${rec.text}`);
        await drain('drained after reconciliation');
        const { diff, rows, stripeObjects, sandbox: sb } = await checkAll();
        result = {
            ok: diff.length === 0, seed: OPT.seed, seconds: OPT.seconds, workers: OPT.workers,
            load_ms: loadMs, total_ms: Date.now() - t0, accounts: accounts.length, orders: orders.length,
            ledger_rows: rows, stripe_objects: stripeObjects, ...stats,
            webhooks: { duplicates_per_event: OPT.duplicates, jitter_ms: OPT.jitter, shuffle: true, max_attempts: OPT.attempts,
                attempts: sb.attempts, delivered: sb.delivered, failed: sb.failed },
            reconcile: rec.json, diff: diff.slice(0, 200), diff_count: diff.length,
        };
    } finally {
        // Keep the logs and the database of a failed or aborted run.
        if (!result || !result.ok) process.env.E2E_KEEP_TMP = '1';
        const reports = await stack.stop();
        if (process.env.E2E_KEEP_TMP) process.stderr.write(`chaos: logs and database kept in ${stack.dir}\n`);
        if (reports) {
            result = result || { ok: false, diff: [] };
            result.ok = false;
            result.diff.push(`sanitizer reports (logs kept in ${stack.dir}):\n${reports}`);
        }
    }
    return result;
}

const started = Date.now();
main().then((result) => {
    if (OPT.json) console.log(JSON.stringify(result, null, 2));
    else {
        const { diff, ...rest } = result;
        console.log(JSON.stringify(rest, null, 2));
        for (const d of diff) console.log(`MISMATCH ${d}`);
        console.log(result.ok ? `chaos: OK (${Math.round((Date.now() - started) / 1000)} s)` :
            `chaos: FAILED, ${result.diff_count ?? diff.length} mismatches`);
    }
    process.exit(result.ok ? 0 : 1);
}, (e) => {
    console.error(`chaos: aborted: ${e.stack || e.message}`);
    process.exit(1);
});
