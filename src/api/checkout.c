/*
 * checkout.c - the payment routes of API.md: POST /v1/checkout, GET
 * /v1/checkout/{session_id}, POST /v1/topups, POST /v1/payment_intents,
 * GET /v1/orders, GET /v1/payments and the Stripe webhook POST
 * /v1/webhooks/stripe. Each handler parses its request, calls billing/
 * (checkout.c, topups.c, orders.c, events.c) and shapes the reply.
 */
#include <string.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "billing/billing_portal.h"
#include "billing/checkout.h"
#include "billing/email_verify.h"
#include "billing/events.h"
#include "billing/orders.h"
#include "billing/subscriptions.h"
#include "billing/topups.h"
#include "stripe/signature.h"
#include "util/util.h"

#define ID_PARAM_MAX 64

/* ---- JSON shapes --------------------------------------------------------- */

/* API.md's Order object (new reference). */
json_t *cd_api_order_json(const struct cd_order *o)
{
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:o, s:I, s:s, s:o, s:o, s:o, s:o}",
        "id", o->id, "kind", o->kind, "status", o->status, "amount_cents",
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

static int require_account(struct cd_req *req, struct cd_api_ctx **out)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);

    if (!ctx || !ctx->has_account || !ctx->account.id[0]) {
        cd_reply_errorf(req, CD_EK_AUTH, "unauthenticated", NULL,
                        "An account token (or the server key with "
                        "Creditd-Account) is required.");
        return -1;
    }
    *out = ctx;
    return 0;
}

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

    if (require_account(req, &ctx) != 0 || cd_api_limit_payment(req) != 0 ||
        may_buy(req, ctx) != 0)
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

    if (require_account(req, &ctx) != 0 || cd_api_limit_payment(req) != 0 ||
        may_buy(req, ctx) != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_amount(req, body, "amount_cents", &amount) != 0)
        goto out;
    cd_error_clear(&err);
    if (cd_topup_create(b, &ctx->account, amount,
                        cd_api_effect_id(req, "ord_", order_id,
                                         sizeof(order_id)),
                        &res, &err) != 0) {
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

    if (require_account(req, &ctx) != 0 || cd_api_limit_payment(req) != 0 ||
        may_buy(req, ctx) != 0)
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
    int rc;

    if (require_account(req, &ctx) != 0)
        return;
    if (req->nparams < 1 || !sid[0] || strlen(sid) >= CD_SID_SZ) {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "unknown_session", NULL,
                        "No such checkout session.");
        return;
    }
    rc = cd_order_by_session(b, sid, &o);
    if (rc == CD_STORE_NOT_FOUND) {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "unknown_session", NULL,
                        "No such checkout session.");
        return;
    }
    if (rc != CD_STORE_OK) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "Could not read the order.");
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

/* ---- GET /v1/orders, GET /v1/payments ----------------------------------- */

static int add_order(const struct cd_order *o, void *arg)
{
    return json_array_append_new((json_t *)arg, cd_api_order_json(o));
}

static int add_payment(const struct cd_payment *p, void *arg)
{
    return json_array_append_new((json_t *)arg, cd_api_payment_json(p));
}

static void handle_list(struct cd_req *req, int payments)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    int64_t limit, offset, total = 0;
    json_t *data;
    int rc;

    if (require_account(req, &ctx) != 0)
        return;
    if (cd_api_paging(req, payments ? 50 : 20, &limit, &offset) != 0)
        return;
    data = json_array();
    if (!data) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "Out of memory.");
        return;
    }
    if (payments)
        rc = cd_payments_list(b, ctx->account.id, limit, offset, add_payment,
                              data, &total);
    else
        rc = cd_orders_list(b, ctx->account.id, limit, offset, add_order,
                            data, &total);
    if (rc != CD_STORE_OK) {
        json_decref(data);
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "Could not read the list.");
        return;
    }
    cd_reply_json(req, 200, cd_api_list(data, total, limit, offset));
}

static void handle_orders(struct cd_req *req)
{
    handle_list(req, 0);
}

static void handle_payments(struct cd_req *req)
{
    handle_list(req, 1);
}

/* ---- GET /v1/subscription ------------------------------------------------ */

static void reply_subscription(struct cd_req *req,
                               const struct cd_subscription *sub)
{
    cd_reply_json(req, 200,
                  json_pack("{s:o, s:s, s:o, s:b, s:s}", "plan_id",
                            cd_api_str_or_null(sub->plan_id), "status",
                            sub->status, "current_period_end",
                            cd_api_time(sub->current_period_end),
                            "cancel_at_period_end", sub->cancel_at_period_end,
                            "stripe_subscription_id",
                            sub->stripe_subscription_id));
}

/* The account's most recent subscription as last synced from Stripe
 * (billing/subscriptions.c), or 404 no_subscription. */
static void handle_subscription(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_api_ctx *ctx;
    struct cd_subscription sub;
    int rc;

    if (require_account(req, &ctx) != 0)
        return;
    rc = cd_subscription_current(b, ctx->account.id, &sub);
    if (rc == CD_STORE_NOT_FOUND) {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "no_subscription", NULL,
                        "This account has no subscription.");
        return;
    }
    if (rc != CD_STORE_OK) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "Could not read the subscription.");
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

    if (require_account(req, &ctx) != 0)
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

    if (require_account(req, &ctx) != 0)
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

/* ---- POST /v1/webhooks/stripe -------------------------------------------- */

static void handle_webhook(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *status = NULL;
    struct cd_error err;

    cd_error_clear(&err);
    if (cd_webhook_receive(b, req->body ? req->body : "", req->body_len,
                           cd_req_header(req, "Stripe-Signature"), &status,
                           &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200,
                  json_pack("{s:b, s:s}", "received", 1, "status", status));
}

/* Before the body is read: a missing or malformed Stripe-Signature is
 * refused from the head (the same 400 invalid_signature the handler
 * gives), so a flood of unsigned bodies holds no memory. With no secret
 * configured the handler's 503 comes first, as before. */
int cd_api_webhook_head(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    enum cd_sig_result r;

    if (!b->cfg.webhook_secrets[0])
        return 0;
    r = cd_stripe_sig_check_header(cd_req_header(req, "Stripe-Signature"));
    if (r == CD_SIG_OK)
        return 0;
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_signature", NULL, "%s",
                    cd_stripe_sig_strerror(r));
    return 1;
}

/* The only head check a route's flags ask for today is the webhook's, so
 * it lives beside it (dispatch.c calls no file of a resource). */
int cd_api_check_head(struct cd_req *req)
{
    if (req->route->flags & CD_ROUTE_STRIPE_SIGNED)
        return cd_api_webhook_head(req);
    return 0;
}

const struct cd_route cd_api_routes_checkout[] = {
    {"POST", "/v1/checkout", handle_checkout_create,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"GET", "/v1/checkout/{}", handle_checkout_get, CD_ROUTE_ACCOUNT, 0},
    {"POST", "/v1/topups", handle_topup,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/payment_intents", handle_payment_intent,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"GET", "/v1/orders", handle_orders, CD_ROUTE_ACCOUNT, 0},
    {"GET", "/v1/payments", handle_payments, CD_ROUTE_ACCOUNT, 0},
    {"GET", "/v1/subscription", handle_subscription, CD_ROUTE_ACCOUNT, 0},
    {"POST", "/v1/subscription/cancel", handle_subscription_cancel,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/subscription/resume", handle_subscription_resume,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/billing_portal", handle_billing_portal,
     CD_ROUTE_ACCOUNT | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/webhooks/stripe", handle_webhook,
     CD_ROUTE_PUBLIC | CD_ROUTE_STRIPE_SIGNED,
     CD_HTTP_WEBHOOK_BODY_MAX},
};
const size_t cd_api_routes_checkout_count =
    CD_ARRAY_LEN(cd_api_routes_checkout);
