-- PostgreSQL dialect of ../024_keyset_pages.sql: the per-account indexes
-- of 001/004 end with seq, as SQLite's do implicitly (its rowid), so that a
-- page of one account's rows - ORDER BY created_at DESC, seq DESC after the
-- row value (created_at, seq) < (?, ?) - is one index range read backwards:
-- no sort, and no walk of the rows sharing the start row's created_at.
DROP INDEX ledger_account;
CREATE INDEX ledger_account ON ledger (account_id, created_at, seq);
DROP INDEX orders_account;
CREATE INDEX orders_account ON orders (account_id, created_at, seq);
DROP INDEX payments_account;
CREATE INDEX payments_account ON payments (account_id, created_at, seq);
DROP INDEX subscriptions_account;
CREATE INDEX subscriptions_account ON subscriptions (account_id, created_at, seq);
