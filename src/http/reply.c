/*
 * reply.c - the cd_reply_* functions of server.h: what a handler's one
 * reply is, and the API.md error shape (plus "request_id").
 *
 * Out of memory is an error, never a success: a JSON reply whose body is
 * missing (json_pack returned NULL) or cannot be serialised becomes a 500
 * internal_error, built without jansson when jansson cannot allocate.
 * Its status is 500, so the idempotency layer stores nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "util/log.h"
#include "util/util.h"

/* The last resort: a 500 internal_error from a fixed template, with no
 * jansson allocation. Only if even its copy cannot be allocated does the
 * 500 go out with an empty body. */
static void drop_stream(struct cd_req *r);

static void reply_nomem(struct cd_req *r)
{
    enum cd_error_kind kind = cd_error_code_kind("internal_error",
                                                 CD_EK_INTERNAL);
    char body[256];
    int n;

    drop_stream(r);
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = cd_error_kind_status(kind);
    r->content_type[0] = '\0';
    n = snprintf(body, sizeof(body),
                 "{\"error\":{\"type\":\"%s\",\"code\":"
                 "\"internal_error\",\"message\":\"internal error: out of "
                 "memory\"%s%s%s}}",
                 cd_error_kind_type(kind),
                 r->id[0] ? ",\"request_id\":\"" : "", r->id,
                 r->id[0] ? "\"" : "");
    if (n < 0 || (size_t)n >= sizeof(body))
        return;
    r->resp_body = malloc((size_t)n);
    if (!r->resp_body)
        return;
    memcpy(r->resp_body, body, (size_t)n);
    r->resp_len = (size_t)n;
    cd_strlcpy(r->content_type, "application/json", sizeof(r->content_type));
}

/* Drops a streamed reply that another replaces. */
static void drop_stream(struct cd_req *r)
{
    if (r->stream_done)
        r->stream_done(r->stream_cls);
    r->stream_read = NULL;
    r->stream_done = NULL;
    r->stream_cls = NULL;
}

void cd_reply_stream(struct cd_req *r, int status, const char *content_type,
                     cd_stream_read_fn read, void (*done)(void *cls),
                     void *cls)
{
    cd_reply(r, status, content_type, NULL, 0);
    r->stream_read = read;
    r->stream_done = done;
    r->stream_cls = cls;
}

void cd_reply(struct cd_req *r, int status, const char *content_type,
              const void *body, size_t len)
{
    drop_stream(r);
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = status;
    cd_strlcpy(r->content_type, content_type ? content_type : "",
               sizeof(r->content_type));
    if (len) {
        r->resp_body = malloc(len);
        if (!r->resp_body) {
            reply_nomem(r);
            return;
        }
        memcpy(r->resp_body, body, len);
        r->resp_len = len;
    }
}

/* Serialises body (stolen) as the reply; 0, or -1 when it cannot (body is
 * freed either way and the earlier reply, if any, stands). */
static int reply_dump(struct cd_req *r, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    if (!s)
        return -1;
    free(r->resp_body);
    r->resp_body = s;
    r->resp_len = strlen(s);
    r->status = status;
    cd_strlcpy(r->content_type, "application/json", sizeof(r->content_type));
    return 0;
}

void cd_reply_json(struct cd_req *r, int status, json_t *body)
{
    if (body && reply_dump(r, status, body) == 0)
        return;
    cd_error("http", "%s %s: the %d reply could not be built (out of memory)",
             r->method ? r->method : "-", r->route ? r->route->pattern : "-",
             status);
    cd_reply_errorf(r, CD_EK_INTERNAL, "internal_error", NULL,
                    "internal error");
}

/* Sets obj[key] to the string s; a string that is not UTF-8 is kept with
 * its bytes >= 0x80 as '?'. 0, or -1 out of memory. */
static int set_text(json_t *obj, const char *key, const char *s)
{
    json_t *v = json_string(s);

    if (!v) {
        char ascii[256];

        cd_strlcpy(ascii, s, sizeof(ascii));
        for (char *p = ascii; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        v = json_string(ascii);
    }
    return json_object_set_new(obj, key, v); /* -1 when v is NULL */
}

/* The kind that gives e's status and type: error_codes.h's for a code of
 * the table, else the one e was set with. */
static enum cd_error_kind error_kind(const struct cd_error *e)
{
    return cd_error_code_kind(e->code, e->kind);
}

/* {"error":{type, code, message, param?, request_id?}}: a new reference,
 * or NULL out of memory. */
static json_t *error_doc(const struct cd_req *r, const struct cd_error *e,
                         const char *msg)
{
    json_t *err = json_object();
    json_t *doc;

    if (!err)
        return NULL;
    if (set_text(err, "type", cd_error_kind_type(error_kind(e))) != 0 ||
        set_text(err, "code", e->code[0] ? e->code : "error") != 0 ||
        set_text(err, "message", msg) != 0 ||
        (e->param[0] && set_text(err, "param", e->param) != 0) ||
        (r->id[0] && set_text(err, "request_id", r->id) != 0)) {
        json_decref(err);
        return NULL;
    }
    doc = json_object();
    if (!doc) {
        json_decref(err);
        return NULL;
    }
    if (json_object_set_new(doc, "error", err) != 0) { /* err is freed */
        json_decref(doc);
        return NULL;
    }
    return doc;
}

void cd_reply_error(struct cd_req *r, const struct cd_error *e)
{
    cd_reply_error_with(r, e, NULL, NULL);
}

void cd_reply_error_with(struct cd_req *r, const struct cd_error *e,
                         const char *key, const char *value)
{
    char msg[sizeof(e->message)];
    json_t *doc;

    /* No control characters reach the client's log or terminal. */
    cd_strlcpy(msg, e->message, sizeof(msg));
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    doc = error_doc(r, e, msg);
    if (doc && key && value &&
        set_text(json_object_get(doc, "error"), key, value) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    if (!doc ||
        reply_dump(r, cd_error_kind_status(error_kind(e)), doc) != 0) {
        reply_nomem(r);
        return;
    }
    if (e->retry_after > 0) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%d", e->retry_after);
        cd_reply_header(r, "Retry-After", secs);
    }
}

void cd_reply_errorf(struct cd_req *r, enum cd_error_kind kind,
                     const char *code, const char *param, const char *fmt,
                     ...)
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
