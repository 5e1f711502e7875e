/*
 * subscriptions.h - Stripe subscriptions as creditd keeps them: the
 * account's current subscription (GET /v1/subscription of API.md) and the
 * pure readers of Stripe's Subscription and Invoice shapes that the event
 * handlers (customer.subscription.*, declared below; invoice.paid in
 * invoices.h) use.
 *
 * The rules (docs/API-NOTES.md "Subscriptions"):
 *  - the subscriptions table is synced from the subscription as Stripe
 *    holds it now: every customer.subscription.* event makes creditd
 *    re-read GET /v1/subscriptions/{id} (outside any transaction) and
 *    store that copy, never the event's snapshot, and a copy read earlier
 *    never overwrites one read later (synced_at) - so arrival order and
 *    the events' `created` do not matter;
 *  - credits come only from invoice.paid: credits_per_period of the plan,
 *    once per invoice (ledger kind "subscription", ref
 *    "invoice:<in_id>"), and only for an invoice that moved money for a
 *    period (cd_subscription_invoice_grants);
 *  - checkout.session.completed in subscription mode completes the order,
 *    saves the customer and records the first payment, but grants nothing
 *    (the first invoice's invoice.paid does).
 */
#ifndef CD_BILLING_SUBSCRIPTIONS_H
#define CD_BILLING_SUBSCRIPTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * The end of a Subscription's current period (unix seconds): the first
 * item's items.data[0].current_period_end (API 2025-03-31.basil and
 * later), else the top-level current_period_end of older API versions;
 * 0 when neither is a positive integer. sub is borrowed.
 */
int64_t cd_subscription_period_end(const json_t *sub);

/*
 * The subscription id of an Invoice (borrowed): parent.subscription_
 * details.subscription (basil and later), else the top-level
 * "subscription" (older versions; a string or an expanded object's id).
 * Copies it into out and returns 0; -1 (out "") when the invoice names no
 * subscription or the id does not fit.
 */
int cd_subscription_invoice_sub_id(const json_t *invoice, char *out,
                                   size_t outsz);

/*
 * Whether a paid invoice grants the plan's credits: status "paid",
 * amount_paid > 0, and billing_reason "subscription_create" (the first
 * period) or "subscription_cycle" (a renewal). A $0 invoice (a trial, a
 * 100 % coupon) and a proration (subscription_update) grant nothing.
 * Strings may be NULL. 1 or 0.
 */
int cd_subscription_invoice_grants(const char *status,
                                   const char *billing_reason,
                                   int64_t amount_paid);

/*
 * The account's most recent subscription (read transaction): 0 with *out,
 * or -1 with err: 404 no_subscription when it has none, else 500.
 */
int cd_subscription_current(struct cd_billing *b, const char *account_id,
                            struct cd_subscription *out,
                            struct cd_error *err);

/*
 * A keyset page of every account's subscriptions as last synced (the
 * operator's list; cd_page_query in store.h: account, status - Stripe's -,
 * created_at in [from, to), starting_after a stripe_subscription_id), on
 * one read transaction: cb per row, *has_more when rows follow. 0, or -1
 * with err: 400 invalid_param (starting_after) when that subscription is
 * not known, else 500.
 */
int cd_subscriptions_page(struct cd_billing *b, const struct cd_page_query *q,
                          cd_subscription_cb cb, void *arg, int *has_more,
                          struct cd_error *err);

/*
 * POST /v1/subscription/cancel (cancel 1) and /resume (cancel 0): sets
 * cancel_at_period_end of the account's current subscription at Stripe
 * (POST /v1/subscriptions/{id}, outside any transaction) and stores the
 * subscription Stripe answers with (the same upsert and synced_at rule as
 * the events). idem: the request's effect id (cd_api_effect_id) or NULL;
 * the Stripe Idempotency-Key is "subscription:<action>:<idem>", else
 * "subscription:<action>:<sub id>:<synced_at of the stored copy>" (a
 * retry of the same step repeats it, a later step is a new one). Status
 * canceled or incomplete_expired is ended: nothing to change.
 * 0 with *out; -1 with err: 404 no_subscription, 409 subscription_ended,
 * 503 stripe_not_configured, 502 stripe_error, 500 internal_error.
 */
int cd_subscription_set_cancel(struct cd_billing *b, const char *account_id,
                               int cancel, const char *idem,
                               struct cd_subscription *out,
                               struct cd_error *err);

/*
 * customer.subscription.created|updated|deleted: when the subscription
 * (borrowed snapshot) is an account's here, re-reads it with GET
 * /v1/subscriptions/{id} outside any transaction and upserts that copy in
 * the job recording event_id. A subscription of no account here (or one
 * Stripe no longer knows) is "ignored" and not recorded. -1 with err:
 * 502 stripe_error (the re-read failed: Stripe delivers again), 503
 * stripe_not_configured, 500 internal_error.
 */
int cd_subscription_on_subscription(struct cd_billing *b,
                                    const char *event_id, const char *type,
                                    const json_t *sub,
                                    const char **status_out,
                                    struct cd_error *err);

#endif
