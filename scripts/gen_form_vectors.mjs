// gen_form_vectors.mjs - writes tests/unit/data/form_vectors.json: JSON
// parameter objects and the exact form encoding the official `stripe` npm
// package sends for them (its internal queryStringifyRequestData, the
// function RequestSender uses for POST bodies and GET query strings), for
// tests/unit/test_stripe_form.c.
//
// Run from the repository root:  node scripts/gen_form_vectors.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'tests', 'unit', 'data', 'form_vectors.json');
// Not an exported entry point, so import the file itself.
const utils = await import(pathToFileURL(join(root, 'node_modules', 'stripe', 'esm', 'utils.js')).href);
const encode = utils.queryStringifyRequestData;

const cases = [
  ['reference_4_2_checkout_session', {
    mode: 'payment',
    success_url: 'https://example.com/success?session_id={CHECKOUT_SESSION_ID}',
    line_items: [{ price_data: { currency: 'usd', product_data: { name: '1000 credits' }, unit_amount: 1000 }, quantity: 1 }],
    payment_intent_data: { setup_future_usage: 'off_session' },
    metadata: { user_id: '42' },
    allow_promotion_codes: true,
    expires_at: 1767227400,
    expand: ['payment_intent', 'customer'],
  }],
  ['off_session_payment_intent', {
    amount: 2500, currency: 'eur', customer: 'cus_123', payment_method: 'pm_card_visa',
    off_session: true, confirm: true, error_on_requires_action: false,
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    metadata: { order_id: 'ord_3kT', note: 'a & b = c; 100% "ok"' },
  }],
  ['events_list_query', { created: { gte: 1767225600 }, types: ['invoice.paid', 'checkout.session.completed'], limit: 100 }],
  ['special_characters', {
    email: 'zoë+test@example.com',
    description: "it's (a) *test*! ~ok~ [x] {y} <z> | ^ ` \\ / ? # é 💳\n\t",
    'key with space': 'v',
  }],
  ['null_unsets_and_empties', { metadata: null, description: '', tags: [], nested: {}, deep: { a: { b: null } } }],
  ['arrays_of_objects', { line_items: [{ price: 'price_1', quantity: 2 }, { price: 'price_2', quantity: 1, adjustable_quantity: { enabled: true, minimum: 1, maximum: 10 } }] }],
  ['numbers', { a: 0, b: -5, c: 9007199254740991, d: 12.5, e: 1e-7, f: 0.000001, g: 1e21, h: 1.5e300, i: -0.5, j: 123456789.125, k: 0.1, l: 2.5e-10}],
];

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  generator: 'scripts/gen_form_vectors.mjs (stripe npm package, queryStringifyRequestData)',
  vectors: cases.map(([name, params]) => ({ name, params, encoded: encode(params) })),
}, null, 2) + '\n');
console.log(`wrote ${cases.length} form vectors to ${out}`);
