-- PostgreSQL dialect of ../023_ledger_entries.sql.
-- 023_ledger_entries: each account's number of ledger entries, kept by a
-- trigger in the same statement as the entry (as discount_uses_count keeps
-- times_used), so that GET /v1/transactions answers its exact `total`
-- without counting the account's entries on every page (a COUNT(*) over
-- the account's index range: 0.3 s at a million entries, see
-- docs/PERFORMANCE.md). The ledger is append-only: no DELETE to follow.

ALTER TABLE accounts ADD COLUMN ledger_entries BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET ledger_entries =
    (SELECT COUNT(*) FROM ledger l WHERE l.account_id = accounts.id);
CREATE FUNCTION ledger_entries_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET ledger_entries = ledger_entries + 1
     WHERE id = NEW.account_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_count AFTER INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_count();
