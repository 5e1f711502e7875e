/*
 * idempotent.c - the Idempotency-Key step of a CD_ROUTE_IDEMPOTENT POST
 * (dispatch.c calls it once the caller is authenticated): the key's
 * claim, replay or conflict (billing/idempotency.c holds the protocol and
 * its store jobs: leases, release on 5xx or 429, effect ids); a route
 * whose effect is a pure database write (CD_ROUTE_IDEM_ONE_JOB) has its
 * claim, effect and reply made in one write job instead. The request's
 * fingerprint is its method, path and body - a JSON body by its meaning
 * (cd_idem_fingerprint).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/core.h"
#include "billing/idempotency.h"
#include "util/log.h"
#include "util/util.h"

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

void cd_api_idem_reply_unclaimed(struct cd_req *req, struct cd_idem_claim *c)
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

/* A built reply kept from a completion: the request deferred while the
 * key's job (claim and reply) commits, so that the thread - an event-loop
 * thread for a CD_ROUTE_DEFERS route - never waits for the commit. */
struct built_later {
    struct cd_idem_claim claim;
    struct cd_idem_once_job job;
    struct cd_req *req;
};

/* On an HTTP thread: the built reply stands, or the replay, the 409, or
 * a 500 when nothing was kept - as the blocking path answers. */
static void built_finish(struct cd_req *req, void *arg)
{
    struct built_later *l = arg;

    if (cd_idem_once_result(&l->job) != 0)
        reply_internal(req);
    else if (l->claim.outcome != CD_IDEM_CLAIMED)
        cd_api_idem_reply_unclaimed(req, &l->claim);
    cd_idem_claim_free(&l->claim);
    free(l);
}

/* On the store's writer thread. */
static void built_done(void *arg)
{
    struct built_later *l = arg;

    cd_req_complete(l->req, built_finish, l);
}

/* 0 when the key's job is submitted (the request deferred), -1 out of
 * memory (the caller keeps it the blocking way). */
static int keep_built_later(struct cd_req *req, struct cd_idem_claim *c)
{
    struct built_later *l = calloc(1, sizeof(*l));

    if (!l)
        return -1;
    l->claim = *c;
    l->req = req;
    cd_req_defer(req);
    if (cd_idem_once_submit(cd_api_app(req)->billing, &l->claim, reply_built,
                            req, &l->job, built_done, l) != 0)
        built_done(l); /* closing: nothing kept, a 500 */
    return 0;
}

/* CD_ROUTE_IDEM_ONE_JOB: the handler claims, runs its effect and stores
 * its reply in one write job (cd_idem_once via billing); a claim it did
 * not use is made here, with the reply it built (from a completion too:
 * keep_built_later). A handler that answers
 * from a completion (ctx->idem_deferred) took a copy of the claim, and
 * its finish replies for every outcome. */
static void run_one_job(struct cd_req *req, struct cd_api_ctx *ctx,
                        struct cd_idem_claim *c)
{
    struct cd_app *app = cd_api_app(req);

    ctx->idem_claim = c;
    req->route->handler(req);
    ctx->idem_claim = NULL;
    if (ctx->idem_deferred) /* the handler's finish answers */
        return;
    if (!c->done) {
        /* A 5xx or 429 keeps nothing (the claim would be released). */
        if (!req->status || req->status >= 500 || req->status == 429)
            return;
        if (keep_built_later(req, c) == 0)
            return;
        if (cd_idem_once(app->billing, c, reply_built, req) != 0) {
            reply_internal(req);
            return;
        }
    }
    if (c->outcome != CD_IDEM_CLAIMED)
        cd_api_idem_reply_unclaimed(req, c);
}

void cd_api_run_idempotent(struct cd_req *req, struct cd_api_ctx *ctx,
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
        cd_idem_fingerprint(req->method, req->path, req->body, req->body_len,
                            c.request_hash, c.legacy_hash) != 0) {
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
        cd_api_idem_reply_unclaimed(req, &c);
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
        cd_warn("api",
                "idempotency claim for %s %s was taken over; reply "
                "not stored",
                req->method, req->route->pattern);
    cd_idem_claim_free(&c);
}

struct cd_idem_claim *cd_api_idem_take(struct cd_api_ctx *ctx,
                                       struct cd_idem_claim *own)
{
    if (!ctx->idem_claim)
        return NULL;
    *own = *ctx->idem_claim;
    ctx->idem_deferred = 1;
    return own;
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
