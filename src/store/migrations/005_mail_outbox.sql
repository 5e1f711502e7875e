-- 005_mail_outbox: mail waiting to be sent, and what became of it.
--
-- A row is written in the same write job as the effect it reports (an
-- order's fulfilment: dedupe_key "order:<id>:receipt"), so a receipt exists
-- exactly when the order was credited, and only once: dedupe_key is unique.
-- The sender (billing/mail.c, a background thread under the "mail" lease)
-- takes due rows - status 'queued' and next_attempt_at reached - sends them
-- over SMTP outside any transaction, then records the outcome:
--   sent     delivered to the SMTP server (sent_at set)
--   queued   a failed attempt: attempts + 1, next_attempt_at pushed back
--   failed   gave up after the last attempt (last_error says why)
--   skipped  no SMTP server configured (CREDITD_SMTP_URL unset)
-- next_attempt_at is in MILLISECONDS since the epoch (retry back-off can be
-- shorter than a second in tests); created_at and sent_at are seconds.
-- No secret or token is ever stored here: the body is the plain text sent.

CREATE TABLE mail_outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL UNIQUE,
    account_id TEXT,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER NOT NULL DEFAULT 0
);
-- The sender's scan: queued rows by due time.
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
