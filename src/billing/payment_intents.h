/*
 * payment_intents.h - POST /v1/payment_intents: a PaymentIntent the
 * caller's page confirms with Stripe.js (client_secret), automatic payment
 * methods; same order of work as topups.h, whose payment_intent.* events
 * fulfil it. Nothing is charged until the page confirms, so a re-send
 * after Stripe forgot the Idempotency-Key (past 24 h, which
 * cd_order_open refuses anyway) could only make a second unconfirmed
 * PaymentIntent, never a second charge.
 */
#ifndef CD_BILLING_PAYMENT_INTENTS_H
#define CD_BILLING_PAYMENT_INTENTS_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

/* Stripe's largest charge in a two-decimal currency ($999,999.99): the
 * upper bound of POST /v1/payment_intents. */
#define CD_PI_MAX_CENTS INT64_C(99999999)
#define CD_CLIENT_SECRET_SZ 512

struct cd_pi_req {
    int64_t amount_cents;    /* 1..10^12 checked by the caller */
    const char *currency;    /* NULL: the deployment's */
    const char *description; /* NULL: "<n> credits" */
    const char *order_id; /* derived from an Idempotency-Key; NULL: random */
};

struct cd_pi_result {
    char order_id[CD_ID_SZ];
    char payment_intent_id[CD_SID_SZ];
    char client_secret[CD_CLIENT_SECRET_SZ];
};

/*
 * POST /v1/payment_intents for acct (borrowed): a pending order of kind
 * "payment_intent" (credits = amount) and a PaymentIntent with
 * automatic_payment_methods[enabled]=true, the saved customer when there
 * is one, metadata order_id / account_id / kind. 0 with *out, or -1:
 *   503 stripe_not_configured;
 *   400 invalid_param (currency other than the deployment's, description
 *       too long), amount_below_minimum (< 50), invalid_amount (above
 *       CD_PI_MAX_CENTS);
 *   502 stripe_error (the order fails as for top-ups), 409
 *       idempotency_key_reused, 429 too_many_pending_orders; 500.
 * req->order_id works as for cd_topup_create.
 */
int cd_pi_create(struct cd_billing *b, const struct cd_account *acct,
                 const struct cd_pi_req *req, struct cd_pi_result *out,
                 struct cd_error *err);

#endif
