-- 001_init: the first schema of creditd (SQLite).
--
-- Conventions: times are INTEGER seconds since the epoch; money is INTEGER
-- minor units; an optional text field is NULL in the database and "" in
-- the C structs (store/ maps one to the other). Tables that are listed
-- "newest first" carry an explicit INTEGER PRIMARY KEY `seq` (stable
-- insertion order, unchanged by VACUUM) next to their text id, and lists
-- order by (created_at DESC, seq DESC).
-- Foreign keys are immediate (never DEFERRABLE): a violation fails the
-- statement inside its job's savepoint, not the COMMIT of a whole batch.

CREATE TABLE accounts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    stripe_customer_id TEXT UNIQUE,
    has_saved_payment_method INTEGER NOT NULL DEFAULT 0
        CHECK (has_saved_payment_method IN (0, 1)),
    balance INTEGER NOT NULL DEFAULT 0
        CHECK (balance BETWEEN -4611686018427387904 AND 4611686018427387904),
    created_at INTEGER NOT NULL
);
CREATE INDEX accounts_created ON accounts (created_at);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_account ON tokens (account_id);

CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount INTEGER NOT NULL CHECK (amount != 0),
    balance_after INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL UNIQUE,
    order_id TEXT,
    description TEXT,
    created_at INTEGER NOT NULL
);
-- (account_id, created_at) plus the implicit rowid (= seq) serves both the
-- per-account newest-first list and the per-account sums.
CREATE INDEX ledger_account ON ledger (account_id, created_at);

CREATE TABLE orders (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed',
        'expired', 'refunded', 'partially_refunded', 'disputed')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    discount_cents INTEGER NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
    discount_code TEXT,
    credits INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    item_id TEXT,
    description TEXT,
    stripe_session_id TEXT UNIQUE,
    stripe_payment_intent_id TEXT,
    failure_reason TEXT,
    created_at INTEGER NOT NULL,
    completed_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orders_account ON orders (account_id, created_at);
CREATE INDEX orders_payment_intent ON orders (stripe_payment_intent_id);
CREATE INDEX orders_status ON orders (status, created_at);

CREATE TABLE payments (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed',
        'refunded', 'partially_refunded', 'disputed')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    amount_refunded_cents INTEGER NOT NULL DEFAULT 0
        CHECK (amount_refunded_cents >= 0),
    currency TEXT NOT NULL,
    description TEXT,
    last4 TEXT,
    failure_reason TEXT,
    stripe_payment_intent_id TEXT,
    stripe_charge_id TEXT,
    created_at INTEGER NOT NULL,
    paid_at INTEGER NOT NULL DEFAULT 0,
    refunded_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payments_account ON payments (account_id, created_at);
CREATE INDEX payments_payment_intent ON payments (stripe_payment_intent_id);
CREATE INDEX payments_charge ON payments (stripe_charge_id);

CREATE TABLE discount_codes (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    percent_off INTEGER NOT NULL DEFAULT 0
        CHECK (percent_off BETWEEN 0 AND 100),
    amount_off_cents INTEGER NOT NULL DEFAULT 0 CHECK (amount_off_cents >= 0),
    max_uses INTEGER NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
    times_used INTEGER NOT NULL DEFAULT 0 CHECK (times_used >= 0),
    expires_at INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL
);
CREATE INDEX discount_codes_created ON discount_codes (created_at);

-- One counted use per order; the trigger keeps discount_codes.times_used
-- in step with the rows here, in the same statement.
CREATE TABLE discount_uses (
    order_id TEXT PRIMARY KEY,
    code TEXT NOT NULL REFERENCES discount_codes (code),
    used_at INTEGER NOT NULL
);
CREATE INDEX discount_uses_code ON discount_uses (code);
CREATE TRIGGER discount_uses_count AFTER INSERT ON discount_uses
BEGIN
    UPDATE discount_codes SET times_used = times_used + 1
     WHERE code = NEW.code;
END;

CREATE TABLE pricing (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mode TEXT NOT NULL CHECK (mode IN ('launch', 'rrp', 'sale')),
    launch_cents INTEGER NOT NULL CHECK (launch_cents >= 0),
    rrp_cents INTEGER NOT NULL CHECK (rrp_cents >= 0),
    sale_cents INTEGER NOT NULL CHECK (sale_cents >= 0),
    updated_at INTEGER NOT NULL
);

CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX stripe_events_received ON stripe_events (received_at);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0 CHECK (status >= 0),
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
