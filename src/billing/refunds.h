/*
 * refunds.h - giving money back: POST /v1/admin/orders/{id}/refund asks
 * Stripe for a refund, and the refund events (charge.refunded, refund.*,
 * charge.refund.updated; declared below) keep each refund's state. What a
 * refund takes from the balance is decided by clawback.h from the order's
 * facts, one figure per order with disputes (API-NOTES.md has the rules
 * for users).
 *
 * A refund creditd asks for is a row of its own before Stripe is called
 * (id "rfd_...", status "requested"), carrying the Stripe Idempotency-Key
 * "refund:<rfd_id>" and metadata[refund_id]; with an Idempotency-Key on
 * the request its id is derived from that key, so a retry - after a
 * crash, a 5xx, whatever the webhooks did meanwhile - finds the first
 * attempt's row and asks Stripe again under the same key: one request,
 * one refund.
 */
#ifndef CD_BILLING_REFUNDS_H
#define CD_BILLING_REFUNDS_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/* A retried refund is asked of Stripe again under its first
 * Idempotency-Key ("refund:<refund id>") for at most this long after its
 * row (written just before its first send): Stripe keeps a key at least
 * 24 h and then makes a new refund for it, so an hour of margin for the
 * clocks; later, the retry is 409 idempotency_key_reused (its webhook or
 * reconciliation tells what Stripe did). See topup_lookup.h for the
 * top-ups' look-up instead. */
#define CD_REFUND_RESEND_S (23 * 3600)

struct cd_refund_result {
    char order_id[CD_ID_SZ];
    char refund_id[CD_SID_SZ]; /* Stripe's "re_..." */
    int64_t amount_cents;
    char status
        [CD_STATUS_SZ]; /* Stripe's refund status ("succeeded", "pending") */
};

/*
 * Refunds amount_cents (0: all that is left) of order order_id through
 * Stripe (POST /v1/refunds, payment_intent=..., metadata order_id and
 * refund_id). refund_id: "rfd_..." derived from the request's
 * Idempotency-Key, or NULL for a new one. What is left is the order's
 * amount less the larger of the refunded level Stripe reported and the
 * refunds asked for and not failed. Stripe's answer is recorded on the
 * refund and settled on the order at once (clawback.h). 0 with *out, or
 * -1:
 *   503 stripe_not_configured; 404 order_not_found;
 *   409 order_not_refundable (not completed / partially_refunded, no
 *       payment intent, nothing left);
 *   400 invalid_amount (more than what is left);
 *   409 idempotency_key_reused (the key's refund is another one, or
 *       was first asked CD_REFUND_RESEND_S ago or more);
 *   502 stripe_error (the refund stays "requested" unless Stripe surely
 *       refused it); 500 internal_error.
 */
int cd_refund_create(struct cd_billing *b, const char *order_id,
                     int64_t amount_cents, const char *refund_id,
                     struct cd_refund_result *out, struct cd_error *err);

/* charge.refunded: the charge's cumulative amount_refunded (the highest
 * seen is kept) and any refunds it lists, then the order settled
 * (clawback.h). */
int cd_refund_on_charge_refunded(struct cd_billing *b, const char *event_id,
                                 const json_t *charge,
                                 const char **status_out,
                                 struct cd_error *err);
/* refund.created|updated|failed, charge.refund.updated: the Refund object
 * into the order's refund row (status only moves forward), then the order
 * settled - a failed refund gives back what it took. */
int cd_refund_on_refund(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *refund,
                        const char **status_out, struct cd_error *err);

#endif
