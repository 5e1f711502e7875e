-- PostgreSQL dialect of ../029_write_cost.sql.
-- 029_write_cost: three indexes no statement reads (docs/PERFORMANCE.md,
-- "What one job executes"). Every statement of src/store/statements.c was
-- put through EXPLAIN QUERY PLAN (SQLite): none reads these three. None
-- filters, joins or orders by ledger.order_id, lots.order_id or
-- stripe_events.received_at (the drawing order names lots.order_id only
-- inside ORDER BY CASE ..., which PostgreSQL's EXPLAIN plans on lots_open
-- as SQLite does), and no foreign key references those columns,
-- so these indexes were only written: each paid checkout's webhook wrote
-- a leaf of ledger_order and one of lots_order (its order id is random,
-- so a page of its own) and the tail of stripe_events_received. The
-- unique business keys (ledger.ref, ledger.id, lots.id, stripe_events.id)
-- are untouched.

DROP INDEX ledger_order;
DROP INDEX lots_order;
DROP INDEX stripe_events_received;
