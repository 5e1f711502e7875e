-- PostgreSQL dialect of ../012_external_accounts.sql: the same statements
-- (the same email-less placeholder, so both backends read alike).
-- 012_external_accounts: accounts owned by the application (POST
-- /v1/accounts with the server key). external_id is the app's own user id:
-- unique when set, NULL for accounts that signed up with a password.
--
-- Such an account may have no email. accounts.email is NOT NULL UNIQUE
-- since 001, and SQLite relaxes a column constraint only by rebuilding the
-- table, which the foreign keys of tokens, ledger and orders forbid inside
-- a migration's transaction. So an account without an email stores its own
-- id in email (an id has no '@', so it never equals a real address, and it
-- is unique); store/ writes COALESCE(email, id) and reads NULLIF(email, id),
-- so nothing outside store/ ever sees it. Such an account has no
-- password_hash either (NULL): it cannot log in.

ALTER TABLE accounts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX accounts_external_id ON accounts (external_id)
    WHERE external_id IS NOT NULL;
