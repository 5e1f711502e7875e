/*
 * event_outcome.h - the answers of a Stripe event (API.md:
 * {"received":true,"status":...}), the shape of every event handler, and
 * what a handler knows of how an order was paid. Types only: the
 * handlers (charges.c, checkout_session.c, disputes.c, refunds.c,
 * subscriptions.c, topups.c), order_credit.c and events.c share them.
 */
#ifndef CD_BILLING_EVENT_OUTCOME_H
#define CD_BILLING_EVENT_OUTCOME_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

/* The outcomes; static strings. */
#define CD_WEBHOOK_PROCESSED "processed"
#define CD_WEBHOOK_DUPLICATE "duplicate"
#define CD_WEBHOOK_IGNORED "ignored"

/* An event handler: applies data.object (borrowed) of event event_id
 * (NULL: record nothing) of type `type`. 0 with *status_out one of the
 * outcomes (after the effects are committed), or -1 with err. */
typedef int (*cd_event_fn)(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *obj,
                           const char **status_out, struct cd_error *err);

/*
 * An event type whose whole effect is one write job and whose preparation
 * reads nothing (no store, no Stripe) may also be prepared, so the job
 * can be submitted without a thread waiting for its commit (events.c,
 * cd_webhook_async_*). A prep function fills job and returns 0: job->fn
 * (arg) is the write job, *job->status its outcome once it ran, job->mem
 * what it allocated, freed with free() after the job ran (or instead of
 * running it); event_id, type and obj must outlive the job; failed, the
 * message of the 500 when the job is not committed (NULL: the order
 * events' one, cd_order_event_outcome). Or it answers
 * at once: 1 with *status_out set (nothing to write), -1 with err.
 */
struct cd_event_job {
    cd_store_job_fn fn;
    void *arg;
    const char *key; /* the writer it goes to (an account), or NULL */
    const char *const *status;
    void *mem;
    const char *failed; /* the 500's message when the job fails, or NULL */
};
typedef int (*cd_event_prep_fn)(struct cd_billing *b, const char *event_id,
                                const char *type, const json_t *obj,
                                struct cd_event_job *job,
                                const char **status_out,
                                struct cd_error *err);

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

#endif
