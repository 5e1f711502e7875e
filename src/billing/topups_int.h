/*
 * topups_int.h - what topups.c shares with payment_intents.c: the pending
 * order of a payment that does not go through Checkout, its PaymentIntent
 * POST and what Stripe's answer does to it. Private to the two.
 */
#ifndef CD_BILLING_TOPUPS_INT_H
#define CD_BILLING_TOPUPS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

/* A new pending order of kind for acct (id NULL or "": random), created
 * now, naming acct's Stripe customer. */
void cd_topup_new_order(struct cd_order *o, const char *id,
                        const struct cd_account *acct, const char *kind,
                        int64_t amount, int64_t credits, const char *currency,
                        const char *description);
/* The PaymentIntent POST for order o (params borrowed), outside any
 * transaction, under the Idempotency-Key "<idem_kind>:<order id>:create"
 * (generation gen > 0: "...:create:r<gen>", topup_lookup.h); a failure
 * other than a decline is recorded on the order (final only when Stripe
 * surely did nothing) and becomes err. 0 with *resp (new), 1 for a
 * decline (*resp holds Stripe's error, new), -1. */
int cd_topup_post_pi(struct cd_billing *b, const struct cd_order *o,
                     const json_t *params, const char *idem_kind, int64_t gen,
                     json_t **resp, struct cd_error *err);
/* Records the PaymentIntent id on the order (its event may be here first:
 * the outcome never moves the order back). 0, or -1 with err. */
int cd_topup_record_pi(struct cd_billing *b, const char *order_id,
                       const char *pi_id, struct cd_error *err);
/* A decline at once: the PaymentIntent rides in Stripe's error (resp).
 * Records the failed order and payment; returns -1 with 402
 * card_declined. */
int cd_topup_declined(struct cd_billing *b, const struct cd_order *o,
                      const json_t *resp, struct cd_error *err);

#endif
