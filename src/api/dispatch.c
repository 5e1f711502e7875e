/*
 * dispatch.c - the step every matched route passes before its handler:
 * authentication by route flag (account token or server key, with
 * Creditd-Account naming the account for the server key), then
 * Idempotency-Key handling for CD_ROUTE_IDEMPOTENT POSTs.
 *
 * Idempotency: the key is claimed (a row with status 0, "in progress") in
 * a write job before the handler runs, and completed with the reply's
 * status and body after it. A 5xx or 429 reply deletes the row instead, so
 * a retry runs again (handlers key their own effects, so a retry never
 * doubles them; a 429 did nothing). Rows older than 24 h count as absent.
 *
 * A claim carries a token in its body: the claiming process's random
 * instance id plus a random id of this claim. An "in progress" row claimed
 * by another instance (a process killed between claim and completion,
 * then restarted) or older than CD_IDEM_STALE_S is taken over by the next
 * request with the same key; its handler runs again and finds its effect
 * already keyed (a debit's ledger ref), so it answers as the first run did
 * instead of doing it twice. Completing (or deleting, on a 5xx) is
 * conditional on the row still holding our token with status 0: a request
 * whose claim was taken over replies normally but stores nothing, so it
 * can never overwrite the new owner's row.
 *
 * Multi-node caveat: "another instance" cannot tell a dead process from a
 * live node. With several nodes on one database a request arriving at
 * node B while node A still runs the same key takes A's claim over and
 * both handlers run (their effects stay keyed, so nothing is doubled, but
 * two checkouts could be opened, and the stored reply is B's). That is
 * right for today's single node; several nodes need a claim heartbeat or
 * a lease instead of the instance test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>

#include "api/api.h"
#include "billing/accounts.h"
#include "util/log.h"
#include "util/util.h"

#define CD_IDEM_TTL_S (24 * 3600)
#define CD_IDEM_STALE_S (10 * 60)
#define CD_IDEM_OWNER_PREFIX "in-progress:"

static pthread_once_t instance_once = PTHREAD_ONCE_INIT;
static char instance_owner[96]; /* CD_IDEM_OWNER_PREFIX + random id */

static void instance_start(void)
{
    char id[CD_ID_SZ];

    cd_random_id("run_", id, sizeof(id));
    snprintf(instance_owner, sizeof(instance_owner), "%s%s",
             CD_IDEM_OWNER_PREFIX, id);
}

/* Whether an in-progress row was claimed by this process: its token is
 * instance_owner + ":" + the claim's own id. */
static int claimed_here(const struct cd_idem *row)
{
    size_t n = strlen(instance_owner);

    return row->body && row->body_len > n + 1 &&
           memcmp(row->body, instance_owner, n) == 0 && row->body[n] == ':';
}

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

/* Fills ctx for the route's auth kind; replies and returns -1 on refusal. */
static int authenticate(struct cd_req *req, struct cd_api_ctx *ctx,
                        unsigned kind)
{
    struct cd_app *app = cd_api_app(req);
    const char *cred = bearer(req);
    const char *named;
    struct cd_error err;

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

    if (is_server_key(app, cred)) {
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
        if (cd_account_get(app->billing, named, &ctx->account, &err) != 0) {
            cd_reply_error(req, &err);
            return -1;
        }
        ctx->has_account = 1;
        return 0;
    }

    if (cd_account_authenticate(app->billing, cred, &ctx->account,
                                ctx->token_hash, &err) != 0) {
        cd_reply_error(req, &err);
        return -1;
    }
    if (kind == CD_ROUTE_ADMIN || kind == CD_ROUTE_SERVER_ACCOUNT) {
        memset(&ctx->account, 0, sizeof(ctx->account));
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                        "this endpoint needs the server key");
        return -1;
    }
    if (named && *named && strcmp(named, ctx->account.id) != 0) {
        memset(&ctx->account, 0, sizeof(ctx->account));
        cd_reply_errorf(req, CD_EK_FORBIDDEN, "forbidden", NULL,
                        "an account token reaches only its own account");
        return -1;
    }
    ctx->has_account = 1;
    return 0;
}

/* ---- idempotency ------------------------------------------------------- */

enum idem_outcome { IDEM_CLAIMED, IDEM_REPLAY, IDEM_IN_PROGRESS, IDEM_REUSED };

struct claim_job {
    struct cd_idem row; /* what to insert */
    int64_t now;
    enum idem_outcome outcome;
    int status;
    char *body;
    size_t body_len;
};

static int claim_fn(struct cd_tx *tx, void *arg)
{
    struct claim_job *j = arg;
    struct cd_idem cur;
    int rc;

    memset(&cur, 0, sizeof(cur));
    rc = cd_store_idem_get(tx, j->row.scope, j->row.key, &cur);
    if (rc == CD_STORE_OK) {
        int live = cur.created_at >= j->now - CD_IDEM_TTL_S;
        int abandoned = cur.status == 0 &&
                        (!claimed_here(&cur) ||
                         cur.created_at < j->now - CD_IDEM_STALE_S);

        if (live && strcmp(cur.request_hash, j->row.request_hash) != 0) {
            j->outcome = IDEM_REUSED;
            free(cur.body);
            return 0;
        }
        if (live && cur.status != 0) {
            j->outcome = IDEM_REPLAY;
            j->status = cur.status;
            j->body = cur.body;
            j->body_len = cur.body_len;
            return 0;
        }
        if (live && !abandoned) {
            j->outcome = IDEM_IN_PROGRESS;
            free(cur.body);
            return 0;
        }
        free(cur.body);
        if (cd_store_idem_delete(tx, j->row.scope, j->row.key) !=
            CD_STORE_OK)
            return CD_STORE_ERROR;
    } else if (rc != CD_STORE_NOT_FOUND) {
        return CD_STORE_ERROR;
    }
    rc = cd_store_idem_insert(tx, &j->row);
    if (rc == CD_STORE_DUPLICATE) { /* another node claimed it first */
        j->outcome = IDEM_IN_PROGRESS;
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->outcome = IDEM_CLAIMED;
    return 0;
}

struct finish_job {
    const char *scope, *key;
    const char *claim; /* our claim token */
    size_t claim_len;
    int status;
    const char *body;
    size_t body_len;
    int del;
    int lost; /* out: the claim was no longer ours; nothing stored */
};

static int finish_fn(struct cd_tx *tx, void *arg)
{
    struct finish_job *j = arg;
    int rc;

    if (j->del)
        rc = cd_store_idem_delete_claim(tx, j->scope, j->key, j->claim,
                                        j->claim_len);
    else
        rc = cd_store_idem_complete_claim(tx, j->scope, j->key, j->claim,
                                          j->claim_len, j->status, j->body,
                                          j->body_len);
    if (rc == CD_STORE_NOT_FOUND) {
        j->lost = 1;
        return 0;
    }
    return rc == CD_STORE_OK ? 0 : 1;
}

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

/* sha256 hex of method + " " + path + "\n" + body; -1 out of memory. */
static int request_hash(struct cd_req *req, char out[65])
{
    size_t ml = strlen(req->method), pl = strlen(req->path);
    size_t n = ml + 1 + pl + 1 + req->body_len;
    char *buf = malloc(n ? n : 1);

    if (!buf)
        return -1;
    memcpy(buf, req->method, ml);
    buf[ml] = ' ';
    memcpy(buf + ml + 1, req->path, pl);
    buf[ml + 1 + pl] = '\n';
    if (req->body_len)
        memcpy(buf + ml + pl + 2, req->body, req->body_len);
    cd_sha256_hex(buf, n, out);
    free(buf);
    return 0;
}

static void run_idempotent(struct cd_req *req, struct cd_api_ctx *ctx,
                           const char *key)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_store *store = app->billing->store;
    struct claim_job cj;
    struct finish_job fj;
    char claim[sizeof(instance_owner) + CD_ID_SZ + 2];
    char claim_id[CD_ID_SZ];
    int rc;

    if (!valid_idem_key(key)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_idempotency_key", NULL,
                        "Idempotency-Key must be 1-255 printable ASCII "
                        "characters");
        return;
    }
    if (ctx->is_server && ctx->has_account)
        rc = snprintf(ctx->idem_scope, sizeof(ctx->idem_scope), "server:%s",
                      ctx->account.id);
    else
        rc = snprintf(ctx->idem_scope, sizeof(ctx->idem_scope), "%s",
                      ctx->is_server     ? "server"
                      : ctx->has_account ? ctx->account.id
                                         : "public");
    rc = rc < 0 || (size_t)rc >= sizeof(ctx->idem_scope);
    if (rc) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }

    memset(&cj, 0, sizeof(cj));
    cd_strlcpy(cj.row.scope, ctx->idem_scope, sizeof(cj.row.scope));
    cd_strlcpy(cj.row.key, key, sizeof(cj.row.key));
    if (request_hash(req, cj.row.request_hash) != 0) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }
    cj.now = cd_now();
    cj.row.status = 0;
    cj.row.created_at = cj.now;
    pthread_once(&instance_once, instance_start);
    cd_random_id("clm_", claim_id, sizeof(claim_id));
    rc = snprintf(claim, sizeof(claim), "%s:%s", instance_owner, claim_id);
    if (rc < 0 || (size_t)rc >= sizeof(claim)) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }
    cj.row.body = claim;
    cj.row.body_len = (size_t)rc;
    if (cd_store_write(store, claim_fn, &cj) != 0) {
        free(cj.body);
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }
    switch (cj.outcome) {
    case IDEM_REUSED:
        cd_reply_errorf(req, CD_EK_CONFLICT, "idempotency_key_reused", NULL,
                        "this Idempotency-Key was used with a different "
                        "request");
        return;
    case IDEM_IN_PROGRESS:
        cd_reply_errorf(req, CD_EK_CONFLICT, "idempotency_in_progress", NULL,
                        "a request with this Idempotency-Key is still "
                        "running; retry later");
        cd_reply_header(req, "Retry-After", "1");
        return;
    case IDEM_REPLAY:
        cd_reply(req, cj.status, cj.body_len ? "application/json" : NULL,
                 cj.body ? cj.body : "", cj.body_len);
        cd_reply_header(req, "Idempotent-Replayed", "true");
        free(cj.body);
        return;
    case IDEM_CLAIMED:
        break;
    }

    ctx->idem_key = key;
    req->route->handler(req);

    memset(&fj, 0, sizeof(fj));
    fj.scope = ctx->idem_scope;
    fj.key = key;
    fj.claim = claim;
    fj.claim_len = strlen(claim);
    fj.status = req->status ? req->status : 500;
    fj.body = req->resp_body ? req->resp_body : "";
    fj.body_len = req->resp_body ? req->resp_len : 0;
    fj.del = fj.status >= 500 || fj.status == 429; /* transient: not kept */
    if (cd_store_write(store, finish_fn, &fj) != 0) {
        /* The effect happened (and is keyed); the reply stands. A retry
         * with this key sees "in progress" until the row goes stale. */
        cd_error("api", "could not %s idempotency key for %s %s",
                 fj.del ? "release" : "complete", req->method,
                 req->route->pattern);
    } else if (fj.lost) {
        /* Taken over meanwhile (stale or foreign-instance claim): the new
         * owner's row stands; our reply goes out unstored. */
        cd_warn("api", "idempotency claim for %s %s was taken over; reply "
                       "not stored",
                req->method, req->route->pattern);
    }
}

void cd_api_dispatch(struct cd_req *req)
{
    struct cd_api_ctx ctx;
    unsigned flags = req->route->flags;
    unsigned kind = flags & (CD_ROUTE_ACCOUNT | CD_ROUTE_SERVER_ACCOUNT |
                             CD_ROUTE_ADMIN | CD_ROUTE_TOKEN);
    const char *key;

    memset(&ctx, 0, sizeof(ctx));
    req->ctx = &ctx;
    if (kind != CD_ROUTE_PUBLIC && authenticate(req, &ctx, kind) != 0)
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
    req->ctx = NULL;
}
