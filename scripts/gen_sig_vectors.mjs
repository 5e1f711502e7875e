// gen_sig_vectors.mjs - writes tests/unit/data/sig_vectors.json, the
// Stripe-Signature test vectors for tests/unit/test_stripe_signature.c.
//
// Every signed header comes from the official `stripe` npm package
// (stripe.webhooks.generateTestHeaderString), so the C verifier is checked
// against Stripe's own signing code, not against itself. Where creditd's
// rule agrees with the SDK (everything except future timestamps, which
// creditd rejects and the SDK accepts), the script also runs the SDK's
// verifier on the vector and refuses to write a file the SDK disagrees with.
//
// Run from the repository root:  node scripts/gen_sig_vectors.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'tests', 'unit', 'data', 'sig_vectors.json');

const stripe = new Stripe('sk_test_vectors_not_a_real_key');
const sign = (payload, secret, timestamp, scheme) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp, ...(scheme ? { scheme } : {}) });

const T0 = 1767225600; // 2026-01-01T00:00:00Z
const TOL = 300;
const SECRET = 'whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH';
const OTHER = 'whsec_test_0ther0ther0ther0ther0ther0ther0';
const OLD = 'whsec_test_old_rotated_out_secret_0123456';
const NEW = 'whsec_test_new_rotated_in_secret_65432109';

const small = '{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}';

// A realistic event body the way Stripe sends it: pretty-printed, with
// non-ASCII text, nested objects, nulls and numbers.
const eventObj = {
  id: 'evt_1QxYzAbCdEfGhIjKlMnOpQrS',
  object: 'event',
  api_version: '2026-07-29.dahlia',
  created: T0 - 5,
  data: {
    object: {
      id: 'cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ',
      object: 'checkout.session',
      amount_subtotal: 1000,
      amount_total: 1000,
      client_reference_id: 'acct_42',
      currency: 'usd',
      customer: 'cus_QxYzAbCdEfGhIj',
      customer_details: { email: 'zoë@example.com', name: 'Zoë Ünïcødé 💳', phone: null },
      metadata: { order_id: 'ord_3kTz9aQ1', credits: '1000' },
      mode: 'payment',
      payment_intent: 'pi_3QxYzAbCdEfGhIjK0abcdEFG',
      payment_status: 'paid',
      status: 'complete',
      success_url: 'https://example.com/success?session_id={CHECKOUT_SESSION_ID}',
      url: null,
    },
  },
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type: 'checkout.session.completed',
};
const realistic = JSON.stringify(eventObj, null, 2);
const reserialized = JSON.stringify(JSON.parse(realistic));

const vectors = [];
// sdk: also check the SDK agrees (secret to give it, or null to skip).
function add(name, v, sdkSecret) {
  vectors.push({
    name,
    payload: v.payload,
    secrets: v.secrets,
    header: v.header,
    timestamp: v.timestamp ?? null,
    now: v.now,
    tolerance: v.tolerance ?? TOL,
    expected: v.expected,
    sdk_checked: Boolean(sdkSecret),
  });
  if (sdkSecret) {
    let ok = true;
    try {
      stripe.webhooks.signature.verifyHeader(v.payload, v.header, sdkSecret, v.tolerance ?? TOL, undefined, v.now * 1000);
    } catch (e) {
      ok = false;
    }
    if (ok !== (v.expected === 'ok'))
      throw new Error(`stripe SDK disagrees on vector ${name}: sdk ok=${ok}, expected ${v.expected}`);
  }
}

const h0 = sign(small, SECRET, T0);
add('right_secret', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 + 10, expected: 'ok' }, SECRET);
add('same_second', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0, expected: 'ok' }, SECRET);
add('wrong_secret', { payload: small, secrets: OTHER, header: h0, timestamp: T0, now: T0 + 10, expected: 'no_match' }, OTHER);
add('tampered_body', { payload: small.replace('evt_test_1', 'evt_test_2'), secrets: SECRET, header: h0, timestamp: T0, now: T0 + 10, expected: 'no_match' }, SECRET);
add('body_extra_byte', { payload: small + '\n', secrets: SECRET, header: h0, timestamp: T0, now: T0 + 10, expected: 'no_match' }, SECRET);
add('stale_timestamp', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 + TOL + 1, expected: 'timestamp' }, SECRET);
add('very_stale_timestamp', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 + 86400, expected: 'timestamp' }, SECRET);
add('exactly_at_tolerance', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 + TOL, expected: 'ok' }, SECRET);
add('future_within_tolerance', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 - TOL, expected: 'ok' }, SECRET);
// creditd rejects |now - t| > tolerance both ways; the SDK accepts the future.
add('future_timestamp', { payload: small, secrets: SECRET, header: h0, timestamp: T0, now: T0 - TOL - 1, expected: 'timestamp' }, null);
// The signature is checked before the time: wrong and stale is no_match.
add('wrong_secret_and_stale', { payload: small, secrets: OTHER, header: h0, timestamp: T0, now: T0 + 10000, expected: 'no_match' }, OTHER);

// Several v1 entries (Stripe sends one per active secret during a roll).
const hOther = sign(small, OTHER, T0);
const sigOf = (h) => h.split(',').find((kv) => kv.startsWith('v1=')).slice(3);
const multi = `t=${T0},v1=${sigOf(hOther)},v1=${sigOf(h0)}`;
add('several_v1_one_matches', { payload: small, secrets: SECRET, header: multi, timestamp: T0, now: T0 + 1, expected: 'ok' }, SECRET);
add('several_v1_none_match', { payload: small, secrets: NEW, header: multi, timestamp: T0, now: T0 + 1, expected: 'no_match' }, NEW);
const withV0 = `${h0},v0=${sigOf(hOther)}`;
add('v1_and_v0', { payload: small, secrets: SECRET, header: withV0, timestamp: T0, now: T0 + 1, expected: 'ok' }, SECRET);
const badFirst = `t=${T0},v1=${'0'.repeat(64)},v1=${sigOf(h0)}`;
add('bogus_v1_then_good_v1', { payload: small, secrets: SECRET, header: badFirst, timestamp: T0, now: T0 + 1, expected: 'ok' }, SECRET);
const upper = `t=${T0},v1=${sigOf(h0).toUpperCase()}`;
add('uppercase_hex_v1', { payload: small, secrets: SECRET, header: upper, timestamp: T0, now: T0 + 1, expected: 'no_match' }, SECRET);

// Rotated secrets: the endpoint knows both the old and the new secret.
const hOld = sign(small, OLD, T0);
const hNew = sign(small, NEW, T0);
add('rotated_signed_with_old', { payload: small, secrets: `${OLD},${NEW}`, header: hOld, timestamp: T0, now: T0 + 1, expected: 'ok' }, OLD);
add('rotated_signed_with_new', { payload: small, secrets: `${OLD},${NEW}`, header: hNew, timestamp: T0, now: T0 + 1, expected: 'ok' }, NEW);
add('rotated_signed_with_other', { payload: small, secrets: `${OLD},${NEW}`, header: h0, timestamp: T0, now: T0 + 1, expected: 'no_match' }, null);
add('rotated_both_signatures', { payload: small, secrets: NEW, header: `t=${T0},v1=${sigOf(hOld)},v1=${sigOf(hNew)}`, timestamp: T0, now: T0 + 1, expected: 'ok' }, NEW);

// v0 only: the fake test scheme must never be accepted (downgrade).
const hV0 = sign(small, SECRET, T0, 'v0');
add('v0_only', { payload: small, secrets: SECRET, header: hV0, timestamp: T0, now: T0 + 1, expected: 'malformed' }, SECRET);

// Malformed headers.
const v1 = sigOf(h0);
add('empty_header', { payload: small, secrets: SECRET, header: '', now: T0, expected: 'no_header' }, SECRET);
add('no_t', { payload: small, secrets: SECRET, header: `v1=${v1}`, now: T0, expected: 'malformed' }, SECRET);
add('t_not_a_number', { payload: small, secrets: SECRET, header: `t=abc,v1=${v1}`, now: T0, expected: 'malformed' }, SECRET);
add('t_empty', { payload: small, secrets: SECRET, header: `t=,v1=${v1}`, now: T0, expected: 'malformed' }, SECRET);
add('no_v1', { payload: small, secrets: SECRET, header: `t=${T0}`, now: T0, expected: 'malformed' }, SECRET);
add('garbage', { payload: small, secrets: SECRET, header: 'this is not a signature header', now: T0, expected: 'malformed' }, SECRET);
add('space_before_v1', { payload: small, secrets: SECRET, header: `t=${T0}, v1=${v1}`, now: T0, expected: 'malformed' }, SECRET);
add('space_before_t', { payload: small, secrets: SECRET, header: ` t=${T0},v1=${v1}`, now: T0, expected: 'malformed' }, SECRET);
add('only_commas', { payload: small, secrets: SECRET, header: ',,,', now: T0, expected: 'malformed' }, SECRET);
add('last_t_wins', { payload: small, secrets: SECRET, header: `t=1,${h0}`, timestamp: T0, now: T0 + 1, expected: 'ok' }, SECRET);
add('last_t_wins_wrong', { payload: small, secrets: SECRET, header: `${h0},t=${T0 + 1}`, timestamp: T0 + 1, now: T0 + 1, expected: 'no_match' }, SECRET);

// A realistic, pretty-printed event body with non-ASCII text.
const hReal = sign(realistic, SECRET, T0);
add('realistic_event', { payload: realistic, secrets: SECRET, header: hReal, timestamp: T0, now: T0 + 3, expected: 'ok' }, SECRET);
add('realistic_event_reserialized', { payload: reserialized, secrets: SECRET, header: hReal, timestamp: T0, now: T0 + 3, expected: 'no_match' }, SECRET);

// Vectors for cd_stripe_sig_header: what the SDK writes for fixed inputs.
const headerVectors = [
  { payload: small, secret: SECRET, timestamp: T0 },
  { payload: realistic, secret: SECRET, timestamp: T0 + 1 },
  { payload: '', secret: OTHER, timestamp: 1 },
  { payload: small, secret: NEW, timestamp: 9999999999 },
].map((v) => ({ ...v, header: sign(v.payload, v.secret, v.timestamp) }));

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  generator: 'scripts/gen_sig_vectors.mjs (stripe npm package, webhooks.generateTestHeaderString)',
  stripe_node_version: Stripe.PACKAGE_VERSION ?? null,
  tolerance: TOL,
  verify: vectors,
  header: headerVectors,
}, null, 2) + '\n');
console.log(`wrote ${vectors.length} verify vectors and ${headerVectors.length} header vectors to ${out}`);
