-- PostgreSQL dialect of ../003_discount_pending.sql: BIGINT for INTEGER, identity
-- columns for seq, BYTEA for BLOB, triggers as plpgsql functions.
-- 003_discount_pending: checkout enforces a discount code's max_uses by
-- counting the code's orders that are still pending (created within the
-- last 24 h) next to times_used; this index answers that count without
-- walking every pending order. Partial: most orders carry no code.

CREATE INDEX orders_discount_pending ON orders (discount_code, status, created_at)
    WHERE discount_code IS NOT NULL;
