/*
 * admin_lists.c - the operator's lists of every account's orders, ledger
 * entries, payments and subscriptions: GET /v1/admin/orders,
 * /v1/admin/ledger, /v1/admin/payments and /v1/admin/subscriptions, keyset
 * paged (starting_after), and the query filters they share with the CSV
 * exports (export.c).
 */
#include <string.h>

#include "api/core.h"
#include "billing/ledger_ops.h"
#include "billing/orders.h"
#include "billing/subscriptions.h"
#include "util/util.h"

/* What each list filters on: its statuses (none: status is refused) and
 * whether it has a kind. The status message lists them. */
struct list_kind {
    const char *const *statuses;
    const char *status_msg;
    int has_kind;
};

static const char *const order_statuses[] = {
    "pending",  "completed",          "failed",   "expired",
    "refunded", "partially_refunded", "disputed", NULL,
};
static const char *const payment_statuses[] = {
    "succeeded",          "pending",  "failed", "refunded",
    "partially_refunded", "disputed", NULL,
};
/* Stripe's subscription statuses. */
static const char *const sub_statuses[] = {
    "incomplete", "incomplete_expired", "trialing", "active",
    "past_due",   "canceled",           "unpaid",   "paused",
    NULL,
};

static const struct list_kind LIST_ORDERS = {
    order_statuses,
    "status must be one of pending, completed, failed, expired, refunded, "
    "partially_refunded, disputed",
    1};
static const struct list_kind LIST_LEDGER = {
    NULL, "the ledger has no status (filter by kind)", 1};
static const struct list_kind LIST_PAYMENTS = {
    payment_statuses,
    "status must be one of succeeded, pending, failed, refunded, "
    "partially_refunded, disputed",
    0};
static const struct list_kind LIST_SUBS = {
    sub_statuses,
    "status must be one of incomplete, incomplete_expired, trialing, "
    "active, past_due, canceled, unpaid, paused",
    0};

/* An optional query argument: absent, or 1..max bytes of printable
 * ASCII without spaces (ids, kinds, statuses); else 400 invalid_param. */
static int query_word(struct cd_req *req, const char *key, size_t max,
                      const char **out)
{
    const char *v = cd_req_query(req, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!*v || strlen(v) > max) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be 1 to %zu characters", key, max);
        return -1;
    }
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p > '~') {
            cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                            "%s must be printable ASCII without spaces", key);
            return -1;
        }
    *out = v;
    return 0;
}

/* An optional RFC 3339 query argument; 0 when absent. */
static int query_time(struct cd_req *req, const char *key, int64_t *out)
{
    const char *v = cd_req_query(req, key);

    *out = 0;
    if (!v)
        return 0;
    if (cd_time_parse_rfc3339(v, out) != 0 || *out == 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be an RFC 3339 time such as "
                        "2030-01-31T12:00:00Z",
                        key);
        return -1;
    }
    return 0;
}

static int check_status(struct cd_req *req, const struct list_kind *k,
                        const char *status)
{
    if (!status)
        return 0;
    for (size_t i = 0; k->statuses && k->statuses[i]; i++)
        if (strcmp(status, k->statuses[i]) == 0)
            return 0;
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "status", "%s",
                    k->status_msg);
    return -1;
}

static int check_kind(struct cd_req *req, const struct list_kind *k,
                      const char *kind)
{
    if (!kind || k->has_kind)
        return 0;
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "kind",
                    "this list has no kind (filter by status)");
    return -1;
}

static int page_filters(struct cd_req *req, const struct list_kind *k,
                        struct cd_page_query *q)
{
    memset(q, 0, sizeof(*q));
    if (query_word(req, "account", CD_ID_SZ - 1, &q->account_id) != 0 ||
        query_word(req, "status", CD_STATUS_SZ - 1, &q->status) != 0 ||
        query_word(req, "kind", CD_KIND_SZ - 1, &q->kind) != 0 ||
        check_status(req, k, q->status) != 0 ||
        check_kind(req, k, q->kind) != 0 ||
        query_time(req, "from", &q->from) != 0 ||
        query_time(req, "to", &q->to) != 0)
        return -1;
    if (q->from && q->to && q->from >= q->to) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "to",
                        "to must be later than from");
        return -1;
    }
    return 0;
}

int cd_api_page_filters(struct cd_req *req, int orders,
                        struct cd_page_query *q)
{
    return page_filters(req, orders ? &LIST_ORDERS : &LIST_LEDGER, q);
}

/* The filters, limit (1..100, default 20) and starting_after of a list. */
static int list_query(struct cd_req *req, const struct list_kind *k,
                      struct cd_page_query *q)
{
    const char *l = cd_req_query(req, "limit");

    if (page_filters(req, k, q) != 0 ||
        query_word(req, "starting_after", CD_ID_SZ - 1, &q->starting_after) !=
            0)
        return -1;
    q->limit = 20;
    if (l && cd_parse_int64(l, 1, 100, &q->limit) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "limit",
                        "limit must be an integer from 1 to 100");
        return -1;
    }
    if (cd_req_query(req, "offset")) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "offset",
                        "this list pages with starting_after, not offset");
        return -1;
    }
    return 0;
}

/* {"data", "has_more", "limit", "next_starting_after"}: the id (member
 * key of a row) to pass as starting_after for the next page, null on the
 * last. */
static json_t *page_json(json_t *data, int has_more, int64_t limit,
                         const char *key)
{
    json_t *last = json_array_get(data, json_array_size(data) - 1);
    json_t *next = has_more && last ? json_object_get(last, key) : NULL;

    return json_pack("{s:o, s:b, s:I, s:O}", "data", data, "has_more",
                     has_more, "limit", (json_int_t)limit,
                     "next_starting_after", next ? next : json_null());
}

static int order_row(const struct cd_order *o, void *arg)
{
    json_t *j = cd_api_order_json(o);

    json_object_set_new(j, "account_id", json_string(o->account_id));
    json_object_set_new(j, "failure_reason",
                        cd_api_str_or_null(o->failure_reason));
    json_object_set_new(j, "stripe_invoice_id",
                        cd_api_str_or_null(o->stripe_invoice_id));
    json_array_append_new(arg, j);
    return 0;
}

void cd_api_admin_orders(struct cd_req *req)
{
    struct cd_page_query q;
    struct cd_error err;
    int has_more = 0;
    json_t *data;

    if (list_query(req, &LIST_ORDERS, &q) != 0)
        return;
    data = json_array();
    if (cd_orders_page(cd_api_app(req)->billing, &q, order_row, data,
                       &has_more, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, page_json(data, has_more, q.limit, "id"));
}

static int entry_row(const struct cd_ledger_entry *e, void *arg)
{
    json_t *j = cd_api_txn_json(e);

    json_object_set_new(j, "account_id", json_string(e->account_id));
    json_object_set_new(j, "ref", json_string(e->ref));
    json_array_append_new(arg, j);
    return 0;
}

void cd_api_admin_ledger(struct cd_req *req)
{
    struct cd_page_query q;
    struct cd_error err;
    int has_more = 0;
    json_t *data;

    if (list_query(req, &LIST_LEDGER, &q) != 0)
        return;
    data = json_array();
    if (cd_ledger_page(cd_api_app(req)->billing, &q, entry_row, data,
                       &has_more, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    if (cd_api_txn_draws(req, data) != 0) {
        json_decref(data);
        return;
    }
    cd_reply_json(req, 200, page_json(data, has_more, q.limit, "id"));
}

/* API.md's Payment object plus the account it belongs to. */
static int payment_row(const struct cd_payment *p, void *arg)
{
    json_t *j = cd_api_payment_json(p);

    if (!j)
        return -1;
    json_object_set_new(j, "account_id", json_string(p->account_id));
    json_array_append_new(arg, j);
    return 0;
}

void cd_api_admin_payments(struct cd_req *req)
{
    struct cd_page_query q;
    struct cd_error err;
    int has_more = 0;
    json_t *data;

    if (list_query(req, &LIST_PAYMENTS, &q) != 0)
        return;
    data = json_array();
    if (cd_payments_page(cd_api_app(req)->billing, &q, payment_row, data,
                         &has_more, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, page_json(data, has_more, q.limit, "id"));
}

/* The subscription as last synced from Stripe, with its account. */
static int sub_row(const struct cd_subscription *s, void *arg)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:b, s:o, s:o}", "stripe_subscription_id",
        s->stripe_subscription_id, "account_id", s->account_id, "plan_id",
        cd_api_str_or_null(s->plan_id), "status", s->status,
        "current_period_end", cd_api_time(s->current_period_end),
        "cancel_at_period_end", s->cancel_at_period_end, "created_at",
        cd_api_time(s->created_at), "updated_at", cd_api_time(s->updated_at));

    if (!j)
        return -1;
    json_array_append_new(arg, j);
    return 0;
}

void cd_api_admin_subscriptions(struct cd_req *req)
{
    struct cd_page_query q;
    struct cd_error err;
    int has_more = 0;
    json_t *data;

    if (list_query(req, &LIST_SUBS, &q) != 0)
        return;
    data = json_array();
    if (cd_subscriptions_page(cd_api_app(req)->billing, &q, sub_row, data,
                              &has_more, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(
        req, 200,
        page_json(data, has_more, q.limit, "stripe_subscription_id"));
}
