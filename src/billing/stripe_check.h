/*
 * stripe_check.h - `creditd stripe check`: is the configured Stripe
 * account usable by creditd?
 */
#ifndef CD_BILLING_STRIPE_CHECK_H
#define CD_BILLING_STRIPE_CHECK_H

#include <stdio.h>

#include "stripe/client.h"

/*
 * Checks the secret key (GET /v1/account) and the webhook endpoint whose
 * url is webhook_url (GET /v1/webhook_endpoints): present, enabled, and
 * its enabled_events cover every type creditd handles ("*" does). Writes
 * one line per finding to out. Returns 0 when all hold, 1 when a check
 * fails, 2 when Stripe cannot be asked (key refused, unreachable).
 */
int cd_stripe_check(struct cd_stripe_client *c, const char *webhook_url,
                    FILE *out);

#endif
