/*
 * config_names.c - the CREDITD_* names of the environment that creditd does
 * not know: a typo (CREDITD_STRIPE_SECRETKEY) would otherwise leave its
 * setting at the default without a word. Known are the names of the
 * settings table (config.c) and the few read elsewhere, by creditd or by
 * the tools and clients around it (below). Only names are looked at and
 * passed on, never a value: it may be a secret.
 */
#include "config_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

extern char **environ;

/* CREDITD_* names that are not settings but are read: by creditd outside
 * the table (the admin CLI, the SQL trace, the demo's folder), or by the
 * tests, benchmarks and client examples that share an environment with
 * it. */
static const char *const read_elsewhere[] = {
    "CREDITD_URL",           /* creditd admin (src/cli/admin.c) */
    "CREDITD_SQL_TRACE",     /* src/store/sql_trace.c */
    "CREDITD_DEMO_DIR",      /* creditd demo (src/demo.c) */
    "CREDITD_BIN",           /* tests/, bench/: the binary under test */
    "CREDITD_SANDBOX",       /* docs/examples/ */
    "CREDITD_SERVER_KEY",    /* docs/examples/ */
    "CREDITD_EVENTS_SECRET", /* docs/API.md's event receiver example */
};

#define NAME_MAX_LEN 64

static int is_known(const char *name)
{
    const char *s;

    for (size_t i = 0; (s = cd_cfg_setting_name(i)) != NULL; i++)
        if (strcmp(s, name) == 0)
            return 1;
    for (size_t i = 0; i < CD_ARRAY_LEN(read_elsewhere); i++)
        if (strcmp(read_elsewhere[i], name) == 0)
            return 1;
    return 0;
}

/* Levenshtein distance of a and b (each under NAME_MAX_LEN). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[NAME_MAX_LEN + 1];

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The setting nearest to name, its CREDITD_ prefix on or off (so
 * CREDITD_STRIPE_SECRETKEY finds STRIPE_SECRET_KEY); NULL when none is
 * within a quarter of the name's length (at least 2 edits). */
static const char *nearest(const char *name)
{
    const char *bare = name + strlen("CREDITD_"), *best = NULL, *s;
    size_t limit = strlen(bare) / 4 < 2 ? 2 : strlen(bare) / 4;
    size_t best_d = limit + 1;

    for (size_t i = 0; (s = cd_cfg_setting_name(i)) != NULL; i++) {
        size_t d = distance(name, s), e = distance(bare, s);

        if (e < d)
            d = e;
        if (d < best_d) {
            best = s;
            best_d = d;
        }
    }
    return best;
}

int cd_config_unknown_names(cd_config_name_fn fn, void *cls)
{
    int n = 0;

    for (char **e = environ; e && *e; e++) {
        char name[NAME_MAX_LEN];
        size_t len = strcspn(*e, "=");

        if (strncmp(*e, "CREDITD_", 8) != 0)
            continue;
        if (len >= sizeof(name))
            len = sizeof(name) - 1; /* named cut short, never its value */
        memcpy(name, *e, len);
        name[len] = '\0';
        if (is_known(name))
            continue;
        n++;
        if (fn)
            fn(cls, name, nearest(name));
    }
    return n;
}
