/*
 * subscription.c - GET /v1/subscription, POST /v1/subscription/cancel and
 * /resume (billing/subscriptions.c) and POST /v1/billing_portal
 * (billing/billing_portal.c).
 */
#include "api/api.h"
#include "billing/billing_portal.h"
#include "billing/checkout.h"
#include "billing/subscriptions.h"
#include "util/util.h"

/* ---- GET /v1/subscription ------------------------------------------------ */

static void reply_subscription(struct cd_req *req,
                               const struct cd_subscription *sub)
{
    cd_reply_json(
        req, 200,
        json_pack("{s:o, s:s, s:o, s:b, s:s}", "plan_id",
                  cd_api_str_or_null(sub->plan_id), "status", sub->status,
                  "current_period_end", cd_api_time(sub->current_period_end),
                  "cancel_at_period_end", sub->cancel_at_period_end,
                  "stripe_subscription_id", sub->stripe_subscription_id));
}

/* The account's most recent subscription as last synced from Stripe
 * (billing/subscriptions.c), or 404 no_subscription. */
static void handle_subscription(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_subscription sub;
    struct cd_error err;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    if (cd_subscription_current(b, ctx->account.id, &sub, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    reply_subscription(req, &sub);
}

/* ---- POST /v1/subscription/cancel, /resume -------------------------------- */

/* Sets cancel_at_period_end at Stripe (billing/subscriptions.c) and answers
 * the subscription as Stripe now holds it. No body is read. */
static void set_cancel(struct cd_req *req, int cancel)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_subscription sub;
    struct cd_error err;
    char effect[CD_ID_SZ];
    const char *idem;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    idem = cd_api_effect_id(req, cancel ? "subc_" : "subr_", effect,
                            sizeof(effect));
    cd_error_clear(&err);
    if (cd_subscription_set_cancel(b, ctx->account.id, cancel, idem, &sub,
                                   &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    reply_subscription(req, &sub);
}

static void handle_subscription_cancel(struct cd_req *req)
{
    set_cancel(req, 1);
}

static void handle_subscription_resume(struct cd_req *req)
{
    set_cancel(req, 0);
}

/* ---- POST /v1/billing_portal --------------------------------------------- */

/* A Stripe Billing Portal session for the account's customer
 * (billing/billing_portal.c): 201 {"url"}. Body optional:
 * {"return_url"}. */
static void handle_billing_portal(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    json_t *body = NULL;
    const char *ret = NULL, *idem;
    char url[CD_BILLING_PORTAL_URL_SZ], effect[CD_ID_SZ];
    struct cd_error err;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    if (req->body_len) {
        body = cd_api_body(req);
        if (!body)
            return;
        if (cd_api_string(req, body, "return_url", CD_URL_MAX, &ret) != 0)
            goto out;
    }
    idem = cd_api_effect_id(req, "bps_", effect, sizeof(effect));
    cd_error_clear(&err);
    if (cd_billing_portal_create(b, &ctx->account, ret, idem, url,
                                 sizeof(url), &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 201, json_pack("{s:s}", "url", url));
out:
    json_decref(body);
}

const struct cd_route cd_api_routes_subscription[] = {
    {"GET", "/v1/subscription", handle_subscription, CD_ROUTE_ACCOUNT, 0},
    {"POST", "/v1/subscription/cancel", handle_subscription_cancel,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/subscription/resume", handle_subscription_resume,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/billing_portal", handle_billing_portal,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
};
const size_t cd_api_routes_subscription_count = CD_ARRAY_LEN(
    cd_api_routes_subscription);
