/*
 * invoices.h - invoice.paid, the credits of a subscription's paid period
 * (invoices.c); the rules in subscriptions.h.
 */
#ifndef CD_BILLING_INVOICES_H
#define CD_BILLING_INVOICES_H

#include <jansson.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * invoice.paid: credits the plan's credits_per_period once per invoice
 * (ledger kind "subscription", ref "invoice:<in_id>") when
 * cd_subscription_invoice_grants() says so; the account and plan come
 * from the stored subscription, else from the subscription re-read at
 * Stripe (then stored in the same job). Anything else is "ignored" and
 * not recorded. Errors as cd_subscription_on_subscription's
 * (subscriptions.h).
 */
int cd_subscription_on_invoice_paid(struct cd_billing *b,
                                    const char *event_id,
                                    const json_t *invoice,
                                    const char **status_out,
                                    struct cd_error *err);

#endif
