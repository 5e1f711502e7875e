-- 021_rate_limits: request-rate limits shared by every node on this
-- database (signup/login/portal per client address, checkouts per
-- account, discount guesses per account and per address), so N nodes do
-- not give N times a cap.
--
-- One row per (scope, key): a token bucket kept as one time stamp (GCRA,
-- src/api/ratelimit.h). With T = window / limit and a tolerance of
-- (limit - 1) x T, a request at `now` may go when tat - now <= tolerance;
-- it then stores max(tat, now) + T. store/rate_limits.c takes a request
-- with one guarded upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE ...
-- RETURNING), so concurrent takes on any node count exactly.
--   scope   what is limited ("signup", "login", "payment", ...)
--   key     whose: a client address (an IPv6 one as its /64) or an account
--   tat     the bucket's theoretical arrival time, ms since the epoch; a
--           row whose tat has passed is a full bucket, the same as none
-- The purge job (billing/jobs.c) deletes rows whose tat has passed.

CREATE TABLE rate_limits (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    tat INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
-- The purge's scan.
CREATE INDEX rate_limits_tat ON rate_limits (tat);
