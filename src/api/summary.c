/*
 * summary.c - GET /v1/admin/summary: the console dashboard's figures
 * summed by the database over created_at in [from, to) - revenue of the
 * paid payments per currency (gross, refunded, net) and orders per status
 * - so a dashboard never reads the order list row by row.
 */
#include "api/core.h"
#include "billing/orders.h"
#include "util/util.h"

#define DEFAULT_SPAN (30 * 86400)
#define MAX_SPAN (400 * 86400) /* bounds the rows one call sums */

/* An optional RFC 3339 query argument into *out (unchanged when absent). */
static int time_arg(struct cd_req *req, const char *key, int64_t *out)
{
    const char *v = cd_req_query(req, key);
    int64_t t = 0;

    if (!v)
        return 0;
    if (cd_time_parse_rfc3339(v, &t) != 0 || t == 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be an RFC 3339 time such as "
                        "2030-01-31T12:00:00Z",
                        key);
        return -1;
    }
    *out = t;
    return 0;
}

static int add_revenue(const struct cd_revenue *r, void *arg)
{
    json_t *rev = json_object_get(arg, "revenue");

    return json_array_append_new(
        rev, json_pack("{s:s, s:I, s:I, s:I, s:I}", "currency", r->currency,
                       "payments", (json_int_t)r->payments, "gross_cents",
                       (json_int_t)r->gross_cents, "refunded_cents",
                       (json_int_t)r->refunded_cents, "net_cents",
                       (json_int_t)(r->gross_cents - r->refunded_cents)));
}

static int add_status(const char *status, int64_t n, void *arg)
{
    return json_object_set_new(json_object_get(arg, "orders_by_status"),
                               status, json_integer((json_int_t)n));
}

void cd_api_admin_summary(struct cd_req *req)
{
    int64_t to = cd_now() + 1, from = 0; /* to: this second included */
    struct cd_error err;
    json_t *out;

    if (time_arg(req, "to", &to) != 0 || time_arg(req, "from", &from) != 0)
        return;
    if (!cd_req_query(req, "from"))
        from = to - DEFAULT_SPAN;
    if (from >= to || to - from > MAX_SPAN) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "to",
                        "to must be later than from, by at most 400 days");
        return;
    }
    out = json_pack("{s:o, s:o, s:[], s:{}}", "from", cd_api_time(from), "to",
                    cd_api_time(to), "revenue", "orders_by_status");
    if (!out || cd_orders_summary(cd_api_app(req)->billing, from, to,
                                  add_revenue, add_status, out, &err) != 0) {
        json_decref(out);
        if (!out)
            cd_error_set(&err, CD_EK_INTERNAL, "internal_error", NULL,
                         "internal error");
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, out);
}
