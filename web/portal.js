// Portal link page ("/portal#cdp_..."): an app sent its user here with a
// link from POST /v1/portal_sessions. The token rides in the fragment, so it
// never reaches a server log or a Referer; this page takes it out of the
// address bar, redeems it once for a cookie session and goes to the
// dashboard. A used or expired link says so and offers the login page.
import { api, setReturnUrl, showAlert } from '/app.js';

async function redeem() {
    const token = location.hash.slice(1);
    history.replaceState(null, '', '/portal');
    const section = document.querySelector('section');
    try {
        if (!/^cdp_[0-9a-f]{64}$/.test(token)) {
            throw new Error('This link is not complete. Open it again from the app you came from.');
        }
        const data = await api('POST', '/v1/auth/portal', { token }, { auth: false, session: true });
        setReturnUrl(data && data.return_url);
        location.replace('/dashboard');
    } catch (err) {
        document.getElementById('portal-title').textContent = 'This link cannot be used';
        showAlert(document.getElementById('portal-error'), err.code === 'invalid_portal_link'
            ? 'This link has expired or was already used. Links work once, for 5 minutes: open it again from the app you came from.'
            : err.message);
        document.getElementById('portal-actions').hidden = false;
        section.removeAttribute('aria-busy');
    }
}

redeem();
