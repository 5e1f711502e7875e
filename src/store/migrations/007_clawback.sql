-- 007_clawback: one clawback figure per order (billing/clawback.c).
--
-- What refunds and disputes take back from an order is one number, kept
-- on the order and moved only by the difference to its target:
--   orders.clawback_credits   credits taken back so far (>= 0)
--   orders.clawback_seq       adjustments made; the n-th is the ledger row
--                             with ref "order:<id>:clawback:<n>"
--   orders.refund_level_cents the highest charge.amount_refunded seen
--   orders.stripe_invoice_id  for the order of a paid subscription invoice
-- refunds: every refund of an order - the ones creditd asks Stripe for
-- (status 'requested' until Stripe answers) and the ones Stripe reports
-- (refund.* events) - by Stripe id once known.
-- disputes: every dispute of an order, its amount and last status.

ALTER TABLE orders ADD COLUMN clawback_credits INTEGER NOT NULL DEFAULT 0
    CHECK (clawback_credits >= 0);
ALTER TABLE orders ADD COLUMN clawback_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refund_level_cents INTEGER NOT NULL DEFAULT 0
    CHECK (refund_level_cents >= 0);
ALTER TABLE orders ADD COLUMN stripe_invoice_id TEXT;
CREATE UNIQUE INDEX orders_invoice ON orders (stripe_invoice_id);

CREATE TABLE refunds (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders (id),
    stripe_refund_id TEXT UNIQUE,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    status TEXT NOT NULL CHECK (status IN ('requested', 'pending',
        'requires_action', 'succeeded', 'failed', 'canceled')),
    reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);

CREATE TABLE disputes (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX disputes_order ON disputes (order_id);

-- The ledger rows of an order (clawback sums, the backfill below).
CREATE INDEX ledger_order ON ledger (order_id) WHERE order_id IS NOT NULL;

-- Orders refunded or disputed before this version: what their entries
-- took, the refund level their payment recorded, and their disputes (the
-- old rule held the whole order; a release row means it was won).
UPDATE orders SET clawback_credits = COALESCE((SELECT -SUM(amount)
    FROM ledger WHERE ledger.order_id = orders.id
    AND ledger.kind IN ('refund', 'dispute')), 0)
  WHERE EXISTS (SELECT 1 FROM ledger WHERE ledger.order_id = orders.id
    AND ledger.kind IN ('refund', 'dispute'));
UPDATE orders SET clawback_credits = 0 WHERE clawback_credits < 0;
UPDATE orders SET refund_level_cents = COALESCE((SELECT amount_refunded_cents
    FROM payments WHERE payments.order_id = orders.id), 0);
INSERT INTO disputes (id, order_id, amount_cents, status, created_at,
                      updated_at)
  SELECT substr(l.ref, 9, length(l.ref) - 13), l.order_id, o.amount_cents,
         CASE WHEN EXISTS (SELECT 1 FROM ledger r WHERE r.ref =
              substr(l.ref, 1, length(l.ref) - 5) || ':release')
              THEN 'won' ELSE 'needs_response' END,
         l.created_at, l.created_at
    FROM ledger l JOIN orders o ON o.id = l.order_id
   WHERE l.ref LIKE 'dispute:%:hold';
