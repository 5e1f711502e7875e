/*
 * ratelimit.h - request-rate limits: signup and login requests per client
 * address, payment-creating requests per account, discount code guesses
 * per account and per address. The routes' limits (cd_api_limit_*) count
 * in the database, where every node sees them (billing/rate_limits.h), so
 * N nodes do not multiply a cap. (Failed logins are counted apart, also
 * in the database: billing/login_throttle.h.)
 *
 * cd_ratelimit_* below is the same rule kept in this process's memory: the
 * routes use it as a pre-filter that is never stricter than the database
 * (it counts only what the database let through, and waits after a
 * refusal as long as the database said), so a flood of refused requests
 * costs no write job.
 *
 * Each key is a GCRA bucket ("generic cell rate algorithm": a token bucket
 * kept as one time stamp). Up to `limit` requests may come at once, then
 * one more every window/limit, so the steady rate is `limit` a window and
 * an idle key has its whole burst again after one window. A refused
 * request is not counted.
 *
 * The table has a fixed size. When it is full, the slot that refills
 * soonest is taken over, so memory is bounded and the limits are at worst
 * lenient, never stricter than configured. It is per process.
 */
#ifndef CD_API_RATELIMIT_H
#define CD_API_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define CD_RL_WINDOW 60 /* the limits are "N a minute" */

/*
 * Counts one request for key against `limit` per window_s seconds at
 * now_ms (a monotonic clock in ms, e.g. cd_mono_us() / 1000). Returns 0
 * when it may go (counted), else the whole seconds until it would (>= 1,
 * for Retry-After; not counted). limit <= 0 never limits.
 */
int64_t cd_ratelimit_take(const char *key, int64_t limit, int64_t window_s,
                          int64_t now_ms);

/* Like cd_ratelimit_take without counting: the whole seconds the next
 * request would wait (0: it may go). Adds no slot. */
int64_t cd_ratelimit_peek(const char *key, int64_t limit, int64_t window_s,
                          int64_t now_ms);

/* Makes key wait at least wait_ms (<= window) from now_ms: afterwards the
 * bucket is as full as one that must wait that long. */
void cd_ratelimit_raise(const char *key, int64_t limit, int64_t window_s,
                        int64_t now_ms, int64_t wait_ms);

/* Empties the table (tests). */
void cd_ratelimit_clear(void);

/*
 * The key a client address counts under, from its text form (out, outsz
 * >= 64): an IPv4 address as is, an IPv6 one as its /64 ("2001:db8::/64";
 * one host usually owns a whole /64), an IPv4-mapped IPv6 address as the
 * IPv4 one. Anything else is copied (cut to fit). Defined in proxy.c,
 * beside the client's address (ratelimit.c calls proxy.c, not back).
 */
void cd_ratelimit_address(const char *peer, char *out, size_t outsz);

/* ---- the limits of the routes (they read struct cd_app) ----------------- */

struct cd_req;

/* The request's client address as a limit key (cd_ratelimit_address()):
 * the peer, or behind CREDITD_TRUSTED_PROXIES the address they forward
 * (proxy.c). */
void cd_api_client_address(struct cd_req *req, char *out, size_t outsz);

/* Replies 429 rate_limited with Retry-After: wait_s and a message saying
 * `what`. */
void cd_api_reply_limited(struct cd_req *req, int64_t wait_s,
                          const char *what);

/*
 * Each takes one request from its limit, or replies 429 and returns -1:
 *  - auth: `what` ("signup" or "login") requests per client address,
 *    app->auth_rate_limit a minute;
 *  - payment: POST /v1/checkout, /v1/topups and /v1/payment_intents
 *    together, app->checkout_rate_limit a minute per account;
 *  - discount: a discount code tried (validate, or a checkout carrying
 *    one), app->discount_rate_limit a minute per account and per client
 *    address (the account's first: a request it refuses is not counted
 *    against the address).
 * Requests made with the server key (the operator's own backend) are
 * limited by neither payment nor discount. A limit of 0 is off.
 */
int cd_api_limit_auth(struct cd_req *req, const char *what);
int cd_api_limit_payment(struct cd_req *req);
int cd_api_limit_discount(struct cd_req *req);

#endif
