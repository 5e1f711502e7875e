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

#include "util/util.h"

int cd_log_threshold = CD_LOG_INFO;
int cd_log_json = 0;

/* The id of the request this thread is handling, or "". */
static __thread char cur_request_id[48];

void cd_log_set_request_id(const char *id)
{
    size_t i = 0;

    for (; id && id[i] && i + 1 < sizeof(cur_request_id); i++)
        cur_request_id[i] = id[i];
    cur_request_id[i] = '\0';
}

const char *cd_log_request_id(void)
{
    return cur_request_id;
}

/* The id of the background run this thread is in, or "". */
static __thread char cur_job_id[48];

const char *cd_log_begin_job(void)
{
    cd_random_id("job_", cur_job_id, sizeof(cur_job_id));
    return cur_job_id;
}

void cd_log_end_job(void)
{
    cur_job_id[0] = '\0';
}

void cd_log_set_job_id(const char *id)
{
    size_t i = 0;

    for (; id && id[i] && i + 1 < sizeof(cur_job_id); i++)
        cur_job_id[i] = id[i];
    cur_job_id[i] = '\0';
}

const char *cd_log_job_id(void)
{
    return cur_job_id;
}

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
    if ((p[0] == 0xc2 && p[1] < 0xa0) ||  /* C1 controls */
        (p[0] == 0xe0 && p[1] < 0xa0) ||  /* overlong */
        (p[0] == 0xed && p[1] >= 0xa0) || /* surrogates */
        (p[0] == 0xf0 && p[1] < 0x90) ||  /* overlong */
        (p[0] == 0xf4 && p[1] >= 0x90))   /* past U+10FFFF */
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

/* Appends s to out as the body of a JSON string. s is the output of
 * escape_line: no control byte is left, so only '"' and '\\' need it. */
static size_t json_text(char *out, size_t o, size_t outsz, const char *s)
{
    for (; *s && o + 3 < outsz; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
    return o;
}

static void stamp(char *ts, size_t tssz)
{
    struct timespec now;
    struct tm tm;
    char sec[24];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, tssz, "%s.%03ldZ", sec, now.tv_nsec / 1000000);
}

/* One JSON object: time, level, component, message, request_id (when the
 * thread handles a request), job_id (when it runs a background job) and
 * the preformatted extra members. */
static void emit_json(int level, const char *module, const char *line,
                      const char *rid, const char *extra)
{
    char ts[40], comp[128], out[12288], id[128], job[128];

    stamp(ts, sizeof(ts));
    escape_line(module, out, sizeof(comp));
    json_text(comp, 0, sizeof(comp), out);
    escape_line(rid ? rid : "", out, sizeof(id));
    json_text(id, 0, sizeof(id), out);
    job[0] = '\0';
    if (cur_job_id[0])
        snprintf(job, sizeof(job), ",\"job_id\":\"%s\"", cur_job_id);
    size_t o = (size_t)snprintf(out, sizeof(out),
                                "{\"time\":\"%s\",\"level\":\"%s\","
                                "\"component\":\"%s\",\"message\":\"",
                                ts, level_names[level], comp);
    o = json_text(out, o, sizeof(out) - 2400, line);
    snprintf(out + o, sizeof(out) - o, "\"%s%s%s%s%s}",
             id[0] ? ",\"request_id\":\"" : "", id, id[0] ? "\"" : "", job,
             extra ? extra : "");
    fprintf(stderr, "%s\n", out);
}

void cd__log(int level, const char *module, const char *fmt, ...)
{
    char msg[2048];
    char line[4 * sizeof(msg)];
    char ts[40];
    va_list ap;

    if (level < 0 || level > 3)
        level = 3;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One event on one line, and nothing from outside input (a method, a
     * path, an upstream's message) reaches the log raw. */
    escape_line(msg, line, sizeof(line));
    if (cd_log_json) {
        emit_json(level, module, line, cur_request_id, NULL);
        return;
    }
    stamp(ts, sizeof(ts));
    fprintf(stderr, "%s %-5s %-8s %s%s%s%s%s\n", ts, level_names[level],
            module, line, cur_request_id[0] ? " request_id=" : "",
            cur_request_id, cur_job_id[0] ? " job_id=" : "", cur_job_id);
}

void cd_log_access(const char *module, const char *method, const char *route,
                   int status, long long us, const char *id, int aborted)
{
    char m[64], r[512], extra[2048], jm[160], jr[1100];
    char msg[400], line[1700];

    if (CD_LOG_INFO < cd_log_threshold)
        return;
    if (!cd_log_json) {
        cd__log(CD_LOG_INFO, module, "%s %.200s %d %lldus %s%s", method,
                route, status, us, id, aborted ? " (aborted)" : "");
        return;
    }
    escape_line(method, m, sizeof(m));
    json_text(jm, 0, sizeof(jm), m);
    escape_line(route, r, 300);
    json_text(jr, 0, sizeof(jr), r);
    snprintf(extra, sizeof(extra),
             ",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,"
             "\"us\":%lld%s",
             jm, jr, status, us, aborted ? ",\"aborted\":true" : "");
    snprintf(msg, sizeof(msg), "%s %.200s %d %lldus%s", method, route, status,
             us, aborted ? " (aborted)" : "");
    escape_line(msg, line, sizeof(line));
    emit_json(CD_LOG_INFO, module, line, id, extra);
}
