/*
 * topup_lookup.c - whether Stripe charged an order whose answer was lost,
 * before it is sent again under a new Idempotency-Key; see
 * topup_lookup.h.
 */
#include "billing/topup_lookup.h"

#include <string.h>

#include "stripe/client.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "topups"

static const struct cd_metric_def M_LOOKUPS = {
    "creditd_topup_lookups_total",
    "Off-session top-ups sent again after Stripe may have forgotten their "
    "Idempotency-Key, by what listing the customer's PaymentIntents found "
    "first (found: adopted, nothing sent; none: sent under a new key).",
    CD_METRIC_COUNTER,
    {"result"},
    NULL,
    0};

int64_t cd_topup_key_gen(int64_t created_at, int64_t now)
{
    if (now <= created_at)
        return 0;
    return (now - created_at) / CD_TOPUP_KEY_LIFE_S;
}

static int succeeded(const json_t *pi)
{
    const char *st = json_string_value(json_object_get(pi, "status"));

    return st && strcmp(st, "succeeded") == 0;
}

/* The better of the order's PaymentIntents so far (*best) and pi: a
 * succeeded one, else the first seen (the newest). */
static void consider(const json_t **best, const json_t *pi)
{
    if (!*best || (succeeded(pi) && !succeeded(*best)))
        *best = pi;
}

/* One page: GET /v1/payment_intents?customer=&created[gte]=&limit=
 * [&starting_after=]. 0 with *page (new), or -1 with err. */
static int list_page(struct cd_billing *b, const char *customer,
                     int64_t since, const char *after, json_t **page,
                     struct cd_error *err)
{
    json_t *params;
    struct cd_error serr;
    int rc;

    params = json_pack("{s:s, s:{s:I}, s:i}", "customer", customer, "created",
                       "gte", (json_int_t)since, "limit",
                       CD_TOPUP_LOOKUP_PAGE);
    if (params && after[0])
        json_object_set_new(params, "starting_after", json_string(after));
    if (!params)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    cd_error_clear(&serr);
    *page = NULL;
    rc = cd_stripe_request(b->stripe, "GET", "/v1/payment_intents", params,
                           NULL, page, NULL, &serr);
    json_decref(params);
    if (rc == 0 && json_is_array(json_object_get(*page, "data")))
        return 0;
    json_decref(*page);
    *page = NULL;
    cd_warn(MOD, "listing the payment intents of %s failed: %s", customer,
            rc ? serr.message : "no data");
    return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                        "Stripe request failed.");
}

/* Looks through one page for order_id: *found (new) replaces a worse
 * one; *after becomes the page's last id. 1 when there is a next page. */
static int scan_page(const json_t *page, const char *order_id, json_t **found,
                     char *after, size_t aftersz)
{
    const json_t *data = json_object_get(page, "data"), *pi, *best = *found;
    const char *oid, *last = NULL;
    size_t i;

    json_array_foreach(data, i, pi)
    {
        oid = json_string_value(
            json_object_get(json_object_get(pi, "metadata"), "order_id"));
        last = json_string_value(json_object_get(pi, "id"));
        if (oid && strcmp(oid, order_id) == 0)
            consider(&best, pi);
    }
    if (best != *found) {
        json_decref(*found);
        *found = json_deep_copy(best);
    }
    if (!last || !cd_stripe_safe_id(last) ||
        cd_strlcpy(after, last, aftersz) != 0)
        return 0;
    return json_is_true(json_object_get(page, "has_more"));
}

int cd_topup_lookup(struct cd_billing *b, const char *customer,
                    const char *order_id, int64_t created_at, json_t **pi,
                    struct cd_error *err)
{
    char after[CD_SID_SZ] = "";
    json_t *page = NULL, *found = NULL;
    int more = 1, pages = 0;

    *pi = NULL;
    while (more && pages < CD_TOPUP_LOOKUP_MAX_PAGES) {
        if (list_page(b, customer, created_at - CD_TOPUP_LOOKUP_SKEW_S, after,
                      &page, err) != 0) {
            json_decref(found);
            return -1;
        }
        more = scan_page(page, order_id, &found, after, sizeof(after));
        json_decref(page);
        pages++;
    }
    if (more && !succeeded(found)) {
        cd_warn(MOD,
                "order %s: more than %d pages of payment intents "
                "and none succeeded for it: not sent again",
                order_id, CD_TOPUP_LOOKUP_MAX_PAGES);
        json_decref(found);
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Stripe request failed.");
    }
    cd_metrics_add(NULL, &M_LOOKUPS, 1, found ? "found" : "none", NULL, NULL);
    cd_info(MOD, "order %s: %s at Stripe before a re-send", order_id,
            found ? "its payment intent found" : "no payment intent");
    *pi = found;
    return found ? 0 : 1;
}
