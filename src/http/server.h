/*
 * server.h - libmicrohttpd glue: a static route table, capped request
 * bodies, one reply per request, the JSON error shape, and one access-log
 * line per request (method, route pattern - or the path when no route
 * matched, e.g. a static page - status, microseconds, request id; never
 * the query string, a header value or a body).
 *
 * Every request gets a random id ("req_" + 16 characters), sent back as
 * the Request-Id header of every reply and as error.request_id. Every
 * reply is Cache-Control: no-store unless a successful one sets its own.
 * Refused before any handler runs: a path holding a control byte once
 * decoded (400 invalid_path), a Transfer-Encoding other than a lone
 * "chunked" (400/501), a body over the route's cap (413, see server.c for
 * how the rest of the body is drained). A path some route has, with
 * another method, is 405 method_not_allowed with an Allow header listing
 * the path's methods (HEAD wherever GET is); no route at all is the
 * fallback, else 404 not_found.
 *
 * Flood limits (http/guard.h): connections per address, deadlines for
 * the head and the body, 503 server_busy past the connection cap, a
 * memory budget for unfinished bodies; cd_http_config.check_head lets the
 * app refuse from the head alone (the webhook's Stripe-Signature).
 *
 * Threading. By default a few event-loop threads (libmicrohttpd's epoll
 * mode with an internal thread pool, pool_threads of them) read requests
 * and send replies; they never block. A request the app's offload()
 * picks (writes, Stripe calls, argon2: anything that may wait) runs on a
 * bounded worker pool (http/workers.h) while its connection is suspended,
 * and the connection resumes with the reply set. A handler may also answer
 * later from any thread: cd_req_suspend(), then set the reply and
 * cd_req_resume(). pool_threads 0 is the old mode, one thread per
 * connection (MHD_USE_THREAD_PER_CONNECTION), where everything runs on the
 * connection's thread. docs/ARCHITECTURE.md has the numbers.
 */
#ifndef CD_HTTP_SERVER_H
#define CD_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CD_HTTP_API_BODY_MAX (64 * 1024)       /* default body cap */
#define CD_HTTP_WEBHOOK_BODY_MAX (1024 * 1024) /* the webhook route's cap */
#define CD_HTTP_MAX_PARAMS 4
#define CD_HTTP_PARAM_MAX 256
#define CD_HTTP_MAX_RESP_HEADERS 8
#define CD_HTTP_REQ_ID_SZ 24

struct cd_req;
typedef void (*cd_handler_fn)(struct cd_req *req);

/* A streamed reply's source: writes up to max bytes into buf and returns
 * how many; 0 at the end; -1 on an error (the connection is then cut, so
 * the client sees an unfinished chunked body, never a short success). */
typedef long (*cd_stream_read_fn)(void *cls, char *buf, size_t max);

/*
 * A route. The pattern is a path whose "{}" segments match one non-empty
 * segment each (captured, percent-decoded, into req->params) - e.g.
 * "/v1/checkout/{}". A trailing "*" matches the rest of the path (for
 * static files). flags mean nothing to this layer; the app's dispatch
 * function reads them (auth kind, idempotency).
 */
struct cd_route {
    const char *method;
    const char *pattern;
    cd_handler_fn handler;
    unsigned flags;
    size_t max_body; /* 0: CD_HTTP_API_BODY_MAX */
};

struct cd_req {
    const char *method;
    const char *path; /* without the query string */
    const struct cd_route *route;
    char params[CD_HTTP_MAX_PARAMS][CD_HTTP_PARAM_MAX];
    int nparams;
    const char *body; /* raw bytes, NUL-terminated, body_len long */
    size_t body_len;
    void *app;                  /* cd_http_config.app */
    void *ctx;                  /* free for the app's dispatch function */
    char id[CD_HTTP_REQ_ID_SZ]; /* "req_" + 16 random characters */

    /* The reply, set by exactly one cd_reply_* call. */
    int status;
    char *resp_body; /* owned (malloc) */
    size_t resp_len;
    char content_type[64];
    struct {
        char name[64];
        char value[512];
    } resp_headers[CD_HTTP_MAX_RESP_HEADERS];
    int nresp_headers;
    /* A streamed reply (cd_reply_stream) instead of resp_body: read is
     * called as the client takes the bytes, done(cls) once at the end. */
    cd_stream_read_fn stream_read;
    void (*stream_done)(void *cls);
    void *stream_cls;

    /* private */
    void *conn;
    int64_t start_us;
};

/* Request header (case-insensitive name) or query argument; NULL if absent.
 * Borrowed: valid during the request. */
const char *cd_req_header(const struct cd_req *r, const char *name);
const char *cd_req_query(const struct cd_req *r, const char *name);
/* Every value of the header field name, in the order sent (a list field
 * such as X-Forwarded-For may come on several lines), into vals - the
 * last max of them when there are more. Returns how many there are. */
int cd_req_header_values(const struct cd_req *r, const char *name,
                         const char **vals, int max);
/* When the request holds the field of one of names (NULL-terminated, at
 * most 32) more than once: replies 400 duplicate_header naming it and
 * returns 1; else 0. HTTP's own fields that may come once are refused so
 * before routing; an app checks its own from its check_head. */
int cd_req_refuse_repeated(struct cd_req *r, const char *const *names);
/* Calls fn for each query argument (decoded name, value: NULL for a bare
 * "?name") in order until it returns nonzero; returns that value or 0. */
int cd_req_query_each(const struct cd_req *r,
                      int (*fn)(void *cls, const char *name,
                                const char *value),
                      void *cls);
/* The request's id ("req_..."), sent as the Request-Id header of its
 * reply, in its access-log line and as error.request_id. Borrowed. */
const char *cd_req_id(const struct cd_req *r);
/* Remote IP address as text ("127.0.0.1"); out holds >= 64 bytes. */
void cd_req_peer(const struct cd_req *r, char *out, size_t outsz);

/* Sets the reply; body is copied (len 0: no body, e.g. a 204). Replacing
 * an earlier reply frees it. Out of memory: a 500 internal_error. */
void cd_reply(struct cd_req *r, int status, const char *content_type,
              const void *body, size_t len);
/* JSON reply; steals body (json_decref'd here). A NULL body (a json_pack
 * that ran out of memory) or one that cannot be serialised is a 500
 * internal_error, never an empty success. */
void cd_reply_json(struct cd_req *r, int status, json_t *body);
/* API.md error shape from e, plus "request_id"; status and type from
 * error_codes.h for a code of its table, else from e->kind. */
void cd_reply_error(struct cd_req *r, const struct cd_error *e);
/* The same, with one more string field key:value inside "error" (e.g. the
 * id of the account a 409 collided with). */
void cd_reply_error_with(struct cd_req *r, const struct cd_error *e,
                         const char *key, const char *value);
void cd_reply_errorf(struct cd_req *r, enum cd_error_kind kind,
                     const char *code, const char *param, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
/* A reply whose body is produced while it is sent (chunked), for bodies
 * too large to hold: read(cls, ...) gives the bytes, done(cls) is called
 * exactly once - after the last byte, when the client goes away, or when
 * a later cd_reply_* replaces this one. */
void cd_reply_stream(struct cd_req *r, int status, const char *content_type,
                     cd_stream_read_fn read, void (*done)(void *cls),
                     void *cls);
/* Adds a response header (up to CD_HTTP_MAX_RESP_HEADERS). */
void cd_reply_header(struct cd_req *r, const char *name, const char *value);

/*
 * Answering later. A handler calls cd_req_suspend(r) before it hands the
 * request to something that completes on another thread (a job with a
 * completion), and returns; the connection waits, costing no thread. The
 * completion sets the reply (cd_reply_*) and calls cd_req_resume(r) once,
 * from any thread; r must not be touched after that. If the completion
 * runs before the handler has returned, the reply goes out when it
 * returns. Several suspends need as many resumes.
 */
void cd_req_suspend(struct cd_req *r);
void cd_req_resume(struct cd_req *r);

/*
 * Answering from a completion, the reply built on an HTTP thread. A
 * handler calls cd_req_defer(r), hands its work to something that
 * completes on another thread (a store job with a completion: store.h
 * cd_store_submit), and returns; the connection waits, costing no thread.
 * The completion calls cd_req_complete(r, finish, arg) once, from any
 * thread; finish(r, arg) then runs on an HTTP thread - the connection's event-loop
 * thread (or its own thread in thread-per-connection mode), never the
 * completing one - sets the reply (cd_reply_*), and the reply is sent
 * when it returns. If the client went away meanwhile, finish still runs,
 * exactly once, and its reply is dropped: it frees what the handler left
 * for it. finish must not block (no store, no Stripe). r must not be
 * touched by the completing thread after cd_req_complete. cd_http_stop
 * waits (without a bound) until every deferred request is completed;
 * cd_http_stop_within gives up at its bound and frees nothing.
 */
typedef void (*cd_req_finish_fn)(struct cd_req *r, void *arg);
void cd_req_defer(struct cd_req *r);
void cd_req_complete(struct cd_req *r, cd_req_finish_fn finish, void *arg);

/*
 * Blocking after all. A handler running on an event-loop thread that
 * learns from the body that the rest of its work may block (the store,
 * Stripe) calls cd_req_offload(r, rest, arg) and returns: rest(r, arg)
 * runs on a worker of the pool, sets the reply as a handler would, and
 * the reply is sent when it returns. Where this thread may block already
 * (a worker, thread-per-connection mode) rest runs here and now. Call it
 * at most once, before any cd_req_suspend/cd_req_defer, as the handler's
 * last step; r->ctx is gone by the time rest runs.
 */
void cd_req_offload(struct cd_req *r, cd_req_finish_fn rest, void *arg);

struct cd_http_config {
    const char *name;   /* for log lines: "api", "sandbox" */
    const char *listen; /* "127.0.0.1:8080"; port 0 picks a free port */
    const struct cd_route *routes;
    size_t nroutes;
    void *app;
    /* When set, called for every matched route instead of route->handler
     * (it calls route->handler itself after its checks). */
    cd_handler_fn dispatch;
    /* When set, called for every matched route as soon as its head is in,
     * before any body byte is read (req->body is NULL): nonzero when it
     * set a refusal, which is sent at once (the body is never read). */
    int (*check_head)(struct cd_req *req);
    /* When set, called for requests no route matches (else 404). */
    cd_handler_fn fallback;
    /* When set, called once per finished request (after the reply, before
     * the request is freed) with its duration in microseconds: metrics.
     * req is borrowed for the call. */
    void (*on_complete)(const struct cd_req *req, int64_t micros);
    /* Flood limits (http/guard.h); 0 means off, except max_connections.
     * Past max_connections a request is answered 503 server_busy (up to
     * an overflow of max/8, at least 16, then closed at accept). */
    unsigned max_connections;  /* 0: 1024 */
    unsigned per_address_max;  /* open connections per client address */
    unsigned header_timeout_s; /* the head, from accept or previous end */
    unsigned body_timeout_s;   /* the body, from the end of the head */
    size_t body_budget;        /* bytes held by unfinished bodies, all */
    unsigned timeout_s;        /* idle connection timeout; 0: 30 */
    int quiet;                 /* no access log */
    /* 0: one thread per connection; N > 0: N event-loop threads (epoll),
     * see the file comment. */
    unsigned pool_threads;
    /* With pool_threads: the worker threads that run offloaded requests
     * (0: 64), and the app's choice, called on the event-loop thread for
     * each matched route once its body is in: nonzero runs dispatch (or
     * the handler) on a worker, the connection suspended meanwhile. NULL:
     * everything runs on the event-loop thread. */
    unsigned workers;
    int (*offload)(const struct cd_req *req);
};

struct cd_http_server;

/* Starts listening; NULL with err filled on failure (bad address, port in
 * use). */
struct cd_http_server *cd_http_start(const struct cd_http_config *c,
                                     struct cd_error *err);
/* The port actually bound. */
int cd_http_port(const struct cd_http_server *s);
/* Stops accepting connections (the listen socket closes) and waits up to
 * timeout_ms for the requests already begun to complete (their replies
 * sent). Returns how many are still in flight (0: drained). */
int cd_http_drain(struct cd_http_server *s, int timeout_ms);

/* Stops the worker pool (what is queued still runs and resumes), waits
 * (without a bound) for every deferred request's cd_req_complete, then
 * stops the daemon, and frees. A request suspended by cd_req_suspend must
 * have been resumed by then. */
void cd_http_stop(struct cd_http_server *s);
/* Deferred requests (cd_req_defer) not yet completed. */
int cd_http_deferred(const struct cd_http_server *s);
/* cd_http_stop with a bound on the wait for deferred requests (timeout_ms
 * < 0: none). Returns 0 when stopped and freed. At the bound it logs and
 * returns how many deferred requests it abandoned, having stopped only
 * the worker pool: nothing a late completion may still touch is freed,
 * the daemon keeps running. The caller then exits (or, once they are
 * completed, calls cd_http_stop). */
int cd_http_stop_within(struct cd_http_server *s, int timeout_ms);

/* Splits "host:port" (or ":port", "[::1]:port"); 0 or -1. */
int cd_http_parse_listen(const char *listen, char *host, size_t hostsz,
                         int *port);

#endif
