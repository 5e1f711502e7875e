-- PostgreSQL dialect of ../020_balance_alerts.sql: BIGINT for INTEGER.
-- 020_balance_alerts: per-account balance thresholds (absolute credits).
-- A ledger change whose balance_before and balance_after lie on two sides
-- of a threshold writes balance.low (crossed downwards: before >= t >
-- after) or balance.recovered (crossed back up: before < t <= after) in
-- the same job (billing/outbox.c), so each crossing is reported once.

CREATE TABLE balance_alerts (
    account_id TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, threshold)
);
