/*
 * holds.c - holds (billing/holds.h): POST /v1/holds, POST
 * /v1/holds/{id}/capture and /release (server key + Creditd-Account, like
 * debits: the application decides what is spent; with an Idempotency-Key
 * claim, effect and reply are one write job), GET /v1/holds (keyset
 * paged, status filter) and GET /v1/holds/{id} (the account itself too).
 */
#include <stdlib.h>
#include <string.h>

#include "api/core.h"
#include "billing/holds.h"
#include "util/jsonw.h"
#include "util/util.h"

static json_t *hold_json(const struct cd_hold *h)
{
    int64_t now = cd_now();
    const char *status = cd_hold_status(h, now);
    /* A due hold not yet swept ended when it expired. */
    int64_t fin = h->finished_at                   ? h->finished_at
                  : strcmp(status, "expired") == 0 ? h->expires_at
                                                   : 0;

    return json_pack(
        "{s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id", h->id,
        "object", "hold", "amount", (json_int_t)h->amount, "captured",
        (json_int_t)h->captured, "status", status, "description",
        h->description, "transaction_id",
        cd_api_str_or_null(h->transaction_id), "created_at",
        cd_api_time(h->created_at), "expires_at", cd_api_time(h->expires_at),
        "finished_at", cd_api_time(fin));
}

static void time_or_null(struct cd_jsonw *w, const char *key, int64_t t)
{
    char at[21];

    if (t)
        cd_time_rfc3339(t, at);
    cd_jsonw_str(w, key, t ? at : NULL);
}

/* hold_json's object written directly (util/jsonw.h: the same bytes, no
 * json_t), for the reply rendered on the store's writer. 0, or -1 when
 * it does not fit or the description is not UTF-8. */
static int hold_text(const struct cd_hold *h, char *out, size_t cap,
                     size_t *len)
{
    int64_t now = cd_now();
    const char *status = cd_hold_status(h, now);
    int64_t fin = h->finished_at                   ? h->finished_at
                  : strcmp(status, "expired") == 0 ? h->expires_at
                                                   : 0;
    struct cd_jsonw w;
    int rc;

    cd_jsonw_begin(&w, out, cap);
    cd_jsonw_str(&w, "id", h->id);
    cd_jsonw_str(&w, "object", "hold");
    cd_jsonw_i64(&w, "amount", h->amount);
    cd_jsonw_i64(&w, "captured", h->captured);
    cd_jsonw_str(&w, "status", status);
    cd_jsonw_str(&w, "description", h->description);
    cd_jsonw_str(&w, "transaction_id",
                 h->transaction_id[0] ? h->transaction_id : NULL);
    time_or_null(&w, "created_at", h->created_at);
    time_or_null(&w, "expires_at", h->expires_at);
    time_or_null(&w, "finished_at", fin);
    rc = cd_jsonw_end(&w);
    *len = w.len;
    return rc;
}

/* The completion of a keyed hold request: its reply, as the key keeps it
 * (runs inside the write job). */
static void render_hold(void *arg, const struct cd_hold *h,
                        const struct cd_error *err, struct cd_idem_reply *out)
{
    struct cd_req *req = arg;
    char text[4096];
    size_t len;

    if (h && hold_text(h, text, sizeof(text), &len) == 0)
        cd_reply(req, strcmp(h->status, "active") == 0 ? 201 : 200,
                 "application/json", text, len);
    else if (h)
        cd_reply_json(req, strcmp(h->status, "active") == 0 ? 201 : 200,
                      hold_json(h));
    else
        cd_reply_error(req, err);
    out->status = req->status;
    out->body = req->resp_body;
    out->body_len = req->resp_body ? req->resp_len : 0;
}

/* ---- answered from the commit (cd_req_defer) ----------------------------- */

/* What a hold request leaves for its finish: owned by the request from
 * cd_req_defer until finish frees it (the body stays parsed: the
 * description points into it). */
struct hold_later {
    struct cd_hold_async x;
    struct cd_req *req;
    json_t *body;
    int status; /* of a success: 201 create, 200 capture and release */
    struct cd_idem_claim claim; /* a one-job key's, taken from dispatch */
    char account_id[CD_ID_SZ];
    char eid[64];
};

static struct hold_later *later_new(struct cd_req *req,
                                    enum cd_hold_what what, int status)
{
    struct hold_later *l = calloc(1, sizeof(*l));

    if (!l) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return NULL;
    }
    l->req = req;
    l->x.what = what;
    l->status = status;
    cd_strlcpy(l->account_id, cd_api_ctx(req)->account.id,
               sizeof(l->account_id));
    l->x.op.account_id = l->account_id;
    return l;
}

static void later_free(struct hold_later *l)
{
    cd_idem_claim_free(&l->claim);
    json_decref(l->body);
    free(l);
}

/* On an HTTP thread once the job is committed: the error, the hold, or
 * (with a key) the reply rendered inside the job, the replay or the
 * 409 - what the blocking path answers. */
static void hold_finish(struct cd_req *req, void *arg)
{
    struct hold_later *l = arg;
    struct cd_hold h;
    struct cd_error err;

    if (cd_hold_async_result(&l->x, &h, &err) != 0)
        cd_reply_error(req, &err);
    else if (l->x.op.claim)
        cd_api_idem_reply_unclaimed(req, l->x.op.claim);
    else
        cd_reply_json(req, l->status, hold_json(&h));
    later_free(l);
}

/* On the store's writer thread: hands the request back to HTTP. */
static void hold_done(void *arg)
{
    struct hold_later *l = arg;

    cd_req_complete(l->req, hold_finish, l);
}

/* Checks l's op (a refusal is answered now, and freed), then takes the
 * request's one-job claim, defers and submits: the reply comes from
 * hold_finish. */
static void later_submit(struct cd_req *req, struct hold_later *l)
{
    struct cd_error err;

    if (cd_hold_async_prepare(&l->x, &err) != 0) {
        cd_reply_error(req, &err);
        later_free(l);
        return;
    }
    l->x.op.claim = cd_api_idem_take(cd_api_ctx(req), &l->claim);
    if (l->x.op.claim) {
        l->x.op.reply = render_hold;
        l->x.op.reply_arg = req;
    }
    l->x.done = hold_done;
    l->x.done_arg = l;
    cd_req_defer(req);
    cd_hold_async_submit(cd_api_app(req)->billing, &l->x);
}

/* expires_in: absent -> the default; else an integer MIN..MAX. */
static int expires_in(struct cd_req *req, json_t *body, int64_t *out)
{
    json_t *v = json_object_get(body, "expires_in");

    *out = CD_HOLD_EXPIRES_DEFAULT;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < CD_HOLD_EXPIRES_MIN ||
        json_integer_value(v) > CD_HOLD_EXPIRES_MAX) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "expires_in",
                        "expires_in must be an integer number of seconds "
                        "from 1 to 604800 (7 days)");
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* POST /v1/holds, /v1/holds/{id}/capture and /release: each answered
 * from its job's completion (later_submit). A key claimed by dispatch
 * instead of one job does not occur on these routes (CD_ROUTE_IDEM_ONE_JOB):
 * with a key there is always ctx->idem_claim. */
static void cd_api_hold_create(struct cd_req *req)
{
    struct hold_later *l = later_new(req, CD_HOLD_CREATE, 201);
    struct cd_hold_op *op;

    if (!l)
        return;
    op = &l->x.op;
    if (!(l->body = cd_api_body(req)) ||
        cd_api_amount(req, l->body, "amount", &op->amount) != 0 ||
        cd_api_string(req, l->body, "description", CD_HOLD_DESC_MAX,
                      &op->description) != 0 ||
        expires_in(req, l->body, &op->expires_in) != 0) {
        later_free(l);
        return;
    }
    op->effect_id = cd_api_effect_id(req, "hold_", l->eid, sizeof(l->eid));
    later_submit(req, l);
}

static void cd_api_hold_capture(struct cd_req *req)
{
    struct hold_later *l = later_new(req, CD_HOLD_CAPTURE, 200);

    if (!l)
        return;
    if (!(l->body = cd_api_body(req)) ||
        cd_api_amount(req, l->body, "amount", &l->x.op.amount) != 0) {
        later_free(l);
        return;
    }
    l->x.op.hold_id = req->params[0];
    later_submit(req, l);
}

static void cd_api_hold_release(struct cd_req *req)
{
    struct hold_later *l = later_new(req, CD_HOLD_RELEASE, 200);

    if (!l)
        return;
    l->x.op.hold_id = req->params[0];
    later_submit(req, l);
}

static void cd_api_hold_get(struct cd_req *req)
{
    struct cd_hold h;
    struct cd_error err;

    if (cd_hold_get(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                    req->params[0], &h, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, hold_json(&h));
}

static int list_row(const struct cd_hold *h, void *arg)
{
    json_array_append_new(arg, hold_json(h));
    return 0;
}

static const char *const statuses[] = {"active", "captured", "released",
                                       "expired"};

/* ?status= (one of statuses) and ?starting_after= (a hold id); 0, or -1
 * with a 400 reply. */
static int list_query(struct cd_req *req, const char **status,
                      const char **after, int64_t *limit)
{
    const char *l = cd_req_query(req, "limit");
    size_t i;

    *status = cd_req_query(req, "status");
    *after = cd_req_query(req, "starting_after");
    *limit = 20;
    if (l && cd_parse_int64(l, 1, 100, limit) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "limit",
                        "limit must be an integer from 1 to 100");
        return -1;
    }
    for (i = 0; *status && i < CD_ARRAY_LEN(statuses); i++)
        if (strcmp(*status, statuses[i]) == 0)
            break;
    if (*status && i == CD_ARRAY_LEN(statuses)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "status",
                        "status must be one of active, captured, released, "
                        "expired");
        return -1;
    }
    if (*after && (!**after || strlen(*after) >= CD_ID_SZ)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "starting_after",
                        "starting_after names no hold of "
                        "this account");
        return -1;
    }
    return 0;
}

static void cd_api_hold_list(struct cd_req *req)
{
    const char *status, *after;
    int64_t limit;
    int has_more = 0;
    struct cd_error err;
    json_t *data, *last, *next;

    if (list_query(req, &status, &after, &limit) != 0)
        return;
    data = json_array();
    if (cd_hold_page(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                     status, after, limit, list_row, data, &has_more,
                     &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    last = json_array_get(data, json_array_size(data) - 1);
    next = has_more && last ? json_object_get(last, "id") : NULL;
    cd_reply_json(req, 200,
                  json_pack("{s:o, s:b, s:I, s:O}", "data", data, "has_more",
                            has_more, "limit", (json_int_t)limit,
                            "next_starting_after",
                            next ? next : json_null()));
}

#define R(m, p, h, f)                                                        \
    {                                                                        \
        m, p, h, f, 0                                                        \
    }
const struct cd_route cd_api_routes_holds[] = {
    R("POST", "/v1/holds", cd_api_hold_create,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB |
          CD_ROUTE_DEFERS),
    R("GET", "/v1/holds", cd_api_hold_list, CD_ROUTE_ACCOUNT),
    R("GET", "/v1/holds/{}", cd_api_hold_get, CD_ROUTE_ACCOUNT),
    R("POST", "/v1/holds/{}/capture", cd_api_hold_capture,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB |
          CD_ROUTE_DEFERS),
    R("POST", "/v1/holds/{}/release", cd_api_hold_release,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB |
          CD_ROUTE_DEFERS),
};

const size_t cd_api_routes_holds_count = CD_ARRAY_LEN(cd_api_routes_holds);
