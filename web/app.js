// Shared pieces of the creditd web UI: the session, the one API client,
// money/date formatting, a tiny DOM builder, inline alerts and the site header.
// Every page module imports from here; nothing in this file runs on import.
// The UI talks only to the public API in docs/API.md (same origin).

/*
 * ---------- session (a cookie the server sets; never in script or a URL) ----------
 * Login, signup and portal links ask the server for a cookie session
 * (Creditd-Session: cookie): an HttpOnly cookie this script cannot read,
 * shared by every tab and kept across reloads, plus a readable CSRF cookie
 * whose value goes back in the Creditd-CSRF header of every call that
 * changes something. The CSRF cookie's presence is also our "logged in" hint.
 */
const CSRF_COOKIE = 'creditd_csrf';
const RETURN_KEY = 'creditd.return_url';

function readCookie(name) {
    for (const part of document.cookie.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
    }
    return null;
}

export function isLoggedIn() {
    return Boolean(readCookie(CSRF_COOKIE));
}

/* Drops what this script can see of the session (the server ends the rest). */
export function forgetSession() {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `${CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax${secure}`;
    try {
        localStorage.removeItem(RETURN_KEY);
    } catch {
        /* storage unavailable: nothing to clear */
    }
}

/* The app a portal link came from ("Back to ..." in the header), or null. */
export function setReturnUrl(url) {
    try {
        if (url) localStorage.setItem(RETURN_KEY, url);
        else localStorage.removeItem(RETURN_KEY);
    } catch {
        /* storage unavailable: no back link */
    }
}

function returnUrl() {
    let url;
    try {
        url = new URL(localStorage.getItem(RETURN_KEY) || '');
    } catch {
        return null;
    }
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
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
    if (isLoggedIn()) return true;
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
 * ApiError. The session cookie goes with every call (same origin); calls
 * that change something carry the CSRF header. A 401 on a call made while
 * logged in forgets the session and goes to the login page; the returned
 * promise then never settles, so callers don't flash an error while the
 * browser navigates away.
 * opts.auth === false: a call that needs no session (signup, login, config);
 * opts.session === true: ask for a cookie session (signup, login, portal).
 */
export async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    const csrf = readCookie(CSRF_COOKIE);
    const token = opts.auth === false ? null : csrf;
    if (csrf && method !== 'GET' && method !== 'HEAD') headers['Creditd-CSRF'] = csrf;
    if (opts.session) headers['Creditd-Session'] = 'cookie';
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    let res;
    try {
        res = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            cache: 'no-store',
            credentials: 'same-origin',
        });
    } catch {
        throw new ApiError(0, { error: { code: 'network_error',
            message: 'Could not reach the server. Check your connection and try again.' } });
    }

    if (res.status === 401 && token && opts.redirectOn401 !== false) {
        forgetSession();
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

/* ---------- branding (GET /v1/config "brand") ---------- */

let brand = null; // once the config has come

function rgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/* WCAG relative luminance and contrast ratio of two #rrggbb colours. */
function luminance(hex) {
    const [r, g, b] = rgb(hex).map((c) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
export function contrastRatio(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
}

/* White or black, whichever reads better on bg. */
export function textOn(bg) {
    return contrastRatio(bg, '#ffffff') >= contrastRatio(bg, '#000000') ? '#ffffff' : '#000000';
}

/* hex moved toward target (#000000 or #ffffff) by f. */
function mix(hex, target, f) {
    const t = rgb(target);
    return '#' + rgb(hex).map((c, i) => Math.round(c + (t[i] - c) * f).toString(16).padStart(2, '0')).join('');
}

function setAccent(color) {
    if (!/^#[0-9a-fA-F]{6}$/.test(color || '')) return;
    const root = document.documentElement.style;
    const on = textOn(color);
    root.setProperty('--primary', color);
    root.setProperty('--on-primary', on);
    // Hover moves away from the text colour, so the text keeps reading.
    root.setProperty('--primary-hover', mix(color, on === '#ffffff' ? '#000000' : '#ffffff', 0.15));
    // Links sit on white: the accent only when it reads there (AA 4.5:1).
    if (contrastRatio(color, '#ffffff') >= 4.5) {
        root.setProperty('--link', color);
        root.setProperty('--link-hover', mix(color, '#000000', 0.15));
    }
}

function fillBrandLink(a) {
    if (!brand || !a) return;
    const kids = [];
    if (brand.logo_url) kids.push(h('img', { class: 'brand-logo', src: brand.logo_url, alt: '' }));
    kids.push(h('span', { class: 'brand-name' }, brand.name));
    a.replaceChildren(...kids);
}

function mountFooter() {
    if (!brand || !brand.support_email || document.getElementById('site-footer')) return;
    document.body.append(h('footer', { class: 'site-footer container', id: 'site-footer' },
        'Questions? Write to ',
        h('a', { href: `mailto:${brand.support_email}` }, brand.support_email)));
}

/* Shows the business of the config on this page: header name and logo,
 * page title, accent colour, support address in the footer. */
export function applyBrand(b) {
    if (!b || !b.name) return;
    brand = b;
    setAccent(b.color);
    for (const a of document.querySelectorAll('.site-header .brand')) fillBrandLink(a);
    if (b.name !== 'creditd') document.title = document.title.replace(/\bcreditd\b/, b.name);
    mountFooter();
}

if (typeof document !== 'undefined') {
    getConfig().then((c) => applyBrand(c.brand), () => {});
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

/*
 * The catalog's credit unit (GET /v1/config "credit_unit"): what a credit
 * is called and whether a balance shows as a count ("count", the default)
 * or as money ("currency": one credit is one minor unit).
 */
export function creditUnit(config) {
    const u = (config && config.credit_unit) || {};
    return {
        name: typeof u.name === 'string' && u.name ? u.name : 'credits',
        display: u.display === 'currency' ? 'currency' : 'count',
    };
}

/* 13699 -> "13,699 credits"; one of them is "1 credit" when the name ends in "s". */
export function formatUnits(n, unit = { name: 'credits' }) {
    const name = n === 1 && /[^s]s$/.test(unit.name) ? unit.name.slice(0, -1) : unit.name;
    return `${formatCredits(n)} ${name}`;
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
        /* the session is forgotten locally either way */
    }
    forgetSession();
    location.replace('/');
}

/* Fill <header id="site-header"> with the brand, main nav and Log out. */
export function mountHeader(currentPath) {
    const header = document.getElementById('site-header');
    if (!header) return;
    const items = NAV.map(([href, label]) => h('li', null,
        h('a', { href, 'aria-current': href === currentPath ? 'page' : null }, label)));
    const loggedIn = isLoggedIn();
    const back = loggedIn ? returnUrl() : null;
    header.replaceChildren(h('div', { class: 'container header-inner' },
        h('a', { class: 'brand', href: loggedIn ? '/dashboard' : '/' }, brand ? brand.name : 'creditd'),
        h('nav', { class: 'main-nav', 'aria-label': 'Main' }, h('ul', null, items)),
        back ? h('a', { class: 'btn btn-quiet back-link', href: back }, `Back to ${new URL(back).host}`) : null,
        loggedIn ? h('button', { type: 'button', class: 'btn btn-quiet logout', onclick: logOut }, 'Log out') : null));
    fillBrandLink(header.querySelector('.brand'));
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
