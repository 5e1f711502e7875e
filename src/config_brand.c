/*
 * config_brand.c - the branding settings: name, logo, support email,
 * colour, web dir; setters of config.c's settings table (config_int.h).
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

/* Printable text without control characters, 1..63 bytes. */
int cd_cfg_set_brand_name(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return WHY("must not hold control characters");
    if (!*v || strlen(v) >= sizeof(c->billing.brand.name))
        return WHY("must be 1 to 63 bytes");
    return cd_cfg_copy(c->billing.brand.name, sizeof(c->billing.brand.name),
                       v, why, whysz);
}

/* Characters allowed in a logo URL: no space, quote, '<', '>' or '\'. */
static int url_chars_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f ||
            strchr("\"'<>\\`", *v))
            return 0;
    return 1;
}

int cd_cfg_set_brand_logo(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    /* The https origin goes into the UI's CSP: host characters only. */
    size_t host = strncmp(v, "https://", 8) == 0 ? strcspn(v + 8, "/?#") : 0;
    int https = host > 0 && strspn(v + 8, "abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789.-:[]") == host;
    int path = v[0] == '/' && v[1] != '/' && v[1] != '\\';

    if (*v && (!url_chars_ok(v) || (!https && !path)))
        return WHY("must be an https:// URL or a path starting with /");
    return cd_cfg_copy(c->billing.brand.logo_url,
                       sizeof(c->billing.brand.logo_url), v, why, whysz);
}

int cd_cfg_set_support_email(struct cd_config *c, const char *v, char *why,
                             size_t whysz)
{
    const char *at = strchr(v, '@');

    if (*v && (!at || at == v || !at[1] || strchr(at + 1, '@') ||
               !url_chars_ok(v) || strchr(v, '/') || strchr(v, ',')))
        return WHY("must be an email address");
    return cd_cfg_copy(c->billing.brand.support_email,
                       sizeof(c->billing.brand.support_email), v, why, whysz);
}

int cd_cfg_set_brand_color(struct cd_config *c, const char *v, char *why,
                           size_t whysz)
{
    if (*v && (strlen(v) != 7 || v[0] != '#' ||
               strspn(v + 1, "0123456789abcdefABCDEF") != 6))
        return WHY("must be a colour #rrggbb");
    return cd_cfg_copy(c->billing.brand.color, sizeof(c->billing.brand.color),
                       v, why, whysz);
}

int cd_cfg_set_web_dir(struct cd_config *c, const char *v, char *why,
                       size_t whysz)
{
    return cd_cfg_copy(c->web_dir, sizeof(c->web_dir), v, why, whysz);
}
