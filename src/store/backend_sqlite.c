/*
 * backend_sqlite.c - the SQLite backend (see backend.h).
 *
 * Connections run in WAL mode, so readers see the last committed snapshot
 * and never wait for the writer; synchronous=FULL makes each COMMIT
 * durable; a read connection is query_only. Write transactions are BEGIN
 * IMMEDIATE: the one writer connection takes the write lock up front, so
 * every job of a batch runs serialized (SERIALIZABLE in effect). Each
 * statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT)
 * and reused; the shared SQL's ?N placeholders are SQLite's own.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

#define BUSY_TIMEOUT_MS 5000

enum {
    TX_BEGIN,
    TX_BEGIN_IMMEDIATE,
    TX_COMMIT,
    TX_ROLLBACK,
    TX_SAVEPOINT,
    TX_RELEASE,
    TX_ROLLBACK_TO,
    TX__COUNT
};

static const char *const tx_sql[TX__COUNT] = {
    [TX_BEGIN] = "BEGIN",
    [TX_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [TX_COMMIT] = "COMMIT",
    [TX_ROLLBACK] = "ROLLBACK",
    [TX_SAVEPOINT] = "SAVEPOINT j",
    [TX_RELEASE] = "RELEASE j",
    [TX_ROLLBACK_TO] = "ROLLBACK TO j",
};

struct sq_stmt {
    struct cd_stmt h;
    sqlite3_stmt *st;
    int cached;
};

struct sq_db {
    struct cd_db h;
    sqlite3 *db;
    sqlite3_stmt *tx[TX__COUNT];
    struct sq_stmt *stmts[SQ__COUNT];
};

#define SQ(d) ((struct sq_db *)(d))
#define ST(s) (((struct sq_stmt *)(s))->st)

/* ---- statements ----------------------------------------------------- */

static struct cd_stmt *sq_prepare(struct cd_db *d, int id, const char *sql)
{
    struct sq_db *c = SQ(d);
    struct sq_stmt *cached = id >= 0 && id < SQ__COUNT ? c->stmts[id] : NULL;
    struct sq_stmt *s;
    sqlite3_stmt *st = NULL;

    if (id < 0 || id >= SQ__COUNT)
        return NULL;
    if (cached && !sqlite3_stmt_busy(cached->st))
        return &cached->h;
    if (sqlite3_prepare_v3(c->db, sql, -1,
                           cached ? 0 : SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK ||
        !st) {
        cd_error("store", "prepare statement %d: %s", id,
                 sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        sqlite3_finalize(st);
        return NULL;
    }
    s->h.be = &cd_backend_sqlite;
    s->h.db = d;
    s->st = st;
    s->cached = !cached;
    if (!cached)
        c->stmts[id] = s;
    return &s->h;
}

static void sq_finish(struct cd_stmt *h)
{
    struct sq_stmt *s = (struct sq_stmt *)h;

    if (s->cached) {
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
        return;
    }
    sqlite3_finalize(s->st);
    free(s);
}

static int sq_bind_null(struct cd_stmt *s, int i)
{
    return sqlite3_bind_null(ST(s), i) == SQLITE_OK ? 0 : -1;
}

static int sq_bind_i64(struct cd_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(ST(s), i, v) == SQLITE_OK ? 0 : -1;
}

static int sq_bind_text(struct cd_stmt *s, int i, const char *t, size_t n)
{
    if (n > INT_MAX)
        return -1;
    return sqlite3_bind_text(ST(s), i, t, (int)n, SQLITE_STATIC) == SQLITE_OK
               ? 0
               : -1;
}

static int sq_bind_blob(struct cd_stmt *s, int i, const void *p, size_t n)
{
    if (n > INT_MAX)
        return -1;
    /* A zero-length blob, not NULL, for p != NULL of length 0. */
    return sqlite3_bind_blob(ST(s), i, p, (int)n, SQLITE_STATIC) == SQLITE_OK
               ? 0
               : -1;
}

static int sq_step(struct cd_stmt *s)
{
    int rc;

    if (!sqlite3_stmt_busy(ST(s)))
        s->db->statements++;
    rc = sqlite3_step(ST(s));
    if (rc == SQLITE_ROW)
        return CD_STEP_ROW;
    if (rc == SQLITE_DONE)
        return CD_STEP_DONE;
    return CD_STEP_ERROR;
}

static int sq_column_is_null(struct cd_stmt *s, int i)
{
    return sqlite3_column_type(ST(s), i) == SQLITE_NULL;
}

static int64_t sq_column_i64(struct cd_stmt *s, int i)
{
    return sqlite3_column_int64(ST(s), i);
}

static const char *sq_column_text(struct cd_stmt *s, int i, size_t *len)
{
    const unsigned char *t = sqlite3_column_text(ST(s), i);

    *len = t ? (size_t)sqlite3_column_bytes(ST(s), i) : 0;
    return (const char *)t;
}

static const void *sq_column_blob(struct cd_stmt *s, int i, size_t *len)
{
    const void *b = sqlite3_column_blob(ST(s), i);

    *len = (size_t)sqlite3_column_bytes(ST(s), i);
    return b;
}

static int64_t sq_changes(struct cd_db *d)
{
    return sqlite3_changes(SQ(d)->db);
}

static enum cd_db_errclass sq_error_class(struct cd_db *d)
{
    int x = sqlite3_extended_errcode(SQ(d)->db);

    if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CD_DBE_UNIQUE;
    if ((x & 0xff) == SQLITE_BUSY || (x & 0xff) == SQLITE_LOCKED)
        return CD_DBE_RETRY;
    if (x == SQLITE_OK || x == SQLITE_ROW || x == SQLITE_DONE)
        return CD_DBE_NONE;
    return CD_DBE_OTHER;
}

static const char *sq_errmsg(struct cd_db *d)
{
    return sqlite3_errmsg(SQ(d)->db);
}

/* ---- transactions --------------------------------------------------- */

static int tx_run(struct cd_db *d, int which)
{
    struct sq_db *c = SQ(d);
    int rc;

    if (!c->tx[which] && sqlite3_prepare_v3(c->db, tx_sql[which], -1,
                                            SQLITE_PREPARE_PERSISTENT,
                                            &c->tx[which], NULL) != SQLITE_OK)
        return -1;
    rc = sqlite3_step(c->tx[which]);
    sqlite3_reset(c->tx[which]);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int sq_begin(struct cd_db *d, int write)
{
    return tx_run(d, write ? TX_BEGIN_IMMEDIATE : TX_BEGIN);
}

static int sq_commit(struct cd_db *d)
{
    return tx_run(d, TX_COMMIT);
}
static int sq_rollback(struct cd_db *d)
{
    return tx_run(d, TX_ROLLBACK);
}
static int sq_savepoint(struct cd_db *d)
{
    return tx_run(d, TX_SAVEPOINT);
}
static int sq_release(struct cd_db *d)
{
    return tx_run(d, TX_RELEASE);
}

static int sq_rollback_to(struct cd_db *d)
{
    return tx_run(d, TX_ROLLBACK_TO);
}

static int sq_in_tx(struct cd_db *d)
{
    return !sqlite3_get_autocommit(SQ(d)->db);
}

static int sq_exec_script(struct cd_db *d, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(SQ(d)->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    cd_error("store", "script: %s", msg ? msg : sqlite3_errmsg(SQ(d)->db));
    sqlite3_free(msg);
    return -1;
}

/* ---- connections ---------------------------------------------------- */

static void sq_close(struct cd_db *d)
{
    struct sq_db *c = SQ(d);

    if (!c)
        return;
    for (int i = 0; i < SQ__COUNT; i++) {
        if (c->stmts[i]) {
            sqlite3_finalize(c->stmts[i]->st);
            free(c->stmts[i]);
        }
    }
    for (int i = 0; i < TX__COUNT; i++)
        sqlite3_finalize(c->tx[i]);
    if (c->db && sqlite3_close(c->db) != SQLITE_OK)
        cd_error("store", "close: %s", sqlite3_errmsg(c->db));
    free(c);
}

static int pragma_cb(void *arg, int ncol, char **vals, char **names)
{
    char *out = arg;

    (void)names;
    if (ncol > 0 && vals[0])
        cd_strlcpy(out, vals[0], 16);
    return 0;
}

/*
 * The database holds token hashes, emails and payments: a file this
 * process creates is 0600 (SQLite alone would make it 0644 less the
 * umask). SQLite gives the -wal, -shm and -journal files the mode of the
 * database file, so they are private too. An existing file keeps its
 * mode, whatever an operator chose; ":memory:" has no file.
 */
static int create_private(const char *path, struct cd_error *err)
{
    int fd;

    if (strcmp(path, ":memory:") == 0)
        return 0;
    /* O_EXCL: never touches an existing file (or a symlink's target). */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd); /* SQLite reads an empty file as an empty database */
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                 "cannot create the database file: %s", strerror(errno));
    return -1;
}

/*
 * Page memory (docs/PERFORMANCE.md): B-tree pages stay in each
 * connection's page cache, the writer's larger (it reads the indexes
 * every job touches, on the one thread all writes wait for). No
 * mmap_size: measured, a 256 MiB mapping (and 32/8 MiB caches) gave no
 * CPU per request back at the benchmark's database size, and mapped pages
 * count in the process's RSS up to the size of the database (95 MiB at
 * the end of one run, against 26 MiB without), which a million accounts
 * would push past the 64 MiB target. With these sizes the caches add at
 * most 16 + 4 x 4 MiB.
 */
#define SQ_WRITER_CACHE_KIB "16384"
#define SQ_READER_CACHE_KIB "4096"
#define SQ_MEMORY_PRAGMAS(kib) "PRAGMA cache_size=-" kib ";"

/*
 * PRAGMA journal_mode=WAL on a database another connection is setting up
 * at the same moment (several processes or threads opening a fresh file)
 * can answer SQLITE_BUSY at once, without the busy handler: SQLite refuses
 * rather than wait where two lock upgrades could deadlock. Retried, a
 * millisecond apart and doubling, for the busy timeout in all.
 */
static int set_wal(struct sq_db *c, char mode[16], char **msg)
{
    int64_t waited_us = 0, step_us = 1000;
    int rc;

    for (;;) {
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", pragma_cb, mode,
                          msg);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return rc;
        if (waited_us >= (int64_t)BUSY_TIMEOUT_MS * 1000)
            return rc;
        sqlite3_free(*msg);
        *msg = NULL;
        usleep((useconds_t)step_us);
        waited_us += step_us;
        if (step_us < 100000)
            step_us *= 2;
    }
}

static int conn_setup(struct sq_db *c, int writable, struct cd_error *err)
{
    char mode[16] = "";
    char *msg = NULL;
    const char *setup;

    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (writable) {
        if (set_wal(c, mode, &msg) != SQLITE_OK)
            goto fail;
        if (strcmp(mode, "wal") != 0)
            cd_warn("store", "journal_mode is %s, not wal", mode);
        setup =
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;" SQ_MEMORY_PRAGMAS(
                SQ_WRITER_CACHE_KIB);
    } else {
        setup = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                "PRAGMA query_only=ON;" SQ_MEMORY_PRAGMAS(
                    SQ_READER_CACHE_KIB);
    }
    if (sqlite3_exec(c->db, setup, NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    if (writable)
        cd_sq_trace_attach(c->db);
    return 0;

fail:
    cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                 "cannot set up database connection: %s",
                 msg ? msg : sqlite3_errmsg(c->db));
    sqlite3_free(msg);
    return -1;
}

/*
 * The sub-journal (the pages a SAVEPOINT or a statement may have to put
 * back) kept in memory up to this size, where SQLite's default spills it
 * to a temporary file past 64 KiB. The writer runs every job of a batch
 * under its own savepoint (executor.c), so a keyed debit's ~16 pages went
 * through a file opened, written (two pwrite calls a page: four times the
 * WAL's) and unlinked per commit (docs/PERFORMANCE.md "What one job
 * executes"). The sub-journal is emptied when a job's savepoint is
 * released, so it holds one job's pages at a time; a job writing more
 * than this still spills to a file, as before.
 */
#define SQ_SUBJOURNAL_SPILL (1 << 20)

/*
 * Before SQLite's first use: no memory statistics (nothing reads them),
 * so an allocation takes no process-wide mutex - with it every reader
 * thread's statements met on one lock (docs/PERFORMANCE.md "Balance
 * reads"); the sub-journal's size in memory (above). Too late once
 * SQLite is initialised (SQLITE_MISUSE): harmless.
 */
static pthread_once_t sq_config_once = PTHREAD_ONCE_INIT;

static void sq_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SQ_SUBJOURNAL_SPILL);
}

static int sq_open(const char *path, int writable, struct cd_db **out,
                   struct cd_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    struct sq_db *c;

    *out = NULL;
    pthread_once(&sq_config_once, sq_config);
    if (!sqlite3_threadsafe()) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "sqlite3 was built without thread support");
        return -1;
    }
    if (writable) {
        flags |= SQLITE_OPEN_CREATE;
        if (create_private(path, err) != 0)
            return -1;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL, "no memory");
        return -1;
    }
    c->h.be = &cd_backend_sqlite;
    c->h.writable = writable;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "cannot open database: %s",
                     c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sq_close(&c->h);
        return -1;
    }
    if (conn_setup(c, writable, err) != 0) {
        sq_close(&c->h);
        return -1;
    }
    *out = &c->h;
    return 0;
}

static const struct cd_migration *sq_migrations(int *count)
{
    *count = cd_migrations_count;
    return cd_migrations;
}

const struct cd_backend cd_backend_sqlite = {
    .version = CD_BACKEND_VERSION,
    .name = "sqlite",
    .migrations = sq_migrations,
    .open = sq_open,
    .close = sq_close,
    .exec_script = sq_exec_script,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .in_tx = sq_in_tx,
    .prepare = sq_prepare,
    .finish = sq_finish,
    .bind_null = sq_bind_null,
    .bind_i64 = sq_bind_i64,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .step = sq_step,
    .column_is_null = sq_column_is_null,
    .column_i64 = sq_column_i64,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .changes = sq_changes,
    .error_class = sq_error_class,
    .errmsg = sq_errmsg,
};
