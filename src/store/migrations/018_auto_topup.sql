-- 018_auto_topup: per-account auto top-up settings and the attempts that
-- charge the saved card off-session (billing/autotopup.c).
--
-- An account has at most one open attempt (pending: waiting for its next
-- try; in_flight: its payment is being made or awaited): the partial
-- unique index auto_topup_open is the guard, so concurrent debits, nodes
-- or retries can never start two. The monthly cap sums the attempts of
-- a calendar month (UTC, `month` = YYYYMM) that are open or succeeded.

CREATE TABLE auto_topup_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    enabled INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    threshold INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    monthly_cap_cents INTEGER NOT NULL,
    declines INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    last_failure TEXT,
    last_decline_code TEXT,
    last_failure_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE auto_topup_attempts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight',
                                         'succeeded', 'failed', 'canceled')),
    amount_cents INTEGER NOT NULL,
    month INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    order_id TEXT,
    next_try_at INTEGER NOT NULL,
    decline_code TEXT,
    failure TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX auto_topup_open ON auto_topup_attempts (account_id)
    WHERE state IN ('pending', 'in_flight');
CREATE INDEX auto_topup_due ON auto_topup_attempts (next_try_at)
    WHERE state IN ('pending', 'in_flight');
CREATE INDEX auto_topup_month ON auto_topup_attempts (account_id, month);
