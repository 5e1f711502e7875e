/*
 * store_target.h - the one store fixture of the unit tests: where a test
 * opens its store - a SQLite file in a temp dir, or, when the test asks
 * for PostgreSQL and CD_TEST_PG_URL names a server
 * (postgres://user@host:port/db), a fresh database created on that server
 * and dropped afterwards - and the store itself, opened and migrated
 * there (store_target_open) and closed and dropped (store_target_close);
 * and the two steps the executor tests share: a write job that makes an
 * account of the id it is given (store_target_make_account) and a short
 * pause of a polling loop (store_target_sleep_ms). billing_fixture.h
 * builds a cd_billing on it.
 */
#ifndef CD_TEST_STORE_TARGET_H
#define CD_TEST_STORE_TARGET_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/error.h"

struct store_target {
    char dir[64];
    char target[512]; /* a path or a URL */
    char pg_db[64];   /* the database made for the test, or "" */
};

/* CD_TEST_PG_URL, or NULL when the PostgreSQL runs are off. */
static inline const char *store_target_pg_url(void)
{
    const char *u = getenv("CD_TEST_PG_URL");

    return u && *u ? u : NULL;
}

/* url with its database name replaced by db. */
static inline int store_target_with_db(const char *url, const char *db,
                                       char *out, size_t outsz)
{
    const char *host = strstr(url, "://");
    const char *slash = host ? strchr(host + 3, '/') : NULL;
    const char *query = strchr(url, '?');
    int n;

    if (!host)
        return -1;
    if (!slash || (query && slash > query))
        slash = query ? query : url + strlen(url);
    n = snprintf(out, outsz, "%.*s/%s%s", (int)(slash - url), url, db,
                 query ? query : "");
    return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static inline int store_target_sql(const char *sql)
{
    PGconn *c = PQconnectdb(store_target_pg_url());
    PGresult *r;
    int ok;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "CD_TEST_PG_URL: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/* Makes a fresh place for a store; pg: on PostgreSQL. 0 or -1. */
static inline int store_target_make(struct store_target *t, int pg,
                                    const char *prefix)
{
    static int seq;
    char sql[128];

    memset(t, 0, sizeof(*t));
    if (!pg) {
        snprintf(t->dir, sizeof(t->dir), "/tmp/%s_XXXXXX", prefix);
        if (!mkdtemp(t->dir))
            return -1;
        snprintf(t->target, sizeof(t->target), "%s/creditd.db", t->dir);
        return 0;
    }
    snprintf(t->pg_db, sizeof(t->pg_db), "%s_%d_%d", prefix, (int)getpid(),
             ++seq);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->pg_db);
    if (store_target_sql(sql) != 0)
        return -1;
    return store_target_with_db(store_target_pg_url(), t->pg_db, t->target,
                                sizeof(t->target));
}

static inline void store_target_drop(struct store_target *t)
{
    char cmd[160];

    if (t->pg_db[0]) {
        snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s", t->pg_db);
        store_target_sql(cmd);
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", t->dir);
}

/* A migrated store on a fresh place (store_target_make; pg: on
 * PostgreSQL), max_batch jobs a commit at most (0: the default). NULL,
 * with the reason on stderr and nothing left behind, on failure. */
static inline struct cd_store *store_target_open(struct store_target *t,
                                                 int pg, const char *prefix,
                                                 int max_batch)
{
    struct cd_store_config cfg;
    struct cd_error err;
    struct cd_store *s;

    if (store_target_make(t, pg, prefix) != 0)
        return NULL;
    memset(&cfg, 0, sizeof(cfg));
    cfg.path = t->target;
    cfg.max_batch = max_batch;
    s = cd_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "%s: cannot open the store: %s\n", prefix,
                err.message);
        store_target_drop(t);
    }
    return s;
}

/* Closes s (may be NULL) and drops its place. */
static inline void store_target_close(struct store_target *t,
                                      struct cd_store *s)
{
    if (s)
        cd_store_close(s);
    store_target_drop(t);
}

/* A write job: the account of id arg (a string), email "<id>@example.com". */
static inline int store_target_make_account(struct cd_tx *tx, void *arg)
{
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", (const char *)arg);
    snprintf(a.email, sizeof(a.email), "%s@example.com", (const char *)arg);
    a.created_at = 1;
    return cd_store_account_insert(tx, &a);
}

/* A polling loop's pause. */
static inline void store_target_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

#endif
