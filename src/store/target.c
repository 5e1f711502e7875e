/*
 * target.c - the database a CREDITD_DB target names: which backend opens
 * it (a postgres:// URL: PostgreSQL, anything else: a SQLite file) and how
 * it may be shown in logs and messages (no password).
 */
#include "store/store_int.h"

#include <string.h>

int cd_store_is_postgres(const char *target)
{
    return target && (strncmp(target, "postgres://", 11) == 0 ||
                      strncmp(target, "postgresql://", 13) == 0);
}

const struct cd_backend *cd_backend_for(const char *target,
                                        struct cd_error *err)
{
    const struct cd_backend *be = &cd_backend_sqlite;

    if (cd_store_is_postgres(target))
        be = &cd_backend_pg;
    if (!target || !target[0]) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "no database path");
        return NULL;
    }
    if (be->version != CD_BACKEND_VERSION) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "backend %s has interface version %d, not %d", be->name,
                     be->version, CD_BACKEND_VERSION);
        return NULL;
    }
    return be;
}

void cd_store_target_display(const char *target, char *out, size_t outsz)
{
    const char *p = target ? target : "", *at, *colon = NULL, *scheme, *pw;
    size_t n = 0;

    if (outsz == 0)
        return;
    scheme = strstr(p, "://");
    at = scheme ? strchr(scheme + 3, '@') : NULL;
    if (at)
        colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    pw = strstr(p, "password=");
    for (; *p && n + 1 < outsz; p++) {
        const char *end = NULL;

        if (colon && p == colon + 1) {
            end = at; /* user:password@ */
        } else if (pw && p == pw + 9) {
            end = p; /* password=...& */
            while (*end && *end != '&' && *end != ' ')
                end++;
        }
        if (!end) {
            out[n++] = *p;
            continue;
        }
        for (const char *m = "***"; *m && n + 1 < outsz; m++)
            out[n++] = *m;
        p = end - 1;
    }
    out[n] = '\0';
}
