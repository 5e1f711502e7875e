-- PostgreSQL dialect of ../002_jobs.sql: BIGINT for INTEGER, identity
-- columns for seq, BYTEA for BLOB, triggers as plpgsql functions.
-- 002_jobs: state of the background jobs (SQLite).
--
-- settings: small key/value state that must survive restarts and be shared
-- by every node (the reconciliation's Stripe event cursor).
-- leases: one row per background job; a node runs the job only while it
-- holds an unexpired lease (DESIGN.md "Scale"), renewed each run.
-- tokens_expires: the hourly purge of expired tokens walks this index.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX tokens_expires ON tokens (expires_at);
