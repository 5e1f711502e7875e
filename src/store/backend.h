/*
 * backend.h - the seam between the store's engine-neutral part (executor.c,
 * records.c, statements.c) and one database engine (backend_sqlite.c).
 *
 * Like SQLite's VFS: the core never names an engine; a backend is a table
 * of methods, versioned so a backend built for another revision of this
 * header is refused at open. Statements are written once, in statements.c,
 * with ?N placeholders; a backend whose engine spells them otherwise
 * translates them in prepare(). Transaction control (BEGIN with its
 * isolation level, SAVEPOINT, RELEASE, ROLLBACK TO, COMMIT) is the
 * backend's: its text differs per engine.
 *
 * Every connection and statement a backend hands out starts with the
 * struct cd_db / struct cd_stmt header below, so the core reaches the
 * methods from the handle alone.
 */
#ifndef CD_STORE_BACKEND_H
#define CD_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/migrations.h"
#include "util/error.h"

#define CD_BACKEND_VERSION 1

/* step() results */
#define CD_STEP_ROW 1
#define CD_STEP_DONE 0
#define CD_STEP_ERROR (-1)

/* What the last failure on a connection was. */
enum cd_db_errclass {
    CD_DBE_NONE = 0,
    CD_DBE_UNIQUE, /* a UNIQUE or PRIMARY KEY constraint refused a row */
    CD_DBE_RETRY,  /* busy, serialization failure, deadlock, lock timeout:
                      the whole transaction may be run again */
    CD_DBE_OTHER
};

struct cd_backend;

/* The head of every connection of a backend. */
struct cd_db {
    const struct cd_backend *be;
    int writable;
    /* Set by the backend when a failure since begin() was of class
     * CD_DBE_RETRY: the transaction is lost and may be run again. */
    int retry;
    /* Statements the backend sent to the engine to run (not transaction
     * control); the executor adds a writer's to cd_store_stats. */
    uint64_t statements;
    /* Test hook (cd_store_fault): the core fails the (fault_after + 1)-th
     * next call of fault_op as if the engine had, once. */
    int fault_op, fault_after;
};

/* The head of every prepared statement of a backend. */
struct cd_stmt {
    const struct cd_backend *be;
    struct cd_db *db;
};

struct cd_backend {
    int version; /* CD_BACKEND_VERSION */
    const char *name;
    /* The dialect's migrations, oldest first; *count gets how many. */
    const struct cd_migration *(*migrations)(int *count);

    /* target: the configured database (a path, a URL). 0 or -1 (err). */
    int (*open)(const char *target, int writable, struct cd_db **out,
                struct cd_error *err);
    void (*close)(struct cd_db *db);
    /* Held around migrating (lock 1, then 0), so processes that open an
     * empty database at once migrate it one after the other; NULL when
     * the engine's write lock already does that (SQLite). 0 or -1. */
    int (*migrate_lock)(struct cd_db *db, int lock);
    /* Runs a script of several statements (a migration). 0 or -1. */
    int (*exec_script)(struct cd_db *db, const char *sql);

    /* Transaction control: 0 or -1 (logged by the caller). */
    int (*begin)(struct cd_db *db, int write);
    int (*commit)(struct cd_db *db);
    int (*rollback)(struct cd_db *db);
    int (*savepoint)(struct cd_db *db);
    int (*release)(struct cd_db *db);
    int (*rollback_to)(struct cd_db *db);
    /* 1 while a transaction is open (the engine may end one on its own,
     * e.g. SQLite after an I/O error). */
    int (*in_tx)(struct cd_db *db);

    /* Statement `id` of the shared table (text sql), ready to bind; a
     * backend may cache it per connection. NULL on error (logged). When
     * the cached one is still running (a list callback calling the same
     * function), a fresh one. */
    struct cd_stmt *(*prepare)(struct cd_db *db, int id, const char *sql);
    /* Done with st: reset for reuse, or freed. */
    void (*finish)(struct cd_stmt *st);
    /* Parameters count from 1; 0 or -1. Text and blobs must outlive the
     * statement's run. */
    int (*bind_null)(struct cd_stmt *st, int i);
    int (*bind_i64)(struct cd_stmt *st, int i, int64_t v);
    int (*bind_text)(struct cd_stmt *st, int i, const char *s, size_t n);
    int (*bind_blob)(struct cd_stmt *st, int i, const void *p, size_t n);
    /* CD_STEP_ROW, CD_STEP_DONE or CD_STEP_ERROR. */
    int (*step)(struct cd_stmt *st);
    /* Columns count from 0, valid until the next step. */
    int (*column_is_null)(struct cd_stmt *st, int i);
    int64_t (*column_i64)(struct cd_stmt *st, int i);
    /* NULL for SQL NULL; else NUL-terminated, *len the bytes without the
     * NUL. */
    const char *(*column_text)(struct cd_stmt *st, int i, size_t *len);
    const void *(*column_blob)(struct cd_stmt *st, int i, size_t *len);
    /* Rows changed by the last write statement. */
    int64_t (*changes)(struct cd_db *db);
    enum cd_db_errclass (*error_class)(struct cd_db *db);
    /* The engine's message of the last failure (never bound values). */
    const char *(*errmsg)(struct cd_db *db);
};

/* The backend for a configured target: PostgreSQL for a postgres:// or
 * postgresql:// URL, SQLite for a path. NULL (err) when none fits. */
const struct cd_backend *cd_backend_for(const char *target,
                                        struct cd_error *err);

extern const struct cd_backend cd_backend_sqlite;
extern const struct cd_backend cd_backend_pg;

/* Debug builds: CREDITD_SQL_TRACE=1 traces the SQLite writer's statements
 * and WAL frames to stderr (sql_trace.c); nothing otherwise. */
struct sqlite3;
void cd_sq_trace_attach(struct sqlite3 *db);

#endif
