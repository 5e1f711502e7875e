// A paginated history table shared by the orders and payments pages: ten rows
// a page (limit=10&offset=…), Previous / Next buttons and "Page N of M" from
// the list's total. The page number lives in the URL (?page=N) so reload and
// back/forward keep your place.
import { api, h, showAlert, hideAlert } from '/app.js';

export const PAGE_SIZE = 10;

function pageFromUrl() {
    const n = Number(new URLSearchParams(location.search).get('page'));
    return Number.isSafeInteger(n) && n >= 1 && n <= 1e6 ? n : 1;
}

/*
 * Wire up the table on the current page.
 *   endpoint  "/v1/orders" or "/v1/payments"
 *   columns   [{label, num?}] - used for data-label on small screens
 *   row(item) -> array of cell contents (strings or nodes), one per column
 *   empty     text shown when there is nothing yet
 * The page provides #rows (tbody), #prev, #next, #page-info, #page-error.
 */
export function mountHistory({ endpoint, columns, row, empty }) {
    const body = document.getElementById('rows');
    const prev = document.getElementById('prev');
    const next = document.getElementById('next');
    const info = document.getElementById('page-info');
    const errorEl = document.getElementById('page-error');
    let page = pageFromUrl();
    let pages = 1;
    let loading = false;

    function render(items) {
        if (!items.length) {
            body.replaceChildren(h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, empty)));
            return;
        }
        body.replaceChildren(...items.map((item) => h('tr', null, row(item).map((cell, i) =>
            h('td', { 'data-label': columns[i].label, class: columns[i].num ? 'num' : null }, cell)))));
    }

    function updatePager() {
        info.textContent = `Page ${page} of ${pages}`;
        const focused = document.activeElement;
        prev.disabled = loading || page <= 1;
        next.disabled = loading || page >= pages;
        if (focused === prev && prev.disabled && !next.disabled) next.focus();
        if (focused === next && next.disabled && !prev.disabled) prev.focus();
    }

    async function load(wanted) {
        loading = true;
        updatePager();
        body.setAttribute('aria-busy', 'true');
        hideAlert(errorEl);
        try {
            const list = await api('GET', `${endpoint}?limit=${PAGE_SIZE}&offset=${(wanted - 1) * PAGE_SIZE}`);
            const total = Number.isSafeInteger(list.total) && list.total > 0 ? list.total : 0;
            pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
            if (wanted > pages && total > 0) {
                loading = false;
                return load(pages);
            }
            page = wanted;
            render(Array.isArray(list.data) ? list.data : []);
            const url = new URL(location.href);
            if (page === 1) url.searchParams.delete('page');
            else url.searchParams.set('page', String(page));
            history.replaceState(null, '', url);
        } catch (err) {
            showAlert(errorEl, err.message);
        } finally {
            loading = false;
            body.removeAttribute('aria-busy');
            updatePager();
        }
    }

    prev.addEventListener('click', () => { if (page > 1) load(page - 1); });
    next.addEventListener('click', () => { if (page < pages) load(page + 1); });
    load(page);
}

/* "•••• 4242" with the words a screen reader needs. */
export function cardCell(last4) {
    if (!last4) return '—';
    return h('span', null, h('span', { class: 'sr-only' }, 'Card ending '), h('span', { 'aria-hidden': 'true' }, '•••• '), String(last4));
}
