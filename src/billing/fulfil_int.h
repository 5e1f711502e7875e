/*
 * fulfil_int.h - what the event handlers of billing/ share (fulfil.c for
 * Checkout sessions, topups.c for PaymentIntents, refunds.c for refunds
 * and disputes). Not an API for other layers: api/ calls fulfil.h,
 * topups.h and refunds.h.
 *
 * Every handler has the shape of fulfil.c: parse and bound the Stripe
 * object, find our order on a read transaction (an object that names no
 * order of ours is answered "ignored" without any write, so its id is not
 * burnt), ask Stripe for details outside any transaction, then one write
 * job that records the event id and applies the effects, each keyed by
 * its own business ref in the ledger.
 */
#ifndef CD_BILLING_FULFIL_INT_H
#define CD_BILLING_FULFIL_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

/* How an order was paid, as far as we know it (all "" when unknown). */
struct cd_paid {
    char pi[CD_SID_SZ];       /* PaymentIntent */
    char charge[CD_SID_SZ];   /* its latest charge */
    char last4[8];            /* card last4 */
    char customer[CD_SID_SZ]; /* Stripe customer that paid */
    int sfu_known;            /* setup_future_usage was readable */
    int sfu_off_session;      /* ... and is "off_session" */
    int64_t period_end;       /* invoice.paid: its period's end; 0 */
};

/* GET /v1/payment_intents/{pi}?expand[]=latest_charge (outside any
 * transaction): fills charge, last4, customer and setup_future_usage of
 * *paid where Stripe tells them; failures only log. paid->pi is set.
 * Only off-session top-ups use it; a Checkout completion never calls
 * Stripe (its card comes with the charge events, charges.h). */
void cd_fulfil_fetch_card(struct cd_billing *b, const char *pi,
                          struct cd_paid *paid);

/* The ledger kind of a fulfilled order kind (access -> purchase, topup,
 * package, payment_intent -> purchase), or NULL. */
const char *cd_fulfil_ledger_kind(const char *order_kind);

/* 1 when an order's status means a refund or dispute came first (or
 * since): a completion must not credit it. */
int cd_fulfil_after_fulfilment(const char *status);

/*
 * Inside a write job: records event_id (may be NULL: nothing recorded).
 * 0 when new (or NULL), 1 when it was seen before (*status set to
 * "duplicate"), CD_STORE_ERROR.
 */
int cd_fulfil_record_event_tx(struct cd_tx *tx, const char *event_id,
                              const char *type, const char **status);

/*
 * Inside a write job: the opening of an event job about one order -
 * records event_id (cd_fulfil_record_event_tx), sets *status "ignored" and
 * reads order_id into *o. 0 with *o read; 1 when the job has nothing more
 * to do (a duplicate event, or no such order: the job returns 0);
 * CD_STORE_ERROR.
 */
int cd_fulfil_open_order_tx(struct cd_tx *tx, const char *event_id,
                            const char *type, const char *order_id,
                            struct cd_order *o, const char **status);

/*
 * Inside a write job: completes order o (already checked against the
 * payment: amount, currency, account) - credits o->credits once under
 * "order:<id>:fulfil", sets it completed, records or updates its payment
 * row from *paid, saves the customer on the account (has_saved_payment_
 * method when setup_future_usage was off_session), counts its discount
 * code and queues the receipt. An order refunded or disputed before the
 * payment was seen (cd_fulfil_after_fulfilment) is credited too and then
 * settled (clawback.h), so it keeps what those facts leave it. *status:
 * "processed" or "ignored". 0 or a store error (the job rolls back).
 * dirty: o was changed and must be written even if nothing else happens.
 */
int cd_fulfil_credit_tx(struct cd_tx *tx, struct cd_order *o,
                        const struct cd_paid *paid, const char *event_id,
                        int dirty, int64_t now, const char **status);

/*
 * Runs the event job fn(arg) with cd_store_write and turns a failure into
 * 500 internal_error (Stripe retries). job_status is the job's answer;
 * on success *status_out = *job_status. 0 or -1.
 */
int cd_fulfil_run_job(struct cd_billing *b, cd_store_job_fn fn, void *arg,
                      const char *event_id, const char *type,
                      const char *const *job_status, const char **status_out,
                      struct cd_error *err);

/* ---- topups.c: payment_intent.* --------------------------------------- */

/*
 * Applies a PaymentIntent object (borrowed) as event `type`
 * (payment_intent.succeeded / .payment_failed); type NULL derives it from
 * the PI's status (reconciliation: succeeded fulfils, canceled fails,
 * anything else changes nothing). Only orders created by POST
 * /v1/topups or /v1/payment_intents (no Checkout session) are acted on; a
 * Checkout order's PaymentIntent is Checkout's business ("ignored", not
 * recorded). event_id may be NULL (nothing recorded).
 */
int cd_fulfil_payment_intent(struct cd_billing *b, const char *event_id,
                             const char *type, const json_t *pi,
                             const char **status_out, struct cd_error *err);

/* ---- refunds.c: charge.refunded, refund.*, charge.refund.updated ------- */

/* charge.refunded: the charge's cumulative amount_refunded (the highest
 * seen is kept) and any refunds it lists, then the order settled
 * (clawback.h). */
int cd_fulfil_charge_refunded(struct cd_billing *b, const char *event_id,
                              const json_t *charge, const char **status_out,
                              struct cd_error *err);
/* refund.created|updated|failed, charge.refund.updated: the Refund object
 * into the order's refund row (status only moves forward), then the order
 * settled - a failed refund gives back what it took. */
int cd_fulfil_refund(struct cd_billing *b, const char *event_id,
                     const char *type, const json_t *refund,
                     const char **status_out, struct cd_error *err);

/* ---- disputes.c: charge.dispute.created|updated|closed ----------------- */

int cd_fulfil_dispute(struct cd_billing *b, const char *event_id,
                      const char *type, const json_t *dispute,
                      const char **status_out, struct cd_error *err);

/* ---- subscriptions.c: customer.subscription.*, invoice.paid ------------ */

/*
 * customer.subscription.created|updated|deleted: when the subscription
 * (borrowed snapshot) is an account's here, re-reads it with GET
 * /v1/subscriptions/{id} outside any transaction and upserts that copy in
 * the job recording event_id. A subscription of no account here (or one
 * Stripe no longer knows) is "ignored" and not recorded. -1 with err:
 * 502 stripe_error (the re-read failed: Stripe delivers again), 503
 * stripe_not_configured, 500 internal_error.
 */
int cd_fulfil_subscription(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *sub,
                           const char **status_out, struct cd_error *err);

/*
 * invoice.paid: credits the plan's credits_per_period once per invoice
 * (ledger kind "subscription", ref "invoice:<in_id>") when
 * cd_subscription_invoice_grants() says so; the account and plan come
 * from the stored subscription, else from the subscription re-read at
 * Stripe (then stored in the same job). Anything else is "ignored" and
 * not recorded. Errors as above.
 */
int cd_fulfil_invoice_paid(struct cd_billing *b, const char *event_id,
                           const json_t *invoice, const char **status_out,
                           struct cd_error *err);

#endif
