/*
 * orders.c - the account's own lists, GET /v1/orders and GET /v1/payments
 * (billing/orders.c), paged by offset or by keyset (starting_after, 026),
 * and API.md's Order and Payment objects, which the operator's lists
 * (admin_lists.c) reply too.
 */
#include "api/api.h"
#include "billing/orders.h"
#include "util/util.h"

/* ---- JSON shapes --------------------------------------------------------- */

/* API.md's Order object (new reference). */
json_t *cd_api_order_json(const struct cd_order *o)
{
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:o, s:I, s:s, s:o, s:o, s:o, s:o}", "id",
        o->id, "kind", o->kind, "status", o->status, "amount_cents",
        (json_int_t)o->amount_cents, "discount_cents",
        (json_int_t)o->discount_cents, "discount_code",
        cd_api_str_or_null(o->discount_code), "credits",
        (json_int_t)o->credits, "currency", o->currency, "stripe_session_id",
        cd_api_str_or_null(o->stripe_session_id), "stripe_payment_intent_id",
        cd_api_str_or_null(o->stripe_payment_intent_id), "created_at",
        cd_api_time(o->created_at), "completed_at",
        cd_api_time(o->completed_at));
}

/* API.md's Payment object (new reference). */
json_t *cd_api_payment_json(const struct cd_payment *p)
{
    json_t *j = json_pack(
        "{s:s, s:o, s:s, s:I, s:I, s:s, s:o, s:s, s:o, s:o}", "id", p->id,
        "order_id", cd_api_str_or_null(p->order_id), "status", p->status,
        "amount_cents", (json_int_t)p->amount_cents, "amount_refunded_cents",
        (json_int_t)p->amount_refunded_cents, "currency", p->currency,
        "description", cd_api_str_or_null(p->description), "payment_method",
        "card", "payment_method_last4", cd_api_str_or_null(p->last4),
        "failure_reason", cd_api_str_or_null(p->failure_reason));

    if (!j)
        return NULL;
    json_object_set_new(j, "stripe_payment_intent_id",
                        cd_api_str_or_null(p->stripe_payment_intent_id));
    json_object_set_new(j, "stripe_charge_id",
                        cd_api_str_or_null(p->stripe_charge_id));
    json_object_set_new(j, "created_at", cd_api_time(p->created_at));
    json_object_set_new(j, "paid_at", cd_api_time(p->paid_at));
    json_object_set_new(j, "refunded_at", cd_api_time(p->refunded_at));
    return j;
}

/* ---- GET /v1/orders, GET /v1/payments ----------------------------------- */

static int add_order(const struct cd_order *o, void *arg)
{
    return json_array_append_new((json_t *)arg, cd_api_order_json(o));
}

static int add_payment(const struct cd_payment *p, void *arg)
{
    return json_array_append_new((json_t *)arg, cd_api_payment_json(p));
}

/* One page either way: by keyset after `after`, else by offset (then
 * *has_more from the count). 0, or -1 with err. */
static int list_page(struct cd_req *req, int payments, const char *after,
                     int64_t limit, int64_t offset, json_t *data,
                     int *has_more, int64_t *total, struct cd_error *err)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *acct = cd_api_ctx(req)->account.id;
    int rc;

    if (after && payments)
        return cd_payments_account_page(b, acct, after, limit, add_payment,
                                        data, has_more, total, err);
    if (after)
        return cd_orders_account_page(b, acct, after, limit, add_order, data,
                                      has_more, total, err);
    if (payments)
        rc = cd_payments_list(b, acct, limit, offset, add_payment, data,
                              total, err);
    else
        rc = cd_orders_list(b, acct, limit, offset, add_order, data, total,
                            err);
    if (rc != 0)
        return -1;
    *has_more = offset + (int64_t)json_array_size(data) < *total;
    return 0;
}

/* {"data", "total", "limit", "offset"} plus "has_more" and
 * "next_starting_after" (the last row's id, null on the last page),
 * whichever way the page was asked for, as GET /v1/transactions. */
static void handle_list(struct cd_req *req, int payments)
{
    struct cd_api_ctx *ctx;
    int64_t limit, offset, total = 0;
    const char *after;
    struct cd_error err;
    int has_more = 0;
    json_t *data, *last, *r;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    if (cd_api_paging(req, payments ? 50 : 20, &limit, &offset) != 0 ||
        cd_api_starting_after(req, payments ? "payment" : "order", &after) !=
            0)
        return;
    data = json_array();
    if (!data) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "Out of memory.");
        return;
    }
    cd_error_clear(&err);
    if (list_page(req, payments, after, limit, offset, data, &has_more,
                  &total, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    last = json_array_get(data, json_array_size(data) - 1);
    r = cd_api_list(data, total, limit, offset);
    if (r) {
        json_object_set_new(r, "has_more", json_boolean(has_more));
        json_object_set(r, "next_starting_after",
                        has_more && last ? json_object_get(last, "id")
                                         : json_null());
    }
    cd_reply_json(req, 200, r);
}

static void handle_orders(struct cd_req *req)
{
    handle_list(req, 0);
}

static void handle_payments(struct cd_req *req)
{
    handle_list(req, 1);
}

const struct cd_route cd_api_routes_orders[] = {
    {"GET", "/v1/orders", handle_orders, CD_ROUTE_ACCOUNT, 0},
    {"GET", "/v1/payments", handle_payments, CD_ROUTE_ACCOUNT, 0},
};
const size_t cd_api_routes_orders_count = CD_ARRAY_LEN(cd_api_routes_orders);
