-- PostgreSQL dialect of ../010_admin_lists.sql: seq named as the last
-- column of each index (SQLite's rowid is implicit in its indexes).
-- 010_admin_lists: indexes for the operator's keyset-paged lists and CSV
-- exports of every account's orders and ledger (GET /v1/admin/orders,
-- /v1/admin/ledger, /v1/admin/export/*.csv). Each page reads newest first
-- on one index - created_at, or the filter's column then created_at - with
-- the rowid (seq) as the implicit last column, so a page costs its own
-- rows, never a scan or a sort. orders_status, orders_account and
-- ledger_account (001) serve the status and account filters.

CREATE INDEX orders_created ON orders (created_at, seq);
CREATE INDEX orders_kind ON orders (kind, created_at, seq);
CREATE INDEX ledger_created ON ledger (created_at, seq);
CREATE INDEX ledger_kind ON ledger (kind, created_at, seq);
