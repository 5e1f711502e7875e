/*
 * charges.h - finding our order from a Stripe charge, PaymentIntent or
 * refund/dispute that names one, and the order's payment row for the
 * events about its charge (refunds.c, disputes.c). Not an API for other
 * layers.
 *
 * The order of a charge (a read transaction): the payment row by charge
 * id, else by PaymentIntent, else the order holding the PaymentIntent,
 * else the order in metadata.order_id (only a hint: its PaymentIntent,
 * when it has one, must match). When none answers - the event came before
 * anything else we know of the payment - the PaymentIntent's metadata is
 * asked of Stripe (outside any transaction). An object naming no order
 * here is "ignored" without a write; a failed Stripe lookup is a 502, so
 * Stripe delivers again.
 */
#ifndef CD_BILLING_CHARGES_H
#define CD_BILLING_CHARGES_H

#include <stdint.h>

#include <jansson.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * Fills order_id (CD_ID_SZ) with the order of this charge / PaymentIntent
 * (either may be ""; meta_order: the object's metadata.order_id or "").
 * 0; 1 when no order here is named; -1 with err (500 store, 502 Stripe).
 */
int cd_charge_locate_order(struct cd_billing *b, const char *charge,
                           const char *pi, const char *meta_order,
                           char *order_id, struct cd_error *err);

/*
 * Inside a write job: the order's payment row with the PaymentIntent and
 * charge filled in where it had none, or - when the payment is older than
 * anything we recorded of it - a new succeeded row, not yet inserted
 * (*is_new; cd_charge_payment_save() writes either).
 */
int cd_charge_payment_for(struct cd_tx *tx, const struct cd_order *o,
                          const char *pi, const char *charge, int64_t now,
                          struct cd_payment *p, int *is_new);
int cd_charge_payment_save(struct cd_tx *tx, const struct cd_payment *p,
                           int is_new);

/*
 * charge.succeeded / charge.updated: the card's last4 (and the charge id)
 * from payment_method_details.card, which Stripe sends anyway - the
 * webhook never asks Stripe for it. One write job, database only: kept by
 * PaymentIntent (charge_cards) for a completion still to come, and
 * written on the payment row now when the row exists and lacks it; the
 * completion takes it from charge_cards (cd_charge_card_for), so either
 * order ends with the last4 on the row. Idempotent, so the event id is not
 * recorded. *status_out "processed", or "ignored" when the charge names no
 * PaymentIntent or card, or has not succeeded (a declined attempt of the
 * same PaymentIntent); -1 with err 500 when the store failed.
 */
int cd_charge_on_charge(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err);
/* The same, prepared (event_outcome.h, cd_event_prep_fn): one write job
 * and no read first, so the webhook submits it. */
int cd_charge_prep_charge(struct cd_billing *b, const char *event_id,
                          const char *type, const json_t *obj,
                          struct cd_event_job *job, const char **status_out,
                          struct cd_error *err);

/*
 * The PaymentIntent that paid an invoice (pi: CD_SID_SZ), so that a
 * renewal's payment row meets its card in charge_cards whichever of
 * charge.succeeded and invoice.paid comes first: from the payload when it
 * carries one (expanded payments, or an older API version's
 * payment_intent). Never asks Stripe - the webhook's reply depends on the
 * database only. 0 with pi; 1 (pi "") when the payload names none.
 */
int cd_charge_invoice_pi(const json_t *invoice, char *pi);

/* Inside a write job: when pi is "", the PaymentIntent an earlier
 * invoice_payment.paid named for invoice_id (invoice_payments, 027), if
 * any. CD_STORE_OK or CD_STORE_ERROR. */
int cd_charge_invoice_pi_tx(struct cd_tx *tx, const char *invoice_id,
                            char *pi);

/*
 * invoice_payment.paid: the PaymentIntent that paid an invoice (Stripe
 * sends it for every paid invoice; an Invoice names none since basil).
 * One write job, database only: the event id recorded, the link kept
 * (invoice_payments) for an invoice.paid still to come, and the period's
 * order and payment row given the PaymentIntent - and the card a charge
 * event kept for it - where they have none. "processed"; "ignored" (not
 * recorded) when it is not paid or names no invoice or PaymentIntent.
 */
int cd_charge_on_invoice_payment(struct cd_billing *b, const char *event_id,
                                 const char *type, const json_t *obj,
                                 const char **status_out,
                                 struct cd_error *err);

/*
 * For a request that needs it now (an admin refund; never the webhook):
 * the PaymentIntent of invoice_id asked of Stripe (GET
 * /v1/invoice_payments?invoice=&status=paid, outside any transaction)
 * and written as invoice_payment.paid would. 0 written; 1 Stripe knows
 * none (or is not configured); -1 Stripe or the store failed.
 */
int cd_charge_invoice_pi_ask(struct cd_billing *b, const char *invoice_id);

/* Inside a write job: fills paid's last4 and charge (where empty) from
 * what a charge event kept for its PaymentIntent. CD_STORE_OK when there
 * was nothing to find. */
struct cd_paid;
int cd_charge_card_for(struct cd_tx *tx, struct cd_paid *paid);

#endif
