/*
 * log.c - the logger behind log.h. One fprintf per line, so lines from
 * different threads never interleave mid-line.
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

void cd__log(int level, const char *module, const char *fmt, ...)
{
    char msg[2048];
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
    /* Keep one event on one line whatever the message holds. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s.%03ldZ %-5s %-8s %s\n", ts, now.tv_nsec / 1000000,
            level_names[level], module, msg);
}
