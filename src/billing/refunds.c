/*
 * refunds.c - admin refunds and the refund events (charge.refunded,
 * refund.created / .updated / .failed, charge.refund.updated); see
 * refunds.h for the admin side, clawback.h for what a refund takes, and
 * order_credit.h for the shape every event handler shares.
 *
 * Every refund of an order is a row (store.h struct cd_refund), by Stripe
 * id once known. Its status only moves forward - requested, then pending
 * or requires_action, then succeeded, then failed or canceled - so events
 * in any order leave the newest state. charge.refunded adds the charge's
 * cumulative amount_refunded (the highest seen is kept) for refunds
 * Stripe reports no other way.
 */
#include "billing/refunds.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/charges.h"
#include "billing/clawback.h"
#include "billing/order_credit.h"
#include "billing/order_open.h"
#include "billing/order_status.h"
#include "billing/outbox.h"
#include "billing/stripe_call.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "refunds"

/* ---- a refund's state ------------------------------------------------------ */

static int status_rank(const char *s)
{
    if (strcmp(s, "requested") == 0)
        return 0;
    if (strcmp(s, "pending") == 0 || strcmp(s, "requires_action") == 0)
        return 1;
    if (strcmp(s, "succeeded") == 0)
        return 2;
    if (strcmp(s, "failed") == 0 || strcmp(s, "canceled") == 0)
        return 3;
    return -1; /* not a status we know */
}

/* Moves r's status to `to` when that is a step forward (or between the
 * two in-flight states); 1 when it moved. */
static int advance(struct cd_refund *r, const char *to)
{
    int from = status_rank(r->status), next = status_rank(to);

    if (next < 0 || next < from ||
        (next == from && (next != 1 || !strcmp(r->status, to))))
        return 0;
    cd_strlcpy(r->status, to, sizeof(r->status));
    return 1;
}

/* What we use of a Stripe Refund object, bounded ("" / 0: absent). */
struct refund_obj {
    char id[CD_SID_SZ];
    int64_t amount;
    char status[CD_STATUS_SZ];
    char charge[CD_SID_SZ];
    char pi[CD_SID_SZ];
    char order_id[CD_ID_SZ];  /* metadata.order_id */
    char refund_id[CD_ID_SZ]; /* metadata.refund_id: ours */
    char failure[64];         /* failure_reason */
    char currency[CD_CUR_SZ]; /* "" when absent */
};

static int parse_refund(const json_t *o, struct refund_obj *r)
{
    const json_t *a = json_object_get(o, "amount");
    const json_t *meta = json_object_get(o, "metadata");

    memset(r, 0, sizeof(*r));
    cd_stripe_str_or_id(o, "id", r->id, sizeof(r->id));
    cd_stripe_str_or_id(o, "status", r->status, sizeof(r->status));
    cd_stripe_str_or_id(o, "charge", r->charge, sizeof(r->charge));
    cd_stripe_str_or_id(o, "payment_intent", r->pi, sizeof(r->pi));
    cd_stripe_str_or_id(o, "failure_reason", r->failure, sizeof(r->failure));
    cd_stripe_str_or_id(o, "currency", r->currency, sizeof(r->currency));
    if (json_is_object(meta)) {
        cd_stripe_str_or_id(meta, "order_id", r->order_id,
                            sizeof(r->order_id));
        cd_stripe_str_or_id(meta, "refund_id", r->refund_id,
                            sizeof(r->refund_id));
    }
    if (json_is_integer(a))
        r->amount = json_integer_value(a);
    if (strncmp(r->id, "re_", 3) != 0 || r->amount <= 0 ||
        r->amount > CD_AMOUNT_MAX || status_rank(r->status) < 1)
        return -1;
    return 0;
}

/* 1 when the refund is in another currency than its order: its amount is
 * in other units, so it is not applied (logged), as charge.refunded. */
static int foreign_refund(const struct cd_order *o,
                          const struct refund_obj *ro)
{
    if (!ro->currency[0] || strcasecmp(ro->currency, o->currency) == 0)
        return 0;
    cd_error(MOD,
             "refund %s of %" PRId64 " %s does not match order %s (%s): "
             "not applied",
             ro->id, ro->amount, ro->currency, o->id, o->currency);
    return 1;
}

/* refund.applied: the refund r of order o has succeeded (once: when its
 * row first reaches that status). */
static int applied_tx(struct cd_tx *tx, const struct cd_order *o,
                      const struct cd_refund *r)
{
    return cd_outbox_emit_tx(
        tx, o->account_id, "refund.applied",
        json_pack("{ss ss sI ss so}", "refund_id", r->id, "stripe_refund_id",
                  r->stripe_refund_id, "amount_cents",
                  (json_int_t)r->amount_cents, "currency", o->currency,
                  "order", cd_outbox_order_data(o)));
}

/* Inside a job: the refund r of order o as Stripe reports it, into its
 * row - found by Stripe id, else ours by metadata.refund_id, else new. */
static int upsert_refund_tx(struct cd_tx *tx, const struct cd_order *o,
                            const struct refund_obj *ro, int64_t now)
{
    struct cd_refund r;
    int was, rc = cd_store_refund_by_stripe(tx, ro->id, &r);

    if (rc == CD_STORE_NOT_FOUND && ro->refund_id[0]) {
        rc = cd_store_refund_get(tx, ro->refund_id, &r);
        if (rc == CD_STORE_OK &&
            (strcmp(r.order_id, o->id) != 0 || r.stripe_refund_id[0]))
            rc = CD_STORE_NOT_FOUND; /* not that one: a new row */
    }
    if (rc == CD_STORE_NOT_FOUND) {
        memset(&r, 0, sizeof(r));
        if (cd_strlcpy(r.id, ro->id, sizeof(r.id)) != 0)
            cd_random_id("rfd_", r.id, sizeof(r.id));
        cd_strlcpy(r.order_id, o->id, sizeof(r.order_id));
        cd_strlcpy(r.stripe_refund_id, ro->id, sizeof(r.stripe_refund_id));
        r.amount_cents = ro->amount;
        cd_strlcpy(r.status, ro->status, sizeof(r.status));
        cd_strlcpy(r.reason, ro->failure, sizeof(r.reason));
        r.created_at = r.updated_at = now;
        rc = cd_store_refund_insert(tx, &r);
        if (rc == CD_STORE_OK && strcmp(r.status, "succeeded") == 0)
            rc = applied_tx(tx, o, &r);
        return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    was = strcmp(r.status, "succeeded") == 0;
    cd_strlcpy(r.stripe_refund_id, ro->id, sizeof(r.stripe_refund_id));
    r.amount_cents = ro->amount;
    if (advance(&r, ro->status) && ro->failure[0])
        cd_strlcpy(r.reason, ro->failure, sizeof(r.reason));
    r.updated_at = now;
    rc = cd_store_refund_update(tx, &r);
    if (rc == CD_STORE_OK && !was && strcmp(r.status, "succeeded") == 0)
        rc = applied_tx(tx, o, &r);
    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}

/* ---- POST /v1/admin/orders/{id}/refund ------------------------------------ */

enum ask_outcome {
    ASK_OK,
    ASK_NO_ORDER,
    ASK_NOT_REFUNDABLE,
    ASK_NO_PAYMENT,
    ASK_NOTHING_LEFT,
    ASK_TOO_MUCH,
    ASK_OTHER_REFUND,
};

struct ask_job {
    const char *order_id;
    int64_t amount; /* 0: the rest */
    const char *refund_id;
    int64_t now;
    enum ask_outcome why; /* out */
    struct cd_order o;
    struct cd_refund r;
    char pi[CD_SID_SZ];
    int64_t left;
};

/* The PaymentIntent to refund: the order's, else its payment's. */
static int refund_pi(struct cd_tx *tx, struct ask_job *j)
{
    struct cd_payment p;
    int rc;

    cd_strlcpy(j->pi, j->o.stripe_payment_intent_id, sizeof(j->pi));
    if (!j->pi[0]) {
        rc = cd_store_payment_by_order(tx, j->o.id, &p);
        if (rc == CD_STORE_OK)
            cd_strlcpy(j->pi, p.stripe_payment_intent_id, sizeof(j->pi));
        else if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    if (!j->pi[0] || !cd_stripe_safe_id(j->pi))
        j->why = ASK_NO_PAYMENT;
    return CD_STORE_OK;
}

/* A new refund of order j->o: checks what is left and inserts the row. */
static int ask_new(struct cd_tx *tx, struct ask_job *j)
{
    struct cd_refund_sums rs;
    int64_t done;

    if (!cd_order_is(&j->o, CD_ORDER_COMPLETED) &&
        !cd_order_is(&j->o, CD_ORDER_PARTIALLY_REFUNDED)) {
        j->why = ASK_NOT_REFUNDABLE;
        return 0;
    }
    if (refund_pi(tx, j) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (j->why != ASK_OK)
        return 0;
    if (cd_store_refund_sums(tx, j->o.id, &rs) != CD_STORE_OK)
        return CD_STORE_ERROR;
    done = j->o.refund_level_cents > rs.reserved ? j->o.refund_level_cents
                                                 : rs.reserved;
    j->left = j->o.amount_cents - done;
    if (j->left <= 0) {
        j->why = ASK_NOTHING_LEFT;
        return 0;
    }
    if (j->amount > j->left) {
        j->why = ASK_TOO_MUCH;
        return 0;
    }
    memset(&j->r, 0, sizeof(j->r));
    cd_strlcpy(j->r.id, j->refund_id, sizeof(j->r.id));
    cd_strlcpy(j->r.order_id, j->o.id, sizeof(j->r.order_id));
    j->r.amount_cents = j->amount ? j->amount : j->left;
    cd_strlcpy(j->r.status, "requested", sizeof(j->r.status));
    j->r.created_at = j->r.updated_at = j->now;
    return cd_store_refund_insert(tx, &j->r) == CD_STORE_OK ? 0
                                                            : CD_STORE_ERROR;
}

static int ask_fn(struct cd_tx *tx, void *arg)
{
    struct ask_job *j = arg;
    int rc;

    j->why = ASK_OK;
    rc = cd_store_order_get(tx, j->order_id, &j->o);
    if (rc == CD_STORE_NOT_FOUND) {
        j->why = ASK_NO_ORDER;
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_store_refund_get(tx, j->refund_id, &j->r);
    if (rc == CD_STORE_NOT_FOUND)
        return ask_new(tx, j);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* The retried request's refund: asked of Stripe again, same key -
     * only while Stripe surely still knows that key (refunds.h). */
    if (strcmp(j->r.order_id, j->o.id) != 0 ||
        (j->amount && j->amount != j->r.amount_cents) ||
        j->r.created_at < j->now - CD_REFUND_RESEND_S) {
        j->why = ASK_OTHER_REFUND;
        return 0;
    }
    return refund_pi(tx, j);
}

static int ask_error(const struct ask_job *j, struct cd_error *err)
{
    switch (j->why) {
    case ASK_NO_ORDER:
        return cd_error_set(err, CD_EK_NOT_FOUND, "order_not_found", NULL,
                            "No such order.");
    case ASK_NOT_REFUNDABLE:
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable", NULL,
                            "The order is %s: only completed or partially "
                            "refunded orders can be refunded.",
                            j->o.status);
    case ASK_NO_PAYMENT:
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable", NULL,
                            "The order has no Stripe payment to "
                            "refund.");
    case ASK_NOTHING_LEFT:
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable", NULL,
                            "The order is refunded in full.");
    case ASK_TOO_MUCH:
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "amount_cents",
                            "amount_cents is more than what is left to "
                            "refund (%" PRId64 ").",
                            j->left);
    case ASK_OTHER_REFUND:
        return cd_error_set(err, CD_EK_CONFLICT, "idempotency_key_reused",
                            NULL,
                            "This Idempotency-Key was used for another "
                            "refund, or more than 23 hours ago.");
    case ASK_OK:
        break;
    }
    return 0;
}

/* Stripe's answer about refund refund_id, and the order settled on it. */
struct answer_job {
    const char *refund_id;
    const struct refund_obj *ro; /* the refund Stripe made, or NULL */
    const char *failure;         /* else: why the call failed */
    int final;                   /* ... and Stripe surely did nothing */
};

static int answer_fn(struct cd_tx *tx, void *arg)
{
    struct answer_job *j = arg;
    struct cd_refund r;
    struct cd_order o;
    int64_t now = cd_now();

    if (cd_store_refund_get(tx, j->refund_id, &r) != CD_STORE_OK ||
        cd_store_order_get(tx, r.order_id, &o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (j->ro)
        return upsert_refund_tx(tx, &o, j->ro, now) == CD_STORE_OK
                   ? cd_clawback_settle_tx(tx, &o, "refund", now)
                   : CD_STORE_ERROR;
    cd_strlcpy(r.reason, j->failure, sizeof(r.reason));
    if (j->final && strcmp(r.status, "requested") == 0)
        cd_strlcpy(r.status, "failed", sizeof(r.status));
    r.updated_at = now;
    return cd_store_refund_update(tx, &r) == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

/* POST /v1/refunds for the asked refund (outside any transaction) and its
 * answer recorded. 0 with *out, or -1 with err. */
static int ask_stripe(struct cd_billing *b, const struct ask_job *j,
                      struct cd_refund_result *out, struct cd_error *err)
{
    struct answer_job aj = {j->r.id, NULL, NULL, 0};
    struct refund_obj ro;
    char idem[CD_ID_SZ + 16];
    json_t *params, *resp = NULL;
    struct cd_error serr;
    int rc, http = 0;

    params = json_pack("{s:s, s:I, s:{s:s, s:s}}", "payment_intent", j->pi,
                       "amount", (json_int_t)j->r.amount_cents, "metadata",
                       "order_id", j->o.id, "refund_id", j->r.id);
    _Static_assert(sizeof("refund:") + sizeof(j->r.id) - 1 <= sizeof(idem),
                   "refund:<id> fits its Stripe Idempotency-Key");
    snprintf(idem, sizeof(idem), "refund:%s", j->r.id);
    rc = cd_billing_stripe_post(b, "/v1/refunds", params, idem, &resp, &http,
                                &serr);
    json_decref(params);
    if (rc == 0 && parse_refund(resp, &ro) != 0) {
        cd_error_set(&serr, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "Stripe: the refund has no id, amount or status.");
        rc = -1;
    }
    json_decref(resp);
    if (rc == 0) {
        aj.ro = &ro;
    } else {
        cd_warn(MOD, "order %s: refund %s of %" PRId64 " failed: %s", j->o.id,
                j->r.id, j->r.amount_cents, serr.message);
        aj.failure = serr.message[0] ? serr.message : "Stripe request failed";
        aj.final = cd_stripe_failure_is_final(http);
    }
    if (cd_store_write(b->store, answer_fn, &aj) != 0)
        cd_error(MOD, "refund %s: could not record Stripe's answer", j->r.id);
    if (rc != 0)
        return cd_billing_stripe_error(err, &serr);
    cd_strlcpy(out->order_id, j->o.id, sizeof(out->order_id));
    cd_strlcpy(out->refund_id, ro.id, sizeof(out->refund_id));
    out->amount_cents = ro.amount;
    cd_strlcpy(out->status, ro.status, sizeof(out->status));
    cd_info(MOD, "order %s: refund %s (%s) of %" PRId64 " %s (%s)", j->o.id,
            j->r.id, ro.id, ro.amount, j->o.currency, ro.status);
    return 0;
}

int cd_refund_create(struct cd_billing *b, const char *order_id,
                     int64_t amount_cents, const char *refund_id,
                     struct cd_refund_result *out, struct cd_error *err)
{
    struct ask_job j;
    char rid[CD_ID_SZ];

    memset(out, 0, sizeof(*out));
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (!order_id || !order_id[0] || strlen(order_id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "order_not_found", NULL,
                            "No such order.");
    if (amount_cents < 0 || amount_cents > CD_AMOUNT_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "amount_cents", "amount_cents is not valid.");
    if (refund_id && refund_id[0])
        cd_strlcpy(rid, refund_id, sizeof(rid));
    else
        cd_random_id("rfd_", rid, sizeof(rid));
    memset(&j, 0, sizeof(j));
    j.order_id = order_id;
    j.amount = amount_cents;
    j.refund_id = rid;
    j.now = cd_now();
    if (cd_store_write(b->store, ask_fn, &j) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not record the refund.");
    /* A subscription period whose invoice_payment.paid has not come (the
     * webhook never asks Stripe): ask now, then once more. */
    if (j.why == ASK_NO_PAYMENT && j.o.stripe_invoice_id[0] &&
        cd_charge_invoice_pi_ask(b, j.o.stripe_invoice_id) == 0 &&
        cd_store_write(b->store, ask_fn, &j) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not record the refund.");
    if (j.why != ASK_OK)
        return ask_error(&j, err);
    return ask_stripe(b, &j, out, err);
}

/* ---- refund.* and charge.refund.updated ----------------------------------- */

struct refund_event_job {
    const char *event_id;
    const char *type;
    const char *order_id;
    const struct refund_obj *ro;
    const char *status; /* out */
};

static int refund_event_fn(struct cd_tx *tx, void *arg)
{
    struct refund_event_job *j = arg;
    struct cd_order o;
    int64_t now = cd_now();
    int rc;

    rc = cd_order_event_open_tx(tx, j->event_id, j->type, j->order_id, &o,
                                &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (foreign_refund(&o, j->ro))
        return 0;
    if (upsert_refund_tx(tx, &o, j->ro, now) != CD_STORE_OK ||
        cd_clawback_settle_tx(tx, &o, "refund", now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->status = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_refund_on_refund(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err)
{
    struct refund_obj ro;
    struct refund_event_job j;
    char order_id[CD_ID_SZ];
    int rc;

    *status_out = CD_WEBHOOK_IGNORED;
    if (parse_refund(obj, &ro) != 0)
        return 0; /* not a refund we can read: nothing to do */
    rc = cd_charge_locate_order(b, ro.charge, ro.pi, ro.order_id, order_id,
                                err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        cd_debug(MOD,
                 "event %s: refund %s is of no order here; not "
                 "recorded",
                 event_id ? event_id : "-", ro.id);
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    j.order_id = order_id;
    j.ro = &ro;
    return cd_order_event_run(b, refund_event_fn, &j, event_id, type,
                              &j.status, status_out, err);
}

/* ---- charge.refunded ------------------------------------------------------ */

struct charge_obj {
    char id[CD_SID_SZ];
    char pi[CD_SID_SZ];
    char order_id[CD_ID_SZ]; /* metadata.order_id */
    char currency[CD_CUR_SZ];
    int64_t amount;
    int64_t amount_refunded;
    const json_t *refunds; /* refunds.data when the charge carries it */
};

struct charge_job {
    const char *event_id;
    const char *order_id;
    const struct charge_obj *c;
    const char *status; /* out */
};

/* The refunds a charge lists (older API versions, expanded charges). */
static int listed_refunds_tx(struct cd_tx *tx, const struct cd_order *o,
                             const json_t *list, int64_t now)
{
    struct refund_obj ro;
    size_t i;

    for (i = 0; i < json_array_size(list) && i < 100; i++)
        if (parse_refund(json_array_get(list, i), &ro) == 0 &&
            !foreign_refund(o, &ro) &&
            upsert_refund_tx(tx, o, &ro, now) != CD_STORE_OK)
            return CD_STORE_ERROR;
    return CD_STORE_OK;
}

static int charge_refunded_fn(struct cd_tx *tx, void *arg)
{
    struct charge_job *j = arg;
    const struct charge_obj *c = j->c;
    struct cd_order o;
    struct cd_payment p;
    int64_t now = cd_now();
    int rc, is_new;

    rc = cd_order_event_open_tx(tx, j->event_id, "charge.refunded",
                                j->order_id, &o, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (c->amount != o.amount_cents ||
        strcasecmp(c->currency, o.currency) != 0) {
        cd_error(MOD,
                 "event %s: charge %s of %" PRId64 " %s does not match "
                 "order %s (%" PRId64 " %s): refund not applied",
                 j->event_id ? j->event_id : "-", c->id, c->amount,
                 c->currency, o.id, o.amount_cents, o.currency);
        return 0;
    }
    if (cd_charge_payment_for(tx, &o, c->pi, c->id, now, &p, &is_new) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (p.stripe_charge_id[0] && strcmp(p.stripe_charge_id, c->id) != 0) {
        cd_warn(MOD,
                "event %s: charge %s is not order %s's charge %s: "
                "ignored",
                j->event_id ? j->event_id : "-", c->id, o.id,
                p.stripe_charge_id);
        return 0;
    }
    if (cd_charge_payment_save(tx, &p, is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (c->amount_refunded > o.refund_level_cents)
        o.refund_level_cents = c->amount_refunded;
    if (!o.stripe_payment_intent_id[0] && c->pi[0])
        cd_strlcpy(o.stripe_payment_intent_id, c->pi,
                   sizeof(o.stripe_payment_intent_id));
    if (listed_refunds_tx(tx, &o, c->refunds, now) != CD_STORE_OK ||
        cd_clawback_settle_tx(tx, &o, "refund", now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->status = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_refund_on_charge_refunded(struct cd_billing *b, const char *event_id,
                                 const json_t *obj, const char **status_out,
                                 struct cd_error *err)
{
    struct charge_obj c;
    struct charge_job j;
    char order_id[CD_ID_SZ];
    const json_t *a = json_object_get(obj, "amount");
    const json_t *ar = json_object_get(obj, "amount_refunded");
    int rc;

    *status_out = CD_WEBHOOK_IGNORED;
    memset(&c, 0, sizeof(c));
    cd_stripe_str_or_id(obj, "id", c.id, sizeof(c.id));
    cd_stripe_str_or_id(obj, "payment_intent", c.pi, sizeof(c.pi));
    cd_stripe_str_or_id(obj, "currency", c.currency, sizeof(c.currency));
    cd_stripe_str_or_id(json_object_get(obj, "metadata"), "order_id",
                        c.order_id, sizeof(c.order_id));
    c.refunds = json_object_get(json_object_get(obj, "refunds"), "data");
    if (!c.id[0] || !json_is_integer(a) || !json_is_integer(ar))
        return 0; /* not a charge we can read: nothing to do */
    c.amount = json_integer_value(a);
    c.amount_refunded = json_integer_value(ar);
    if (c.amount <= 0 || c.amount > CD_AMOUNT_MAX || c.amount_refunded < 0 ||
        c.amount_refunded > c.amount) {
        cd_warn(MOD, "event %s: charge %s has impossible amounts: ignored",
                event_id ? event_id : "-", c.id);
        return 0;
    }
    rc = cd_charge_locate_order(b, c.id, c.pi, c.order_id, order_id, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        cd_debug(MOD, "event %s: charge %s pays no order here; not recorded",
                 event_id ? event_id : "-", c.id);
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.order_id = order_id;
    j.c = &c;
    return cd_order_event_run(b, charge_refunded_fn, &j, event_id,
                              "charge.refunded", &j.status, status_out, err);
}
