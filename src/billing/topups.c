/*
 * topups.c - off-session top-ups (sent again after a day only once
 * Stripe was asked whether it charged: topup_lookup.h), and the
 * payment_intent.* events that fulfil them and the PaymentIntents of
 * payment_intents.c; see topups.h and order_credit.h.
 *
 * A PaymentIntent event acts only on an order without a Checkout session:
 * Checkout's own PaymentIntents (they carry metadata.order_id too) are
 * Checkout's business - its session events fulfil them, and a declined
 * attempt inside Checkout must not fail an order the buyer can still pay.
 * Such events, and events naming no order of ours, are answered "ignored"
 * without a write. If a Checkout order's PaymentIntent event ever fulfils
 * it (the crash window in which the session id is not stored yet), the
 * ledger ref "order:<id>:fulfil" is the same, so it still credits once.
 */
#include "billing/topups.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/checkout.h"
#include "billing/order_credit.h"
#include "billing/order_open.h"
#include "billing/order_status.h"
#include "billing/outbox.h"
#include "billing/orders.h"
#include "billing/pricing.h"
#include "billing/problems.h"
#include "billing/stripe_call.h"
#include "billing/topup_lookup.h"
#include "billing/topups_int.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "topups"

/* ---- the order (topups_int.h) --------------------------------------------- */

void cd_topup_new_order(struct cd_order *o, const char *id,
                        const struct cd_account *acct, const char *kind,
                        int64_t amount, int64_t credits, const char *currency,
                        const char *description)
{
    memset(o, 0, sizeof(*o));
    if (id && id[0])
        cd_strlcpy(o->id, id, sizeof(o->id));
    else
        cd_random_id("ord_", o->id, sizeof(o->id));
    cd_strlcpy(o->account_id, acct->id, sizeof(o->account_id));
    cd_strlcpy(o->kind, kind, sizeof(o->kind));
    (void)cd_order_set_status(o, CD_ORDER_PENDING);
    o->amount_cents = amount;
    o->credits = credits;
    cd_strlcpy(o->currency, currency, sizeof(o->currency));
    cd_strlcpy(o->description, description, sizeof(o->description));
    /* kept with the order: a retry names the first attempt's customer */
    cd_strlcpy(o->stripe_customer_id, acct->stripe_customer_id,
               sizeof(o->stripe_customer_id));
    o->created_at = o->updated_at = cd_now();
}

int cd_topup_post_pi(struct cd_billing *b, const struct cd_order *o,
                     const json_t *params, const char *idem_kind, int64_t gen,
                     json_t **resp, struct cd_error *err)
{
    struct cd_order_outcome oc;
    char idem[CD_ID_SZ + 64];
    struct cd_error serr;
    const char *pi_id;
    int rc, http = 0;

    /* generation 0 is the first key; later ones: topup_lookup.h */
    if (gen > 0)
        snprintf(idem, sizeof(idem), "%s:%s:create:r%" PRId64, idem_kind,
                 o->id, gen);
    else
        snprintf(idem, sizeof(idem), "%s:%s:create", idem_kind, o->id);
    rc = cd_billing_stripe_post(b, "/v1/payment_intents", params, idem, resp,
                                &http, &serr);
    if (rc != 0 && serr.kind == CD_EK_PAYMENT)
        return 1;
    if (rc == 0) {
        pi_id = json_string_value(json_object_get(*resp, "id"));
        if (!pi_id || !cd_stripe_safe_id(pi_id) ||
            strlen(pi_id) >= CD_SID_SZ) {
            cd_error_set(&serr, CD_EK_UPSTREAM, "stripe_error", NULL,
                         "Stripe: the payment intent has no id.");
            rc = -1;
        }
    }
    if (rc == 0)
        return 0;
    cd_warn(MOD, "order %s: creating the payment intent failed: %s", o->id,
            serr.message);
    memset(&oc, 0, sizeof(oc));
    oc.failure = serr.message[0] ? serr.message : "Stripe request failed";
    oc.final = cd_stripe_failure_is_final(http);
    cd_order_record_outcome(b, o->id, &oc);
    return cd_billing_stripe_error(err, &serr);
}

int cd_topup_record_pi(struct cd_billing *b, const char *order_id,
                       const char *pi_id, struct cd_error *err)
{
    struct cd_order_outcome oc;

    memset(&oc, 0, sizeof(oc));
    oc.pi = pi_id;
    if (cd_order_record_outcome(b, order_id, &oc) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not record the payment intent.");
    return 0;
}

/* ---- POST /v1/topups ------------------------------------------------------ */

static int no_saved_card(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_CONFLICT, "no_saved_payment_method", NULL,
                        "This account has no saved card: buy once with "
                        "Checkout first.");
}

/* The first card PaymentMethod of the customer (GET /v1/payment_methods).
 * 0; 1 when there is none; -1 with err (502). */
static int saved_card(struct cd_billing *b, const char *customer, char *pm,
                      size_t pmsz, struct cd_error *err)
{
    json_t *params, *resp = NULL;
    struct cd_error serr;
    const char *id;
    int rc;

    params = json_pack("{s:s, s:s, s:i}", "customer", customer, "type",
                       "card", "limit", 1);
    if (!params)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    cd_error_clear(&serr);
    rc = cd_stripe_request(b->stripe, "GET", "/v1/payment_methods", params,
                           NULL, &resp, NULL, &serr);
    json_decref(params);
    if (rc != 0) {
        json_decref(resp);
        cd_warn(MOD, "listing the cards of %s failed: %s", customer,
                serr.message);
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL, "%s",
                            serr.message[0] ? serr.message
                                            : "Stripe request failed.");
    }
    id = json_string_value(json_object_get(
        json_array_get(json_object_get(resp, "data"), 0), "id"));
    rc = 1;
    if (id && id[0] && cd_stripe_safe_id(id) && cd_strlcpy(pm, id, pmsz) == 0)
        rc = 0;
    json_decref(resp);
    return rc;
}

int cd_topup_declined(struct cd_billing *b, const struct cd_order *o,
                      const json_t *resp, struct cd_error *err)
{
    const json_t *e = json_object_get(resp, "error");
    const char *dc = json_string_value(json_object_get(e, "decline_code"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    char pi[CD_SID_SZ] = "", ch[CD_SID_SZ] = "", reason[CD_DESC_SZ];
    struct cd_order_outcome oc;

    cd_stripe_str_or_id(e, "payment_intent", pi, sizeof(pi));
    cd_stripe_str_or_id(e, "charge", ch, sizeof(ch));
    if (!dc || !dc[0] || strlen(dc) > 64)
        dc = code && code[0] && strlen(code) <= 64 ? code : "declined";
    snprintf(reason, sizeof(reason), "%.300s (%s)",
             msg && msg[0] ? msg : "The card was declined.", dc);
    cd_info(MOD, "order %s: off-session charge declined (%s)", o->id, dc);
    memset(&oc, 0, sizeof(oc));
    oc.pi = pi;
    oc.charge = ch;
    oc.failure = reason;
    oc.final = 1;
    cd_order_record_outcome(b, o->id, &oc);
    return cd_error_set(err, CD_EK_PAYMENT, "card_declined", NULL,
                        "The saved card was declined (%s).", dc);
}

/* A retried request whose charge is known here already (its answer came
 * back, or its webhook did): the answer from the order, Stripe not asked
 * again. 0 with *out, or -1 with 402 card_declined for a declined one. */
static int answer_known(const struct cd_order *o, struct cd_topup_result *out,
                        struct cd_error *err)
{
    if (cd_order_is(o, CD_ORDER_FAILED))
        return cd_error_set(err, CD_EK_PAYMENT, "card_declined", NULL,
                            "The saved card was declined.");
    cd_strlcpy(out->order_id, o->id, sizeof(out->order_id));
    cd_strlcpy(out->payment_intent_id, o->stripe_payment_intent_id,
               sizeof(out->payment_intent_id));
    cd_strlcpy(out->status,
               cd_order_is(o, CD_ORDER_PENDING) ? "processing" : "succeeded",
               sizeof(out->status));
    cd_info(MOD, "order %s: retried request answered from the order (%s)",
            o->id, o->status);
    return 0;
}

/* Steps (2) and (3) of cd_topup_create: the off-session charge of pm and
 * its PaymentIntent on the open order o, under the Idempotency-Key of
 * generation gen; 0 with *out, or -1. */
static int charge_saved_card(struct cd_billing *b,
                             const struct cd_account *acct,
                             const struct cd_order *o, const char *pm,
                             int64_t gen, struct cd_topup_result *out,
                             struct cd_error *err)
{
    json_t *params = NULL, *resp = NULL;
    const char *pi_id;
    int rc, ret = -1;

    /* (2) the off-session charge, outside any transaction; a retry sends
     * the same key and parameters, so Stripe answers with the same
     * PaymentIntent instead of charging again */
    params = json_pack(
        "{s:I, s:s, s:s, s:s, s:b, s:b, s:[s], s:s, s:{s:s, s:s, s:s}}",
        "amount", (json_int_t)o->amount_cents, "currency", o->currency,
        "customer", o->stripe_customer_id, "payment_method", pm,
        "off_session", 1, "confirm", 1, "payment_method_types", "card",
        "description", o->description, "metadata", "order_id", o->id,
        "account_id", acct->id, "kind", "topup");
    rc = cd_topup_post_pi(b, o, params, "topup", gen, &resp, err);
    if (rc > 0) {
        cd_topup_declined(b, o, resp, err);
        goto out;
    }
    if (rc != 0)
        goto out;

    /* (3) the PaymentIntent id on the order */
    pi_id = json_string_value(json_object_get(resp, "id"));
    if (cd_topup_record_pi(b, o->id, pi_id, err) != 0)
        goto out;
    cd_strlcpy(out->order_id, o->id, sizeof(out->order_id));
    cd_strlcpy(out->payment_intent_id, pi_id, sizeof(out->payment_intent_id));
    cd_strlcpy(out->status, "processing", sizeof(out->status));
    cd_info(MOD, "order %s: off-session top-up %s for %" PRId64 " %s%s",
            o->id, pi_id, o->amount_cents, o->currency,
            gen > 0 ? " (sent again under a new key)" : "");
    ret = 0;
out:
    json_decref(params);
    json_decref(resp);
    return ret;
}

int cd_topup_create(struct cd_billing *b, const struct cd_account *acct,
                    int64_t amount_cents, const char *order_id,
                    struct cd_topup_result *out, struct cd_error *err)
{
    struct cd_checkout_req req;
    struct cd_checkout_quote q;
    struct cd_order o;
    char pm[CD_SID_SZ];
    int rc, existed = 0;

    memset(out, 0, sizeof(*out));
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    memset(&req, 0, sizeof(req));
    req.kind = "topup";
    req.amount_cents = amount_cents;
    if (cd_checkout_quote(b, &req, &q, err) != 0)
        return -1;
    if (!acct->stripe_customer_id[0] || !acct->has_saved_payment_method ||
        !cd_stripe_safe_id(acct->stripe_customer_id))
        return no_saved_card(err);
    rc = saved_card(b, acct->stripe_customer_id, pm, sizeof(pm), err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return no_saved_card(err);

    /* (1) the pending order (the first attempt's, on a retry) */
    cd_topup_new_order(&o, order_id, acct, "topup", q.amount_cents, q.credits,
                       b->cfg.currency, q.description);
    if (cd_order_open(b, &o, NULL, NULL, &existed, err) != 0)
        return -1;
    if (existed)
        return cd_topup_resume(b, acct, &o, out, err);
    return charge_saved_card(b, acct, &o, pm, 0, out, err);
}

/* ---- payment_intent.* events --------------------------------------------- */

enum pi_action { PI_NONE, PI_FULFIL, PI_FAIL };

/* What we use of a PaymentIntent, bounded ("" / 0: absent). */
struct pi_obj {
    char id[CD_SID_SZ];
    char status[32];
    int64_t amount;
    int64_t amount_received;
    char currency[CD_CUR_SZ];
    char order_id[CD_ID_SZ];     /* metadata.order_id */
    char meta_account[CD_ID_SZ]; /* metadata.account_id */
    char failure[CD_DESC_SZ];    /* from last_payment_error */
};

static void parse_pi(const json_t *o, struct pi_obj *p, struct cd_paid *paid)
{
    const json_t *meta = json_object_get(o, "metadata");
    const json_t *lpe = json_object_get(o, "last_payment_error");
    const json_t *ch = json_object_get(o, "latest_charge");
    const char *sfu = json_string_value(
        json_object_get(o, "setup_future_usage"));

    memset(p, 0, sizeof(*p));
    memset(paid, 0, sizeof(*paid));
    cd_stripe_str_or_id(o, "id", p->id, sizeof(p->id));
    cd_stripe_str_or_id(o, "status", p->status, sizeof(p->status));
    if (json_is_integer(json_object_get(o, "amount")))
        p->amount = json_integer_value(json_object_get(o, "amount"));
    if (json_is_integer(json_object_get(o, "amount_received")))
        p->amount_received = json_integer_value(
            json_object_get(o, "amount_received"));
    cd_stripe_str_or_id(o, "currency", p->currency, sizeof(p->currency));
    if (json_is_object(meta)) {
        cd_stripe_str_or_id(meta, "order_id", p->order_id,
                            sizeof(p->order_id));
        cd_stripe_str_or_id(meta, "account_id", p->meta_account,
                            sizeof(p->meta_account));
    }
    if (json_is_object(lpe)) {
        const char *msg = json_string_value(json_object_get(lpe, "message"));
        const char *dc = json_string_value(
            json_object_get(lpe, "decline_code"));
        const char *code = json_string_value(json_object_get(lpe, "code"));
        if (!dc || !dc[0])
            dc = code;
        snprintf(p->failure, sizeof(p->failure), "%.300s%s%.64s%s",
                 msg && msg[0] ? msg : "The payment failed.",
                 dc && dc[0] ? " (" : "", dc && dc[0] ? dc : "",
                 dc && dc[0] ? ")" : "");
    }
    cd_strlcpy(paid->pi, p->id, sizeof(paid->pi));
    cd_stripe_str_or_id(o, "customer", paid->customer,
                        sizeof(paid->customer));
    cd_stripe_str_or_id(o, "latest_charge", paid->charge,
                        sizeof(paid->charge));
    if (json_is_object(ch)) {
        const char *l4 = json_string_value(json_object_get(
            json_object_get(json_object_get(ch, "payment_method_details"),
                            "card"),
            "last4"));
        if (l4 && strlen(l4) < sizeof(paid->last4))
            cd_strlcpy(paid->last4, l4, sizeof(paid->last4));
    }
    paid->sfu_known = 1;
    paid->sfu_off_session = sfu && strcmp(sfu, "off_session") == 0;
}

struct pi_find {
    const struct pi_obj *p;
    struct cd_order o;
};

/* The order a PaymentIntent names: metadata.order_id, else the order
 * holding its id. */
static int find_pi_order(struct cd_tx *tx, void *arg)
{
    struct pi_find *f = arg;
    int rc = CD_STORE_NOT_FOUND;

    if (f->p->order_id[0])
        rc = cd_store_order_get(tx, f->p->order_id, &f->o);
    if (rc == CD_STORE_NOT_FOUND && f->p->id[0])
        rc = cd_store_order_by_payment_intent(tx, f->p->id, &f->o);
    return rc;
}

struct pi_job {
    const char *event_id;
    const char *type;
    enum pi_action act;
    const char *order_id;
    const struct pi_obj *p;
    const struct cd_paid *paid;
    const char *status; /* out */
};

static int pi_fail_tx(struct cd_tx *tx, struct pi_job *j, struct cd_order *o,
                      int64_t now)
{
    const char *reason = j->p->failure[0] ? j->p->failure
                                          : "The payment failed.";
    struct cd_order_patch failed = {
        .move = 1, .to = CD_ORDER_FAILED, .failure = reason};
    struct cd_payment pay;
    int rc, was_pending = cd_order_is(o, CD_ORDER_PENDING);

    if (!was_pending && !cd_order_is(o, CD_ORDER_FAILED)) {
        /* Completed (another attempt succeeded), refunded, ...: stays. */
        j->status = CD_WEBHOOK_IGNORED;
        return 0;
    }
    rc = cd_order_patch_tx(tx, o, &failed, now);
    if (rc == CD_STORE_OK && was_pending) /* once: when it fails */
        rc = cd_outbox_order_tx(tx, "payment.failed", o);
    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_store_payment_by_order(tx, o->id, &pay);
    if (rc == CD_STORE_OK) {
        if (strcmp(pay.status, "pending") == 0 ||
            strcmp(pay.status, "failed") == 0) {
            cd_strlcpy(pay.status, "failed", sizeof(pay.status));
            cd_strlcpy(pay.failure_reason, reason,
                       sizeof(pay.failure_reason));
            if (j->paid->charge[0])
                cd_strlcpy(pay.stripe_charge_id, j->paid->charge,
                           sizeof(pay.stripe_charge_id));
            rc = cd_store_payment_update(tx, &pay);
            if (rc != CD_STORE_OK)
                return rc;
        }
    } else if (rc == CD_STORE_NOT_FOUND) {
        cd_order_failed_payment(o, j->p->id, j->paid->charge, reason, now,
                                &pay);
        rc = cd_store_payment_insert(tx, &pay);
        if (rc != CD_STORE_OK && rc != CD_STORE_DUPLICATE)
            return rc;
    } else {
        return CD_STORE_ERROR;
    }
    cd_info(MOD, "order %s failed: %s", o->id, reason);
    j->status = CD_WEBHOOK_PROCESSED;
    return 0;
}

static int pi_job_fn(struct cd_tx *tx, void *arg)
{
    struct pi_job *j = arg;
    const struct pi_obj *p = j->p;
    struct cd_order o;
    int64_t now = cd_now(), paid_amount;
    int rc, dirty = 0;

    rc = cd_order_event_open_tx(tx, j->event_id, j->type, j->order_id, &o,
                                &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (o.stripe_session_id[0] || o.stripe_invoice_id[0])
        return 0; /* Checkout's (it stored its session meanwhile) */
    if (p->meta_account[0] && strcmp(p->meta_account, o.account_id) != 0) {
        cd_warn(MOD,
                "event %s: payment intent %s names account %s but "
                "order %s is %s's: ignored",
                j->event_id ? j->event_id : "-", p->id, p->meta_account, o.id,
                o.account_id);
        return 0;
    }
    if (o.stripe_payment_intent_id[0] &&
        strcmp(o.stripe_payment_intent_id, p->id) != 0) {
        cd_warn(MOD,
                "event %s: payment intent %s is not order %s's (%s): "
                "ignored",
                j->event_id ? j->event_id : "-", p->id, o.id,
                o.stripe_payment_intent_id);
        return 0;
    }
    if (!o.stripe_payment_intent_id[0]) {
        /* The window between creating the PaymentIntent and storing it. */
        struct cd_order_patch fill = {.pi = p->id};

        dirty = cd_order_patch(&o, &fill, now);
    }
    if (j->act == PI_FAIL)
        return pi_fail_tx(tx, j, &o, now);

    paid_amount = p->amount_received > 0 ? p->amount_received : p->amount;
    if (paid_amount != o.amount_cents ||
        strcasecmp(p->currency, o.currency) != 0) {
        struct cd_order_patch keep = {.dirty = dirty};

        if (cd_order_patch_tx(tx, &o, &keep, now) != CD_STORE_OK)
            return CD_STORE_ERROR;
        return cd_problem_note_tx(
            tx, CD_PROBLEM_AMOUNT_MISMATCH, &o, j->event_id,
            "PaymentIntent %s paid %" PRId64 " %s, but the order is %" PRId64
            " %s: not credited.",
            p->id, paid_amount, p->currency, o.amount_cents, o.currency);
    }
    return cd_order_credit_tx(tx, &o, j->paid, j->event_id, dirty, now,
                              &j->status);
}

/* GET /v1/payment_intents/{pi}?expand[]=latest_charge (outside any
 * transaction): card details of a payment; failures leave c as it was
 * (pi set). */
static void fetch_card(struct cd_billing *b, const char *pi,
                       struct cd_paid *c)
{
    char path[CD_SID_SZ + 32];
    json_t *params, *resp = NULL, *ch, *last4;
    struct cd_error err;
    const char *sfu;

    if (pi != c->pi)
        cd_strlcpy(c->pi, pi, sizeof(c->pi));
    if (!b->stripe || !pi[0] || !cd_stripe_safe_id(pi))
        return;
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    params = json_pack("{s:[s]}", "expand", "latest_charge");
    if (!params)
        return;
    if (cd_stripe_request(b->stripe, "GET", path, params, NULL, &resp, NULL,
                          &err) != 0) {
        cd_warn(MOD, "payment intent %s: no card details (%s)", pi,
                err.message);
        goto out;
    }
    cd_stripe_str_or_id(resp, "customer", c->customer, sizeof(c->customer));
    sfu = json_string_value(json_object_get(resp, "setup_future_usage"));
    if (json_object_get(resp, "setup_future_usage")) {
        c->sfu_known = 1;
        c->sfu_off_session = sfu && strcmp(sfu, "off_session") == 0;
    }
    ch = json_object_get(resp, "latest_charge");
    if (json_is_string(ch)) {
        cd_strlcpy(c->charge, json_string_value(ch), sizeof(c->charge));
    } else if (json_is_object(ch)) {
        cd_stripe_str_or_id(ch, "id", c->charge, sizeof(c->charge));
        last4 = json_object_get(
            json_object_get(json_object_get(ch, "payment_method_details"),
                            "card"),
            "last4");
        if (json_is_string(last4) &&
            strlen(json_string_value(last4)) < sizeof(c->last4))
            cd_strlcpy(c->last4, json_string_value(last4), sizeof(c->last4));
    }
out:
    json_decref(params);
    json_decref(resp);
}

int cd_topup_on_payment_intent(struct cd_billing *b, const char *event_id,
                               const char *type, const json_t *obj,
                               const char **status_out, struct cd_error *err)
{
    struct pi_obj p;
    struct cd_paid paid;
    struct pi_find f;
    struct pi_job j;
    int rc;

    parse_pi(obj, &p, &paid);
    memset(&j, 0, sizeof(j));
    j.act = PI_NONE;
    if (!type) {
        /* Reconciliation: what the PaymentIntent is now. */
        if (strcmp(p.status, "succeeded") == 0) {
            type = "payment_intent.succeeded";
        } else if (strcmp(p.status, "canceled") == 0) {
            type = "payment_intent.payment_failed";
            if (!p.failure[0])
                cd_strlcpy(p.failure, "The payment was canceled.",
                           sizeof(p.failure));
        } else {
            type = "payment_intent.open";
        }
    }
    if (strcmp(type, "payment_intent.succeeded") == 0)
        j.act = PI_FULFIL;
    else if (strcmp(type, "payment_intent.payment_failed") == 0)
        j.act = PI_FAIL;

    *status_out = CD_WEBHOOK_IGNORED;
    if (j.act == PI_NONE || !p.id[0])
        return 0;

    /* Ours? Decided on a read: nothing is written (nor recorded) for a
     * PaymentIntent that names no order here or belongs to Checkout. */
    memset(&f, 0, sizeof(f));
    f.p = &p;
    rc = cd_store_read(b->store, find_pi_order, &f);
    /* Checkout's, or an invoice's (invoice.paid credits it; its payment
     * row names the PaymentIntent, subscriptions.c) */
    if (rc == CD_STORE_NOT_FOUND ||
        (rc == CD_STORE_OK &&
         (f.o.stripe_session_id[0] || f.o.stripe_invoice_id[0]))) {
        cd_debug(MOD,
                 "event %s (%s): payment intent %s is not ours to "
                 "fulfil; not recorded",
                 event_id ? event_id : "-", type, p.id);
        return 0;
    }
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");

    if (j.act == PI_FULFIL && !cd_order_fulfilled(&f.o) &&
        (!paid.last4[0] || !paid.charge[0]) && b->stripe) {
        /* The card's last4 for the payment history: a nicety, asked only
         * before the first fulfilment, never inside the transaction. */
        struct cd_paid more = paid;
        fetch_card(b, p.id, &more);
        if (!paid.last4[0])
            cd_strlcpy(paid.last4, more.last4, sizeof(paid.last4));
        if (!paid.charge[0])
            cd_strlcpy(paid.charge, more.charge, sizeof(paid.charge));
    }
    j.event_id = event_id;
    j.type = type;
    j.order_id = f.o.id;
    j.p = &p;
    j.paid = &paid;
    return cd_order_event_run(b, pi_job_fn, &j, event_id, type, &j.status,
                              status_out, err);
}

/* ---- a top-up sent again ------------------------------------------------ */

/* A failed PaymentIntent found at Stripe (needs another card or the
 * customer): the order fails as for a decline. */
static void found_failed(struct cd_billing *b, const struct cd_order *o,
                         const json_t *pi, const char *status)
{
    struct cd_order_outcome oc;
    struct pi_obj p;
    struct cd_paid paid;

    parse_pi(pi, &p, &paid);
    if (!p.failure[0])
        snprintf(p.failure, sizeof(p.failure),
                 "The payment was not completed (%.32s)", status);
    memset(&oc, 0, sizeof(oc));
    oc.pi = p.id;
    oc.charge = paid.charge;
    oc.failure = p.failure;
    oc.final = 1;
    cd_order_record_outcome(b, o->id, &oc);
}

/* Order o's PaymentIntent pi (new), found at Stripe by cd_topup_lookup:
 * its id stored and its state applied as its event would - succeeded
 * credits (once: the ledger ref), canceled fails, one that needs another
 * card or the customer fails as a decline, processing waits for its
 * webhook. Consumes pi. 0 with *out, or -1 as cd_topup_create. */
static int adopt(struct cd_billing *b, const struct cd_order *o, json_t *pi,
                 struct cd_topup_result *out, struct cd_error *err)
{
    const char *id = json_string_value(json_object_get(pi, "id"));
    const char *st = json_string_value(json_object_get(pi, "status"));
    const char *applied = NULL;
    struct cd_order now;
    int rc = -1;

    if (!id || !st || !cd_stripe_safe_id(id) || strlen(id) >= CD_SID_SZ) {
        cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "Stripe: the payment intent has no id or status.");
        goto out;
    }
    cd_warn(MOD,
            "order %s: payment intent %s (%s) found at Stripe: "
            "adopted, not sent again",
            o->id, id, st);
    if (cd_topup_record_pi(b, o->id, id, err) != 0)
        goto out;
    if (strcmp(st, "succeeded") == 0 || strcmp(st, "canceled") == 0) {
        if (cd_topup_on_payment_intent(b, NULL, NULL, pi, &applied, err))
            goto out;
    } else if (strcmp(st, "requires_payment_method") == 0 ||
               strcmp(st, "requires_action") == 0 ||
               strcmp(st, "requires_confirmation") == 0) {
        found_failed(b, o, pi, st);
    }
    if (cd_order_get(b, o->id, &now) != CD_STORE_OK) {
        cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                     "Could not read the order.");
        goto out;
    }
    rc = answer_known(&now, out, err);
out:
    json_decref(pi);
    return rc;
}

int cd_topup_resume(struct cd_billing *b, const struct cd_account *acct,
                    const struct cd_order *o, struct cd_topup_result *out,
                    struct cd_error *err)
{
    const char *cus = o->stripe_customer_id[0] ? o->stripe_customer_id
                                               : acct->stripe_customer_id;
    int64_t gen = cd_topup_key_gen(o->created_at, cd_now());
    json_t *pi = NULL;
    char pm[CD_SID_SZ];
    int rc;

    memset(out, 0, sizeof(*out));
    if (o->stripe_payment_intent_id[0])
        return answer_known(o, out, err);
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (!cus[0] || !cd_stripe_safe_id(cus))
        return no_saved_card(err);
    if (gen > 0) {
        /* Stripe may have forgotten the first key: did it charge? */
        rc = cd_topup_lookup(b, cus, o->id, o->created_at, &pi, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return adopt(b, o, pi, out, err);
    }
    /* The customer of the first attempt, as its Stripe request named. */
    rc = saved_card(b, cus, pm, sizeof(pm), err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return no_saved_card(err);
    return charge_saved_card(b, acct, o, pm, gen, out, err);
}
