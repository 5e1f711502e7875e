// Auto top-up on the dashboard (GET/PUT /v1/auto_topup): shown to a person
// with a saved card (or a setting already made). Turn it on or off, set the
// threshold (in the catalog's credit unit), the amount (the top-up blocks
// of the buy page) and the monthly cap; shows this month's auto top-ups,
// the last failure (Stripe's reason) and why it turned itself off.
import { api, getConfig, requireLogin, h, formatMoney, formatUnits, creditUnit, showAlert, hideAlert } from '/app.js';

const $ = (id) => document.getElementById(id);
const MAX_OPTIONS = 200;

function amountOptions(t, currency, unit, selected) {
    const ok = [t.min_cents, t.max_cents, t.step_cents].every((n) => Number.isSafeInteger(n) && n > 0) &&
        t.max_cents >= t.min_cents;
    if (!ok) return [];
    const out = [];
    for (let v = t.min_cents; v <= t.max_cents && out.length < MAX_OPTIONS; v += t.step_cents) {
        const label = unit.display === 'currency' ? formatMoney(v, currency) : `${formatMoney(v, currency)} (${formatUnits(v, unit)})`;
        out.push(h('option', { value: v, selected: v === selected }, label));
    }
    return out;
}

function dateOf(iso) {
    return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

function render(v, currency, unit) {
    const summary = v.enabled
        ? `On: when your balance falls below ${formatUnits(v.threshold, unit)}, your saved card is charged ${formatMoney(v.amount_cents, currency)}` +
          ` (at most ${formatMoney(v.monthly_cap_cents, currency)} a month; ${formatMoney(v.month_spent_cents, currency)} so far this month).`
        : 'Off.';
    $('at-summary').textContent = summary;
    const notes = [];
    if (v.disabled_reason) notes.push(`Auto top-up turned itself off: ${v.disabled_reason}`);
    else if (v.last_failure) {
        const code = v.last_failure.decline_code ? ` (${v.last_failure.decline_code})` : '';
        notes.push(`Last failure on ${dateOf(v.last_failure.at)}: ${(v.last_failure.message || 'declined').replace(/\.$/, '')}${code}.`);
        const a = v.last_attempt;
        if (a && a.status === 'pending' && a.next_try_at) notes.push(`Next try: ${dateOf(a.next_try_at)}.`);
    }
    if (notes.length) showAlert($('at-failure'), notes.join(' '));
    else hideAlert($('at-failure'));
    $('at-enabled').checked = v.enabled;
    if (v.threshold) $('at-threshold').value = String(v.threshold);
    if (v.amount_cents) $('at-amount').value = String(v.amount_cents);
    if (v.monthly_cap_cents) $('at-cap').value = String(v.monthly_cap_cents / 100);
}

async function save(currency, unit) {
    const btn = $('at-save');
    const errEl = $('at-error');
    hideAlert(errEl);
    const cap = Math.round(Number($('at-cap').value) * 100);
    const body = {
        enabled: $('at-enabled').checked,
        threshold: Number($('at-threshold').value),
        amount_cents: Number($('at-amount').value),
        monthly_cap_cents: cap,
    };
    if (!body.enabled) {
        for (const k of ['threshold', 'amount_cents', 'monthly_cap_cents']) {
            if (!Number.isSafeInteger(body[k]) || body[k] < 1) delete body[k];
        }
    }
    btn.disabled = true;
    try {
        const v = await api('PUT', '/v1/auto_topup', body);
        render(v, currency, unit);
        $('at-status').textContent = v.enabled ? 'Auto top-up is on.' : 'Auto top-up is off.';
        $('at-status').focus();
    } catch (err) {
        showAlert(errEl, err.message);
    } finally {
        btn.disabled = false;
    }
}

async function load() {
    let v, account;
    try {
        [v, account] = await Promise.all([api('GET', '/v1/auto_topup'), api('GET', '/v1/account')]);
    } catch {
        return; // the dashboard's own calls show any error
    }
    if (!account.has_saved_payment_method && !v.enabled && !v.amount_cents) return;
    const config = await getConfig().catch(() => ({}));
    const currency = config.currency || 'usd';
    const unit = creditUnit(config);
    const t = config.topup || {};
    $('at-amount').replaceChildren(...amountOptions(t, currency, unit, v.amount_cents || t.default_cents));
    $('at-threshold-label').textContent = `When the balance falls below (${unit.name})`;
    $('at-cap-label').textContent = `At most per month (${currency.toUpperCase()})`;
    if (!v.monthly_cap_cents && t.default_cents) $('at-cap').value = String((t.default_cents * 5) / 100);
    render(v, currency, unit);
    $('at-form').addEventListener('submit', (e) => {
        e.preventDefault();
        save(currency, unit);
    });
    $('at-section').hidden = false;
}

if (requireLogin()) load();
