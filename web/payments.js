// Payment history page: GET /v1/payments, ten a page.
import { requireLogin, mountHeader, formatMoney, statusBadge, timeEl, h } from '/app.js';
import { mountHistory, cardCell } from '/history.js';

function statusCell(p) {
    const badge = statusBadge(p.status);
    if (p.status === 'failed' && p.failure_reason) {
        return h('span', null, badge, h('span', { class: 'hint' }, ` ${p.failure_reason}`));
    }
    if (p.amount_refunded_cents > 0 && p.status !== 'refunded') {
        return h('span', null, badge, h('span', { class: 'hint' }, ` ${formatMoney(p.amount_refunded_cents, p.currency)} refunded`));
    }
    return badge;
}

if (requireLogin()) {
    mountHeader('/payments');
    mountHistory({
        endpoint: '/v1/payments',
        columns: [{ label: 'Date' }, { label: 'Description' }, { label: 'Amount', num: true }, { label: 'Status' }, { label: 'Card' }],
        empty: 'No payments yet.',
        row: (p) => [
            timeEl(p.paid_at || p.created_at),
            p.description || 'Payment',
            formatMoney(p.amount_cents, p.currency),
            statusCell(p),
            cardCell(p.payment_method_last4),
        ],
    });
}
