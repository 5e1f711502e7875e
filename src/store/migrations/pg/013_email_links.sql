-- PostgreSQL dialect of ../013_email_links.sql: BIGINT for INTEGER.
-- 013_email_links: one-time links mailed to an account's address -
-- password reset (billing/password_reset.c) and email verification
-- (billing/email_verify.c) - and when the address was verified.
--
-- Only the SHA-256 hex of a link's token is kept (like tokens.token_hash);
-- the token itself goes out once, in the mail queued in the same write
-- job, and that mail's body is cleared once the sender is done with it. A
-- row is used once (used_at), within expires_at; using one marks every
-- other open row of the account and purpose used too. The count of rows an
-- account made in the last hour, per purpose, bounds how many mails a
-- stranger can make it receive.

CREATE TABLE email_links (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'verify')),
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX email_links_account ON email_links (account_id, created_at);

-- 0: the email was never verified (or the account has none).
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT NOT NULL DEFAULT 0;
