-- 022_admin_payments_subscriptions: indexes for the operator's keyset-paged
-- lists of every account's payments and subscriptions (GET
-- /v1/admin/payments, /v1/admin/subscriptions; the console's Payments and
-- Subscriptions pages). As in 010, each page reads newest first on one
-- index - created_at, or the filter's column then created_at - with the
-- rowid (seq) last, so a page costs its own rows. payments_account and
-- subscriptions_account (001, 004) serve the account filter.

CREATE INDEX payments_created ON payments (created_at);
CREATE INDEX payments_status ON payments (status, created_at);
CREATE INDEX subscriptions_created ON subscriptions (created_at);
CREATE INDEX subscriptions_status ON subscriptions (status, created_at);
