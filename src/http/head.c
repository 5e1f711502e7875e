/*
 * head.c - the checks on a request head that come before routing, and
 * before any body byte is read (server.c check_head): its size, control
 * bytes in the path, Transfer-Encoding, header field names that are not
 * tokens, and header fields that may come once (cd_req_refuse_repeated).
 *
 * A field name must be a token (RFC 9110 section 5.1): libmicrohttpd
 * keeps "Content-Length : 42" as a field named "Content-Length " that
 * frames nothing, so the body would be read as a further request - one
 * that a proxy honouring the length never saw (RFC 9112 section 5.1:
 * whitespace before the colon is a 400).
 *
 * A field that is not a list (RFC 9110 section 5.3) sent twice is
 * ambiguous: two Content-Length values frame the body two ways (what
 * request smuggling is made of), and two Authorization, Host or Cookie
 * fields let a proxy and creditd each act on a different one. Such a
 * request is refused whole (400 duplicate_header, the connection
 * closed), whatever the values; the app refuses its own fields the same
 * way from its check_head.
 */
#include "http/server_int.h"

#include <microhttpd.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

int cd_http_has_control(const char *s)
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

struct head_size {
    size_t bytes;
    unsigned fields;
};

static enum MHD_Result count_field(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    struct head_size *h = cls;

    h->bytes += strlen(key) + (value ? strlen(value) : 0) +
                4; /* ": ", CRLF */
    if (kind == MHD_HEADER_KIND)
        h->fields++;
    return MHD_YES;
}

int cd_http_head_too_large(struct MHD_Connection *conn, const char *url)
{
    struct head_size h = {strlen(url), 0};

    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND,
                              count_field, &h);
    return h.bytes > CD_HTTP_HEAD_MAX || h.fields > CD_HTTP_HEAD_FIELDS_MAX;
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
int cd_http_te_refusal(struct MHD_Connection *conn)
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

/* The fields of HTTP itself that may come once; the app adds its own
 * (cd_req_repeated). */
static const char *const http_once[] = {"Authorization",
                                        "Content-Length",
                                        "Content-Type",
                                        "Cookie",
                                        "Host",
                                        "Origin",
                                        NULL};

struct repeat_scan {
    const char *const *names;
    unsigned seen; /* a bit per name */
    const char *repeated;
};

static enum MHD_Result repeat_field(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
    struct repeat_scan *r = cls;

    (void)kind;
    (void)value;
    for (unsigned i = 0; key && r->names[i] && i < 32; i++) {
        if (strcasecmp(key, r->names[i]) != 0)
            continue;
        if (r->seen & (1u << i)) {
            r->repeated = r->names[i];
            return MHD_NO;
        }
        r->seen |= 1u << i;
        return MHD_YES;
    }
    return MHD_YES;
}

int cd_req_refuse_repeated(struct cd_req *req, const char *const *names)
{
    struct repeat_scan r = {names, 0, NULL};

    MHD_get_connection_values((struct MHD_Connection *)req->conn,
                              MHD_HEADER_KIND, repeat_field, &r);
    if (!r.repeated)
        return 0;
    cd_reply_errorf(req, CD_EK_INVALID, "duplicate_header", NULL,
                    "the header %s is sent more than once; it may come "
                    "once",
                    r.repeated);
    return 1;
}

int cd_http_refuse_repeated(struct cd_req *req)
{
    return cd_req_refuse_repeated(req, http_once);
}

/* A tchar of RFC 9110 section 5.6.2. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static enum MHD_Result name_field(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    int *bad = cls;
    const char *k = key ? key : "";

    (void)kind;
    (void)value;
    if (!*k)
        *bad = 1;
    for (; *k && !*bad; k++)
        *bad = !is_tchar((unsigned char)*k);
    return *bad ? MHD_NO : MHD_YES;
}

int cd_http_refuse_bad_name(struct cd_req *req)
{
    int bad = 0;

    MHD_get_connection_values((struct MHD_Connection *)req->conn,
                              MHD_HEADER_KIND, name_field, &bad);
    if (!bad)
        return 0;
    cd_reply_errorf(req, CD_EK_INVALID, "invalid_header", NULL,
                    "a header field name holds a character a name may not "
                    "(whitespace before the colon?)");
    return 1;
}
