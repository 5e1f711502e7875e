/*
 * checkout_session.h - the Checkout Session events (payment and
 * subscription mode); the table in events.c, and reconciliation of a
 * pending order, call it.
 */
#ifndef CD_BILLING_CHECKOUT_SESSION_H
#define CD_BILLING_CHECKOUT_SESSION_H

#include <jansson.h>

#include "billing/billing.h"
#include "billing/event_outcome.h"
#include "util/error.h"

/*
 * Applies a Checkout Session object (borrowed) as the event `type` would
 * (checkout.session.completed / .async_payment_succeeded /
 * .async_payment_failed / .expired). type NULL derives it from the
 * session's own status and payment_status (reconciliation of a pending
 * order from GET /v1/checkout/sessions/{id}): complete + paid fulfils,
 * expired expires, anything else changes nothing. event_id (may be NULL:
 * then no event is recorded) is recorded in the same job as the effects.
 */
int cd_checkout_on_session(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *session,
                           const char **status_out, struct cd_error *err);

/* The same, prepared (event_outcome.h, cd_event_prep_fn): the job to
 * submit, or the answer now ("ignored" for a session not acted on). */
int cd_checkout_prep_session(struct cd_billing *b, const char *event_id,
                             const char *type, const json_t *session,
                             struct cd_event_job *job,
                             const char **status_out, struct cd_error *err);

#endif
