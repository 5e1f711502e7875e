/*
 * migrate.c - the store's transaction control through a backend (logged,
 * with the fault hooks of the store tests) and the migrations: the
 * scripts of migrations.h applied in order under the backend's migration
 * lock, each in its own transaction with its version recorded, a newer
 * schema than this binary knows refused. Called by executor.c (the
 * writer's batches, the readers, cd_store_open); calls nothing of it.
 */
#include "store/store_int.h"

#include <string.h>

#include "store/migrations.h"
#include "util/log.h"
#include "util/util.h"

/* ---- statements ----------------------------------------------------- */

int cd_sq_exec(struct cd_db *c, enum cd_sq_stmt id, const char *what)
{
    struct cd_stmt *st = cd_sq_get(c, id);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = cd_step(st);
    if (rc == CD_STEP_ERROR)
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
    cd_sq_put(c, id, st);
    return rc == CD_STEP_ERROR ? CD_STORE_ERROR : CD_STORE_OK;
}

/* Transaction control through the backend, logged with `what`. */
int cd_db_txc(struct cd_db *c, int (*op)(struct cd_db *), const char *what)
{
    if (op(c) == 0)
        return 0;
    cd_error("store", "%s: %s", what, cd_db_errmsg(c));
    return CD_STORE_ERROR;
}

/* txc, unless the armed fault hits op: then a failure without the call. */
int cd_db_txo(struct cd_db *c, int op, int (*fn)(struct cd_db *),
              const char *what)
{
    if (cd_fault_hit(c, op)) {
        cd_error("store", "%s: injected fault", what);
        return CD_STORE_ERROR;
    }
    return cd_db_txc(c, fn, what);
}

int cd_db_tx_begin(struct cd_db *c, int write, const char *what)
{
    if (write && cd_fault_hit(c, CD_FAULT_BEGIN)) {
        cd_error("store", "%s: injected fault", what);
        return CD_STORE_ERROR;
    }
    if (c->be->begin(c, write) == 0)
        return 0;
    cd_error("store", "%s: %s", what, cd_db_errmsg(c));
    return CD_STORE_ERROR;
}

/* ---- migrations ----------------------------------------------------- */

/* The highest applied version on c, or -1; -2 on failure. */
int cd_db_schema_version(struct cd_db *c)
{
    struct cd_stmt *st = cd_sq_get(c, SQ_SCHEMA_VERSION);
    int v = -2;

    if (!st)
        return -2;
    if (cd_step(st) == CD_STEP_ROW)
        v = (int)cd_col_i64(st, 0);
    else
        cd_error("store", "schema version: %s", cd_db_errmsg(c));
    cd_sq_put(c, SQ_SCHEMA_VERSION, st);
    return v;
}

static int record_migration(struct cd_db *c, const struct cd_migration *m)
{
    struct cd_stmt *st = cd_sq_get(c, SQ_MIGRATION_RECORD);
    int rc;

    if (!st)
        return -1;
    cd_bind_i64(st, 1, m->version);
    st->be->bind_text(st, 2, m->name, strlen(m->name));
    cd_bind_i64(st, 3, cd_now());
    rc = cd_step(st);
    if (rc != CD_STEP_DONE)
        cd_error("store", "record migration: %s", cd_db_errmsg(c));
    cd_sq_put(c, SQ_MIGRATION_RECORD, st);
    return rc == CD_STEP_DONE ? 0 : -1;
}

void cd_db_rollback_open(struct cd_db *c, const char *what)
{
    if (c->be->in_tx(c))
        cd_db_txc(c, c->be->rollback, what);
}

/* The version of the last migration, after checking their order. */
static int known_version(const struct cd_migration *ms, int n,
                         struct cd_error *err)
{
    int known = 0;

    for (int i = 0; i < n; i++) {
        if (ms[i].version <= known)
            return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                                "migration %s is out of order", ms[i].name);
        known = ms[i].version;
    }
    return known;
}

/* One step of migrate() under the write lock: 1 when m was applied or was
 * already there, 0 when there is nothing left (m NULL), -1 on failure. */
static int migrate_step(struct cd_db *c, const struct cd_migration *m,
                        int known, struct cd_error *err)
{
    int cur;

    /* Each step re-reads the version under the write lock, so two
     * processes migrating at once apply each migration once. */
    if (cd_db_tx_begin(c, 1, "migrate: begin") != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                            "cannot lock the database to migrate");
    cur = cd_db_schema_version(c);
    if (cur == -2)
        goto fail;
    if (cur > known) {
        cd_db_rollback_open(c, "migrate: rollback");
        return cd_error_set(err, CD_EK_INTERNAL, "store_schema_newer", NULL,
                            "database schema version %d is newer than "
                            "this binary knows (%d)",
                            cur, known);
    }
    if (!m || m->version <= cur) {
        cd_db_rollback_open(c, "migrate: rollback");
        return m ? 1 : 0;
    }
    if (c->be->exec_script(c, m->sql) != 0) {
        cd_db_rollback_open(c, "migrate: rollback");
        return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                            "migration %s failed (see log)", m->name);
    }
    if (record_migration(c, m) != 0 ||
        cd_db_txc(c, c->be->commit, "migrate: commit") != 0)
        goto fail;
    cd_info("store", "applied migration %s", m->name);
    return 1;

fail:
    cd_db_rollback_open(c, "migrate: rollback");
    return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                        "migration failed (see log)");
}

static int migrate_locked(struct cd_db *c, struct cd_error *err);

/* Applies every migration newer than the database, each in its own
 * transaction; refuses a database newer than this binary. Under the
 * backend's migration lock, if it has one. */
int cd_store_migrate(struct cd_db *c, struct cd_error *err)
{
    int rc;

    if (c->be->migrate_lock && c->be->migrate_lock(c, 1) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                            "cannot take the migration lock: %s",
                            cd_db_errmsg(c));
    rc = migrate_locked(c, err);
    if (c->be->migrate_lock && c->be->migrate_lock(c, 0) != 0)
        cd_warn("store", "migration lock: %s", cd_db_errmsg(c));
    return rc;
}

static int migrate_locked(struct cd_db *c, struct cd_error *err)
{
    int n = 0, known, rc;
    const struct cd_migration *ms = c->be->migrations(&n);

    if ((known = known_version(ms, n, err)) < 0)
        return -1;
    if (c->be->exec_script(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                              " version INTEGER PRIMARY KEY,"
                              " name TEXT NOT NULL,"
                              " applied_at BIGINT NOT NULL)") != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                            "cannot create schema_migrations");
    for (int i = 0;; i++) {
        rc = migrate_step(c, i < n ? &ms[i] : NULL, known, err);
        if (rc <= 0)
            return rc;
    }
}
