/*
 * url.h - the origin of an http(s) URL, parsed and normalised one way for
 * every caller: creditd's redirect check, its settings and the sandbox's
 * URL check all see "HTTP://Shop.Example.com:443/x" as
 * "https://shop.example.com".
 */
#ifndef CD_UTIL_URL_H
#define CD_UTIL_URL_H

#include <stddef.h>

/* Bytes an origin string may need: "https://" + a 255-byte host +
 * ":65535" + NUL. */
#define CD_ORIGIN_SZ 270

struct cd_origin {
    int https;
    char host[256]; /* lower-case; an IPv6 literal keeps its brackets */
    int port;       /* explicit, or the scheme's default (80, 443) */
};

/*
 * Parses the origin of an absolute http(s) URL: the scheme (any case),
 * then a host of [A-Za-z0-9.-_] or a bracketed IPv6 literal, then an
 * optional port 1..65535; what follows '/', '?' or '#' is not looked at
 * beyond its characters. Returns 0, or -1 for anything else: another
 * scheme, no host, userinfo ('@'), an empty or bad port, a non-ASCII
 * byte in the authority, or a control character, space, DEL or '\'
 * anywhere in the URL.
 */
int cd_url_parse_origin(const char *url, struct cd_origin *o);

/*
 * The normalised origin of url into out: "scheme://host[:port]" with
 * scheme and host lower-case and the port only when it is not the
 * scheme's default. 0, or -1 when cd_url_parse_origin refuses the URL or
 * out (CD_ORIGIN_SZ is always enough) is too small.
 */
int cd_url_origin(const char *url, char *out, size_t outsz);

/* Whether the origin's host is loopback: localhost, 127.x.x.x or [::1]. */
int cd_origin_is_loopback(const struct cd_origin *o);

/* Bytes an IP address's text needs (INET6_ADDRSTRLEN). */
#define CD_IP_SZ 46

/* The IPv4 or IPv6 address in s (len bytes; spaces and tabs around it
 * ignored) in one canonical text (inet_ntop's: "2001:db8::1"), so two
 * spellings of one address compare equal. 0, or -1 when s is no IP
 * address or out (CD_IP_SZ is enough) is too small. */
int cd_ip_normalize(const char *s, size_t len, char *out, size_t outsz);

#endif
