/*
 * outbox.c - the routes of the events outbox (billing/outbox.h): the pull
 * feed GET /v1/events (server key + Creditd-Account), the account's
 * balance alert thresholds, and the operator's webhook endpoints, their
 * deliveries and replays (server key).
 */
#include <string.h>

#include "api/api.h"
#include "billing/outbox.h"
#include "util/util.h"

#define R(m, p, h, f)                                                        \
    {                                                                        \
        m, p, h, f, 0                                                        \
    }

/* ---- GET /v1/events?after=&limit= --------------------------------------- */

static int event_cb(const struct cd_event *e, void *arg)
{
    json_t *ev = cd_outbox_event_json(e->id, e->account_id, e->account_seq,
                                      e->type, e->data, e->created_at);

    return ev ? json_array_append_new(arg, ev) : -1;
}

static void events_list(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    const char *a = cd_req_query(req, "after"),
               *l = cd_req_query(req, "limit");
    int64_t after = 0, limit = 100;
    struct cd_error err;
    json_t *data;
    size_t n;

    if (a && cd_parse_int64(a, 0, INT64_MAX, &after) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "after",
                        "after must be a sequence number (>= 0)");
        return;
    }
    if (l && cd_parse_int64(l, 1, 100, &limit) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "limit",
                        "limit must be an integer from 1 to 100");
        return;
    }
    data = json_array();
    /* one more than asked: whether there is more */
    if (cd_events_after(cd_api_app(req)->billing, ctx->account.id, after,
                        limit + 1, event_cb, data, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    n = json_array_size(data);
    if (n > (size_t)limit)
        json_array_remove(data, n - 1);
    cd_reply_json(
        req, 200,
        json_pack("{so sb}", "data", data, "has_more", n > (size_t)limit));
}

/* ---- balance alerts ----------------------------------------------------- */

static void alerts_reply(struct cd_req *req, const int64_t *t, int n)
{
    json_t *a = json_array();

    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(t[i]));
    cd_reply_json(req, 200, json_pack("{so}", "thresholds", a));
}

static void alerts_get(struct cd_req *req)
{
    int64_t t[CD_ALERTS_MAX];
    int n = 0;
    struct cd_error err;

    if (cd_alerts_get(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                      t, &n, &err) != 0)
        cd_reply_error(req, &err);
    else
        alerts_reply(req, t, n);
}

static void alerts_put(struct cd_req *req)
{
    json_t *body = cd_api_body(req), *arr, *v;
    int64_t t[CD_ALERTS_MAX];
    struct cd_error err;
    size_t i;
    int n = 0;

    if (!body)
        return;
    arr = json_object_get(body, "thresholds");
    if (!json_is_array(arr) || json_array_size(arr) > CD_ALERTS_MAX) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "thresholds",
                        "thresholds is an array of at most %d integers",
                        CD_ALERTS_MAX);
        json_decref(body);
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > CD_AMOUNT_MAX) {
            cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "thresholds",
                            "each threshold is an integer from 0 to 10^12");
            json_decref(body);
            return;
        }
        t[n++] = json_integer_value(v);
    }
    json_decref(body);
    if (cd_alerts_put(cd_api_app(req)->billing, cd_api_ctx(req)->account.id,
                      t, n, &err) != 0)
        cd_reply_error(req, &err);
    else
        alerts_get(req);
}

/* ---- webhook endpoints (server key) ------------------------------------ */

/* The WebhookEndpoint object; the secret only when show_secret (create and
 * rotate_secret). */
static json_t *endpoint_json(const struct cd_webhook_endpoint *w,
                             int show_secret)
{
    json_t *types = json_array(), *j;
    char buf[CD_OB_TYPES_SZ], *save = NULL;

    cd_strlcpy(buf, w->event_types, sizeof(buf));
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        json_array_append_new(types, json_string(t));
    j = json_pack("{ss ss ss so so sb ss}", "id", w->id, "object",
                  "webhook_endpoint", "url", w->url, "description",
                  cd_api_str_or_null(w->description), "enabled_events", types,
                  "enabled", (int)w->enabled, "status",
                  w->enabled ? "enabled" : "disabled");
    json_object_set_new(j, "disabled_reason",
                        cd_api_str_or_null(w->disabled_reason));
    json_object_set_new(j, "failing_since", cd_api_time(w->failing_since));
    json_object_set_new(j, "created", cd_api_time(w->created_at));
    json_object_set_new(j, "previous_secret_expires_at",
                        w->old_secret[0] &&
                                w->old_secret_expires_at > cd_now()
                            ? cd_api_time(w->old_secret_expires_at)
                            : json_null());
    if (show_secret)
        json_object_set_new(j, "secret", json_string(w->secret));
    return j;
}

/* enabled_events (array of strings) into "a,b,c" in out; -1 with a 400. */
static int read_types(struct cd_req *req, json_t *body, char *out,
                      size_t outsz, const char **types)
{
    json_t *arr = json_object_get(body, "enabled_events"), *v;
    size_t i, at = 0;

    *types = NULL;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || !json_array_size(arr) ||
        json_array_size(arr) > 32)
        goto bad;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0;

        if (!n || at + n + 2 > outsz)
            goto bad;
        if (at)
            out[at++] = ',';
        memcpy(out + at, s, n);
        at += n;
    }
    out[at] = '\0';
    *types = out;
    return 0;
bad:
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "enabled_events",
                    "enabled_events is an array of 1 to 32 event types");
    return -1;
}

/* The fields of a create or update; -1 with a 400 set. */
static int read_endpoint_in(struct cd_req *req, json_t *body,
                            struct cd_endpoint_in *in, char *types,
                            size_t typesz)
{
    in->enabled = -1;
    if (cd_api_string(req, body, "url", 2048, &in->url) != 0 ||
        cd_api_string(req, body, "description", 1024, &in->description) !=
            0 ||
        read_types(req, body, types, typesz, &in->event_types) != 0)
        return -1;
    if (json_object_get(body, "enabled")) {
        int en;

        if (cd_api_bool(req, body, "enabled", 1, &en) != 0)
            return -1;
        in->enabled = en;
    }
    return 0;
}

static void endpoint_create(struct cd_req *req)
{
    struct cd_endpoint_in in;
    struct cd_webhook_endpoint w;
    char types[CD_OB_TYPES_SZ];
    struct cd_error err;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    if (read_endpoint_in(req, body, &in, types, sizeof(types)) == 0) {
        if (cd_endpoint_create(cd_api_app(req)->billing, &in, &w, &err) != 0)
            cd_reply_error(req, &err);
        else
            cd_reply_json(req, 201, endpoint_json(&w, 1));
    }
    json_decref(body);
}

static void endpoint_update(struct cd_req *req)
{
    struct cd_endpoint_in in;
    struct cd_webhook_endpoint w;
    char types[CD_OB_TYPES_SZ];
    struct cd_error err;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    if (read_endpoint_in(req, body, &in, types, sizeof(types)) == 0) {
        if (cd_endpoint_update(cd_api_app(req)->billing, req->params[0], &in,
                               &w, &err) != 0)
            cd_reply_error(req, &err);
        else
            cd_reply_json(req, 200, endpoint_json(&w, 0));
    }
    json_decref(body);
}

static void endpoint_get(struct cd_req *req)
{
    struct cd_webhook_endpoint w;
    struct cd_error err;

    if (cd_endpoint_get(cd_api_app(req)->billing, req->params[0], &w, &err))
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 200, endpoint_json(&w, 0));
}

static void endpoint_delete(struct cd_req *req)
{
    struct cd_error err;

    if (cd_endpoint_delete(cd_api_app(req)->billing, req->params[0], &err))
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 200,
                      json_pack("{ss ss sb}", "id", req->params[0], "object",
                                "webhook_endpoint", "deleted", 1));
}

static void endpoint_rotate(struct cd_req *req)
{
    struct cd_webhook_endpoint w;
    struct cd_error err;
    json_t *body = req->body_len ? cd_api_body(req) : json_object(), *v;
    int64_t window = CD_ROTATE_WINDOW_DEFAULT;

    if (!body)
        return;
    v = json_object_get(body, "expires_in");
    if (v && !json_is_integer(v)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "expires_in",
                        "expires_in is 0 to 604800 seconds");
        json_decref(body);
        return;
    }
    if (v)
        window = json_integer_value(v);
    json_decref(body);
    if (cd_endpoint_rotate(cd_api_app(req)->billing, req->params[0], window,
                           &w, &err) != 0)
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 200, endpoint_json(&w, 1));
}

static int endpoint_cb(const struct cd_webhook_endpoint *w, void *arg)
{
    return json_array_append_new(arg, endpoint_json(w, 0));
}

static void endpoint_list(struct cd_req *req)
{
    json_t *data = json_array();
    struct cd_error err;

    if (cd_endpoint_list(cd_api_app(req)->billing, endpoint_cb, data, &err) !=
        0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, json_pack("{so}", "data", data));
}

/* ---- deliveries and replays ---------------------------------------------- */

static int delivery_cb(const struct cd_delivery *d, void *arg)
{
    json_t *j = json_pack("{ss ss ss ss sI ss sI}", "object",
                          "event_delivery", "event_id", d->event_id, "type",
                          d->type, "account", d->account_id, "sequence",
                          (json_int_t)d->account_seq, "status", d->status,
                          "attempts", (json_int_t)d->attempts);

    if (!j)
        return -1;
    json_object_set_new(j, "next_attempt_at",
                        strcmp(d->status, "pending") == 0
                            ? cd_api_time(d->next_attempt_at / 1000)
                            : json_null());
    json_object_set_new(j, "last_status",
                        d->last_status ? json_integer(d->last_status)
                                       : json_null());
    json_object_set_new(j, "last_error", cd_api_str_or_null(d->last_error));
    json_object_set_new(j, "created", cd_api_time(d->created_at));
    json_object_set_new(j, "delivered_at", cd_api_time(d->delivered_at));
    return json_array_append_new(arg, j);
}

static void deliveries_list(struct cd_req *req)
{
    int64_t limit, offset;
    struct cd_error err;
    json_t *data;

    if (cd_api_paging(req, 50, &limit, &offset) != 0)
        return;
    data = json_array();
    if (cd_deliveries_list(cd_api_app(req)->billing, req->params[0], limit,
                           offset, delivery_cb, data, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200,
                  json_pack("{so sI sI}", "data", data, "limit",
                            (json_int_t)limit, "offset", (json_int_t)offset));
}

#define REPLAY_IDS_MAX 100

/* event_ids into ids (borrowed from body); -1 with a 400. */
static int read_ids(struct cd_req *req, json_t *arr, const char **ids, int *n)
{
    json_t *v;
    size_t i;

    *n = 0;
    if (!json_is_array(arr) || !json_array_size(arr) ||
        json_array_size(arr) > REPLAY_IDS_MAX)
        goto bad;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);

        if (!s || !*s || strlen(s) >= CD_ID_SZ)
            goto bad;
        ids[(*n)++] = s;
    }
    return 0;
bad:
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "event_ids",
                    "event_ids is an array of 1 to %d event ids",
                    REPLAY_IDS_MAX);
    return -1;
}

static int read_seq(struct cd_req *req, json_t *body, const char *key,
                    int64_t *out)
{
    json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s is a sequence number (>= 1)", key);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static void replay(struct cd_req *req)
{
    const char *ids[REPLAY_IDS_MAX];
    struct cd_replay_in in;
    struct cd_error err;
    int64_t count = 0;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    memset(&in, 0, sizeof(in));
    in.event_ids = ids;
    if (cd_api_string_req(req, body, "endpoint", CD_ID_SZ - 1,
                          &in.endpoint_id) != 0 ||
        cd_api_string(req, body, "account", CD_ID_SZ - 1, &in.account_id) !=
            0)
        goto out;
    if (in.account_id) {
        if (read_seq(req, body, "from_seq", &in.from_seq) != 0 ||
            read_seq(req, body, "to_seq", &in.to_seq) != 0)
            goto out;
        if (!in.from_seq)
            in.from_seq = 1;
    } else if (!json_object_get(body, "event_ids")) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", "event_ids",
                        "give event_ids, or account with from_seq");
        goto out;
    } else if (read_ids(req, json_object_get(body, "event_ids"), ids,
                        &in.nids) != 0) {
        goto out;
    }
    if (cd_events_replay(cd_api_app(req)->billing, &in, &count, &err) != 0)
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 200,
                      json_pack("{ss sI}", "endpoint", in.endpoint_id,
                                "replayed", (json_int_t)count));
out:
    json_decref(body);
}

const struct cd_route cd_api_routes_outbox[] = {
    R("GET", "/v1/events", events_list, CD_ROUTE_SERVER_ACCOUNT),
    R("GET", "/v1/balance_alerts", alerts_get, CD_ROUTE_ACCOUNT),
    R("PUT", "/v1/balance_alerts", alerts_put, CD_ROUTE_ACCOUNT),
    /* Not replayed by Idempotency-Key: the reply holds the signing
     * secret, which is never stored but on the endpoint itself. */
    R("POST", "/v1/admin/webhook_endpoints", endpoint_create, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/webhook_endpoints", endpoint_list, CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/webhook_endpoints/{}", endpoint_get, CD_ROUTE_ADMIN),
    R("POST", "/v1/admin/webhook_endpoints/{}", endpoint_update,
      CD_ROUTE_ADMIN),
    R("DELETE", "/v1/admin/webhook_endpoints/{}", endpoint_delete,
      CD_ROUTE_ADMIN),
    R("POST", "/v1/admin/webhook_endpoints/{}/rotate_secret", endpoint_rotate,
      CD_ROUTE_ADMIN),
    R("GET", "/v1/admin/webhook_endpoints/{}/deliveries", deliveries_list,
      CD_ROUTE_ADMIN),
    R("POST", "/v1/admin/events/replay", replay, CD_ROUTE_ADMIN),
};
const size_t cd_api_routes_outbox_count = sizeof(cd_api_routes_outbox) /
                                          sizeof(cd_api_routes_outbox[0]);
