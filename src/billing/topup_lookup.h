/*
 * topup_lookup.h - an off-session top-up sent again after Stripe may have
 * forgotten its Idempotency-Key.
 *
 * Stripe keeps an Idempotency-Key for at least 24 h after its first use,
 * then "generates a new request if a key is reused" - a second charge
 * when the first one went through but its answer was lost (a timeout, a
 * 5xx) and its webhook never came. So a key is used for at most
 * CD_TOPUP_KEY_LIFE_S (23 h: an hour of margin) after the order was made
 * (the order is committed just before its first send, so its created_at
 * is never later than the first send): generation n of an order's key is
 * used only while (now - created_at) / CD_TOPUP_KEY_LIFE_S == n, so any
 * key is used within 23 h of its own first use. Before a send of
 * generation 1 or later, Stripe is asked whether the order was charged:
 * its customer's PaymentIntents created since the order (less
 * CD_TOPUP_LOOKUP_SKEW_S for clocks) are listed - GET
 * /v1/payment_intents?customer=&created[gte]=, strongly consistent, paged
 * with starting_after (not the search API: eventually consistent) - and
 * matched on metadata.order_id. Found: adopted (topups.h
 * cd_topup_resume), nothing sent. Not found: sent under the new key.
 * Nothing new is stored: the generation follows from created_at and the
 * clock.
 */
#ifndef CD_BILLING_TOPUP_LOOKUP_H
#define CD_BILLING_TOPUP_LOOKUP_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_TOPUP_KEY_LIFE_S (23 * 3600)
#define CD_TOPUP_LOOKUP_SKEW_S 3600
#define CD_TOPUP_LOOKUP_PAGE 100
#define CD_TOPUP_LOOKUP_MAX_PAGES 50 /* 5,000 PaymentIntents since */

/* The key generation of a send at now for an order created at
 * created_at: 0 (the first key, no look-up) before CD_TOPUP_KEY_LIFE_S,
 * then (now - created_at) / CD_TOPUP_KEY_LIFE_S. A clock behind
 * created_at gives 0. */
int64_t cd_topup_key_gen(int64_t created_at, int64_t now);

/*
 * The PaymentIntent of order_id at Stripe, among customer's created since
 * created_at - CD_TOPUP_LOOKUP_SKEW_S: a succeeded one first, else the
 * newest. 0 with *pi (new reference), 1 when there is none, or -1 with
 * err: 502 stripe_error (Stripe failed, or more than
 * CD_TOPUP_LOOKUP_MAX_PAGES pages: not sure, so nothing may be sent).
 */
int cd_topup_lookup(struct cd_billing *b, const char *customer,
                    const char *order_id, int64_t created_at, json_t **pi,
                    struct cd_error *err);

#endif
