/*
 * args.c - what a verb does with its arguments (see cli.h): the options
 * and positionals it allows, option values as text, flags and bounded
 * integers, the usage message, the Idempotency-Key of the invocation and
 * the confirmation. Below admin.c (the dispatch), http.c and the nouns,
 * which all call it; it calls none of them.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"

int cd_cli_in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int cd_cli_usage_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "creditd admin: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (c && c->noun)
        fprintf(stderr, "(creditd admin %s%s%s --help for usage)\n", c->noun,
                c->verb ? " " : "", c->verb ? c->verb : "");
    return CLI_USAGE;
}

int cd_cli_expect(struct cli *c, int min, int max, const char *const *allowed)
{
    static const char *const none[] = {NULL};

    allowed = allowed ? allowed : none;
    for (int i = 0; i < c->nopts; i++)
        if (!cd_cli_in_list(allowed, c->opts[i].name))
            return cd_cli_usage_error(c, "unknown option --%s",
                                      c->opts[i].name);
    /* Global options only where they mean something. */
    if (c->output && !cd_cli_in_list(allowed, "output"))
        return cd_cli_usage_error(c, "--output is for exports");
    if (c->idem && !cd_cli_in_list(allowed, "idempotency-key"))
        return cd_cli_usage_error(c, "--idempotency-key is for writes that "
                                     "send one");
    if (c->nargs < min)
        return cd_cli_usage_error(c, "missing argument");
    if (c->nargs > max)
        return cd_cli_usage_error(c, "unexpected argument '%.40s'",
                                  c->args[max]);
    return CLI_OK;
}

const char *cd_cli_opt(const struct cli *c, const char *name)
{
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return c->opts[i].value;
    return NULL;
}

int cd_cli_flag(const struct cli *c, const char *name)
{
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return 1;
    return 0;
}

int cd_cli_parse_int(const char *what, const char *s, int64_t lo, int64_t hi,
                     int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi ||
        isspace((unsigned char)*s)) {
        fprintf(stderr,
                "creditd admin: %s must be a whole number from %" PRId64
                " to %" PRId64 " (got '%.40s')\n",
                what, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cd_cli_opt_int(const struct cli *c, const char *name, int64_t lo,
                   int64_t hi, int64_t *out)
{
    const char *s = cd_cli_opt(c, name);
    char what[48];

    if (!s)
        return 0;
    snprintf(what, sizeof(what), "--%s", name);
    return cd_cli_parse_int(what, s, lo, hi, out) == 0 ? 1 : -1;
}

const char *cd_cli_idempotency_key(struct cli *c, char *buf, size_t bufsz)
{
    unsigned char rnd[12];
    char hex[25];

    if (c->idem) {
        cd_strlcpy(buf, c->idem, bufsz);
    } else {
        cd_random_bytes(rnd, sizeof(rnd));
        cd_hex(rnd, sizeof(rnd), hex);
        snprintf(buf, bufsz, "cli_%s", hex);
    }
    fprintf(stderr,
            "idempotency key: %s (to retry safely: "
            "--idempotency-key %s)\n",
            buf, buf);
    return buf;
}

int cd_cli_confirm(const struct cli *c, const char *question)
{
    char line[16];

    if (c->yes)
        return CLI_OK;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "creditd admin: %s - not confirmed: stdin is not a "
                "terminal; pass --yes to do it without asking\n",
                question);
        return CLI_USAGE;
    }
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin) ||
        (strcmp(line, "y\n") != 0 && strcmp(line, "yes\n") != 0 &&
         strcmp(line, "Y\n") != 0)) {
        fprintf(stderr, "creditd admin: not confirmed; nothing was done\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}
