// Orders page: GET /v1/orders, ten a page.
import {
    requireLogin, mountHeader, getConfig, creditUnit, formatMoney, formatUnits, humanize, statusBadge, timeEl, h,
} from '/app.js';
import { mountHistory } from '/history.js';

const KIND_LABELS = {
    access: 'Access',
    package: 'Credit package',
    topup: 'Top-up',
    subscription: 'Subscription',
    payment_intent: 'Payment',
};

let unit = creditUnit(null);

function describe(o) {
    const what = KIND_LABELS[o.kind] || humanize(o.kind || 'order');
    const parts = [what];
    if (Number.isSafeInteger(o.credits) && o.credits > 0) parts.push(formatUnits(o.credits, unit));
    if (o.discount_code) parts.push(`code ${o.discount_code}`);
    return parts.join(' · ');
}

async function init() {
    mountHeader('/orders');
    unit = creditUnit(await getConfig().catch(() => null));
    mountHistory({
        endpoint: '/v1/orders',
        columns: [{ label: 'Date' }, { label: 'Description' }, { label: 'Amount', num: true }, { label: 'Status' }, { label: 'Order' }],
        empty: 'No orders yet.',
        row: (o) => [
            timeEl(o.created_at),
            describe(o),
            formatMoney(o.amount_cents, o.currency),
            statusBadge(o.status),
            h('span', { class: 'mono' }, o.id || '—'),
        ],
    });
}

if (requireLogin()) init();
