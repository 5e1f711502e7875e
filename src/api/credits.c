/*
 * credits.c - the account's own resources: GET /v1/account, /v1/balance,
 * /v1/transactions, POST /v1/discounts/validate, and the server-key-only
 * POST /v1/debits and /v1/grants.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/core.h"
#include "api/ratelimit.h"
#include "billing/accounts.h"
#include "billing/balance.h"
#include "billing/discounts.h"
#include "billing/ledger_ops.h"
#include "billing/lots.h"
#include "util/jsonw.h"
#include "util/util.h"

/* Authentication reads the account without its access (accounts.h):
 * read it whole. */
void cd_api_account_get(struct cd_req *req)
{
    struct cd_account a;
    struct cd_error err;

    if (cd_account_get(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                       &a, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_account_json(&a));
    memset(&a, 0, sizeof(a));
}

/* The fields in the order of the reply (docs/API.md "GET /v1/balance"). */
static json_t *balance_json(const struct cd_balance *v, const char *cur)
{
    char disp[64];
    json_t *reply = json_pack(
        "{s:I, s:s, s:s, s:I, s:I, s:{s:I, s:I}, s:I}", "balance",
        (json_int_t)v->balance, "balance_display",
        cd_money_display(v->balance, cur, disp, sizeof(disp)), "currency",
        cur, "held", (json_int_t)v->held, "available",
        (json_int_t)v->available, "by_category", "paid", (json_int_t)v->paid,
        "promotional", (json_int_t)v->promotional, "debt",
        (json_int_t)v->debt);

    if (reply)
        json_object_set_new(reply, "next_expiry",
                            v->next_at
                                ? json_pack("{s:I, s:o}", "amount",
                                            (json_int_t)v->next_amount, "at",
                                            cd_api_time(v->next_at))
                                : json_null());
    return reply;
}

/* A string jansson writes as it is: printable ASCII without '"' or '\\'. */
static int plain(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return 0;
    return 1;
}

/* balance_json's bytes as JSON_COMPACT writes them, without building the
 * object (docs/PERFORMANCE.md): the length, or -1 when a string is not
 * plain or buf is short (balance_json then). */
static int balance_text(const struct cd_balance *v, const char *cur,
                        char *buf, size_t sz)
{
    char disp[64], at[21], next[80] = "null";
    const char *d = cd_money_display(v->balance, cur, disp, sizeof(disp));
    int n;

    if (!plain(d) || !plain(cur))
        return -1;
    if (v->next_at) {
        cd_time_rfc3339(v->next_at, at);
        snprintf(next, sizeof(next), "{\"amount\":%" PRId64 ",\"at\":\"%s\"}",
                 v->next_amount, at);
    }
    n = snprintf(
        buf, sz,
        "{\"balance\":%" PRId64 ",\"balance_display\":\"%s\","
        "\"currency\":\"%s\",\"held\":%" PRId64 ",\"available\":%" PRId64
        ",\"by_category\":{\"paid\":%" PRId64 ",\"promotional\":%" PRId64
        "},\"debt\":%" PRId64 ",\"next_expiry\":%s}",
        v->balance, d, cur, v->held, v->available, v->paid, v->promotional,
        v->debt, next);
    return n > 0 && (size_t)n < sz ? n : -1;
}

/* One statement in one read (billing/balance.h). */
void cd_api_balance(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    const char *cur = app->billing->cfg.currency[0]
                          ? app->billing->cfg.currency
                          : "usd";
    struct cd_error err;
    struct cd_balance v;
    char text[512];
    int n;

    if (cd_balance_get(app->billing, cd_api_ctx(req)->account.id, &v, &err) !=
        0) {
        cd_reply_error(req, &err);
        return;
    }
    n = balance_text(&v, cur, text, sizeof(text));
    if (n > 0)
        cd_reply(req, 200, "application/json", text, (size_t)n);
    else
        cd_reply_json(req, 200, balance_json(&v, cur));
}

json_t *cd_api_txn_json(const struct cd_ledger_entry *e)
{
    return json_pack(
        "{s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:[]}", "id", e->id,
        "amount", (json_int_t)e->amount, "balance_after",
        (json_int_t)e->balance_after, "kind", e->kind, "description",
        e->description, "order_id", cd_api_str_or_null(e->order_id),
        "created_at", cd_api_time(e->created_at), "effective_at",
        cd_api_time(e->effective_at ? e->effective_at : e->created_at),
        "draws");
}

static int draw_cb(size_t i, const char *lot_id, int64_t amount, void *arg)
{
    json_t *txn = ((json_t **)arg)[i];

    json_array_append_new(json_object_get(txn, "draws"),
                          json_pack("{s:s, s:I}", "lot_id", lot_id, "amount",
                                    (json_int_t)amount));
    return 0;
}

int cd_api_txn_draws(struct cd_req *req, json_t *data)
{
    const char *ids[CD_LOTS_DRAWS_MAX];
    json_t *txns[CD_LOTS_DRAWS_MAX], *t;
    struct cd_error err;
    size_t i, n = 0;

    json_array_foreach(data, i, t)
    {
        /* a credit drew nothing: its "draws" stays [] */
        if (n < CD_LOTS_DRAWS_MAX &&
            json_integer_value(json_object_get(t, "amount")) < 0) {
            ids[n] = json_string_value(json_object_get(t, "id"));
            txns[n++] = t;
        }
    }
    if (cd_lots_draws(cd_api_app(req)->billing, ids, n, draw_cb, txns,
                      &err) == 0)
        return 0;
    cd_reply_error(req, &err);
    return -1;
}

static int txn_cb(const struct cd_ledger_entry *e, void *arg)
{
    json_array_append_new(arg, cd_api_txn_json(e));
    return 0;
}

/* The offset list's {"data", "total", "limit", "offset"} plus the keyset
 * page's "has_more" and "next_starting_after" (the last row's id, null on
 * the last page), whichever way the page was asked for. */
static json_t *txn_reply(json_t *data, int64_t total, int64_t limit,
                         int64_t offset, int has_more)
{
    json_t *last = json_array_get(data, json_array_size(data) - 1);
    json_t *next = has_more && last ? json_object_get(last, "id") : NULL;
    json_t *r = cd_api_list(data, total, limit, offset);

    json_object_set_new(r, "has_more", json_boolean(has_more));
    json_object_set(r, "next_starting_after", next ? next : json_null());
    return r;
}

void cd_api_transactions(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    int64_t limit, offset, total = 0;
    const char *after;
    struct cd_error err;
    int has_more = 0, rc;
    json_t *data;

    if (cd_api_paging(req, 20, &limit, &offset) != 0 ||
        cd_api_starting_after(req, "transaction", &after) != 0)
        return;
    data = json_array();
    if (after)
        rc = cd_ledger_txn_page(app->billing, ctx->account.id, after, limit,
                                txn_cb, data, &has_more, &total, &err);
    else
        rc = cd_ledger_list(app->billing, ctx->account.id, limit, offset,
                            txn_cb, data, &total, &err);
    if (rc != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    if (!after)
        has_more = offset + (int64_t)json_array_size(data) < total;
    if (cd_api_txn_draws(req, data) != 0) {
        json_decref(data);
        return;
    }
    cd_reply_json(req, 200, txn_reply(data, total, limit, offset, has_more));
}

/* The 201 of a debit or grant, {"transaction_id", "balance"}: written
 * directly (util/jsonw.h, the bytes json_dumps would make), as render_op
 * runs it on the store's writer thread for every keyed one. */
static void reply_entry(struct cd_req *req, const struct cd_ledger_entry *e)
{
    char body[CD_ID_SZ + 64];
    struct cd_jsonw w;

    cd_jsonw_begin(&w, body, sizeof(body));
    cd_jsonw_str(&w, "transaction_id", e->id);
    cd_jsonw_i64(&w, "balance", e->balance_after);
    if (cd_jsonw_end(&w) == 0)
        cd_reply(req, 201, "application/json", body, w.len);
    else
        cd_reply_json(req, 201,
                      json_pack("{s:s, s:I}", "transaction_id", e->id,
                                "balance", (json_int_t)e->balance_after));
}

/* The completion of a claimed debit or grant: renders the outcome as this
 * request's reply, the very bytes the key then keeps. Runs inside the
 * write job, on the writer thread, while the request is deferred (or its
 * thread waits for it): nothing else touches the request meanwhile. */
static void render_op(void *arg, const struct cd_ledger_entry *e,
                      const struct cd_error *err, struct cd_idem_reply *out)
{
    struct cd_req *req = arg;

    if (e)
        reply_entry(req, e);
    else
        cd_reply_error(req, err);
    out->status = req->status;
    out->body = req->resp_body;
    out->body_len = req->resp_body ? req->resp_len : 0;
}

/* A key claimed by dispatch (cd_idem_begin, not one job): the entry is
 * keyed by it and the reply set before the handler returns, as dispatch
 * stores it then. */
static void ledger_op_blocking(struct cd_req *req, struct cd_api_ctx *ctx,
                               struct cd_ledger_op *op, int debit)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_ledger_entry e;
    struct cd_error err;
    int replayed, rc;

    op->idem_scope = ctx->idem_scope;
    op->idem_key = ctx->idem_key;
    rc = debit ? cd_ledger_debit(app->billing, op, &e, &replayed, &err)
               : cd_ledger_grant(app->billing, op, &e, &replayed, &err);
    if (rc != 0) {
        cd_reply_error(req, &err);
        return;
    }
    reply_entry(req, &e);
}

/* ---- answered from the commit (cd_req_defer) ----------------------------- */

/* What a debit or grant that defers leaves for its finish: owned by the
 * request from cd_req_defer until finish frees it. The body stays parsed
 * (the description and lot spec point into it). */
struct ledger_later {
    struct cd_ledger_async x;
    struct cd_req *req;
    json_t *body;
    struct cd_lot_spec spec;
    struct cd_idem_claim claim; /* a one-job key's, taken from dispatch */
    char account_id[CD_ID_SZ];
    char idem_scope[CD_IDEM_SCOPE_SZ];
    char idem_key[CD_IDEM_KEY_SZ];
};

/* On an HTTP thread once the job is committed: the reply, the very one
 * the blocking path sends (with a key, rendered inside the job by
 * render_op, or dispatch's replay or 409). */
static void ledger_finish(struct cd_req *req, void *arg)
{
    struct ledger_later *l = arg;
    struct cd_ledger_entry e;
    struct cd_error err;
    int replayed;

    if (cd_ledger_async_result(&l->x, &e, &replayed, &err) != 0)
        cd_reply_error(req, &err);
    else if (l->x.op.claim)
        cd_api_idem_reply_unclaimed(req, l->x.op.claim);
    else
        reply_entry(req, &e);
    cd_idem_claim_free(&l->claim);
    json_decref(l->body);
    free(l);
}

/* On the store's writer thread: hands the request back to HTTP. */
static void ledger_done(void *arg)
{
    struct ledger_later *l = arg;

    cd_req_complete(l->req, ledger_finish, l);
}

/* Submits l's op and returns: the reply comes from ledger_finish. Takes
 * dispatch's claim (its claim is then answered there, not by dispatch). */
static void ledger_defer(struct cd_req *req, struct cd_api_ctx *ctx,
                         struct ledger_later *l)
{
    struct cd_app *app = cd_api_app(req);

    l->x.op.claim = cd_api_idem_take(ctx, &l->claim);
    l->req = req;
    l->x.done = ledger_done;
    l->x.done_arg = l;
    cd_req_defer(req);
    cd_ledger_async_submit(app->billing, &l->x);
}

/* POST /v1/debits and /v1/grants: the job submitted and the reply built
 * from its completion (ledger_finish), the request's thread free
 * meanwhile; with a key the claim, the entry and the stored reply are the
 * one job (cd_idem_once). A key claimed by dispatch (not one job) keeps
 * the blocking path: its reply must be set when the handler returns. */
static void ledger_op(struct cd_req *req, int debit)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    struct ledger_later *l = calloc(1, sizeof(*l));
    struct cd_ledger_op *op;
    struct cd_error err;

    if (!l) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return;
    }
    op = &l->x.op;
    l->x.debit = debit;
    if (!(l->body = cd_api_body(req)))
        goto out;
    cd_strlcpy(l->account_id, ctx->account.id, sizeof(l->account_id));
    op->account_id = l->account_id;
    if (!debit) { /* its lot: category, expiry, priority (lots.c) */
        if (cd_api_lot_spec(req, l->body, &l->spec) != 0)
            goto out;
        op->lot = &l->spec;
    }
    if (cd_api_amount(req, l->body, "amount", &op->amount) != 0 ||
        cd_api_string(req, l->body, "description", CD_LEDGER_DESC_MAX,
                      &op->description) != 0 ||
        (debit && cd_api_bool(req, l->body, "allow_negative", 0,
                              &op->allow_negative) != 0))
        goto out;
    if (ctx->idem_key) {
        if (!ctx->idem_claim) {
            ledger_op_blocking(req, ctx, op, debit);
            goto out;
        }
        cd_strlcpy(l->idem_scope, ctx->idem_scope, sizeof(l->idem_scope));
        cd_strlcpy(l->idem_key, ctx->idem_key, sizeof(l->idem_key));
        op->idem_scope = l->idem_scope;
        op->idem_key = l->idem_key;
        op->reply = render_op;
        op->reply_arg = req;
    }
    if (cd_ledger_async_prepare(cd_api_app(req)->billing, &l->x, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    ledger_defer(req, ctx, l);
    return;
out:
    json_decref(l->body);
    free(l);
}

void cd_api_debit(struct cd_req *req)
{
    ledger_op(req, 1);
}

void cd_api_grant(struct cd_req *req)
{
    ledger_op(req, 0);
}

void cd_api_discount_validate(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_discount_quote q;
    struct cd_error err;
    const char *code, *kind, *package_id;
    json_t *body;

    if (cd_api_limit_discount(req) != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_string_req(req, body, "code", 256, &code) != 0 ||
        cd_api_string(req, body, "kind", 32, &kind) != 0 ||
        cd_api_string(req, body, "package_id", CD_ID_SZ - 1, &package_id) !=
            0)
        goto out;
    if (cd_discount_validate(app->billing, code, cd_api_ctx(req)->account.id,
                             kind, package_id, &q, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 200,
                  json_pack("{s:b, s:I, s:I, s:I, s:o}", "valid", q.valid,
                            "base_cents", (json_int_t)q.base_cents,
                            "discount_cents", (json_int_t)q.discount_cents,
                            "final_cents", (json_int_t)q.final_cents, "error",
                            q.error ? json_string(q.error) : json_null()));
out:
    json_decref(body);
}
