-- PostgreSQL dialect of ../011_portal_sessions.sql: BIGINT for INTEGER,
-- a heap table for WITHOUT ROWID.
-- 011_portal_sessions: single-use links that log a buyer into the web UI
-- (POST /v1/portal_sessions, redeemed by POST /v1/auth/portal).
--
--   token_hash  sha256 hex of the link's token ("cdp_" + 64 hex); the
--               token itself is never stored
--   account_id  the account the link logs into
--   return_url  where the UI's "Back" link goes (an allowed origin), or NULL
--   created_at, expires_at  seconds since the epoch (5 minutes apart)
--   used_at     when it was redeemed; 0 while unused. A link is redeemed at
--               most once: the redeeming UPDATE matches only used_at = 0.
-- The hourly purge (billing/jobs.c, with the tokens) deletes expired rows.

CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    return_url TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
