/*
 * proxy.c - the client's address behind a reverse proxy. The peer of the
 * connection is the client, unless it is one of CREDITD_TRUSTED_PROXIES:
 * then X-Forwarded-For is read from its right end (each proxy appends the
 * address it saw; a proxy that adds its own line instead makes the lines
 * one list, read from the last line's end - RFC 9110 section 5.3),
 * skipping trusted proxies, and the first address that
 * is not one is the client. What a client writes into the header itself
 * is to the left of its own address, so it is never believed. An entry
 * that is no IP address stops the walk at the last address vouched for.
 * Without the setting, X-Forwarded-For is ignored. Also the key an
 * address counts under in the rate limits (cd_ratelimit_address).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "util/util.h"

/* X-Forwarded-For lines read, from the last: more trusted hops than that,
 * each adding its own line, end the walk at the last one vouched for. */
#define CD_XFF_LINES 16

static int trusted(const struct cd_app *app, const char *ip)
{
    for (int i = 0; i < app->ntrusted_proxies; i++)
        if (strcmp(app->trusted_proxies[i], ip) == 0)
            return 1;
    return 0;
}

/* Walks one X-Forwarded-For line from the right; addr holds the last
 * address vouched for on entry and the client on return. 1 when every
 * entry was a trusted proxy (the walk goes on to the line before). */
static int walk_forwarded(const struct cd_app *app, const char *xff,
                          char *addr, size_t addrsz)
{
    size_t end = strlen(xff);

    while (end > 0) {
        size_t start = end;
        char ip[CD_IP_SZ];

        while (start > 0 && xff[start - 1] != ',')
            start--;
        if (cd_ip_normalize(xff + start, end - start, ip, sizeof(ip)) != 0)
            return 0;
        cd_strlcpy(addr, ip, addrsz);
        if (!trusted(app, ip))
            return 0;
        end = start ? start - 1 : 0;
    }
    return 1;
}

void cd_ratelimit_address(const char *peer, char *out, size_t outsz)
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN];

    if (!out || outsz == 0)
        return;
    cd_strlcpy(out, "?", outsz);
    if (!peer)
        return;
    if (inet_pton(AF_INET6, peer, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
            if (inet_ntop(AF_INET, &a4, buf, sizeof(buf)))
                cd_strlcpy(out, buf, outsz);
            return;
        }
        memset(&a6.s6_addr[8], 0, 8);
        if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf)))
            snprintf(out, outsz, "%s/64", buf);
        return;
    }
    cd_strlcpy(out, peer, outsz);
}

void cd_api_client_address(struct cd_req *req, char *out, size_t outsz)
{
    const struct cd_app *app = cd_api_app(req);
    const char *lines[CD_XFF_LINES];
    char peer[64];
    int n;

    cd_req_peer(req, peer, sizeof(peer));
    if (app && app->ntrusted_proxies && trusted(app, peer)) {
        n = cd_req_header_values(req, "X-Forwarded-For", lines, CD_XFF_LINES);
        if (n > CD_XFF_LINES)
            n = CD_XFF_LINES;
        while (n > 0 && walk_forwarded(app, lines[n - 1], peer, sizeof(peer)))
            n--;
    }
    cd_ratelimit_address(peer, out, outsz);
}
