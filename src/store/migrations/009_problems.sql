-- 009_problems: what the operator must look at - a paid order creditd
-- could not credit (its account is gone, the balance limit), a payment
-- whose amount or currency is not the order's, a subscription invoice that
-- does not match its plan. Written in the job that met the problem, once
-- per (kind, order); listed by GET /v1/admin/problems.

CREATE TABLE problems (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL,
    account_id TEXT,
    event_id TEXT,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, order_id)
);
CREATE INDEX problems_created ON problems (created_at);
