-- 012_password_reset: one-time password reset links (billing/password_reset.c).
--
-- Only the SHA-256 hex of a reset token is kept (like tokens.token_hash);
-- the token itself goes out once, in the mail queued in the same write
-- job, and that mail's body is cleared once the sender is done with it. A
-- row is used once (used_at), within expires_at; confirming one marks
-- every other open row of the account used too. The count of rows an
-- account made in the last hour bounds how many mails a stranger can make
-- it receive.

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX password_resets_account ON password_resets (account_id, created_at);
