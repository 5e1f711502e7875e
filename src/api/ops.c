/*
 * ops.c - the operator's routes: POST /v1/admin/orders/{id}/refund (a
 * Stripe refund; credits come off when charge.refunded arrives), POST
 * /v1/admin/reconcile (run reconciliation now), GET /metrics (Prometheus text format 0.0.4, server
 * key as bearer token, or open on the separate loopback listener of
 * CREDITD_METRICS_LISTEN), and the per-request hook that counts requests
 * and their latency by route pattern (never by raw path, so the label set
 * stays bounded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "billing/reconcile.h"
#include "billing/problems.h"
#include "billing/refunds.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/util.h"

#define METRICS_MAX (8u * 1024 * 1024)
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const struct cd_metric_def M_HTTP = {
    "creditd_http_requests_total",
    "HTTP requests by route pattern, method and status.",
    CD_METRIC_COUNTER,
    {"route", "method", "status"},
    NULL,
    0};
static const double LATENCY_BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,  0.1,    0.25,  0.5,
                                        1,      2.5,   5};
static const struct cd_metric_def M_LATENCY = {
    "creditd_http_request_duration_seconds",
    "HTTP request latency (first byte in to reply queued) by route pattern.",
    CD_METRIC_HISTOGRAM,
    {"route"},
    LATENCY_BOUNDS,
    CD_ARRAY_LEN(LATENCY_BOUNDS)};

/* ---- POST /v1/admin/orders/{id}/refund ---------------------------------- */

static void handle_refund(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_refund_result res;
    struct cd_error err;
    char refund_id[CD_ID_SZ];
    int64_t amount = 0;
    json_t *body, *v;

    body = req->body_len > 0 ? cd_api_body(req) : json_object();
    if (!body)
        return;
    v = json_object_get(body, "amount_cents");
    if (v && !json_is_null(v) &&
        cd_api_amount(req, body, "amount_cents", &amount) != 0)
        goto out;
    cd_error_clear(&err);
    if (cd_refund_create(
            b, req->nparams > 0 ? req->params[0] : "", amount,
            cd_api_effect_id(req, "rfd_", refund_id, sizeof(refund_id)), &res,
            &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 202,
                  json_pack("{s:s, s:s, s:I, s:s}", "order_id", res.order_id,
                            "refund_id", res.refund_id, "amount_cents",
                            (json_int_t)res.amount_cents, "status",
                            res.status));
out:
    json_decref(body);
}

/* ---- GET /v1/admin/problems --------------------------------------------- */

static int problem_cb(const struct cd_problem *p, void *arg)
{
    json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "id", p->id,
                       "kind", p->kind, "order_id", p->order_id, "account_id",
                       cd_api_str_or_null(p->account_id), "event_id",
                       cd_api_str_or_null(p->event_id), "detail", p->detail,
                       "created_at", cd_api_time(p->created_at)));
    return 0;
}

static void handle_problems(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    int64_t limit, offset, total = 0;
    struct cd_error err;
    json_t *data;

    if (cd_api_paging(req, 20, &limit, &offset) != 0)
        return;
    data = json_array();
    if (cd_problems_list(b, limit, offset, problem_cb, data, &total, &err) !=
        0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_list(data, total, limit, offset));
}

/* ---- POST /v1/admin/reconcile ------------------------------------------ */

static void handle_reconcile(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    struct cd_reconcile_result res;
    struct cd_error err;

    cd_error_clear(&err);
    if (cd_reconcile_run(b, &res, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200,
                  json_pack("{s:I, s:I, s:I, s:I}", "events_seen",
                            (json_int_t)res.events_seen, "events_applied",
                            (json_int_t)res.events_applied, "orders_checked",
                            (json_int_t)res.orders_checked, "orders_fixed",
                            (json_int_t)res.orders_fixed));
}

/* ---- GET /metrics ------------------------------------------------------ */

static int write_one(struct cd_buf *out, const char *name, const char *help,
                     const char *type, double v)
{
    if (cd_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help,
                       name, type, name) != 0 ||
        cd_metrics_write_value(out, v) != 0)
        return -1;
    return cd_buf_appends(out, "\n");
}

/* The store's group-commit figures, read at scrape time. */
static int write_store(struct cd_buf *out, struct cd_store *s)
{
    /* cd_store_stats.batch_hist: [0]=1, [1]=2-3, [2]=4-7, ... [9]=512+ */
    static const double bounds[] = {1, 3, 7, 15, 31, 63, 127, 255, 511};
    struct cd_store_stats st;

    cd_store_get_stats(s, &st);
    if (cd_metrics_write_histogram(
            out, "creditd_store_batch_size",
            "Jobs per group commit (one transaction, one fsync).", bounds,
            st.batch_hist, CD_ARRAY_LEN(bounds), (double)st.jobs) != 0 ||
        write_one(out, "creditd_store_commits_total",
                  "Write batches committed.", "counter",
                  (double)st.commits) != 0 ||
        write_one(out, "creditd_store_jobs_total", "Write jobs run.",
                  "counter", (double)st.jobs) != 0 ||
        write_one(out, "creditd_store_failed_jobs_total",
                  "Write jobs rolled back.", "counter",
                  (double)st.failed_jobs) != 0 ||
        write_one(out, "creditd_store_retries_total",
                  "Write transactions run again after losing to another "
                  "writer (serialization failure, deadlock, lock timeout).",
                  "counter", (double)st.retries) != 0 ||
        write_one(out, "creditd_store_queue_depth",
                  "Write jobs waiting for a writer.", "gauge",
                  (double)cd_store_queue_depth(s)) != 0 ||
        write_one(out, "creditd_store_writers",
                  "Writer threads, each with its own database connection.",
                  "gauge", (double)cd_store_writers(s)) != 0)
        return -1;
    return 0;
}

void cd_api_metrics(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_buf out;
    char *text;
    size_t len = 0;

    cd_buf_init(&out, METRICS_MAX);
    /* Registered up front so they show (at 0 series) before any traffic. */
    cd_metrics_register(NULL, &M_HTTP);
    cd_metrics_register(NULL, &M_LATENCY);
    if (cd_metrics_render(NULL, &out) != 0 ||
        write_store(&out, app->billing->store) != 0 ||
        write_one(&out, "creditd_test_clock_offset_seconds",
                  "Seconds this server's clock runs ahead of the system's "
                  "(CREDITD_TEST_CLOCK_OFFSET: tests only, 0 in production).",
                  "gauge", (double)cd_clock_offset()) != 0) {
        cd_buf_free(&out);
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "The metrics could not be rendered.");
        return;
    }
    text = cd_buf_take(&out, &len);
    cd_reply(req, 200, METRICS_CONTENT_TYPE, text ? text : "", len);
    free(text);
    cd_reply_header(req, "Cache-Control", "no-store");
}

/* ---- request metrics --------------------------------------------------- */

static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET",    "HEAD",  "POST",   "PUT",
                                        "DELETE", "PATCH", "OPTIONS"};

    for (size_t i = 0; m && i < CD_ARRAY_LEN(known); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

void cd_api_observe(const struct cd_req *req, int64_t micros)
{
    const char *route = req->route ? req->route->pattern : "(fallback)";
    char status[16];

    if (req->status <= 0)
        return; /* the client left before there was an answer */
    snprintf(status, sizeof(status), "%d", req->status);
    cd_metrics_add(NULL, &M_HTTP, 1, route, method_label(req->method),
                   status);
    cd_metrics_observe(NULL, &M_LATENCY, (double)micros / 1e6, route, NULL,
                       NULL);
}

const struct cd_route cd_api_routes_ops[] = {
    {"POST", "/v1/admin/orders/{}/refund", handle_refund,
     CD_ROUTE_ADMIN | CD_ROUTE_IDEMPOTENT, 0},
    {"POST", "/v1/admin/reconcile", handle_reconcile,
     CD_ROUTE_ADMIN | CD_ROUTE_IDEMPOTENT, 0},
    {"GET", "/v1/admin/problems", handle_problems, CD_ROUTE_ADMIN, 0},
    {"GET", "/metrics", cd_api_metrics, CD_ROUTE_ADMIN, 0},
};
const size_t cd_api_routes_ops_count = CD_ARRAY_LEN(cd_api_routes_ops);

/* The CREDITD_METRICS_LISTEN listener: loopback only, no auth, no
 * dispatch - this one route. */
const struct cd_route cd_api_routes_metrics[] = {
    {"GET", "/metrics", cd_api_metrics, CD_ROUTE_PUBLIC, 0},
};
const size_t cd_api_routes_metrics_count = CD_ARRAY_LEN(
    cd_api_routes_metrics);
