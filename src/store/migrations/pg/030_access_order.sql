-- PostgreSQL dialect of ../030_access_order.sql: seq named as the last
-- column (no implicit rowid here).
-- 030_access_order: the account's access order (ACCESS_ORDER in
-- src/store/records.h, read with every account but the token's) sought
-- among that account's own access orders, in the subquery's order
-- (completed_at, then seq), without a sort. Before, SQLite searched it
-- through orders_kind (kind=?): every access order of every account, then
-- a temporary b-tree, per account read (docs/PERFORMANCE.md, "The access
-- order bounded"). Partial: only access orders are written to it.

CREATE INDEX orders_access ON orders (account_id, completed_at, seq)
    WHERE kind = 'access';
