-- 027_invoice_payments: which PaymentIntent paid an invoice, as
-- invoice_payment.paid said (an Invoice names no PaymentIntent since
-- basil). invoice.paid credits from the event alone and takes the
-- PaymentIntent from here when this came first; when it comes second it
-- writes it on the period's order and payment row (billing/charges.c).
-- Purged with charge_cards after 7 days.

CREATE TABLE invoice_payments (
    stripe_invoice_id TEXT PRIMARY KEY,
    payment_intent TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX invoice_payments_created ON invoice_payments (created_at);
