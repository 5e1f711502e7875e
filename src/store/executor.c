/*
 * executor.c - the engine-neutral half of the store: opening the database
 * through a backend (backend.h) and migrating it (migrate.c), the read
 * connection pool, and the write executor.
 *
 * Connections. One writer connection per writer thread (one with SQLite,
 * cd_store_config.writers with PostgreSQL), each used only by its thread
 * (the first also by cd_store_open before the threads start, to
 * migrate), and a small pool of read connections handed out under a
 * mutex.
 *
 * Writers. Each writer thread has its own queue. A job with a key
 * (cd_store_async.key, cd_store_write_keyed) goes to the writer the key
 * hashes to, so one account's jobs keep their order on one connection and
 * two writers rarely touch the same rows; a job without one goes to the
 * writers in turn. Jobs of different writers run in parallel transactions:
 * correctness rests on what makes several nodes on one database correct
 * (guarded statements, unique keys, SERIALIZABLE), and a batch that loses
 * its transaction to another writer is retried like one lost to another
 * node (run_batch_retrying; creditd_store_retries_total counts both). A
 * job lost ALONE_AFTER times runs its further attempts with the other
 * writers stopped between batches (the `alone` rwlock).
 *
 * Executor (group commit). cd_store_write() puts a job on a writer's queue
 * (the job lives on the caller's stack) and sleeps on the job's own
 * condition variable; cd_store_submit() puts the caller's job on a queue
 * and returns, its completion called by the writer after the batch. A
 * writer thread takes every job of its queue (up to its limit, at most
 * max_batch: halved after a lost batch, adapt_limit), opens one write
 * transaction, runs each job under a SAVEPOINT (batch.c; released
 * when the job returns 0, rolled back when it does not), COMMITs once and
 * then, under one lock, wakes every blocking caller of the batch; the
 * completions of submitted jobs then run on that writer thread, outside
 * the lock, in batch order. If the COMMIT fails, every job
 * that had succeeded is answered CD_STORE_ERROR: its writes are gone.
 */
#include "store/store_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/batch.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/util.h"

#define DEFAULT_READ_CONNS 4
#define MAX_READ_CONNS 64
#define DEFAULT_MAX_BATCH 512
#define MAX_MAX_BATCH 8192
#define MAX_RETRIES 16
/* A job lost this many times runs its next attempts alone on the node */
#define ALONE_AFTER 3
#define MAX_WRITERS 32

/* A blocking write (cd_store_write): the queued job (done NULL) and the
 * condition variable its caller sleeps on. */
struct cd_job {
    struct cd_store_async a;
    int done;
    pthread_cond_t cv; /* waited on with cd_store.mu */
};

/* A writer thread, its connection and its queue (the queue under
 * cd_store.mu). */
struct cd_writer {
    struct cd_store *s;
    struct cd_db *db;
    pthread_cond_t work_cv;
    struct cd_store_async *head, *tail;
    int queued;                    /* jobs on this queue */
    struct cd_store_async **batch; /* max_batch slots, this thread only */
    int limit; /* most jobs of its next batch (1..max_batch): halved when
                  a batch lost its transaction, one more after a full one
                  committed; under mu */
    pthread_t thread;
    int started;
};

struct cd_store {
    const struct cd_backend *be;
    struct cd_writer *w;
    int nwriters;
    unsigned next_writer; /* the next key-less job's writer */

    /* executor: queues, stop flag and stats, all under mu */
    pthread_mutex_t mu;
    /* Held shared by a writer while it runs a batch, exclusively by one
     * whose job lost ALONE_AFTER times (run_retrying); writer-preferring */
    pthread_rwlock_t alone;
    int queued;   /* jobs on every queue */
    int inflight; /* callers inside cd_store_write, submitted jobs */
    pthread_cond_t idle_cv; /* inflight reached 0 while stopping */
    int stopping;
    int max_batch;
    struct cd_store_stats stats;
    /* cd_store_fault: armed on the writer that takes the next batch */
    int fault_op, fault_after, fault_pending;

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
static void lost_tx(struct cd_store *s, struct cd_db *c)
{
    cd_db_rollback_open(c, "batch: rollback for retry");
    pthread_mutex_lock(&s->mu);
    s->stats.retries++;
    pthread_mutex_unlock(&s->mu);
}

/* cd_store_batch_run of jobs[0..n), again while the backend says the
 * transaction was lost to a serialization failure, deadlock or lock
 * timeout (cd_db.retry), from attempt `from` to MAX_RETRIES with a short
 * growing, jittered pause; from attempt ALONE_AFTER on with no other
 * writer of this node running. cd_store_batch_run commits nothing when it
 * sees retry set (it stops at once), so each attempt runs the whole batch
 * again. Called with s->alone held shared, and returns so. */
static int run_retrying(struct cd_writer *w, struct cd_store_async **jobs,
                        int n, int from)
{
    struct cd_store *s = w->s;
    int commits = 0, alone = 0;

    for (int attempt = from;; attempt++) {
        if (attempt == ALONE_AFTER && s->nwriters > 1) {
            /* Lost again and again, mostly to this node's other writers
             * (SERIALIZABLE's page-level read locks): their batches wait
             * while it runs, so only other nodes can still make it lose. */
            pthread_rwlock_unlock(&s->alone);
            pthread_rwlock_wrlock(&s->alone);
            alone = 1;
        }
        w->db->retry = 0;
        commits = cd_store_batch_run(w->db, jobs, n);
        if (!w->db->retry || attempt >= MAX_RETRIES)
            break;
        lost_tx(s, w->db);
        retry_pause(attempt);
    }
    if (w->db->retry)
        cd_error("store",
                 "a job lost its transaction %d times in a row; "
                 "given up",
                 MAX_RETRIES + 1);
    if (alone) {
        pthread_rwlock_unlock(&s->alone);
        pthread_rwlock_rdlock(&s->alone);
    }
    return commits;
}

/* A batch, and when another writer (of this node or of another on the
 * same database) made it lose its transaction (*lost = 1), its jobs again
 * one transaction each: a batch reads and writes the union of its jobs'
 * rows, so run again whole it tends to conflict again, while alone each
 * job conflicts only on its own rows (docs/SCALING.md measures it). */
static int run_batch_retrying(struct cd_writer *w,
                              struct cd_store_async **jobs, int n, int *lost)
{
    int commits;

    w->db->retry = 0;
    commits = cd_store_batch_run(w->db, jobs, n);
    *lost = w->db->retry;
    if (!w->db->retry)
        return commits;
    lost_tx(w->s, w->db);
    retry_pause(0);
    if (n == 1)
        return run_retrying(w, jobs, 1, 1);
    commits = 0;
    for (int i = 0; i < n; i++)
        commits += run_retrying(w, &jobs[i], 1, 1);
    return commits;
}

/* Takes w's next batch off its queue (under mu); 0 when stopping with
 * nothing left. */
static int take_batch(struct cd_store *s, struct cd_writer *w)
{
    int n = 0;

    while (!w->head && !s->stopping)
        pthread_cond_wait(&w->work_cv, &s->mu);
    while (w->head && n < w->limit) {
        w->batch[n++] = w->head;
        w->head = w->head->next;
        w->queued--;
        s->queued--;
    }
    if (!w->head)
        w->tail = NULL;
    assert(n <= w->limit && w->limit <= s->max_batch);
    assert(w->queued >= 0 && s->queued >= 0);
    assert((w->head == NULL) == (w->tail == NULL));
    if (n && s->fault_pending) {
        w->db->fault_op = s->fault_op;
        w->db->fault_after = s->fault_after;
        s->fault_pending = 0;
    }
    return n;
}

/* After the batch (under mu): wakes its blocking callers, counts it, and
 * returns its submitted jobs as a list, in batch order, for their
 * completions - called outside the lock. */
static struct cd_store_async *
settle_batch(struct cd_store *s, struct cd_writer *w, int n, int commits)
{
    struct cd_store_async *list = NULL, **tail = &list;
    int failed = 0, nasync = 0;

    for (int i = 0; i < n; i++) {
        struct cd_store_async *a = w->batch[i];

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
    /* The writers are joined before close frees s: the completions below
     * may still run after inflight reaches 0. */
    s->inflight -= nasync;
    if (nasync && s->inflight == 0 && s->stopping)
        pthread_cond_signal(&s->idle_cv);
    s->stats.commits += (uint64_t)commits;
    s->stats.statements += w->db->statements;
    w->db->statements = 0;
    s->stats.jobs += (uint64_t)n;
    s->stats.failed_jobs += (uint64_t)failed;
    if ((uint64_t)n > s->stats.max_batch)
        s->stats.max_batch = (uint64_t)n;
    s->stats.batch_hist[hist_bucket(n)]++;
    return list;
}

/* w's next batch limit (under mu) after a batch of n: half of n when it
 * lost its transaction (a smaller batch reads and writes fewer rows and
 * index pages that another writer's transaction may touch), one more
 * when it filled the limit and committed. SQLite never loses one. */
static void adapt_limit(struct cd_store *s, struct cd_writer *w, int n,
                        int lost)
{
    if (lost)
        w->limit = n / 2 > 0 ? n / 2 : 1;
    else if (n >= w->limit && w->limit < s->max_batch)
        w->limit++;
}

static void *writer_main(void *arg)
{
    struct cd_writer *w = arg;
    struct cd_store *s = w->s;

    for (;;) {
        struct cd_store_async *done;
        int n, commits, lost;

        pthread_mutex_lock(&s->mu);
        n = take_batch(s, w);
        pthread_mutex_unlock(&s->mu);
        if (n == 0)
            break;

        pthread_rwlock_rdlock(&s->alone);
        commits = run_batch_retrying(w, w->batch, n, &lost);
        pthread_rwlock_unlock(&s->alone);
        /* One COMMIT at most per job: a transaction holds one or more. */
        assert(commits >= 0 && commits <= n);

        pthread_mutex_lock(&s->mu);
        adapt_limit(s, w, n, lost);
        done = settle_batch(s, w, n, commits);
        pthread_mutex_unlock(&s->mu);
        while (done) {
            struct cd_store_async *a = done;

            done = a->next; /* a may be gone once its completion ran */
            a->done(a->done_arg, a->rc);
        }
    }
    return NULL;
}

/* The writer of a job with key (FNV-1a of it), or of one without (in
 * turn); under mu. */
static struct cd_writer *writer_for(struct cd_store *s, const char *key)
{
    uint32_t h = 2166136261u;

    if (s->nwriters == 1)
        return &s->w[0];
    if (!key || !key[0])
        return &s->w[s->next_writer++ % (unsigned)s->nwriters];
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &s->w[h % (uint32_t)s->nwriters];
}

/* Queues a on its writer (under mu); -1 after close. */
static int enqueue(struct cd_store *s, struct cd_store_async *a)
{
    struct cd_writer *w;

    if (s->stopping) {
        cd_error("store", "write after close");
        return -1;
    }
    w = writer_for(s, a->key);
    a->next = NULL;
    if (w->tail)
        w->tail->next = a;
    else
        w->head = a;
    w->tail = a;
    w->queued++;
    s->queued++;
    s->inflight++;
    pthread_cond_signal(&w->work_cv);
    return 0;
}

/* Whether the calling thread is one of s's writers. */
static int on_writer(struct cd_store *s)
{
    for (int i = 0; i < s->nwriters; i++)
        if (s->w[i].started && pthread_equal(pthread_self(), s->w[i].thread))
            return 1;
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

int cd_store_write_keyed(struct cd_store *s, const char *key,
                         cd_store_job_fn fn, void *arg)
{
    struct cd_job job = {.a = {.fn = fn,
                               .arg = arg,
                               .key = key,
                               .request_id = cd_log_request_id(),
                               .job_id = cd_log_job_id()}};
    int rc;

    if (!s || !fn)
        return CD_STORE_ERROR;
    if (on_writer(s)) {
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

int cd_store_write(struct cd_store *s, cd_store_job_fn fn, void *arg)
{
    return cd_store_write_keyed(s, NULL, fn, arg);
}

int cd_store_writers(const struct cd_store *s)
{
    return s ? s->nwriters : 0;
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
    for (int i = 0; s->w && i < s->nwriters; i++) {
        if (s->w[i].db)
            s->be->close(s->w[i].db);
        free(s->w[i].batch);
        pthread_cond_destroy(&s->w[i].work_cv);
    }
    free(s->w);
    free(s->readers);
    free(s->free_readers);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->alone);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    free(s);
}

/* Opens the writers (the first migrates before the others open) and the
 * read connections. */
static int store_connect(struct cd_store *s, const char *target, int nread,
                         struct cd_error *err)
{
    for (int i = 0; i < s->nwriters; i++) {
        if (s->be->open(target, 1, &s->w[i].db, err) != 0)
            return -1;
        if (i == 0 && cd_store_migrate(s->w[0].db, err) != 0)
            return -1;
    }
    for (int i = 0; i < nread; i++) {
        if (s->be->open(target, 0, &s->readers[i], err) != 0)
            return -1;
        s->nreaders++;
        s->free_readers[s->nfree++] = s->readers[i];
    }
    return 0;
}

/* The writers' memory (n of them, max_batch slots each); -1 out of
 * memory. */
static int writers_alloc(struct cd_store *s, int n)
{
    s->w = calloc((size_t)n, sizeof(*s->w));
    if (!s->w)
        return -1;
    s->nwriters = n;
    for (int i = 0; i < n; i++) {
        s->w[i].s = s;
        s->w[i].limit = s->max_batch;
        pthread_cond_init(&s->w[i].work_cv, NULL);
        s->w[i].batch = calloc((size_t)s->max_batch, sizeof(*s->w[i].batch));
        if (!s->w[i].batch)
            return -1;
    }
    return 0;
}

/* Stops the writer threads once their queues are empty, and joins them. */
static void writers_stop(struct cd_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (int i = 0; i < s->nwriters; i++)
        pthread_cond_broadcast(&s->w[i].work_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nwriters; i++)
        if (s->w[i].started)
            pthread_join(s->w[i].thread, NULL);
}

static int writers_start(struct cd_store *s, struct cd_error *err)
{
    for (int i = 0; i < s->nwriters; i++) {
        if (pthread_create(&s->w[i].thread, NULL, writer_main, &s->w[i]) !=
            0) {
            cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL,
                         "cannot start writer thread %d", i + 1);
            writers_stop(s);
            return -1;
        }
        s->w[i].started = 1;
    }
    return 0;
}

/* A writer-preferring rwlock (glibc's default lets a stream of readers
 * starve the writer). */
static void alone_init(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;

    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(
        &a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
}

/* How many writers: cfg's (1 if unset) within 1..MAX_WRITERS, and 1 for
 * SQLite, whose database takes one writer at a time anyway. */
static int writers_wanted(const struct cd_backend *be,
                          const struct cd_store_config *cfg)
{
    int n = cfg->writers > 0 ? cfg->writers : 1;

    if (be != &cd_backend_pg)
        return 1;
    return n > MAX_WRITERS ? MAX_WRITERS : n;
}

struct cd_store *cd_store_open(const struct cd_store_config *cfg,
                               struct cd_error *err)
{
    const struct cd_backend *be;
    struct cd_store *s;
    int nread, maxb;

    /* No cfg: no target, refused (err set) by cd_backend_for. */
    if (!(be = cd_backend_for(cfg ? cfg->path : NULL, err)) || !cfg)
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
    alone_init(&s->alone);
    pthread_cond_init(&s->idle_cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    s->max_batch = maxb;
    s->readers = calloc((size_t)nread, sizeof(*s->readers));
    s->free_readers = calloc((size_t)nread, sizeof(*s->free_readers));
    if (writers_alloc(s, writers_wanted(be, cfg)) != 0 || !s->readers ||
        !s->free_readers) {
        cd_error_set(err, CD_EK_INTERNAL, "store_open", NULL, "no memory");
        goto fail;
    }
    if (store_connect(s, cfg->path, nread, err) != 0 ||
        writers_start(s, err) != 0)
        goto fail;
    return s;

fail:
    store_free(s);
    return NULL;
}

void cd_store_close(struct cd_store *s)
{
    if (!s)
        return;
    writers_stop(s);
    /* Every queued job has run; wait for their callers to leave. */
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    store_free(s);
}
