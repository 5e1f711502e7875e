/*
 * api.c - the sandbox's /v1 routes: Stripe's API as far as creditd uses
 * it. Requests are form-encoded (POST body, GET query), replies are
 * Stripe JSON objects, failures Stripe's error shape. Auth and
 * Idempotency-Key are handled by the dispatch function in sandbox.c, which
 * also holds s->mu around each handler here.
 *
 * Unknown parameters and JSON bodies are refused before a handler runs
 * (params.c, as Stripe refuses them); known ones are validated like
 * Stripe does.
 */
#include "sandbox/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/client.h"
#include "stripe/form.h"
#include "util/url.h"
#include "util/util.h"

#define LIST_MAX 100
#define LINE_ITEMS_MAX 100
#define UNIT_AMOUNT_MAX INT64_C(99999999)
#define QUANTITY_MAX INT64_C(999999)
#define SESSION_TOTAL_MAX INT64_C(99999999)
#define URL_MAX 2048

/* ------------------------------------------------------------------ */
/* Parameter helpers                                                   */

/* The request's parameters as a JSON object (new reference): the form
 * body of a POST. NULL after replying 400 for a malformed body. */
static json_t *post_params(struct cd_req *r)
{
    json_t *p;

    if (r->body_len == 0)
        return json_object();
    p = cd_form_decode(r->body, r->body_len);
    if (!p || !json_is_object(p)) {
        json_decref(p);
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error", NULL, NULL,
                                "Invalid request body: expected "
                                "application/x-www-form-urlencoded "
                                "parameters.");
        return NULL;
    }
    return p;
}

/* expand[] of a GET: "expand[]" (one value) or "expand[0]".."expand[19]"
 * as sent by form encoders. New array. */
static json_t *query_array(struct cd_req *r, const char *name)
{
    json_t *a = json_array();
    char key[64];
    const char *v;

    snprintf(key, sizeof(key), "%s[]", name);
    if ((v = cd_req_query(r, key)) != NULL)
        json_array_append_new(a, json_string(v));
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "%s[%d]", name, i);
        if ((v = cd_req_query(r, key)) == NULL)
            break;
        json_array_append_new(a, json_string(v));
    }
    return a;
}

/* Optional string parameter of at most max bytes. 0 (out NULL when
 * absent or empty), or -1 with f filled. */
static int opt_str(json_t *p, const char *key, const char *param, size_t max,
                   const char **out, struct cd_sandbox_fail *f)
{
    json_t *v = json_object_get(p, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid string: %s must be a "
                                   "string.", param);
    if (json_string_length(v) > max)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid string: must be at most "
                                   "%zu characters (%s).", max, param);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

/* Optional integer parameter in [min, max]. 0 (*present says whether it
 * was there), or -1 with f filled. */
static int opt_int(json_t *p, const char *key, const char *param,
                   int64_t min, int64_t max, int64_t *out, int *present,
                   struct cd_sandbox_fail *f)
{
    json_t *v = json_object_get(p, key);
    int64_t n;

    *present = 0;
    if (!v)
        return 0;
    if (!json_is_string(v) ||
        cd_parse_int64(json_string_value(v), INT64_MIN, INT64_MAX, &n) != 0)
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_integer", param,
            "Invalid integer: %.40s",
            json_is_string(v) ? json_string_value(v) : "(not a string)");
    if (n < min)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   param, "This value must be greater than "
                                   "or equal to %lld.", (long long)min);
    if (n > max)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   param, "This value must be less than or "
                                   "equal to %lld.", (long long)max);
    *out = n;
    *present = 1;
    return 0;
}

/* The currencies Stripe accepts, lower case (docs.stripe.com/currencies). */
static const char currencies[] =
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif "
    "bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk "
    "djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd "
    "hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd "
    "kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn "
    "myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar "
    "ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs "
    "tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf "
    "yer zar zmw";

/* The optional currency parameter of p: lower-cased in p ("USD" is
 * accepted as Stripe accepts it) and refused unless Stripe supports it.
 * 0 (*out NULL when absent), or -1 with f filled. */
static int opt_currency(json_t *p, const char *param, const char **out,
                        struct cd_sandbox_fail *f)
{
    const char *cur;
    char low[4];

    if (opt_str(p, "currency", param, 32, &cur, f))
        return -1;
    if (!cur)
        return 0;
    cd_strlcpy(low, cur, sizeof(low));
    for (size_t i = 0; low[i]; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    if (strlen(cur) != 3 || strspn(low, "abcdefghijklmnopqrstuvwxyz") != 3 ||
        !strstr(currencies, low))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid currency: %s. Stripe "
                                   "currently supports these currencies: "
                                   "see https://docs.stripe.com/currencies.",
                                   cur);
    json_object_set_new(p, "currency", json_string(low));
    *out = json_string_value(json_object_get(p, "currency"));
    return 0;
}

static int missing(struct cd_sandbox_fail *f, const char *param)
{
    return cd_sandbox_fail_set(f, 400, NULL, "parameter_missing", param,
                               "Missing required param: %s.", param);
}

/* Stripe's metadata rules: up to 50 keys of <= 40 characters, string
 * values of <= 500. An empty string unsets (here: empty object). */
static int check_metadata(json_t *m, const char *param,
                          struct cd_sandbox_fail *f)
{
    const char *k;
    json_t *v;

    if (!m || (json_is_string(m) && json_string_length(m) == 0))
        return 0;
    if (!json_is_object(m))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid hash: %s must be a hash.",
                                   param);
    if (json_object_size(m) > 50)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "You can specify up to 50 keys in "
                                   "%s.", param);
    json_object_foreach(m, k, v) {
        if (strlen(k) > 40)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", param,
                                       "Metadata keys can have up to 40 "
                                       "characters.");
        if (!json_is_string(v) || json_string_length(v) > 500)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", param,
                                       "Metadata values must be strings of "
                                       "up to 500 characters.");
    }
    return 0;
}

static json_t *metadata_copy(json_t *m)
{
    return json_is_object(m) ? json_deep_copy(m) : json_object();
}

static int check_email(const char *e, const char *param,
                       struct cd_sandbox_fail *f)
{
    if (e && (!strchr(e, '@') || strpbrk(e, " \t\r\n<>\"")))
        return cd_sandbox_fail_set(f, 400, NULL, "email_invalid", param,
                                   "Invalid email address: %.80s", e);
    return 0;
}

static int check_url(const char *u, const char *param,
                     struct cd_sandbox_fail *f)
{
    struct cd_origin o;

    if (!u)
        return 0;
    if (cd_url_parse_origin(u, &o) != 0 || strpbrk(u, " \t\r\n<>\"'\\`"))
        return cd_sandbox_fail_set(f, 400, NULL, "url_invalid", param,
                                   "Not a valid URL");
    return 0;
}

static void reply_render(struct cd_req *r, const json_t *obj,
                         const json_t *expand)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    json_t *out = cd_sandbox_render(s, obj, expand, &f);

    if (!out)
        cd_sandbox_reply_fail(r, &f);
    else
        cd_reply_json(r, 200, out);
}

/* GET of one object from map by the path's {id}, with expand[]. */
static void reply_get(struct cd_req *r, json_t *map, const char *noun)
{
    json_t *obj = json_object_get(map, r->params[0]);
    json_t *expand;

    if (!obj) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such %s: '%.80s'", noun, r->params[0]);
        return;
    }
    expand = query_array(r, "expand");
    reply_render(r, obj, expand);
    json_decref(expand);
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */

typedef int (*list_filter_fn)(const json_t *obj, void *arg);

/*
 * A Stripe list of the objects in map (chronological by insertion),
 * newest first, with limit (1..100, default 10), starting_after and
 * ending_before; filt (may be NULL) keeps an object when it returns 1.
 */
static void reply_list(struct cd_req *r, json_t *map, const char *url,
                       const char *noun, list_filter_fn filt, void *arg)
{
    size_t n = json_object_size(map), i = 0, count;
    const json_t **all = NULL;
    const char *after = cd_req_query(r, "starting_after");
    const char *before = cd_req_query(r, "ending_before");
    const char *lim = cd_req_query(r, "limit");
    const char *k;
    json_t *v, *data;
    int64_t limit = 10;
    long anchor = -1;
    int has_more = 0;

    if (lim && cd_parse_int64(lim, 1, LIST_MAX, &limit) != 0) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_integer", "limit",
                                "Invalid integer: limit must be between 1 "
                                "and 100.");
        return;
    }
    if (after && before) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_string", "ending_before",
                                "You may only specify one of these "
                                "parameters: ending_before, starting_after.");
        return;
    }
    if (n > 0) {
        all = malloc(n * sizeof(*all));
        if (!all) {
            cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                    "out of memory");
            return;
        }
    }
    json_object_foreach(map, k, v) {
        if ((after && strcmp(k, after) == 0) ||
            (before && strcmp(k, before) == 0))
            anchor = (long)i;
        all[i++] = v;
    }
    if ((after || before) && anchor < 0) {
        free(all);
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "resource_missing",
                                after ? "starting_after" : "ending_before",
                                "No such %s: '%.80s'", noun,
                                after ? after : before);
        return;
    }
    data = json_array();
    count = 0;
    if (before) {
        /* The page just newer than the anchor, still newest first. */
        json_t *tmp = json_array();
        for (size_t j = (size_t)anchor + 1; j < n; j++) {
            if (filt && !filt(all[j], arg))
                continue;
            if ((int64_t)count == limit) {
                has_more = 1;
                break;
            }
            json_array_append_new(tmp, json_deep_copy(all[j]));
            count++;
        }
        for (size_t j = json_array_size(tmp); j-- > 0;)
            json_array_append(data, json_array_get(tmp, j));
        json_decref(tmp);
    } else {
        size_t start = after ? (size_t)anchor : n;
        for (size_t j = start; j-- > 0;) {
            if (filt && !filt(all[j], arg))
                continue;
            if ((int64_t)count == limit) {
                has_more = 1;
                break;
            }
            json_array_append_new(data, json_deep_copy(all[j]));
            count++;
        }
    }
    free(all);
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data",
                            data, "has_more", has_more, "url", url));
}

/* A filter: the object's field equals the query parameter (when given). */
struct field_filter {
    const char *field[3];
    const char *want[3];
};

static int field_filter_fn(const json_t *obj, void *arg)
{
    struct field_filter *ff = arg;

    for (int i = 0; i < 3; i++) {
        const char *v;
        if (!ff->field[i] || !ff->want[i])
            continue;
        v = json_string_value(json_object_get(obj, ff->field[i]));
        if (!v || strcmp(v, ff->want[i]) != 0)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Customers                                                           */

static int customer_fields(json_t *p, const char **email, const char **name,
                           const char **desc, struct cd_sandbox_fail *f)
{
    if (opt_str(p, "email", "email", 512, email, f) ||
        check_email(*email, "email", f) ||
        opt_str(p, "name", "name", 256, name, f) ||
        opt_str(p, "description", "description", 350, desc, f) ||
        check_metadata(json_object_get(p, "metadata"), "metadata", f))
        return -1;
    return 0;
}

static void h_customer_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *email, *name, *desc;
    json_t *p = post_params(r), *c;

    if (!p)
        return;
    if (customer_fields(p, &email, &name, &desc, &f) != 0) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    c = cd_sandbox_customer_create(s, email, name, desc,
                                   json_is_object(json_object_get(p, "metadata"))
                                       ? json_object_get(p, "metadata")
                                       : NULL);
    if (!c) {
        cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                "The sandbox is full.");
        goto out;
    }
    reply_render(r, c, json_object_get(p, "expand"));
out:
    json_decref(p);
}

static void h_customer_update(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *email, *name, *desc, *dpm = NULL;
    json_t *c = json_object_get(s->customers, r->params[0]);
    json_t *p, *md, *is;

    if (!c) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such customer: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = post_params(r)))
        return;
    is = json_object_get(p, "invoice_settings");
    if (customer_fields(p, &email, &name, &desc, &f) != 0 ||
        (is && opt_str(is, "default_payment_method",
                       "invoice_settings[default_payment_method]", 255, &dpm,
                       &f) != 0)) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    if (dpm && !json_object_get(s->pms, dpm)) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "resource_missing",
                                "invoice_settings[default_payment_method]",
                                "No such PaymentMethod: '%.80s'", dpm);
        goto out;
    }
    if (json_object_get(p, "email"))
        json_object_set_new(c, "email", email ? json_string(email)
                                              : json_null());
    if (json_object_get(p, "name"))
        json_object_set_new(c, "name", name ? json_string(name) : json_null());
    if (json_object_get(p, "description"))
        json_object_set_new(c, "description",
                            desc ? json_string(desc) : json_null());
    md = json_object_get(p, "metadata");
    if (json_is_object(md))
        json_object_update(json_object_get(c, "metadata"), md);
    else if (md)
        json_object_set_new(c, "metadata", json_object());
    if (dpm)
        json_object_set_new(json_object_get(c, "invoice_settings"),
                            "default_payment_method", json_string(dpm));
    cd_sandbox_emit(s, "customer.updated", c);
    reply_render(r, c, json_object_get(p, "expand"));
out:
    json_decref(p);
}

static void h_customer_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->customers, "customer");
}

static void h_customer_list(struct cd_req *r)
{
    struct field_filter ff = {{"email"}, {cd_req_query(r, "email")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->customers, "/v1/customers",
               "customer", field_filter_fn, &ff);
}

/* ------------------------------------------------------------------ */
/* Account and webhook endpoints (what `creditd stripe check` reads)   */

static void h_account_get(struct cd_req *r)
{
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:b, s:b, s:s, s:b}", "id",
                            "acct_sandbox", "object", "account",
                            "charges_enabled", 1, "payouts_enabled", 1,
                            "default_currency", "usd", "livemode", 0));
}

/* The one endpoint: the sandbox's delivery URL (none when it delivers
 * nowhere) with the webhook_events switch as its enabled_events. */
static void h_webhook_endpoints_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *data = json_array();
    json_t *ev = s->webhook_events ? json_incref(s->webhook_events)
                                   : json_pack("[s]", "*");

    if (s->webhook_url)
        json_array_append_new(
            data,
            json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:b}", "id",
                      "we_sandbox", "object", "webhook_endpoint", "url",
                      s->webhook_url, "enabled_events", ev,
                      "status", "enabled", "api_version",
                      CD_STRIPE_API_VERSION, "livemode", 0));
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:o, s:b}", "object", "list", "url",
                            "/v1/webhook_endpoints", "data", data,
                            "has_more", 0));
    json_decref(ev);
}

/* ------------------------------------------------------------------ */
/* Checkout sessions                                                   */

/* Validates line_items and builds the line item objects; sets *total
 * and currency. */
static int build_line_items(json_t *items, int subscription, json_t *out,
                            int64_t *total, char currency[4],
                            struct cd_sandbox_fail *f)
{
    size_t i;
    json_t *li;
    char param[96];
    int64_t now = cd_now();
    int nrecurring = 0;

    if (!items)
        return missing(f, "line_items");
    if (!json_is_array(items) || json_array_size(items) == 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_empty",
                                   "line_items", "line_items must be a "
                                   "non-empty list.");
    if (json_array_size(items) > LINE_ITEMS_MAX)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   "line_items", "You may only specify up to "
                                   "100 line items.");
    *total = 0;
    currency[0] = '\0';
    json_array_foreach(items, i, li) {
        json_t *pd, *prod, *rec, *rec_obj;
        const char *cur, *name, *price;
        int64_t unit, qty, sub;
        int present;
        char li_id[64], price_id[64], prod_id[64];

        snprintf(param, sizeof(param), "line_items[%zu]", i);
        if (!json_is_object(li))
            return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                       param, "Invalid line item.");
        if (opt_str(li, "price", param, 255, &price, f))
            return -1;
        if (price) {
            snprintf(param, sizeof(param), "line_items[%zu][price]", i);
            return cd_sandbox_fail_set(f, 400, NULL, "resource_missing", param,
                                       "No such price: '%.80s'", price);
        }
        pd = json_object_get(li, "price_data");
        if (!json_is_object(pd)) {
            snprintf(param, sizeof(param), "line_items[%zu][price_data]", i);
            return cd_sandbox_fail_set(f, 400, NULL, "parameter_missing",
                                       param, "You must specify either "
                                       "`price` or `price_data` for each line "
                                       "item.");
        }
        snprintf(param, sizeof(param), "line_items[%zu][price_data][currency]",
                 i);
        if (opt_currency(pd, param, &cur, f))
            return -1;
        if (!cur)
            return missing(f, param);
        if (currency[0] && strcmp(currency, cur) != 0)
            return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                       param, "All line items must have the "
                                       "same currency.");
        memcpy(currency, cur, 4);

        snprintf(param, sizeof(param),
                 "line_items[%zu][price_data][unit_amount]", i);
        if (opt_int(pd, "unit_amount", param, 0, UNIT_AMOUNT_MAX, &unit,
                    &present, f))
            return -1;
        if (!present)
            return missing(f, param);

        snprintf(param, sizeof(param),
                 "line_items[%zu][price_data][product_data][name]", i);
        prod = json_object_get(pd, "product_data");
        if (json_object_get(pd, "product")) {
            snprintf(param, sizeof(param),
                     "line_items[%zu][price_data][product]", i);
            return cd_sandbox_fail_set(f, 400, NULL, "resource_missing", param,
                                       "No such product; the sandbox "
                                       "supports product_data only.");
        }
        if (!json_is_object(prod) ||
            opt_str(prod, "name", param, 250, &name, f) || !name)
            return f->status ? -1 : missing(f, param);

        snprintf(param, sizeof(param), "line_items[%zu][quantity]", i);
        if (opt_int(li, "quantity", param, 1, QUANTITY_MAX, &qty, &present,
                    f))
            return -1;
        if (!present)
            return missing(f, param);

        /* price_data[recurring]: subscription mode only. */
        rec = json_object_get(pd, "recurring");
        rec_obj = NULL;
        if (rec) {
            const char *interval;
            int64_t count = 1;
            snprintf(param, sizeof(param),
                     "line_items[%zu][price_data][recurring][interval]", i);
            if (!json_is_object(rec) ||
                opt_str(rec, "interval", param, 16, &interval, f))
                return f->status ? -1
                                 : cd_sandbox_fail_set(
                                       f, 400, NULL,
                                       "parameter_invalid_string", param,
                                       "Invalid hash.");
            if (!interval)
                return missing(f, param);
            if (!cd_sandbox_interval_ok(interval))
                return cd_sandbox_fail_set(
                    f, 400, NULL, "parameter_invalid_string", param,
                    "Invalid interval: must be one of day, week, month, or "
                    "year.");
            snprintf(param, sizeof(param),
                     "line_items[%zu][price_data][recurring][interval_count]",
                     i);
            if (opt_int(rec, "interval_count", param, 1, 12, &count,
                        &present, f))
                return -1;
            if (!subscription) {
                snprintf(param, sizeof(param),
                         "line_items[%zu][price_data][recurring]", i);
                return cd_sandbox_fail_set(
                    f, 400, NULL, "parameter_invalid_string", param,
                    "You specified `payment` mode but passed a recurring "
                    "price. Either switch to `subscription` mode or use only "
                    "one-time prices.");
            }
            rec_obj = json_pack("{s:s, s:I, s:n, s:n, s:s}", "interval",
                                interval, "interval_count", (json_int_t)count,
                                "meter", "trial_period_days", "usage_type",
                                "licensed");
            nrecurring++;
        }

        sub = unit * qty; /* <= 99999999 * 999999: no overflow */
        *total += sub;
        if (*total > SESSION_TOTAL_MAX)
            return cd_sandbox_fail_set(f, 400, NULL, "amount_too_large",
                                       "line_items", "The Checkout Session's "
                                       "total amount due must be no more than "
                                       "999,999.99 %s.", currency);
        cd_sandbox_new_id("li_", li_id, sizeof(li_id));
        cd_sandbox_new_id("price_", price_id, sizeof(price_id));
        cd_sandbox_new_id("prod_", prod_id, sizeof(prod_id));
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:i, s:I, s:i, s:I, s:s, s:s, "
                      "s:{s:s, s:s, s:b, s:s, s:I, s:s, s:b, s:{}, s:s, "
                      "s:o, s:I, s:s, s:s}, s:I}",
                      "id", li_id, "object", "item", "amount_discount", 0,
                      "amount_subtotal", (json_int_t)sub, "amount_tax", 0,
                      "amount_total", (json_int_t)sub, "currency", cur,
                      "description", name, "price", "id", price_id, "object",
                      "price", "active", 0, "billing_scheme", "per_unit",
                      "created", (json_int_t)now, "currency", cur, "livemode",
                      0, "metadata", "product", prod_id, "recurring",
                      rec_obj ? rec_obj : json_null(), "unit_amount",
                      (json_int_t)unit, "unit_amount_decimal",
                      json_string_value(json_object_get(pd, "unit_amount")),
                      "type", rec_obj ? "recurring" : "one_time", "quantity",
                      (json_int_t)qty));
    }
    if (subscription && nrecurring == 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_empty",
                                   "line_items", "You must provide at least "
                                   "one recurring price in `subscription` "
                                   "mode when using prices.");
    if (*total > 0 && *total < 50)
        return cd_sandbox_fail_set(f, 400, NULL, "amount_too_small",
                                   "line_items", "The Checkout Session's "
                                   "total amount due must add up to at least "
                                   "50 in the smallest currency unit.");
    return 0;
}

static void h_session_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    json_t *p = post_params(r), *items = NULL, *pid, *sess, *priv, *md,
           *sdata;
    const char *mode, *success, *cancel, *cus, *creation, *cemail, *crid,
        *sfu = NULL;
    int64_t total = 0, expires_at = cd_now() + 24 * 3600, now = cd_now();
    int present, subscription;
    char currency[4], id[96], url[1024];

    if (!p)
        return;
    if (opt_str(p, "mode", "mode", 32, &mode, &f))
        goto fail;
    if (!mode) {
        missing(&f, "mode");
        goto fail;
    }
    if (strcmp(mode, "payment") != 0 && strcmp(mode, "subscription") != 0) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string", "mode",
                            strcmp(mode, "setup") == 0
                                ? "The sandbox supports mode=payment and "
                                  "mode=subscription only."
                                : "Invalid mode: must be one of payment, "
                                  "setup, or subscription.");
        goto fail;
    }
    subscription = strcmp(mode, "subscription") == 0;
    items = json_array();
    if (build_line_items(json_object_get(p, "line_items"), subscription,
                         items, &total, currency, &f) != 0)
        goto fail;
    if (opt_str(p, "success_url", "success_url", URL_MAX, &success, &f) ||
        check_url(success, "success_url", &f) ||
        opt_str(p, "cancel_url", "cancel_url", URL_MAX, &cancel, &f) ||
        check_url(cancel, "cancel_url", &f) ||
        opt_str(p, "customer", "customer", 255, &cus, &f) ||
        opt_str(p, "customer_creation", "customer_creation", 32, &creation,
                &f) ||
        opt_str(p, "customer_email", "customer_email", 512, &cemail, &f) ||
        check_email(cemail, "customer_email", &f) ||
        opt_str(p, "client_reference_id", "client_reference_id", 200, &crid,
                &f) ||
        check_metadata(json_object_get(p, "metadata"), "metadata", &f))
        goto fail;
    if (cus && !json_object_get(s->customers, cus)) {
        cd_sandbox_fail_set(&f, 400, NULL, "resource_missing", "customer",
                            "No such customer: '%.80s'", cus);
        goto fail;
    }
    if (creation && strcmp(creation, "always") != 0 &&
        strcmp(creation, "if_required") != 0) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "customer_creation", "Invalid customer_creation: "
                            "must be one of always or if_required");
        goto fail;
    }
    if (cus && (creation || cemail)) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            creation ? "customer_creation" : "customer_email",
                            "You may only specify one of these parameters: "
                            "customer, %s.",
                            creation ? "customer_creation" : "customer_email");
        goto fail;
    }
    if (subscription && creation) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "customer_creation", "`customer_creation` can "
                            "only be used in `payment` and `setup` mode.");
        goto fail;
    }
    sdata = json_object_get(p, "subscription_data");
    if (sdata && !subscription) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "subscription_data", "You can only pass "
                            "`subscription_data` in `subscription` mode.");
        goto fail;
    }
    if (sdata && (!json_is_object(sdata) ||
                  check_metadata(json_object_get(sdata, "metadata"),
                                 "subscription_data[metadata]", &f))) {
        if (!f.status)
            cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                                "subscription_data", "Invalid hash");
        goto fail;
    }
    pid = json_object_get(p, "payment_intent_data");
    if (pid && subscription) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "payment_intent_data", "You can not pass "
                            "`payment_intent_data` in `subscription` mode.");
        goto fail;
    }
    if (pid && !json_is_object(pid)) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "payment_intent_data", "Invalid hash");
        goto fail;
    }
    if (pid &&
        (opt_str(pid, "setup_future_usage",
                 "payment_intent_data[setup_future_usage]", 32, &sfu, &f) ||
         check_metadata(json_object_get(pid, "metadata"),
                        "payment_intent_data[metadata]", &f)))
        goto fail;
    if (sfu && strcmp(sfu, "off_session") != 0 &&
        strcmp(sfu, "on_session") != 0) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "payment_intent_data[setup_future_usage]",
                            "Invalid setup_future_usage: must be one of "
                            "on_session or off_session");
        goto fail;
    }
    if (opt_int(p, "expires_at", "expires_at", now + 1800 - 60,
                now + 24 * 3600 + 60, &expires_at, &present, &f)) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_integer",
                            "expires_at", "The `expires_at` timestamp must be "
                            "between 30 minutes and 24 hours from Checkout "
                            "Session creation.");
        goto fail;
    }

    cd_sandbox_new_id("cs_test_a1", id, sizeof(id));
    snprintf(url, sizeof(url), "%s/checkout/%s", s->public_url, id);
    md = json_object_get(p, "metadata");
    sess = json_pack(
        "{s:s, s:s, s:n, s:n, s:I, s:I, s:{s:b, s:n, s:n}, s:n, s:s?, s:s?, "
        "s:n, s:I, s:s, s:s?, s:s?, s:n, s:s?, s:I, s:n, s:b, s:n, s:o, "
        "s:s, s:n, s:n, s:s, s:[s], s:s, s:n, s:s, s:n, s:n, s:s?, "
        "s:{s:i, s:i, s:i}, s:s, s:s}",
        "id", id, "object", "checkout.session", "after_expiration",
        "allow_promotion_codes", "amount_subtotal", (json_int_t)total,
        "amount_total", (json_int_t)total, "automatic_tax", "enabled", 0,
        "liability", "status", "billing_address_collection", "cancel_url",
        cancel, "client_reference_id", crid, "client_secret", "created",
        (json_int_t)now, "currency", currency, "customer", cus,
        "customer_creation", creation, "customer_details", "customer_email",
        cemail, "expires_at", (json_int_t)expires_at, "invoice", "livemode",
        0, "locale", "metadata", metadata_copy(md), "mode", mode,
        "payment_intent", "payment_link", "payment_method_collection",
        "if_required", "payment_method_types", "card", "payment_status",
        "unpaid", "setup_intent", "status", "open", "submit_type",
        "subscription", "success_url", success, "total_details",
        "amount_discount", 0, "amount_shipping", 0, "amount_tax", 0,
        "ui_mode", "hosted", "url", url);
    priv = json_pack("{s:o, s:s?, s:{s:s?, s:o}, s:{s:o}}", "line_items",
                     items, "customer_creation", creation,
                     "payment_intent_data", "setup_future_usage", sfu,
                     "metadata",
                     metadata_copy(pid ? json_object_get(pid, "metadata")
                                       : NULL),
                     "subscription_data", "metadata",
                     metadata_copy(sdata ? json_object_get(sdata, "metadata")
                                         : NULL));
    items = NULL;
    if (!sess || !priv || cd_sandbox_store(s->sessions, sess) != 0) {
        json_decref(priv);
        cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                "The sandbox could not store the session.");
        goto out;
    }
    json_object_set_new(s->priv, id, priv);
    reply_render(r, sess, json_object_get(p, "expand"));
    goto out;
fail:
    cd_sandbox_reply_fail(r, &f);
out:
    json_decref(items);
    json_decref(p);
}

static json_t *find_session(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *sess = json_object_get(s->sessions, r->params[0]);

    if (!sess) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "session",
                                "No such checkout.session: '%.80s'",
                                r->params[0]);
        return NULL;
    }
    cd_sandbox_session_refresh(s, sess);
    return sess;
}

static void h_session_get(struct cd_req *r)
{
    json_t *sess = find_session(r), *expand;

    if (!sess)
        return;
    expand = query_array(r, "expand");
    reply_render(r, sess, expand);
    json_decref(expand);
}

static void h_session_line_items(struct cd_req *r)
{
    json_t *sess = find_session(r);

    if (sess)
        cd_reply_json(r, 200,
                      cd_sandbox_session_line_items(r->app, sess));
}

static void h_session_expire(struct cd_req *r)
{
    struct cd_sandbox_fail f;
    json_t *sess = find_session(r), *p;

    if (!sess)
        return;
    if (!(p = post_params(r)))
        return;
    if (cd_sandbox_session_expire(r->app, sess, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_render(r, sess, json_object_get(p, "expand"));
    json_decref(p);
}

static void h_session_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"payment_intent", "customer", "status"},
        {cd_req_query(r, "payment_intent"), cd_req_query(r, "customer"),
         cd_req_query(r, "status")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->sessions,
               "/v1/checkout/sessions", "checkout.session", field_filter_fn,
               &ff);
}

/* ------------------------------------------------------------------ */
/* Payment intents, charges, payment methods, refunds                   */

/* Optional boolean ("true"/"false"; off_session also takes "one_off" and
 * "recurring" as true). 0, or -1 with f filled. */
static int opt_bool(json_t *p, const char *key, int *out,
                    struct cd_sandbox_fail *f)
{
    const char *v = json_string_value(json_object_get(p, key));

    *out = 0;
    if (!json_object_get(p, key))
        return 0;
    if (v && (strcmp(v, "true") == 0 || strcmp(v, "one_off") == 0 ||
              strcmp(v, "recurring") == 0)) {
        *out = 1;
        return 0;
    }
    if (v && (strcmp(v, "false") == 0 || v[0] == '\0'))
        return 0;
    return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_boolean", key,
                               "Invalid boolean: %.40s", v ? v : "");
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

static void h_intent_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    json_t *p = post_params(r), *pi;
    const char *cur, *cus, *pm, *desc, *sfu;
    int64_t amount;
    int present, confirm, off_session;

    if (!p)
        return;
    if (opt_int(p, "amount", "amount", 1, UNIT_AMOUNT_MAX, &amount,
                &present, &f))
        goto fail;
    if (!present) {
        missing(&f, "amount");
        goto fail;
    }
    if (amount < 50) {
        cd_sandbox_fail_set(&f, 400, NULL, "amount_too_small", "amount",
                            "Amount must be at least 50 in the smallest "
                            "currency unit.");
        goto fail;
    }
    if (opt_currency(p, "currency", &cur, &f))
        goto fail;
    if (!cur) {
        missing(&f, "currency");
        goto fail;
    }
    if (opt_str(p, "customer", "customer", 255, &cus, &f) ||
        opt_str(p, "payment_method", "payment_method", 255, &pm, &f) ||
        opt_str(p, "description", "description", 1000, &desc, &f) ||
        opt_str(p, "setup_future_usage", "setup_future_usage", 32, &sfu,
                &f) ||
        opt_bool(p, "confirm", &confirm, &f) ||
        opt_bool(p, "off_session", &off_session, &f) ||
        check_metadata(json_object_get(p, "metadata"), "metadata", &f))
        goto fail;
    if (cus && !json_object_get(s->customers, cus)) {
        cd_sandbox_fail_set(&f, 400, NULL, "resource_missing", "customer",
                            "No such customer: '%.80s'", cus);
        goto fail;
    }
    if (off_session && !confirm) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_boolean",
                            "off_session", "off_session can only be used "
                            "with confirm=true.");
        goto fail;
    }
    if (off_session && sfu) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "setup_future_usage", "You cannot confirm with "
                            "the `off_session` parameter when "
                            "`setup_future_usage` is also set.");
        goto fail;
    }
    pi = cd_sandbox_pi_create(s, amount, cur, cus,
                              metadata_copy(json_object_get(p, "metadata")),
                              sfu, desc);
    if (!pi) {
        cd_sandbox_fail_set(&f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        goto fail;
    }
    if (pm && !confirm) {
        json_object_set_new(pi, "payment_method", json_string(pm));
        json_object_set_new(pi, "status",
                            json_string("requires_confirmation"));
    }
    cd_sandbox_emit(s, "payment_intent.created", pi);
    if (confirm && cd_sandbox_pi_confirm(s, pi, pm, off_session, &f) != 0) {
        reply_confirm_fail(r, pi, &f);
        goto out;
    }
    reply_render(r, pi, json_object_get(p, "expand"));
    goto out;
fail:
    cd_sandbox_reply_fail(r, &f);
out:
    json_decref(p);
}

static void h_intent_confirm(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    json_t *pi = json_object_get(s->intents, r->params[0]), *p;
    const char *pm;
    int off_session;

    if (!pi) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "intent",
                                "No such payment_intent: '%.80s'",
                                r->params[0]);
        return;
    }
    if (!(p = post_params(r)))
        return;
    if (opt_str(p, "payment_method", "payment_method", 255, &pm, &f) ||
        opt_bool(p, "off_session", &off_session, &f)) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    if (!pm)
        pm = json_string_value(json_object_get(pi, "payment_method"));
    if (cd_sandbox_pi_confirm(s, pi, pm, off_session, &f) != 0)
        reply_confirm_fail(r, pi, &f);
    else
        reply_render(r, pi, json_object_get(p, "expand"));
out:
    json_decref(p);
}

static void h_intent_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->intents, "payment_intent");
}

static void h_intent_list(struct cd_req *r)
{
    struct field_filter ff = {{"customer"}, {cd_req_query(r, "customer")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->intents,
               "/v1/payment_intents", "payment_intent", field_filter_fn, &ff);
}

static void h_charge_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->charges, "charge");
}

static void h_charge_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"payment_intent", "customer"},
        {cd_req_query(r, "payment_intent"), cd_req_query(r, "customer")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->charges, "/v1/charges",
               "charge", field_filter_fn, &ff);
}

static void h_pm_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->pms, "PaymentMethod");
}

static void h_pm_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"customer", "type"},
        {cd_req_query(r, "customer"), cd_req_query(r, "type")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->pms, "/v1/payment_methods",
               "PaymentMethod", field_filter_fn, &ff);
}

static void h_customer_pm_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct field_filter ff = {{"customer", "type"},
                              {r->params[0], cd_req_query(r, "type")}};
    char url[CD_HTTP_PARAM_MAX + 64];

    if (!json_object_get(s->customers, r->params[0])) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "customer",
                                "No such customer: '%.80s'", r->params[0]);
        return;
    }
    snprintf(url, sizeof(url), "/v1/customers/%s/payment_methods",
             r->params[0]);
    reply_list(r, s->pms, url, "PaymentMethod", field_filter_fn, &ff);
}

static void h_refund_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *ch_id, *pi_id, *reason;
    json_t *p = post_params(r), *ch = NULL, *re, *md;
    int64_t amount = 0;
    int present;

    if (!p)
        return;
    if (opt_str(p, "charge", "charge", 255, &ch_id, &f) ||
        opt_str(p, "payment_intent", "payment_intent", 255, &pi_id, &f) ||
        opt_str(p, "reason", "reason", 32, &reason, &f) ||
        opt_int(p, "amount", "amount", 1, CD_AMOUNT_MAX, &amount, &present,
                &f) ||
        check_metadata(json_object_get(p, "metadata"), "metadata", &f))
        goto fail;
    if (reason && strcmp(reason, "duplicate") != 0 &&
        strcmp(reason, "fraudulent") != 0 &&
        strcmp(reason, "requested_by_customer") != 0) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_invalid_string",
                            "reason", "Invalid reason: must be one of "
                            "duplicate, fraudulent, or requested_by_customer");
        goto fail;
    }
    if (!ch_id && !pi_id) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_missing", "charge",
                            "One of the following params should be provided "
                            "for this request: payment_intent or charge.");
        goto fail;
    }
    if (ch_id) {
        ch = json_object_get(s->charges, ch_id);
        if (!ch) {
            cd_sandbox_fail_set(&f, 400, NULL, "resource_missing", "charge",
                                "No such charge: '%.80s'", ch_id);
            goto fail;
        }
    } else {
        json_t *pi = json_object_get(s->intents, pi_id);
        if (!pi) {
            cd_sandbox_fail_set(&f, 400, NULL, "resource_missing",
                                "payment_intent",
                                "No such payment_intent: '%.80s'", pi_id);
            goto fail;
        }
        ch = json_object_get(
            s->charges,
            json_string_value(json_object_get(pi, "latest_charge"))
                ? json_string_value(json_object_get(pi, "latest_charge"))
                : "");
        if (!ch) {
            cd_sandbox_fail_set(&f, 400, NULL, "charge_not_found",
                                "payment_intent", "This PaymentIntent does "
                                "not have a successful charge to refund.");
            goto fail;
        }
    }
    md = json_object_get(p, "metadata");
    re = cd_sandbox_refund(s, ch, amount, reason,
                           json_is_object(md) ? md : NULL, &f);
    if (!re)
        goto fail;
    reply_render(r, re, json_object_get(p, "expand"));
    json_decref(p);
    return;
fail:
    cd_sandbox_reply_fail(r, &f);
    json_decref(p);
}

static void h_refund_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->refunds, "refund");
}

static void h_dispute_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->disputes, "dispute");
}

static void h_dispute_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"charge", "payment_intent"},
        {cd_req_query(r, "charge"), cd_req_query(r, "payment_intent")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->disputes, "/v1/disputes",
               "dispute", field_filter_fn, &ff);
}

/* ------------------------------------------------------------------ */
/* Subscriptions and invoices (subs.c)                                  */

static json_t *find_sub(struct cd_req *r)
{
    json_t *sub = json_object_get(((struct cd_sandbox *)r->app)->subs,
                                  r->params[0]);

    if (!sub)
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such subscription: '%.80s'", r->params[0]);
    return sub;
}

static void h_sub_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->subs, "subscription");
}

static void h_sub_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"customer", "status"},
        {cd_req_query(r, "customer"), cd_req_query(r, "status")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->subs, "/v1/subscriptions",
               "subscription", field_filter_fn, &ff);
}

/* POST /v1/subscriptions/{id}: cancel_at_period_end and metadata. */
static void h_sub_update(struct cd_req *r)
{
    struct cd_sandbox_fail f = {0};
    json_t *sub = find_sub(r), *p, *md;
    int cape = -1;

    if (!sub || !(p = post_params(r)))
        return;
    if (json_object_get(p, "cancel_at_period_end")) {
        if (opt_bool(p, "cancel_at_period_end", &cape, &f) != 0)
            goto fail;
    }
    md = json_object_get(p, "metadata");
    if (check_metadata(md, "metadata", &f) != 0)
        goto fail;
    if (cd_sandbox_sub_update(r->app, sub, cape,
                              json_is_object(md) ? md : NULL, &f) != 0)
        goto fail;
    reply_render(r, sub, json_object_get(p, "expand"));
    json_decref(p);
    return;
fail:
    cd_sandbox_reply_fail(r, &f);
    json_decref(p);
}

/* DELETE /v1/subscriptions/{id}: cancel now. */
static void h_sub_cancel(struct cd_req *r)
{
    struct cd_sandbox_fail f = {0};
    json_t *sub = find_sub(r);

    if (!sub)
        return;
    if (cd_sandbox_sub_cancel(r->app, sub, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_render(r, sub, NULL);
}

static void h_invoice_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->invoices, "invoice");
}

static void h_invoice_list(struct cd_req *r)
{
    struct field_filter ff = {
        {"customer", "subscription", "status"},
        {cd_req_query(r, "customer"), cd_req_query(r, "subscription"),
         cd_req_query(r, "status")}};

    reply_list(r, ((struct cd_sandbox *)r->app)->invoices, "/v1/invoices",
               "invoice", field_filter_fn, &ff);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

struct event_filter {
    struct cd_sandbox *s;
    json_t *types;      /* array of exact types or "prefix.*" */
    int64_t gt, lt;     /* exclusive bounds on created */
    int delivery;       /* -1 any, 0 undelivered, 1 delivered */
};

static int type_matches(const char *pat, const char *type)
{
    size_t n = strlen(pat);

    if (n >= 2 && pat[n - 1] == '*' && pat[n - 2] == '.')
        return strncmp(pat, type, n - 1) == 0;
    return strcmp(pat, type) == 0;
}

static int event_filter_fn(const json_t *ev, void *arg)
{
    struct event_filter *ef = arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_int_t created = json_integer_value(json_object_get(ev, "created"));

    if (created <= ef->gt || created >= ef->lt)
        return 0;
    if (json_array_size(ef->types) > 0) {
        size_t i;
        json_t *t;
        int ok = 0;
        json_array_foreach(ef->types, i, t)
            if (type && type_matches(json_string_value(t), type))
                ok = 1;
        if (!ok)
            return 0;
    }
    if (ef->delivery >= 0) {
        const char *id = json_string_value(json_object_get(ev, "id"));
        int done = json_object_get(ef->s->delivered, id ? id : "") != NULL;
        if (done != ef->delivery)
            return 0;
    }
    return 1;
}

static void h_event_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct event_filter ef = {s, NULL, INT64_MIN, INT64_MAX, -1};
    static const struct {
        const char *key;
        int op; /* 0 eq, 1 gt, 2 gte, 3 lt, 4 lte */
    } cr[] = {{"created", 0},      {"created[gt]", 1}, {"created[gte]", 2},
              {"created[lt]", 3},  {"created[lte]", 4}};
    const char *v;

    ef.types = query_array(r, "types");
    if ((v = cd_req_query(r, "type")) != NULL) {
        if (json_array_size(ef.types) > 0) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_string", "type",
                                    "You may only specify one of these "
                                    "parameters: type, types.");
            goto out;
        }
        json_array_append_new(ef.types, json_string(v));
    }
    for (size_t i = 0; i < CD_ARRAY_LEN(cr); i++) {
        int64_t t;
        if (!(v = cd_req_query(r, cr[i].key)))
            continue;
        if (cd_parse_int64(v, 0, INT64_C(1) << 40, &t) != 0) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_integer", cr[i].key,
                                    "Invalid integer: %.40s", v);
            goto out;
        }
        switch (cr[i].op) {
        case 0: ef.gt = t - 1; ef.lt = t + 1; break;
        case 1: ef.gt = t; break;
        case 2: ef.gt = t - 1; break;
        case 3: ef.lt = t; break;
        default: ef.lt = t + 1; break;
        }
    }
    if ((v = cd_req_query(r, "delivery_success")) != NULL)
        ef.delivery = strcmp(v, "true") == 0 ? 1 : 0;
    reply_list(r, s->events, "/v1/events", "event", event_filter_fn, &ef);
out:
    json_decref(ef.types);
}

static void h_event_get(struct cd_req *r)
{
    reply_get(r, ((struct cd_sandbox *)r->app)->events, "event");
}

/* ------------------------------------------------------------------ */

#define AUTH CD_SANDBOX_F_AUTH
#define IDEM (CD_SANDBOX_F_AUTH | CD_SANDBOX_F_IDEM)

const struct cd_route cd_sandbox_api_routes[] = {
    {"POST", "/v1/customers", h_customer_create, IDEM, 0},
    {"GET", "/v1/customers", h_customer_list, AUTH, 0},
    {"GET", "/v1/customers/{}", h_customer_get, AUTH, 0},
    {"POST", "/v1/customers/{}", h_customer_update, IDEM, 0},
    {"GET", "/v1/customers/{}/payment_methods", h_customer_pm_list, AUTH, 0},
    {"POST", "/v1/checkout/sessions", h_session_create, IDEM, 0},
    {"GET", "/v1/checkout/sessions", h_session_list, AUTH, 0},
    {"GET", "/v1/checkout/sessions/{}", h_session_get, AUTH, 0},
    {"GET", "/v1/checkout/sessions/{}/line_items", h_session_line_items, AUTH,
     0},
    {"POST", "/v1/checkout/sessions/{}/expire", h_session_expire, IDEM, 0},
    {"POST", "/v1/payment_intents", h_intent_create, IDEM, 0},
    {"POST", "/v1/payment_intents/{}/confirm", h_intent_confirm, IDEM, 0},
    {"GET", "/v1/payment_intents", h_intent_list, AUTH, 0},
    {"GET", "/v1/payment_intents/{}", h_intent_get, AUTH, 0},
    {"GET", "/v1/charges", h_charge_list, AUTH, 0},
    {"GET", "/v1/charges/{}", h_charge_get, AUTH, 0},
    {"GET", "/v1/payment_methods", h_pm_list, AUTH, 0},
    {"GET", "/v1/payment_methods/{}", h_pm_get, AUTH, 0},
    {"POST", "/v1/refunds", h_refund_create, IDEM, 0},
    {"GET", "/v1/refunds/{}", h_refund_get, AUTH, 0},
    {"GET", "/v1/disputes", h_dispute_list, AUTH, 0},
    {"GET", "/v1/disputes/{}", h_dispute_get, AUTH, 0},
    {"GET", "/v1/subscriptions", h_sub_list, AUTH, 0},
    {"GET", "/v1/subscriptions/{}", h_sub_get, AUTH, 0},
    {"POST", "/v1/subscriptions/{}", h_sub_update, IDEM, 0},
    {"DELETE", "/v1/subscriptions/{}", h_sub_cancel, AUTH, 0},
    {"GET", "/v1/invoices", h_invoice_list, AUTH, 0},
    {"GET", "/v1/invoices/{}", h_invoice_get, AUTH, 0},
    {"GET", "/v1/events", h_event_list, AUTH, 0},
    {"GET", "/v1/account", h_account_get, AUTH, 0},
    {"GET", "/v1/webhook_endpoints", h_webhook_endpoints_list, AUTH, 0},
    {"GET", "/v1/events/{}", h_event_get, AUTH, 0},
};
const size_t cd_sandbox_api_nroutes = CD_ARRAY_LEN(cd_sandbox_api_routes);
