/*
 * server.c - libmicrohttpd glue; see server.h for the contract.
 *
 * Per request: the first access-handler call gives the request its id,
 * matches the route (so the body cap is known before any byte is read),
 * and refuses at once what can be refused from the head alone: a path
 * holding a control byte, a Transfer-Encoding other than a lone
 * "chunked", a declared body too large to drain; a connection past the
 * connection cap (503 server_busy), a declared body the memory budget
 * cannot hold (503), and what the app's check_head refuses (unless the
 * body is over the cap: that stays a 413). The following calls
 * append body bytes up to the cap; past it they are read and dropped
 * (never stored) up to CD_HTTP_DISCARD_MAX bytes and CD_HTTP_DISCARD_MS,
 * and the reply is a 413 once the client has sent everything, so the
 * client is not writing when it comes. The last call runs the handler and
 * queues its one reply. guard.c holds the deadlines and the budget: the
 * body deadline starts at the first call, none runs while the handler
 * does, the next head's starts at completion. The completion callback
 * closes lingeringly after an early refusal, writes the access-log line
 * and frees everything.
 *
 * Answering later (event-loop mode): a request the app offloads is
 * suspended (MHD_suspend_connection) and queued for the worker pool; the
 * worker runs dispatch, then resumes the connection (MHD_resume_connection
 * from its thread), and libmicrohttpd calls on_request once more, which
 * sees `ready` and queues the reply. A handler's own cd_req_suspend adds a
 * hold; the last of the handler's return and the completions' resumes
 * hands the reply back. In thread-per-connection mode the connection's
 * thread waits on srv->cv instead.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/guard.h"
#include "http/workers.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

/* After a refusal: the most body bytes read and dropped, the longest
 * time spent on it, and how long a lingering close waits for more. */
#define CD_HTTP_DISCARD_MAX (8 * 1024 * 1024)
#define CD_HTTP_DISCARD_MS 10000
#define CD_HTTP_LINGER_IDLE_MS 2000

struct cd_http_server {
    struct MHD_Daemon *daemon;
    struct cd_http_guard *guard;
    struct cd_http_config cfg;
    char name[32];
    int port;
    int bind_errno; /* after a failed start: why bind fails, or 0 */
    int in_flight;  /* requests begun and not completed (atomic) */
    struct cd_http_workers *workers; /* event-loop mode with offload */
    int suspended; /* connections suspended in libmicrohttpd (atomic) */
    /* one thread per connection: where a suspended request's thread
     * waits for cd_req_resume */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct conn_state {
    struct cd_req req;
    struct cd_buf body;
    size_t max_body;
    int too_large;   /* over the cap: the rest is dropped, the reply 413 */
    int replied;     /* refused early: the reply was queued from the head */
    int close_after; /* "Connection: close" on the reply */
    int method_mismatch;
    size_t dropped; /* body bytes read and dropped past the cap */
    int over_budget; /* the body memory budget is spent: 503 at the end */
    size_t held;     /* body bytes taken from the guard's budget */
    /* Answering later (cd_req_suspend): holds counts the handler still
     * running plus the suspends not yet resumed; when it drops to 0 the
     * reply is ready. mhd_suspended: libmicrohttpd was told to suspend
     * (event-loop mode); ready: resumed with the reply set (atomic). */
    struct cd_http_server *srv;
    struct cd_http_work work; /* on the worker pool's queue */
    int holds;
    int mhd_suspended;
    int ready;
};

static void run_offloaded(struct cd_http_work *w);

static struct conn_state *state_of(struct cd_req *r)
{
    return (struct conn_state *)((char *)r - offsetof(struct conn_state,
                                                      req));
}

/* ---- request accessors ------------------------------------------------- */

const char *cd_req_header(const struct cd_req *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn,
                                       MHD_HEADER_KIND, name);
}

const char *cd_req_query(const struct cd_req *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn,
                                       MHD_GET_ARGUMENT_KIND, name);
}

struct query_each {
    int (*fn)(void *cls, const char *name, const char *value);
    void *cls;
    int rc;
};

static enum MHD_Result query_each_one(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct query_each *q = cls;

    (void)kind;
    q->rc = q->fn(q->cls, key ? key : "", value);
    return q->rc ? MHD_NO : MHD_YES;
}

int cd_req_query_each(const struct cd_req *r,
                      int (*fn)(void *cls, const char *name,
                                const char *value),
                      void *cls)
{
    struct query_each q = {fn, cls, 0};

    MHD_get_connection_values((struct MHD_Connection *)r->conn,
                              MHD_GET_ARGUMENT_KIND, query_each_one, &q);
    return q.rc;
}

const char *cd_req_id(const struct cd_req *r)
{
    return r->id;
}

void cd_req_peer(const struct cd_req *r, char *out, size_t outsz)
{
    const union MHD_ConnectionInfo *ci;

    cd_strlcpy(out, "?", outsz);
    ci = MHD_get_connection_info((struct MHD_Connection *)r->conn,
                                 MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET,
                  &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                  out, (socklen_t)outsz);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
                  out, (socklen_t)outsz);
}

/* ---- routing ----------------------------------------------------------- */

/* Matches path against pattern, capturing "{}" segments into req. */
static int match_path(const char *pattern, const char *path,
                      struct cd_req *req)
{
    const char *p = pattern, *s = path;
    int n = 0;

    while (*p) {
        if (p[0] == '*' && p[1] == '\0')
            return 1;
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);

            if (len == 0 || len >= CD_HTTP_PARAM_MAX ||
                n >= CD_HTTP_MAX_PARAMS)
                return 0;
            if (req) {
                memcpy(req->params[n], s, len);
                req->params[n][len] = '\0';
            }
            n++;
            s += len;
            p += 2;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*s)
        return 0;
    if (req)
        req->nparams = n;
    return 1;
}

static const struct cd_route *find_route(const struct cd_http_config *c,
                                         const char *method, const char *path,
                                         struct cd_req *req, int *mismatch)
{
    int path_seen = 0;

    for (size_t i = 0; i < c->nroutes; i++) {
        const struct cd_route *rt = &c->routes[i];

        if (!match_path(rt->pattern, path, NULL))
            continue;
        if (strcmp(rt->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            match_path(rt->pattern, path, req);
            return rt;
        }
        path_seen = 1;
    }
    *mismatch = path_seen;
    return NULL;
}

/* ---- checks on the request head ---------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * libmicrohttpd's percent-decoding (path and query arguments), except that
 * a decoded NUL becomes DEL (0x7f): a C string cannot hold the NUL, and
 * cutting the path there would serve "/app.js" for "/app.js%00.html".
 * DEL is a control byte, so has_control() refuses it with the others.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *r = s, *w = s;
    int hi, lo;

    (void)cls;
    (void)conn;
    while (*r) {
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 &&
            (lo = hex_value(r[2])) >= 0) {
            int byte = hi * 16 + lo;

            *w++ = (char)(byte == 0 ? 0x7f : byte);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

struct te_scan {
    int count;
    const char *value;
};

static enum MHD_Result te_header(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
    struct te_scan *t = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        t->count++;
        t->value = value ? value : "";
    }
    return MHD_YES;
}

/* Whether s (OWS-trimmed, n bytes) is the coding "chunked". */
static int is_chunked(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n == 7 && strncasecmp(s, "chunked", 7) == 0;
}

/*
 * RFC 9112 section 6.1: creditd understands one transfer coding, a lone
 * "chunked". Returns 0 for none or that; else the status to refuse with:
 * 501 when the final coding is chunked but others come first ("gzip,
 * chunked"), 400 when it is not (the body's end cannot be found), when
 * Transfer-Encoding is repeated, or when it comes with Content-Length.
 */
static int te_refusal(struct MHD_Connection *conn)
{
    struct te_scan t = {0, NULL};
    const char *last;

    MHD_get_connection_values(conn, MHD_HEADER_KIND, te_header, &t);
    if (t.count == 0)
        return 0;
    if (t.count > 1 ||
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_CONTENT_LENGTH))
        return 400;
    if (strcasecmp(t.value, "chunked") == 0) /* libmicrohttpd's own test */
        return 0;
    last = strrchr(t.value, ',');
    return last && is_chunked(last + 1, strlen(last + 1)) ? 501 : 400;
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static void add_header(struct MHD_Response *resp, const char *name,
                       const char *value)
{
    if (MHD_add_response_header(resp, name, value) != MHD_YES)
        cd_warn("http", "could not add the %s header", name);
}

/* ---- streamed replies --------------------------------------------------- */

struct stream {
    cd_stream_read_fn read;
    void (*done)(void *cls);
    void *cls;
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    long n = s->read(s->cls, buf, max);

    (void)pos;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;

    s->done(s->cls);
    free(s);
}

/* The response of a streamed reply; the stream is the response's from
 * here on (req->stream_* cleared), even when this fails. */
static struct MHD_Response *stream_response(struct cd_req *req)
{
    struct stream *s = malloc(sizeof(*s));
    struct MHD_Response *resp = NULL;

    if (s) {
        s->read = req->stream_read;
        s->done = req->stream_done;
        s->cls = req->stream_cls;
        resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, s, stream_free);
        if (!resp)
            free(s);
    }
    if (!resp)
        req->stream_done(req->stream_cls);
    req->stream_read = NULL;
    req->stream_done = NULL;
    req->stream_cls = NULL;
    return resp;
}

/*
 * Queues the one reply. Every reply carries Request-Id and nosniff. Every
 * reply is Cache-Control: no-store - API replies hold tokens and private
 * data - unless a successful one set its own (static files); an error
 * always is.
 */
static enum MHD_Result send_reply(struct MHD_Connection *conn,
                                  struct conn_state *st)
{
    struct cd_req *req = &st->req;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int own_cache = 0;

    if (req->status == 0)
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "the handler sent no reply");
    if (req->stream_read) {
        resp = stream_response(req);
    } else {
        resp = MHD_create_response_from_buffer(
            req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            req->resp_body = NULL; /* owned by the response now */
    }
    if (!resp)
        return MHD_NO;
    if (req->content_type[0])
        add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    add_header(resp, "X-Content-Type-Options", "nosniff");
    add_header(resp, "Request-Id", req->id);
    for (int i = 0; i < req->nresp_headers; i++) {
        int cache = strcasecmp(req->resp_headers[i].name,
                               MHD_HTTP_HEADER_CACHE_CONTROL) == 0;

        if (cache && req->status >= 400)
            continue;
        own_cache |= cache;
        add_header(resp, req->resp_headers[i].name,
                   req->resp_headers[i].value);
    }
    if (!own_cache)
        add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (st->close_after)
        add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Refuses the request from its head alone: the reply goes out now, the
 * connection is closed after it, and on_completed lingers. */
static enum MHD_Result refuse_early(struct MHD_Connection *conn,
                                    struct conn_state *st)
{
    st->replied = 1;
    st->close_after = 1;
    st->req.body = "";
    return send_reply(conn, st);
}

/* 503 server_busy: past the connection cap, or no body memory left. */
static void reply_busy(struct cd_req *req, const char *what)
{
    struct cd_error e;

    cd_error_set(&e, CD_EK_UNAVAILABLE, "server_busy", NULL,
                 "the server is busy (%s); retry shortly", what);
    e.retry_after = 1;
    cd_reply_error(req, &e);
}

/* The first call's checks on the head; 0, or 1 when a reply is set. */
static int check_head(struct MHD_Connection *conn, struct conn_state *st)
{
    struct cd_req *req = &st->req;
    int te = te_refusal(conn);

    if (has_control(req->path)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_path", NULL,
                        "the path holds a control character");
        return 1;
    }
    if (te) {
        cd_reply_errorf(req, te == 501 ? CD_EK_NOT_IMPLEMENTED : CD_EK_INVALID,
                        te == 501 ? "unsupported_transfer_encoding"
                                  : "invalid_transfer_encoding",
                        NULL,
                        "Transfer-Encoding must be chunked alone, without "
                        "Content-Length");
        return 1;
    }
    return 0;
}

/* The body cap against Content-Length: over it, the body is dropped as it
 * comes (reply 413 at the end), or refused at once when the client waits
 * for "100 Continue" (it has sent nothing) or declared more than can be
 * drained. 0 go on, 1 refuse now. */
static int check_length(struct MHD_Connection *conn, struct conn_state *st,
                        struct cd_http_guard *guard)
{
    const char *cl = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *expect = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    int64_t clen;

    if (!cl)
        return 0;
    if (cd_parse_int64(cl, 0, INT64_MAX, &clen) == 0 &&
        (uint64_t)clen <= st->max_body) {
        if (cd_http_guard_fits(guard, (size_t)clen))
            return 0;
        cd_http_guard_count(guard, "body_budget");
        reply_busy(&st->req, "request bodies in progress");
        return 1;
    }
    st->too_large = 1;
    st->close_after = 1;
    if (expect || cd_parse_int64(cl, 0, CD_HTTP_DISCARD_MAX, &clen) != 0) {
        cd_reply_errorf(&st->req, CD_EK_TOO_LARGE, "body_too_large", NULL,
                        "request body is larger than %zu bytes",
                        st->max_body);
        return 1;
    }
    return 0;
}

static enum MHD_Result first_call(struct cd_http_server *srv,
                                  struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  void **con_cls)
{
    struct conn_state *st = calloc(1, sizeof(*st));
    struct cd_req *req;
    char id[64];

    if (!st)
        return MHD_NO;
    req = &st->req;
    req->start_us = cd_mono_us();
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->app = srv->cfg.app;
    st->srv = srv;
    st->work.run = run_offloaded;
    cd_random_id("req_", id, sizeof(id));
    id[4 + 16] = '\0'; /* "req_" + 16 of its 24 random characters */
    cd_strlcpy(req->id, id, sizeof(req->id));
    *con_cls = st;
    __atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
    if (cd_http_guard_head(srv->guard, conn)) {
        cd_http_guard_count(srv->guard, "busy");
        reply_busy(req, "too many connections");
        return refuse_early(conn, st);
    }
    if (check_head(conn, st) != 0)
        return refuse_early(conn, st);
    req->route = find_route(&srv->cfg, method, url, req,
                            &st->method_mismatch);
    st->max_body = req->route && req->route->max_body
                       ? req->route->max_body
                       : CD_HTTP_API_BODY_MAX;
    cd_buf_init(&st->body, st->max_body);
    if (check_length(conn, st, srv->guard) != 0)
        return refuse_early(conn, st);
    /* The app's own checks of the head; a body over the cap is a 413
     * whatever they would say. */
    if (!st->too_large && req->route && srv->cfg.check_head &&
        srv->cfg.check_head(req))
        return refuse_early(conn, st);
    return MHD_YES;
}

/* Stops keeping the body: what is held is freed and given back, the
 * rest will be dropped as it comes. */
static void stop_keeping(struct cd_http_server *srv, struct conn_state *st)
{
    st->close_after = 1;
    cd_buf_free(&st->body);
    cd_buf_init(&st->body, st->max_body);
    cd_http_guard_give(srv->guard, st->held);
    st->held = 0;
}

/* A piece of the body: kept up to the cap and within the server's body
 * memory budget, then dropped - within bounds of bytes and time, past
 * which the connection is cut. */
static enum MHD_Result take_upload(struct cd_http_server *srv,
                                   struct conn_state *st, const char *data,
                                   size_t *size)
{
    int dropping = st->too_large || st->over_budget;

    if (!dropping && cd_http_guard_take(srv->guard, *size) != 0) {
        st->over_budget = 1;
        stop_keeping(srv, st);
    } else if (!dropping) {
        st->held += *size;
        if (cd_buf_append(&st->body, data, *size) != 0) {
            st->too_large = 1;
            stop_keeping(srv, st);
        }
    }
    if (st->too_large || st->over_budget) {
        st->dropped += *size;
        if (st->dropped > CD_HTTP_DISCARD_MAX ||
            cd_mono_us() - st->req.start_us > CD_HTTP_DISCARD_MS * 1000LL)
            return MHD_NO;
    }
    *size = 0;
    return MHD_YES;
}

/* The whole request is here: runs what answers it. */
static void answer(struct cd_http_server *srv, struct conn_state *st)
{
    struct cd_req *req = &st->req;

    if (cd_buf_append(&st->body, "", 0) != 0)
        st->too_large = 1;
    req->body = st->body.data ? st->body.data : "";
    req->body_len = st->body.len;
    if (st->too_large) {
        req->body = "";
        req->body_len = 0;
        cd_reply_errorf(req, CD_EK_TOO_LARGE, "body_too_large", NULL,
                        "request body is larger than %zu bytes",
                        st->max_body);
    } else if (st->over_budget) {
        req->body = "";
        req->body_len = 0;
        reply_busy(req, "request bodies in progress");
    } else if (req->route) {
        if (srv->cfg.dispatch)
            srv->cfg.dispatch(req);
        else
            req->route->handler(req);
    } else if (st->method_mismatch) {
        cd_reply_errorf(req, CD_EK_METHOD, "method_not_allowed", NULL,
                        "%s is not allowed on this path", req->method);
    } else if (srv->cfg.fallback) {
        srv->cfg.fallback(req);
    } else {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "not_found", NULL,
                        "no such endpoint");
    }
}

/* ---- answering later ---------------------------------------------------- */

/* The reply is set and nothing holds the request any more: hands it back
 * to the thread that sends it. */
static void wake(struct conn_state *st)
{
    struct cd_http_server *srv = st->srv;

    if (srv->cfg.pool_threads) {
        __atomic_store_n(&st->ready, 1, __ATOMIC_SEQ_CST);
        MHD_resume_connection((struct MHD_Connection *)st->req.conn);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    __atomic_store_n(&st->ready, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* Drops one hold; 1 when it was the last. */
static int release(struct conn_state *st)
{
    return __atomic_sub_fetch(&st->holds, 1, __ATOMIC_SEQ_CST) == 0;
}

void cd_req_suspend(struct cd_req *r)
{
    struct conn_state *st = state_of(r);

    __atomic_add_fetch(&st->holds, 1, __ATOMIC_SEQ_CST);
    /* On the event-loop thread, inside the access handler (a worker's
     * request is suspended already). */
    if (st->srv->cfg.pool_threads && !st->mhd_suspended) {
        st->mhd_suspended = 1;
        __atomic_add_fetch(&st->srv->suspended, 1, __ATOMIC_SEQ_CST);
        MHD_suspend_connection((struct MHD_Connection *)r->conn);
    }
}

void cd_req_resume(struct cd_req *r)
{
    struct conn_state *st = state_of(r);

    if (release(st))
        wake(st);
}

/* A worker runs an offloaded request; the connection is suspended. */
static void run_offloaded(struct cd_http_work *w)
{
    struct conn_state *st =
        (struct conn_state *)((char *)w - offsetof(struct conn_state, work));

    cd_log_set_request_id(st->req.id);
    answer(st->srv, st);
    cd_log_set_request_id(NULL);
    if (release(st))
        wake(st);
}

/* Whether the request goes to the worker pool. */
static int offloaded(struct cd_http_server *srv, struct conn_state *st)
{
    return srv->workers && st->req.route && !st->too_large &&
           !st->over_budget && srv->cfg.offload &&
           srv->cfg.offload(&st->req);
}

/* Runs the request on this thread; its reply is sent now, or later when
 * the handler suspended it. */
static enum MHD_Result answer_here(struct cd_http_server *srv,
                                   struct MHD_Connection *conn,
                                   struct conn_state *st)
{
    st->holds = 1;
    cd_log_set_request_id(st->req.id);
    answer(srv, st);
    cd_log_set_request_id(NULL);
    if (!release(st)) {
        if (srv->cfg.pool_threads)
            return MHD_YES; /* suspended: the completion resumes it */
        pthread_mutex_lock(&srv->mu);
        while (!__atomic_load_n(&st->ready, __ATOMIC_SEQ_CST))
            pthread_cond_wait(&srv->cv, &srv->mu);
        pthread_mutex_unlock(&srv->mu);
    } else if (st->mhd_suspended) {
        /* Suspended, and completed before the handler returned. */
        wake(st);
        return MHD_YES;
    }
    st->ready = 0;
    return send_reply(conn, st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct cd_http_server *srv = cls;
    struct conn_state *st = *con_cls;

    (void)version;
    if (!st)
        return first_call(srv, conn, url, method, con_cls);
    if (__atomic_load_n(&st->ready, __ATOMIC_SEQ_CST)) {
        /* Resumed: the reply is set. */
        st->ready = 0;
        __atomic_sub_fetch(&srv->suspended, 1, __ATOMIC_SEQ_CST);
        return send_reply(conn, st);
    }
    if (st->replied) { /* a reply is queued already: drop what comes */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size)
        return take_upload(srv, st, upload, upload_size);
    cd_http_guard_handling(srv->guard, conn);
    if (offloaded(srv, st)) {
        st->holds = 1;
        st->mhd_suspended = 1;
        __atomic_add_fetch(&srv->suspended, 1, __ATOMIC_SEQ_CST);
        MHD_suspend_connection(conn);
        if (cd_http_workers_submit(srv->workers, &st->work) != 0)
            run_offloaded(&st->work); /* stopping: here, then resume */
        return MHD_YES;
    }
    return answer_here(srv, conn, st);
}

/*
 * RFC 9112 section 9.6: after a reply sent before the body was read, the
 * client may still be sending, and closing with its bytes unread resets
 * the connection - which can destroy the reply before the client reads
 * it. So: half-close, then read and drop until the client closes, at most
 * CD_HTTP_DISCARD_MAX bytes within CD_HTTP_DISCARD_MS, giving up after
 * CD_HTTP_LINGER_IDLE_MS without data. With an epoll pool (may_wait 0)
 * the thread serves other connections: only what has already arrived is
 * dropped.
 */
static void linger_close(struct MHD_Connection *conn, int may_wait)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int64_t deadline = cd_mono_us() + CD_HTTP_DISCARD_MS * 1000LL;
    size_t total = 0;
    char buf[16384];

    if (!ci || ci->connect_fd < 0)
        return;
    shutdown(ci->connect_fd, SHUT_WR);
    while (total < CD_HTTP_DISCARD_MAX) {
        struct pollfd p = {ci->connect_fd, POLLIN, 0};
        int64_t left_ms = (deadline - cd_mono_us()) / 1000;
        ssize_t n;

        if (left_ms <= 0)
            break;
        if (may_wait &&
            poll(&p, 1, (int)(left_ms < CD_HTTP_LINGER_IDLE_MS
                                  ? left_ms
                                  : CD_HTTP_LINGER_IDLE_MS)) <= 0)
            break;
        n = recv(ci->connect_fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            break; /* the client closed, or nothing more for now */
        total += (size_t)n;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct cd_http_server *srv = cls;
    struct conn_state *st = *con_cls;
    int64_t us;

    if (!st)
        return;
    if (st->replied && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        linger_close(conn, srv->cfg.pool_threads == 0);
    us = cd_mono_us() - st->req.start_us;
    if (!srv->cfg.quiet)
        cd_log_access(srv->name, st->req.method,
                      st->req.route ? st->req.route->pattern : st->req.path,
                      st->req.status, (long long)us, st->req.id,
                      toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (srv->cfg.on_complete)
        srv->cfg.on_complete(&st->req, us);
    if (st->req.stream_done) /* a stream never handed to a response */
        st->req.stream_done(st->req.stream_cls);
    cd_http_guard_give(srv->guard, st->held);
    cd_http_guard_done(srv->guard, conn);
    free(st->req.resp_body);
    cd_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
    __atomic_sub_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
}

/* libmicrohttpd's messages; a client that went away (or was cut at a
 * deadline) is the client's doing, logged at debug so that a flood of
 * them costs no more than the flood. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (strstr(msg, "closed by remote side") ||
        strstr(msg, "Connection reset by peer") ||
        strstr(msg, "detected connection closure")) /* the epoll mode's */
        cd_debug((const char *)cls, "mhd: %s", msg);
    else
        cd_warn((const char *)cls, "mhd: %s", msg);
}

/* ---- lifecycle --------------------------------------------------------- */

int cd_http_parse_listen(const char *listen, char *host, size_t hostsz,
                         int *port)
{
    const char *colon;
    int64_t p;
    size_t hlen;

    if (!listen || !*listen)
        return -1;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');

        if (!end || end[1] != ':')
            return -1;
        hlen = (size_t)(end - listen - 1);
        if (hlen == 0 || hlen >= hostsz)
            return -1;
        memcpy(host, listen + 1, hlen);
        host[hlen] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - listen);
        if (hlen >= hostsz)
            return -1;
        memcpy(host, listen, hlen);
        host[hlen] = '\0';
        if (hlen == 0)
            cd_strlcpy(host, "0.0.0.0", hostsz);
        if (strcmp(host, "localhost") == 0)
            cd_strlcpy(host, "127.0.0.1", hostsz);
    }
    if (cd_parse_int64(colon + 1, 0, 65535, &p) != 0)
        return -1;
    *port = (int)p;
    return 0;
}

/* Fills ss for an IP address host (IPv6 adds MHD_USE_IPv6 to flags);
 * 0, or -1 when host is not an IP address. */
static int listen_addr(const char *host, int port,
                       struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
    }
}

static void server_free(struct cd_http_server *srv)
{
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

/* The guard of srv->cfg's caps and deadlines; 0, or -1 (srv freed). */
static int start_guard(struct cd_http_server *srv, struct cd_error *err)
{
    const struct cd_http_config *c = &srv->cfg;
    struct cd_http_guard_config gc = {
        c->max_connections, c->per_address_max, c->header_timeout_s,
        c->body_timeout_s, c->body_budget};

    srv->guard = cd_http_guard_new(&gc, srv->name);
    if (srv->guard)
        return 0;
    cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL,
                 "cannot start the connection guard");
    server_free(srv);
    return -1;
}

/* The worker pool of an event-loop server that offloads; 0, or -1
 * (srv and its guard freed). */
static int start_workers(struct cd_http_server *srv, struct cd_error *err)
{
    const struct cd_http_config *c = &srv->cfg;

    if (!c->pool_threads || !c->offload)
        return 0;
    srv->workers = cd_http_workers_start(c->workers ? c->workers : 64,
                                         srv->name);
    if (srv->workers)
        return 0;
    cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL,
                 "cannot start the HTTP worker threads");
    cd_http_guard_free(srv->guard);
    server_free(srv);
    return -1;
}

/* Why the address cannot be bound: errno of a bind made the way
 * libmicrohttpd makes it (SO_REUSEADDR), or 0 when it can be. */
static int bind_errno(const struct sockaddr_storage *ss)
{
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    int fd = socket(ss->ss_family, SOCK_STREAM, 0), one = 1, e = 0;

    if (fd < 0)
        return errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0)
        e = errno;
    close(fd);
    return e;
}

/*
 * Starts the daemon. The external logger comes first (else libmicrohttpd
 * warns that it is not); the thread pool size is given only for a pool of
 * two or more (libmicrohttpd warns about a zero size). No address reuse
 * beyond libmicrohttpd's default SO_REUSEADDR: with SO_REUSEPORT a second
 * server on the same port would start and silently split the traffic.
 */
static struct MHD_Daemon *start_daemon(struct cd_http_server *srv,
                                       unsigned flags,
                                       struct sockaddr_storage *ss,
                                       const struct cd_http_config *c)
{
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, ss},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)cd_http_guard_notify,
         srv->guard},
        {MHD_OPTION_CONNECTION_LIMIT,
         (intptr_t)cd_http_guard_hard_limit(srv->guard), NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT,
         (intptr_t)(c->timeout_s ? c->timeout_s : 30), NULL},
        {MHD_OPTION_END, 0, NULL}, /* the pool size, when there is one */
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d;

    if (c->pool_threads > 1)
        opts[CD_ARRAY_LEN(opts) - 2] = (struct MHD_OptionItem){
            MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)c->pool_threads, NULL};
    d = MHD_start_daemon(flags, 0, cd_http_guard_accept, srv->guard,
                         on_request, srv,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv->name,
                         MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d)
        srv->bind_errno = bind_errno(ss);
    return d;
}

struct cd_http_server *cd_http_start(const struct cd_http_config *c,
                                     struct cd_error *err)
{
    struct cd_http_server *srv;
    struct sockaddr_storage ss;
    char host[128];
    int port;
    /* ITC: MHD_quiesce_daemon (cd_http_drain) needs it. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC;
    const union MHD_DaemonInfo *di;

    if (cd_http_parse_listen(c->listen, host, sizeof(host), &port) != 0) {
        cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                     "bad listen address '%s' (want host:port)",
                     c->listen ? c->listen : "");
        return NULL;
    }
    if (listen_addr(host, port, &ss, &flags) != 0) {
        cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                     "bad listen host '%s' (want an IP address)", host);
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL, "out of memory");
        return NULL;
    }
    srv->cfg = *c;
    cd_strlcpy(srv->name, c->name ? c->name : "http", sizeof(srv->name));
    if (c->pool_threads) {
        flags &= ~(unsigned)MHD_USE_THREAD_PER_CONNECTION;
        flags |= MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    }
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    if (start_guard(srv, err) != 0)
        return NULL;
    if (start_workers(srv, err) != 0)
        return NULL;
    srv->daemon = start_daemon(srv, flags, &ss, c);
    if (!srv->daemon) {
        int e = srv->bind_errno;

        cd_error_set(err, CD_EK_UNAVAILABLE, "listen_failed", NULL,
                     "cannot listen on %s: %s", c->listen,
                     e == EADDRINUSE
                         ? "the address is already in use (another creditd, "
                           "or another server, is listening there)"
                     : e ? strerror(e)
                         : "libmicrohttpd could not start (see above)");
        cd_http_workers_free(srv->workers);
        cd_http_guard_free(srv->guard);
        server_free(srv);
        return NULL;
    }
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? (int)di->port : port;
    return srv;
}

int cd_http_port(const struct cd_http_server *s)
{
    return s->port;
}

int cd_http_drain(struct cd_http_server *s, int timeout_ms)
{
    int64_t deadline = cd_mono_us() + (int64_t)timeout_ms * 1000;
    MHD_socket fd;
    int left;

    if (!s)
        return 0;
    fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    else
        cd_warn(s->name, "could not stop accepting connections");
    while ((left = __atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST)) > 0 &&
           cd_mono_us() < deadline)
        poll(NULL, 0, 20);
    return left;
}

/* Waits (up to 10 s) until the event-loop threads have taken back every
 * resumed connection. */
static void wait_resumed(struct cd_http_server *s)
{
    int64_t deadline = cd_mono_us() + 10 * 1000000LL;

    while (__atomic_load_n(&s->suspended, __ATOMIC_SEQ_CST) > 0) {
        if (cd_mono_us() > deadline) {
            cd_error(s->name, "%d connections still suspended at stop",
                     __atomic_load_n(&s->suspended, __ATOMIC_SEQ_CST));
            return;
        }
        poll(NULL, 0, 5);
    }
}

void cd_http_stop(struct cd_http_server *s)
{
    if (!s)
        return;
    /* Every offloaded request resumes before the daemon stops:
     * libmicrohttpd refuses to stop with a connection suspended. */
    cd_http_workers_stop(s->workers);
    wait_resumed(s);
    MHD_stop_daemon(s->daemon);
    cd_http_workers_free(s->workers);
    cd_http_guard_free(s->guard);
    server_free(s);
}
