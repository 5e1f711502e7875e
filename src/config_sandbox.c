/*
 * config_sandbox.c - the Stripe sandbox's settings; setters of config.c's
 * settings table (config_int.h).
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "billing/idempotency.h"
#include "http/server.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define WHY(...) cd_cfg_why_set(why, whysz, __VA_ARGS__)

int cd_cfg_set_sb_listen(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    char host[128];
    int port;

    if (cd_http_parse_listen(v, host, sizeof(host), &port) != 0)
        return WHY("want host:port, e.g. 127.0.0.1:12111");
    return cd_cfg_copy(c->sandbox_listen, sizeof(c->sandbox_listen), v, why,
                       whysz);
}

int cd_cfg_set_sb_webhook_url(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    struct cd_origin o;

    if (!*v)
        return 0;
    if (cd_url_parse_origin(v, &o) != 0)
        return WHY("must be an http(s) URL with a host");
    return cd_cfg_copy(c->sandbox_webhook_url, sizeof(c->sandbox_webhook_url),
                       v, why, whysz);
}

int cd_cfg_set_sb_secret(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    if (*v && strncmp(v, "whsec_", 6) != 0)
        return WHY("must look like whsec_...");
    return cd_cfg_copy(c->sandbox_webhook_secret,
                       sizeof(c->sandbox_webhook_secret), v, why, whysz);
}

int cd_cfg_set_sb_public(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    if (!*v)
        return 0;
    return cd_cfg_url(c->sandbox_public_url, sizeof(c->sandbox_public_url), v,
                      why, whysz);
}

int cd_cfg_set_sb_delay(struct cd_config *c, const char *v, char *why,
                        size_t whysz)
{
    int64_t n;

    if (cd_cfg_int_in(v, 0, 600000, &n, why, whysz) != 0)
        return -1;
    c->sandbox_delay_ms = (long)n;
    return 0;
}

int cd_cfg_set_sb_account(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return WHY("must not hold control characters");
    if (strlen(v) >= sizeof(c->sandbox_account_name))
        return WHY("must be at most 63 bytes");
    return cd_cfg_copy(c->sandbox_account_name,
                       sizeof(c->sandbox_account_name), v, why, whysz);
}

int cd_cfg_set_sb_allow_public(struct cd_config *c, const char *v, char *why,
                               size_t whysz)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return WHY("want 0 or 1");
    c->sandbox_allow_non_loopback = v[0] == '1';
    return 0;
}
