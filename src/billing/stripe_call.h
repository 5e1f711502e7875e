/*
 * stripe_call.h - the POST to Stripe that checkout.c, topups.c and
 * refunds.c make for an order outside any transaction, and how its
 * failure reaches the API. Not an API for other layers.
 */
#ifndef CD_BILLING_STRIPE_CALL_H
#define CD_BILLING_STRIPE_CALL_H

#include <jansson.h>

#include "billing/billing.h"
#include "util/error.h"

/*
 * Clears *serr and POSTs params (borrowed) to path with idempotency key
 * idem. params NULL means building them ran out of memory: serr becomes
 * 500 internal_error "Out of memory." and nothing is sent. 0 with *resp
 * (new), or -1 with *serr set (*resp may then hold Stripe's error body,
 * new) and *http Stripe's status (0: no answer; may be NULL).
 */
int cd_billing_stripe_post(struct cd_billing *b, const char *path,
                           const json_t *params, const char *idem,
                           json_t **resp, int *http, struct cd_error *serr);

/*
 * The API error of a failed Stripe call, for the customer: an internal
 * failure stays 500 internal_error, anything else is 502 stripe_error
 * with a generic message - Stripe's own text (addresses, masked keys,
 * request details) goes to the log and the order's failure_reason, never
 * to the client. Returns -1.
 */
int cd_billing_stripe_error(struct cd_error *err,
                            const struct cd_error *serr);

#endif
