/*
 * webhook.c - the Stripe webhook, POST /v1/webhooks/stripe
 * (billing/events.c), answered from its job's commit where the event
 * type allows it, and its head check: a missing or malformed
 * Stripe-Signature refused before the body is read.
 */
#include <stdlib.h>

#include "api/api.h"
#include "billing/events.h"
#include "stripe/signature.h"
#include "util/util.h"

/* ---- POST /v1/webhooks/stripe -------------------------------------------- */

/* What a webhook leaves for its reply: owned by the request until the
 * reply is set (webhook_reply frees it). */
struct webhook_later {
    struct cd_webhook_async x;
    struct cd_req *req;
};

/* The reply, the same whichever way the event went; frees l. */
static void webhook_reply(struct cd_req *req, void *arg)
{
    struct webhook_later *l = arg;
    const char *status = NULL;
    struct cd_error err;

    cd_error_clear(&err);
    if (cd_webhook_async_result(&l->x, &status, &err) != 0)
        cd_reply_error(req, &err);
    else
        cd_reply_json(
            req, 200,
            json_pack("{s:b, s:s}", "received", 1, "status", status));
    cd_webhook_async_free(&l->x);
    free(l);
}

/* On the store's writer thread, the event's job committed: hands the
 * request back to HTTP, where webhook_reply builds the reply. */
static void webhook_done(void *arg)
{
    struct webhook_later *l = arg;

    cd_req_complete(l->req, webhook_reply, l);
}

/* On a worker: an event whose handler reads or asks Stripe first. */
static void webhook_blocking(struct cd_req *req, void *arg)
{
    struct webhook_later *l = arg;

    cd_webhook_async_block(cd_api_app(req)->billing, &l->x);
    webhook_reply(req, l);
}

/* The signature and the JSON here (on the event-loop thread with
 * SQLite: CD_ROUTE_DEFERS); a checkout.session.* event's one job
 * submitted and answered from its commit (webhook_done), any other
 * handled type handed to a worker (cd_req_offload), the rest answered
 * now. */
static void handle_webhook(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct webhook_later *l = calloc(1, sizeof(*l));

    if (!l) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }
    l->req = req;
    switch (cd_webhook_async_prepare(
        b, req->body ? req->body : "", req->body_len,
        cd_req_header(req, "Stripe-Signature"), &l->x)) {
    case CD_WEBHOOK_SUBMIT:
        l->x.done = webhook_done;
        l->x.done_arg = l;
        cd_req_defer(req);
        cd_webhook_async_submit(b, &l->x);
        return;
    case CD_WEBHOOK_BLOCKS:
        cd_req_offload(req, webhook_blocking, l);
        return;
    default:
        webhook_reply(req, l);
    }
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
     CD_ROUTE_PUBLIC | CD_ROUTE_STRIPE_SIGNED | CD_ROUTE_DEFERS,
     CD_HTTP_WEBHOOK_BODY_MAX},
};
const size_t cd_api_routes_webhook_count = CD_ARRAY_LEN(
    cd_api_routes_webhook);
