/*
 * refunds.h - giving money back: POST /v1/admin/orders/{id}/refund asks
 * Stripe for a refund; the balance changes only when Stripe's events say
 * so (fulfil_int.h: charge.refunded, charge.dispute.created/.closed, in
 * refunds.c).
 *
 * The rules of those events (API-NOTES.md has them for users):
 *  - charge.refunded: the charge's cumulative amount_refunded R is the
 *    truth. With C the credits the order was given and A its amount, the
 *    credits taken back at level R are floor(C * R / A) - so a full refund
 *    takes exactly C - and an event takes only the difference to the
 *    level recorded on the payment (payments.amount_refunded_cents), under
 *    the ledger ref "refund:<charge_id>:<R>", with allow_negative. A stale
 *    event (R not above the recorded level) does nothing. An order never
 *    credited loses nothing but becomes refunded / partially_refunded, so
 *    a late completion cannot credit it.
 *  - charge.dispute.created: the credits still on the payment (C minus
 *    what refunds took) are held back: a debit under
 *    "dispute:<dp_id>:hold", allow_negative; order and payment disputed.
 *  - charge.dispute.closed: won (or warning_closed) gives the hold back
 *    under "dispute:<dp_id>:release" and the order returns to completed /
 *    partially_refunded / refunded (pending if it was never credited);
 *    lost is final (the hold is made then if it never was).
 */
#ifndef CD_BILLING_REFUNDS_H
#define CD_BILLING_REFUNDS_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

struct cd_refund_result {
    char order_id[CD_ID_SZ];
    char refund_id[CD_SID_SZ];
    int64_t amount_cents;
    char status[CD_STATUS_SZ]; /* Stripe's refund status ("succeeded", "pending") */
};

/*
 * Refunds amount_cents (0: all that is left) of order order_id through
 * Stripe (POST /v1/refunds, payment_intent=..., metadata[order_id]) with
 * the Idempotency-Key "refund:<order_id>:<amount_refunded_before>:<amount>"
 * - a retry never refunds twice, a later second partial refund is a new
 * key. What is left is the order's amount less the payment's recorded
 * amount_refunded_cents (updated by charge.refunded). 0 with *out, or -1:
 *   503 stripe_not_configured; 404 order_not_found;
 *   409 order_not_refundable (not completed / partially_refunded, no
 *       payment intent, nothing left);
 *   400 invalid_amount (more than what is left);
 *   502 stripe_error; 500 internal_error.
 */
int cd_refund_create(struct cd_billing *b, const char *order_id,
                     int64_t amount_cents, struct cd_refund_result *out,
                     struct cd_error *err);

/* floor(credits * level / amount) with 128-bit intermediates: the credits
 * a cumulative refund of `level` (0..amount) takes back; 0 when amount <=
 * 0. Exposed for the unit tests. */
int64_t cd_refund_credits_at(int64_t credits, int64_t level, int64_t amount);

#endif
