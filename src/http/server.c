/*
 * server.c - libmicrohttpd glue; see server.h for the contract.
 *
 * Per request: the first access-handler call matches the route (so the
 * body cap is known before any byte is read) and creates the connection
 * state; the following calls append body bytes up to the cap (past it the
 * rest is read and dropped, and the reply is 413); the last call runs the
 * handler and queues its one reply. The completion callback writes the
 * access-log line and frees everything.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

struct cd_http_server {
    struct MHD_Daemon *daemon;
    struct cd_http_config cfg;
    char name[32];
    int port;
};

struct conn_state {
    struct cd_req req;
    struct cd_buf body;
    size_t max_body;
    int too_large;
    int replied; /* the reply was queued before the body was read */
    int method_mismatch;
    size_t dropped; /* body bytes past the cap (no Content-Length) */
};

/* ---- replies ----------------------------------------------------------- */

void cd_reply(struct cd_req *r, int status, const char *content_type,
              const void *body, size_t len)
{
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = status;
    cd_strlcpy(r->content_type, content_type ? content_type : "",
               sizeof(r->content_type));
    if (len) {
        r->resp_body = malloc(len);
        if (!r->resp_body) {
            r->status = 500;
            return;
        }
        memcpy(r->resp_body, body, len);
        r->resp_len = len;
    }
}

void cd_reply_json(struct cd_req *r, int status, json_t *body)
{
    char *s;

    if (!body) {
        cd_reply(r, status, NULL, NULL, 0);
        return;
    }
    s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        cd_reply(r, 500, "application/json", "{}", 2);
        return;
    }
    free(r->resp_body);
    r->resp_body = s;
    r->resp_len = strlen(s);
    r->status = status;
    cd_strlcpy(r->content_type, "application/json", sizeof(r->content_type));
}

void cd_reply_error(struct cd_req *r, const struct cd_error *e)
{
    json_t *err = json_object();
    json_t *o = json_object();
    char msg[sizeof(e->message)];

    /* No control characters reach the client's log or terminal. */
    cd_strlcpy(msg, e->message, sizeof(msg));
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    json_object_set_new(err, "type",
                        json_string(cd_error_kind_type(e->kind)));
    json_object_set_new(err, "code",
                        json_string(e->code[0] ? e->code : "error"));
    json_object_set_new(err, "message", json_string(msg));
    if (e->param[0])
        json_object_set_new(err, "param", json_string(e->param));
    json_object_set_new(o, "error", err);
    cd_reply_json(r, cd_error_kind_status(e->kind), o);
    if (e->retry_after > 0) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%d", e->retry_after);
        cd_reply_header(r, "Retry-After", secs);
    }
}

void cd_reply_errorf(struct cd_req *r, enum cd_error_kind kind,
                     const char *code, const char *param, const char *fmt, ...)
{
    struct cd_error e;
    va_list ap;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    cd_strlcpy(e.code, code ? code : "", sizeof(e.code));
    cd_strlcpy(e.param, param ? param : "", sizeof(e.param));
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    cd_reply_error(r, &e);
}

void cd_reply_header(struct cd_req *r, const char *name, const char *value)
{
    if (r->nresp_headers >= CD_HTTP_MAX_RESP_HEADERS)
        return;
    cd_strlcpy(r->resp_headers[r->nresp_headers].name, name,
               sizeof(r->resp_headers[0].name));
    cd_strlcpy(r->resp_headers[r->nresp_headers].value, value,
               sizeof(r->resp_headers[0].value));
    r->nresp_headers++;
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

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *conn,
                                  struct cd_req *req)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (req->status == 0)
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "the handler sent no reply");
    resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body,
                                           MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    req->resp_body = NULL; /* owned by the response now */
    if (req->content_type[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                req->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (int i = 0; i < req->nresp_headers; i++)
        MHD_add_response_header(resp, req->resp_headers[i].name,
                                req->resp_headers[i].value);
    ret = MHD_queue_response(conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct cd_http_server *srv = cls;
    struct conn_state *st = *con_cls;
    struct cd_req *req;

    if (!st) {
        const char *cl;
        int64_t clen;

        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        req = &st->req;
        req->start_us = cd_mono_us();
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->app = srv->cfg.app;
        req->route = find_route(&srv->cfg, method, url, req,
                                &st->method_mismatch);
        st->max_body = req->route && req->route->max_body
                           ? req->route->max_body
                           : CD_HTTP_API_BODY_MAX;
        cd_buf_init(&st->body, st->max_body);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        *con_cls = st;
        if (cl && (cd_parse_int64(cl, 0, INT64_MAX, &clen) != 0 ||
                   (uint64_t)clen > st->max_body)) {
            /* Answer at once: the body is never read, and libmicrohttpd
             * closes the connection after the reply. */
            st->too_large = 1;
            req->body = "";
            cd_reply_errorf(req, CD_EK_TOO_LARGE, "body_too_large", NULL,
                            "request body is larger than %zu bytes",
                            st->max_body);
            st->replied = 1;
            return send_reply(conn, req);
        }
        return MHD_YES;
    }
    if (st->replied) { /* a reply is queued already: drop what comes */
        *upload_size = 0;
        return MHD_YES;
    }
    req = &st->req;
    if (*upload_size) {
        if (!st->too_large &&
            cd_buf_append(&st->body, upload, *upload_size) != 0)
            st->too_large = 1;
        if (st->too_large) {
            /* A chunked body past its cap: read on a little so the 413
             * can be sent, but hang up on a client that keeps going. */
            st->dropped += *upload_size;
            if (st->dropped > 4 * st->max_body)
                return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }

    /* The whole request is here: answer it. */
    if (cd_buf_append(&st->body, "", 0) != 0)
        st->too_large = 1;
    req->body = st->body.data ? st->body.data : "";
    req->body_len = st->body.len;
    if (st->too_large) {
        cd_reply_errorf(req, CD_EK_TOO_LARGE, "body_too_large", NULL,
                        "request body is larger than %zu bytes",
                        st->max_body);
    } else if (req->route) {
        if (srv->cfg.dispatch)
            srv->cfg.dispatch(req);
        else
            req->route->handler(req);
    } else if (st->method_mismatch) {
        cd_reply_errorf(req, CD_EK_INVALID, "method_not_allowed", NULL,
                        "%s is not allowed on this path", method);
        req->status = 405;
    } else if (srv->cfg.fallback) {
        srv->cfg.fallback(req);
    } else {
        cd_reply_errorf(req, CD_EK_NOT_FOUND, "not_found", NULL,
                        "no such endpoint");
    }
    return send_reply(conn, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct cd_http_server *srv = cls;
    struct conn_state *st = *con_cls;
    int64_t us;

    if (!st)
        return;
    us = cd_mono_us() - st->req.start_us;
    if (!srv->cfg.quiet)
        cd_info(srv->name, "%s %s %d %lldus%s", st->req.method,
                st->req.route ? st->req.route->pattern : "-",
                st->req.status, (long long)us,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                                                           : " (aborted)");
    if (srv->cfg.on_complete)
        srv->cfg.on_complete(&st->req, us);
    free(st->req.resp_body);
    cd_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
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

struct cd_http_server *cd_http_start(const struct cd_http_config *c,
                                     struct cd_error *err)
{
    struct cd_http_server *srv;
    struct sockaddr_storage ss;
    char host[128];
    int port;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *di;

    memset(&ss, 0, sizeof(ss));
    if (cd_http_parse_listen(c->listen, host, sizeof(host), &port) != 0) {
        cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                     "bad listen address '%s' (want host:port)",
                     c->listen ? c->listen : "");
        return NULL;
    }
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            goto bad_host;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            goto bad_host;
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
        flags |= MHD_USE_EPOLL;
    }
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(c->pool_threads > 1 ? c->pool_threads : 0),
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv->name,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(c->max_connections ? c->max_connections : 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(c->timeout_s ? c->timeout_s : 30),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_END);
    if (!srv->daemon) {
        cd_error_set(err, CD_EK_UNAVAILABLE, "listen_failed", NULL,
                     "cannot listen on %s (in use, or not allowed)",
                     c->listen);
        free(srv);
        return NULL;
    }
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? (int)di->port : port;
    return srv;

bad_host:
    cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                 "bad listen host '%s' (want an IP address)", host);
    return NULL;
}

int cd_http_port(const struct cd_http_server *s)
{
    return s->port;
}

void cd_http_stop(struct cd_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
