/*
 * autotopup.c - GET /v1/auto_topup and PUT /v1/auto_topup (account token,
 * or server key + Creditd-Account): the account's auto top-up setting,
 * this month's spend and the last attempt (billing/autotopup.h).
 */
#include <string.h>

#include "api/api.h"
#include "billing/autotopup.h"
#include "util/util.h"

static json_t *attempt_json(const struct cd_autotopup_attempt *a)
{
    int open = strcmp(a->state, "pending") == 0 ||
               strcmp(a->state, "in_flight") == 0;

    return json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", a->id,
        "status", a->state, "amount_cents", (json_int_t)a->amount_cents,
        "tries", (json_int_t)a->tries, "order_id",
        cd_api_str_or_null(a->order_id), "next_try_at",
        open && strcmp(a->state, "pending") == 0 && a->tries > 0
            ? cd_api_time(a->next_try_at)
            : json_null(),
        "decline_code", cd_api_str_or_null(a->decline_code),
        "failure_message", cd_api_str_or_null(a->failure), "created_at",
        cd_api_time(a->created_at), "updated_at", cd_api_time(a->updated_at));
}

static json_t *view_json(const struct cd_autotopup_view *v)
{
    const struct cd_autotopup_settings *s = &v->s;
    json_t *fail = json_null();

    if (s->last_failure_at)
        fail = json_pack("{s:o, s:o, s:o}", "decline_code",
                         cd_api_str_or_null(s->last_decline_code), "message",
                         cd_api_str_or_null(s->last_failure), "at",
                         cd_api_time(s->last_failure_at));
    return json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "enabled",
        s->enabled, "threshold", (json_int_t)s->threshold, "amount_cents",
        (json_int_t)s->amount_cents, "monthly_cap_cents",
        (json_int_t)s->monthly_cap_cents, "month_spent_cents",
        (json_int_t)v->month_spent_cents, "consecutive_declines",
        (json_int_t)s->declines, "disabled_reason",
        cd_api_str_or_null(s->disabled_reason), "last_failure", fail,
        "last_attempt", v->has_last ? attempt_json(&v->last) : json_null());
}

static void handle_get(struct cd_req *req)
{
    struct cd_api_ctx *ctx;
    struct cd_autotopup_view v;
    struct cd_error err;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    cd_error_clear(&err);
    if (cd_autotopup_get(cd_api_app(req)->billing, ctx->account.id, &v,
                         &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, view_json(&v));
}

/* An optional amount field: absent or null -> 0. */
static int opt_amount(struct cd_req *req, json_t *body, const char *key,
                      int64_t *out)
{
    json_t *v = json_object_get(body, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    return cd_api_amount(req, body, key, out);
}

static void handle_put(struct cd_req *req)
{
    struct cd_api_ctx *ctx;
    struct cd_autotopup_req in;
    struct cd_autotopup_view v;
    struct cd_error err;
    json_t *body;
    int enabled = -1;

    if (cd_api_require_account(req, &ctx) != 0 || !(body = cd_api_body(req)))
        return;
    memset(&in, 0, sizeof(in));
    if (cd_api_bool(req, body, "enabled", -1, &enabled) != 0 ||
        opt_amount(req, body, "threshold", &in.threshold) != 0 ||
        opt_amount(req, body, "amount_cents", &in.amount_cents) != 0 ||
        opt_amount(req, body, "monthly_cap_cents", &in.monthly_cap_cents) !=
            0)
        goto out;
    if (enabled < 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", "enabled",
                        "enabled (true or false) is required");
        goto out;
    }
    in.enabled = enabled;
    cd_error_clear(&err);
    if (cd_autotopup_put(cd_api_app(req)->billing, &ctx->account, &in, &v,
                         &err) != 0)
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 200, view_json(&v));
out:
    json_decref(body);
}

const struct cd_route cd_api_routes_autotopup[] = {
    {"GET", "/v1/auto_topup", handle_get, CD_ROUTE_ACCOUNT, 0},
    {"PUT", "/v1/auto_topup", handle_put, CD_ROUTE_ACCOUNT, 0},
};

const size_t cd_api_routes_autotopup_count = CD_ARRAY_LEN(
    cd_api_routes_autotopup);
