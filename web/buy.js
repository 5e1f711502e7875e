// Buy page: the access product at the current price (with RRP struck through
// during launch/sale), a discount code checked as you type, the credit
// packages, subscription plans, and top-ups. Every Buy starts a Stripe Checkout via
// POST /v1/checkout and sends the browser to the returned checkout_url.
import {
    api, getConfig, requireLogin, mountHeader, reenableOnPageShow, h,
    formatMoney, formatCredits, formatUnits, creditUnit, showAlert, hideAlert,
} from '/app.js';

const DEBOUNCE_MS = 350;
const MAX_TOPUP_OPTIONS = 200;

const DISCOUNT_ERRORS = {
    unknown_code: 'We don’t recognise that code.',
    inactive: 'That code is no longer active.',
    exhausted: 'That code has already been used the maximum number of times.',
    expired: 'That code has expired.',
};

let currency = 'usd';
let unit = creditUnit(null);

/* ---------- checkout ---------- */

function redirectUrls() {
    return {
        success_url: `${location.origin}/success?session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${location.origin}/cancel`,
    };
}

/*
 * Start a checkout for `body` ({kind, ...}) and leave for the checkout page.
 * We ask to come back to this origin; if the deployment only allows its
 * configured base URL, retry without our URLs and let the server fill them.
 */
async function startCheckout(body, button, alertEl) {
    hideAlert(alertEl);
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
        let res;
        try {
            res = await api('POST', '/v1/checkout', { ...body, ...redirectUrls() });
        } catch (err) {
            if (err.code !== 'redirect_not_allowed') throw err;
            res = await api('POST', '/v1/checkout', body);
        }
        const url = new URL(res && res.checkout_url, location.href);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('The server returned an invalid checkout address.');
        location.assign(url.href);
    } catch (err) {
        showAlert(alertEl, err.message);
        button.disabled = false;
        button.removeAttribute('aria-busy');
    }
}

/* ---------- access product and discount code ---------- */

function currentPrice(price) {
    if (Number.isSafeInteger(price.base_cents)) return price.base_cents;
    return { launch: price.launch_cents, sale: price.sale_cents }[price.mode] ?? price.rrp_cents;
}

/* Render "<now> <s>was</s> <tag>" into the price line, the credits it
 * brings (one per minor unit paid) and the Buy button's price. */
function renderPrice(el, nowCents, wasCents, tagText) {
    document.getElementById('access-credits').textContent = `Includes ${formatUnits(nowCents, unit)}.`;
    document.getElementById('access-buy').textContent = `Buy access for ${formatMoney(nowCents, currency)}`;
    const parts = [h('span', { class: 'price-now' }, formatMoney(nowCents, currency))];
    if (Number.isSafeInteger(wasCents) && wasCents > nowCents) {
        parts.push(h('span', { class: 'price-was' },
            h('span', { class: 'sr-only' }, 'Regular price '), h('s', null, formatMoney(wasCents, currency))));
    }
    if (tagText) parts.push(h('span', { class: 'tag' }, tagText));
    el.replaceChildren(...parts);
}

function setupAccess(config) {
    const price = config.price || {};
    const base = currentPrice(price);
    const onOffer = price.mode === 'launch' || price.mode === 'sale';
    const listTag = { launch: 'Launch price', sale: 'Sale' }[price.mode] || null;
    const priceEl = document.getElementById('access-price');
    const showListPrice = () => renderPrice(priceEl, base, onOffer ? price.rrp_cents : null, listTag);
    showListPrice();

    const form = document.getElementById('access-form');
    const input = document.getElementById('discount-code');
    const statusEl = document.getElementById('discount-status');
    const alertEl = document.getElementById('access-error');
    let timer = null;
    let seq = 0;
    let result = { code: '', valid: false }; // the last answer for the current text

    function setStatus(text, tone) {
        statusEl.textContent = text;
        statusEl.className = 'discount-status' + (tone ? ` status-${tone}` : '');
    }

    /* Ask the server about `code`; ignores answers that arrive out of date. */
    async function check(code) {
        const mine = ++seq;
        try {
            const v = await api('POST', '/v1/discounts/validate', { code, kind: 'access' });
            if (mine !== seq) return result;
            if (v.valid) {
                result = { code, valid: true };
                input.removeAttribute('aria-invalid');
                renderPrice(priceEl, v.final_cents, v.base_cents, 'Code applied');
                setStatus(`Code applied: you pay ${formatMoney(v.final_cents, currency)} ` +
                    `(you save ${formatMoney(v.discount_cents, currency)}).`, 'ok');
            } else {
                result = { code, valid: false };
                input.setAttribute('aria-invalid', 'true');
                showListPrice();
                setStatus(DISCOUNT_ERRORS[v.error] || 'That code can’t be used.', 'bad');
            }
        } catch (err) {
            if (mine !== seq) return result;
            result = { code, valid: false };
            input.setAttribute('aria-invalid', 'true');
            showListPrice();
            setStatus(err.message, 'bad');
        }
        return result;
    }

    input.addEventListener('input', () => {
        clearTimeout(timer);
        seq++;
        const code = input.value.trim();
        hideAlert(alertEl);
        if (!code) {
            result = { code: '', valid: false };
            input.removeAttribute('aria-invalid');
            showListPrice();
            setStatus('', null);
            return;
        }
        setStatus('Checking code…', null);
        timer = setTimeout(() => check(code), DEBOUNCE_MS);
    });

    document.getElementById('discount-apply').addEventListener('click', () => {
        const code = input.value.trim();
        clearTimeout(timer);
        hideAlert(alertEl);
        if (!code) {
            setStatus('Enter a code first.', 'bad');
            input.focus();
            return;
        }
        setStatus('Checking code…', null);
        check(code);
    });

    const button = document.getElementById('access-buy');
    button.disabled = false;
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const code = input.value.trim();
        if (code && !(result.code === code && result.valid)) {
            clearTimeout(timer);
            button.disabled = true;
            const r = await check(code);
            button.disabled = false;
            if (!r.valid) {
                showAlert(alertEl, 'Fix or remove the discount code before you buy.');
                input.focus();
                return;
            }
        }
        startCheckout(code ? { kind: 'access', discount_code: code } : { kind: 'access' }, button, alertEl);
    });
}

/* ---------- packages ---------- */

/*
 * A card's title and its credits, each said once: a catalog name that
 * already ends in the count ("Standard - 5,500 credits") shows as
 * "Standard" over "5,500 credits"; a name that is the count is shown alone.
 */
function cardHead(name, credits, creditsText) {
    const count = formatCredits(credits);
    const m = /^(.*?\S)\s*[-–—:|]\s*(\S.*)$/.exec(name);
    const title = m && m[2].startsWith(count) ? m[1] : name;
    return [h('h3', null, title), title.includes(count) ? null : h('p', { class: 'credits-line' }, creditsText)];
}

function setupPackages(config) {
    const list = document.getElementById('package-list');
    const alertEl = document.getElementById('packages-error');
    const packages = Array.isArray(config.packages) ? config.packages : [];
    if (!packages.length) {
        list.replaceChildren(h('li', { class: 'muted' }, 'No packages are on offer right now.'));
        return;
    }
    list.replaceChildren(...packages.map((p) => {
        const button = h('button', { type: 'button', class: 'btn btn-primary' }, 'Buy');
        button.addEventListener('click', () => startCheckout({ kind: 'package', package_id: p.id }, button, alertEl));
        const bonus = unit.display === 'currency' && p.credits > p.price_cents
            ? h('p', { class: 'muted' }, `Includes ${formatMoney(p.credits - p.price_cents, currency)} bonus`) : null;
        return h('li', null, h('article', { class: 'card package', 'aria-label': p.name || p.id },
            ...cardHead(p.name || p.id, p.credits, formatUnits(p.credits, unit)),
            h('p', { class: 'price-small' }, formatMoney(p.price_cents, currency)),
            bonus,
            p.expires_in_days ? h('p', { class: 'muted' }, `Expire ${p.expires_in_days} days after purchase`) : null,
            button));
    }));
}

/* ---------- subscription plans ---------- */

const PER = { day: 'day', week: 'week', month: 'month', year: 'year' };

function setupPlans(config) {
    const plans = Array.isArray(config.plans) ? config.plans : [];
    if (!plans.length) return;
    const list = document.getElementById('plan-list');
    const alertEl = document.getElementById('plans-error');
    document.getElementById('plans-section').hidden = false;
    list.replaceChildren(...plans.map((p) => {
        const per = PER[p.interval] || p.interval;
        const button = h('button', { type: 'button', class: 'btn btn-primary' }, 'Subscribe');
        button.addEventListener('click', () => startCheckout({ kind: 'subscription', plan_id: p.id }, button, alertEl));
        return h('li', null, h('article', { class: 'card package', 'aria-label': p.name || p.id },
            ...cardHead(p.name || p.id, p.credits_per_period, `${formatUnits(p.credits_per_period, unit)} every ${per}`),
            h('p', { class: 'price-small' }, `${formatMoney(p.price_cents, currency)} / ${per}`),
            p.credits_expire === 'period_end'
                ? h('p', { class: 'muted' }, p.rollover_cap
                    ? `Unused credits expire at the end of each ${per}; up to ${formatUnits(p.rollover_cap, unit)} carry over`
                    : `Unused credits expire at the end of each ${per}`)
                : null,
            button));
    }));
}

/* ---------- top-ups ---------- */

function setupTopup(config) {
    const t = config.topup || {};
    const select = document.getElementById('topup-amount');
    const form = document.getElementById('topup-form');
    const alertEl = document.getElementById('topup-error');
    const ok = [t.min_cents, t.max_cents, t.step_cents].every((n) => Number.isSafeInteger(n) && n > 0) &&
        t.max_cents >= t.min_cents;
    if (!ok) {
        form.hidden = true;
        document.getElementById('topup-hint').textContent = 'Top-ups are not available right now.';
        return;
    }
    document.getElementById('topup-hint').textContent =
        `Add ${unit.name} in ${formatMoney(t.step_cents, currency)} blocks, from ${formatMoney(t.min_cents, currency)} ` +
        `to ${formatMoney(t.max_cents, currency)}. ` +
        (unit.display === 'currency' ? `You receive ${unit.name} worth the amount.` : `Each ${formatMoney(100, currency)} buys ${formatUnits(100, unit)}.`);
    const options = [];
    for (let v = t.min_cents; v <= t.max_cents && options.length < MAX_TOPUP_OPTIONS; v += t.step_cents) {
        const label = unit.display === 'currency' ? formatMoney(v, currency) : `${formatMoney(v, currency)} (${formatUnits(v, unit)})`;
        options.push(h('option', { value: v, selected: v === t.default_cents }, label));
    }
    select.replaceChildren(...options);
    const button = form.querySelector('button');
    button.disabled = false;
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        startCheckout({ kind: 'topup', amount_cents: Number(select.value) }, button, alertEl);
    });
}

async function init() {
    mountHeader('/buy');
    reenableOnPageShow();
    let config;
    try {
        config = await getConfig();
    } catch (err) {
        showAlert(document.getElementById('page-error'), `Prices could not be loaded: ${err.message}`);
        return;
    }
    currency = config.currency || 'usd';
    unit = creditUnit(config);
    setupAccess(config);
    setupPackages(config);
    setupPlans(config);
    setupTopup(config);
}

if (requireLogin()) init();
