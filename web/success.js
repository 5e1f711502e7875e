// Success page (/success?session_id=cs_…). Stripe sends the buyer here, but
// that proves nothing: credits arrive only when the server has the webhook.
// So we poll GET /v1/checkout/{session_id} about once a second until it says
// fulfilled, and give up politely after about a minute. Never fulfils anything.
import { api, getConfig, requireLogin, mountHeader, formatMoney, formatUnits, creditUnit, showAlert, sleep } from '/app.js';

const POLL_MS = 1000;
const GIVE_UP_MS = 60000;
const MAX_POLLS = 90;

const $ = (id) => document.getElementById(id);

function finish(title, message) {
    $('spinner').hidden = true;
    $('result-title').textContent = title;
    $('result-message').textContent = message;
    $('result-actions').hidden = false;
    $('result-title').focus();
}

async function showComplete(s) {
    let config = {};
    try {
        config = await getConfig();
    } catch {
        /* keep the defaults */
    }
    const unit = creditUnit(config);
    $('sum-credits').textContent = formatUnits(s.credits, unit);
    $('sum-amount').textContent = formatMoney(s.amount_cents, config.currency || 'usd');
    $('sum-order').textContent = s.order_id || '—';
    $('result-summary').hidden = false;
    finish('Payment complete', `${formatUnits(s.credits, unit)} ${s.credits === 1 ? 'has' : 'have'} been added to your balance.`);
}

function showStopped(title, message) {
    finish(title, '');
    $('result-message').hidden = true;
    showAlert($('result-error'), message);
}

async function poll(sessionId) {
    const deadline = Date.now() + GIVE_UP_MS;
    let last = null;
    for (let i = 0; i < MAX_POLLS && Date.now() < deadline; i++) {
        try {
            last = await api('GET', `/v1/checkout/${encodeURIComponent(sessionId)}`);
            if (last.fulfilled) return showComplete(last);
            if (last.status === 'failed') {
                return showStopped('Payment failed', 'Your payment did not go through and you were not charged. You can try again from the Buy credits page.');
            }
            if (last.status === 'expired') {
                return showStopped('Checkout expired', 'This checkout expired before it was paid. You were not charged.');
            }
        } catch (err) {
            if (err.status === 403 || err.status === 404) {
                return showStopped('We couldn’t find that payment', err.message);
            }
            /* network trouble or a busy server: keep trying until the deadline */
        }
        await sleep(POLL_MS);
    }
    const ref = last && last.order_id ? `order ${last.order_id}` : `checkout session ${sessionId}`;
    finish('Payment still processing',
        `Your payment is still processing. Credits will appear on your dashboard shortly; if not, contact support with ${ref}.`);
}

if (requireLogin()) {
    mountHeader(null);
    const sessionId = new URLSearchParams(location.search).get('session_id') || '';
    if (!/^[A-Za-z0-9_]{1,255}$/.test(sessionId)) {
        showStopped('Missing payment reference', 'This page needs a checkout session. If you just paid, check your dashboard.');
    } else {
        poll(sessionId);
    }
}
