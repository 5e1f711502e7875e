/*
 * ratelimit.h - fixed-window counters in memory, for the auth endpoints:
 * requests per client address on signup and login, and failed logins per
 * email (so one account's password cannot be guessed online faster than
 * CD_RL_LOGIN_FAILS per window, whatever the addresses).
 *
 * The table has a fixed size. When it is full, the oldest window is
 * evicted, so memory is bounded and the limits are at worst lenient, never
 * stricter than configured. It is per process: with several nodes each
 * enforces its own limit.
 */
#ifndef CD_API_RATELIMIT_H
#define CD_API_RATELIMIT_H

#include <stdint.h>

#define CD_RL_LOGIN_FAILS 10      /* failed logins per email ... */
#define CD_RL_LOGIN_WINDOW 900    /* ... per 15 minutes */
#define CD_RL_IP_WINDOW 60        /* per-address limits count per minute */

/*
 * Counts one event for key in a window of window_s seconds. Returns 0 if
 * the count is still within limit, else the seconds until the window
 * ends (for Retry-After) - the event is then not counted.
 */
int64_t cd_ratelimit_hit(const char *key, int64_t limit, int64_t window_s,
                         int64_t now);

/* Like cd_ratelimit_hit but only looks: nothing is counted. */
int64_t cd_ratelimit_peek(const char *key, int64_t limit, int64_t window_s,
                          int64_t now);

/* Forgets key (after a successful login, the email's failures). */
void cd_ratelimit_reset(const char *key);

#endif
