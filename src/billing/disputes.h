/*
 * disputes.h - charge.dispute.created / .updated / .closed: the amount
 * and final status of each dispute on its order, then the order settled
 * (clawback.h).
 */
#ifndef CD_BILLING_DISPUTES_H
#define CD_BILLING_DISPUTES_H

#include <jansson.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

int cd_dispute_on_dispute(struct cd_billing *b, const char *event_id,
                          const char *type, const json_t *dispute,
                          const char **status_out, struct cd_error *err);

#endif
