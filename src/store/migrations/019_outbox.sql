-- 019_outbox: events for the application, written in the same write job
-- as their effect (billing/outbox.c), the endpoints they are delivered to,
-- and each delivery's state.
--
-- accounts.event_seq is the last sequence number given to an event of the
-- account: it is taken by one guarded statement (UPDATE accounts SET
-- event_seq = event_seq + 1 ... RETURNING event_seq) in the event's own
-- transaction, so the sequence has no gaps and no repeats with any number
-- of nodes. events.seq is the global insertion order.
--
-- A delivery row is written per (endpoint, event) by the event's own job,
-- for every enabled endpoint subscribed to its type (INSERT ... SELECT),
-- so an event written is an event owed. The sender (a background thread
-- under the "events" lease) takes due rows: status 'pending' and
-- next_attempt_at (MILLISECONDS) reached, no earlier pending row of the
-- same endpoint and account waiting (per-account order). It records:
--   delivered  a 2xx came back (delivered_at set)
--   pending    a failed attempt: attempts + 1, next_attempt_at pushed back
--   failed     still failing when the retry window (3 days) ended
-- A replay sets rows back to 'pending' (or writes them).
-- webhook_endpoints.secret is the signing secret (whsec_...); old_secret
-- signs too until old_secret_expires_at (rotation). failing_since is when
-- the endpoint's current run of failures began (0: its last attempt
-- worked); past the disable span it is disabled with disabled_reason.

ALTER TABLE accounts ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    account_seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, account_seq)
);

CREATE TABLE webhook_endpoints (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    description TEXT,
    event_types TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    secret TEXT NOT NULL,
    old_secret TEXT,
    old_secret_expires_at INTEGER NOT NULL DEFAULT 0,
    failing_since INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE event_deliveries (
    seq INTEGER PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account_seq INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (endpoint_id, event_id)
);
-- The sender's scan, and its per-account order check.
CREATE INDEX event_deliveries_due ON event_deliveries (status, next_attempt_at);
CREATE INDEX event_deliveries_order ON event_deliveries
    (endpoint_id, account_id, status, account_seq);
-- The admin list of an endpoint's deliveries, newest first.
CREATE INDEX event_deliveries_endpoint ON event_deliveries (endpoint_id, seq);
