/*
 * stripe_call.c - the order-creating POST to Stripe and its error
 * mapping; see stripe_call.h.
 */
#include "billing/stripe_call.h"

int cd_billing_stripe_post(struct cd_billing *b, const char *path,
                           const json_t *params, const char *idem,
                           json_t **resp, int *http, struct cd_error *serr)
{
    cd_error_clear(serr);
    if (http)
        *http = 0;
    if (!params)
        return cd_error_set(serr, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    return cd_stripe_request(b->stripe, "POST", path, params, idem, resp,
                             http, serr);
}

int cd_billing_stripe_error(struct cd_error *err, const struct cd_error *serr)
{
    if (serr->kind == CD_EK_INTERNAL)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Internal error; try again.");
    return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                        "The payment provider could not complete the "
                        "request; try again later.");
}
