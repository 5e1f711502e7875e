-- PostgreSQL dialect of ../025_ledger_effective_at.sql.
-- 025_ledger_effective_at: the moment a ledger entry takes effect, when
-- that is not the moment it was written. An expiry entry is written by the
-- sweep (or by the account's next debit) some time after its lot's
-- expires_at; its created_at stays the time of writing, so that created_at
-- and seq keep growing together (the keyset pages, PAGE_TAIL in
-- store/records.h, rely on it: a back-dated created_at would show rows
-- twice across pages), and effective_at names the lot's expiry. 0: the
-- same as created_at (every entry before 025, and any other kind). A
-- constant default: no table rewrite.

ALTER TABLE ledger ADD COLUMN effective_at BIGINT NOT NULL DEFAULT 0;
