/*
 * events.h - Stripe events are domain input: this is where a verified
 * webhook (or an event reconciliation fetched from Stripe) becomes an
 * order completed, credits in the ledger, a payment row, a saved customer.
 *
 * Exactly-once: the event id is recorded in the same write job as its
 * effects (a repeat is "duplicate" and changes nothing), and the credit
 * itself is keyed "order:<order_id>:fulfil" in the ledger, so two different
 * events for one session (or an event and reconciliation) credit once.
 * Stripe is only ever called before that job, never inside it.
 *
 * The types acted on, one table in events.c: checkout.session.*
 * (checkout_session.c; a subscription-mode session's completion completes
 * its order but credits nothing), payment_intent.succeeded /
 * .payment_failed (topups.c), charge.succeeded / .updated (charges.c),
 * charge.refunded, refund.* and charge.refund.updated (refunds.c),
 * charge.dispute.created / .updated / .closed (disputes.c),
 * customer.subscription.created / .updated / .deleted and invoice.paid
 * (subscriptions.c). What they share is order_credit.c. Any other type - and a
 * handled type whose object names no order of ours - answers "ignored"
 * without a write, so its id stays free for a version that handles it.
 * A paid order the ledger refuses to credit (balance past +-2^62, account
 * gone) is recorded, stays pending with failure_reason set, is logged as
 * an error and answers "ignored" - never a 500 that Stripe would retry.
 */
#ifndef CD_BILLING_EVENTS_H
#define CD_BILLING_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * The whole of POST /v1/webhooks/stripe below HTTP: verifies sig_header
 * (the Stripe-Signature value, may be NULL) over the raw body bytes with
 * cfg.webhook_secrets before parsing anything, then parses the event and
 * applies it. Returns 0 with *status_out one of the outcomes above (only
 * after the effects are committed), or -1 with err:
 *   503 webhook_secret_not_configured (no secret configured);
 *   400 invalid_signature / timestamp_out_of_tolerance (nothing recorded);
 *   400 invalid_json / invalid_event (not an event with id, type and
 *       data.object);
 *   500 internal_error (the store failed: Stripe retries).
 */
int cd_webhook_receive(struct cd_billing *b, const char *body, size_t len,
                       const char *sig_header, const char **status_out,
                       struct cd_error *err);

/* The longest event type kept (the metric's label). */
#define CD_WEBHOOK_TYPE_MAX 128

/*
 * The same, answered from the commit: no thread waits while the event's
 * job waits for its batch. cd_webhook_async_prepare checks the signature
 * and parses (as above; no store, no Stripe) and says what is next:
 *   CD_WEBHOOK_ANSWERED: the answer is known (an error, "ignored");
 *   CD_WEBHOOK_SUBMIT: an event whose effect is one write job
 *       (checkout.session.*): cd_webhook_async_submit queues it and
 *       returns; once the batch is committed, done(done_arg) is called
 *       once on the store's writer thread (quick, must not wait on the
 *       store), also when the store is closing;
 *   CD_WEBHOOK_BLOCKS: its handler reads or asks Stripe first:
 *       cd_webhook_async_block runs it on a thread that may block.
 * Then cd_webhook_async_result gives what cd_webhook_receive returns
 * (and counts the delivery's metric, once), and cd_webhook_async_free
 * frees what x holds. Zero x before prepare; x stays put meanwhile.
 */
enum { CD_WEBHOOK_ANSWERED, CD_WEBHOOK_SUBMIT, CD_WEBHOOK_BLOCKS };

struct cd_webhook_async {
    void (*done)(void *done_arg);
    void *done_arg;
    /* private to events.c */
    json_t *event;
    const char *id, *type_ptr; /* in event */
    char type[CD_WEBHOOK_TYPE_MAX];
    cd_event_fn fn;
    struct cd_event_job ej;
    struct cd_store_async job;
    const char *status;
    int rc, counted;
    struct cd_error err;
};

int cd_webhook_async_prepare(struct cd_billing *b, const char *body,
                             size_t len, const char *sig_header,
                             struct cd_webhook_async *x);
void cd_webhook_async_submit(struct cd_billing *b,
                             struct cd_webhook_async *x);
void cd_webhook_async_block(struct cd_billing *b, struct cd_webhook_async *x);
int cd_webhook_async_result(struct cd_webhook_async *x,
                            const char **status_out, struct cd_error *err);
void cd_webhook_async_free(struct cd_webhook_async *x);

/* Replaces cfg.webhook_secrets (a comma-separated list, checked by the
 * caller) safely while webhooks are being verified: SIGHUP's reload. */
void cd_webhook_set_secrets(struct cd_billing *b, const char *list);

/*
 * Applies an event already known to be Stripe's (reconciliation reads it
 * from GET /v1/events). event is borrowed. Same results as above minus the
 * signature errors.
 */
int cd_webhook_apply(struct cd_billing *b, const json_t *event,
                     const char **status_out, struct cd_error *err);

#endif
