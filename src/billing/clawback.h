/*
 * clawback.h - one figure per order for what refunds and disputes take
 * back. Not an API for other layers: refunds.c, disputes.c, order_credit.c and
 * subscriptions.c call it inside their event jobs.
 *
 * The facts, kept per order by refunds.c and disputes.c:
 *   A  the amount paid (order.amount_cents);
 *   C  the credits the order gave (its fulfilment entry; 0 until then);
 *   R  the amount refunded: max(level - failed, live), within 0..A, where
 *      level is the highest charge.amount_refunded seen, and live / failed
 *      are the order's refunds Stripe reported as pending or succeeded /
 *      as failed or canceled (a failed refund lowers R again);
 *   D  the amount held by disputes: every dispute of the order that is not
 *      won (or warning_closed, prevented) - open and lost ones alike.
 * The target take is T = min(C, floor(C * min(A, R + D) / A)) credits.
 * Every settle moves the order's clawback_credits to T with one ledger
 * entry of the difference (a negative one gives credits back), ref
 * "order:<id>:clawback:<n>", so events in any order, repeated or late,
 * end at the same balance: each applies only the difference, and a late
 * completion (C appears) takes what the earlier facts say.
 *
 * Access. A paid `access` order grants the account access (Account
 * "access") until its clawback is total: clawback_credits reaches the
 * credits it gave, i.e. refunds and disputes not won (open or lost) hold
 * its whole amount. A dispute won, or a refund that fails, moves the take
 * back and access with it. The account's access is its first such order
 * (by completion); store/ reads it with the account (ACCESS_ORDER in
 * records.c), so every settle here is also the grant or the
 * revocation, with no state of its own to keep in step.
 *
 * Worked examples ($10 for 1,000 credits unless said):
 *   $5 refunded, the other $5 disputed and lost, in either order:
 *     R + D = $10 -> T = 1,000 (not 1,500).
 *   A $3 dispute of the $10 charge, lost: T = 300.
 *   $50 for 5,500 credits, $12.50 refunded before the completion: the
 *     refund takes nothing (C = 0); the completion credits 5,500 and the
 *     settle in the same job takes 1,375 -> 4,125 net.
 *   A refund of $4 that later fails: T goes 400 -> 0, 400 come back.
 */
#ifndef CD_BILLING_CLAWBACK_H
#define CD_BILLING_CLAWBACK_H

#include <stdint.h>

#include "billing/billing.h"

/* Credits taken for `taken` of `paid` minor units of an order that gave
 * `credits`: floor(credits * taken / paid), all of them once taken >=
 * paid, 0 for nothing (128-bit intermediate, never overflows). */
int64_t cd_clawback_credits_at(int64_t credits, int64_t taken, int64_t paid);

/* The ledger ref of order o's fulfilment entry: "order:<id>:fulfil", or
 * "invoice:<in_id>" for a subscription period's order. */
void cd_clawback_fulfil_ref(const struct cd_order *o, char *ref,
                            size_t refsz);

/*
 * Inside a write job: reads the facts of order o (as given; changed by the
 * caller in this job), moves its clawback to the target with one ledger
 * entry of kind `kind` ("refund" or "dispute": what changed), sets the
 * status the facts give it (disputed while a dispute holds money,
 * refunded / partially_refunded, else completed once fulfilled - or
 * pending again when facts that arrived before the payment are gone), and
 * writes the order and its payment row (status, amount_refunded_cents).
 * A ledger refusal (account gone, balance limit) is logged and leaves the
 * clawback as it was. CD_STORE_OK or CD_STORE_ERROR.
 */
int cd_clawback_settle_tx(struct cd_tx *tx, struct cd_order *o,
                          const char *kind, int64_t now);

#endif
