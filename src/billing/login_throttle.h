/*
 * login_throttle.h - failed logins, counted in the database (table
 * login_failures, migration 010) so that every node sharing it sees the
 * same state, and a restart forgets nothing.
 *
 * Two counts are kept for a login email (normalised, known account or
 * not):
 *  - per (email, client address): CD_LOGIN_FREE_FAILS attempts are free;
 *    from that many failures on, the next attempt from that address waits
 *    CD_LOGIN_BACKOFF_BASE_MS after the latest failure, twice as long with
 *    each further failure, at most CD_LOGIN_BACKOFF_MAX_MS (5 failures:
 *    2 s, 6: 4 s, 7: 8 s ... 13: 512 s, then 15 min). A pair without a
 *    failure for CD_LOGIN_FORGET_MS starts over; a successful login clears
 *    it.
 *  - per email, from every address together: at most CD_LOGIN_EMAIL_FAILS
 *    failures in a window of CD_LOGIN_EMAIL_WINDOW_MS from its first one
 *    (far above what a person types; it caps a guesser who owns many
 *    addresses, and then locks that email for everyone until the window
 *    ends).
 *
 * An attempt is reserved BEFORE the password is checked, in one write job
 * that checks both counts and, when the attempt may go, counts it as a
 * failure up front. So a burst of concurrent guesses cannot all reach the
 * slow hash: at most the free ones do. A successful login (in the job
 * that stores its token) deletes its pair's row and takes its attempt back
 * off the email's count. An attacker at one address therefore never locks
 * the owner out at another.
 */
#ifndef CD_BILLING_LOGIN_THROTTLE_H
#define CD_BILLING_LOGIN_THROTTLE_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_LOGIN_FREE_FAILS 5                     /* per (email, address) */
#define CD_LOGIN_BACKOFF_BASE_MS INT64_C(2000)    /* then 2 s ... */
#define CD_LOGIN_BACKOFF_MAX_MS INT64_C(900000)   /* ... doubling to 15 min */
#define CD_LOGIN_FORGET_MS INT64_C(3600000)       /* pair quiet for 1 h */
#define CD_LOGIN_EMAIL_FAILS 100                  /* per email ... */
#define CD_LOGIN_EMAIL_WINDOW_MS INT64_C(3600000) /* ... an hour */

/* How long the next attempt of a pair with `failures` failures waits after
 * the latest one (ms; 0 while failures < CD_LOGIN_FREE_FAILS). */
int64_t cd_login_backoff_ms(int64_t failures);

/*
 * The decision, on the two rows as read (failures 0 when absent): pair is
 * (email, address), all is (email, CD_LOGIN_ANY_ADDRESS). Returns the ms
 * the attempt must wait (> 0: refused, rows unchanged), or 0 after
 * counting the attempt in both rows as a failure at now_ms.
 */
int64_t cd_login_throttle_take(struct cd_login_fail *pair,
                               struct cd_login_fail *all, int64_t now_ms);

/*
 * Reserves a login attempt of email (normalised) from address (a client
 * address as text, e.g. from cd_ratelimit_address()) in one write job.
 * 0 when it may go on to the password check; -1 with 429 rate_limited
 * (*retry_after_s = seconds to wait, >= 1; the message says which count
 * refused it) or 500 internal_error.
 */
int cd_login_reserve(struct cd_billing *b, const char *email,
                     const char *address, int64_t *retry_after_s,
                     struct cd_error *err);

/* Inside the write job of a successful login: clears the pair and takes
 * the reserved attempt off the email's count. CD_STORE_OK or
 * CD_STORE_ERROR. */
int cd_login_succeeded_tx(struct cd_tx *tx, const char *email,
                          const char *address, int64_t now_ms);

/* Deletes the counts that no longer matter at now_ms (no failure for the
 * longer of CD_LOGIN_FORGET_MS and CD_LOGIN_EMAIL_WINDOW_MS); the hourly
 * purge of billing/jobs.c. CD_STORE_OK or CD_STORE_ERROR. */
int cd_login_purge_tx(struct cd_tx *tx, int64_t now_ms);

/* Wall clock in ms since the epoch (the table's times). */
int64_t cd_login_now_ms(void);

#endif
