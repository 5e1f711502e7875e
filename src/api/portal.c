/*
 * portal.c - POST /v1/portal_sessions (server key + Creditd-Account): a
 * short-lived, single-use link into the web UI for that account; and
 * POST /v1/auth/portal (public): the web UI's /portal page redeems the
 * link's token for a cookie session (billing/portal.c, api/session.c).
 * Link and session tokens are never logged and are wiped after the reply.
 */
#include <sodium.h>
#include <string.h>

#include "api/core.h"
#include "api/ratelimit.h"
#include "billing/accounts.h"
#include "billing/checkout.h"
#include "billing/portal.h"
#include "util/util.h"

void cd_api_portal_create(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    json_t *body = NULL;
    const char *ret = NULL;
    char url[CD_PORTAL_URL_SZ];
    int64_t expires_at = 0;
    struct cd_error err;

    if (req->body_len) { /* the body is optional */
        body = cd_api_body(req);
        if (!body)
            return;
        if (cd_api_string(req, body, "return_url", CD_URL_MAX, &ret) != 0)
            goto out;
    }
    if (cd_portal_create(cd_api_app(req)->billing, ctx->account.id, ret, url,
                         &expires_at, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 201,
                  json_pack("{s:s, s:o, s:o}", "url", url, "expires_at",
                            cd_api_time(expires_at), "return_url",
                            cd_api_str_or_null(ret ? ret : "")));
    sodium_memzero(url, sizeof(url));
out:
    json_decref(body);
}

void cd_api_portal_redeem(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    json_t *body;
    const char *link = NULL;
    struct cd_account a;
    struct cd_error err;
    char token[CD_TOKEN_SZ], ret[CD_URL_MAX + 1];
    int64_t expires_at = 0;

    if (cd_api_limit_auth(req, "portal") != 0)
        return;
    /* A header a cross-site form cannot send: no login by a forged post. */
    if (!cd_api_wants_cookie(req)) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param",
                        "Creditd-Session",
                        "this endpoint needs the header Creditd-Session: "
                        "cookie");
        return;
    }
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_string_req(req, body, "token", 128, &link) != 0) {
        json_decref(body);
        return;
    }
    if (cd_portal_redeem(b, link, &a, token, &expires_at, ret, &err) != 0) {
        cd_reply_error(req, &err);
    } else {
        cd_api_session_set(req, token, expires_at - cd_now());
        sodium_memzero(token, sizeof(token));
        cd_reply_json(req, 200,
                      json_pack("{s:o, s:o}", "account",
                                cd_api_account_json(&a), "return_url",
                                cd_api_str_or_null(ret)));
    }
    memset(&a, 0, sizeof(a));
    json_decref(body);
}
