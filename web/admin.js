// Admin console (/admin): the operator's pages over the /v1/admin/* API with
// the server key. See docs/OPERATIONS.md "The admin console".
//
// Where the key lives: sessionStorage of this tab only. It is typed into the
// login form, sent as "Authorization: Bearer" on same-origin fetches, never
// put in a URL (so no log, history or Referer sees it), never in
// localStorage or a cookie (so it is not kept after the tab closes and no
// cross-site request can carry it: a bearer header is not ambient like a
// cookie, so there is no CSRF to defend). Script on this origin could read
// it; the server's CSP (script-src 'self', no inline script) and building
// the DOM with textContent only are what keep foreign script out.
import {
    ApiError, getConfig, h, formatMoney, formatCredits, humanize, statusBadge, timeEl, showAlert, hideAlert,
} from '/app.js';
import { wireLists } from '/admin_lists.js';

const KEY = 'creditd.admin_key';
const $ = (id) => document.getElementById(id);

function getKey() {
    try {
        return sessionStorage.getItem(KEY);
    } catch {
        return null;
    }
}

function setKey(k) {
    try {
        if (k) sessionStorage.setItem(KEY, k);
        else sessionStorage.removeItem(KEY);
    } catch {
        /* storage unavailable: the key lives until this page unloads */
    }
    memoryKey = k || null;
}
let memoryKey = null;

/* 32 random bytes as hex: an Idempotency-Key (works outside secure contexts too). */
export function newIdemKey() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return 'adm-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/* One call with the server key. opts: {idem, account, raw (return the Response)}. */
async function adminApi(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${getKey() || memoryKey || ''}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.idem) headers['Idempotency-Key'] = opts.idem;
    if (opts.account) headers['Creditd-Account'] = opts.account;
    let res;
    try {
        res = await fetch(path, {
            method, headers, cache: 'no-store', credentials: 'omit',
            body: body === undefined ? undefined : JSON.stringify(body),
        });
    } catch {
        throw new ApiError(0, { error: { message: 'Could not reach the server. Check your connection and try again.' } });
    }
    if (res.status === 401 && !opts.login) {
        logOut('The server key was refused. Log in again.');
        return new Promise(() => {});
    }
    if (opts.raw && res.ok) return res;
    const text = res.status === 204 ? '' : await res.text();
    let data = null;
    try {
        data = text ? JSON.parse(text) : null;
    } catch {
        data = null;
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
}

/* "12.34" or "12" -> 1234 cents, exactly; null when not a plain amount. */
export function parseCents(s) {
    const m = /^\s*\$?(\d{1,10})(?:\.(\d{1,2}))?\s*$/.exec(String(s || ''));
    if (!m) return null;
    return Number(m[1]) * 100 + Number((m[2] || '0').padEnd(2, '0'));
}

function parseCount(s) {
    const t = String(s || '').replace(/,/g, '').trim();
    return /^\d{1,13}$/.test(t) ? Number(t) : null;
}

const centsText = (c) => (c / 100).toFixed(2);

function say(el, text, ok = true) {
    el.textContent = text;
    el.className = ok ? 'status-ok' : 'status-bad';
}

/* Fills a table body; each cell gets its column's name (shown on small screens). */
function fillRows(tbody, rows, append = false) {
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    const names = [...tbody.closest('table').querySelectorAll('thead th')].map((th) => th.textContent.trim());
    for (const tr of tbody.rows) {
        [...tr.cells].forEach((td, i) => {
            if (!td.classList.contains('empty') && names[i]) td.setAttribute('data-label', names[i]);
        });
    }
}

/* Runs fn with the button disabled; failures go to statusEl. */
async function busy(button, statusEl, fn) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
        await fn();
    } catch (e) {
        if (statusEl) say(statusEl, e.message || String(e), false);
    } finally {
        button.disabled = false;
        button.removeAttribute('aria-busy');
    }
}

/* ---------------------------------------------------------------- login */

function showConsole(on) {
    $('login-section').hidden = on;
    $('console').hidden = !on;
    $('admin-nav').hidden = !on;
    $('admin-logout').hidden = !on;
}

function logOut(message) {
    setKey(null);
    showConsole(false);
    const err = $('login-error');
    if (message) showAlert(err, message);
    else hideAlert(err);
    $('server-key').value = '';
    $('server-key').focus();
}

async function logIn(event) {
    event.preventDefault();
    const input = $('server-key');
    const err = $('login-error');
    const key = input.value.trim();
    if (!key) {
        showAlert(err, 'Enter the server key.');
        input.focus();
        return;
    }
    hideAlert(err);
    setKey(key);
    try {
        await adminApi('GET', '/v1/admin/pricing', undefined, { login: true });
    } catch (e) {
        setKey(null);
        showAlert(err, e.status === 401 || e.status === 403 ? 'That is not the server key.' : e.message);
        input.focus();
        return;
    }
    input.value = '';
    startConsole();
}

/* ---------------------------------------------------------------- dashboard */

/* GET /v1/admin/summary from the given time (to now): the database sums. */
const summarySince = (fromIso) => adminApi('GET', `/v1/admin/summary?from=${encodeURIComponent(fromIso)}`);

/* "net $35.00 (gross $40.00, refunded $5.00)" per currency, joined; "$0.00" without payments. */
function revenueText(summary, currency) {
    if (!summary.revenue.length) return formatMoney(0, currency);
    return summary.revenue.map((r) => (r.refunded_cents
        ? `${formatMoney(r.net_cents, r.currency)} net (${formatMoney(r.gross_cents, r.currency)} gross, ${formatMoney(r.refunded_cents, r.currency)} refunded)`
        : formatMoney(r.net_cents, r.currency))).join('; ');
}

/* Sums of a Prometheus counter by one label, from GET /metrics. */
function metricByLabel(text, name, label) {
    const out = {};
    const re = new RegExp(`^${name}\\{([^}]*)\\}\\s+([0-9.eE+-]+)`, 'gm');
    for (const m of text.matchAll(re)) {
        const lm = new RegExp(`${label}="([^"]*)"`).exec(m[1]);
        if (lm) out[lm[1]] = (out[lm[1]] || 0) + Number(m[2]);
    }
    return out;
}

/* An unlabelled gauge's value from GET /metrics, or null. */
function metricValue(text, name) {
    const m = new RegExp(`^${name}\\s+([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
}

const unixTime = (s) => new Date(s * 1000).toLocaleString();

function reconcileSummary(metrics) {
    const run = metricValue(metrics, 'creditd_reconcile_last_run_timestamp_seconds');
    const ok = metricValue(metrics, 'creditd_reconcile_last_success_timestamp_seconds');
    if (!run) return 'not yet since the server started';
    if (ok === run) return `${unixTime(run)}, succeeded`;
    return `${unixTime(run)}, failed; last success ${ok ? unixTime(ok) : 'never since start'}`;
}

const fmtCounts = (o) => Object.keys(o).length
    ? Object.entries(o).map(([k, v]) => `${humanize(k)}: ${v}`).join(', ') : 'none';

/* The application's webhook endpoints: how many are on, and each one the
 * sender disabled (or that is failing now) by URL. */
function endpointsSummary(list) {
    if (!list.length) return 'none registered';
    const on = list.filter((w) => w.enabled).length;
    const notes = list.filter((w) => !w.enabled || w.failing_since).map((w) => (w.enabled
        ? `${w.url} failing since ${w.failing_since}`
        : `${w.url} disabled${w.disabled_reason ? `: ${w.disabled_reason}` : ''}`));
    return [`${on} enabled, ${list.length - on} disabled`, ...notes].join('; ');
}

async function loadDashboard() {
    const dl = $('dash-summary');
    dl.setAttribute('aria-busy', 'true');
    const now = new Date();
    const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const month = new Date(now.getTime() - 30 * 86400000);
    const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const [today, month30, verify, problems, metrics, endpoints] = await Promise.all([
        summarySince(iso(day)),
        summarySince(iso(month)),
        adminApi('GET', '/v1/admin/ledger/verify'),
        adminApi('GET', '/v1/admin/problems?limit=1'),
        adminApi('GET', '/metrics', undefined, { raw: true }).then((r) => r.text()).catch(() => ''),
        adminApi('GET', '/v1/admin/webhook_endpoints').catch(() => ({ data: [] })),
    ]);
    const byStatus = month30.orders_by_status;
    const runs = metricByLabel(metrics, 'creditd_reconcile_runs_total', 'outcome');
    const hooks = metricByLabel(metrics, 'creditd_webhook_events_total', 'outcome');
    const mail = metricByLabel(metrics, 'creditd_mail_total', 'outcome');
    const deliveries = metricByLabel(metrics, 'creditd_event_deliveries_total', 'outcome');
    const items = [
        ['Revenue today (UTC)', revenueText(today, currency)],
        ['Revenue, last 30 days', revenueText(month30, currency)],
        ['Ledger check', verify.ok ? 'OK: every balance matches its entries'
            : `${verify.mismatch_count} account(s) do not match their entries`],
        ['Problems to settle', String(problems.total)],
        ['Reconciliation last run', reconcileSummary(metrics)],
        ['Reconciliation runs since start', fmtCounts(runs)],
        ['Webhook deliveries failed since start', String(hooks.error || 0)],
        ['Mail since start', fmtCounts(mail)],
        ['Event endpoints', endpointsSummary(endpoints.data)],
        ['Event deliveries since start', fmtCounts(deliveries)],
    ];
    dl.replaceChildren(...items.flatMap(([k, v]) => [h('dt', null, k), h('dd', { 'data-k': k }, v)]));
    dl.removeAttribute('aria-busy');
    $('dash-statuses').replaceChildren(...(Object.keys(byStatus).length
        ? Object.entries(byStatus).map(([s, n]) => h('li', null, statusBadge(s), ` ${n}`))
        : [h('li', null, 'No orders in the last 30 days.')]));
}

/* ---------------------------------------------------------------- pricing */

async function loadPricing() {
    const p = await adminApi('GET', '/v1/admin/pricing');
    $('pricing-current').textContent = humanize(p.mode === 'rrp' ? 'RRP' : p.mode);
    const radio = document.querySelector(`input[name="mode"][value="${p.mode}"]`);
    if (radio) radio.checked = true;
    $('launch-price').value = centsText(p.launch_cents);
    $('rrp-price').value = centsText(p.rrp_cents);
    $('sale-price').value = centsText(p.sale_cents);
}

async function savePricing(event) {
    event.preventDefault();
    const status = $('pricing-status');
    const mode = (document.querySelector('input[name="mode"]:checked') || {}).value;
    const body = { mode };
    for (const [id, field] of [['launch-price', 'launch_cents'], ['rrp-price', 'rrp_cents'], ['sale-price', 'sale_cents']]) {
        const c = parseCents($(id).value);
        if (c === null || c < 50) {
            say(status, `Enter a price of at least $0.50 for ${$(id).labels[0].textContent}.`, false);
            $(id).focus();
            return;
        }
        body[field] = c;
    }
    await busy(event.submitter || event.target.querySelector('button'), status, async () => {
        await adminApi('PUT', '/v1/admin/pricing', body);
        await loadPricing();
        say(status, `Saved: ${$('pricing-current').textContent} pricing is live.`);
    });
}

/* ---------------------------------------------------------------- discount codes */

let currency = 'usd'; // the deployment's (GET /v1/config)

async function loadCodes() {
    const list = await adminApi('GET', '/v1/admin/discount_codes?limit=100');
    const tbody = $('code-rows');
    if (!list.data.length) {
        fillRows(tbody, [h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No discount codes yet.'))]);
        return;
    }
    fillRows(tbody, list.data.map((c) => h('tr', null,
        h('td', { class: 'mono' }, c.code),
        h('td', null, c.percent_off ? `${c.percent_off}% off` : `${formatMoney(c.amount_off_cents, currency)} off`),
        h('td', { class: 'num' }, c.max_uses ? `${formatCredits(c.times_used)} of ${formatCredits(c.max_uses)}` : formatCredits(c.times_used)),
        h('td', null, c.active ? statusBadge('active') : h('span', { class: 'badge badge-grey' }, 'Inactive')),
        h('td', null, c.active ? h('button', {
            type: 'button', class: 'btn btn-quiet', 'aria-label': `Deactivate ${c.code}`,
            onclick: (e) => busy(e.currentTarget, $('code-status'), async () => {
                await adminApi('POST', `/v1/admin/discount_codes/${encodeURIComponent(c.code)}/deactivate`, undefined, { idem: newIdemKey() });
                say($('code-status'), `${c.code} deactivated.`);
                await loadCodes();
                $('code-name').focus();
            }),
        }, 'Deactivate') : ''))));
}

async function createCode(event) {
    event.preventDefault();
    const status = $('code-status');
    const code = $('code-name').value.trim();
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(code)) {
        say(status, 'A code is 1 to 32 letters, digits, "-" or "_".', false);
        $('code-name').focus();
        return;
    }
    const body = { code };
    if ($('code-type').value === 'percent') {
        const p = parseCount($('code-value').value);
        if (!p || p > 100) return say(status, 'Percent off is 1 to 100.', false), $('code-value').focus();
        body.percent_off = p;
    } else {
        const c = parseCents($('code-value').value);
        if (!c) return say(status, 'Enter the amount off, like 5.00.', false), $('code-value').focus();
        body.amount_off_cents = c;
    }
    if ($('code-max').value.trim()) {
        const m = parseCount($('code-max').value);
        if (!m) return say(status, 'Max uses is a whole number, or blank.', false), $('code-max').focus();
        body.max_uses = m;
    }
    await busy(event.submitter || event.target.querySelector('button'), status, async () => {
        const made = await adminApi('POST', '/v1/admin/discount_codes', body, { idem: newIdemKey() });
        say(status, `Created ${made.code}.`);
        event.target.reset();
        await loadCodes();
    });
}

/* ---------------------------------------------------------------- accounts */

let account = null;

function orderRow(o, action) {
    return h('tr', null,
        h('td', null, timeEl(o.created_at)),
        h('td', { class: 'mono' }, o.id),
        h('td', null, humanize(o.kind)),
        h('td', { class: 'num' }, formatMoney(o.amount_cents, o.currency)),
        h('td', null, statusBadge(o.status)),
        action === undefined ? null : h('td', null, action));
}

async function showAccount(id) {
    const [a, ledger, orders, lots] = await Promise.all([
        adminApi('GET', `/v1/admin/accounts/${encodeURIComponent(id)}`),
        adminApi('GET', `/v1/admin/ledger?account=${encodeURIComponent(id)}&limit=20`),
        adminApi('GET', `/v1/admin/orders?account=${encodeURIComponent(id)}&limit=20`),
        adminApi('GET', '/v1/lots?limit=20', undefined, { account: id }),
    ]);
    fillRows($('acct-lots'), (lots.data.length ? lots.data.map((l) => h('tr', null,
        h('td', null, humanize(l.source)), h('td', null, humanize(l.category)),
        h('td', { class: 'num' }, `${formatCredits(l.remaining)} of ${formatCredits(l.amount)}`),
        h('td', null, l.expires_at ? timeEl(l.expires_at) : 'Never'), h('td', null, humanize(l.status))))
        : [h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No lots.'))]));
    account = a;
    $('acct-id').textContent = a.id;
    $('acct-email').textContent = a.email || '—';
    $('acct-external').textContent = a.external_id || '—';
    $('acct-balance').textContent = `${formatCredits(a.balance)} credits`;
    fillRows($('acct-ledger'), (ledger.data.length ? ledger.data.map((t) => h('tr', null,
        h('td', null, timeEl(t.created_at)), h('td', null, humanize(t.kind)), h('td', null, t.description || ''),
        h('td', { class: 'num' }, (t.amount > 0 ? '+' : '') + formatCredits(t.amount)),
        h('td', { class: 'num' }, formatCredits(t.balance_after))))
        : [h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No ledger entries.'))]));
    fillRows($('acct-orders'), (orders.data.length ? orders.data.map((o) => orderRow(o))
        : [h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No orders.'))]));
    $('account-detail').hidden = false;
}

/* The account an operator typed: an email (has "@"), an account id
 * (acct_...) or the application's external id; null when there is none. */
async function findAccount(text) {
    const missing = (e) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
    };
    if (text.includes('@')) {
        const list = await adminApi('GET', `/v1/admin/accounts?email=${encodeURIComponent(text)}`);
        return list.data[0] || null;
    }
    if (/^acct_/.test(text)) return adminApi('GET', `/v1/admin/accounts/${encodeURIComponent(text)}`).catch(missing);
    return adminApi('GET', `/v1/accounts?external_id=${encodeURIComponent(text)}`).catch(missing);
}

async function searchAccount(event) {
    event.preventDefault();
    const status = $('account-status');
    const text = $('account-email').value.trim();
    if (!text) return say(status, 'Enter an email address, an external id or an account id.', false), $('account-email').focus();
    await busy(event.submitter || event.target.querySelector('button'), status, async () => {
        const found = await findAccount(text);
        if (!found) {
            $('account-detail').hidden = true;
            account = null;
            const what = text.includes('@') ? 'email' : /^acct_/.test(text) ? 'id' : 'external id';
            return say(status, `No account with the ${what} ${text}.`, false);
        }
        await showAccount(found.id);
        say(status, `Found ${found.email || found.external_id || found.id}.`);
    });
}

/* A grant's lot fields (category, expiry) show for grants only. */
function syncAdjust() {
    for (const el of document.querySelectorAll('#adjust-form .grant-only')) el.hidden = $('adjust-type').value !== 'grant';
}

async function adjust(event) {
    event.preventDefault();
    const status = $('adjust-status');
    const amount = parseCount($('adjust-amount').value);
    const reason = $('adjust-reason').value.trim();
    if (!amount) return say(status, 'Enter a whole number of credits, 1 or more.', false), $('adjust-amount').focus();
    if (!reason) return say(status, 'Give a reason; it is the ledger entry\'s description.', false), $('adjust-reason').focus();
    const kind = $('adjust-type').value;
    const body = { amount, description: reason };
    if (kind === 'grant') {
        const days = $('adjust-days').value.trim();
        body.category = $('adjust-category').value;
        if (days) {
            body.expires_in_days = parseCount(days);
            if (!body.expires_in_days || body.expires_in_days > 3650) {
                return say(status, 'Expiry: a whole number of days from 1 to 3650, or empty for never.', false), $('adjust-days').focus();
            }
        }
    }
    await busy(event.submitter || event.target.querySelector('button'), status, async () => {
        const r = await adminApi('POST', kind === 'grant' ? '/v1/grants' : '/v1/debits',
            body, { idem: newIdemKey(), account: account.id });
        event.target.reset();
        syncAdjust();
        await showAccount(account.id);
        say(status, `${kind === 'grant' ? 'Granted' : 'Debited'} ${formatCredits(amount)} credits; balance ${formatCredits(r.balance)}.`);
    });
}

/* ---------------------------------------------------------------- orders */

let orderQuery = null;
let orderNext = null;
let refunding = null;

function orderFilters() {
    const q = new URLSearchParams();
    if ($('filter-status').value) q.set('status', $('filter-status').value);
    if ($('filter-kind').value) q.set('kind', $('filter-kind').value);
    if ($('filter-account').value.trim()) q.set('account', $('filter-account').value.trim());
    if ($('filter-from').value) q.set('from', `${$('filter-from').value}T00:00:00Z`);
    if ($('filter-to').value) {
        const to = new Date(`${$('filter-to').value}T00:00:00Z`);
        to.setUTCDate(to.getUTCDate() + 1);
        q.set('to', to.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
    return q;
}

const refundable = (o) => o.status === 'completed' || o.status === 'partially_refunded';

let orderSeq = 0;

async function loadOrders(append) {
    const seq = ++orderSeq;
    const q = new URLSearchParams(orderQuery);
    q.set('limit', '20');
    if (append && orderNext) q.set('starting_after', orderNext);
    const page = await adminApi('GET', `/v1/admin/orders?${q}`);
    if (seq !== orderSeq) return; // a newer filter has been asked for
    const rows = page.data.map((o) => orderRow(o, refundable(o) ? h('button', {
        type: 'button', class: 'btn btn-quiet', 'aria-label': `Refund ${o.id}`, onclick: () => openRefund(o),
    }, 'Refund') : ''));
    const tbody = $('order-rows');
    fillRows(tbody, rows.length || append ? rows
        : [h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No orders match.'))], append);
    orderNext = page.has_more ? page.next_starting_after : null;
    $('orders-next').hidden = !orderNext;
    const shown = tbody.querySelectorAll('td.mono').length;
    say($('orders-status'), `${shown} order(s) shown${orderNext ? '; more on the next page' : ''}.`);
}

async function filterOrders(event) {
    event.preventDefault();
    orderQuery = orderFilters().toString();
    await busy(event.submitter || event.target.querySelector('button'), $('orders-status'), () => loadOrders(false));
}

function openRefund(o) {
    refunding = { order: o, body: null, idem: null };
    $('refund-what').textContent = `Order ${o.id}: ${formatMoney(o.amount_cents, o.currency)} (${humanize(o.status)}).`;
    $('refund-amount').value = '';
    $('refund-form').hidden = false;
    $('refund-confirm').hidden = true;
    $('refund-status').textContent = '';
    $('refund-panel').hidden = false;
    $('refund-amount').focus();
}

function closeRefund() {
    const id = refunding && refunding.order.id;
    refunding = null;
    $('refund-panel').hidden = true;
    const back = id && document.querySelector(`button[aria-label="Refund ${id}"]`);
    (back || $('filter-status')).focus();
}

function reviewRefund(event) {
    event.preventDefault();
    const o = refunding.order;
    const text = $('refund-amount').value.trim();
    let cents = null;
    if (text) {
        cents = parseCents(text);
        if (!cents || cents > o.amount_cents) {
            say($('refund-status'), `Enter an amount from 0.01 to ${centsText(o.amount_cents)}, or leave it blank.`, false);
            $('refund-amount').focus();
            return;
        }
    }
    refunding.body = cents ? { amount_cents: cents } : {};
    refunding.idem = newIdemKey(); // one key per confirmed intent: a double click refunds once
    $('refund-confirm-text').textContent = cents
        ? `Refund ${formatMoney(cents, o.currency)} of order ${o.id}? The customer's credits for it come off their balance.`
        : `Refund everything left on order ${o.id}? The customer's credits for it come off their balance.`;
    $('refund-status').textContent = '';
    $('refund-form').hidden = true;
    $('refund-confirm').hidden = false;
    $('refund-go').focus();
}

async function confirmRefund(event) {
    const r = refunding;
    await busy(event.currentTarget, $('refund-status'), async () => {
        const res = await adminApi('POST', `/v1/admin/orders/${encodeURIComponent(r.order.id)}/refund`, r.body, { idem: r.idem });
        $('refund-confirm').hidden = true;
        say($('refund-status'), `Refund ${res.refund_id} of ${formatMoney(res.amount_cents, r.order.currency)}: ${res.status}. The order updates when Stripe confirms it.`);
        $('refund-status').focus();
    });
}

/* ---------------------------------------------------------------- tools */

async function reconcileNow(event) {
    await busy(event.currentTarget, $('tools-status'), async () => {
        const r = await adminApi('POST', '/v1/admin/reconcile');
        say($('tools-status'), `Reconciled: ${r.events_seen} events seen, ${r.events_applied} applied, ${r.orders_checked} orders checked, ${r.orders_fixed} fixed.`);
        await loadDashboard().catch(() => {});
    });
}

/* The key is not in the URL, so a download is a fetch turned into a blob. */
async function exportCsv(event, what) {
    const q = what === 'orders' ? orderFilters() : new URLSearchParams();
    if (what === 'ledger') {
        const f = orderFilters();
        for (const k of ['account', 'from', 'to']) if (f.has(k)) q.set(k, f.get(k));
    }
    await busy(event.currentTarget, $('tools-status'), async () => {
        const res = await adminApi('GET', `/v1/admin/export/${what}.csv?${q}`, undefined, { raw: true });
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: `${what}-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        say($('tools-status'), `${humanize(what)} CSV downloaded (${formatCredits(blob.size)} bytes).`);
    });
}

/* ---------------------------------------------------------------- start */

function report(e) {
    showAlert($('page-error'), e.message || String(e));
}

function startConsole() {
    showConsole(true);
    orderQuery = '';
    document.querySelector('#console h1').setAttribute('tabindex', '-1');
    document.querySelector('#console h1').focus();
    loadDashboard().catch(report);
    loadPricing().catch(report);
    getConfig().then((c) => { currency = c.currency || currency; }).catch(() => {}).then(loadCodes).catch(report);
    loadOrders(false).catch(report);
    startLists().catch(report);
}

let startLists = () => Promise.resolve();

function wire() {
    startLists = wireLists({ adminApi, fillRows, say, busy });
    $('login-form').addEventListener('submit', logIn);
    $('admin-logout').addEventListener('click', () => logOut(null));
    $('dash-refresh').addEventListener('click', (e) => busy(e.currentTarget, null, () => loadDashboard().catch(report)));
    $('pricing-form').addEventListener('submit', savePricing);
    $('code-form').addEventListener('submit', createCode);
    $('account-search').addEventListener('submit', searchAccount);
    $('adjust-form').addEventListener('submit', adjust);
    $('adjust-type').addEventListener('change', syncAdjust);
    $('order-filter').addEventListener('submit', filterOrders);
    $('orders-next').addEventListener('click', (e) => busy(e.currentTarget, $('orders-status'), () => loadOrders(true)));
    $('refund-form').addEventListener('submit', reviewRefund);
    $('refund-cancel').addEventListener('click', closeRefund);
    $('refund-back').addEventListener('click', () => {
        $('refund-confirm').hidden = true;
        $('refund-form').hidden = false;
        $('refund-amount').focus();
    });
    $('refund-go').addEventListener('click', confirmRefund);
    $('reconcile-now').addEventListener('click', reconcileNow);
    $('export-orders').addEventListener('click', (e) => exportCsv(e, 'orders'));
    $('export-ledger').addEventListener('click', (e) => exportCsv(e, 'ledger'));
}

wire();
if (getKey()) startConsole();
else showConsole(false);
