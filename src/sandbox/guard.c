/*
 * guard.c - what the sandbox lets in at all. The dispatch and fallback
 * functions in sandbox.c call cd_sandbox_guard before anything else, so
 * these hold on every route, matched or not:
 *
 *   - Host must name loopback: an IPv4 address in 127.0.0.0/8,
 *     "localhost" or [::1], with or without a port. A web page whose own
 *     name was re-pointed at 127.0.0.1 (DNS rebinding) sends that name,
 *     and gets 403 host_not_allowed. With SANDBOX_ALLOW_NON_LOOPBACK the
 *     authority of public_url is let in too (the name the operator gave
 *     the sandbox on a test network).
 *   - A state-changing request (any method but GET and HEAD) that carries
 *     an Origin must come from the sandbox's own origin: http://<Host>
 *     (the Host being loopback, only a page this sandbox served has it)
 *     or the origin of public_url. Browsers send Origin on every
 *     cross-origin POST ("null" from an opaque origin), so a web page
 *     cannot pay, expire or refund anything on a running sandbox: 403
 *     origin_not_allowed. Callers that send no Origin - creditd's Stripe
 *     client, curl, the tests - are let in.
 *   - A body sent to a control endpoint (/_sandbox/...) must be JSON
 *     with Content-Type: application/json, which no page can send to
 *     another origin without a CORS preflight that the sandbox never
 *     answers, or form parameters as application/x-www-form-urlencoded
 *     (a body that starts with '{' is JSON and is refused as a form):
 *     anything else, text/plain included, is 400 invalid_content_type.
 *
 * Refusals use Stripe's error shape (invalid_request_error) and change
 * nothing.
 */
#include "sandbox/internal.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

int cd_sandbox_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* "" or ":" followed by 1..5 digits up to 65535, and nothing after. */
static int port_ok(const char *p)
{
    long v = 0;
    size_t n = 0;

    if (*p == '\0')
        return 1;
    if (*p++ != ':')
        return 0;
    for (; p[n] >= '0' && p[n] <= '9' && n < 6; n++)
        v = v * 10 + (p[n] - '0');
    return n >= 1 && n <= 5 && p[n] == '\0' && v <= 65535;
}

/* 1 when a Host header value names loopback (see the file comment). */
static int host_ok(const char *host)
{
    char name[64];
    const char *port;
    size_t n;
    int bracketed;

    if (!host)
        return 0;
    bracketed = host[0] == '[';
    if (bracketed) {
        const char *close = strchr(host, ']');
        if (!close)
            return 0;
        host++;
        n = (size_t)(close - host);
        port = close + 1;
    } else {
        n = strcspn(host, ":");
        port = host + n;
    }
    if (n == 0 || n >= sizeof(name) || !port_ok(port))
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    /* Brackets hold an IPv6 address, and only brackets may. */
    if ((strchr(name, ':') != NULL) != bracketed)
        return 0;
    return cd_sandbox_is_loopback(name);
}

/* With allow_non_loopback (SANDBOX_ALLOW_NON_LOOPBACK): 1 when host, a
 * Host header, is the authority of public_url (any case). public_url is
 * read without s->mu, as in origin_ok below. */
static int public_host_ok(const struct cd_sandbox *s, const char *host)
{
    const char *p = s->public_url ? strstr(s->public_url, "://") : NULL;
    size_t n;

    if (!s->allow_non_loopback || !p || !host)
        return 0;
    p += 3;
    n = strcspn(p, "/?#");
    return strlen(host) == n && strncasecmp(host, p, n) == 0;
}

/* 1 when origin is exactly the scheme://authority that url starts with
 * (case-insensitive). */
static int origin_of(const char *origin, const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    size_t n;

    if (!p)
        return 0;
    p += 3;
    n = (size_t)(p - url) + strcspn(p, "/?#");
    return strlen(origin) == n && strncasecmp(origin, url, n) == 0;
}

/* 1 when origin is the sandbox's own (see the file comment). public_url
 * is read without s->mu: it is set before any request can know the
 * port (cd_sandbox_start) and never changes after. */
static int origin_ok(const struct cd_req *r, const char *origin,
                     const char *host)
{
    const struct cd_sandbox *s = r->app;

    if (strncasecmp(origin, "http://", 7) == 0 &&
        strcasecmp(origin + 7, host) == 0)
        return 1;
    return origin_of(origin, s->public_url);
}

/* 1 when the Content-Type header is the media type type (any case,
 * parameters allowed). */
static int media_type_is(const struct cd_req *r, const char *type)
{
    const char *ct = cd_req_header(r, "Content-Type");
    size_t n = strlen(type);

    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, type, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

int cd_sandbox_is_json(const struct cd_req *r)
{
    return media_type_is(r, "application/json");
}

/* 1 when a control endpoint may read this body (see the file comment). */
static int control_body_ok(const struct cd_req *r)
{
    size_t lead;

    if (r->body_len == 0 || cd_sandbox_is_json(r))
        return 1;
    if (!media_type_is(r, "application/x-www-form-urlencoded"))
        return 0;
    lead = strspn(r->body, " \t\r\n");
    return lead >= r->body_len || r->body[lead] != '{';
}

int cd_sandbox_guard(struct cd_req *r)
{
    const char *host = cd_req_header(r, "Host");
    const char *origin = cd_req_header(r, "Origin");
    int reads = strcmp(r->method, "GET") == 0 ||
                strcmp(r->method, "HEAD") == 0;

    if (!host_ok(host) && !public_host_ok(r->app, host)) {
        cd_sandbox_reply_errorf(
            r, 403, "invalid_request_error", "host_not_allowed", NULL,
            "The sandbox answers only requests addressed to loopback "
            "(Host 127.0.0.1, localhost or [::1], with or without a port), "
            "not '%.100s'.",
            host ? host : "");
        return -1;
    }
    if (!reads && origin && !origin_ok(r, origin, host)) {
        cd_sandbox_reply_errorf(
            r, 403, "invalid_request_error", "origin_not_allowed", NULL,
            "The sandbox refuses changes requested from another origin "
            "('%.100s'). Call it from a script or server, which sends no "
            "Origin.",
            origin);
        return -1;
    }
    if (strncmp(r->path, "/_sandbox/", 10) == 0 && !control_body_ok(r)) {
        cd_sandbox_reply_errorf(
            r, 400, "invalid_request_error", "invalid_content_type", NULL,
            "A body sent to /_sandbox/... must be JSON with Content-Type: "
            "application/json (or form parameters with Content-Type: "
            "application/x-www-form-urlencoded).");
        return -1;
    }
    return 0;
}
