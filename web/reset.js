// Password reset page ("/reset"). Without a token: the email form, which
// always answers the same (POST /v1/password_reset is 202 for any address).
// With the mailed link's "#token=cdr_…" (a fragment, so it never reaches a
// server log): the new-password form (POST /v1/password_reset/confirm),
// which logs every session out; then the visitor logs in again.
import { api, forgetSession, showAlert, hideAlert } from '/app.js';

function tokenFromHash() {
    const m = /^#token=(cdr_[0-9a-f]{64})$/.exec(location.hash);
    return m ? m[1] : null;
}

function done(message) {
    const el = document.getElementById('reset-done');
    el.replaceChildren(message, ' ');
    const a = document.createElement('a');
    a.href = '/';
    a.textContent = 'Log in';
    el.append(a);
    el.hidden = false;
}

function busy(form, on) {
    for (const b of form.querySelectorAll('button')) b.disabled = on;
    if (on) form.setAttribute('aria-busy', 'true');
    else form.removeAttribute('aria-busy');
}

function initRequest(alertEl) {
    const form = document.getElementById('request-form');
    const emailEl = document.getElementById('email');
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        hideAlert(alertEl);
        const email = emailEl.value.trim();
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
            showAlert(alertEl, 'Enter a valid email address, like name@example.com.');
            emailEl.focus();
            return;
        }
        busy(form, true);
        try {
            await api('POST', '/v1/password_reset', { email }, { auth: false });
            form.hidden = true;
            const el = document.getElementById('reset-done');
            el.textContent = `If an account uses ${email}, a link to reset its password is on its way. It works once, within 30 minutes.`;
            el.hidden = false;
        } catch (err) {
            showAlert(alertEl, err.message);
            busy(form, false);
        }
    });
}

function initConfirm(alertEl, token) {
    const form = document.getElementById('confirm-form');
    const pwEl = document.getElementById('password');
    form.hidden = false;
    // The token stays out of the address bar's history from here on.
    history.replaceState(null, '', '/reset');
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        hideAlert(alertEl);
        if (pwEl.value.length < 8) {
            showAlert(alertEl, 'Choose a password of at least 8 characters.');
            pwEl.focus();
            return;
        }
        busy(form, true);
        try {
            await api('POST', '/v1/password_reset/confirm', { token, password: pwEl.value }, { auth: false });
            forgetSession();
            form.hidden = true;
            done('Your password is set, and every device was logged out.');
        } catch (err) {
            showAlert(alertEl, err.message);
            busy(form, false);
        }
    });
}

// A link opened over this very page changes only the fragment: start over.
window.addEventListener('hashchange', () => location.reload());

const alertEl = document.getElementById('reset-error');
const token = tokenFromHash();
if (token) initConfirm(alertEl, token);
else initRequest(alertEl);
