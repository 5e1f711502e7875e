-- 017_holds: holds (authorise, then capture). A hold reserves credits of
-- an account for work of unknown final cost; accounts.held is the sum of
-- the account's active holds, changed only by guarded UPDATEs in the same
-- transaction as the hold row, so "available = balance - held" is part of
-- every guarded statement that spends (debits, new holds) and is right
-- with several nodes. A hold is captured (one ledger debit, ref
-- hold:<id>:capture), released, or expires, exactly once: every change of
-- status is guarded by status = 'active'.

ALTER TABLE accounts ADD COLUMN held INTEGER NOT NULL DEFAULT 0
    CHECK (held >= 0);

CREATE TABLE holds (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'captured', 'released',
        'expired')),
    description TEXT,
    transaction_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
-- The account's list, newest first (seq is the rowid).
CREATE INDEX holds_account ON holds (account_id, created_at);
-- The sweeper's due holds, and an account's due holds (debits that meet a
-- refusal expire them first).
CREATE INDEX holds_due ON holds (status, expires_at);
CREATE INDEX holds_account_due ON holds (account_id, status, expires_at);
