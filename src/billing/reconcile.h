/*
 * reconcile.h - catch-up with Stripe when webhooks were lost, late or
 * refused (DESIGN.md "Exactly-once against Stripe"), by the same
 * fulfilment code as the webhook (events.h), so nothing can credit twice:
 *
 *  1. Events: lists the Checkout events Stripe created since a stored
 *     cursor (GET /v1/events, types[] = the checkout.session.* types
 *     checkout_session.c handles, plus
 *     payment_intent.succeeded/.payment_failed,
 *     charge.refunded and charge.dispute.created/.closed;
 *     ending_before=<cursor> page by page, so forward in
 *     time), feeds each, oldest first, through cd_webhook_apply - an
 *     event already seen is a duplicate and changes nothing - and stores
 *     the newest event id as the new cursor. Without a cursor (first run,
 *     or the cursor is older than Stripe's 30 days) it reads back from the
 *     newest event. At most CD_RECONCILE_MAX_PAGES pages of
 *     CD_RECONCILE_PAGE_LIMIT a run; the next run goes on from there.
 *  2. Pending orders: each order still pending CD_RECONCILE_PENDING_AGE
 *     seconds after it was created, with a Checkout session, is re-read
 *     from Stripe (GET /v1/checkout/sessions/{id}) and applied with
 *     cd_checkout_on_session: complete and paid fulfils, expired expires. One
 *     with a PaymentIntent of its own (top-ups, payment_intents) is re-read
 *     with GET /v1/payment_intents/{id}: succeeded fulfils, canceled
 *     fails. A
 *     pending order with neither a session nor a payment intent after
 *     CD_RECONCILE_ABANDON_AGE seconds is marked failed ("checkout was
 *     never created" - the process died between the order and the Stripe
 *     call) - unless its customer's PaymentIntents at Stripe hold one of
 *     the order's (topup_lookup.h: an off-session top-up whose answer was
 *     lost, its event not applied yet) that succeeded (applied: the order
 *     completes) or is still processing (left pending).
 *
 * Stripe is never called inside a store job. Runs in one process are
 * serialised; runs on several nodes at once are safe (every effect is
 * keyed), the background job takes a lease so that it rarely happens.
 */
#ifndef CD_BILLING_RECONCILE_H
#define CD_BILLING_RECONCILE_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_RECONCILE_PAGE_LIMIT 100
#define CD_RECONCILE_MAX_PAGES 10
#define CD_RECONCILE_PENDING_AGE 60
#define CD_RECONCILE_ABANDON_AGE 3600
#define CD_RECONCILE_MAX_ORDERS 100
/* The settings key of the event cursor (the newest event id applied). */
#define CD_RECONCILE_CURSOR_KEY "reconcile.stripe_event_cursor"

struct cd_reconcile_result {
    int64_t events_seen;    /* events listed by Stripe */
    int64_t events_applied; /* of those, the ones that took effect now */
    int64_t orders_checked; /* pending orders looked at */
    int64_t orders_fixed;   /* of those, the ones no longer pending */
};

/*
 * Runs one reconciliation. Fills *out (also on failure: what was done
 * before it - all of it committed) and returns 0, or -1 with err:
 *   503 stripe_not_configured - no Stripe client;
 *   502 stripe_error - Stripe unreachable or failing (5xx);
 *   500 internal_error - the store failed.
 */
int cd_reconcile_run(struct cd_billing *b, struct cd_reconcile_result *out,
                     struct cd_error *err);

/*
 * The same, checking stop(arg) (may be NULL) between Stripe calls: when
 * it returns nonzero the run ends early (returns 0 with what it did), so
 * a shutdown does not wait for a long catch-up.
 */
int cd_reconcile_run_until(struct cd_billing *b, int (*stop)(void *arg),
                           void *arg, struct cd_reconcile_result *out,
                           struct cd_error *err);

/* The Stripe event types creditd acts on (the webhook endpoint's events
 * to enable); *n receives their count. */
const char *const *cd_reconcile_event_types(size_t *n);

#endif
