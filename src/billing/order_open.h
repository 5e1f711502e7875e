/*
 * order_open.h - the first half of every purchase that pays through
 * Stripe (Checkout, off-session top-ups, PaymentIntents): the pending
 * order, committed before Stripe is called, and what Stripe's answer does
 * to it. Not an API for other layers.
 *
 * A retried request finds its first attempt's order: with an
 * Idempotency-Key the order id is derived from the key
 * (cd_idem_effect_id), the insert meets the existing row, and the caller
 * calls Stripe again under the same Stripe Idempotency-Key - Stripe
 * answers with the object it made the first time, so a card is never
 * charged twice and a checkout never opens two sessions.
 *
 * A Stripe failure fails the order only when Stripe surely did nothing
 * (cd_stripe_failure_is_final); after a timeout, a 5xx, a 409 or a 429
 * Stripe may have acted, so the order stays pending (its reason noted):
 * its webhook, reconciliation or the client's retry settles it.
 */
#ifndef CD_BILLING_ORDER_OPEN_H
#define CD_BILLING_ORDER_OPEN_H

#include "billing/billing.h"
#include "util/error.h"

/* CD_CHECKOUT_EXPIRES_DEFAULT, CD_CHECKOUT_EXPIRY_GRACE_S: billing.h. */
#define CD_MAX_PENDING_ORDERS_DEFAULT 20

/* Runs in the insert job before a new order is inserted (never for an
 * existing one): 0 to go on, or a code >= CD_ORDER_GUARD_MIN that
 * cd_order_open() returns unchanged (nothing is written). */
#define CD_ORDER_GUARD_MIN 100
typedef int (*cd_order_guard_fn)(struct cd_tx *tx, const struct cd_order *o,
                                 void *arg);

/*
 * Inserts *o (pending), or, when an order with o->id exists, reads it into
 * *o and sets *existed. The existing order must be the same purchase
 * (account, kind, amount, credits, item) created within the last 24 h,
 * else 409 idempotency_key_reused. A new order is refused with 429
 * too_many_pending_orders (Retry-After) when the account already has
 * max_pending_orders pending. An order naming a discount code is
 * inserted by the store's guarded reservation (cd_store_order_insert_
 * reserving), which may refuse it even after the guard passed (another
 * node took the last use): then CD_ORDER_DISCOUNT_REFUSED, nothing
 * written. Returns 0, -1 with err, CD_ORDER_DISCOUNT_REFUSED, or the
 * guard's code.
 */
#define CD_ORDER_DISCOUNT_REFUSED 99
int cd_order_open(struct cd_billing *b, struct cd_order *o,
                  cd_order_guard_fn guard, void *garg, int *existed,
                  struct cd_error *err);

/* Stripe's answer about an order's Stripe object. */
struct cd_order_outcome {
    const char *session_id; /* the Checkout session made, or NULL */
    const char *pi;         /* the PaymentIntent made (or failed), or NULL */
    const char *charge;     /* a failed PaymentIntent's charge, or NULL */
    const char *failure;    /* a reason: the Stripe call failed, or NULL */
    int final;              /* with failure: Stripe surely did nothing */
};

/*
 * One write job: stores the session / PaymentIntent id on the order (when
 * it has none), and for a failure notes the reason; a final failure of a
 * pending order makes it failed, with a failed payment row when a
 * PaymentIntent was made. An order an event already moved on (completed,
 * refunded, ...) keeps its status. CD_STORE_OK or the store's error
 * (logged).
 */
int cd_order_record_outcome(struct cd_billing *b, const char *order_id,
                            const struct cd_order_outcome *out);

/* Whether a Stripe call that failed with this HTTP status (0: no answer)
 * surely did nothing: a 4xx other than 409 and 429. */
int cd_stripe_failure_is_final(int http_status);

/* The failed payment row of an order (not yet inserted): what the buyer
 * sees in the payment history for a refused or failed payment. */
void cd_order_failed_payment(const struct cd_order *o, const char *pi,
                             const char *charge, const char *reason,
                             int64_t now, struct cd_payment *p);

#endif
