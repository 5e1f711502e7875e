// Email verification page ("/verify"): the mailed link's "#token=cdv_…" (a
// fragment, so it never reaches a server log) is sent to
// POST /v1/email_verification/confirm once, on load.
import { api, showAlert } from '/app.js';

// A link opened over this very page changes only the fragment: start over.
window.addEventListener('hashchange', () => location.reload());

const statusEl = document.getElementById('verify-status');
const alertEl = document.getElementById('verify-error');
const m = /^#token=(cdv_[0-9a-f]{64})$/.exec(location.hash);
history.replaceState(null, '', '/verify');

if (!m) {
    statusEl.hidden = true;
    showAlert(alertEl, 'This link is not complete. Open the link from the mail again.');
} else {
    try {
        await api('POST', '/v1/email_verification/confirm', { token: m[1] }, { auth: false });
        statusEl.textContent = 'Your email address is confirmed. You can buy credits now.';
    } catch (err) {
        statusEl.hidden = true;
        showAlert(alertEl, err.message);
    }
}
