/*
 * executor.c - the engine-neutral half of the store: opening the database
 * through a backend (backend.h) and migrating it (migrate.c), the read
 * connection pool, and the write executor.
 *
 * Connections. One writer connection, used only by the writer thread
 * (and by cd_store_open before that thread starts, to migrate), and a
 * small pool of read connections handed out under a mutex.
 *
 * Executor (group commit). cd_store_write() puts a job on a queue (the job
 * lives on the caller's stack) and sleeps on the job's own condition
 * variable; cd_store_submit() puts the caller's job on the same queue and
 * returns, its completion called by the writer after the batch. The writer thread takes every queued job (up to max_batch),
 * opens one write transaction, runs each job under a SAVEPOINT (released
 * when the job returns 0, rolled back when it does not), COMMITs once and
 * then, under one lock, wakes every blocking caller of the batch; the
 * completions of submitted jobs then run on the writer thread, outside
 * the lock, in batch order. If the COMMIT fails, every job
 * that had succeeded is answered CD_STORE_ERROR: its writes are gone.
 */
#include "store/store_int.h"

#include <assert.h>
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
#define MAX_RETRIES 16

/* A blocking write (cd_store_write): the queued job (done NULL) and the
 * condition variable its caller sleeps on. */
struct cd_job {
    struct cd_store_async a;
    int done;
    pthread_cond_t cv; /* waited on with cd_store.mu */
};

struct cd_store {
    const struct cd_backend *be;
    struct cd_db *writer;

    /* executor: queue, stop flag and stats, all under mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    struct cd_store_async *head, *tail;
    int queued;   /* jobs on the queue */
    int inflight; /* callers inside cd_store_write, submitted jobs */
    pthread_cond_t idle_cv; /* inflight reached 0 while stopping */
    int stopping;
    int max_batch;
    struct cd_store_async **batch; /* max_batch slots, writer only */
    struct cd_store_stats stats;
    /* cd_store_fault: armed on the writer when it takes its next batch */
    int fault_op, fault_after, fault_pending;
    pthread_t thread;
    int thread_started;

    /* read pool, under rmu */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    struct cd_db **readers;
    int nreaders;
    struct cd_db **free_readers;
    int nfree;
};

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
static void fail_succeeded(struct cd_store_async **jobs, int from, int to)
{
    for (int i = from; i < to; i++)
        if (jobs[i]->rc == 0)
            jobs[i]->rc = CD_STORE_ERROR;
}

/* Runs j in the writer's open transaction under a SAVEPOINT, with its
 * caller's request and job ids on the writer's log lines: j's rc. *ran is
 * 0 (and nothing ran) when the savepoint could not be taken. */
static int run_job(struct cd_db *c, struct cd_tx *tx,
                   struct cd_store_async *j, int *ran)
{
    int rc;

    *ran = 0;
    if (cd_db_txo(c, CD_FAULT_SAVEPOINT, c->be->savepoint,
                  "batch: savepoint") != 0)
        return CD_STORE_ERROR;
    *ran = 1;
    cd_log_set_request_id(j->request_id);
    cd_log_set_job_id(j->job_id);
    rc = j->fn(tx, j->arg);
    cd_log_set_request_id(NULL);
    cd_log_set_job_id(NULL);
    return rc;
}

/* A job that ran (the transaction still open): its savepoint released
 * when rc is 0, else rolled back to and released. Returns the job's final
 * rc; *isolated is 0 when the rollback to its savepoint failed, so its
 * writes cannot be told from the batch's. */
static int end_job(struct cd_db *c, int rc, int *isolated)
{
    const struct cd_backend *be = c->be;

    *isolated = 1;
    if (rc == 0 &&
        cd_db_txo(c, CD_FAULT_RELEASE, be->release, "batch: release") != 0)
        rc = CD_STORE_ERROR;
    if (rc != 0 &&
        (cd_db_txc(c, be->rollback_to, "batch: rollback to") != 0 ||
         cd_db_txc(c, be->release, "batch: release") != 0))
        *isolated = 0;
    return rc;
}

/* Runs one batch in one transaction; sets every job's rc. Returns the
 * number of COMMITs that succeeded. */
static int run_batch(struct cd_store *s, struct cd_store_async **jobs, int n)
{
    struct cd_db *c = s->writer;
    const struct cd_backend *be = c->be;
    struct cd_tx tx = {.db = c, .writable = 1};
    int first = 0; /* first job of the open transaction */
    int commits = 0;

    for (int i = 0; i < n; i++)
        jobs[i]->rc = CD_STORE_ERROR;
    if (cd_db_tx_begin(c, 1, "batch: begin") != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        struct cd_store_async *j = jobs[i];
        int rc, ran, isolated;

        rc = run_job(c, &tx, j, &ran);
        if (!ran) {
            j->rc = CD_STORE_ERROR;
            continue;
        }
        if (c->retry) {
            /* The transaction is lost (serialization failure, deadlock):
             * nothing of it commits; run_batch_retrying runs it again. */
            for (int k = 0; k < n; k++)
                jobs[k]->rc = CD_STORE_ERROR;
            cd_db_rollback_open(c, "batch: rollback");
            return 0;
        }
        if (!be->in_tx(c)) {
            /* The engine rolled the whole transaction back (I/O error,
             * out of memory...): every job since BEGIN lost its writes. */
            cd_error("store", "batch: transaction rolled back by %s",
                     be->name);
            fail_succeeded(jobs, first, i);
            j->rc = rc != 0 ? rc : CD_STORE_ERROR;
            first = i + 1;
            if (i + 1 < n && cd_db_tx_begin(c, 1, "batch: begin") != 0) {
                for (int k = i + 1; k < n; k++)
                    jobs[k]->rc = CD_STORE_ERROR;
                return commits;
            }
            continue;
        }
        rc = end_job(c, rc, &isolated);
        j->rc = rc;
        if (!isolated) {
            /* Cannot isolate this job: give up the whole batch. */
            fail_succeeded(jobs, first, i);
            for (int k = i + 1; k < n; k++)
                jobs[k]->rc = CD_STORE_ERROR;
            cd_db_rollback_open(c, "batch: rollback");
            return commits;
        }
    }
    if (first >= n)
        return commits;
    if (cd_db_txo(c, CD_FAULT_COMMIT, be->commit, "batch: commit") != 0) {
        cd_db_rollback_open(c, "batch: rollback");
        fail_succeeded(jobs, first, n);
        return commits;
    }
    return commits + 1;
}

/* A pause before attempt + 1: up to 1, 2, 4 ... 64 ms, at random within
 * the bound, so nodes that collided do not collide again in step. */
static void retry_pause(int attempt)
{
    uint32_t r;
    unsigned bound = 1000u << (attempt < 6 ? attempt : 6);

    cd_random_bytes(&r, sizeof(r));
    usleep((useconds_t)(bound / 2 + r % (bound / 2 + 1)));
}

/* Counts a retry and rolls the lost transaction back. */
static void lost_tx(struct cd_store *s)
{
    cd_db_rollback_open(s->writer, "batch: rollback for retry");
    pthread_mutex_lock(&s->mu);
    s->stats.retries++;
    pthread_mutex_unlock(&s->mu);
}

/* run_batch of jobs[0..n), again while the backend says the transaction
 * was lost to a serialization failure, deadlock or lock timeout
 * (cd_db.retry), from attempt `from` to MAX_RETRIES with a short growing,
 * jittered pause. run_batch commits nothing when it sees retry set (it
 * stops at once), so each attempt runs the whole batch again. */
static int run_retrying(struct cd_store *s, struct cd_store_async **jobs,
                        int n, int from)
{
    int commits = 0;

    for (int attempt = from;; attempt++) {
        s->writer->retry = 0;
        commits = run_batch(s, jobs, n);
        if (!s->writer->retry || attempt >= MAX_RETRIES)
            break;
        lost_tx(s);
        retry_pause(attempt);
    }
    return commits;
}

/* A batch, and when another writer (a node on the same database) made it
 * lose its transaction, its jobs again one transaction each: a batch
 * reads and writes the union of its jobs' rows, so run again whole it
 * tends to conflict again, while alone each job conflicts only on its
 * own rows (docs/SCALING.md measures it). */
static int run_batch_retrying(struct cd_store *s,
                              struct cd_store_async **jobs, int n)
{
    int commits;

    s->writer->retry = 0;
    commits = run_batch(s, jobs, n);
    if (!s->writer->retry)
        return commits;
    lost_tx(s);
    retry_pause(0);
    if (n == 1)
        return run_retrying(s, jobs, 1, 1);
    commits = 0;
    for (int i = 0; i < n; i++)
        commits += run_retrying(s, &jobs[i], 1, 1);
    return commits;
}

/* Takes the next batch off the queue (under mu); 0 when stopping with
 * nothing left. */
static int take_batch(struct cd_store *s)
{
    int n = 0;

    while (!s->head && !s->stopping)
        pthread_cond_wait(&s->work_cv, &s->mu);
    while (s->head && n < s->max_batch) {
        s->batch[n++] = s->head;
        s->head = s->head->next;
        s->queued--;
    }
    if (!s->head)
        s->tail = NULL;
    assert(n <= s->max_batch && s->queued >= 0);
    assert((s->head == NULL) == (s->tail == NULL));
    if (n && s->fault_pending) {
        s->writer->fault_op = s->fault_op;
        s->writer->fault_after = s->fault_after;
        s->fault_pending = 0;
    }
    return n;
}

/* After the batch (under mu): wakes its blocking callers, counts it, and
 * returns its submitted jobs as a list, in batch order, for their
 * completions - called outside the lock. */
static struct cd_store_async *settle_batch(struct cd_store *s, int n,
                                           int commits)
{
    struct cd_store_async *list = NULL, **tail = &list;
    int failed = 0, nasync = 0;

    for (int i = 0; i < n; i++) {
        struct cd_store_async *a = s->batch[i];

        if (a->rc != 0)
            failed++;
        if (!a->done) { /* cd_store_write's: its caller sleeps */
            ((struct cd_job *)a)->done = 1;
            pthread_cond_signal(&((struct cd_job *)a)->cv);
            continue;
        }
        a->next = NULL;
        *tail = a;
        tail = &a->next;
        nasync++;
    }
    /* The writer is joined before close frees s: the completions below
     * may still run after inflight reaches 0. */
    s->inflight -= nasync;
    if (nasync && s->inflight == 0 && s->stopping)
        pthread_cond_signal(&s->idle_cv);
    s->stats.commits += (uint64_t)commits;
    s->stats.jobs += (uint64_t)n;
    s->stats.failed_jobs += (uint64_t)failed;
    if ((uint64_t)n > s->stats.max_batch)
        s->stats.max_batch = (uint64_t)n;
    s->stats.batch_hist[hist_bucket(n)]++;
    return list;
}

static void *writer_main(void *arg)
{
    struct cd_store *s = arg;

    for (;;) {
        struct cd_store_async *done;
        int n, commits;

        pthread_mutex_lock(&s->mu);
        n = take_batch(s);
        pthread_mutex_unlock(&s->mu);
        if (n == 0)
            break;

        commits = run_batch_retrying(s, s->batch, n);
        /* One COMMIT at most per job: a transaction holds one or more. */
        assert(commits >= 0 && commits <= n);

        pthread_mutex_lock(&s->mu);
        done = settle_batch(s, n, commits);
        pthread_mutex_unlock(&s->mu);
        while (done) {
            struct cd_store_async *a = done;

            done = a->next; /* a may be gone once its completion ran */
            a->done(a->done_arg, a->rc);
        }
    }
    return NULL;
}

/* Queues a (under mu); -1 after close. */
static int enqueue(struct cd_store *s, struct cd_store_async *a)
{
    if (s->stopping) {
        cd_error("store", "write after close");
        return -1;
    }
    a->next = NULL;
    if (s->tail)
        s->tail->next = a;
    else
        s->head = a;
    s->tail = a;
    s->queued++;
    s->inflight++;
    pthread_cond_signal(&s->work_cv);
    return 0;
}

int cd_store_submit(struct cd_store *s, struct cd_store_async *a)
{
    const char *rid = cd_log_request_id(), *jid = cd_log_job_id();
    int rc;

    if (!s || !a || !a->fn || !a->done)
        return -1;
    /* The caller's log ids are its thread's: copied, it does not wait. */
    cd_strlcpy(a->ids_[0], rid ? rid : "", sizeof(a->ids_[0]));
    cd_strlcpy(a->ids_[1], jid ? jid : "", sizeof(a->ids_[1]));
    a->request_id = rid ? a->ids_[0] : NULL;
    a->job_id = jid ? a->ids_[1] : NULL;
    a->rc = CD_STORE_ERROR;
    pthread_mutex_lock(&s->mu);
    rc = enqueue(s, a);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int cd_store_write(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    struct cd_job job = {.a = {.fn = fn,
                               .arg = arg,
                               .request_id = cd_log_request_id(),
                               .job_id = cd_log_job_id()}};
    int rc;

    if (!s || !fn)
        return CD_STORE_ERROR;
    if (pthread_equal(pthread_self(), s->thread)) {
        cd_error("store", "cd_store_write called from inside a job");
        return CD_STORE_ERROR;
    }
    pthread_cond_init(&job.cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (enqueue(s, &job.a) != 0) {
        pthread_mutex_unlock(&s->mu);
        pthread_cond_destroy(&job.cv);
        return CD_STORE_ERROR;
    }
    while (!job.done)
        pthread_cond_wait(&job.cv, &s->mu);
    assert(job.done && s->inflight > 0);
    rc = job.a.rc;
    /* cd_store_close() frees s only once no caller is left in here. */
    if (--s->inflight == 0 && s->stopping)
        pthread_cond_signal(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&job.cv);
    return rc;
}

/* ---- reads ---------------------------------------------------------- */

static struct cd_db *reader_take(struct cd_store *s)
{
    struct cd_db *c;

    pthread_mutex_lock(&s->rmu);
    while (s->nfree == 0)
        pthread_cond_wait(&s->rcv, &s->rmu);
    c = s->free_readers[--s->nfree];
    pthread_mutex_unlock(&s->rmu);
    return c;
}

static void reader_give(struct cd_store *s, struct cd_db *c)
{
    pthread_mutex_lock(&s->rmu);
    s->free_readers[s->nfree++] = c;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* fn on a reader: in a read-only transaction, or (one statement) in the
 * engine's own transaction of that statement. */
static int read_on(struct cd_store *s, int one, cd_store_job_fn fn, void *arg)
{
    struct cd_db *c;
    struct cd_tx tx;
    int rc;

    if (!s || !fn)
        return CD_STORE_ERROR;
    c = reader_take(s);
    tx.db = c;
    tx.writable = 0;
    if (!one && cd_db_tx_begin(c, 0, "read: begin") != 0) {
        reader_give(s, c);
        return CD_STORE_ERROR;
    }
    rc = fn(&tx, arg);
    if (one && c->be->in_tx(c))
        cd_db_rollback_open(c, "read: rollback"); /* never left open */
    else if (c->be->in_tx(c) &&
             cd_db_txc(c, c->be->commit, "read: commit") != 0)
        cd_db_rollback_open(c, "read: rollback");
    reader_give(s, c);
    return rc;
}

int cd_store_read(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    return read_on(s, 0, fn, arg);
}

int cd_store_read_one(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    return read_on(s, 1, fn, arg);
}

static int ping_fn(struct cd_tx *tx, void *arg)
{
    struct cd_stmt *st = cd_sq_get(tx->db, SQ_PING);
    int rc;

    (void)arg;
    if (!st)
        return CD_STORE_ERROR;
    rc = cd_step(st) == CD_STEP_ROW ? 0 : CD_STORE_ERROR;
    cd_sq_put(tx->db, SQ_PING, st);
    return rc;
}

int cd_store_ping(struct cd_store *s)
{
    return cd_store_read(s, ping_fn, NULL) == 0 ? 0 : -1;
}

static int version_fn(struct cd_tx *tx, void *arg)
{
    int v = cd_db_schema_version(tx->db);

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

void cd_store_fault(struct cd_store *s, enum cd_store_fault op, int after)
{
    pthread_mutex_lock(&s->mu);
    s->fault_op = (int)op;
    s->fault_after = after;
    s->fault_pending = 1;
    pthread_mutex_unlock(&s->mu);
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
        s->be->close(s->readers[i]);
    if (s->writer)
        s->be->close(s->writer);
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

/* Opens the writer (and migrates) and the read connections. */
static int store_connect(struct cd_store *s, const char *target, int nread,
                         struct cd_error *err)
{
    if (s->be->open(target, 1, &s->writer, err) != 0)
        return -1;
    if (cd_store_migrate(s->writer, err) != 0)
        return -1;
    for (int i = 0; i < nread; i++) {
        if (s->be->open(target, 0, &s->readers[i], err) != 0)
            return -1;
        s->nreaders++;
        s->free_readers[s->nfree++] = s->readers[i];
    }
    return 0;
}

struct cd_store *cd_store_open(const struct cd_store_config *cfg,
                               struct cd_error *err)
{
    const struct cd_backend *be;
    struct cd_store *s;
    int nread, maxb;

    if (!(be = cd_backend_for(cfg ? cfg->path : NULL, err)))
        return NULL;
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
    s->be = be;
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
    if (store_connect(s, cfg->path, nread, err) != 0)
        goto fail;
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
