/*
 * sql_trace.c - a debug-only tracer of the SQLite writer's statements
 * (docs/PERFORMANCE.md, "What one job executes").
 *
 * Only in builds with assertions on (Debug and the sanitizer builds; the
 * release build/ compiles this to nothing): with CREDITD_SQL_TRACE=1 in
 * the environment, the writer connection prints to stderr, one line each,
 *   sqltrace stmt <ns> <sql>   every statement it finished running, as
 *                              prepared (placeholders, never the bound
 *                              values: no secrets reach the log), with
 *                              SQLite's own run time;
 *   sqltrace wal <frames>      after each commit, the WAL's frames so far.
 * The WAL hook replaces SQLite's auto-checkpoint, so with the tracer on
 * the WAL is never checkpointed while the server runs: its growth per
 * commit is the pages the commit wrote. For measurements only. Off (the
 * variable unset), nothing is installed and nothing is spent.
 */
#include "store/store_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef NDEBUG
static int trace_cb(unsigned what, void *ctx, void *p, void *x)
{
    (void)ctx;
    if (what == SQLITE_TRACE_PROFILE) {
        const char *sql = sqlite3_sql((sqlite3_stmt *)p);

        fprintf(stderr, "sqltrace stmt %lld %.300s\n",
                (long long)*(sqlite3_int64 *)x, sql ? sql : "?");
    }
    return 0;
}

static int wal_cb(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void)ctx;
    (void)db;
    (void)name;
    fprintf(stderr, "sqltrace wal %d\n", frames);
    return SQLITE_OK;
}
#endif

void cd_sq_trace_attach(sqlite3 *db)
{
#ifndef NDEBUG
    const char *on = getenv("CREDITD_SQL_TRACE");

    if (!on || on[0] != '1')
        return;
    sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, trace_cb, NULL);
    sqlite3_wal_hook(db, wal_cb, NULL);
#else
    (void)db;
#endif
}
