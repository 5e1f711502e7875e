/*
 * fulfil.h - Stripe events are domain input: this is where a verified
 * webhook (or an event reconciliation fetched from Stripe) becomes an
 * order completed, credits in the ledger, a payment row, a saved customer.
 *
 * Exactly-once: the event id is recorded in the same write job as its
 * effects (a repeat is "duplicate" and changes nothing), and the credit
 * itself is keyed "order:<order_id>:fulfil" in the ledger, so two different
 * events for one session (or an event and reconciliation) credit once.
 * Stripe is only ever called before that job, never inside it.
 *
 * The types acted on: checkout.session.completed / .async_payment_
 * succeeded / .async_payment_failed / .expired (payment mode; here),
 * payment_intent.succeeded / .payment_failed (topups.c), charge.refunded
 * and charge.dispute.created / .closed (refunds.c),
 * customer.subscription.created / .updated / .deleted and invoice.paid
 * (subscriptions.c; a subscription-mode session's completion completes its
 * order here but credits nothing). Any other type - and a
 * handled type whose object names no order of ours - answers "ignored"
 * without a write, so its id stays free for a version that handles it.
 * A paid order the ledger refuses to credit (balance past +-2^62, account
 * gone) is recorded, stays pending with failure_reason set, is logged as
 * an error and answers "ignored" - never a 500 that Stripe would retry.
 */
#ifndef CD_BILLING_FULFIL_H
#define CD_BILLING_FULFIL_H

#include <jansson.h>
#include <stddef.h>

#include "billing/billing.h"
#include "util/error.h"

/* The outcomes (API.md: {"received":true,"status":...}); static strings. */
#define CD_FULFIL_PROCESSED "processed"
#define CD_FULFIL_DUPLICATE "duplicate"
#define CD_FULFIL_IGNORED "ignored"

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
int cd_fulfil_event(struct cd_billing *b, const char *body, size_t len,
                    const char *sig_header, const char **status_out,
                    struct cd_error *err);

/* Replaces cfg.webhook_secrets (a comma-separated list, checked by the
 * caller) safely while webhooks are being verified: SIGHUP's reload. */
void cd_fulfil_set_webhook_secrets(struct cd_billing *b, const char *list);

/*
 * Applies an event already known to be Stripe's (reconciliation reads it
 * from GET /v1/events). event is borrowed. Same results as above minus the
 * signature errors.
 */
int cd_fulfil_event_json(struct cd_billing *b, const json_t *event,
                         const char **status_out, struct cd_error *err);

/*
 * Applies a Checkout Session object (borrowed) as the event `type` would
 * (checkout.session.completed / .async_payment_succeeded /
 * .async_payment_failed / .expired). type NULL derives it from the
 * session's own status and payment_status (reconciliation of a pending
 * order from GET /v1/checkout/sessions/{id}): complete + paid fulfils,
 * expired expires, anything else changes nothing. event_id (may be NULL:
 * then no event is recorded) is recorded in the same job as the effects.
 */
int cd_fulfil_session(struct cd_billing *b, const char *event_id,
                      const char *type, const json_t *session,
                      const char **status_out, struct cd_error *err);

#endif
