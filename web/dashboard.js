// Dashboard: the balance (GET /v1/balance) as the catalog's credit unit says
// (a count of credits, or money with the count beneath), the subscription if
// there is one (GET /v1/subscription) and the ten most recent ledger
// transactions (GET /v1/transactions?limit=10).
import {
    api, getConfig, requireLogin, mountHeader, h, formatCredits, formatUnits, creditUnit, humanize, timeEl,
    showAlert, statusBadge,
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

async function loadBalance(errorEl) {
    const amountEl = document.getElementById('balance-amount');
    const creditsEl = document.getElementById('balance-credits');
    try {
        const [b, config] = await Promise.all([api('GET', '/v1/balance'), getConfig().catch(() => ({}))]);
        const unit = creditUnit(config);
        if (unit.display === 'currency') {
            amountEl.textContent = b.balance_display;
            creditsEl.textContent = formatUnits(b.balance, unit);
            creditsEl.hidden = false;
        } else {
            amountEl.textContent = formatUnits(b.balance, unit);
            creditsEl.hidden = true;
        }
    } catch (err) {
        amountEl.textContent = '—';
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

/* The subscription card stays hidden while there is none (404). */
async function loadSubscription() {
    let sub;
    try {
        sub = await api('GET', '/v1/subscription');
    } catch {
        return;
    }
    if (!sub || !sub.status) return;
    const cfg = await getConfig().catch(() => ({}));
    const plan = (cfg.plans || []).find((p) => p.id === sub.plan_id);
    const end = sub.current_period_end ? new Date(sub.current_period_end) : null;
    const when = end ? end.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) : '';
    let tail = '';
    if (sub.status === 'canceled') tail = ' Ended.';
    else if (sub.cancel_at_period_end && when) tail = ` Ends on ${when}.`;
    else if (when) tail = ` Renews on ${when}.`;
    document.getElementById('sub-summary').replaceChildren(
        `${plan ? plan.name : sub.plan_id}: `, statusBadge(sub.status), tail);
    document.getElementById('sub-section').hidden = false;
}

if (requireLogin()) {
    mountHeader('/dashboard');
    const errorEl = document.getElementById('page-error');
    loadBalance(errorEl);
    loadTransactions(errorEl);
    loadSubscription();
}
