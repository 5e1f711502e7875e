-- 026_account_list_counts: each account's number of orders and of
-- payments, kept by a trigger in the same statement as the row (as 023's
-- ledger_entries), so that GET /v1/orders and GET /v1/payments answer
-- their exact `total` without counting the account's rows on every page:
-- a keyset page (starting_after) then costs its own rows at any depth.
-- Orders and payments are never deleted and never change account. The
-- pages read orders_account / payments_account (001), whose implicit last
-- column is the rowid (= seq): ORDER BY created_at DESC, seq DESC after
-- the row value (created_at, seq) < (?, ?) is one index range.

ALTER TABLE accounts ADD COLUMN orders_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN payments_count INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET
    orders_count = (SELECT COUNT(*) FROM orders o
                     WHERE o.account_id = accounts.id),
    payments_count = (SELECT COUNT(*) FROM payments p
                       WHERE p.account_id = accounts.id);
CREATE TRIGGER orders_count AFTER INSERT ON orders
BEGIN
    UPDATE accounts SET orders_count = orders_count + 1
     WHERE id = NEW.account_id;
END;
CREATE TRIGGER payments_count AFTER INSERT ON payments
BEGIN
    UPDATE accounts SET payments_count = payments_count + 1
     WHERE id = NEW.account_id;
END;
