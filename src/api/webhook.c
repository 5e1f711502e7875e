/*
 * webhook.c - the Stripe webhook, POST /v1/webhooks/stripe
 * (billing/events.c), and its head check: a missing or malformed
 * Stripe-Signature refused before the body is read.
 */
#include "api/api.h"
#include "billing/events.h"
#include "stripe/signature.h"
#include "util/util.h"

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

const struct cd_route cd_api_routes_webhook[] = {
    {"POST", "/v1/webhooks/stripe", handle_webhook,
     CD_ROUTE_PUBLIC | CD_ROUTE_STRIPE_SIGNED, CD_HTTP_WEBHOOK_BODY_MAX},
};
const size_t cd_api_routes_webhook_count = CD_ARRAY_LEN(
    cd_api_routes_webhook);
