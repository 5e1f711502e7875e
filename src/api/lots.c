/*
 * lots.c - credit lots over HTTP: GET /v1/lots (keyset paged, filter
 * status=active|expired), the lot fields of POST /v1/grants (category,
 * expires_at or expires_in_days, priority). GET /v1/balance's lot
 * figures (by_category, next_expiry) are credits.c's.
 */
#include <string.h>

#include "api/core.h"
#include "billing/lots.h"
#include "util/util.h"

#define R(m, p, h, f)                                                        \
    {                                                                        \
        m, p, h, f, 0                                                        \
    }

const struct cd_route cd_api_routes_lots[] = {
    R("GET", "/v1/lots", cd_api_lots_list, CD_ROUTE_ACCOUNT),
};

const size_t cd_api_routes_lots_count = CD_ARRAY_LEN(cd_api_routes_lots);

/* An optional integer field in lo..hi; 0 when absent. */
static int int_field(struct cd_req *req, json_t *body, const char *key,
                     int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(body, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be an integer from %lld to %lld", key,
                        (long long)lo, (long long)hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int cd_api_lot_spec(struct cd_req *req, json_t *body,
                    struct cd_lot_spec *spec)
{
    const char *category;
    int64_t days, now = cd_now();

    memset(spec, 0, sizeof(*spec));
    if (cd_api_string(req, body, "category", 16, &category) != 0 ||
        cd_api_time_field(req, body, "expires_at", &spec->expires_at) != 0 ||
        int_field(req, body, "expires_in_days", 1, CD_LOT_EXPIRY_DAYS_MAX,
                  &days) != 0 ||
        int_field(req, body, "priority", 1, CD_LOT_PRIORITY_MAX,
                  &spec->priority) != 0)
        return -1;
    if (category && strcmp(category, "paid") != 0 &&
        strcmp(category, "promotional") != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "category",
                        "category must be paid or promotional");
        return -1;
    }
    spec->category = category ? category : "promotional";
    if (spec->expires_at && days) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "expires_at",
                        "send expires_at or expires_in_days, not both");
        return -1;
    }
    if (spec->expires_at && spec->expires_at <= now) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "expires_at",
                        "expires_at must be in the future");
        return -1;
    }
    if (days)
        spec->expires_at = cd_lots_days(now, days);
    return 0;
}

json_t *cd_api_lot_json(const struct cd_lot *l)
{
    int64_t now = cd_now();
    const char *status = l->expires_at && l->expires_at <= now ? "expired"
                         : l->remaining > 0                    ? "active"
                                                               : "used";

    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:s, s:o}",
                     "id", l->id, "source", l->source, "category",
                     l->category, "amount", (json_int_t)l->amount,
                     "remaining", (json_int_t)l->remaining, "priority",
                     (json_int_t)l->priority, "expires_at",
                     cd_api_time(l->expires_at), "order_id",
                     cd_api_str_or_null(l->order_id), "status", status,
                     "created_at", cd_api_time(l->created_at));
}

static int lot_row(const struct cd_lot *l, void *arg)
{
    json_array_append_new(arg, cd_api_lot_json(l));
    return 0;
}

/* limit (1..100, default 20), starting_after (a lot id), status. */
static int list_query(struct cd_req *req, int64_t *limit, int *status,
                      const char **after)
{
    const char *l = cd_req_query(req, "limit");
    const char *s = cd_req_query(req, "status");

    *limit = 20;
    *status = 0;
    *after = cd_req_query(req, "starting_after");
    if (l && cd_parse_int64(l, 1, 100, limit) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "limit",
                        "limit must be an integer from 1 to 100");
        return -1;
    }
    if (s && strcmp(s, "active") == 0)
        *status = 1;
    else if (s && strcmp(s, "expired") == 0)
        *status = 2;
    else if (s) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "status",
                        "status must be active or expired");
        return -1;
    }
    if (*after && (!**after || strlen(*after) >= CD_ID_SZ)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "starting_after",
                        "starting_after names no lot");
        return -1;
    }
    return 0;
}

void cd_api_lots_list(struct cd_req *req)
{
    struct cd_error err;
    const char *after;
    int64_t limit;
    int status, has_more = 0;
    json_t *data, *last, *next;

    if (list_query(req, &limit, &status, &after) != 0)
        return;
    data = json_array();
    if (cd_lots_page(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                     status, after, limit, lot_row, data, &has_more,
                     &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    last = json_array_get(data, json_array_size(data) - 1);
    next = has_more && last ? json_object_get(last, "id") : NULL;
    cd_reply_json(req, 200,
                  json_pack("{s:o, s:b, s:I, s:O}", "data", data, "has_more",
                            has_more, "limit", (json_int_t)limit,
                            "next_starting_after",
                            next ? next : json_null()));
}
