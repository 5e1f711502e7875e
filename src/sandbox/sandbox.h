/*
 * sandbox.h - the Stripe sandbox: a stateful, in-memory emulator of the
 * part of Stripe's API that creditd uses (`creditd sandbox`, `creditd
 * demo`, and the tests).
 *
 * It speaks Stripe's wire format (form-encoded requests, Stripe JSON
 * objects, Stripe's error shape, Idempotency-Key), serves a hosted checkout
 * page at each session's url, and delivers signed webhooks from a
 * background thread with retries. It listens on loopback only, answers
 * only requests addressed to a loopback Host and refuses changes asked
 * from another Origin (guard.c). The routes, including the test-only
 * /_sandbox/... control endpoints, are listed atop sandbox.c.
 */
#ifndef CD_SANDBOX_SANDBOX_H
#define CD_SANDBOX_SANDBOX_H

#include "util/error.h"

struct cd_sandbox_config {
    const char *listen;         /* "127.0.0.1:12111"; port 0 picks one */
    const char *webhook_url;    /* NULL: deliver nothing */
    const char *webhook_secret; /* "whsec_..."; required with webhook_url */
    const char *public_url;     /* base of checkout page urls;
                                   NULL: http://<listen> */
    long delivery_delay_ms;     /* delay before each webhook delivery
                                   (test switch), default 0 */
    const char *account_name;   /* the merchant the checkout page names
                                   (Stripe's account display name);
                                   NULL or "": none */
    int allow_non_loopback;     /* SANDBOX_ALLOW_NON_LOOPBACK: listen
                                   anywhere, and let in public_url's Host */
};

struct cd_sandbox;

/*
 * Starts the sandbox (HTTP server + delivery thread). The config strings
 * are copied. Returns NULL with err filled when the listen address is not
 * a loopback address (unless allow_non_loopback), cannot be bound, or the
 * config is inconsistent.
 */
struct cd_sandbox *cd_sandbox_start(const struct cd_sandbox_config *c,
                                    struct cd_error *err);

/* The port actually bound (useful with port 0). */
int cd_sandbox_port(const struct cd_sandbox *s);

/* Stops the server and the delivery thread (queued deliveries are
 * dropped) and frees everything. NULL is a no-op. */
void cd_sandbox_stop(struct cd_sandbox *s);

#endif
