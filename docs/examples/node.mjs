// creditd from Node (18+, built-in fetch, no packages): create an account,
// start a checkout, wait for the credits, debit with an Idempotency-Key (and
// retry it), read the balance. docs/API.md is the contract;
// tests/e2e/examples.test.mjs runs this file against a server and the
// Stripe sandbox.
//
//   CREDITD_URL=http://127.0.0.1:8080 CREDITD_SERVER_KEY=... node docs/examples/node.mjs
//   CREDITD_SANDBOX (optional): the sandbox's URL; the script then pays with
//   test card 4242 itself. Without it, open the printed URL and pay.
import { randomUUID } from 'node:crypto';

const API = process.env.CREDITD_URL;
const KEY = process.env.CREDITD_SERVER_KEY;
if (!API || !KEY) throw new Error('set CREDITD_URL and CREDITD_SERVER_KEY');

class CreditdError extends Error {
    constructor(status, body) {
        super(`${status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? 'no error body'}`);
        this.status = status;
        this.code = body?.error?.code;
    }
}

/* One call as your backend: the server key, and the account it acts for. */
async function creditd(method, path, { account, body, idempotencyKey, auth = true } = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (auth) headers.Authorization = `Bearer ${KEY}`;
    if (account) headers['Creditd-Account'] = account;
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const res = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10000),
    });
    const data = res.status === 204 ? null : await res.json();
    if (!res.ok) throw new CreditdError(res.status, data);
    return { data, replayed: res.headers.get('Idempotent-Replayed') === 'true' };
}

/*
 * A debit that is safe to retry: the same Idempotency-Key on every attempt,
 * so a timeout, a 5xx or a 409 idempotency_in_progress is retried without
 * ever debiting twice. 402 insufficient_balance and other 4xx are final.
 */
async function debit(account, amount, description, idempotencyKey) {
    for (let attempt = 1; ; attempt++) {
        try {
            return await creditd('POST', '/v1/debits', { account, idempotencyKey, body: { amount, description } });
        } catch (e) {
            const retryable = !(e instanceof CreditdError) || e.status >= 500 || e.code === 'idempotency_in_progress' || e.status === 429;
            if (!retryable || attempt === 5) throw e;
            await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        }
    }
}

// 1. Create an account (email + password signup today).
const email = `buyer-${Date.now()}-${randomUUID().slice(0, 8)}@example.com`;
const { data: signup } = await creditd('POST', '/v1/auth/signup', { auth: false, body: { email, password: 'correct horse battery' } });
const account = signup.account.id;
console.log(`account ${account}`);

// 2. Start a checkout for a $10 top-up and send the buyer to checkout_url.
const { data: checkout } = await creditd('POST', '/v1/checkout', { account, body: { kind: 'topup', amount_cents: 1000 } });
console.log(`checkout ${checkout.checkout_url}`);
if (process.env.CREDITD_SANDBOX) {
    const r = await fetch(`${process.env.CREDITD_SANDBOX}/_sandbox/checkout/${checkout.session_id}/complete`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ card: '4242424242424242' }),
    });
    if (!r.ok) throw new Error(`sandbox: ${r.status}`);
}
// Credits arrive with Stripe's webhook, not with the redirect: wait for it.
for (let i = 0; ; i++) {
    const { data: s } = await creditd('GET', `/v1/checkout/${checkout.session_id}`, { account });
    if (s.fulfilled) break;
    if (i === 300) throw new Error('the payment did not arrive');
    await new Promise((r) => setTimeout(r, 200));
}

// 3. Debit 250 credits; the retry with the same key is the same debit.
const key = randomUUID();
const first = await debit(account, 250, 'report #42', key);
const again = await debit(account, 250, 'report #42', key);
console.log(`debit ${first.data.transaction_id} retry ${again.data.transaction_id} replayed ${again.replayed}`);
if (again.data.transaction_id !== first.data.transaction_id) throw new Error('the retry debited twice');

// 4. Read the balance.
const { data: balance } = await creditd('GET', '/v1/balance', { account });
console.log(`balance ${balance.balance}`);
