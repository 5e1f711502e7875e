/*
 * billing_portal.h - POST /v1/billing_portal: a Stripe Billing Portal
 * session for the account's Stripe customer (Stripe's POST
 * /v1/billing_portal/sessions), where the buyer changes their card or
 * cancels; creditd learns of either through the usual events.
 */
#ifndef CD_BILLING_BILLING_PORTAL_H
#define CD_BILLING_BILLING_PORTAL_H

#include <stddef.h>

#include "billing/billing.h"
#include "store/store.h"

#define CD_BILLING_PORTAL_URL_SZ 1024

/*
 * Creates the session for account a (borrowed) and copies its url into
 * url. return_url: "" or NULL is CREDITD_BASE_URL + "/dashboard";
 * otherwise an absolute http(s) URL on an allowed origin (400
 * redirect_not_allowed). idem: the request's effect id or NULL (the
 * Stripe Idempotency-Key is "billing_portal:<idem>", else random).
 * 0, or -1 with err: 409 no_stripe_customer (the account never paid
 * through Stripe), 503 stripe_not_configured, 502 stripe_error.
 */
int cd_billing_portal_create(struct cd_billing *b, const struct cd_account *a,
                             const char *return_url, const char *idem,
                             char *url, size_t urlsz, struct cd_error *err);

#endif
