-- PostgreSQL dialect of ../008_login_throttle.sql: BIGINT for INTEGER, identity
-- columns for seq, BYTEA for BLOB, triggers as plpgsql functions.
-- 008_login_throttle: failed logins, shared by every node on this database.
--
-- One row per (email, client address) that failed to log in, plus one row
-- per email with address '*' that counts its failures from every address
-- (the per-email ceiling). billing/login_throttle.c reserves an attempt in
-- one write job before the password is checked: it reads both rows, refuses
-- the attempt (429) while the pair is in back-off or the email is at its
-- ceiling, and otherwise counts it as a failure up front. A successful
-- login then deletes its pair row and takes its attempt back off the
-- email's count.
--   email      normalised (lower-case) login email, known account or not
--   address    the client address (an IPv6 one as its /64), or '*'
--   failures   failures counted since first_at
--   first_at   when this count began (ms since the epoch)
--   last_at    the latest failure (ms since the epoch)
-- The hourly purge (billing/jobs.c) deletes rows whose last failure is
-- older than the longest time a row can matter (1 h).

CREATE TABLE login_failures (
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (email, address)
);
-- The purge's scan.
CREATE INDEX login_failures_last ON login_failures (last_at);
