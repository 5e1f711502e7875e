-- 016_lots: every credit that enters an account is a lot; debits draw from
-- lots in a fixed order (billing/lots.c) and lot_draws records, per ledger
-- entry, which lots it drew from. accounts.debt is what an account owes
-- past its lots (a clawback or allow_negative debit beyond what was left);
-- the next credits repay it first. Invariant, per account:
--   balance == SUM(ledger.amount) == SUM(lots.remaining) - debt
-- Existing balances become one paid lot each (source 'migrated', no
-- expiry); a negative balance becomes the account's debt.

CREATE TABLE lots (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    entry_id TEXT,
    source TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('paid', 'promotional')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    remaining INTEGER NOT NULL CHECK (remaining >= 0),
    priority INTEGER NOT NULL DEFAULT 50,
    expires_at INTEGER NOT NULL DEFAULT 0,
    order_id TEXT,
    created_at INTEGER NOT NULL,
    expired_at INTEGER NOT NULL DEFAULT 0,
    -- a subscription lot whose credits rolled over once (rollover_cap)
    rolled INTEGER NOT NULL DEFAULT 0,
    CHECK (remaining <= amount)
);
-- An account's lots, newest first (GET /v1/lots).
CREATE INDEX lots_account ON lots (account_id, created_at);
-- Those with credits left: a debit's draws and due expiries, the totals.
CREATE INDEX lots_open ON lots (account_id, expires_at) WHERE remaining > 0;
-- The sweeper's queue: lots with credits left that expire.
CREATE INDEX lots_due ON lots (expires_at) WHERE remaining > 0
    AND expires_at > 0;
CREATE INDEX lots_order ON lots (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE lot_draws (
    entry_id TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (entry_id, lot_id)
) WITHOUT ROWID;

ALTER TABLE accounts ADD COLUMN debt INTEGER NOT NULL DEFAULT 0
    CHECK (debt >= 0);

INSERT INTO lots (id, account_id, entry_id, source, category, amount,
                  remaining, priority, expires_at, order_id, created_at)
    SELECT 'lot_m' || seq || '_' || substr(id, 1, 40), id, NULL, 'migrated',
           'paid', balance, balance, 50, 0, NULL, created_at
    FROM accounts WHERE balance > 0;
UPDATE accounts SET debt = -balance WHERE balance < 0;
