/*
 * client.h - the Stripe API client (libcurl).
 *
 * Bearer auth with the secret key, a pinned Stripe-Version, form-encoded
 * POST bodies, an Idempotency-Key on every POST (the caller derives it from
 * its own order id and action, so a retry can never create a second
 * object), connect and total timeouts, and retries with exponential backoff
 * and jitter on network errors, timeouts, 409 and 5xx (not 429 or other
 * 4xx, as in stripe-node); the Stripe-Should-Retry header overrides
 * ("false": never, "true": always). Never call it inside a database
 * transaction. Thread-safe: each call uses its own easy handle.
 */
#ifndef CD_STRIPE_CLIENT_H
#define CD_STRIPE_CLIENT_H

#include <jansson.h>

#include "util/error.h"

#define CD_STRIPE_API_VERSION "2026-07-29.dahlia"

struct cd_stripe_config {
    const char *api_base;    /* "https://api.stripe.com", no trailing '/' */
    const char *secret_key;  /* "sk_test_..." / "sk_live_..." */
    long connect_timeout_ms; /* default 5000 */
    long timeout_ms;         /* total per attempt, default 30000 */
    int max_retries;         /* 0: default 2; < 0: none; at most 10 */
    long retry_base_ms;      /* first backoff, default 500; tests use less */
    long retry_max_ms;       /* cap, default 5000 */
};

struct cd_stripe_client;

/* New client (copies the strings), or NULL. */
struct cd_stripe_client *
cd_stripe_client_new(const struct cd_stripe_config *c);
void cd_stripe_client_free(struct cd_stripe_client *c);

/*
 * Performs one logical request. method is "GET" or "POST"; path starts with
 * "/v1/...". params (may be NULL) is form-encoded as the body for POST or
 * the query for GET. idempotency_key is required for POST (1..255 chars).
 *
 * On success (2xx) returns 0 and *out is the parsed JSON body (new
 * reference). On failure returns -1 and err is filled; *out is Stripe's
 * parsed error body ({"error":{...}}, new reference) when it sent JSON,
 * else NULL:
 *   - Stripe answered 4xx/5xx: kind CD_EK_UPSTREAM (or CD_EK_PAYMENT for a
 *     402 card_error), code "stripe_error" (or Stripe's code for a card
 *     error, e.g. "card_declined"), message "Stripe: <Stripe's message>"
 *     plus the decline code when there is one;
 *   - network failure or timeout after the retries: CD_EK_UPSTREAM,
 *     "stripe_error", "Stripe unreachable: ...".
 * *http_status (may be NULL) receives the last HTTP status (0: none).
 */
int cd_stripe_request(struct cd_stripe_client *c, const char *method,
                      const char *path, const json_t *params,
                      const char *idempotency_key, json_t **out,
                      int *http_status, struct cd_error *err);

#endif
