// Admin console (/admin): the Payments and Subscriptions pages, keyset
// paged lists over GET /v1/admin/payments and /v1/admin/subscriptions with
// their filters. admin.js owns the key and passes its helpers in
// (wireLists), so this module never touches the key itself.
import { h, formatMoney, statusBadge, timeEl } from '/app.js';

const $ = (id) => document.getElementById(id);

/* A date input as the [from, to) bound of a list: to is inclusive in the form. */
function dateBounds(q, fromId, toId) {
    if ($(fromId).value) q.set('from', `${$(fromId).value}T00:00:00Z`);
    if ($(toId).value) {
        const to = new Date(`${$(toId).value}T00:00:00Z`);
        to.setUTCDate(to.getUTCDate() + 1);
        q.set('to', to.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
}

function paymentRow(p) {
    return h('tr', null,
        h('td', null, timeEl(p.created_at)),
        h('td', { class: 'mono' }, p.id),
        h('td', { class: 'mono' }, p.order_id || '—'),
        h('td', { class: 'num' }, formatMoney(p.amount_cents, p.currency)),
        h('td', { class: 'num' }, formatMoney(p.amount_refunded_cents, p.currency)),
        h('td', null, p.payment_method_last4 ? `•••• ${p.payment_method_last4}` : '—'),
        h('td', null, statusBadge(p.status)));
}

function subscriptionRow(s) {
    return h('tr', null,
        h('td', null, timeEl(s.created_at)),
        h('td', { class: 'mono' }, s.stripe_subscription_id),
        h('td', { class: 'mono' }, s.account_id),
        h('td', null, s.plan_id || '—'),
        h('td', null, statusBadge(s.status)),
        h('td', null, timeEl(s.current_period_end)),
        h('td', null, s.cancel_at_period_end ? 'No: cancels at period end' : 'Yes'));
}

/*
 * One paged list: spec {path, form, rows, next, status, filters(), row(),
 * key (the member next_starting_after names), noun, cols}. Returns load(append).
 */
function pagedList(spec, api) {
    let query = '';
    let next = null;
    let seq = 0;
    async function load(append) {
        const mine = ++seq;
        const q = new URLSearchParams(query);
        q.set('limit', '20');
        if (append && next) q.set('starting_after', next);
        const page = await api.adminApi('GET', `${spec.path}?${q}`);
        if (mine !== seq) return; // a newer filter has been asked for
        const rows = page.data.map(spec.row);
        const tbody = $(spec.rows);
        api.fillRows(tbody, rows.length || append ? rows
            : [h('tr', null, h('td', { colspan: spec.cols, class: 'empty' }, `No ${spec.noun}s match.`))], append);
        next = page.has_more ? page.next_starting_after : null;
        $(spec.next).hidden = !next;
        const shown = tbody.querySelector('td.empty') ? 0 : tbody.rows.length;
        api.say($(spec.status), `${shown} ${spec.noun}(s) shown${next ? '; more on the next page' : ''}.`);
    }
    $(spec.form).addEventListener('submit', async (event) => {
        event.preventDefault();
        query = spec.filters().toString();
        await api.busy(event.submitter || event.target.querySelector('button'), $(spec.status), () => load(false));
    });
    $(spec.next).addEventListener('click', (e) => api.busy(e.currentTarget, $(spec.status), () => load(true)));
    return load;
}

/* Wires both pages; api: {adminApi, fillRows, say, busy}. Returns start() (first pages). */
export function wireLists(api) {
    const payments = pagedList({
        path: '/v1/admin/payments', form: 'payment-filter', rows: 'payment-rows', next: 'payments-next',
        status: 'payments-status', noun: 'payment', cols: 7, row: paymentRow,
        filters: () => {
            const q = new URLSearchParams();
            if ($('pay-status').value) q.set('status', $('pay-status').value);
            if ($('pay-account').value.trim()) q.set('account', $('pay-account').value.trim());
            dateBounds(q, 'pay-from', 'pay-to');
            return q;
        },
    }, api);
    const subscriptions = pagedList({
        path: '/v1/admin/subscriptions', form: 'sub-filter', rows: 'sub-rows', next: 'subs-next',
        status: 'subs-status', noun: 'subscription', cols: 7, row: subscriptionRow,
        filters: () => {
            const q = new URLSearchParams();
            if ($('sub-status').value) q.set('status', $('sub-status').value);
            if ($('sub-account').value.trim()) q.set('account', $('sub-account').value.trim());
            return q;
        },
    }, api);
    return () => Promise.all([payments(false), subscriptions(false)]);
}
