/*
 * server_int.h - internal to server.c and the files split from it
 * (server_req.c: request accessors, routing, head checks; server_start.c:
 * start, drain, stop): the server's and a connection's state and the
 * functions they share.
 */
#ifndef CD_HTTP_SERVER_INT_H
#define CD_HTTP_SERVER_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#include "http/guard.h"
#include "http/server.h"
#include "http/workers.h"
#include "util/buf.h"

/* After a refusal: the most body bytes read and dropped, the longest
 * time spent on it, and how long a lingering close waits for more. */
#define CD_HTTP_DISCARD_MAX (8 * 1024 * 1024)
#define CD_HTTP_DISCARD_MS 10000
#define CD_HTTP_LINGER_IDLE_MS 2000
/* creditd's limits on a request head (431 headers_too_large): bytes of
 * the path, query arguments and header fields, and header fields. Well
 * inside libmicrohttpd's own (its connection memory pool, 32 KiB by
 * default, holds the head's text and a record per field: past it,
 * libmicrohttpd answers its own 431, docs/API.md "HTTP"). */
#define CD_HTTP_HEAD_MAX (16 * 1024)
#define CD_HTTP_HEAD_FIELDS_MAX 100

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
    int deferred;  /* cd_req_defer'd requests not yet completed (atomic) */
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
    size_t dropped;  /* body bytes read and dropped past the cap */
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
    /* cd_req_complete's: run on an HTTP thread before the reply is sent
     * (or, the client gone, before the state is freed); set before the
     * last hold is dropped, so published by it. */
    cd_req_finish_fn finish;
    void *finish_arg;
    /* cd_req_offload's: the rest of the request, run by a worker */
    cd_req_finish_fn rest;
    void *rest_arg;
    int on_worker; /* a worker runs this request's handler */
};

const struct cd_route *cd_http_find_route(const struct cd_http_config *c,
                                          const char *method,
                                          const char *path,
                                          struct cd_req *req, int *mismatch);
/* The methods routed on path, ", "-separated in table order (HEAD after
 * GET): a 405's Allow header. */
void cd_http_allowed_methods(const struct cd_http_config *c, const char *path,
                             char *out, size_t outsz);
size_t cd_http_unescape(void *cls, struct MHD_Connection *conn, char *s);
int cd_http_has_control(const char *s);
int cd_http_te_refusal(struct MHD_Connection *conn);
/* cd_req_refuse_repeated for HTTP's fields that may come once
 * (Authorization, Content-Length, Content-Type, Cookie, Host, Origin):
 * head.c. */
int cd_http_refuse_repeated(struct cd_req *req);
/* 400 invalid_header when a header field name is not a token (whitespace
 * before the colon, …): 1 then, else 0. head.c. */
int cd_http_refuse_bad_name(struct cd_req *req);
/* Whether the head passes CD_HTTP_HEAD_MAX or CD_HTTP_HEAD_FIELDS_MAX. */
int cd_http_head_too_large(struct MHD_Connection *conn, const char *url);
enum MHD_Result cd_http_on_request(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls);
void cd_http_on_completed(void *cls, struct MHD_Connection *conn,
                          void **con_cls,
                          enum MHD_RequestTerminationCode toe);
void cd_http_on_mhd_log(void *cls, const char *fmt, va_list ap);
struct conn_state *cd_http_state_of(struct cd_req *r);

#endif
