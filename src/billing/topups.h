/*
 * topups.h - payments that do not go through Checkout:
 *
 *  - POST /v1/topups: charges the account's saved card off-session
 *    (PaymentIntent with off_session=true, confirm=true);
 *  - POST /v1/payment_intents: a PaymentIntent the caller's page confirms
 *    with Stripe.js (client_secret), automatic payment methods.
 *
 * Same order of work as checkout.c: every check that can refuse runs
 * first, the pending order is committed before Stripe is called, Stripe is
 * called outside any transaction with an Idempotency-Key derived from the
 * order id ("topup:<order_id>:create", "payment_intent:<order_id>:create"),
 * and the PaymentIntent id is stored on the order by a second write.
 * Nothing here credits: payment_intent.succeeded does (below,
 * cd_topup_on_payment_intent), under the same ledger ref as Checkout,
 * "order:<order_id>:fulfil".
 */
#ifndef CD_BILLING_TOPUPS_H
#define CD_BILLING_TOPUPS_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/* Stripe's largest charge in a two-decimal currency ($999,999.99): the
 * upper bound of POST /v1/payment_intents. */
#define CD_PI_MAX_CENTS INT64_C(99999999)
#define CD_CLIENT_SECRET_SZ 512

struct cd_topup_result {
    char order_id[CD_ID_SZ];
    char payment_intent_id[CD_SID_SZ];
    char status[CD_STATUS_SZ]; /* "processing" */
};

/*
 * POST /v1/topups for acct (borrowed): amount_cents follows the checkout
 * top-up rules (cfg topup min/max/step). order_id: the order's id, derived
 * from the request's Idempotency-Key so a retry finds the first attempt's
 * order and sends Stripe the same key (order_open.h); NULL: random.
 * Returns 0 with *out, or -1 with err:
 *   503 stripe_not_configured;
 *   400 invalid_amount;
 *   409 no_saved_payment_method - no saved customer, no saved card flag,
 *       or Stripe lists no card for the customer (nothing written);
 *   402 card_declined - Stripe refused the card at once: the order is
 *       failed, a failed payment row carries the reason, the message
 *       names Stripe's decline code;
 *   502 stripe_error - Stripe failed otherwise (the order fails only when
 *       Stripe surely did nothing; else it stays pending for its webhook,
 *       reconciliation or the retry);
 *   409 idempotency_key_reused, 429 too_many_pending_orders (order_open.h);
 *   500 internal_error.
 */
int cd_topup_create(struct cd_billing *b, const struct cd_account *acct,
                    int64_t amount_cents, const char *order_id,
                    struct cd_topup_result *out, struct cd_error *err);

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

/*
 * Applies a PaymentIntent object (borrowed) as event `type`
 * (payment_intent.succeeded / .payment_failed); type NULL derives it from
 * the PI's status (reconciliation: succeeded fulfils, canceled fails,
 * anything else changes nothing). Only orders created by POST
 * /v1/topups or /v1/payment_intents (no Checkout session) are acted on; a
 * Checkout order's PaymentIntent is Checkout's business ("ignored", not
 * recorded). event_id may be NULL (nothing recorded).
 */
int cd_topup_on_payment_intent(struct cd_billing *b, const char *event_id,
                               const char *type, const json_t *pi,
                               const char **status_out, struct cd_error *err);

#endif
