-- 031_card_enrich: the card of a paid payment whose charge event never
-- came (the endpoint not subscribed to charge.*, or its delivery lost),
-- asked of Stripe by the background run of billing/card_enrich.c. A row
-- per payment the run looked at without finding a card (another payment
-- method, or Stripe knew nothing): how often, and when it may be asked
-- again (backoff; none after the bound). payments_no_card: the run's
-- list - paid payments with a PaymentIntent but no last4 or charge, oldest
-- paid first - reads only those rows, not every payment.

CREATE TABLE card_enrich (
    payment_id TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    next_try_at INTEGER NOT NULL,
    tried_at INTEGER NOT NULL
);
CREATE INDEX payments_no_card ON payments (paid_at)
    WHERE paid_at > 0 AND stripe_payment_intent_id IS NOT NULL
      AND (last4 IS NULL OR stripe_charge_id IS NULL);
