/*
 * log.c - the logger behind log.h. One fprintf per line, so lines from
 * different threads never interleave mid-line. Every control byte of a
 * message is written as the text \xNN (see escape_line), whatever module
 * logs it.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cd_log_threshold = CD_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int cd_log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Length of the valid UTF-8 sequence at p (n bytes left) that is not a
 * C1 control (U+0080..U+009F), or 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xc2 && p[1] < 0xa0) ||   /* C1 controls */
        (p[0] == 0xe0 && p[1] < 0xa0) ||   /* overlong */
        (p[0] == 0xed && p[1] >= 0xa0) ||  /* surrogates */
        (p[0] == 0xf0 && p[1] < 0x90) ||   /* overlong */
        (p[0] == 0xf4 && p[1] >= 0x90))    /* past U+10FFFF */
        return 0;
    return len;
}

/* Copies msg into out (outsz >= 8) with every control byte - C0, DEL,
 * C1 and any byte that is not part of valid UTF-8 - written as the text
 * "\xNN", so no input can end a line or drive a terminal. Cuts at a
 * character boundary and marks the cut with "...". */
static void escape_line(const char *msg, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)msg;
    size_t n = strlen(msg), o = 0, i = 0;

    while (i < n) {
        size_t len = 1;
        int plain = p[i] >= 0x20 && p[i] < 0x7f;

        if (p[i] >= 0x80) {
            len = utf8_printable(p + i, n - i);
            plain = len > 0;
            if (!plain)
                len = 1;
        }
        if (o + (plain ? len : 4) > outsz - 4) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            memcpy(out + o, p + i, len);
            o += len;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
        }
        i += len;
    }
    out[o] = '\0';
}

void cd__log(int level, const char *module, const char *fmt, ...)
{
    char msg[2048];
    char line[4 * sizeof(msg)];
    char ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (level < 0 || level > 3)
        level = 3;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One event on one line, and nothing from outside input (a method, a
     * path, an upstream's message) reaches the log raw. */
    escape_line(msg, line, sizeof(line));
    fprintf(stderr, "%s.%03ldZ %-5s %-8s %s\n", ts, now.tv_nsec / 1000000,
            level_names[level], module, line);
}
