/*
 * api.h - the public HTTP API of API.md: the route table, the dispatch
 * step every route passes (authentication, Creditd-Account, Idempotency-Key)
 * and the helpers handlers share to read JSON bodies and query parameters.
 *
 * A handler parses its request, calls billing/, shapes the reply; it sends
 * exactly one reply (cd_reply_* from http/server.h).
 */
#ifndef CD_API_API_H
#define CD_API_API_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "http/server.h"
#include "util/url.h"

/* Route flags (struct cd_route.flags). Exactly one auth kind. */
#define CD_ROUTE_PUBLIC 0x00u
/* Account token, or server key + "Creditd-Account: acct_..." */
#define CD_ROUTE_ACCOUNT 0x01u
/* Server key + Creditd-Account only (debits, grants); a token is 403. */
#define CD_ROUTE_SERVER_ACCOUNT 0x02u
/* Server key only (the /v1/admin routes); a token is 403. */
#define CD_ROUTE_ADMIN 0x04u
/* Any valid token (logout): the token itself is the subject. */
#define CD_ROUTE_TOKEN 0x08u
/* A mutating POST that honours Idempotency-Key. */
#define CD_ROUTE_IDEMPOTENT 0x10u
/* A Stripe webhook: its Stripe-Signature header is checked from the head
 * (cd_api_check_head), before the body is read. */
#define CD_ROUTE_STRIPE_SIGNED 0x20u
/* With CD_ROUTE_IDEMPOTENT: the effect is a pure database write, so the
 * handler hands the prepared claim (cd_api_ctx.idem_claim) to billing,
 * and claim, effect and stored reply are one write job (cd_idem_once). */
#define CD_ROUTE_IDEM_ONE_JOB 0x40u
/* The handler never waits for a write: it answers from its job's
 * completion (cd_req_defer; with a key, a CD_ROUTE_IDEM_ONE_JOB route's
 * claim too), and reads only - or, learning from the body that it must
 * block, hands the rest to a worker (cd_req_offload). Where reads stay on the event-loop threads
 * (SQLite: CREDITD_HTTP_OFFLOAD auto or writes) it runs there, not on a
 * worker: cd_api_offload. */
#define CD_ROUTE_DEFERS 0x80u

/* The process-wide state handlers reach through req->app. */
#define CD_MAX_PROXIES 16

struct cd_app {
    struct cd_billing *billing;
    char admin_key[256]; /* "" = no server key configured */
    char web_dir[1024];  /* static UI files */
    int64_t
        auth_rate_limit; /* signup/login requests per address a minute; 0: off */
    int64_t
        checkout_rate_limit; /* checkouts, top-ups, payment intents per account a minute; 0: off */
    int64_t
        discount_rate_limit; /* discount codes tried per account and per address a minute; 0: off */
    /* CREDITD_TRUSTED_PROXIES: peers whose X-Forwarded-For is believed
     * (canonical text, cd_ip_normalize). */
    char trusted_proxies[CD_MAX_PROXIES][CD_IP_SZ];
    int ntrusted_proxies;
    int offload_all; /* CREDITD_HTTP_OFFLOAD=all: reads on workers too */
};

struct cd_idem_claim;

/* Per-request state the dispatch step fills; handlers read it through
 * cd_api_ctx(req). */
struct cd_api_ctx {
    int is_server;             /* authenticated with the server key */
    int has_account;           /* account is valid */
    int via_cookie;            /* the web UI's session cookie (session.c) */
    struct cd_account account; /* the account in scope */
    char token_hash[65];       /* for CD_ROUTE_TOKEN routes */
    /* The request's Idempotency-Key on a CD_ROUTE_IDEMPOTENT route, or
     * NULL; idem_scope is the caller's scope for it ("server",
     * "server:acct_...", "acct_..." or "public"). Handlers key their
     * effects with both (ledger ref "idem:<scope>:<key>"), so even a crash
     * between the effect and the key's completion never repeats it. */
    const char *idem_key;
    char idem_scope[CD_IDEM_SCOPE_SZ];
    /* CD_ROUTE_IDEM_ONE_JOB routes with a key: the claim, prepared
     * (scope, key, fingerprint) but not yet made. A handler that passes
     * it to billing renders its reply through the completion billing
     * calls inside the job; dispatch answers a replay or a 409 after. */
    struct cd_idem_claim *idem_claim;
    /* Set by a handler that took idem_claim and answers from a
     * completion (cd_req_defer): dispatch leaves the claim and the reply
     * to it. */
    int idem_deferred;
};

struct cd_api_ctx *cd_api_ctx(struct cd_req *req);

/*
 * The id of the order or refund this request creates when it carries an
 * Idempotency-Key: prefix + a name derived from its scope and key, the same
 * for every attempt (billing/idempotency.h). NULL without a key (the
 * billing layer then makes a random one).
 */
const char *cd_api_effect_id(struct cd_req *req, const char *prefix,
                             char *out, size_t outsz);
struct cd_app *cd_api_app(struct cd_req *req);
/* The request's account into *out; without one replies 401
 * unauthenticated and returns -1. */
int cd_api_require_account(struct cd_req *req, struct cd_api_ctx **out);

/* Route tables, one per api/ file group; routes.c joins them. */
extern const struct cd_route cd_api_routes_core[];
extern const size_t cd_api_routes_core_count;
/* checkout.c: /v1/checkout, /v1/checkout/{}, /v1/topups,
 * /v1/payment_intents. */
extern const struct cd_route cd_api_routes_checkout[];
extern const size_t cd_api_routes_checkout_count;
/* orders.c: the account's GET /v1/orders and GET /v1/payments. */
extern const struct cd_route cd_api_routes_orders[];
extern const size_t cd_api_routes_orders_count;
/* subscription.c: /v1/subscription (get, cancel, resume) and
 * /v1/billing_portal. */
extern const struct cd_route cd_api_routes_subscription[];
extern const size_t cd_api_routes_subscription_count;
/* webhook.c: POST /v1/webhooks/stripe. */
extern const struct cd_route cd_api_routes_webhook[];
extern const size_t cd_api_routes_webhook_count;
/* holds.c: /v1/holds (create, capture, release, list, get). */
extern const struct cd_route cd_api_routes_holds[];
extern const size_t cd_api_routes_holds_count;
/* autotopup.c: GET and PUT /v1/auto_topup. */
extern const struct cd_route cd_api_routes_autotopup[];
extern const size_t cd_api_routes_autotopup_count;
/* lots.c: GET /v1/lots. */
extern const struct cd_route cd_api_routes_lots[];
extern const size_t cd_api_routes_lots_count;
/* ops.c: POST /v1/admin/reconcile and GET /metrics (server key). */
extern const struct cd_route cd_api_routes_ops[];
extern const size_t cd_api_routes_ops_count;
/* outbox.c: events, balance alerts, webhook endpoints, replays. */
extern const struct cd_route cd_api_routes_outbox[];
extern const size_t cd_api_routes_outbox_count;
/* ops.c: only GET /metrics, without auth, for the loopback listener of
 * CREDITD_METRICS_LISTEN (a cd_http_config without dispatch). */
extern const struct cd_route cd_api_routes_metrics[];
extern const size_t cd_api_routes_metrics_count;

/* GET /metrics: the process's metrics in Prometheus text format 0.0.4. */
void cd_api_metrics(struct cd_req *req);
/* cd_http_config.on_complete of the API server: counts the request and
 * its latency by route pattern, method and status. */
void cd_api_observe(const struct cd_req *req, int64_t micros);

/* The whole table (built once), and the dispatch function to put in
 * cd_http_config.dispatch. */
const struct cd_route *cd_api_routes(size_t *count);
void cd_api_dispatch(struct cd_req *req);
/* cd_http_config.offload: whether a request may wait (on a commit, on
 * Stripe, on argon2) and so runs on a worker thread: every method but GET
 * and HEAD, except CD_ROUTE_DEFERS routes (they answer from the commit and
 * never wait), and the admin routes (verify and the reports scan). Reads
 * of the account routes stay on the event-loop thread
 * (docs/ARCHITECTURE.md, "Threading (measured)"); with app->offload_all,
 * every request. */
int cd_api_offload(const struct cd_req *req);
/* cd_http_config.check_head: the checks that need the head alone - a
 * body's Content-Type (415 unless JSON or absent), then what the route's
 * flags ask for; nonzero when it set a refusal (head.c). */
int cd_api_check_head(struct cd_req *req);
/* The webhook's: a missing or malformed Stripe-Signature (webhook.c). */
int cd_api_webhook_head(struct cd_req *req);
/* Serves the static UI from app->web_dir (cd_http_config.fallback). */
void cd_api_static(struct cd_req *req);

/*
 * Parses the request body as a JSON object (new reference). On failure
 * (empty, malformed, not an object) replies 400 and returns NULL.
 */
json_t *cd_api_body(struct cd_req *req);

/*
 * Reads an amount field: a JSON integer in 1..10^12. Missing, zero,
 * negative, fractional, string or too large -> replies 400 invalid_amount
 * (param = key) and returns -1.
 */
int cd_api_amount(struct cd_req *req, json_t *body, const char *key,
                  int64_t *out);

/*
 * Optional string field: absent or null -> *out = NULL, 0. A non-string,
 * or a string longer than max bytes (or with control characters) ->
 * replies 400 and returns -1. *out is borrowed from body.
 */
int cd_api_string(struct cd_req *req, json_t *body, const char *key,
                  size_t max, const char **out);
/* Required string: like cd_api_string but absent -> 400 missing_param. */
int cd_api_string_req(struct cd_req *req, json_t *body, const char *key,
                      size_t max, const char **out);
/* Optional time field: absent or null -> *out = 0, 0. Anything but a
 * strict RFC 3339 string (cd_time_parse_rfc3339) for an instant after
 * 1970-01-01T00:00:00Z and up to 9999-12-31T23:59:59Z -> replies 400
 * invalid_param and returns -1. (0 is "no time" in the store.) */
int cd_api_time_field(struct cd_req *req, json_t *body, const char *key,
                      int64_t *out);
/* Optional boolean: absent -> *out = dflt; wrong type -> 400. */
int cd_api_bool(struct cd_req *req, json_t *body, const char *key, int dflt,
                int *out);

/* ?limit= (1..100, default dflt) and ?offset= (>= 0, default 0); bad
 * values -> replies 400 and returns -1. */
int cd_api_paging(struct cd_req *req, int64_t dflt, int64_t *limit,
                  int64_t *offset);
/* ?starting_after= of an account's own list (GET /v1/transactions,
 * /v1/orders, /v1/payments): absent (*after NULL), or an id of
 * 1..CD_ID_SZ - 1 printable bytes, never with ?offset= (one way of paging
 * a request); what names the row in the 400 ("starting_after names no
 * <what> of this account"). 0, or -1 with a 400 reply. */
int cd_api_starting_after(struct cd_req *req, const char *what,
                          const char **after);
/* {"data": data (stolen), "total", "limit", "offset"} */
json_t *cd_api_list(json_t *data, int64_t total, int64_t limit,
                    int64_t offset);

/* RFC 3339 string for t, or JSON null when t is 0 (new reference). A t
 * outside 1970..9999 is shown clamped to that range (cd_time_rfc3339). */
json_t *cd_api_time(int64_t t);
/* JSON string, or null for "" (new reference). */
json_t *cd_api_str_or_null(const char *s);
/* The Order object of API.md (new reference). */
json_t *cd_api_order_json(const struct cd_order *o);
/* API.md's Payment object (new reference); NULL when out of memory. */
json_t *cd_api_payment_json(const struct cd_payment *p);
/* The Account object of API.md (new reference). */
json_t *cd_api_account_json(const struct cd_account *a);

#endif
