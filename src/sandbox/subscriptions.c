/*
 * subscriptions.c - Subscription and Invoice objects: periods, the
 * subscription a paid session starts, renewals with their invoices,
 * updates and cancellation, and the /v1/subscriptions and /v1/invoices
 * routes.
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

#define MOD "sandbox"

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int cd_sandbox_interval_ok(const char *interval)
{
    return interval &&
           (strcmp(interval, "day") == 0 || strcmp(interval, "week") == 0 ||
            strcmp(interval, "month") == 0 || strcmp(interval, "year") == 0);
}

static int days_in_month(int year, int mon0)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return mon0 == 1 && leap ? 29 : d[mon0];
}

int64_t cd_sandbox_period_add(int64_t start, const char *interval,
                              int64_t count)
{
    struct tm tm;
    time_t t = (time_t)start;
    int64_t months = 0;

    if (count < 1)
        count = 1;
    if (strcmp(interval, "day") == 0)
        return start + 86400 * count;
    if (strcmp(interval, "week") == 0)
        return start + 7 * 86400 * count;
    months = strcmp(interval, "year") == 0 ? 12 * count : count;
    if (!gmtime_r(&t, &tm))
        return start + 30 * 86400 * months;
    /* Calendar months, the day clamped to the month's end (Jan 31 ->
     * Feb 28), as Stripe bills. */
    {
        int64_t m = (int64_t)tm.tm_mon + months;
        int dim;
        tm.tm_year += (int)(m / 12);
        tm.tm_mon = (int)(m % 12);
        dim = days_in_month(tm.tm_year + 1900, tm.tm_mon);
        if (tm.tm_mday > dim)
            tm.tm_mday = dim;
    }
    return (int64_t)timegm(&tm);
}

/* The first item of a subscription (borrowed), or NULL. */
static json_t *first_item(json_t *sub)
{
    return json_array_get(
        json_object_get(json_object_get(sub, "items"), "data"), 0);
}

/* What one period of the subscription costs: the sum of its items. */
static int64_t period_amount(json_t *sub)
{
    json_t *data = json_object_get(json_object_get(sub, "items"), "data");
    json_t *it;
    size_t i;
    int64_t total = 0;

    json_array_foreach(data, i, it)
    {
        json_int_t unit = json_integer_value(
            json_object_get(json_object_get(it, "price"), "unit_amount"));
        json_int_t q = json_integer_value(json_object_get(it, "quantity"));
        total += (int64_t)unit * (int64_t)(q > 0 ? q : 1);
    }
    return total;
}

/* The one line of an invoice of sub (new reference, or NULL). */
static json_t *invoice_line(struct cd_sandbox *s, json_t *sub,
                            const char *inv_id, int64_t amount, int64_t start,
                            int64_t end)
{
    const char *sub_id = str_of(sub, "id");
    const char *name = str_of(json_object_get(s->priv, sub_id), "name");
    json_t *item = first_item(sub), *price = json_object_get(item, "price");
    char li_id[64];

    cd_sandbox_new_id("il_", li_id, sizeof(li_id));
    return json_pack(
        "{s:s, s:s, s:I, s:O, s:s, s:s, s:b, s:{}, s:{s:I, s:I}, s:i, "
        "s:{s:s, s:n, s:{s:n, s:b, s:n, s:s, s:O}}, "
        "s:{s:s, s:{s:O, s:O}, s:n}}",
        "id", li_id, "object", "line_item", "amount", (json_int_t)amount,
        "currency", json_object_get(sub, "currency"), "description",
        name ? name : "Subscription", "invoice", inv_id, "livemode", 0,
        "metadata", "period", "end", (json_int_t)end, "start",
        (json_int_t)start, "quantity", 1, "parent", "type",
        "subscription_item_details", "invoice_item_details",
        "subscription_item_details", "invoice_item", "proration", 0,
        "proration_details", "subscription", sub_id, "subscription_item",
        json_object_get(item, "id"), "pricing", "type", "price_details",
        "price_details", "price", json_object_get(price, "id"), "product",
        json_object_get(price, "product"), "unit_amount_decimal");
}

/*
 * A new invoice of sub for the period [start, end): paid (amount_paid =
 * amount, status paid) or failed (status open, nothing paid, a next
 * attempt in 3 days). Borrowed, or NULL when the store is full.
 */
static json_t *invoice_new(struct cd_sandbox *s, json_t *sub,
                           const char *reason, int paid, int64_t amount,
                           int64_t start, int64_t end)
{
    char id[64], url[128], number[32];
    const char *sub_id = str_of(sub, "id"), *cur = str_of(sub, "currency");
    json_t *inv, *line;
    int64_t now = cd_now();

    cd_sandbox_new_id("in_", id, sizeof(id));
    snprintf(url, sizeof(url), "/v1/invoices/%s/lines", id);
    snprintf(number, sizeof(number), "%.8s-%04zu", id + 3,
             json_object_size(s->invoices) % 10000 + 1);
    line = invoice_line(s, sub, id, amount, start, end);
    if (!line)
        return NULL;
    inv = json_object();
    if (!inv) {
        json_decref(line);
        return NULL;
    }
#define SET(k, v) json_object_set_new(inv, k, v)
    SET("id", json_string(id));
    SET("object", json_string("invoice"));
    SET("account_country", json_string("US"));
    SET("amount_due", json_integer(amount));
    SET("amount_paid", json_integer(paid ? amount : 0));
    SET("amount_remaining", json_integer(paid ? 0 : amount));
    SET("attempt_count", json_integer(1));
    SET("attempted", json_true());
    SET("auto_advance", json_boolean(!paid));
    SET("billing_reason", json_string(reason));
    SET("collection_method", json_string("charge_automatically"));
    SET("created", json_integer(now));
    SET("currency", cur ? json_string(cur) : json_null());
    SET("customer", json_deep_copy(json_object_get(sub, "customer")));
    SET("default_payment_method",
        json_deep_copy(json_object_get(sub, "default_payment_method")));
    SET("lines", json_pack("{s:s, s:[o], s:b, s:s}", "object", "list", "data",
                           line, "has_more", 0, "url", url));
    SET("livemode", json_false());
    SET("metadata", json_object());
    SET("next_payment_attempt",
        paid ? json_null() : json_integer(now + 3 * 86400));
    SET("number", json_string(number));
    SET("parent",
        json_pack("{s:n, s:{s:o, s:s}, s:s}", "quote_details",
                  "subscription_details", "metadata",
                  json_deep_copy(json_object_get(sub, "metadata")),
                  "subscription", sub_id, "type", "subscription_details"));
    SET("period_end", json_integer(end));
    SET("period_start", json_integer(start));
    SET("status", json_string(paid ? "paid" : "open"));
    SET("status_transitions",
        json_pack("{s:I, s:n, s:o, s:n}", "finalized_at", (json_int_t)now,
                  "marked_uncollectible_at", "paid_at",
                  paid ? json_integer(now) : json_null(), "voided_at"));
    SET("subtotal", json_integer(amount));
    SET("total", json_integer(amount));
#undef SET
    if (cd_sandbox_store(s->invoices, inv) != 0)
        return NULL;
    return inv;
}

/* The Plan a subscription item still names beside its price (the
 * recurring price in Plan's terms; new reference). */
static json_t *plan_of(const json_t *price)
{
    const json_t *rec = json_object_get(price, "recurring");
    json_t *amount = json_object_get(price, "unit_amount");
    char dec[32];

    snprintf(dec, sizeof(dec), "%" JSON_INTEGER_FORMAT,
             json_integer_value(amount));
    return json_pack(
        "{s:O, s:s, s:b, s:O, s:s, s:s, s:O, s:O, s:O, s:O, s:b, s:{}, "
        "s:O, s:s}",
        "id", json_object_get(price, "id"), "object", "plan", "active", 1,
        "amount", amount, "amount_decimal", dec, "billing_scheme", "per_unit",
        "created", json_object_get(price, "created"), "currency",
        json_object_get(price, "currency"), "interval",
        json_object_get(rec, "interval"), "interval_count",
        json_object_get(rec, "interval_count"), "livemode", 0, "metadata",
        "product", json_object_get(price, "product"), "usage_type",
        "licensed");
}

/* The subscription items of a session's recurring line items (new
 * array); *interval, *end (the first period's) and *name (for invoice
 * lines) from the first of them (*interval stays NULL without one). */
static json_t *sub_items(const json_t *items, const char *sub_id, int64_t now,
                         const char **interval, int64_t *end,
                         const char **name)
{
    json_t *data = json_array(), *li;
    size_t i;

    json_array_foreach((json_t *)items, i, li)
    {
        json_t *price = json_object_get(li, "price");
        json_t *rec = json_object_get(price, "recurring");
        char si[64];

        if (!json_is_object(rec))
            continue; /* a one-time item: on the first invoice only */
        if (!*interval) {
            *interval = str_of(rec, "interval");
            *end = cd_sandbox_period_add(
                now, *interval,
                json_integer_value(json_object_get(rec, "interval_count")));
        }
        if (!*name)
            *name = str_of(li, "description");
        cd_sandbox_new_id("si_", si, sizeof(si));
        json_array_append_new(
            data,
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:{}, s:o, s:o, s:O, "
                      "s:s, s:[], s:[]}",
                      "id", si, "object", "subscription_item", "created",
                      (json_int_t)now, "current_period_start",
                      (json_int_t)now, "current_period_end", (json_int_t)*end,
                      "metadata", "plan", plan_of(price), "price",
                      json_deep_copy(price), "quantity",
                      json_object_get(li, "quantity"), "subscription", sub_id,
                      "discounts", "tax_rates"));
    }
    return data;
}

json_t *cd_sandbox_sub_create(struct cd_sandbox *s, json_t *session,
                              const char *cus_id, const char *pm_id,
                              struct cd_sandbox_fail *f)
{
    const char *sid = str_of(session, "id");
    json_t *priv = json_object_get(s->priv, sid ? sid : "");
    json_t *items = json_object_get(priv, "line_items");
    json_t *meta = json_object_get(json_object_get(priv, "subscription_data"),
                                   "metadata");
    json_t *data, *sub, *inv;
    const char *interval = NULL, *name = NULL;
    int64_t now = cd_now(), end = 0;
    char id[64], url[128];

    cd_sandbox_new_id("sub_", id, sizeof(id));
    data = sub_items(items, id, now, &interval, &end, &name);
    if (!interval || json_array_size(data) == 0) {
        json_decref(data);
        cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_empty",
                            "line_items",
                            "A subscription needs at least "
                            "one recurring line item.");
        return NULL;
    }
    snprintf(url, sizeof(url), "/v1/subscription_items?subscription=%s", id);
    sub = json_pack(
        "{s:s, s:s, s:n, s:I, s:n, s:b, s:n, s:s, s:I, s:O, s:s, s:s?, "
        "s:n, s:n, s:{s:s, s:o, s:b, s:s}, s:n, s:b, s:o, s:I, "
        "s:s, s:n, s:n}",
        "id", id, "object", "subscription", "application",
        "billing_cycle_anchor", (json_int_t)now, "cancel_at",
        "cancel_at_period_end", 0, "canceled_at", "collection_method",
        "charge_automatically", "created", (json_int_t)now, "currency",
        json_object_get(session, "currency"), "customer", cus_id,
        "default_payment_method", pm_id, "description", "ended_at", "items",
        "object", "list", "data", data, "has_more", 0, "url", url,
        "latest_invoice", "livemode", 0, "metadata",
        json_is_object(meta) ? json_deep_copy(meta) : json_object(),
        "start_date", (json_int_t)now, "status", "active", "trial_end",
        "trial_start");
    if (!sub || cd_sandbox_store(s->subs, sub) != 0) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    /* The product's name, for the invoice lines (sandbox-private). */
    json_object_set_new(
        s->priv, id,
        json_pack("{s:s}", "name", name ? name : "Subscription"));
    inv = invoice_new(
        s, sub, "subscription_create", 1,
        json_integer_value(json_object_get(session, "amount_total")), now,
        end);
    if (!inv) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    json_object_set(sub, "latest_invoice", json_object_get(inv, "id"));
    cd_sandbox_emit(s, "customer.subscription.created", sub);
    if (!cd_sandbox_invoice_pay(s, inv, pm_id, NULL)) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    cd_sandbox_emit(s, "invoice.paid", inv);
    cd_sandbox_emit(s, "invoice.payment_succeeded", inv);
    cd_info(MOD, "subscription %s started (%s, every %s)", id,
            cus_id ? cus_id : "-", interval);
    return sub;
}

static int sub_ended(const json_t *sub)
{
    const char *st = str_of(sub, "status");

    return !st || strcmp(st, "canceled") == 0 ||
           strcmp(st, "incomplete_expired") == 0;
}

static int fail_ended(const json_t *sub, struct cd_sandbox_fail *f)
{
    return cd_sandbox_fail_set(
        f, 400, NULL, "subscription_canceled", NULL,
        "Subscription %s is %s: it can no longer be changed or renewed.",
        str_of(sub, "id"),
        str_of(sub, "status") ? str_of(sub, "status") : "unknown");
}

/* Ends sub now (status canceled) and emits customer.subscription.deleted
 * with the previous status. */
static void end_now(struct cd_sandbox *s, json_t *sub, int64_t at)
{
    json_t *prev = json_pack("{s:O, s:O, s:O}", "status",
                             json_object_get(sub, "status"), "canceled_at",
                             json_object_get(sub, "canceled_at"), "ended_at",
                             json_object_get(sub, "ended_at"));

    json_object_set_new(sub, "status", json_string("canceled"));
    if (json_is_null(json_object_get(sub, "canceled_at")))
        json_object_set_new(sub, "canceled_at", json_integer(cd_now()));
    json_object_set_new(sub, "ended_at", json_integer(at));
    cd_sandbox_emit_prev(s, "customer.subscription.deleted", sub, prev);
    json_decref(prev);
    cd_info(MOD, "subscription %s canceled", str_of(sub, "id"));
}

/* What a renewal changes, as customer.subscription.updated's
 * previous_attributes: the whole items list (Stripe puts an array there
 * whole; a deep copy before the change), latest_invoice, status. New
 * reference, or NULL. */
static json_t *renewal_prev(const json_t *sub)
{
    return json_pack("{s:o, s:O, s:O}", "items",
                     json_deep_copy(json_object_get(sub, "items")),
                     "latest_invoice", json_object_get(sub, "latest_invoice"),
                     "status", json_object_get(sub, "status"));
}

/* A renewal's events: the invoice paid or failed, then
 * customer.subscription.updated with prev (status dropped when it did not
 * change). */
static void renewal_events(struct cd_sandbox *s, json_t *sub, json_t *inv,
                           json_t *prev, int paid)
{
    if (paid) {
        cd_sandbox_emit(s, "invoice.paid", inv);
        cd_sandbox_emit(s, "invoice.payment_succeeded", inv);
    } else {
        cd_sandbox_emit(s, "invoice.payment_failed", inv);
    }
    if (prev && json_equal(json_object_get(prev, "status"),
                           json_object_get(sub, "status")))
        json_object_del(prev, "status");
    cd_sandbox_emit_prev(s, "customer.subscription.updated", sub, prev);
}

json_t *cd_sandbox_sub_renew(struct cd_sandbox *s, json_t *sub,
                             int card_fails, struct cd_sandbox_fail *f)
{
    json_t *data = json_object_get(json_object_get(sub, "items"), "data");
    json_t *item = first_item(sub), *rec, *prev, *inv, *it;
    const char *pm = str_of(sub, "default_payment_method");
    const char *number = pm ? cd_sandbox_pm_number(s, pm) : NULL;
    const char *interval;
    struct cd_sandbox_fail decline;
    int64_t start, end, count;
    int paid;
    size_t i;

    if (sub_ended(sub)) {
        fail_ended(sub, f);
        return NULL;
    }
    rec = json_object_get(json_object_get(item, "price"), "recurring");
    interval = str_of(rec, "interval");
    count = json_integer_value(json_object_get(rec, "interval_count"));
    start = json_integer_value(json_object_get(item, "current_period_end"));
    if (!interval || start <= 0) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The subscription has no period.");
        return NULL;
    }
    if (json_is_true(json_object_get(sub, "cancel_at_period_end"))) {
        /* The period ran out and the subscription was set to end there:
         * it ends, no new invoice. */
        end_now(s, sub, start);
        return sub;
    }
    end = cd_sandbox_period_add(start, interval, count);
    paid = !card_fails &&
           (!number || cd_sandbox_card_outcome(number, 1, &decline) == 0);

    prev = renewal_prev(sub);
    json_array_foreach(data, i, it)
    {
        json_object_set_new(it, "current_period_start", json_integer(start));
        json_object_set_new(it, "current_period_end", json_integer(end));
    }
    inv = invoice_new(s, sub, "subscription_cycle", paid, period_amount(sub),
                      start, end);
    if (!inv) {
        json_decref(prev);
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    json_object_set(sub, "latest_invoice", json_object_get(inv, "id"));
    json_object_set_new(sub, "status",
                        json_string(paid ? "active" : "past_due"));
    if (card_fails)
        cd_sandbox_fail_set(&decline, 402, "card_error", "card_declined",
                            NULL, "Your card was declined.");
    if (!cd_sandbox_invoice_pay(s, inv, pm, paid ? NULL : &decline)) {
        json_decref(prev);
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    renewal_events(s, sub, inv, prev, paid);
    json_decref(prev);
    cd_info(MOD, "subscription %s renewed: invoice %s %s", str_of(sub, "id"),
            str_of(inv, "id"), paid ? "paid" : "failed (past_due)");
    return sub;
}

int cd_sandbox_sub_update(struct cd_sandbox *s, json_t *sub, int cape,
                          const json_t *metadata, struct cd_sandbox_fail *f)
{
    json_t *prev = json_object(), *item = first_item(sub);
    int old = json_is_true(json_object_get(sub, "cancel_at_period_end"));

    if (sub_ended(sub) && cape >= 0) {
        json_decref(prev);
        return fail_ended(sub, f);
    }
    if (cape >= 0 && cape != old) {
        json_object_set_new(prev, "cancel_at_period_end", json_boolean(old));
        json_object_set(prev, "cancel_at", json_object_get(sub, "cancel_at"));
        json_object_set(prev, "canceled_at",
                        json_object_get(sub, "canceled_at"));
        json_object_set_new(sub, "cancel_at_period_end", json_boolean(cape));
        json_object_set(sub, "cancel_at",
                        cape ? json_object_get(item, "current_period_end")
                             : json_null());
        json_object_set_new(sub, "canceled_at",
                            cape ? json_integer(cd_now()) : json_null());
    }
    if (json_is_object(metadata) && json_object_size(metadata) > 0) {
        json_t *md = json_object_get(sub, "metadata");
        const char *k;
        json_t *v;
        json_object_set_new(prev, "metadata", json_deep_copy(md));
        json_object_foreach((json_t *)metadata, k, v)
        {
            if (json_is_string(v) && json_string_length(v) == 0)
                json_object_del(md, k); /* an empty value unsets */
            else
                json_object_set(md, k, v);
        }
    }
    if (json_object_size(prev) > 0)
        cd_sandbox_emit_prev(s, "customer.subscription.updated", sub, prev);
    json_decref(prev);
    return 0;
}

int cd_sandbox_sub_cancel(struct cd_sandbox *s, json_t *sub,
                          struct cd_sandbox_fail *f)
{
    if (sub_ended(sub))
        return fail_ended(sub, f);
    end_now(s, sub, cd_now());
    return 0;
}

/* ------------------------------------------------------------------ */
/* Routes                                                             */

static json_t *find_sub(struct cd_req *r)
{
    json_t *sub = json_object_get(((struct cd_sandbox *)r->app)->subs,
                                  r->params[0]);

    if (!sub)
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "id",
            "No such subscription: '%.80s'", r->params[0]);
    return sub;
}

void cd_sandbox_h_sub_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->subs,
                         "subscription");
}

void cd_sandbox_h_sub_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {
        {"customer", "status"},
        {cd_req_query(r, "customer"), cd_req_query(r, "status")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->subs,
                          "/v1/subscriptions", "subscription",
                          cd_sandbox_field_filter_fn, &ff);
}

/* POST /v1/subscriptions/{id}: cancel_at_period_end and metadata. */
void cd_sandbox_h_sub_update(struct cd_req *r)
{
    struct cd_sandbox_fail f = {0};
    json_t *sub = find_sub(r), *p, *md;
    int cape = -1;

    if (!sub || !(p = cd_sandbox_post_params(r)))
        return;
    if (json_object_get(p, "cancel_at_period_end")) {
        if (cd_sandbox_opt_bool(p, "cancel_at_period_end", &cape, &f) != 0)
            goto fail;
    }
    md = json_object_get(p, "metadata");
    if (cd_sandbox_check_metadata(md, "metadata", &f) != 0)
        goto fail;
    if (cd_sandbox_sub_update(r->app, sub, cape,
                              json_is_object(md) ? md : NULL, &f) != 0)
        goto fail;
    cd_sandbox_reply_render(r, sub, json_object_get(p, "expand"));
    json_decref(p);
    return;
fail:
    cd_sandbox_reply_fail(r, &f);
    json_decref(p);
}

/* DELETE /v1/subscriptions/{id}: cancel now. */
void cd_sandbox_h_sub_cancel(struct cd_req *r)
{
    struct cd_sandbox_fail f = {0};
    json_t *sub = find_sub(r);

    if (!sub)
        return;
    if (cd_sandbox_sub_cancel(r->app, sub, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        cd_sandbox_reply_render(r, sub, NULL);
}

void cd_sandbox_h_invoice_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->invoices,
                         "invoice");
}

/* ?customer=, ?status= and ?subscription= (the invoice names its
 * subscription under parent.subscription_details). */
struct invoice_filter {
    struct cd_sandbox_field_filter ff;
    const char *sub;
};

static int invoice_filter_fn(const json_t *inv, void *arg)
{
    struct invoice_filter *f = arg;
    const char *sub = str_of(json_object_get(json_object_get(inv, "parent"),
                                             "subscription_details"),
                             "subscription");

    if (f->sub && (!sub || strcmp(sub, f->sub) != 0))
        return 0;
    return cd_sandbox_field_filter_fn(inv, &f->ff);
}

void cd_sandbox_h_invoice_list(struct cd_req *r)
{
    struct invoice_filter f = {
        {{"customer", "status", NULL},
         {cd_req_query(r, "customer"), cd_req_query(r, "status"), NULL}},
        cd_req_query(r, "subscription")};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->invoices,
                          "/v1/invoices", "invoice", invoice_filter_fn, &f);
}
