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

/*
 * The payment of an existing top-up order o (read by the caller; its
 * customer is the one charged): the answer from the order when its
 * PaymentIntent is known; else sent (again) under the Idempotency-Key
 * of generation cd_topup_key_gen(o->created_at, now) - and, from
 * generation 1 on (Stripe may have forgotten the first key), only after
 * cd_topup_lookup found no PaymentIntent of the order at Stripe; one it
 * finds is adopted instead: stored on the order and applied as its event
 * would (succeeded credits once, canceled or needing another card fails
 * the order as a decline). Answers as cd_topup_create. cd_topup_create
 * calls it for a retried request (within 24 h: order_open.h); the auto
 * top-up worker for its attempt's order, at any age.
 */
int cd_topup_resume(struct cd_billing *b, const struct cd_account *acct,
                    const struct cd_order *o, struct cd_topup_result *out,
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
