/*
 * payments.c - PaymentIntent and Charge objects: creating and confirming
 * an intent, the charge a payment makes, and their /v1 routes.
 */
#include "sandbox/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stripe/client.h"
#include "stripe/form.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define UNIT_AMOUNT_MAX INT64_C(99999999)

json_t *cd_sandbox_pi_create(struct cd_sandbox *s, int64_t amount,
                             const char *currency, const char *cus_id,
                             json_t *metadata, const char *sfu,
                             const char *description)
{
    char id[64], secret[96], cs[200];
    json_t *pi;

    cd_sandbox_new_id("pi_", id, sizeof(id));
    cd_sandbox_new_id("_secret_", secret, sizeof(secret));
    snprintf(cs, sizeof(cs), "%s%s", id, secret);
    pi = json_pack(
        "{s:s, s:s, s:I, s:i, s:i, s:n, s:n, s:s, s:s, s:s, s:I, s:s, "
        "s:s?, s:s?, s:n, s:n, s:b, s:o, s:n, s:[s], s:n, s:s?, s:s}",
        "id", id, "object", "payment_intent", "amount", (json_int_t)amount,
        "amount_capturable", 0, "amount_received", 0, "canceled_at",
        "cancellation_reason", "capture_method", "automatic", "client_secret",
        cs, "confirmation_method", "automatic", "created",
        (json_int_t)cd_now(), "currency", currency, "customer", cus_id,
        "description", description, "last_payment_error", "latest_charge",
        "livemode", 0, "metadata", metadata ? metadata : json_object(),
        "payment_method", "payment_method_types", "card", "receipt_email",
        "setup_future_usage", sfu, "status", "requires_payment_method");
    if (!pi || cd_sandbox_store(s->intents, pi) != 0)
        return NULL;
    return pi;
}

/* A charge's payment_method_details.card from the PaymentMethod's card:
 * what both have, and the network it ran on (a PaymentMethod's card has
 * display_brand and networks instead). New reference; null without a
 * card. */
static json_t *charge_card(const json_t *pm)
{
    static const char *const keys[] = {"brand",     "checks",   "country",
                                       "exp_month", "exp_year", "fingerprint",
                                       "funding",   "last4"};
    const json_t *card = json_object_get(pm, "card");
    json_t *out;

    if (!json_is_object(card))
        return json_null();
    out = json_object();
    for (size_t i = 0; i < CD_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(card, keys[i]);
        if (v)
            json_object_set_new(out, keys[i], json_deep_copy(v));
    }
    json_object_set(out, "network", json_object_get(card, "brand"));
    return out;
}

/* A charge of pi with pm: succeeded when ok, else failed with f's code.
 * Updates pi (latest_charge, status, ...). Borrowed, or NULL when full. */
json_t *cd_sandbox_charge_new(struct cd_sandbox *s, json_t *pi,
                              const json_t *pm, const char *email,
                              const struct cd_sandbox_fail *f)
{
    char ch_id[64], txn[64], url[128];
    json_int_t amount = json_integer_value(json_object_get(pi, "amount"));
    int ok = f == NULL;
    json_t *ch;

    cd_sandbox_new_id("ch_", ch_id, sizeof(ch_id));
    cd_sandbox_new_id("txn_", txn, sizeof(txn));
    snprintf(url, sizeof(url), "/v1/charges/%s/refunds", ch_id);
    ch = json_pack(
        "{s:s, s:s, s:I, s:I, s:i, s:s?, s:o, s:b, s:I, s:O, s:O, s:O, "
        "s:b, s:s?, s:s?, s:b, s:o, s:{s:s, s:s?, s:s, s:s, s:s}, s:b, "
        "s:O, s:O, s:{s:o, s:s}, s:s?, s:b, s:{s:s, s:[], s:b, s:s}, s:s}",
        "id", ch_id, "object", "charge", "amount", amount, "amount_captured",
        ok ? amount : 0, "amount_refunded", 0, "balance_transaction",
        ok ? txn : NULL, "billing_details", cd_sandbox_billing_details(email),
        "captured", ok, "created", (json_int_t)cd_now(), "currency",
        json_object_get(pi, "currency"), "customer",
        json_object_get(pi, "customer"), "description",
        json_object_get(pi, "description"), "disputed", 0, "failure_code",
        ok ? NULL : f->code, "failure_message", ok ? NULL : f->message,
        "livemode", 0, "metadata",
        json_deep_copy(json_object_get(pi, "metadata")), "outcome",
        "network_status", ok ? "approved_by_network" : "declined_by_network",
        "reason",
        ok ? NULL : (f->decline_code[0] ? f->decline_code : f->code),
        "risk_level", "normal", "seller_message",
        ok ? "Payment complete."
           : "The bank did not return any further "
             "details with this decline.",
        "type", ok ? "authorized" : "issuer_declined", "paid", ok,
        "payment_intent", json_object_get(pi, "id"), "payment_method",
        json_object_get(pm, "id"), "payment_method_details", "card",
        charge_card(pm), "type", "card", "receipt_email", email, "refunded",
        0, "refunds", "object", "list", "data", "has_more", 0, "url", url,
        "status", ok ? "succeeded" : "failed");
    if (!ch || cd_sandbox_store(s->charges, ch) != 0)
        return NULL;
    json_object_set_new(pi, "latest_charge", json_string(ch_id));
    json_object_set(pi, "payment_method", json_object_get(pm, "id"));
    if (ok) {
        json_object_set_new(pi, "status", json_string("succeeded"));
        json_object_set_new(pi, "amount_received", json_integer(amount));
        json_object_set_new(pi, "last_payment_error", json_null());
    } else {
        json_t *ej = cd_sandbox_fail_json(f);
        json_t *err = json_incref(json_object_get(ej, "error"));
        json_decref(ej);
        json_object_set_new(err, "charge", json_string(ch_id));
        json_object_set_new(err, "payment_method", json_deep_copy(pm));
        json_object_set_new(pi, "status",
                            json_string("requires_payment_method"));
        json_object_set_new(pi, "payment_method", json_null());
        json_object_set_new(pi, "last_payment_error", err);
    }
    return ch;
}

int cd_sandbox_pi_confirm(struct cd_sandbox *s, json_t *pi, const char *pm_id,
                          int off_session, struct cd_sandbox_fail *f)
{
    const char *st = json_string_value(json_object_get(pi, "status"));
    const char *cus = json_string_value(json_object_get(pi, "customer"));
    const char *number = pm_id ? cd_sandbox_pm_number(s, pm_id) : NULL;
    json_t *pm = pm_id ? json_object_get(s->pms, pm_id) : NULL, *ch;
    const char *pm_cus;
    struct cd_sandbox_fail decline;

    if (!st || (strcmp(st, "requires_payment_method") != 0 &&
                strcmp(st, "requires_confirmation") != 0))
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_intent_unexpected_state", NULL,
            "You cannot confirm this PaymentIntent because it has a status "
            "of %s.",
            st ? st : "unknown");
    if (!pm_id)
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_intent_unexpected_state", "payment_method",
            "You cannot confirm this PaymentIntent because it's missing a "
            "payment method.");
    if (!number)
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing",
                                   "payment_method",
                                   "No such PaymentMethod: '%.80s'", pm_id);
    if (!pm) {
        /* A test token: a fresh PaymentMethod for this payment. */
        pm = cd_sandbox_pm_new(s, number, 12, 2034, NULL, NULL);
        if (!pm)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
    }
    pm_cus = json_string_value(json_object_get(pm, "customer"));
    if (pm_cus && (!cus || strcmp(pm_cus, cus) != 0))
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_method_not_available", "payment_method",
            "The provided PaymentMethod belongs to customer %s; pass that "
            "customer to use it.",
            pm_cus);
    if (off_session && cus && !pm_cus)
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_method_not_available", "payment_method",
            "The provided PaymentMethod was not attached to the Customer "
            "%s.",
            cus);
    if (cd_sandbox_card_outcome(number, off_session, &decline) != 0) {
        ch = cd_sandbox_charge_new(s, pi, pm, NULL, &decline);
        if (!ch)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
        cd_sandbox_emit(s, "charge.failed", ch);
        cd_sandbox_emit(s, "payment_intent.payment_failed", pi);
        *f = decline;
        return -1;
    }
    ch = cd_sandbox_charge_new(s, pi, pm, NULL, NULL);
    if (!ch)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    cd_sandbox_emit(s, "charge.succeeded", ch);
    cd_sandbox_emit(s, "payment_intent.succeeded", pi);
    return 0;
}

int cd_sandbox_pi_pay_card(struct cd_sandbox *s, json_t *pi,
                           const struct cd_sandbox_card *card,
                           struct cd_sandbox_fail *f)
{
    char digits[24];
    int exp_month, exp_year;
    json_t *pm;

    if (cd_sandbox_card_check(card, digits, sizeof(digits), &exp_month,
                              &exp_year, f))
        return -1;
    pm = cd_sandbox_pm_new(s, digits, exp_month, exp_year, card->email, NULL);
    if (!pm)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    return cd_sandbox_pi_confirm(
        s, pi, json_string_value(json_object_get(pm, "id")), 0, f);
}

/* Replies to a failed confirmation: a 402 carries the PaymentIntent, as
 * Stripe's card errors do. */
static void reply_confirm_fail(struct cd_req *r, json_t *pi,
                               const struct cd_sandbox_fail *f)
{
    json_t *body = cd_sandbox_fail_json(f), *err;

    err = json_object_get(body, "error");
    if (f->status == 402) {
        json_t *lpe = json_object_get(pi, "last_payment_error");
        if (json_object_get(lpe, "charge"))
            json_object_set(err, "charge", json_object_get(lpe, "charge"));
        json_object_set_new(err, "payment_intent", json_deep_copy(pi));
    }
    cd_reply_json(r, f->status, body);
}

/* What POST /v1/payment_intents asks for, validated (strings borrowed
 * from the request's parameters). */
struct intent_args {
    int64_t amount;
    const char *cur, *cus, *pm, *desc, *sfu;
    int confirm, off_session;
};

static int intent_amount(json_t *p, struct intent_args *a,
                         struct cd_sandbox_fail *f)
{
    int present;

    if (cd_sandbox_opt_int(p, "amount", "amount", 1, UNIT_AMOUNT_MAX,
                           &a->amount, &present, f))
        return -1;
    if (!present)
        return cd_sandbox_missing(f, "amount");
    if (a->amount < 50)
        return cd_sandbox_fail_set(f, 400, NULL, "amount_too_small", "amount",
                                   "Amount must be at least 50 in "
                                   "the smallest currency unit.");
    if (cd_sandbox_opt_currency(p, "currency", &a->cur, f))
        return -1;
    if (!a->cur)
        return cd_sandbox_missing(f, "currency");
    return 0;
}

static int intent_options(struct cd_sandbox *s, json_t *p,
                          struct intent_args *a, struct cd_sandbox_fail *f)
{
    if (cd_sandbox_opt_str(p, "customer", "customer", 255, &a->cus, f) ||
        cd_sandbox_opt_str(p, "payment_method", "payment_method", 255, &a->pm,
                           f) ||
        cd_sandbox_opt_str(p, "description", "description", 1000, &a->desc,
                           f) ||
        cd_sandbox_opt_str(p, "setup_future_usage", "setup_future_usage", 32,
                           &a->sfu, f) ||
        cd_sandbox_opt_bool(p, "confirm", &a->confirm, f) ||
        cd_sandbox_opt_bool(p, "off_session", &a->off_session, f) ||
        cd_sandbox_check_metadata(json_object_get(p, "metadata"), "metadata",
                                  f))
        return -1;
    if (a->cus && !json_object_get(s->customers, a->cus))
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing",
                                   "customer", "No such customer: '%.80s'",
                                   a->cus);
    if (a->off_session && !a->confirm)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_boolean",
                                   "off_session",
                                   "off_session can only be "
                                   "used with confirm=true.");
    if (a->off_session && a->sfu)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "setup_future_usage",
                                   "You cannot confirm "
                                   "with the `off_session` parameter when "
                                   "`setup_future_usage` is also set.");
    return 0;
}

void cd_sandbox_h_intent_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    struct intent_args a = {0};
    json_t *p = cd_sandbox_post_params(r), *pi = NULL;

    if (!p)
        return;
    if (intent_amount(p, &a, &f) || intent_options(s, p, &a, &f))
        goto fail;
    pi = cd_sandbox_pi_create(
        s, a.amount, a.cur, a.cus,
        cd_sandbox_metadata_copy(json_object_get(p, "metadata")), a.sfu,
        a.desc);
    if (!pi) {
        cd_sandbox_fail_set(&f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        goto fail;
    }
    if (a.pm && !a.confirm) {
        json_object_set_new(pi, "payment_method", json_string(a.pm));
        json_object_set_new(pi, "status",
                            json_string("requires_confirmation"));
    }
    cd_sandbox_emit(s, "payment_intent.created", pi);
    if (a.confirm &&
        cd_sandbox_pi_confirm(s, pi, a.pm, a.off_session, &f) != 0) {
        reply_confirm_fail(r, pi, &f);
        goto out;
    }
    cd_sandbox_reply_render(r, pi, json_object_get(p, "expand"));
    goto out;
fail:
    cd_sandbox_reply_fail(r, &f);
out:
    json_decref(p);
}

void cd_sandbox_h_intent_confirm(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    json_t *pi = json_object_get(s->intents, r->params[0]), *p;
    const char *pm;
    int off_session;

    if (!pi) {
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "intent",
            "No such payment_intent: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = cd_sandbox_post_params(r)))
        return;
    if (cd_sandbox_opt_str(p, "payment_method", "payment_method", 255, &pm,
                           &f) ||
        cd_sandbox_opt_bool(p, "off_session", &off_session, &f)) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    if (!pm)
        pm = json_string_value(json_object_get(pi, "payment_method"));
    if (cd_sandbox_pi_confirm(s, pi, pm, off_session, &f) != 0)
        reply_confirm_fail(r, pi, &f);
    else
        cd_sandbox_reply_render(r, pi, json_object_get(p, "expand"));
out:
    json_decref(p);
}

void cd_sandbox_h_intent_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->intents,
                         "payment_intent");
}

struct intent_filter {
    struct cd_sandbox_field_filter ff;
    int64_t gt, lt; /* exclusive bounds on created */
};

static int intent_filter_fn(const json_t *pi, void *arg)
{
    struct intent_filter *f = arg;
    json_int_t created = json_integer_value(json_object_get(pi, "created"));

    return created > f->gt && created < f->lt &&
           cd_sandbox_field_filter_fn(pi, &f->ff);
}

/* GET /v1/payment_intents: ?customer=, ?created[gt|gte|lt|lte]=, paged. */
void cd_sandbox_h_intent_list(struct cd_req *r)
{
    struct intent_filter f = {
        {{"customer"}, {cd_req_query(r, "customer")}}, INT64_MIN, INT64_MAX};

    if (cd_sandbox_created_range(r, &f.gt, &f.lt) != 0)
        return;
    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->intents,
                          "/v1/payment_intents", "payment_intent",
                          intent_filter_fn, &f);
}

void cd_sandbox_h_charge_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->charges, "charge");
}

void cd_sandbox_h_charge_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {
        {"payment_intent", "customer"},
        {cd_req_query(r, "payment_intent"), cd_req_query(r, "customer")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->charges,
                          "/v1/charges", "charge", cd_sandbox_field_filter_fn,
                          &ff);
}
