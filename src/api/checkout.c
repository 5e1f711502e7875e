/*
 * checkout.c - the buying routes of API.md: POST /v1/checkout, GET
 * /v1/checkout/{session_id}, POST /v1/topups and POST /v1/payment_intents.
 * Each handler parses its request, calls billing/ (checkout.c, topups.c,
 * orders.c) and shapes the reply. The account's lists are in orders.c,
 * the subscription and billing portal in subscription.c, the Stripe
 * webhook in webhook.c.
 */
#include <string.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "billing/checkout.h"
#include "billing/email_verify.h"
#include "billing/orders.h"
#include "billing/payment_intents.h"
#include "billing/topups.h"
#include "util/util.h"

#define ID_PARAM_MAX 64

/* CREDITD_REQUIRE_EMAIL_VERIFICATION: replies 403 email_not_verified
 * before the first purchase of an unverified password account. */
static int may_buy(struct cd_req *req, struct cd_api_ctx *ctx)
{
    struct cd_error err;

    if (cd_email_verify_may_buy(cd_api_app(req)->billing, &ctx->account,
                                &err) == 0)
        return 0;
    cd_reply_error(req, &err);
    return -1;
}

/* ---- POST /v1/checkout --------------------------------------------------- */

static void handle_checkout_create(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_checkout_req in;
    struct cd_checkout_result res;
    struct cd_error err;
    char order_id[CD_ID_SZ];
    json_t *body;

    if (cd_api_require_account(req, &ctx) != 0 ||
        cd_api_limit_payment(req) != 0 || may_buy(req, ctx) != 0)
        return;
    if (!b->stripe) {
        cd_reply_errorf(req, CD_EK_UNAVAILABLE, "stripe_not_configured", NULL,
                        "Stripe is not configured on this server.");
        return;
    }
    body = cd_api_body(req);
    if (!body)
        return;
    memset(&in, 0, sizeof(in));
    if (cd_api_string_req(req, body, "kind", 32, &in.kind) != 0 ||
        cd_api_string(req, body, "package_id", ID_PARAM_MAX,
                      &in.package_id) != 0 ||
        cd_api_string(req, body, "plan_id", ID_PARAM_MAX, &in.plan_id) != 0 ||
        cd_api_string(req, body, "discount_code", ID_PARAM_MAX,
                      &in.discount_code) != 0 ||
        cd_api_string(req, body, "success_url", CD_URL_MAX,
                      &in.success_url) != 0 ||
        cd_api_string(req, body, "cancel_url", CD_URL_MAX, &in.cancel_url) !=
            0)
        goto out;
    if (strcmp(in.kind, "topup") == 0 &&
        cd_api_amount(req, body, "amount_cents", &in.amount_cents) != 0)
        goto out;
    /* A code is a guess until it is known good. */
    if (in.discount_code && cd_api_limit_discount(req) != 0)
        goto out;
    in.order_id = cd_api_effect_id(req, "ord_", order_id, sizeof(order_id));

    cd_error_clear(&err);
    if (cd_checkout_create(b, &ctx->account, &in, &res, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 201,
                  json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "order_id",
                            res.order_id, "session_id", res.session_id,
                            "checkout_url", res.checkout_url, "amount_cents",
                            (json_int_t)res.amount_cents, "discount_cents",
                            (json_int_t)res.discount_cents, "credits",
                            (json_int_t)res.credits, "currency",
                            res.currency));
out:
    json_decref(body);
}

/* ---- POST /v1/topups ------------------------------------------------------ */

static void handle_topup(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_topup_result res;
    struct cd_error err;
    char order_id[CD_ID_SZ];
    int64_t amount;
    json_t *body;

    if (cd_api_require_account(req, &ctx) != 0 ||
        cd_api_limit_payment(req) != 0 || may_buy(req, ctx) != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_amount(req, body, "amount_cents", &amount) != 0)
        goto out;
    cd_error_clear(&err);
    if (cd_topup_create(
            b, &ctx->account, amount,
            cd_api_effect_id(req, "ord_", order_id, sizeof(order_id)), &res,
            &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 202,
                  json_pack("{s:s, s:s, s:s}", "order_id", res.order_id,
                            "payment_intent_id", res.payment_intent_id,
                            "status", res.status));
out:
    json_decref(body);
}

/* ---- POST /v1/payment_intents --------------------------------------------- */

static void handle_payment_intent(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_pi_req in;
    struct cd_pi_result res;
    struct cd_error err;
    char order_id[CD_ID_SZ];
    json_t *body;

    if (cd_api_require_account(req, &ctx) != 0 ||
        cd_api_limit_payment(req) != 0 || may_buy(req, ctx) != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    memset(&in, 0, sizeof(in));
    if (cd_api_amount(req, body, "amount_cents", &in.amount_cents) != 0 ||
        cd_api_string(req, body, "currency", 8, &in.currency) != 0 ||
        cd_api_string(req, body, "description", CD_DESC_SZ - 1,
                      &in.description) != 0)
        goto out;
    in.order_id = cd_api_effect_id(req, "ord_", order_id, sizeof(order_id));
    cd_error_clear(&err);
    if (cd_pi_create(b, &ctx->account, &in, &res, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 201,
                  json_pack("{s:s, s:s, s:s}", "order_id", res.order_id,
                            "payment_intent_id", res.payment_intent_id,
                            "client_secret", res.client_secret));
out:
    json_decref(body);
}

/* ---- GET /v1/checkout/{session_id} --------------------------------------- */

static void handle_checkout_get(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_order o;
    const char *sid = req->params[0];
    struct cd_error err;

    if (cd_api_require_account(req, &ctx) != 0)
        return;
    if (req->nparams < 1 || !sid[0] || strlen(sid) >= CD_SID_SZ) {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "unknown_session", NULL,
                        "No such checkout session.");
        return;
    }
    if (cd_order_by_session(b, sid, &o, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    if (strcmp(o.account_id, ctx->account.id) != 0) {
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                        "This checkout session belongs to another account.");
        return;
    }
    cd_reply_json(req, 200,
                  json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "session_id",
                            o.stripe_session_id, "order_id", o.id, "status",
                            o.status, "amount_cents",
                            (json_int_t)o.amount_cents, "credits",
                            (json_int_t)o.credits, "fulfilled",
                            cd_order_fulfilled(&o)));
}

const struct cd_route cd_api_routes_checkout[] = {
    {"POST", "/v1/checkout", handle_checkout_create,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"GET", "/v1/checkout/{}", handle_checkout_get, CD_ROUTE_ACCOUNT, 0},
    {"POST", "/v1/topups", handle_topup,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/payment_intents", handle_payment_intent,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
};
const size_t cd_api_routes_checkout_count = CD_ARRAY_LEN(
    cd_api_routes_checkout);
