/*
 * charges.c - the order of a Stripe charge, and its payment row; see
 * charges.h.
 */
#include "billing/charges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/event_outcome.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "charges"

struct locate {
    const char *charge;     /* may be "" */
    const char *pi;         /* may be "" */
    const char *meta_order; /* may be "" */
    const char *invoice;    /* may be "" */
    char order_id[CD_ID_SZ];
};

/* The order named by meta_order, if its payment intent (when it has one)
 * is pi: metadata is only a hint. */
static int meta_order(struct cd_tx *tx, struct locate *l)
{
    struct cd_order o;
    int rc;

    if (!l->meta_order[0])
        return CD_STORE_NOT_FOUND;
    rc = cd_store_order_get(tx, l->meta_order, &o);
    if (rc != CD_STORE_OK)
        return rc;
    if (o.stripe_payment_intent_id[0] && l->pi[0] &&
        strcmp(o.stripe_payment_intent_id, l->pi) != 0)
        return CD_STORE_NOT_FOUND;
    cd_strlcpy(l->order_id, o.id, sizeof(l->order_id));
    return CD_STORE_OK;
}

static int found(struct locate *l, const char *order_id)
{
    cd_strlcpy(l->order_id, order_id, sizeof(l->order_id));
    return CD_STORE_OK;
}

static int locate_fn(struct cd_tx *tx, void *arg)
{
    struct locate *l = arg;
    struct cd_payment p;
    struct cd_order o;
    int rc = CD_STORE_NOT_FOUND;

    if (l->charge[0])
        rc = cd_store_payment_by_charge(tx, l->charge, &p);
    if (rc == CD_STORE_NOT_FOUND && l->pi[0])
        rc = cd_store_payment_by_payment_intent(tx, l->pi, &p);
    if (rc == CD_STORE_OK)
        return found(l, p.order_id);
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (l->pi[0]) {
        rc = cd_store_order_by_payment_intent(tx, l->pi, &o);
        if (rc == CD_STORE_OK)
            return found(l, o.id);
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    if (l->invoice[0]) {
        rc = cd_store_order_by_invoice(tx, l->invoice, &o);
        if (rc == CD_STORE_OK)
            return found(l, o.id);
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    return meta_order(tx, l);
}

/* One GET of Stripe (outside any transaction): 0 with *resp (new); 1 when
 * Stripe does not know it (404); -1 with err (502). */
static int stripe_get(struct cd_billing *b, const char *path,
                      const json_t *params, json_t **resp,
                      struct cd_error *err)
{
    struct cd_error serr;
    int http = 0;

    *resp = NULL;
    cd_error_clear(&serr);
    if (cd_stripe_request(b->stripe, "GET", path, params, NULL, resp, &http,
                          &serr) == 0)
        return 0;
    json_decref(*resp);
    *resp = NULL;
    if (http == 404)
        return 1;
    cd_warn(MOD, "GET %s: %s", path, serr.message);
    return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                        "Could not look up the payment at Stripe.");
}

/* What Stripe says of the payment: the PaymentIntent of a charge (when
 * the event named none), its metadata.order_id (checkout and top-ups set
 * it), else the invoice it paid (a subscription period). 0, 1 (Stripe
 * knows nothing more), -1. */
static int ask_stripe(struct cd_billing *b, const char *charge, char *pi,
                      char *meta, char *invoice, struct cd_error *err)
{
    char path[CD_SID_SZ + 32];
    json_t *resp, *params;
    int rc;

    if (!pi[0] && charge[0] && cd_stripe_safe_id(charge)) {
        snprintf(path, sizeof(path), "/v1/charges/%s", charge);
        if ((rc = stripe_get(b, path, NULL, &resp, err)) != 0)
            return rc;
        cd_stripe_str_or_id(resp, "payment_intent", pi, CD_SID_SZ);
        json_decref(resp);
    }
    if (!pi[0] || !cd_stripe_safe_id(pi))
        return 1;
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    if ((rc = stripe_get(b, path, NULL, &resp, err)) != 0)
        return rc;
    cd_stripe_str_or_id(json_object_get(resp, "metadata"), "order_id", meta,
                        CD_ID_SZ);
    json_decref(resp);
    if (meta[0])
        return 0;
    params = json_pack("{s:{s:s, s:s}, s:i}", "payment", "type",
                       "payment_intent", "payment_intent", pi, "limit", 1);
    rc = stripe_get(b, "/v1/invoice_payments", params, &resp, err);
    json_decref(params);
    if (rc != 0)
        return rc;
    cd_stripe_str_or_id(json_array_get(json_object_get(resp, "data"), 0),
                        "invoice", invoice, CD_SID_SZ);
    json_decref(resp);
    return invoice[0] ? 0 : 1;
}

/* The PaymentIntent in an invoice_payment (or a list's first one). */
static void invoice_payment_pi(const json_t *ip, char *pi)
{
    cd_stripe_str_or_id(json_object_get(ip, "payment"), "payment_intent", pi,
                        CD_SID_SZ);
    if (strncmp(pi, "pi_", 3) != 0 || !cd_stripe_safe_id(pi))
        pi[0] = '\0';
}

int cd_charge_invoice_pi(const json_t *invoice, char *pi)
{
    pi[0] = '\0';
    /* The payload, when it carries it: an expanded payments list, or
     * the payment_intent of an API version before basil. Never a call to
     * Stripe: invoice_payment.paid names it (cd_charge_on_invoice_payment). */
    invoice_payment_pi(
        json_array_get(
            json_object_get(json_object_get(invoice, "payments"), "data"), 0),
        pi);
    if (!pi[0] &&
        cd_stripe_str_or_id(invoice, "payment_intent", pi, CD_SID_SZ) == 0 &&
        (strncmp(pi, "pi_", 3) != 0 || !cd_stripe_safe_id(pi)))
        pi[0] = '\0';
    return pi[0] ? 0 : 1;
}

int cd_charge_invoice_pi_tx(struct cd_tx *tx, const char *invoice_id,
                            char *pi)
{
    struct cd_invoice_payment ip;
    int rc;

    if (pi[0])
        return CD_STORE_OK;
    rc = cd_store_invoice_payment_get(tx, invoice_id, &ip);
    if (rc == CD_STORE_OK)
        cd_strlcpy(pi, ip.payment_intent, CD_SID_SZ);
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_OK : rc;
}

int cd_charge_locate_order(struct cd_billing *b, const char *charge,
                           const char *pi, const char *meta, char *order_id,
                           struct cd_error *err)
{
    struct locate l = {charge, pi, meta, "", ""};
    char pi2[CD_SID_SZ], meta2[CD_ID_SZ] = "", invoice[CD_SID_SZ] = "";
    int rc;

    rc = cd_store_read(b->store, locate_fn, &l);
    if (rc == CD_STORE_NOT_FOUND && b->stripe) {
        /* Before anything else we know of this payment: ask Stripe. */
        cd_strlcpy(pi2, pi, sizeof(pi2));
        rc = ask_stripe(b, charge, pi2, meta2, invoice, err);
        if (rc != 0)
            return rc;
        l.pi = pi2;
        l.meta_order = meta2;
        l.invoice = invoice;
        rc = cd_store_read(b->store, locate_fn, &l);
    }
    if (rc == CD_STORE_NOT_FOUND)
        return 1;
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    cd_strlcpy(order_id, l.order_id, CD_ID_SZ);
    return 0;
}

int cd_charge_payment_for(struct cd_tx *tx, const struct cd_order *o,
                          const char *pi, const char *charge, int64_t now,
                          struct cd_payment *p, int *is_new)
{
    int rc = cd_store_payment_by_order(tx, o->id, p);

    *is_new = 0;
    if (rc == CD_STORE_OK) {
        if (!p->stripe_payment_intent_id[0] && pi[0])
            cd_strlcpy(p->stripe_payment_intent_id, pi,
                       sizeof(p->stripe_payment_intent_id));
        if (!p->stripe_charge_id[0] && charge[0])
            cd_strlcpy(p->stripe_charge_id, charge,
                       sizeof(p->stripe_charge_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    /* The payment is older than anything we recorded of it. */
    memset(p, 0, sizeof(*p));
    cd_random_id("pay_", p->id, sizeof(p->id));
    cd_strlcpy(p->order_id, o->id, sizeof(p->order_id));
    cd_strlcpy(p->account_id, o->account_id, sizeof(p->account_id));
    cd_strlcpy(p->status, "succeeded", sizeof(p->status));
    p->amount_cents = o->amount_cents;
    cd_strlcpy(p->currency, o->currency, sizeof(p->currency));
    cd_strlcpy(p->description, o->description, sizeof(p->description));
    cd_strlcpy(p->stripe_payment_intent_id, pi,
               sizeof(p->stripe_payment_intent_id));
    cd_strlcpy(p->stripe_charge_id, charge, sizeof(p->stripe_charge_id));
    p->created_at = now;
    p->paid_at = now;
    *is_new = 1;
    return CD_STORE_OK;
}

int cd_charge_payment_save(struct cd_tx *tx, const struct cd_payment *p,
                           int is_new)
{
    int rc = is_new ? cd_store_payment_insert(tx, p)
                    : cd_store_payment_update(tx, p);

    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}

/* ---- card details from charge events ------------------------------------ */

/* 1 when s is 1-4 ASCII digits (a card's last4). */
static int is_last4(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > 4)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

struct card_job {
    struct cd_charge_card cc;
    const char *event_id;
    const char *status; /* out: "processed" once run */
};

/* Writes what the row lacks; 1 when it changed. */
static int fill_payment(struct cd_payment *p, const struct cd_charge_card *cc)
{
    int changed = 0;

    if (!p->last4[0] && cc->last4[0]) {
        cd_strlcpy(p->last4, cc->last4, sizeof(p->last4));
        changed = 1;
    }
    if (!p->stripe_charge_id[0]) {
        cd_strlcpy(p->stripe_charge_id, cc->charge,
                   sizeof(p->stripe_charge_id));
        changed = 1;
    }
    return changed;
}

static int card_fn(struct cd_tx *tx, void *arg)
{
    struct card_job *j = arg;
    struct cd_payment p;
    int rc;

    j->status = CD_WEBHOOK_PROCESSED;
    rc = cd_store_charge_card_put(tx, &j->cc);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_store_payment_by_charge(tx, j->cc.charge, &p);
    if (rc == CD_STORE_NOT_FOUND)
        rc = cd_store_payment_by_payment_intent(tx, j->cc.payment_intent, &p);
    if (rc == CD_STORE_NOT_FOUND)
        return 0; /* the completion takes it from charge_cards */
    if (rc != CD_STORE_OK || !fill_payment(&p, &j->cc))
        return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
    cd_debug(MOD, "event %s: card of %s written to its payment",
             j->event_id ? j->event_id : "-", j->cc.payment_intent);
    return cd_store_payment_update(tx, &p) == CD_STORE_OK ? 0
                                                          : CD_STORE_ERROR;
}

#define CARD_FAILED "The event could not be applied; retry."

int cd_charge_prep_charge(struct cd_billing *b, const char *event_id,
                          const char *type, const json_t *obj,
                          struct cd_event_job *job, const char **status_out,
                          struct cd_error *err)
{
    struct card_job *j;
    const char *last4 = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "payment_method_details"),
                        "card"),
        "last4"));
    const char *st = json_string_value(json_object_get(obj, "status"));
    char charge[CD_SID_SZ], pi[CD_SID_SZ];

    (void)b;
    (void)type;
    memset(job, 0, sizeof(*job));
    *status_out = CD_WEBHOOK_IGNORED;
    /* Only the charge that paid: a declined one before it (the same
     * PaymentIntent, another card) must not become the payment's charge,
     * or that charge's refunds would be taken for another's. */
    if (!st || strcmp(st, "succeeded") != 0)
        return 1;
    if (cd_stripe_str_or_id(obj, "id", charge, sizeof(charge)) ||
        cd_stripe_str_or_id(obj, "payment_intent", pi, sizeof(pi)) ||
        !is_last4(last4))
        return 1; /* nothing we can use */
    if (!(j = calloc(1, sizeof(*j))))
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "out of memory");
    cd_strlcpy(j->cc.charge, charge, sizeof(j->cc.charge));
    cd_strlcpy(j->cc.payment_intent, pi, sizeof(j->cc.payment_intent));
    cd_strlcpy(j->cc.last4, last4, sizeof(j->cc.last4));
    j->cc.created_at = cd_now();
    j->event_id = event_id;
    job->fn = card_fn;
    job->arg = j;
    job->status = &j->status;
    job->mem = j;
    job->failed = CARD_FAILED;
    return 0;
}

int cd_charge_on_charge(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err)
{
    struct cd_event_job job;
    int rc = cd_charge_prep_charge(b, event_id, type, obj, &job, status_out,
                                   err);

    if (rc != 0)
        return rc > 0 ? 0 : -1;
    rc = cd_store_write(b->store, job.fn, job.arg);
    free(job.mem);
    if (rc != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            CARD_FAILED);
    *status_out = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_charge_card_for(struct cd_tx *tx, struct cd_paid *paid)
{
    struct cd_charge_card cc;
    int rc;

    if (!paid->pi[0] || (paid->last4[0] && paid->charge[0]))
        return CD_STORE_OK;
    memset(&cc, 0, sizeof(cc));
    rc = cd_store_charge_card_get(tx, paid->pi, &cc);
    if (rc == CD_STORE_NOT_FOUND)
        return CD_STORE_OK;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (!paid->last4[0])
        cd_strlcpy(paid->last4, cc.last4, sizeof(paid->last4));
    if (!paid->charge[0])
        cd_strlcpy(paid->charge, cc.charge, sizeof(paid->charge));
    return CD_STORE_OK;
}

/* ---- invoice_payment.paid: the PaymentIntent of an invoice --------------- */

struct ip_job {
    const char *event_id;
    const char *type;
    struct cd_invoice_payment ip;
    const char *status;
};

/* The period's order and payment row get the PaymentIntent (and the card
 * a charge event kept for it) where they have none; nothing is replaced. */
static int ip_fill_tx(struct cd_tx *tx, struct cd_order *o, const char *pi,
                      int64_t now)
{
    struct cd_paid card;
    struct cd_payment p;
    int rc, changed = 0;

    if (!o->stripe_payment_intent_id[0]) {
        cd_strlcpy(o->stripe_payment_intent_id, pi,
                   sizeof(o->stripe_payment_intent_id));
        o->updated_at = now;
        if (cd_store_order_update(tx, o) != CD_STORE_OK)
            return CD_STORE_ERROR;
    }
    rc = cd_store_payment_by_order(tx, o->id, &p);
    if (rc != CD_STORE_OK)
        return rc == CD_STORE_NOT_FOUND ? CD_STORE_OK : CD_STORE_ERROR;
    if (p.stripe_payment_intent_id[0] &&
        strcmp(p.stripe_payment_intent_id, pi) != 0)
        return CD_STORE_OK; /* another payment's: left alone */
    memset(&card, 0, sizeof(card));
    cd_strlcpy(card.pi, pi, sizeof(card.pi));
    if (cd_charge_card_for(tx, &card) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (!p.stripe_payment_intent_id[0]) {
        cd_strlcpy(p.stripe_payment_intent_id, pi,
                   sizeof(p.stripe_payment_intent_id));
        changed = 1;
    }
    if (!p.last4[0] && card.last4[0]) {
        cd_strlcpy(p.last4, card.last4, sizeof(p.last4));
        changed = 1;
    }
    if (!p.stripe_charge_id[0] && card.charge[0]) {
        cd_strlcpy(p.stripe_charge_id, card.charge,
                   sizeof(p.stripe_charge_id));
        changed = 1;
    }
    if (!changed)
        return CD_STORE_OK;
    return cd_store_payment_update(tx, &p) == CD_STORE_OK ? CD_STORE_OK
                                                          : CD_STORE_ERROR;
}

static int ip_fn(struct cd_tx *tx, void *arg)
{
    struct ip_job *j = arg;
    struct cd_order o;
    int rc;

    /* the event id, as order_credit.c records it (not called from here:
     * it calls into this file) */
    rc = j->event_id ? cd_store_event_insert(tx, j->event_id, j->type,
                                             j->ip.created_at)
                     : CD_STORE_OK;
    if (rc == CD_STORE_DUPLICATE) {
        j->status = CD_WEBHOOK_DUPLICATE;
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->status = CD_WEBHOOK_PROCESSED;
    if (cd_store_invoice_payment_put(tx, &j->ip) != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_store_order_by_invoice(tx, j->ip.invoice, &o);
    if (rc == CD_STORE_NOT_FOUND)
        return 0; /* invoice.paid takes it from invoice_payments */
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    return ip_fill_tx(tx, &o, j->ip.payment_intent, j->ip.created_at);
}

int cd_charge_invoice_pi_ask(struct cd_billing *b, const char *invoice_id)
{
    struct ip_job j;
    struct cd_error err;
    json_t *params, *resp;
    int rc;

    if (!b->stripe || strncmp(invoice_id, "in_", 3) != 0 ||
        !cd_stripe_safe_id(invoice_id))
        return 1;
    params = json_pack("{s:s, s:s, s:i}", "invoice", invoice_id, "status",
                       "paid", "limit", 1);
    cd_error_clear(&err);
    rc = stripe_get(b, "/v1/invoice_payments", params, &resp, &err);
    json_decref(params);
    if (rc != 0)
        return rc < 0 ? -1 : 1;
    memset(&j, 0, sizeof(j));
    invoice_payment_pi(json_array_get(json_object_get(resp, "data"), 0),
                       j.ip.payment_intent);
    json_decref(resp);
    if (!j.ip.payment_intent[0])
        return 1;
    cd_strlcpy(j.ip.invoice, invoice_id, sizeof(j.ip.invoice));
    j.ip.created_at = cd_now();
    return cd_store_write(b->store, ip_fn, &j) == 0 ? 0 : -1;
}

int cd_charge_on_invoice_payment(struct cd_billing *b, const char *event_id,
                                 const char *type, const json_t *obj,
                                 const char **status_out,
                                 struct cd_error *err)
{
    struct ip_job j;
    char status[32] = "";

    *status_out = CD_WEBHOOK_IGNORED;
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    cd_stripe_str_or_id(obj, "status", status, sizeof(status));
    cd_stripe_str_or_id(obj, "invoice", j.ip.invoice, sizeof(j.ip.invoice));
    invoice_payment_pi(obj, j.ip.payment_intent);
    if (strcmp(status, "paid") != 0 || strncmp(j.ip.invoice, "in_", 3) != 0 ||
        !cd_stripe_safe_id(j.ip.invoice) || !j.ip.payment_intent[0])
        return 0; /* nothing we can use: not recorded */
    j.ip.created_at = cd_now();
    if (cd_store_write(b->store, ip_fn, &j) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    cd_debug(MOD, "event %s: invoice %s paid by %s: %s",
             event_id ? event_id : "-", j.ip.invoice, j.ip.payment_intent,
             j.status);
    *status_out = j.status;
    return 0;
}
