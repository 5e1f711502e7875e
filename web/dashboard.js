// Dashboard: the balance (GET /v1/balance) as the catalog's credit unit says
// (a count of credits, or money with the count beneath), the subscription if
// there is one (GET /v1/subscription) with "Cancel at period end" /
// "Resume" after a confirmation (POST /v1/subscription/cancel|resume) and
// "Manage payment method" (Stripe's Billing Portal, POST /v1/billing_portal),
// the credits left by kind (paid, promotional) and the next expiry, the
// account's active credit lots with their expiry dates (GET /v1/lots), and
// the ten most recent ledger transactions (GET /v1/transactions?limit=10);
// with holds, the available amount next to the total and the active holds
// (GET /v1/holds?status=active).
import {
    api, getConfig, requireLogin, mountHeader, h, formatCredits, formatUnits, creditUnit, humanize, timeEl,
    showAlert, statusBadge, reenableOnPageShow,
} from '/app.js';

function signed(n) {
    return (n > 0 ? '+' : '') + formatCredits(n);
}

function txnRow(t) {
    return h('tr', null,
        h('td', { 'data-label': 'Date' }, timeEl(t.created_at)),
        h('td', { 'data-label': 'Description' }, t.description || humanize(t.kind)),
        h('td', { 'data-label': 'Credits', class: 'num' + (t.amount > 0 ? ' positive' : '') }, signed(t.amount)),
        h('td', { 'data-label': 'Balance after', class: 'num' }, formatCredits(t.balance_after)));
}

/* "Paid 1,000 · Promotional 300" and "200 credits expire on <date>". */
function renderSplit(b, unit) {
    const split = document.getElementById('balance-split');
    const exp = document.getElementById('balance-expiry');
    const cat = b.by_category || {};
    split.hidden = !(cat.paid || cat.promotional);
    split.textContent = `Paid ${formatCredits(cat.paid || 0)} · Promotional ${formatCredits(cat.promotional || 0)}`;
    exp.hidden = !b.next_expiry;
    if (b.next_expiry) {
        exp.replaceChildren(`${formatUnits(b.next_expiry.amount, unit)} expire on `, timeEl(b.next_expiry.at));
    }
}

function lotRow(l) {
    return h('tr', null,
        h('td', { 'data-label': 'From' }, humanize(l.source)),
        h('td', { 'data-label': 'Kind' }, humanize(l.category)),
        h('td', { 'data-label': 'Left', class: 'num' }, `${formatCredits(l.remaining)} of ${formatCredits(l.amount)}`),
        h('td', { 'data-label': 'Expires' }, l.expires_at ? timeEl(l.expires_at) : 'Never'));
}

async function loadLots(errorEl) {
    const body = document.getElementById('lot-rows');
    try {
        const list = await api('GET', '/v1/lots?status=active&limit=20');
        const rows = (list && Array.isArray(list.data)) ? list.data : [];
        body.replaceChildren(...(rows.length
            ? rows.map(lotRow)
            : [h('tr', null, h('td', { colspan: 4, class: 'empty' }, 'No credits left.'))]));
    } catch (err) {
        body.replaceChildren();
        showAlert(errorEl, err.message);
    } finally {
        body.removeAttribute('aria-busy');
    }
}

async function loadBalance(errorEl) {
    const amountEl = document.getElementById('balance-amount');
    const creditsEl = document.getElementById('balance-credits');
    try {
        const [b, config] = await Promise.all([api('GET', '/v1/balance'), getConfig().catch(() => ({}))]);
        const unit = creditUnit(config);
        renderSplit(b, unit);
        if (unit.display === 'currency') {
            amountEl.textContent = b.balance_display;
            creditsEl.textContent = formatUnits(b.balance, unit);
            creditsEl.hidden = false;
        } else {
            amountEl.textContent = formatUnits(b.balance, unit);
            creditsEl.hidden = true;
        }
        const availEl = document.getElementById('balance-available');
        availEl.textContent = b.held > 0
            ? `Available: ${formatUnits(b.available, unit)} of ${formatUnits(b.balance, unit)} (${formatUnits(b.held, unit)} reserved)`
            : '';
        availEl.hidden = !(b.held > 0);
    } catch (err) {
        amountEl.textContent = '—';
        showAlert(errorEl, err.message);
    }
}

function holdRow(x) {
    return h('tr', null,
        h('td', { 'data-label': 'Description' }, x.description || 'Reserved'),
        h('td', { 'data-label': 'Credits', class: 'num' }, formatCredits(x.amount)),
        h('td', { 'data-label': 'Until' }, timeEl(x.expires_at)));
}

/* The active holds; the card stays hidden while there are none. */
async function loadHolds(errorEl) {
    try {
        const list = await api('GET', '/v1/holds?status=active&limit=20');
        const rows = (list && Array.isArray(list.data)) ? list.data : [];
        document.getElementById('hold-rows').replaceChildren(...rows.map(holdRow));
        document.getElementById('holds-section').hidden = rows.length === 0;
    } catch (err) {
        showAlert(errorEl, err.message);
    }
}

async function loadTransactions(errorEl) {
    const body = document.getElementById('txn-rows');
    try {
        const list = await api('GET', '/v1/transactions?limit=10');
        const rows = (list && Array.isArray(list.data)) ? list.data : [];
        body.replaceChildren(...(rows.length
            ? rows.map(txnRow)
            : [h('tr', null, h('td', { colspan: 4, class: 'empty' }, 'No transactions yet. Buy credits to get started.'))]));
    } catch (err) {
        body.replaceChildren();
        showAlert(errorEl, err.message);
    } finally {
        body.removeAttribute('aria-busy');
    }
}

const ENDED = new Set(['canceled', 'incomplete_expired']);
const $ = (id) => document.getElementById(id);
let subPlanName = '';
let subAction = null; // 'cancel' | 'resume' while the confirmation shows

function periodEnd(sub) {
    const end = sub.current_period_end ? new Date(sub.current_period_end) : null;
    return end ? end.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) : '';
}

/* The card from a subscription reply: summary, and the one button that
 * applies (none once it has ended). */
function renderSubscription(sub) {
    const when = periodEnd(sub);
    let tail = '';
    if (ENDED.has(sub.status)) tail = ' Ended.';
    else if (sub.cancel_at_period_end && when) tail = ` Ends on ${when}.`;
    else if (when) tail = ` Renews on ${when}.`;
    $('sub-summary').replaceChildren(`${subPlanName}: `, statusBadge(sub.status), tail);
    const live = !ENDED.has(sub.status);
    $('sub-cancel').hidden = !live || sub.cancel_at_period_end;
    $('sub-resume').hidden = !live || !sub.cancel_at_period_end;
    $('sub-manage').hidden = !live;
    $('sub-actions').hidden = false;
    $('sub-confirm').hidden = true;
    $('sub-section').dataset.when = when;
    $('sub-section').hidden = false;
}

function askSubscription(action) {
    const when = $('sub-section').dataset.when;
    subAction = action;
    $('sub-confirm-text').textContent = action === 'cancel'
        ? `Cancel your subscription at the end of the period? It stays active, with its credits, until ${when || 'the period ends'}, and is not charged again.`
        : `Resume your subscription? It renews${when ? ` on ${when}` : ''} and is charged again.`;
    $('sub-go').textContent = action === 'cancel' ? 'Yes, cancel at period end' : 'Yes, resume';
    $('sub-status').textContent = '';
    $('sub-actions').hidden = true;
    $('sub-confirm').hidden = false;
    $('sub-go').focus();
}

async function confirmSubscription(errorEl) {
    const go = $('sub-go');
    const action = subAction;
    go.disabled = true;
    try {
        const sub = await api('POST', `/v1/subscription/${action}`);
        renderSubscription(sub);
        $('sub-status').textContent = action === 'cancel'
            ? 'Your subscription will end at the end of the period.'
            : 'Your subscription will renew.';
        $('sub-status').focus();
    } catch (err) {
        showAlert(errorEl, err.message);
        $('sub-confirm').hidden = true;
        $('sub-actions').hidden = false;
    } finally {
        go.disabled = false;
        subAction = null;
    }
}

/* Stripe's Billing Portal (POST /v1/billing_portal), back to this page. */
async function openBillingPortal(errorEl) {
    const btn = $('sub-manage');
    btn.disabled = true;
    try {
        const { url } = await api('POST', '/v1/billing_portal', { return_url: `${location.origin}/dashboard` });
        location.assign(url);
    } catch (err) {
        showAlert(errorEl, err.message);
        btn.disabled = false;
    }
}

/* The subscription card stays hidden while there is none (404). */
async function loadSubscription(errorEl) {
    let sub;
    try {
        sub = await api('GET', '/v1/subscription');
    } catch {
        return;
    }
    if (!sub || !sub.status) return;
    const cfg = await getConfig().catch(() => ({}));
    const plan = (cfg.plans || []).find((p) => p.id === sub.plan_id);
    subPlanName = plan ? plan.name : sub.plan_id;
    $('sub-cancel').addEventListener('click', () => askSubscription('cancel'));
    $('sub-resume').addEventListener('click', () => askSubscription('resume'));
    $('sub-go').addEventListener('click', () => confirmSubscription(errorEl));
    $('sub-manage').addEventListener('click', () => openBillingPortal(errorEl));
    $('sub-back').addEventListener('click', () => {
        $('sub-confirm').hidden = true;
        $('sub-actions').hidden = false;
        subAction = null;
    });
    renderSubscription(sub);
}

if (requireLogin()) {
    mountHeader('/dashboard');
    const errorEl = document.getElementById('page-error');
    loadBalance(errorEl);
    loadLots(errorEl);
    loadTransactions(errorEl);
    loadHolds(errorEl);
    loadSubscription(errorEl);
    reenableOnPageShow('#sub-manage');
}
