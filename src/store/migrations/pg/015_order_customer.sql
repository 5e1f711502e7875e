-- PostgreSQL dialect of ../015_order_customer.sql: the same statements.
-- 015_order_customer: the Stripe customer an order's Stripe request names
-- (Checkout session, top-up or PaymentIntent; NULL: none, Checkout makes
-- one), fixed when the order is written, before Stripe is called. A retry
-- of the request (the same order) sends Stripe the same parameters under
-- the same Stripe Idempotency-Key even when the account saved a customer
-- in between; Stripe refuses a key reused with other parameters.
-- Orders written before this version take the account's customer now,
-- which is what a retry of them sent until now.

ALTER TABLE orders ADD COLUMN stripe_customer_id TEXT;
UPDATE orders SET stripe_customer_id =
    (SELECT a.stripe_customer_id FROM accounts a
     WHERE a.id = orders.account_id);
