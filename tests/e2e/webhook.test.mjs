// webhook.test.mjs - POST /v1/webhooks/stripe: signature and timestamp
// checks over the raw body, exactly-once effects under duplicated and
// re-identified events, size cap, unconfigured secret, secret rotation.
//
// The sandbox here delivers to a recording relay (not to creditd), so each
// test decides itself what creditd receives: the sandbox's own events for a
// really paid session, re-signed by the official stripe SDK.

import assert from 'node:assert/strict';
import net from 'node:net';
import {
    useStack, e2e, Stack, waitFor, rand, expectError, expectStatus,
    makeEvent, signPayload, CARD_OK,
} from './harness.mjs';

const stack = useStack({ relay: true });

/**
 * A checkout paid in the sandbox whose events creditd has NOT seen yet.
 * Returns {user, co, event, all}: event is the sandbox's own
 * checkout.session.completed (or, if the sandbox didn't deliver one within
 * 5 s, one built around the sandbox's session object); all is every event
 * the sandbox delivered for this payment.
 */
async function paidButUndelivered(kind = { kind: 'topup', amount_cents: 1000 }) {
    const user = await stack.signup();
    const mark = Date.now();
    const co = await stack.checkout(user, kind);
    expectStatus(await stack.completeSession(co.session_id, CARD_OK), 200);
    let event = null;
    try {
        event = await waitFor(() => stack.relay.find('checkout.session.completed', co.session_id)[0], 5000, {
            what: 'sandbox delivers checkout.session.completed',
        });
    } catch {
        const sess = await stack.getSession(co.session_id);
        assert.equal(sess.payment_status, 'paid', 'the sandbox session is paid');
        event = makeEvent('checkout.session.completed', sess);
    }
    await stack.webhooksDelivered(); // the sandbox's other events for this payment are in the relay
    const all = stack.relay.events.filter((e) => e.at >= mark && e.json).map((e) => e.json);
    assert.equal(event.data.object.id, co.session_id);
    assert.equal(await stack.balance(user), 0, 'creditd has not been told yet');
    return { user, co, event, all };
}

async function transactionsFor(user, orderId) {
    return (await stack.list(user, '/v1/transactions')).filter((t) => t.order_id === orderId);
}

e2e('the same event delivered 5 times credits once; repeats answer duplicate', async () => {
    const { user, co, event } = await paidButUndelivered();
    const payload = JSON.stringify(event);
    const first = await stack.sendWebhook(payload);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { received: true, status: 'processed' });
    assert.equal(await stack.balance(user), co.credits);

    for (let i = 0; i < 4; i++) {
        const r = await stack.sendWebhook(payload); // freshly signed each time, as Stripe retries
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { received: true, status: 'duplicate' });
    }
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
    const st = expectStatus(await stack.api('GET', `/v1/checkout/${co.session_id}`, { token: user.token }), 200);
    assert.equal(st.fulfilled, true);
    const order = await stack.order(user, co.order_id);
    assert.equal(order.status, 'completed');
    const pays = (await stack.list(user, '/v1/payments')).filter((p) => p.order_id === co.order_id);
    assert.equal(pays.length, 1, `one payment recorded: ${JSON.stringify(pays)}`);
    assert.equal(pays[0].status, 'succeeded');
});

e2e('the same event delivered 8 times at once credits once', async () => {
    const { user, co, event } = await paidButUndelivered();
    const payload = JSON.stringify(event);
    const rs = await Promise.all(Array.from({ length: 8 }, () => stack.sendWebhook(payload)));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const statuses = rs.map((r) => r.json.status).sort();
    assert.equal(statuses.filter((s) => s === 'processed').length, 1, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 'duplicate').length, 7, `statuses: ${statuses}`);
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
});

/** Sends a signed webhook on a raw socket and closes it as soon as the
 * last byte is written, without reading the reply: a client that hangs
 * up while its event waits for the commit. */
function sendAndHangUp(payload) {
    const body = Buffer.from(payload);
    const head =
        'POST /v1/webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Content-Type: application/json\r\n' +
        `Stripe-Signature: ${signPayload(payload, stack.webhookSecret)}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: stack.serverPort }, () => {
            s.write(Buffer.concat([Buffer.from(head), body]), () => {
                s.destroy();
                resolve();
            });
        });
        s.on('error', reject);
    });
}

e2e('clients that hang up while their webhook waits for the commit: the event is applied once, a re-delivery is duplicate', async () => {
    const { user, co, event } = await paidButUndelivered();
    const payload = JSON.stringify(event);
    await Promise.all(Array.from({ length: 4 }, () => sendAndHangUp(payload)));
    await waitFor(async () => (await stack.balance(user)) === co.credits, 10000, {
        what: 'the event applied although its clients left',
    });
    const again = await stack.sendWebhook(payload);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, { received: true, status: 'duplicate' });
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
    assert.equal((await stack.order(user, co.order_id)).status, 'completed');
});

e2e('two different event ids for the same session credit once', async () => {
    const { user, co, event } = await paidButUndelivered();
    const r1 = await stack.sendWebhook(event);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.status, 'processed');
    const again = { ...event, id: `evt_e2e_${rand(12)}`, created: event.created + 1 };
    const r2 = await stack.sendWebhook(again);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.received, true);
    assert.ok(['processed', 'duplicate', 'ignored'].includes(r2.json.status), r2.text);
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
    // And that second id is itself now a duplicate.
    const r3 = await stack.sendWebhook(again);
    assert.deepEqual(r3.json, { received: true, status: 'duplicate' });
});

e2e('every event the sandbox sent for a payment, replayed twice in reverse order, credits once', async (t) => {
    const { user, co, all } = await paidButUndelivered();
    t.diagnostic(`sandbox delivered: ${all.map((e) => e.type).join(', ')}`);
    assert.ok(all.length >= 1, 'the sandbox delivered at least one event');
    const seq = [...all].reverse().concat(all);
    for (const ev of seq) {
        const r = await stack.sendWebhook(ev);
        assert.equal(r.status, 200, `${ev.type}: ${r.text}`);
    }
    assert.equal(await stack.balance(user), co.credits);
    assert.equal((await transactionsFor(user, co.order_id)).length, 1);
    assert.equal((await stack.order(user, co.order_id)).status, 'completed');
});

e2e('bad signature: 400 invalid_signature, nothing recorded; the same id signed correctly is then processed', async () => {
    const { user, co, event } = await paidButUndelivered();
    const payload = JSON.stringify(event);

    const wrongSecret = await stack.sendWebhook(payload, { secret: `whsec_wrong${rand(8)}` });
    expectError(wrongSecret, 400, 'invalid_signature');

    const noHeader = await stack.sendWebhook(payload, { noSignature: true });
    expectError(noHeader, 400, 'invalid_signature');

    // Signed over other bytes (one trailing space): the raw body is what counts.
    const tampered = await stack.sendWebhook(payload + ' ', { signature: signPayload(payload, stack.webhookSecret) });
    expectError(tampered, 400, 'invalid_signature');

    // Re-serialized JSON (different bytes, same meaning) with the original signature.
    const reserialized = JSON.stringify(event, null, 2);
    const r4 = await stack.sendWebhook(reserialized, { signature: signPayload(payload, stack.webhookSecret) });
    expectError(r4, 400, 'invalid_signature');

    // A correct HMAC under the v0 scheme only (downgrade): refused.
    const good = signPayload(payload, stack.webhookSecret);
    const v0 = good.replace(',v1=', ',v0=');
    expectError(await stack.sendWebhook(payload, { signature: v0 }), 400, 'invalid_signature');

    // Garbage headers.
    for (const sig of ['', 'garbage', 't=', `t=${Math.floor(Date.now() / 1000)}`, `v1=${'0'.repeat(64)}`,
        `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`, `t=abc,v1=${good.split('v1=')[1]}`]) {
        const r = await stack.sendWebhook(payload, { signature: sig, noSignature: sig === '' });
        assert.equal(r.status, 400, `header ${JSON.stringify(sig)}: ${r.status} ${r.text}`);
        expectError(r, 400);
    }

    assert.equal(await stack.balance(user), 0, 'nothing credited');
    assert.equal((await stack.order(user, co.order_id)).status, 'pending');

    // Nothing was recorded, so the same event id now goes through.
    const ok = await stack.sendWebhook(payload);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { received: true, status: 'processed' });
    assert.equal(await stack.balance(user), co.credits);
});

e2e('a header with several v1 signatures is accepted when any one matches', async () => {
    const ev = makeEvent('e2e.unknown_type', { id: `obj_${rand(6)}`, object: 'thing' });
    const payload = JSON.stringify(ev);
    const good = signPayload(payload, stack.webhookSecret);
    const [t, v1] = good.split(',');
    const header = `${t},v1=${'ab'.repeat(32)},${v1},v0=${'cd'.repeat(32)}`;
    const r = await stack.sendWebhook(payload, { signature: header });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { received: true, status: 'ignored' });
});

e2e('stale or far-future timestamp: 400 timestamp_out_of_tolerance, nothing recorded', async () => {
    const { user, co, event } = await paidButUndelivered();
    const payload = JSON.stringify(event);
    const now = Math.floor(Date.now() / 1000);
    expectError(await stack.sendWebhook(payload, { timestamp: now - 400 }), 400, 'timestamp_out_of_tolerance');
    expectError(await stack.sendWebhook(payload, { timestamp: now - 86400 }), 400, 'timestamp_out_of_tolerance');
    expectError(await stack.sendWebhook(payload, { timestamp: now + 400 }), 400, 'timestamp_out_of_tolerance');
    assert.equal(await stack.balance(user), 0);
    // Well inside the tolerance (a minute old) is fine, and the id was not burnt.
    const ok = await stack.sendWebhook(payload, { timestamp: now - 60 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'processed');
    assert.equal(await stack.balance(user), co.credits);
});

e2e('checkout.session.completed with payment_status unpaid credits nothing', async () => {
    const user = await stack.signup();
    const co = await stack.checkout(user, { kind: 'topup', amount_cents: 1000 });
    const sess = await stack.getSession(co.session_id); // open, unpaid: never paid in the sandbox
    const ev = makeEvent('checkout.session.completed', { ...sess, status: 'complete', payment_status: 'unpaid' });
    const r = await stack.sendWebhook(ev);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.received, true);
    assert.equal(await stack.balance(user), 0);
    assert.equal((await stack.order(user, co.order_id)).status, 'pending');
});

e2e('unknown event type: 200 ignored', async () => {
    for (const type of ['customer.created', 'e2e.totally_unknown', 'balance.available']) {
        const r = await stack.sendWebhook(makeEvent(type, { id: `obj_${rand(6)}`, object: 'thing' }));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { received: true, status: 'ignored' });
    }
});

e2e('unhandled event types are not recorded: a redelivery is ignored again, never duplicate', async () => {
    // A version that learns refunds/disputes must still get these ids.
    for (const type of ['charge.refunded', 'charge.dispute.created', 'payment_intent.succeeded', 'checkout.session.e2e_new_type']) {
        const ev = makeEvent(type, { id: `obj_${rand(6)}`, object: 'thing' });
        for (let i = 0; i < 3; i++) {
            const r = await stack.sendWebhook(ev);
            assert.equal(r.status, 200, r.text);
            assert.deepEqual(r.json, { received: true, status: 'ignored' }, `${type} delivery ${i + 1}`);
        }
    }
    // Handled types are still recorded.
    const { user, co, event } = await paidButUndelivered();
    assert.equal((await stack.sendWebhook(event)).json.status, 'processed');
    assert.deepEqual((await stack.sendWebhook(event)).json, { received: true, status: 'duplicate' });
    assert.equal(await stack.balance(user), co.credits);
});

e2e('a checkout.session.* of a session creditd never created is not recorded: a redelivery is ignored again', async () => {
    for (const type of ['checkout.session.completed', 'checkout.session.expired', 'checkout.session.async_payment_failed']) {
        const ev = makeEvent(type, {
            id: `cs_test_foreign_${rand(8)}`, object: 'checkout.session', mode: 'payment', status: 'complete',
            payment_status: 'paid', amount_total: 1000, currency: 'usd',
            client_reference_id: `ord_foreign_${rand(8)}`, metadata: { order_id: `ord_foreign_${rand(8)}`, account_id: 'acct_x' },
        });
        for (let i = 0; i < 3; i++) {
            const r = await stack.sendWebhook(ev);
            assert.equal(r.status, 200, r.text);
            assert.deepEqual(r.json, { received: true, status: 'ignored' }, `${type} delivery ${i + 1}`);
        }
    }
});

e2e('a payment of another amount than its order is not credited, answered 200, and listed for the operator with a metric', async () => {
    const { user, co, event } = await paidButUndelivered();
    const wrong = structuredClone(event);
    wrong.id = `evt_e2e_${rand(10)}`;
    wrong.data.object.amount_total = 1;
    const r = await stack.sendWebhook(wrong);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ignored');
    assert.equal(await stack.balance(user), 0);
    const list = expectStatus(await stack.admin('GET', '/v1/admin/problems?limit=100'), 200);
    const mine = list.data.filter((p) => p.order_id === co.order_id);
    assert.equal(mine.length, 1, JSON.stringify(list));
    assert.equal(mine[0].kind, 'amount_mismatch');
    assert.equal(mine[0].event_id, wrong.id);
    assert.match(mine[0].detail, /paid 1 usd/);
    // The same again: still one entry; the metric counted it.
    assert.equal((await stack.sendWebhook({ ...wrong, id: `evt_e2e_${rand(10)}` })).status, 200);
    const again = expectStatus(await stack.admin('GET', '/v1/admin/problems?limit=100'), 200);
    assert.equal(again.data.filter((p) => p.order_id === co.order_id).length, 1);
    const m = await stack.admin('GET', '/metrics');
    assert.match(m.text, /creditd_problems_total\{kind="amount_mismatch"\} [1-9]/);
    // The right amount still credits.
    assert.equal((await stack.sendWebhook(event)).json.status, 'processed');
    assert.equal(await stack.balance(user), co.credits);
});

e2e('body over 1 MiB: 413; a 300 KiB event (over the API cap) is fine', async () => {
    const big = makeEvent('e2e.big', { id: `obj_${rand(6)}`, object: 'thing', pad: 'x'.repeat(1024 * 1024) });
    const payload = JSON.stringify(big);
    assert.ok(payload.length > 1024 * 1024);
    const r = await stack.sendWebhook(payload);
    expectError(r, 413);

    const mid = makeEvent('e2e.mid', { id: `obj_${rand(6)}`, object: 'thing', pad: 'y'.repeat(300 * 1024) });
    const r2 = await stack.sendWebhook(mid);
    assert.equal(r2.status, 200, r2.text.slice(0, 300));
    assert.equal(r2.json.status, 'ignored');
});

e2e('signed but not JSON: a 4xx, not a crash', async () => {
    const r = await stack.sendWebhook('{"id":"evt_x", this is not json');
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
    expectStatus(await stack.api('GET', '/healthz'), 200);
});

e2e('server without STRIPE_WEBHOOK_SECRET: 503 webhook_secret_not_configured', async () => {
    const bare = new Stack({ sandbox: false, webhookSecret: false });
    try {
        await bare.start();
        const ev = makeEvent('e2e.unknown_type', { id: 'obj_1', object: 'thing' });
        expectError(await bare.sendWebhook(ev, { secret: stack.webhookSecret }), 503, 'webhook_secret_not_configured');
        expectError(await bare.sendWebhook(ev, { noSignature: true }), 503, 'webhook_secret_not_configured');
    } finally {
        await bare.stop();
    }
});

e2e('secret rotation: STRIPE_WEBHOOK_SECRET with two secrets accepts either, nothing else', async () => {
    const oldS = `whsec_old${rand(10)}`;
    const newS = `whsec_new${rand(10)}`;
    const rot = new Stack({ sandbox: false, serverEnv: { STRIPE_WEBHOOK_SECRET: `${oldS},${newS}` } });
    try {
        await rot.start();
        for (const secret of [oldS, newS]) {
            const r = await rot.sendWebhook(makeEvent('e2e.rotation', { id: 'obj_1', object: 'thing' }), { secret });
            assert.equal(r.status, 200, `${secret.slice(0, 9)}: ${r.text}`);
            assert.equal(r.json.status, 'ignored');
        }
        const bad = await rot.sendWebhook(makeEvent('e2e.rotation', { id: 'obj_1', object: 'thing' }), { secret: `whsec_other${rand(6)}` });
        expectError(bad, 400, 'invalid_signature');
        // Stripe during a roll: one v1 per secret in the same header.
        const payload = JSON.stringify(makeEvent('e2e.rotation', { id: 'obj_2', object: 'thing' }));
        const ts = Math.floor(Date.now() / 1000);
        const a = signPayload(payload, `whsec_gone${rand(4)}`, ts).split(',')[1];
        const b = signPayload(payload, newS, ts).split(',')[1];
        const r = await rot.sendWebhook(payload, { signature: `t=${ts},${a},${b}` });
        assert.equal(r.status, 200, r.text);
    } finally {
        await rot.stop();
    }
});
