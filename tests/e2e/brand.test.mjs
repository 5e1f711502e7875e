// brand.test.mjs - branding settings end to end: GET /v1/config carries the
// `brand` object, a receipt's From names the business and its body the
// business and support address, and a bad value stops start-up naming the
// variable; the sandbox's checkout page names the merchant
// (SANDBOX_ACCOUNT_NAME, which `creditd demo` sets from CREDITD_BRAND_NAME).

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { Stack, e2e, waitFor, rand, runCreditd, httpRequest } from './harness.mjs';
import { SmtpSink } from './smtp_sink.mjs';

const BRAND = {
    CREDITD_BRAND_NAME: 'Acme Widgets',
    CREDITD_BRAND_LOGO_URL: '/favicon.svg',
    CREDITD_SUPPORT_EMAIL: 'help@acme.test',
    CREDITD_BRAND_COLOR: '#0f766e',
};
const sink = new SmtpSink();
let stack;

before(async () => {
    await sink.start();
    stack = new Stack({
        serverEnv: {
            ...BRAND,
            CREDITD_SMTP_URL: sink.url,
            CREDITD_MAIL_FROM: 'billing@acme.test',
            CREDITD_MAIL_POLL_MS: '100',
        },
        sandboxEnv: { SANDBOX_ACCOUNT_NAME: 'Acme <Widgets>' },
    });
    try {
        await stack.start();
    } catch (e) {
        process.stderr.write(`\n[e2e] stack start failed: ${e.message}\n${stack.dir ? stack.logTails(80) : ''}\n`);
        await stack.stop().catch(() => {});
        stack = null;
        throw e;
    }
}, { timeout: 60000 });

after(async () => {
    const r = stack ? await stack.stop() : '';
    await sink.stop();
    if (r) throw new Error(`sanitizer reports in the logs:\n${r}`);
}, { timeout: 30000 });

e2e('GET /v1/config carries the brand', async () => {
    const cfg = await stack.config();
    assert.deepEqual(cfg.brand, {
        name: 'Acme Widgets', logo_url: '/favicon.svg',
        support_email: 'help@acme.test', color: '#0f766e',
    });
});

e2e('a receipt names the business and its support address', async () => {
    const cfg = await stack.config();
    const u = await stack.signup();
    await stack.buy(u, { kind: 'package', package_id: cfg.packages[0].id });
    const [msg] = await waitFor(() => (sink.to(u.email).length ? sink.to(u.email) : null), 10000, { what: 'receipt' });
    assert.match(msg.data, /^From: "Acme Widgets" <billing@acme\.test>\r$/m);
    assert.match(msg.data, /\r\n-- \r\nAcme Widgets\r\nQuestions\? Write to help@acme\.test\r\n/);
});

e2e('bad brand values stop start-up naming the variable', async () => {
    const bad = {
        CREDITD_BRAND_NAME: 'a\x01b',
        CREDITD_BRAND_LOGO_URL: 'http://evil.test/x.png',
        CREDITD_SUPPORT_EMAIL: 'not-an-email',
        CREDITD_BRAND_COLOR: 'red',
    };
    for (const [k, v] of Object.entries(bad)) {
        const r = await runCreditd(['serve'], {
            CREDITD_LISTEN: '127.0.0.1:1',
            CREDITD_DB: `/tmp/creditd-brand-${rand(6)}.db`,
            [k]: v,
        });
        assert.notEqual(r.code, 0, k);
        assert.match(r.output, new RegExp(k), k);
    }
    for (const v of ['//evil.test/x.png', 'javascript:alert(1)', '/x".png']) {
        const r = await runCreditd(['serve'], { CREDITD_BRAND_LOGO_URL: v });
        assert.notEqual(r.code, 0, v);
        assert.match(r.output, /CREDITD_BRAND_LOGO_URL/);
    }
});

e2e('the sandbox checkout page names the merchant, escaped', async () => {
    const cfg = await stack.config();
    const u = await stack.signup();
    const co = await stack.checkout(u, { kind: 'package', package_id: cfg.packages[0].id });
    const page = await httpRequest('GET', `${stack.sandboxUrl}/checkout/${co.session_id}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes('<p class="merchant">Acme &lt;Widgets&gt;</p>'), page.text.slice(0, 2000));
});

e2e('an https logo: the UI CSP lets images from its origin only', async () => {
    const s = new Stack({ serverEnv: { CREDITD_BRAND_LOGO_URL: 'https://cdn.acme.test:8443/img/logo.png?v=2' } });
    try {
        await s.start();
        const r = await httpRequest('GET', `${s.baseUrl}/`);
        assert.equal(r.status, 200);
        const csp = r.headers['content-security-policy'];
        assert.match(csp, /img-src 'self' data: https:\/\/cdn\.acme\.test:8443;/);
        assert.match(csp, /script-src 'self';/);
        assert.equal((await s.config()).brand.logo_url, 'https://cdn.acme.test:8443/img/logo.png?v=2');
    } finally {
        const rep = await s.stop();
        assert.ok(!rep, rep);
    }
});
