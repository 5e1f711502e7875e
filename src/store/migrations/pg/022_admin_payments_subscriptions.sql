-- 022_admin_payments_subscriptions (PostgreSQL): the SQLite file's
-- indexes; seq is named, as PostgreSQL has no implicit rowid in an index.

CREATE INDEX payments_created ON payments (created_at, seq);
CREATE INDEX payments_status ON payments (status, created_at, seq);
CREATE INDEX subscriptions_created ON subscriptions (created_at, seq);
CREATE INDEX subscriptions_status ON subscriptions (status, created_at, seq);
