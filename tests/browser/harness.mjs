// harness.mjs - browser-test helpers on top of the e2e harness
// (tests/e2e/harness.mjs starts the real sandbox + server). This adds Debian's
// Chromium through playwright-core, one fresh browser context per test (so
// its cookies - where the UI's session lives - start empty), screenshots
// in tests/browser/screenshots/, and the few UI steps every test repeats.
//
// Usage in a test file:
//   const stack = useStack();
//   const chrome = useBrowser();
//   uiTest(chrome, 'name', async ({ page, open }) => { ... });

import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

import { e2e, httpRequest, rand, waitFor } from '../e2e/harness.mjs';

export * from '../e2e/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SHOTS = path.join(HERE, 'screenshots');

export const LAUNCH = {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

/* Bounds for every wait: actions/locators, navigations, whole tests. */
export const ACTION_MS = 10000;
export const NAV_MS = 15000;

/** Launches one Chromium for the file (before) and closes it (after). */
export function useBrowser() {
    const holder = { browser: null };
    before(async () => {
        holder.browser = await chromium.launch(LAUNCH);
    }, { timeout: 30000 });
    after(async () => {
        if (holder.browser) await holder.browser.close();
    }, { timeout: 15000 });
    return holder;
}

/**
 * A new context + page. Console errors about the Content-Security-Policy
 * and uncaught page errors are collected in `problems` (the UI must run
 * under the server's strict CSP without a single violation).
 */
export async function openPage(holder, { width = 1100, height = 900 } = {}) {
    const context = await holder.browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    page.setDefaultTimeout(ACTION_MS);
    page.setDefaultNavigationTimeout(NAV_MS);
    const problems = [];
    page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    return { context, page, problems };
}

export async function shot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, timeout: ACTION_MS });
}

/**
 * A test with its own browser context. fn({page, problems, open}) where
 * open() makes further contexts (closed at the end too). On failure a
 * screenshot "<name>-failure.png" is saved; on success the CSP problem list
 * must be empty.
 */
export function uiTest(holder, name, fn, { timeout = 90000 } = {}) {
    return e2e(name, async (t) => {
        const contexts = [];
        const open = async (opts) => {
            const p = await openPage(holder, opts);
            contexts.push(p);
            return p;
        };
        const first = await open();
        const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
        try {
            await fn({ ...first, open, t });
            const problems = contexts.flatMap((c) => c.problems);
            assert.deepEqual(problems, [], 'no CSP violations or page errors');
        } catch (e) {
            await shot(first.page, `${slug}-failure`).catch(() => {});
            throw e;
        } finally {
            for (const c of contexts) await c.context.close().catch(() => {});
        }
    }, { timeout });
}

/* ---------------------------------------------------------------- waits */

/** Polls fn until truthy, bounded; fn may be async. */
export function until(fn, what, timeoutMs = ACTION_MS) {
    return waitFor(fn, timeoutMs, { intervalMs: 100, what });
}

/** Rows of the page's history/transactions table body. */
export function bodyRows(page) {
    return page.locator('table tbody').getByRole('row');
}

export async function expectRowCount(page, n) {
    await until(async () => (await bodyRows(page).count()) === n, `${n} table rows`);
}

/* ---------------------------------------------------------------- UI steps */

export const fmtCredits = (n) => new Intl.NumberFormat('en-US').format(n);
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
export const fmtUsd = (cents) => usd.format(cents / 100);

/** Signs up through the login page; returns {email, password}. Lands on the dashboard. */
export async function signUpUi(page, stack, { email, password } = {}) {
    email = email || `ui-${rand(6)}@example.com`;
    password = password || `pw-${rand(10)}`;
    await page.goto(`${stack.baseUrl}/`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${stack.baseUrl}/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    return { email, password };
}

/** Fills the login form (already on the login page) and submits. */
export async function logInUi(page, user) {
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Log in' }).click();
}

/** The token in the UI's HttpOnly session cookie (for API-side checks), or null. */
export async function uiToken(page) {
    const c = (await page.context().cookies()).find((x) => x.name === 'creditd_session');
    return c && c.value ? c.value : null;
}

/** Waits for the sandbox's hosted checkout page. */
export async function onSandboxPage(page, stack) {
    await page.waitForURL((u) => u.href.startsWith(stack.sandboxUrl));
    await page.getByLabel('Card number').waitFor();
}

/** Fills the sandbox's card form and presses Pay. */
export async function payOnSandbox(page, card, { email = 'buyer@example.com' } = {}) {
    const emailField = page.getByLabel('Email');
    if (await emailField.count() && await emailField.isEditable()) await emailField.fill(email);
    await page.getByLabel('Card number').fill(card);
    await page.getByLabel('Expiry').fill('12/34');
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: 'Pay' }).click();
}

/** Sandbox test switches (POST /_sandbox/config). */
export async function sandboxConfig(stack, body) {
    const r = await httpRequest('POST', `${stack.sandboxUrl}/_sandbox/config`, { body });
    assert.equal(r.status, 200, `sandbox config: ${r.status} ${r.text}`);
}
