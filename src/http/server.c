/*
 * server.c - libmicrohttpd glue; see server.h for the contract. The
 * request accessors, routing and head checks are in server_req.c, start
 * and stop in server_start.c (server_int.h).
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
 * from its thread), and libmicrohttpd calls cd_http_on_request once more, which
 * sees `ready` and queues the reply. A handler's own cd_req_suspend adds a
 * hold; the last of the handler's return and the completions' resumes
 * hands the reply back. In thread-per-connection mode the connection's
 * thread waits on srv->cv instead. cd_req_defer is a suspend whose
 * cd_req_complete leaves a finish function: run by whichever HTTP thread
 * takes the connection back (on_request's resumed call, answer_here in
 * thread-per-connection mode, or on_completed when the client is gone),
 * just before the reply is sent.
 */
#include "http/server_int.h"

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

static void run_offloaded(struct cd_http_work *w);

struct conn_state *cd_http_state_of(struct cd_req *r)
{
    return (struct conn_state *)((char *)r -
                                 offsetof(struct conn_state, req));
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
        resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body,
                                               MHD_RESPMEM_MUST_FREE);
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
 * connection is closed after it, and cd_http_on_completed lingers. */
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
    int te = cd_http_te_refusal(conn);

    if (cd_http_head_too_large(conn, req->path)) {
        cd_http_guard_count(st->srv->guard, "head_too_large");
        cd_reply_errorf(req, CD_EK_HEADERS_TOO_LARGE, "headers_too_large",
                        NULL,
                        "the request head is larger than %d bytes or has "
                        "more than %d header fields",
                        CD_HTTP_HEAD_MAX, CD_HTTP_HEAD_FIELDS_MAX);
        return 1;
    }
    if (cd_http_has_control(req->path)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_path", NULL,
                        "the path holds a control character");
        return 1;
    }
    if (te) {
        cd_reply_errorf(req,
                        te == 501 ? CD_EK_NOT_IMPLEMENTED : CD_EK_INVALID,
                        te == 501 ? "unsupported_transfer_encoding"
                                  : "invalid_transfer_encoding",
                        NULL,
                        "Transfer-Encoding must be chunked alone, without "
                        "Content-Length");
        return 1;
    }
    return cd_http_refuse_bad_name(req) || cd_http_refuse_repeated(req);
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
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_EXPECT);
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
    char id[CD_REQUEST_ID_SZ];
    int busy;

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
    cd_request_id(id);
    cd_strlcpy(req->id, id, sizeof(req->id));
    *con_cls = st;
    __atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
    if ((busy = cd_http_guard_head(srv->guard, conn)) != 0) {
        if (busy > 0)
            cd_http_guard_count(srv->guard, "busy");
        reply_busy(req, "too many connections");
        return refuse_early(conn, st);
    }
    if (check_head(conn, st) != 0)
        return refuse_early(conn, st);
    req->route = cd_http_find_route(&srv->cfg, method, url, req,
                                    &st->method_mismatch);
    st->max_body = req->route && req->route->max_body ? req->route->max_body
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
        char allow[128];

        cd_http_allowed_methods(&srv->cfg, req->path, allow, sizeof(allow));
        cd_reply_errorf(req, CD_EK_METHOD, "method_not_allowed", NULL,
                        "%s is not allowed on this path", req->method);
        cd_reply_header(req, "Allow", allow);
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
    struct conn_state *st = cd_http_state_of(r);

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
    struct conn_state *st = cd_http_state_of(r);

    if (release(st))
        wake(st);
}

void cd_req_defer(struct cd_req *r)
{
    __atomic_add_fetch(&cd_http_state_of(r)->srv->deferred, 1,
                       __ATOMIC_SEQ_CST);
    cd_req_suspend(r);
}

void cd_req_complete(struct cd_req *r, cd_req_finish_fn finish, void *arg)
{
    struct conn_state *st = cd_http_state_of(r);
    struct cd_http_server *srv = st->srv;

    st->finish = finish;
    st->finish_arg = arg;
    cd_req_resume(r);
    /* Last: cd_http_stop waits for this count, so srv outlives the call
     * (st may be gone already). */
    __atomic_sub_fetch(&srv->deferred, 1, __ATOMIC_SEQ_CST);
}

/* A completed deferral's finish, on this (HTTP) thread; once. */
static void run_finish(struct conn_state *st)
{
    cd_req_finish_fn finish = st->finish;

    if (!finish)
        return;
    st->finish = NULL;
    cd_log_set_request_id(st->req.id);
    finish(&st->req, st->finish_arg);
    cd_log_set_request_id(NULL);
}

/* A worker runs an offloaded request; the connection is suspended. */
static void run_offloaded(struct cd_http_work *w)
{
    struct conn_state *st =
        (struct conn_state *)((char *)w - offsetof(struct conn_state, work));

    st->on_worker = 1;
    cd_log_set_request_id(st->req.id);
    answer(st->srv, st);
    cd_log_set_request_id(NULL);
    if (release(st))
        wake(st);
}

/* A worker runs the rest of a request a handler offloaded. */
static void run_rest(struct cd_http_work *w)
{
    struct conn_state *st =
        (struct conn_state *)((char *)w - offsetof(struct conn_state, work));

    st->on_worker = 1;
    cd_log_set_request_id(st->req.id);
    st->rest(&st->req, st->rest_arg);
    cd_log_set_request_id(NULL);
    cd_req_resume(&st->req);
}

void cd_req_offload(struct cd_req *r, cd_req_finish_fn rest, void *arg)
{
    struct conn_state *st = cd_http_state_of(r);

    if (!st->srv->workers || st->on_worker) {
        rest(r, arg);
        return;
    }
    st->rest = rest;
    st->rest_arg = arg;
    st->work.run = run_rest;
    cd_req_suspend(r);
    if (cd_http_workers_submit(st->srv->workers, &st->work) != 0)
        run_rest(&st->work); /* stopping: here, then resume */
}

/* Whether the request goes to the worker pool. */
static int offloaded(struct cd_http_server *srv, struct conn_state *st)
{
    return srv->workers && st->req.route && !st->too_large &&
           !st->over_budget && srv->cfg.offload && srv->cfg.offload(&st->req);
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
    run_finish(st);
    return send_reply(conn, st);
}

enum MHD_Result cd_http_on_request(void *cls, struct MHD_Connection *conn,
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
        /* Resumed: the reply is set, or finish sets it. */
        st->ready = 0;
        __atomic_sub_fetch(&srv->suspended, 1, __ATOMIC_SEQ_CST);
        run_finish(st);
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
        if (may_wait && poll(&p, 1,
                             (int)(left_ms < CD_HTTP_LINGER_IDLE_MS
                                       ? left_ms
                                       : CD_HTTP_LINGER_IDLE_MS)) <= 0)
            break;
        n = recv(ci->connect_fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            break; /* the client closed, or nothing more for now */
        total += (size_t)n;
    }
}

void cd_http_on_completed(void *cls, struct MHD_Connection *conn,
                          void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct cd_http_server *srv = cls;
    struct conn_state *st = *con_cls;
    int64_t us;

    if (!st)
        return;
    /* Closed between its resume and its reply: finish frees what the
     * handler left for it; the reply goes nowhere. */
    run_finish(st);
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
void cd_http_on_mhd_log(void *cls, const char *fmt, va_list ap)
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
