/*
 * holds.c - holds (billing/holds.h): POST /v1/holds, POST
 * /v1/holds/{id}/capture and /release (server key + Creditd-Account, like
 * debits: the application decides what is spent; with an Idempotency-Key
 * claim, effect and reply are one write job), GET /v1/holds (keyset
 * paged, status filter) and GET /v1/holds/{id} (the account itself too).
 */
#include <string.h>

#include "api/core.h"
#include "billing/holds.h"
#include "util/util.h"

static json_t *hold_json(const struct cd_hold *h)
{
    int64_t now = cd_now();
    const char *status = cd_hold_status(h, now);
    /* A due hold not yet swept ended when it expired. */
    int64_t fin = h->finished_at ? h->finished_at
                  : strcmp(status, "expired") == 0 ? h->expires_at
                                                    : 0;

    return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:o}",
                     "id", h->id, "object", "hold", "amount",
                     (json_int_t)h->amount, "captured",
                     (json_int_t)h->captured, "status", status,
                     "description", h->description, "transaction_id",
                     cd_api_str_or_null(h->transaction_id), "created_at",
                     cd_api_time(h->created_at), "expires_at",
                     cd_api_time(h->expires_at), "finished_at",
                     cd_api_time(fin));
}

/* The completion of a keyed hold request: its reply, as the key keeps it
 * (runs inside the write job). */
static void render_hold(void *arg, const struct cd_hold *h,
                        const struct cd_error *err, struct cd_idem_reply *out)
{
    struct cd_req *req = arg;

    if (h)
        cd_reply_json(req, strcmp(h->status, "active") == 0 ? 201 : 200,
                      hold_json(h));
    else
        cd_reply_error(req, err);
    out->status = req->status;
    out->body = req->resp_body;
    out->body_len = req->resp_body ? req->resp_len : 0;
}

/* Fills the claim part of op from the request's key, if any. */
static void keyed(struct cd_req *req, struct cd_hold_op *op)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);

    op->account_id = ctx->account.id;
    if (ctx->idem_key && ctx->idem_claim) {
        op->claim = ctx->idem_claim;
        op->reply = render_hold;
        op->reply_arg = req;
    }
}

/* Replies for a finished call: the error, the hold, or nothing (rendered
 * inside the job, or dispatch answers a replay). */
static void finish(struct cd_req *req, const struct cd_hold_op *op, int rc,
                   const struct cd_hold *h, const struct cd_error *err,
                   int status)
{
    if (rc != 0)
        cd_reply_error(req, err);
    else if (!op->claim)
        cd_reply_json(req, status, hold_json(h));
}

/* expires_in: absent -> the default; else an integer MIN..MAX. */
static int expires_in(struct cd_req *req, json_t *body, int64_t *out)
{
    json_t *v = json_object_get(body, "expires_in");

    *out = CD_HOLD_EXPIRES_DEFAULT;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) ||
        json_integer_value(v) < CD_HOLD_EXPIRES_MIN ||
        json_integer_value(v) > CD_HOLD_EXPIRES_MAX) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "expires_in",
                        "expires_in must be an integer number of seconds "
                        "from 1 to 604800 (7 days)");
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static void cd_api_hold_create(struct cd_req *req)
{
    struct cd_hold_op op;
    struct cd_hold h;
    struct cd_error err;
    char eid[64];
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    memset(&op, 0, sizeof(op));
    if (cd_api_amount(req, body, "amount", &op.amount) != 0 ||
        cd_api_string(req, body, "description", CD_HOLD_DESC_MAX,
                      &op.description) != 0 ||
        expires_in(req, body, &op.expires_in) != 0)
        goto out;
    keyed(req, &op);
    op.effect_id = cd_api_effect_id(req, "hold_", eid, sizeof(eid));
    finish(req, &op,
           cd_hold_create(cd_api_app(req)->billing, &op, &h, &err), &h, &err,
           201);
out:
    json_decref(body);
}

static void cd_api_hold_capture(struct cd_req *req)
{
    struct cd_hold_op op;
    struct cd_hold h;
    struct cd_error err;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    memset(&op, 0, sizeof(op));
    if (cd_api_amount(req, body, "amount", &op.amount) != 0)
        goto out;
    keyed(req, &op);
    op.hold_id = req->params[0];
    finish(req, &op,
           cd_hold_capture(cd_api_app(req)->billing, &op, &h, &err), &h,
           &err, 200);
out:
    json_decref(body);
}

static void cd_api_hold_release(struct cd_req *req)
{
    struct cd_hold_op op;
    struct cd_hold h;
    struct cd_error err;

    memset(&op, 0, sizeof(op));
    keyed(req, &op);
    op.hold_id = req->params[0];
    finish(req, &op,
           cd_hold_release(cd_api_app(req)->billing, &op, &h, &err), &h,
           &err, 200);
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
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param",
                        "starting_after", "starting_after names no hold of "
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

#define R(m, p, h, f) {m, p, h, f, 0}
const struct cd_route cd_api_routes_holds[] = {
    R("POST", "/v1/holds", cd_api_hold_create,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB),
    R("GET", "/v1/holds", cd_api_hold_list, CD_ROUTE_ACCOUNT),
    R("GET", "/v1/holds/{}", cd_api_hold_get, CD_ROUTE_ACCOUNT),
    R("POST", "/v1/holds/{}/capture", cd_api_hold_capture,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB),
    R("POST", "/v1/holds/{}/release", cd_api_hold_release,
      CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_IDEMPOTENT | CD_ROUTE_IDEM_ONE_JOB),
};

const size_t cd_api_routes_holds_count = CD_ARRAY_LEN(cd_api_routes_holds);
