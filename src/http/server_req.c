/*
 * server_req.c - the request accessors of server.h, route matching and
 * the path's percent-decoding; split from server.c (server_int.h). The
 * checks on a request head are in head.c.
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

/* ---- request accessors ------------------------------------------------- */

const char *cd_req_header(const struct cd_req *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn,
                                       MHD_HEADER_KIND, name);
}

struct header_values {
    const char *name;
    const char **vals;
    int max, count;
};

static enum MHD_Result header_value(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
    struct header_values *h = cls;

    (void)kind;
    if (!key || strcasecmp(key, h->name) != 0)
        return MHD_YES;
    if (h->count >= h->max) /* keep the last max: drop the oldest */
        memmove(h->vals, h->vals + 1,
                (size_t)(h->max - 1) * sizeof(*h->vals));
    h->vals[h->count < h->max ? h->count : h->max - 1] = value ? value : "";
    h->count++;
    return MHD_YES;
}

int cd_req_header_values(const struct cd_req *r, const char *name,
                         const char **vals, int max)
{
    struct header_values h = {name, vals, max, 0};

    if (max < 1)
        return 0;
    MHD_get_connection_values((struct MHD_Connection *)r->conn,
                              MHD_HEADER_KIND, header_value, &h);
    return h.count;
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

const struct cd_route *cd_http_find_route(const struct cd_http_config *c,
                                          const char *method,
                                          const char *path,
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

/* Appends m to the ", "-separated list out unless it is there. */
static void add_method(char *out, size_t outsz, const char *m)
{
    size_t n = strlen(m), len = strlen(out);
    const char *p = out;

    while (*p) {
        size_t k = strcspn(p, ",");

        if (k == n && strncmp(p, m, n) == 0)
            return;
        p += k;
        while (*p == ',' || *p == ' ')
            p++;
    }
    snprintf(out + len, outsz - len, "%s%s", len ? ", " : "", m);
}

void cd_http_allowed_methods(const struct cd_http_config *c, const char *path,
                             char *out, size_t outsz)
{
    out[0] = '\0';
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct cd_route *rt = &c->routes[i];

        if (!match_path(rt->pattern, path, NULL))
            continue;
        add_method(out, outsz, rt->method);
        if (strcmp(rt->method, "GET") == 0)
            add_method(out, outsz, "HEAD");
    }
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
 * DEL is a control byte, so cd_http_has_control() refuses it with the others.
 */
size_t cd_http_unescape(void *cls, struct MHD_Connection *conn, char *s)
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
