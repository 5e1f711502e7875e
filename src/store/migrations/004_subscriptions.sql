-- 004_subscriptions: the subscriptions creditd knows of, one row per Stripe
-- subscription, synced from Stripe's own copy (GET /v1/subscriptions/{id},
-- re-read when a customer.subscription.* event arrives).
--
-- synced_at is when that copy was read from Stripe (microseconds since the
-- epoch): a row is only overwritten by a copy read at the same time or
-- later, so two events handled at once can never leave the older copy in
-- place. account_id never changes once set (a subscription belongs to the
-- account whose checkout created it). current_period_end is unix seconds,
-- 0 when Stripe did not say.

CREATE TABLE subscriptions (
    seq INTEGER PRIMARY KEY,
    stripe_subscription_id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    plan_id TEXT,
    status TEXT NOT NULL,
    current_period_end INTEGER NOT NULL DEFAULT 0,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0
        CHECK (cancel_at_period_end IN (0, 1)),
    synced_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- GET /v1/subscription: the account's most recent subscription.
CREATE INDEX subscriptions_account ON subscriptions (account_id, created_at);
