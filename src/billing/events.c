/*
 * events.c - POST /v1/webhooks/stripe below HTTP and the events
 * reconciliation reads: the signature over the raw bytes (the secrets
 * swapped by SIGHUP under a lock; the HMAC itself is stripe/signature.c),
 * then one table from event type to its handler, each in its noun's file.
 * See events.h.
 */
#include "billing/events.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "billing/charges.h"
#include "billing/checkout_session.h"
#include "billing/disputes.h"
#include "billing/invoices.h"
#include "billing/refunds.h"
#include "billing/subscriptions.h"
#include "billing/topups.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "fulfil"
#define DEFAULT_TOLERANCE 300
#define EVENT_TYPE_MAX 128

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
} handlers[] = {
    {"checkout.session.", 1, cd_checkout_on_session},
    {"payment_intent.succeeded", 0, cd_topup_on_payment_intent},
    {"payment_intent.payment_failed", 0, cd_topup_on_payment_intent},
    {"charge.refunded", 0, charge_refunded},
    {"charge.succeeded", 0, cd_charge_on_charge},
    {"charge.updated", 0, cd_charge_on_charge},
    {"refund.created", 0, cd_refund_on_refund},
    {"refund.updated", 0, cd_refund_on_refund},
    {"refund.failed", 0, cd_refund_on_refund},
    {"charge.refund.updated", 0, cd_refund_on_refund},
    {"charge.dispute.created", 0, cd_dispute_on_dispute},
    {"charge.dispute.updated", 0, cd_dispute_on_dispute},
    {"charge.dispute.closed", 0, cd_dispute_on_dispute},
    {"customer.subscription.created", 0, cd_subscription_on_subscription},
    {"customer.subscription.updated", 0, cd_subscription_on_subscription},
    {"customer.subscription.deleted", 0, cd_subscription_on_subscription},
    {"invoice.paid", 0, invoice_paid},
    {"invoice_payment.paid", 0, cd_charge_on_invoice_payment},
};

int cd_webhook_apply(struct cd_billing *b, const json_t *event,
                     const char **status_out, struct cd_error *err)
{
    const char *id, *type;
    const json_t *data, *obj;
    size_t i;

    id = json_string_value(json_object_get(event, "id"));
    type = json_string_value(json_object_get(event, "type"));
    data = json_object_get(event, "data");
    obj = json_object_get(data, "object");
    if (!json_is_object(event) || !id || strncmp(id, "evt_", 4) != 0 ||
        strlen(id) >= CD_SID_SZ || !type || !type[0] ||
        strlen(type) >= EVENT_TYPE_MAX || !json_is_object(obj))
        return cd_error_set(err, CD_EK_INVALID, "invalid_event", NULL,
                            "Not a Stripe event (id, type and data.object "
                            "are required).");

    for (i = 0; i < CD_ARRAY_LEN(handlers); i++)
        if (strcmp(type, handlers[i].type) == 0 ||
            (handlers[i].prefix &&
             strncmp(type, handlers[i].type, strlen(handlers[i].type)) == 0))
            return handlers[i].fn(b, id, type, obj, status_out, err);
    /* Anything else: "ignored" and NOT recorded (no write job), so the
     * id is not burnt for a version that will handle the type. */
    cd_debug(MOD, "event %s (%s): not handled, not recorded", id, type);
    *status_out = CD_WEBHOOK_IGNORED;
    return 0;
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

/* cd_webhook_receive without the metric; *type receives the verified
 * event's type (or stays ""). */
static int verify_and_apply(struct cd_billing *b, const char *body,
                            size_t len, const char *sig_header,
                            const char **status_out, char *type,
                            size_t typesz, struct cd_error *err)
{
    enum cd_sig_result sr;
    json_t *event;
    json_error_t jerr;
    int64_t tol = b->cfg.webhook_tolerance > 0 ? b->cfg.webhook_tolerance
                                               : DEFAULT_TOLERANCE;
    char secrets[sizeof(b->cfg.webhook_secrets)];
    int rc;

    *status_out = NULL;
    webhook_secrets(b, secrets, sizeof(secrets));
    if (!secrets[0])
        return cd_error_set(err, CD_EK_UNAVAILABLE,
                            "webhook_secret_not_configured", NULL,
                            "No Stripe webhook secret is configured.");
    sr = cd_stripe_sig_verify(sig_header, body, len, secrets, cd_now(), tol);
    sodium_memzero(secrets, sizeof(secrets));
    switch (sr) {
    case CD_SIG_OK:
        break;
    case CD_SIG_NO_SECRET:
        return cd_error_set(err, CD_EK_UNAVAILABLE,
                            "webhook_secret_not_configured", NULL,
                            "No Stripe webhook secret is configured.");
    case CD_SIG_TIMESTAMP:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        return cd_error_set(err, CD_EK_INVALID, "timestamp_out_of_tolerance",
                            NULL, "%s", cd_stripe_sig_strerror(sr));
    default:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        return cd_error_set(err, CD_EK_INVALID, "invalid_signature", NULL,
                            "%s", cd_stripe_sig_strerror(sr));
    }

    event = json_loadb(body, len, 0, &jerr);
    if (!event)
        return cd_error_set(err, CD_EK_INVALID, "invalid_json", NULL,
                            "The event is not valid JSON.");
    if (json_is_string(json_object_get(event, "type")))
        cd_strlcpy(type, json_string_value(json_object_get(event, "type")),
                   typesz);
    rc = cd_webhook_apply(b, event, status_out, err);
    json_decref(event);
    return rc;
}

int cd_webhook_receive(struct cd_billing *b, const char *body, size_t len,
                       const char *sig_header, const char **status_out,
                       struct cd_error *err)
{
    static const struct cd_metric_def events = {
        "creditd_webhook_events_total",
        "Stripe webhook deliveries by event type and outcome "
        "(processed, duplicate, ignored, error).",
        CD_METRIC_COUNTER,
        {"type", "outcome"},
        NULL,
        0};
    char type[EVENT_TYPE_MAX] = "";
    int rc = verify_and_apply(b, body, len, sig_header, status_out, type,
                              sizeof(type), err);

    cd_metrics_add(NULL, &events, 1, type[0] ? type : "unknown",
                   rc == 0 && *status_out ? *status_out : "error", NULL);
    return rc;
}
