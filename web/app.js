// Shared pieces of the creditd web UI: the session token, the one API client,
// money/date formatting, a tiny DOM builder, inline alerts and the site header.
// Every page module imports from here; nothing in this file runs on import.
// The UI talks only to the public API in docs/API.md (same origin).

const TOKEN_KEY = 'creditd.token';

/* ---------- session token (sessionStorage only, never in a URL) ---------- */

export function getToken() {
    try {
        return sessionStorage.getItem(TOKEN_KEY);
    } catch {
        return null;
    }
}

export function setToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
    try {
        sessionStorage.removeItem(TOKEN_KEY);
    } catch {
        /* storage unavailable: nothing to clear */
    }
}

/*
 * A "next" target is only ever a page of this origin. It is resolved the way
 * the browser will resolve it (which drops tabs and newlines and reads a
 * backslash as "/", so "/<tab>/host" is "//host") and refused unless it
 * stays on this origin; the result is that URL's path, query and fragment,
 * never the raw text.
 */
export function safeNext(next) {
    if (typeof next !== 'string' || next === '' || next.length > 2000) return null;
    let url;
    try {
        url = new URL(next, location.origin);
    } catch {
        return null;
    }
    if (url.origin !== location.origin) return null;
    return url.pathname + url.search + url.hash;
}

/* Send the visitor to the login page, remembering where they were. */
export function goToLogin() {
    const next = location.pathname + location.search;
    location.replace('/?next=' + encodeURIComponent(next));
}

/* Account pages call this first; false means we are already leaving. */
export function requireLogin() {
    if (getToken()) return true;
    goToLogin();
    return false;
}

/* ---------- API client ---------- */

export class ApiError extends Error {
    constructor(status, body) {
        const err = (body && typeof body === 'object' && body.error) || {};
        super(typeof err.message === 'string' && err.message
            ? err.message
            : `Something went wrong (HTTP ${status}). Please try again.`);
        this.status = status;
        this.code = typeof err.code === 'string' ? err.code : null;
        this.param = typeof err.param === 'string' ? err.param : null;
    }
}

/*
 * Call the API. Resolves with the parsed JSON (null for 204), rejects with an
 * ApiError. A 401 on a request that carried our token clears it and goes to
 * the login page; the returned promise then never settles, so callers don't
 * flash an error while the browser navigates away.
 * opts.auth === false: send no token (signup, login, config).
 */
export async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    const token = opts.auth === false ? null : getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    let res;
    try {
        res = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            cache: 'no-store',
            credentials: 'omit',
        });
    } catch {
        throw new ApiError(0, { error: { code: 'network_error',
            message: 'Could not reach the server. Check your connection and try again.' } });
    }

    if (res.status === 401 && token && opts.redirectOn401 !== false) {
        clearToken();
        goToLogin();
        return new Promise(() => {});
    }

    let data = null;
    const text = res.status === 204 ? '' : await res.text();
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
}

/* Public configuration (prices, packages, top-up range); fetched once per page. */
let configPromise = null;
export function getConfig() {
    if (!configPromise) {
        configPromise = api('GET', '/v1/config', undefined, { auth: false });
        configPromise.catch(() => { configPromise = null; });
    }
    return configPromise;
}

/* ---------- formatting ---------- */

const moneyFormats = new Map();

function moneyFormat(currency) {
    const code = String(currency || 'usd').toUpperCase();
    if (!moneyFormats.has(code)) {
        moneyFormats.set(code, new Intl.NumberFormat('en-US', { style: 'currency', currency: code }));
    }
    return moneyFormats.get(code);
}

/*
 * Format an integer amount in minor units ("cents") as money, e.g.
 * formatMoney(2999, 'usd') -> "$29.99". Exact: the decimal string is built
 * from the integer, never through floating point division.
 */
export function formatMoney(minor, currency = 'usd') {
    if (!Number.isSafeInteger(minor)) return '—';
    let nf;
    try {
        nf = moneyFormat(currency);
    } catch {
        return `${(minor / 100).toFixed(2)} ${String(currency).toUpperCase()}`;
    }
    const digits = nf.resolvedOptions().maximumFractionDigits;
    const scale = 10 ** digits;
    const abs = Math.abs(minor);
    const whole = Math.floor(abs / scale);
    const frac = abs % scale;
    const decimal = (minor < 0 ? '-' : '') + whole +
        (digits > 0 ? '.' + String(frac).padStart(digits, '0') : '');
    return nf.format(decimal);
}

const intFormat = new Intl.NumberFormat('en-US');

/* Credits are plain integers: 5500 -> "5,500". */
export function formatCredits(n) {
    return Number.isSafeInteger(n) ? intFormat.format(n) : '—';
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/* A <time> element for an RFC 3339 string ("—" when missing). */
export function timeEl(iso) {
    if (!iso) return document.createTextNode('—');
    const d = new Date(iso);
    const text = Number.isNaN(d.getTime()) ? String(iso) : dateFormat.format(d);
    return h('time', { datetime: String(iso) }, text);
}

/* "partially_refunded" -> "Partially refunded" */
export function humanize(word) {
    const s = String(word || '').replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
}

const BADGE_TONES = {
    succeeded: 'green', completed: 'green', active: 'green', trialing: 'green',
    pending: 'yellow', processing: 'yellow', past_due: 'yellow', incomplete: 'yellow',
    failed: 'red', disputed: 'red', unpaid: 'red',
    refunded: 'grey', partially_refunded: 'grey', expired: 'grey', canceled: 'grey',
};

/* Coloured status badge; the word itself carries the meaning, colour only helps. */
export function statusBadge(status) {
    const tone = BADGE_TONES[status] || 'grey';
    return h('span', { class: `badge badge-${tone}` }, humanize(status || 'unknown'));
}

/* ---------- DOM ---------- */

/*
 * h('a', {href: '/x', class: 'btn'}, 'text', childNode, [more]) builds an
 * element. Attributes with null/undefined/false are skipped, "on<event>"
 * attaches a listener. Text always goes in as text, never as HTML.
 */
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') el.className = value;
        else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
        else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
        if (child === null || child === undefined || child === false) continue;
        el.append(child instanceof Node ? child : String(child));
    }
    return el;
}

/* Show a message in a role="alert" element (hidden while empty). */
export function showAlert(el, message) {
    el.textContent = message;
    el.hidden = false;
}

export function hideAlert(el) {
    el.textContent = '';
    el.hidden = true;
}

export function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/* ---------- site header ---------- */

const NAV = [
    ['/dashboard', 'Dashboard'],
    ['/buy', 'Buy credits'],
    ['/orders', 'Orders'],
    ['/payments', 'Payments'],
];

async function logOut(event) {
    event.currentTarget.disabled = true;
    try {
        await api('POST', '/v1/auth/logout', undefined, { redirectOn401: false });
    } catch {
        /* the token is dropped locally either way */
    }
    clearToken();
    location.replace('/');
}

/* Fill <header id="site-header"> with the brand, main nav and Log out. */
export function mountHeader(currentPath) {
    const header = document.getElementById('site-header');
    if (!header) return;
    const items = NAV.map(([href, label]) => h('li', null,
        h('a', { href, 'aria-current': href === currentPath ? 'page' : null }, label)));
    const loggedIn = Boolean(getToken());
    header.replaceChildren(h('div', { class: 'container header-inner' },
        h('a', { class: 'brand', href: loggedIn ? '/dashboard' : '/' }, 'creditd'),
        h('nav', { class: 'main-nav', 'aria-label': 'Main' }, h('ul', null, items)),
        loggedIn ? h('button', { type: 'button', class: 'btn btn-quiet logout', onclick: logOut }, 'Log out') : null));
}

/* Re-enable buttons when the page comes back from the back/forward cache. */
export function reenableOnPageShow(selector = 'button') {
    window.addEventListener('pageshow', (event) => {
        if (!event.persisted) return;
        for (const b of document.querySelectorAll(selector)) {
            b.disabled = false;
            b.removeAttribute('aria-busy');
        }
    });
}
