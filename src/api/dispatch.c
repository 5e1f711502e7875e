/*
 * dispatch.c - the step every matched route passes before its handler:
 * authentication by route flag (account token or server key, with
 * Creditd-Account naming the account for the server key: "acct_..." or
 * "ext:<external_id>"; without a Bearer credential, the web UI's session
 * cookie on account and token routes, with its CSRF header on every method
 * but GET and HEAD: session.c), then, for CD_ROUTE_IDEMPOTENT POSTs with an
 * Idempotency-Key, the key's claim,
 * replay or conflict (billing/idempotency.c holds the protocol: leases,
 * release on 5xx or 429, effect ids); a route whose effect is a pure
 * database write (CD_ROUTE_IDEM_ONE_JOB) has its claim, effect and reply
 * made in one write job instead. The request's fingerprint is its method,
 * path and body - a JSON body by its meaning (cd_idem_fingerprint).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/core.h"
#include "billing/accounts.h"
#include "billing/idempotency.h"
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

/* ---- idempotency (the protocol is billing/idempotency.c) ---------------- */

static int valid_idem_key(const char *k)
{
    size_t n = strlen(k);

    if (n < 1 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e)
            return 0;
    return 1;
}

/* The caller's scope for its keys: "server", "server:acct_...",
 * "acct_..." or "public". 0, or -1 when it does not fit. */
static int idem_scope(const struct cd_api_ctx *ctx, char *out, size_t outsz)
{
    int rc;

    if (ctx->is_server && ctx->has_account)
        rc = snprintf(out, outsz, "server:%s", ctx->account.id);
    else
        rc = snprintf(out, outsz, "%s",
                      ctx->is_server     ? "server"
                      : ctx->has_account ? ctx->account.id
                                         : "public");
    return rc < 0 || (size_t)rc >= outsz ? -1 : 0;
}

static void reply_internal(struct cd_req *req)
{
    cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                    "internal error");
}

/* Replies for an outcome other than CLAIMED. */
static void reply_unclaimed(struct cd_req *req, struct cd_idem_claim *c)
{
    switch (c->outcome) {
    case CD_IDEM_REUSED:
        cd_reply_errorf(req, CD_EK_CONFLICT, "idempotency_key_reused", NULL,
                        "this Idempotency-Key was used with a different "
                        "request");
        return;
    case CD_IDEM_IN_PROGRESS:
        cd_reply_errorf(req, CD_EK_CONFLICT, "idempotency_in_progress", NULL,
                        "a request with this Idempotency-Key is still "
                        "running; retry later");
        cd_reply_header(req, "Retry-After", "1");
        return;
    case CD_IDEM_REPLAY:
        cd_reply(req, c->status, c->body_len ? "application/json" : NULL,
                 c->body ? c->body : "", c->body_len);
        cd_reply_header(req, "Idempotent-Replayed", "true");
        return;
    case CD_IDEM_CLAIMED:
        break;
    }
}

/* The effect of a one-job request whose handler answered without
 * reaching billing (a 400 on its body, say): the reply it built is the
 * one the key keeps, exactly as when dispatch claimed first. */
static int reply_built(struct cd_tx *tx, void *arg, struct cd_idem_reply *r)
{
    struct cd_req *req = arg;

    (void)tx;
    r->status = req->status ? req->status : 500;
    r->body = req->resp_body;
    r->body_len = req->resp_body ? req->resp_len : 0;
    return 0;
}

/* CD_ROUTE_IDEM_ONE_JOB: the handler claims, runs its effect and stores
 * its reply in one write job (cd_idem_once via billing); a claim it did
 * not use is made here, with the reply it built. */
static void run_one_job(struct cd_req *req, struct cd_api_ctx *ctx,
                        struct cd_idem_claim *c)
{
    struct cd_app *app = cd_api_app(req);

    ctx->idem_claim = c;
    req->route->handler(req);
    ctx->idem_claim = NULL;
    if (!c->done) {
        /* A 5xx or 429 keeps nothing (the claim would be released). */
        if (!req->status || req->status >= 500 || req->status == 429)
            return;
        if (cd_idem_once(app->billing, c, reply_built, req) != 0) {
            reply_internal(req);
            return;
        }
    }
    if (c->outcome != CD_IDEM_CLAIMED)
        reply_unclaimed(req, c);
}

static void run_idempotent(struct cd_req *req, struct cd_api_ctx *ctx,
                           const char *key)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_idem_claim c;
    int rc;

    if (!valid_idem_key(key)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_idempotency_key", NULL,
                        "Idempotency-Key must be 1-255 printable ASCII "
                        "characters");
        return;
    }
    memset(&c, 0, sizeof(c));
    if (idem_scope(ctx, ctx->idem_scope, sizeof(ctx->idem_scope)) != 0 ||
        cd_strlcpy(c.scope, ctx->idem_scope, sizeof(c.scope)) != 0 ||
        cd_strlcpy(c.key, key, sizeof(c.key)) != 0 ||
        cd_idem_fingerprint(req->method, req->path, req->body,
                            req->body_len, c.request_hash,
                            c.legacy_hash) != 0) {
        reply_internal(req);
        return;
    }
    ctx->idem_key = key;
    if (req->route->flags & CD_ROUTE_IDEM_ONE_JOB) {
        run_one_job(req, ctx, &c);
        cd_idem_claim_free(&c);
        return;
    }
    if (cd_idem_begin(app->billing, &c) != 0) {
        reply_internal(req);
        return;
    }
    if (c.outcome != CD_IDEM_CLAIMED) {
        reply_unclaimed(req, &c);
        cd_idem_claim_free(&c);
        return;
    }
    req->route->handler(req);
    rc = cd_idem_end(app->billing, &c, req->status ? req->status : 500,
                     req->resp_body, req->resp_body ? req->resp_len : 0);
    if (rc < 0)
        /* The effect happened (and is keyed); the reply stands. A retry
         * sees "in progress" until the claim's lease ends, then runs
         * again and finds the effect. */
        cd_error("api", "could not store the idempotent reply of %s %s",
                 req->method, req->route->pattern);
    else if (rc > 0)
        cd_warn("api", "idempotency claim for %s %s was taken over; reply "
                       "not stored",
                req->method, req->route->pattern);
    cd_idem_claim_free(&c);
}

const char *cd_api_effect_id(struct cd_req *req, const char *prefix,
                             char *out, size_t outsz)
{
    const struct cd_api_ctx *ctx = cd_api_ctx(req);

    if (!ctx || !ctx->idem_key)
        return NULL;
    cd_idem_effect_id(ctx->idem_scope, ctx->idem_key, prefix, out, outsz);
    return out[0] ? out : NULL;
}

int cd_api_offload(const struct cd_req *req)
{
    const struct cd_app *app = req->app;

    if (app->offload_all)
        return 1;
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
        run_idempotent(req, &ctx, key);
    else
        req->route->handler(req);
out:
    /* The account record never outlives the request. */
    memset(&ctx, 0, sizeof(ctx));
    sodium_memzero(cookie, sizeof(cookie));
    req->ctx = NULL;
}
