/*
 * config_value.c - the checks of a setting's value that config.c and its
 * setter files share (config_int.h): the reason a value is refused, a
 * bounded text, an http(s) URL, a whole number in a range. Below the
 * settings table and the setters; it calls neither.
 */
#include "config_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/url.h"
#include "util/util.h"

/* Writes the reason a value is refused; returns -1. */
int cd_cfg_why_set(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
    return -1;
}

#define WHY(...) cd_cfg_why_set(why, whysz, __VA_ARGS__)

int cd_cfg_copy(char *dst, size_t dstsz, const char *v, char *why,
                size_t whysz)
{
    if (cd_strlcpy(dst, v, dstsz) != 0)
        return WHY("longer than %zu characters", dstsz - 1);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return WHY("contains a control character");
    return 0;
}

/* An http(s) URL with a host (cd_url_parse_origin: no userinfo, a port
 * 1..65535 if any); trailing '/' removed. */
int cd_cfg_url(char *dst, size_t dstsz, const char *v, char *why,
               size_t whysz)
{
    struct cd_origin o;
    size_t n;

    if (strncasecmp(v, "http://", 7) != 0 &&
        strncasecmp(v, "https://", 8) != 0)
        return WHY("must start with http:// or https://");
    if (strchr(v, ' ') || strchr(v, '?') || strchr(v, '#'))
        return WHY("must be a plain URL without spaces, query or fragment");
    if (cd_url_parse_origin(v, &o) != 0)
        return WHY("needs a host (name, IPv4 or [IPv6]) and, if it has a "
                   "port, one from 1 to 65535; no user@");
    if (cd_cfg_copy(dst, dstsz, v, why, whysz) != 0)
        return -1;
    n = strlen(dst);
    while (n > 0 && dst[n - 1] == '/')
        dst[--n] = '\0';
    return 0;
}

int cd_cfg_int_in(const char *v, int64_t lo, int64_t hi, int64_t *out,
                  char *why, size_t whysz)
{
    if (cd_parse_int64(v, lo, hi, out) != 0)
        return WHY("must be a whole number from %lld to %lld", (long long)lo,
                   (long long)hi);
    return 0;
}
