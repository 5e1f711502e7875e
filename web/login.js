// Login / sign-up page ("/"). One form, two actions: "Log in" (the default
// on Enter) and "Sign up". On success the server sets the session cookie
// (Creditd-Session: cookie) and the visitor continues to ?next= (a same-origin path) or the dashboard.
import { api, isLoggedIn, setReturnUrl, safeNext, showAlert, hideAlert } from '/app.js';

const next = safeNext(new URLSearchParams(location.search).get('next')) || '/dashboard';

/* Returns [message, field id] for the first problem, or null. */
function validate(action, email, password) {
    if (!email) return ['Enter your email address.', 'email'];
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return ['Enter a valid email address, like name@example.com.', 'email'];
    if (!password) return ['Enter your password.', 'password'];
    if (action === 'signup' && password.length < 8) return ['Choose a password of at least 8 characters.', 'password'];
    return null;
}

function init() {
    const form = document.getElementById('auth-form');
    const alertEl = document.getElementById('auth-error');
    const emailEl = document.getElementById('email');
    const passwordEl = document.getElementById('password');
    const buttons = form.querySelectorAll('button');

    if (new URLSearchParams(location.search).has('next')) {
        document.getElementById('auth-notice').hidden = false;
    }

    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const action = event.submitter && event.submitter.value === 'signup' ? 'signup' : 'login';
        const email = emailEl.value.trim();
        const password = passwordEl.value;
        hideAlert(alertEl);

        const problem = validate(action, email, password);
        if (problem) {
            showAlert(alertEl, problem[0]);
            document.getElementById(problem[1]).focus();
            return;
        }

        for (const b of buttons) b.disabled = true;
        form.setAttribute('aria-busy', 'true');
        try {
            const data = await api('POST', `/v1/auth/${action}`, { email, password }, { auth: false, session: true });
            if (!data || !data.account || !isLoggedIn()) throw new Error('The server sent an unexpected answer. Please try again.');
            setReturnUrl(null);
            location.replace(next);
        } catch (err) {
            showAlert(alertEl, err.message);
            for (const b of buttons) b.disabled = false;
            form.removeAttribute('aria-busy');
        }
    });
}

if (isLoggedIn()) location.replace(next);
else init();
