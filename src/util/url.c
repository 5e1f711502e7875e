/*
 * url.c - origins of http(s) URLs; see url.h.
 */
#include "util/url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* The host of the authority [auth, end): its end in *host_end and the
 * start of a ":port" in *port_s (NULL without one). 0, or -1. */
static int split_host(const char *auth, const char *end,
                      const char **host_end, const char **port_s)
{
    const char *p;

    *port_s = NULL;
    if (*auth == '[') {
        const char *rb = memchr(auth, ']', (size_t)(end - auth));

        if (!rb || rb == auth + 1)
            return -1;
        for (p = auth + 1; p < rb; p++)
            if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
                return -1;
        *host_end = rb + 1;
        if (*host_end < end) {
            if (**host_end != ':')
                return -1;
            *port_s = *host_end + 1;
        }
        return 0;
    }
    p = memchr(auth, ':', (size_t)(end - auth));
    *host_end = p ? p : end;
    if (p)
        *port_s = p + 1;
    for (p = auth; p < *host_end; p++)
        if (!host_char_ok(*p))
            return -1;
    return 0;
}

/* A port of 1 to 5 digits in [p, end), 1..65535. */
static int parse_port(const char *p, const char *end, int *port)
{
    int v = 0;

    if (p >= end || end - p > 5)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

int cd_url_parse_origin(const char *url, struct cd_origin *o)
{
    const char *p, *auth, *end, *host_end, *port_s;
    size_t hlen;

    memset(o, 0, sizeof(*o));
    if (!url)
        return -1;
    for (p = url; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == '\\')
            return -1;
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        o->https = 1;
        auth = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        auth = url + 7;
    } else {
        return -1;
    }
    end = auth + strcspn(auth, "/?#");
    for (p = auth; p < end; p++)
        if (*p == '@' || (unsigned char)*p >= 0x80)
            return -1;
    if (end == auth || split_host(auth, end, &host_end, &port_s) != 0)
        return -1;
    hlen = (size_t)(host_end - auth);
    if (hlen == 0 || hlen >= sizeof(o->host))
        return -1;
    for (size_t i = 0; i < hlen; i++)
        o->host[i] = (char)tolower((unsigned char)auth[i]);
    o->host[hlen] = '\0';
    o->port = o->https ? 443 : 80;
    if (port_s && parse_port(port_s, end, &o->port) != 0)
        return -1;
    return 0;
}

int cd_url_origin(const char *url, char *out, size_t outsz)
{
    struct cd_origin o;
    int n;

    if (cd_url_parse_origin(url, &o) != 0 || outsz == 0)
        return -1;
    if (o.port == (o.https ? 443 : 80))
        n = snprintf(out, outsz, "%s://%s", o.https ? "https" : "http",
                     o.host);
    else
        n = snprintf(out, outsz, "%s://%s:%d", o.https ? "https" : "http",
                     o.host, o.port);
    if (n < 0 || (size_t)n >= outsz) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int cd_origin_is_loopback(const struct cd_origin *o)
{
    struct in_addr a4;
    struct in6_addr a6;
    char v6[256];
    size_t n = strlen(o->host);

    if (strcmp(o->host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, o->host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n > 2 && o->host[0] == '[' && o->host[n - 1] == ']') {
        memcpy(v6, o->host + 1, n - 2);
        v6[n - 2] = '\0';
        return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return 0;
}

int cd_ip_normalize(const char *s, size_t len, char *out, size_t outsz)
{
    char tmp[CD_IP_SZ];
    unsigned char bin[16];

    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, bin) == 1)
        return inet_ntop(AF_INET, bin, out, (socklen_t)outsz) ? 0 : -1;
    if (inet_pton(AF_INET6, tmp, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, (socklen_t)outsz) ? 0 : -1;
    return -1;
}
