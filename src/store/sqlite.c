/*
 * sqlite.c - the SQLite backend's engine room: opening and migrating the
 * database, the read connection pool, and the write executor.
 *
 * Connections. One writer connection, used only by the writer thread
 * (and by cd_store_open before that thread starts, to migrate), and a
 * small pool of read connections (query_only) handed out under a mutex.
 * All run in WAL mode, so readers see the last committed snapshot and never
 * wait for the writer; synchronous=FULL makes each COMMIT durable.
 *
 * Executor (group commit). cd_store_write() puts a job on a queue (the job
 * lives on the caller's stack) and sleeps on the job's own condition
 * variable. The writer thread takes every queued job (up to max_batch),
 * opens one BEGIN IMMEDIATE, runs each job under SAVEPOINT j (released
 * when the job returns 0, rolled back when it does not), COMMITs once and
 * then wakes every caller of the batch. If the COMMIT fails, every job
 * that had succeeded is answered CD_STORE_ERROR: its writes are gone.
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/migrations.h"
#include "util/log.h"
#include "util/util.h"

#define DEFAULT_READ_CONNS 4
#define MAX_READ_CONNS 64
#define DEFAULT_MAX_BATCH 512
#define MAX_MAX_BATCH 8192
#define BUSY_TIMEOUT_MS 5000

struct cd_job {
    cd_store_job_fn fn;
    void *arg;
    int rc;
    int done;
    pthread_cond_t cv; /* waited on with cd_store.mu */
    struct cd_job *next;
};

struct cd_store {
    struct cd_conn writer;

    /* executor: queue, stop flag and stats, all under mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    struct cd_job *head, *tail;
    int queued;   /* jobs on the queue */
    int inflight; /* callers inside cd_store_write */
    pthread_cond_t idle_cv; /* inflight reached 0 while stopping */
    int stopping;
    int max_batch;
    struct cd_job **batch; /* max_batch slots, writer thread only */
    struct cd_store_stats stats;
    pthread_t thread;
    int thread_started;

    /* read pool, under rmu */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    struct cd_conn *readers;
    int nreaders;
    struct cd_conn **free_readers;
    int nfree;
};

/* ---- statements ----------------------------------------------------- */

sqlite3_stmt *cd_sq_get(struct cd_conn *c, enum cd_sq_stmt id)
{
    sqlite3_stmt *cached = c->stmts[id];
    sqlite3_stmt *st = NULL;
    int rc;

    if (cached && !sqlite3_stmt_busy(cached))
        return cached;
    rc = sqlite3_prepare_v3(c->db, cd_sq_sql[id], -1,
                            cached ? 0 : SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK || !st) {
        cd_error("store", "prepare statement %d: %s", (int)id,
                 sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
        return NULL;
    }
    if (!cached)
        c->stmts[id] = st;
    return st;
}

void cd_sq_put(struct cd_conn *c, enum cd_sq_stmt id, sqlite3_stmt *st)
{
    if (!st)
        return;
    if (st == c->stmts[id]) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
}

int cd_sq_exec(struct cd_conn *c, enum cd_sq_stmt id, const char *what)
{
    sqlite3_stmt *st = cd_sq_get(c, id);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
        cd_sq_put(c, id, st);
        return CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return CD_STORE_OK;
}

void cd_sq_finalize_all(struct cd_conn *c)
{
    for (int i = 0; i < SQ__COUNT; i++) {
        sqlite3_finalize(c->stmts[i]);
        c->stmts[i] = NULL;
    }
}

/* ---- connections ---------------------------------------------------- */

static int pragma_cb(void *arg, int ncol, char **vals, char **names)
{
    char *out = arg;

    if (ncol > 0 && vals[0])
        cd_strlcpy(out, vals[0], 16);
    return 0;
}

static void conn_close(struct cd_conn *c)
{
    if (!c->db)
        return;
    cd_sq_finalize_all(c);
    if (sqlite3_close(c->db) != SQLITE_OK)
        cd_error("store", "close: %s", sqlite3_errmsg(c->db));
    c->db = NULL;
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

/* Opens one connection with the settings every connection shares. */
static int conn_open(struct cd_conn *c, const char *path, int writable,
                     struct cd_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    char mode[16] = "";
    char *msg = NULL;
    const char *setup;

    memset(c, 0, sizeof(*c));
    c->writable = writable;
    if (writable) {
        flags |= SQLITE_OPEN_CREATE;
        if (create_private(path, err) != 0)
            return -1;
    }
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "cannot open database: %s",
                     c->db ? sqlite3_errmsg(c->db) : "out of memory");
        conn_close(c);
        return -1;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (writable) {
        if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", pragma_cb, mode,
                         &msg) != SQLITE_OK)
            goto fail;
        if (strcmp(mode, "wal") != 0)
            cd_warn("store", "journal_mode is %s, not wal", mode);
        setup = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";
    } else {
        setup = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                "PRAGMA query_only=ON;";
    }
    if (sqlite3_exec(c->db, setup, NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    return 0;

fail:
    cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                 "cannot set up database connection: %s",
                 msg ? msg : sqlite3_errmsg(c->db));
    sqlite3_free(msg);
    conn_close(c);
    return -1;
}

/* ---- migrations ----------------------------------------------------- */

/* The highest applied version on c, or -1; CD_STORE_ERROR-ish -2 on
 * failure. */
static int applied_version(struct cd_conn *c)
{
    sqlite3_stmt *st = cd_sq_get(c, SQ_SCHEMA_VERSION);
    int v = -2;

    if (!st)
        return -2;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else
        cd_error("store", "schema version: %s", sqlite3_errmsg(c->db));
    cd_sq_put(c, SQ_SCHEMA_VERSION, st);
    return v;
}

static int record_migration(struct cd_conn *c, const struct cd_migration *m)
{
    sqlite3_stmt *st = cd_sq_get(c, SQ_MIGRATION_RECORD);
    int rc;

    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cd_now());
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        cd_error("store", "record migration: %s", sqlite3_errmsg(c->db));
    cd_sq_put(c, SQ_MIGRATION_RECORD, st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Applies every migration newer than the database, each in its own
 * transaction; refuses a database newer than this binary. */
static int migrate(struct cd_conn *c, struct cd_error *err)
{
    int known = 0;
    char *msg = NULL;

    for (int i = 0; i < cd_migrations_count; i++) {
        if (cd_migrations[i].version <= known)
            return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                                "migration %s is out of order",
                                cd_migrations[i].name);
        known = cd_migrations[i].version;
    }
    if (sqlite3_exec(c->db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL,"
                     " applied_at INTEGER NOT NULL)",
                     NULL, NULL, &msg) != SQLITE_OK) {
        cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                     "cannot create schema_migrations: %s",
                     msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    for (int i = 0;; i++) {
        const struct cd_migration *m =
            i < cd_migrations_count ? &cd_migrations[i] : NULL;
        int cur;

        /* Each step re-reads the version under the write lock, so two
         * processes migrating at once apply each migration once. */
        if (cd_sq_exec(c, SQ_BEGIN_IMMEDIATE, "migrate: begin") != 0)
            return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                                "cannot lock the database to migrate");
        cur = applied_version(c);
        if (cur == -2)
            goto fail;
        if (cur > known) {
            cd_sq_exec(c, SQ_ROLLBACK, "migrate: rollback");
            return cd_error_set(err, CD_EK_INTERNAL, "store_schema_newer",
                                NULL,
                                "database schema version %d is newer than "
                                "this binary knows (%d)",
                                cur, known);
        }
        if (!m) {
            cd_sq_exec(c, SQ_ROLLBACK, "migrate: rollback");
            return 0;
        }
        if (m->version <= cur) {
            cd_sq_exec(c, SQ_ROLLBACK, "migrate: rollback");
            continue;
        }
        if (sqlite3_exec(c->db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
            cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                         "migration %s failed: %s", m->name,
                         msg ? msg : "?");
            sqlite3_free(msg);
            cd_sq_exec(c, SQ_ROLLBACK, "migrate: rollback");
            return -1;
        }
        if (record_migration(c, m) != 0)
            goto fail;
        if (cd_sq_exec(c, SQ_COMMIT, "migrate: commit") != 0)
            goto fail;
        cd_info("store", "applied migration %s", m->name);
    }

fail:
    if (!sqlite3_get_autocommit(c->db))
        cd_sq_exec(c, SQ_ROLLBACK, "migrate: rollback");
    return cd_error_set(err, CD_EK_INTERNAL, "store_migrate", NULL,
                        "migration failed (see log)");
}

/* ---- executor ------------------------------------------------------- */

static int hist_bucket(int n)
{
    int b = 0;

    while (n > 1 && b < 9) {
        n >>= 1;
        b++;
    }
    return b;
}

/* Marks jobs [from, to) that had succeeded as failed: their transaction
 * is gone. */
static void fail_succeeded(struct cd_job **jobs, int from, int to)
{
    for (int i = from; i < to; i++)
        if (jobs[i]->rc == 0)
            jobs[i]->rc = CD_STORE_ERROR;
}

/* Runs one batch in one transaction; sets every job's rc. Returns the
 * number of COMMITs that succeeded. */
static int run_batch(struct cd_store *s, struct cd_job **jobs, int n)
{
    struct cd_conn *c = &s->writer;
    struct cd_tx tx = {.conn = c, .writable = 1};
    int first = 0; /* first job of the open transaction */
    int commits = 0;

    for (int i = 0; i < n; i++)
        jobs[i]->rc = CD_STORE_ERROR;
    if (cd_sq_exec(c, SQ_BEGIN_IMMEDIATE, "batch: begin") != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        struct cd_job *j = jobs[i];
        int rc;

        if (cd_sq_exec(c, SQ_SAVEPOINT, "batch: savepoint") != 0) {
            j->rc = CD_STORE_ERROR;
            continue;
        }
        rc = j->fn(&tx, j->arg);
        if (sqlite3_get_autocommit(c->db)) {
            /* SQLite rolled the whole transaction back (I/O error, out
             * of memory...): every job since BEGIN lost its writes. */
            cd_error("store", "batch: transaction rolled back by sqlite");
            fail_succeeded(jobs, first, i);
            j->rc = rc != 0 ? rc : CD_STORE_ERROR;
            first = i + 1;
            if (i + 1 < n &&
                cd_sq_exec(c, SQ_BEGIN_IMMEDIATE, "batch: begin") != 0) {
                for (int k = i + 1; k < n; k++)
                    jobs[k]->rc = CD_STORE_ERROR;
                return commits;
            }
            continue;
        }
        if (rc == 0 && cd_sq_exec(c, SQ_RELEASE, "batch: release") != 0)
            rc = CD_STORE_ERROR;
        if (rc != 0) {
            if (cd_sq_exec(c, SQ_ROLLBACK_TO, "batch: rollback to") != 0 ||
                cd_sq_exec(c, SQ_RELEASE, "batch: release") != 0) {
                /* Cannot isolate this job: give up the whole batch. */
                j->rc = rc;
                fail_succeeded(jobs, first, i);
                for (int k = i + 1; k < n; k++)
                    jobs[k]->rc = CD_STORE_ERROR;
                if (!sqlite3_get_autocommit(c->db))
                    cd_sq_exec(c, SQ_ROLLBACK, "batch: rollback");
                return commits;
            }
        }
        j->rc = rc;
    }
    if (first >= n)
        return commits;
    if (cd_sq_exec(c, SQ_COMMIT, "batch: commit") != 0) {
        if (!sqlite3_get_autocommit(c->db))
            cd_sq_exec(c, SQ_ROLLBACK, "batch: rollback");
        fail_succeeded(jobs, first, n);
        return commits;
    }
    return commits + 1;
}

static void *writer_main(void *arg)
{
    struct cd_store *s = arg;

    for (;;) {
        int n = 0, commits, failed = 0;

        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->head) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        while (s->head && n < s->max_batch) {
            s->batch[n++] = s->head;
            s->head = s->head->next;
            s->queued--;
        }
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mu);

        commits = run_batch(s, s->batch, n);

        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < n; i++) {
            if (s->batch[i]->rc != 0)
                failed++;
            s->batch[i]->done = 1;
            pthread_cond_signal(&s->batch[i]->cv);
        }
        s->stats.commits += (uint64_t)commits;
        s->stats.jobs += (uint64_t)n;
        s->stats.failed_jobs += (uint64_t)failed;
        if ((uint64_t)n > s->stats.max_batch)
            s->stats.max_batch = (uint64_t)n;
        s->stats.batch_hist[hist_bucket(n)]++;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

int cd_store_write(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    struct cd_job job = {.fn = fn, .arg = arg};
    int rc;

    if (!s || !fn)
        return CD_STORE_ERROR;
    if (pthread_equal(pthread_self(), s->thread)) {
        cd_error("store", "cd_store_write called from inside a job");
        return CD_STORE_ERROR;
    }
    pthread_cond_init(&job.cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        pthread_cond_destroy(&job.cv);
        cd_error("store", "write after close");
        return CD_STORE_ERROR;
    }
    if (s->tail)
        s->tail->next = &job;
    else
        s->head = &job;
    s->tail = &job;
    s->queued++;
    s->inflight++;
    pthread_cond_signal(&s->work_cv);
    while (!job.done)
        pthread_cond_wait(&job.cv, &s->mu);
    rc = job.rc;
    /* cd_store_close() frees s only once no caller is left in here. */
    if (--s->inflight == 0 && s->stopping)
        pthread_cond_signal(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&job.cv);
    return rc;
}

/* ---- reads ---------------------------------------------------------- */

static struct cd_conn *reader_take(struct cd_store *s)
{
    struct cd_conn *c;

    pthread_mutex_lock(&s->rmu);
    while (s->nfree == 0)
        pthread_cond_wait(&s->rcv, &s->rmu);
    c = s->free_readers[--s->nfree];
    pthread_mutex_unlock(&s->rmu);
    return c;
}

static void reader_give(struct cd_store *s, struct cd_conn *c)
{
    pthread_mutex_lock(&s->rmu);
    s->free_readers[s->nfree++] = c;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

int cd_store_read(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    struct cd_conn *c;
    struct cd_tx tx;
    int rc;

    if (!s || !fn)
        return CD_STORE_ERROR;
    c = reader_take(s);
    tx.conn = c;
    tx.writable = 0;
    if (cd_sq_exec(c, SQ_BEGIN, "read: begin") != 0) {
        reader_give(s, c);
        return CD_STORE_ERROR;
    }
    rc = fn(&tx, arg);
    if (!sqlite3_get_autocommit(c->db) &&
        cd_sq_exec(c, SQ_COMMIT, "read: commit") != 0 &&
        !sqlite3_get_autocommit(c->db))
        cd_sq_exec(c, SQ_ROLLBACK, "read: rollback");
    reader_give(s, c);
    return rc;
}

static int ping_fn(struct cd_tx *tx, void *arg)
{
    sqlite3_stmt *st = cd_sq_get(tx->conn, SQ_PING);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : CD_STORE_ERROR;
    cd_sq_put(tx->conn, SQ_PING, st);
    return rc;
}

int cd_store_ping(struct cd_store *s)
{
    return cd_store_read(s, ping_fn, NULL) == 0 ? 0 : -1;
}

static int version_fn(struct cd_tx *tx, void *arg)
{
    int v = applied_version(tx->conn);

    *(int *)arg = v < -1 ? -1 : v;
    return 0;
}

int cd_store_schema_version(struct cd_store *s)
{
    int v = -1;

    if (cd_store_read(s, version_fn, &v) != 0)
        return -1;
    return v;
}

int cd_store_queue_depth(struct cd_store *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->queued;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void cd_store_get_stats(struct cd_store *s, struct cd_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

/* ---- open and close ------------------------------------------------- */

static void store_free(struct cd_store *s)
{
    for (int i = 0; i < s->nreaders; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    free(s->readers);
    free(s->free_readers);
    free(s->batch);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    free(s);
}

struct cd_store *cd_store_open(const struct cd_store_config *cfg,
                               struct cd_error *err)
{
    struct cd_store *s;
    int nread, maxb;

    if (!cfg || !cfg->path || !cfg->path[0]) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "no database path");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "sqlite3 was built without thread support");
        return NULL;
    }
    nread = cfg->read_conns > 0 ? cfg->read_conns : DEFAULT_READ_CONNS;
    if (nread > MAX_READ_CONNS)
        nread = MAX_READ_CONNS;
    maxb = cfg->max_batch > 0 ? cfg->max_batch : DEFAULT_MAX_BATCH;
    if (maxb > MAX_MAX_BATCH)
        maxb = MAX_MAX_BATCH;

    s = calloc(1, sizeof(*s));
    if (!s) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL, "no memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    s->max_batch = maxb;
    s->batch = calloc((size_t)maxb, sizeof(*s->batch));
    s->readers = calloc((size_t)nread, sizeof(*s->readers));
    s->free_readers = calloc((size_t)nread, sizeof(*s->free_readers));
    if (!s->batch || !s->readers || !s->free_readers) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL, "no memory");
        goto fail;
    }
    if (conn_open(&s->writer, cfg->path, 1, err) != 0)
        goto fail;
    if (migrate(&s->writer, err) != 0)
        goto fail;
    for (int i = 0; i < nread; i++) {
        if (conn_open(&s->readers[i], cfg->path, 0, err) != 0)
            goto fail;
        s->nreaders++;
        s->free_readers[s->nfree++] = &s->readers[i];
    }
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                     "cannot start the writer thread");
        goto fail;
    }
    s->thread_started = 1;
    return s;

fail:
    store_free(s);
    return NULL;
}

void cd_store_close(struct cd_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    /* Every queued job has run; wait for their callers to leave. */
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    store_free(s);
}
