-- PostgreSQL dialect of ../014_charge_cards.sql: BIGINT for INTEGER.
-- 014_charge_cards: the card a charge event (charge.succeeded /
-- charge.updated) named for a PaymentIntent, kept so the payment row gets
-- its last4 whichever of the charge event and the completion arrives
-- first - and the webhook never asks Stripe for it.

CREATE TABLE charge_cards (
    payment_intent TEXT PRIMARY KEY,
    charge TEXT NOT NULL,
    last4 TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX charge_cards_created ON charge_cards (created_at);
