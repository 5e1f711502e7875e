/*
 * dispatch.c - the step every matched route passes before its handler:
 * authentication by route flag (account token or server key, with
 * Creditd-Account naming the account for the server key: "acct_..." or
 * "ext:<external_id>"; without a Bearer credential, the web UI's session
 * cookie on account and token routes, with its CSRF header on every method
 * but GET and HEAD: session.c), then the handler - through the
 * Idempotency-Key step (idempotent.c) for CD_ROUTE_IDEMPOTENT POSTs with
 * a key.
 */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/core.h"
#include "billing/accounts.h"
#include "util/log.h"
#include "util/util.h"

/* The credential after "Bearer ", or NULL. */
static const char *bearer(struct cd_req *req)
{
    const char *h = cd_req_header(req, "Authorization");

    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static int is_server_key(const struct cd_app *app, const char *cred)
{
    size_t n = strlen(app->admin_key);

    if (n == 0 || strlen(cred) != n)
        return 0;
    return cd_ct_equal(cred, app->admin_key, n);
}

/*
 * The request's credential: the Bearer one, else the session cookie on the
 * routes a buyer reaches (account and token routes; its token is copied
 * into buf and ctx->via_cookie set), else NULL. A state-changing method
 * with the cookie but without the session's CSRF header is refused:
 * replies 403 and sets *refused.
 */
static const char *credential(struct cd_req *req, struct cd_api_ctx *ctx,
                              unsigned kind, char *buf, size_t bufsz,
                              int *refused)
{
    const char *cred = bearer(req);
    int safe = strcmp(req->method, "GET") == 0 ||
               strcmp(req->method, "HEAD") == 0;

    if (cred)
        return cred;
    if ((kind != CD_ROUTE_ACCOUNT && kind != CD_ROUTE_TOKEN) ||
        cd_api_session_cookie(req, buf, bufsz) != 0)
        return NULL;
    if (!safe && !cd_api_csrf_ok(req, buf)) {
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "csrf_failed", NULL,
                        "this request needs the session's " CD_CSRF_HEADER
                        " header");
        *refused = 1;
        return NULL;
    }
    ctx->via_cookie = 1;
    return buf;
}

/* Fills ctx for the route's auth kind; replies and returns -1 on refusal. */
static int authenticate(struct cd_req *req, struct cd_api_ctx *ctx,
                        unsigned kind, char *cookie, size_t cookiesz)
{
    struct cd_app *app = cd_api_app(req);
    int refused = 0;
    const char *cred = credential(req, ctx, kind, cookie, cookiesz, &refused);
    const char *named;
    struct cd_error err;

    if (refused)
        return -1;
    if (!cred) {
        cd_reply_errorf(req, CD_EK_AUTH, "unauthorized", NULL,
                        "this endpoint needs Authorization: Bearer <token>");
        return -1;
    }
    if (strlen(cred) > CD_TOKEN_MAX_LEN) {
        cd_reply_errorf(req, CD_EK_AUTH, "invalid_token", NULL,
                        "invalid or expired token");
        return -1;
    }
    named = cd_req_header(req, "Creditd-Account");

    if (!ctx->via_cookie && is_server_key(app, cred)) {
        ctx->is_server = 1;
        if (kind == CD_ROUTE_ADMIN)
            return 0;
        if (kind == CD_ROUTE_TOKEN) {
            cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                            "this endpoint takes an account token");
            return -1;
        }
        /* ACCOUNT and SERVER_ACCOUNT: the account is named. */
        if (!named || !*named) {
            cd_reply_errorf(req, CD_EK_INVALID, "missing_account", NULL,
                            "the server key needs a Creditd-Account header "
                            "here");
            return -1;
        }
        if (cd_account_resolve(app->billing, named, &ctx->account, &err) !=
            0) {
            cd_reply_error(req, &err);
            return -1;
        }
        ctx->has_account = 1;
        return 0;
    }

    if (cd_account_authenticate(app->billing, cred, &ctx->account,
                                ctx->token_hash, &err) != 0) {
        cd_reply_error(req, &err);
        if (ctx->via_cookie)
            cd_api_session_clear(req);
        return -1;
    }
    if (kind == CD_ROUTE_ADMIN || kind == CD_ROUTE_SERVER_ACCOUNT) {
        memset(&ctx->account, 0, sizeof(ctx->account));
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                        "this endpoint needs the server key");
        return -1;
    }
    if (named && *named && !cd_account_named(&ctx->account, named)) {
        memset(&ctx->account, 0, sizeof(ctx->account));
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                        "an account token reaches only its own account");
        return -1;
    }
    ctx->has_account = 1;
    return 0;
}

int cd_api_offload(const struct cd_req *req)
{
    const struct cd_app *app = req->app;

    if (app->offload_all)
        return 1;
    if (req->route->flags & CD_ROUTE_DEFERS)
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return 1;
    return (req->route->flags & CD_ROUTE_ADMIN) != 0;
}

void cd_api_dispatch(struct cd_req *req)
{
    struct cd_api_ctx ctx;
    unsigned flags = req->route->flags;
    unsigned kind = flags & (CD_ROUTE_ACCOUNT | CD_ROUTE_SERVER_ACCOUNT |
                             CD_ROUTE_ADMIN | CD_ROUTE_TOKEN);
    const char *key;
    char cookie[CD_TOKEN_MAX_LEN + 1];

    memset(&ctx, 0, sizeof(ctx));
    req->ctx = &ctx;
    if (kind != CD_ROUTE_PUBLIC &&
        authenticate(req, &ctx, kind, cookie, sizeof(cookie)) != 0)
        goto out;
    key = cd_req_header(req, "Idempotency-Key");
    if ((flags & CD_ROUTE_IDEMPOTENT) && key &&
        strcmp(req->method, "POST") == 0)
        cd_api_run_idempotent(req, &ctx, key);
    else
        req->route->handler(req);
out:
    /* The account record never outlives the request. */
    memset(&ctx, 0, sizeof(ctx));
    sodium_memzero(cookie, sizeof(cookie));
    req->ctx = NULL;
}
