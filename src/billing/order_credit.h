/*
 * order_credit.h - what the Stripe event handlers of billing/ share: open
 * the order and record the event, credit a paid order, run the event's
 * job (checkout_session.c, topups.c, refunds.c, disputes.c,
 * subscriptions.c, charges.c call it; it calls none of them). Not an API
 * for other layers: api/ calls events.h.
 *
 * Every handler has the shape of checkout_session.c: parse and bound the Stripe
 * object, find our order on a read transaction (an object that names no
 * order of ours is answered "ignored" without any write, so its id is not
 * burnt), ask Stripe for details outside any transaction, then one write
 * job that records the event id and applies the effects, each keyed by
 * its own business ref in the ledger.
 */
#ifndef CD_BILLING_ORDER_CREDIT_H
#define CD_BILLING_ORDER_CREDIT_H

#include <stdint.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * Inside a write job: records event_id (may be NULL: nothing recorded).
 * 0 when new (or NULL), 1 when it was seen before (*status set to
 * "duplicate"), CD_STORE_ERROR.
 */
int cd_order_event_record_tx(struct cd_tx *tx, const char *event_id,
                             const char *type, const char **status);

/*
 * Inside a write job: the opening of an event job about one order -
 * records event_id (cd_order_event_record_tx), sets *status "ignored" and
 * reads order_id into *o. 0 with *o read; 1 when the job has nothing more
 * to do (a duplicate event, or no such order: the job returns 0);
 * CD_STORE_ERROR.
 */
int cd_order_event_open_tx(struct cd_tx *tx, const char *event_id,
                           const char *type, const char *order_id,
                           struct cd_order *o, const char **status);

/* Inside a write job: the payment row of a paid order - inserted, or a
 * pending/failed one brought up to date (the card from a charge event
 * that came first, charges.h). A succeeded row stays. CD_STORE_OK or a
 * store error. */
int cd_order_payment_tx(struct cd_tx *tx, const struct cd_order *o,
                        const struct cd_paid *c, int64_t now);

/* Inside a write job: the customer Stripe used for this payment, on the
 * account (has_saved_payment_method when the card was saved for
 * off-session use; a customer of another account is not linked).
 * CD_STORE_OK or a store error. */
int cd_order_save_customer_tx(struct cd_tx *tx, const struct cd_order *o,
                              const struct cd_paid *c);

/*
 * Inside a write job: completes order o (already checked against the
 * payment: amount, currency, account) - credits o->credits once under
 * "order:<id>:fulfil", sets it completed, records or updates its payment
 * row from *paid, saves the customer on the account (has_saved_payment_
 * method when setup_future_usage was off_session), counts its discount
 * code and queues the receipt. An order refunded or disputed before the
 * payment was seen (cd_order_after_fulfilment) is credited too and then
 * settled (clawback.h), so it keeps what those facts leave it. *status:
 * "processed" or "ignored". 0 or a store error (the job rolls back).
 * dirty: o was changed and must be written even if nothing else happens.
 */
int cd_order_credit_tx(struct cd_tx *tx, struct cd_order *o,
                       const struct cd_paid *paid, const char *event_id,
                       int dirty, int64_t now, const char **status);

/*
 * Runs the event job fn(arg) with cd_store_write and turns a failure into
 * 500 internal_error (Stripe retries). job_status is the job's answer;
 * on success *status_out = *job_status. 0 or -1.
 */
int cd_order_event_run(struct cd_billing *b, cd_store_job_fn fn, void *arg,
                       const char *event_id, const char *type,
                       const char *const *job_status, const char **status_out,
                       struct cd_error *err);
/* cd_order_event_run on the store writer of key (the account the event
 * credits, as cd_store_write_keyed; NULL or "": none). */
int cd_order_event_run_keyed(struct cd_billing *b, const char *key,
                             cd_store_job_fn fn, void *arg,
                             const char *event_id, const char *type,
                             const char *const *job_status,
                             const char **status_out, struct cd_error *err);

/* cd_order_event_run's answer for a job already run (by cd_store_write,
 * or submitted: rc is what its completion got). 0 or -1. */
int cd_order_event_outcome(int rc, const char *event_id, const char *type,
                           const char *const *job_status,
                           const char **status_out, struct cd_error *err);

#endif
