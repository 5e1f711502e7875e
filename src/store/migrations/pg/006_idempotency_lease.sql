-- PostgreSQL dialect of ../006_idempotency_lease.sql: BIGINT for INTEGER, identity
-- columns for seq, BYTEA for BLOB, triggers as plpgsql functions.
-- 006_idempotency_lease: an "in progress" Idempotency-Key claim is held by
-- a lease, renewed by its process's heartbeat while the request runs
-- (billing/idempotency.c). Another request may take the claim over only
-- once lease_until (milliseconds since the epoch) has passed, so a claim
-- of a live node - a request still waiting for Stripe - is never taken
-- over, whichever node the retry reaches. A 5xx reply releases the claim
-- (lease_until 0, body NULL) instead of deleting it, so the retry runs
-- under the same key again and finds the first attempt's order or refund.
-- Claims written before this migration read as expired (0).

ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
