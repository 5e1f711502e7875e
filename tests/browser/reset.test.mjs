// Password reset and email verification in the browser, through the links
// creditd mails (a loopback SMTP sink, tests/e2e/smtp_sink.mjs): "Forgot
// your password?" on the login page -> the email form -> the mailed
// /reset#token=… link -> a new password, every old session logged out ->
// log in with it; the mailed /verify#token=… link confirms the address.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { useStack, useBrowser, uiTest, shot, logInUi, waitFor, expectStatus } from './harness.mjs';
import { SmtpSink } from '../e2e/smtp_sink.mjs';

const sink = await new SmtpSink().start();
const stack = useStack({
    sandbox: false,
    serverEnv: { CREDITD_SMTP_URL: sink.url, CREDITD_MAIL_FROM: 'billing@creditd.test', CREDITD_MAIL_POLL_MS: '100' },
});
const chrome = useBrowser();
after(() => sink.stop());

function link(addr, path) {
    return waitFor(() => {
        for (const m of sink.to(addr)) {
            const x = m.data.match(new RegExp(`(http://[^\\s]+/${path}#token=c\\w+_[0-9a-f]{64})\\r?$`, 'm'));
            if (x) return x[1];
        }
        return null;
    }, 10000, { what: `${path} link to ${addr}` });
}

async function fits(page, name) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px of sideways scrolling`);
    assert.equal(await page.locator('h1').count(), 1, `${name}: one h1`);
}

uiTest(chrome, 'forgot password: the mailed link sets a new password and logs every session out', async ({ open }) => {
    const { page } = await open({ width: 375, height: 812 });
    const u = await stack.signup();
    await page.goto(`${stack.baseUrl}/`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${stack.baseUrl}/reset`);
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await fits(page, 'reset');
    await page.getByLabel('Email').fill(u.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('status').filter({ hasText: 'a link to reset its password is on its way' }).waitFor();
    await shot(page, 'reset-requested');

    const url = await link(u.email, 'reset');
    assert.ok(url.startsWith(`${stack.baseUrl}/reset#token=cdr_`), url);
    await page.goto(url);
    await page.getByLabel('New password').fill('a brand new pw');
    await fits(page, 'reset-confirm');
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password is set' }).waitFor();
    await shot(page, 'reset-done');
    expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 401);

    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL(`${stack.baseUrl}/`);
    await logInUi(page, { email: u.email, password: 'a brand new pw' });
    await page.waitForURL(`${stack.baseUrl}/dashboard`);

    // the same link again: explained, nothing changed
    await page.goto(url);
    await page.getByLabel('New password').fill('yet another pw');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid, was used, or expired' }).waitFor();
});

uiTest(chrome, 'the mailed verification link confirms the address', async ({ page }) => {
    const u = await stack.signup();
    expectStatus(await stack.api('POST', '/v1/email_verification', { token: u.token }), 202);
    const url = await link(u.email, 'verify');
    await page.goto(url);
    await page.getByRole('status').filter({ hasText: 'Your email address is confirmed' }).waitFor();
    await shot(page, 'verify-done');
    assert.equal(expectStatus(await stack.api('GET', '/v1/account', { token: u.token }), 200).email_verified, true);
    await page.goto(url);
    await page.getByRole('alert').filter({ hasText: 'not valid, was used, or expired' }).waitFor();
});
