/*
 * events.c - POST /v1/webhooks/stripe below HTTP and the events
 * reconciliation reads: the signature over the raw bytes (the secrets
 * swapped by SIGHUP under a lock; the HMAC itself is stripe/signature.c),
 * then one table from event type to its handler, each in its noun's file,
 * and for the types whose effect is one write job with no read first its
 * prep function: that job is submitted, the reply coming from its
 * completion (cd_webhook_async_*; cd_webhook_receive runs the same steps
 * waiting). See events.h.
 */
#include "billing/events.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "billing/charges.h"
#include "billing/checkout_session.h"
#include "billing/disputes.h"
#include "billing/invoices.h"
#include "billing/order_credit.h"
#include "billing/refunds.h"
#include "billing/subscriptions.h"
#include "billing/topups.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "fulfil"
#define DEFAULT_TOLERANCE 300

static int charge_refunded(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *obj,
                           const char **status_out, struct cd_error *err)
{
    (void)type;
    return cd_refund_on_charge_refunded(b, event_id, obj, status_out, err);
}

static int invoice_paid(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err)
{
    (void)type;
    return cd_subscription_on_invoice_paid(b, event_id, obj, status_out, err);
}

/* Which handler takes which event type: an exact type, or a prefix. */
static const struct {
    const char *type;
    int prefix;
    cd_event_fn fn;
    cd_event_prep_fn prep; /* one job, no read first: submitted */
} handlers[] = {
    {"checkout.session.", 1, cd_checkout_on_session,
     cd_checkout_prep_session},
    {"payment_intent.succeeded", 0, cd_topup_on_payment_intent, NULL},
    {"payment_intent.payment_failed", 0, cd_topup_on_payment_intent, NULL},
    {"charge.refunded", 0, charge_refunded, NULL},
    {"charge.succeeded", 0, cd_charge_on_charge, cd_charge_prep_charge},
    {"charge.updated", 0, cd_charge_on_charge, cd_charge_prep_charge},
    {"refund.created", 0, cd_refund_on_refund, NULL},
    {"refund.updated", 0, cd_refund_on_refund, NULL},
    {"refund.failed", 0, cd_refund_on_refund, NULL},
    {"charge.refund.updated", 0, cd_refund_on_refund, NULL},
    {"charge.dispute.created", 0, cd_dispute_on_dispute, NULL},
    {"charge.dispute.updated", 0, cd_dispute_on_dispute, NULL},
    {"charge.dispute.closed", 0, cd_dispute_on_dispute, NULL},
    {"customer.subscription.created", 0, cd_subscription_on_subscription,
     NULL},
    {"customer.subscription.updated", 0, cd_subscription_on_subscription,
     NULL},
    {"customer.subscription.deleted", 0, cd_subscription_on_subscription,
     NULL},
    {"invoice.paid", 0, invoice_paid, NULL},
    {"invoice_payment.paid", 0, cd_charge_on_invoice_payment, NULL},
};

/* The event's id, type and data.object, checked; its handler's index in
 * the table, or -1 for a type not handled. -2 with err: not an event. */
static int find_handler(const json_t *event, const char **id,
                        const char **type, const json_t **obj,
                        struct cd_error *err)
{
    size_t i;

    *id = json_string_value(json_object_get(event, "id"));
    *type = json_string_value(json_object_get(event, "type"));
    *obj = json_object_get(json_object_get(event, "data"), "object");
    if (!json_is_object(event) || !*id || strncmp(*id, "evt_", 4) != 0 ||
        strlen(*id) >= CD_SID_SZ || !*type || !(*type)[0] ||
        strlen(*type) >= CD_WEBHOOK_TYPE_MAX || !json_is_object(*obj)) {
        cd_error_set(err, CD_EK_INVALID, "invalid_event", NULL,
                     "Not a Stripe event (id, type and data.object "
                     "are required).");
        return -2;
    }
    for (i = 0; i < CD_ARRAY_LEN(handlers); i++)
        if (strcmp(*type, handlers[i].type) == 0 ||
            (handlers[i].prefix &&
             strncmp(*type, handlers[i].type, strlen(handlers[i].type)) == 0))
            return (int)i;
    /* Anything else: "ignored" and NOT recorded (no write job), so the
     * id is not burnt for a version that will handle the type. */
    cd_debug(MOD, "event %s (%s): not handled, not recorded", *id, *type);
    return -1;
}

int cd_webhook_apply(struct cd_billing *b, const json_t *event,
                     const char **status_out, struct cd_error *err)
{
    const char *id, *type;
    const json_t *obj;
    int i = find_handler(event, &id, &type, &obj, err);

    if (i == -2)
        return -1;
    if (i < 0) {
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }
    return handlers[i].fn(b, id, type, obj, status_out, err);
}

/* Guards cfg.webhook_secrets of every cd_billing: SIGHUP replaces them
 * (cd_webhook_set_secrets) while webhooks are being verified. */
static pthread_mutex_t secrets_mu = PTHREAD_MUTEX_INITIALIZER;

void cd_webhook_set_secrets(struct cd_billing *b, const char *list)
{
    pthread_mutex_lock(&secrets_mu);
    cd_strlcpy(b->cfg.webhook_secrets, list ? list : "",
               sizeof(b->cfg.webhook_secrets));
    pthread_mutex_unlock(&secrets_mu);
}

static void webhook_secrets(struct cd_billing *b, char *out, size_t outsz)
{
    pthread_mutex_lock(&secrets_mu);
    cd_strlcpy(out, b->cfg.webhook_secrets, outsz);
    pthread_mutex_unlock(&secrets_mu);
}

/* The signature over the raw bytes, then the JSON: the event (new
 * reference), or NULL with err. */
static json_t *verify_parse(struct cd_billing *b, const char *body,
                            size_t len, const char *sig_header,
                            struct cd_error *err)
{
    enum cd_sig_result sr;
    json_t *event;
    json_error_t jerr;
    int64_t tol = b->cfg.webhook_tolerance > 0 ? b->cfg.webhook_tolerance
                                               : DEFAULT_TOLERANCE;
    char secrets[sizeof(b->cfg.webhook_secrets)];

    webhook_secrets(b, secrets, sizeof(secrets));
    if (!secrets[0]) {
        cd_error_set(err, CD_EK_UNAVAILABLE, "webhook_secret_not_configured",
                     NULL, "No Stripe webhook secret is configured.");
        return NULL;
    }
    sr = cd_stripe_sig_verify(sig_header, body, len, secrets, cd_now(), tol);
    sodium_memzero(secrets, sizeof(secrets));
    switch (sr) {
    case CD_SIG_OK:
        break;
    case CD_SIG_NO_SECRET:
        cd_error_set(err, CD_EK_UNAVAILABLE, "webhook_secret_not_configured",
                     NULL, "No Stripe webhook secret is configured.");
        return NULL;
    case CD_SIG_TIMESTAMP:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        cd_error_set(err, CD_EK_INVALID, "timestamp_out_of_tolerance", NULL,
                     "%s", cd_stripe_sig_strerror(sr));
        return NULL;
    default:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        cd_error_set(err, CD_EK_INVALID, "invalid_signature", NULL, "%s",
                     cd_stripe_sig_strerror(sr));
        return NULL;
    }
    event = json_loadb(body, len, 0, &jerr);
    if (!event)
        cd_error_set(err, CD_EK_INVALID, "invalid_json", NULL,
                     "The event is not valid JSON.");
    return event;
}

/* ---- answered from the commit ------------------------------------------- */

/* x's answer is known now: rc, with err on -1. */
static int answered(struct cd_webhook_async *x, int rc)
{
    x->rc = rc;
    return CD_WEBHOOK_ANSWERED;
}

int cd_webhook_async_prepare(struct cd_billing *b, const char *body,
                             size_t len, const char *sig_header,
                             struct cd_webhook_async *x)
{
    const json_t *obj;
    int i, rc;

    cd_error_clear(&x->err);
    x->event = verify_parse(b, body, len, sig_header, &x->err);
    if (!x->event)
        return answered(x, -1);
    if (json_is_string(json_object_get(x->event, "type")))
        cd_strlcpy(x->type,
                   json_string_value(json_object_get(x->event, "type")),
                   sizeof(x->type));
    i = find_handler(x->event, &x->id, &x->type_ptr, &obj, &x->err);
    if (i == -2)
        return answered(x, -1);
    if (i < 0) {
        x->status = CD_WEBHOOK_IGNORED;
        return answered(x, 0);
    }
    if (!handlers[i].prep) {
        x->fn = handlers[i].fn;
        return CD_WEBHOOK_BLOCKS;
    }
    rc = handlers[i].prep(b, x->id, x->type_ptr, obj, &x->ej, &x->status,
                          &x->err);
    if (rc != 0)
        return answered(x, rc > 0 ? 0 : -1);
    return CD_WEBHOOK_SUBMIT;
}

/* The answer of x's job, run with the result rc. */
static int job_outcome(struct cd_webhook_async *x, int rc)
{
    int out = cd_order_event_outcome(rc, x->id, x->type_ptr, x->ej.status,
                                     &x->status, &x->err);

    if (out != 0 && x->ej.failed)
        cd_error_set(&x->err, CD_EK_INTERNAL, "internal_error", NULL, "%s",
                     x->ej.failed);
    return out;
}

/* On the store's writer, once the batch is committed (or failed). */
static void job_done(void *arg, int rc)
{
    struct cd_webhook_async *x = arg;

    x->rc = job_outcome(x, rc);
    free(x->ej.mem);
    x->ej.mem = NULL;
    x->done(x->done_arg);
}

void cd_webhook_async_submit(struct cd_billing *b, struct cd_webhook_async *x)
{
    memset(&x->job, 0, sizeof(x->job));
    x->job.fn = x->ej.fn;
    x->job.arg = x->ej.arg;
    x->job.key = x->ej.key;
    x->job.done = job_done;
    x->job.done_arg = x;
    if (cd_store_submit(b->store, &x->job) != 0)
        job_done(x, CD_STORE_ERROR); /* closing: a store failure */
}

void cd_webhook_async_block(struct cd_billing *b, struct cd_webhook_async *x)
{
    x->rc = x->fn(
        b, x->id, x->type_ptr,
        json_object_get(json_object_get(x->event, "data"), "object"),
        &x->status, &x->err);
}

int cd_webhook_async_result(struct cd_webhook_async *x,
                            const char **status_out, struct cd_error *err)
{
    static const struct cd_metric_def events = {
        "creditd_webhook_events_total",
        "Stripe webhook deliveries by event type and outcome "
        "(processed, duplicate, ignored, error).",
        CD_METRIC_COUNTER,
        {"type", "outcome"},
        NULL,
        0};
    int ok = x->rc == 0 && x->status;

    if (!x->counted) {
        x->counted = 1;
        cd_metrics_add(NULL, &events, 1, x->type[0] ? x->type : "unknown",
                       ok ? x->status : "error", NULL);
    }
    *status_out = ok ? x->status : NULL;
    if (x->rc != 0)
        *err = x->err;
    return x->rc == 0 ? 0 : -1;
}

void cd_webhook_async_free(struct cd_webhook_async *x)
{
    free(x->ej.mem);
    x->ej.mem = NULL;
    json_decref(x->event);
    x->event = NULL;
}

int cd_webhook_receive(struct cd_billing *b, const char *body, size_t len,
                       const char *sig_header, const char **status_out,
                       struct cd_error *err)
{
    struct cd_webhook_async x;
    int rc;

    memset(&x, 0, sizeof(x));
    rc = cd_webhook_async_prepare(b, body, len, sig_header, &x);
    if (rc == CD_WEBHOOK_SUBMIT)
        x.rc = job_outcome(&x, cd_store_write(b->store, x.ej.fn, x.ej.arg));
    else if (rc == CD_WEBHOOK_BLOCKS)
        cd_webhook_async_block(b, &x);
    rc = cd_webhook_async_result(&x, status_out, err);
    cd_webhook_async_free(&x);
    return rc;
}
