/*
 * test_store_executor.c - the write executor: a failing job rolls back
 * alone while the rest of its batch commits, batches really group jobs
 * (one commit for many), max_batch=1 disables grouping, close drains the
 * queue, and a 32-thread load keeps the ledger exact. Submitted jobs
 * (cd_store_submit): the same batching, each completion called once with
 * its rc, from several threads at once and across close. Prints jobs/s and
 * the average batch size of the load test.
 *
 * To make a batch deterministic, a "gate" job holds the writer thread until
 * cd_store_queue_depth() shows every job of the next batch queued; then
 * the test releases it and the writer takes them all at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"

struct fixture {
    struct store_target t;
    char path[512]; /* t.target: a SQLite path or a PostgreSQL URL */
    struct cd_store *s;
};

/* Which backend this group runs on (main runs the group per backend). */
static int use_pg;

static struct cd_store *open_store(const char *path, int max_batch)
{
    struct cd_store_config cfg = {.path = path, .max_batch = max_batch};
    struct cd_error err = {0};
    struct cd_store *s = cd_store_open(&cfg, &err);

    if (!s)
        print_error("open: %s\n", err.message);
    return s;
}

static int make_dir(struct fixture *f)
{
    cd_log_threshold = CD_LOG_ERROR + 1;
    if (store_target_make(&f->t, use_pg, "cd_store_exec") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s", f->t.target);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (make_dir(f) != 0)
        return -1;
    f->s = open_store(f->path, 0);
    if (!f->s)
        return -1;
    *state = f;
    return 0;
}

static int setup_batch1(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (make_dir(f) != 0)
        return -1;
    f->s = open_store(f->path, 1);
    if (!f->s)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->s)
        cd_store_close(f->s);
    store_target_drop(&f->t);
    free(f);
    return 0;
}

/* ---- jobs -------------------------------------------------------------- */

/* Adds one credit to acct_1 under a unique ref: the ledger pattern of
 * billing (read balance, insert entry, set balance) in one job. */
struct credit {
    char ref[48];
    int fail; /* write, then return 1 */
};

static int add_credit(struct cd_tx *tx, void *arg)
{
    struct credit *cr = arg;
    struct cd_account a;
    struct cd_ledger_entry e;
    int rc;

    if ((rc = cd_store_account_get(tx, "acct_1", &a)) != 0)
        return rc;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "txn_%s", cr->ref);
    strcpy(e.account_id, "acct_1");
    e.amount = 1;
    e.balance_after = a.balance + 1;
    strcpy(e.kind, "grant");
    strcpy(e.ref, cr->ref);
    e.created_at = 1000;
    if ((rc = cd_store_ledger_insert(tx, &e)) != 0)
        return rc;
    if ((rc = cd_store_account_set_balance(tx, "acct_1", a.balance + 1)) != 0)
        return rc;
    return cr->fail ? 1 : 0;
}

/* Holds the writer until released (bounded: 10 s), noting the queue
 * depth it saw last. */
struct gate {
    struct cd_store *s;
    int running;
    int release;
    int seen;
};

static int gate_job(struct cd_tx *tx, void *arg)
{
    struct gate *g = arg;

    __atomic_store_n(&g->running, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 10000; i++) {
        __atomic_store_n(&g->seen, cd_store_queue_depth(g->s),
                         __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&g->release, __ATOMIC_SEQ_CST))
            return 0;
        store_target_sleep_ms(1);
    }
    return 0;
}

static void *gate_thread(void *arg)
{
    struct gate *g = arg;

    cd_store_write(g->s, gate_job, g);
    return NULL;
}

/* Starts a gate job and returns once it holds the writer. */
static void gate_start(struct gate *g, pthread_t *t)
{
    assert_int_equal(pthread_create(t, NULL, gate_thread, g), 0);
    for (int i = 0;
         i < 5000 && !__atomic_load_n(&g->running, __ATOMIC_SEQ_CST); i++)
        store_target_sleep_ms(1);
    assert_true(__atomic_load_n(&g->running, __ATOMIC_SEQ_CST));
}

static void wait_depth(struct cd_store *s, int n)
{
    for (int i = 0; i < 5000 && cd_store_queue_depth(s) < n; i++)
        store_target_sleep_ms(1);
    assert_int_equal(cd_store_queue_depth(s), n);
}

struct submit {
    struct cd_store *s;
    cd_store_job_fn fn;
    void *arg;
    int rc;
};

static void *submit_thread(void *arg)
{
    struct submit *sb = arg;

    sb->rc = cd_store_write(sb->s, sb->fn, sb->arg);
    return NULL;
}

struct state {
    struct cd_account acct;
    int64_t entries, n, sb, se;
    int mismatches, get_rc;
};

static int on_mismatch(const char *id, int64_t b, int64_t s, void *arg)
{
    ((struct state *)arg)->mismatches++;
    return 0;
}

static int count_entry(const struct cd_ledger_entry *e, void *arg)
{
    return 0;
}

static int read_state(struct cd_tx *tx, void *arg)
{
    struct state *st = arg;
    int rc;

    st->get_rc = cd_store_account_get(tx, "acct_1", &st->acct);
    if ((rc = cd_store_ledger_list(tx, "acct_1", 0, 0, count_entry, NULL,
                                   &st->entries)) != 0)
        return rc;
    return cd_store_ledger_verify(tx, &st->n, &st->sb, &st->se, on_mismatch,
                                  st);
}

static struct state get_state(struct cd_store *s)
{
    struct state st;

    memset(&st, 0, sizeof(st));
    assert_int_equal(cd_store_read(s, read_state, &st), 0);
    return st;
}

/* Queues `n` jobs (fns/args) behind a gate so that they form one batch;
 * returns when all have finished. */
static void run_one_batch(struct cd_store *s, int n, struct submit *sb)
{
    pthread_t gt, th[64];
    struct gate g = {.s = s};

    assert_true(n <= 64);
    gate_start(&g, &gt);
    for (int i = 0; i < n; i++) {
        sb[i].s = s;
        assert_int_equal(pthread_create(&th[i], NULL, submit_thread, &sb[i]),
                         0);
    }
    wait_depth(s, n);
    __atomic_store_n(&g.release, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_join(gt, NULL);
    assert_int_equal(g.seen, n);
}

/* ---- tests ------------------------------------------------------------- */

/* A one-statement read (cd_store_read_one) sees what was committed and
 * leaves its reader without a transaction: the next reads on it (the pool
 * hands the same one back) begin theirs, and see the next commit. */
static int read_acct(struct cd_tx *tx, void *arg)
{
    return cd_store_account_get(tx, "acct_1", arg);
}

static void test_read_one(void **state)
{
    struct fixture *f = *state;
    struct cd_account a;
    struct credit cr = {.fail = 0};
    struct state st;

    assert_int_equal(cd_store_read_one(f->s, read_acct, &a),
                     CD_STORE_NOT_FOUND);
    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    for (int i = 0; i < 3; i++) {
        memset(&a, 0, sizeof(a));
        assert_int_equal(cd_store_read_one(f->s, read_acct, &a), 0);
        assert_string_equal(a.id, "acct_1");
        assert_int_equal(a.balance, i);
        st = get_state(f->s);
        assert_int_equal(st.get_rc, 0);
        assert_int_equal(st.acct.balance, i);
        snprintf(cr.ref, sizeof(cr.ref), "one%d", i);
        assert_int_equal(cd_store_write(f->s, add_credit, &cr), 0);
    }
    assert_int_equal(cd_store_read_one(f->s, read_acct, &a), 0);
    assert_int_equal(a.balance, 3);
}

static void test_failing_job_alone(void **state)
{
    struct fixture *f = *state;
    struct submit sb[8];
    struct credit cr[8];
    struct cd_store_stats before, after;
    struct state st;

    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    cd_store_get_stats(f->s, &before);
    for (int i = 0; i < 8; i++) {
        memset(&cr[i], 0, sizeof(cr[i]));
        snprintf(cr[i].ref, sizeof(cr[i].ref), "r%d", i);
        cr[i].fail = (i == 3);
        sb[i].fn = add_credit;
        sb[i].arg = &cr[i];
    }
    run_one_batch(f->s, 8, sb);
    cd_store_get_stats(f->s, &after);

    for (int i = 0; i < 8; i++)
        assert_int_equal(sb[i].rc, i == 3 ? 1 : 0);
    /* the gate's batch, then one batch of all 8 */
    assert_int_equal(after.commits - before.commits, 2);
    assert_int_equal(after.jobs - before.jobs, 9);
    assert_int_equal(after.failed_jobs - before.failed_jobs, 1);
    assert_int_equal(after.max_batch, 8);
    assert_int_equal(after.batch_hist[3] - before.batch_hist[3], 1);

    st = get_state(f->s);
    assert_int_equal(st.get_rc, 0);
    assert_int_equal(st.acct.balance, 7);
    assert_int_equal(st.entries, 7);
    assert_int_equal(st.mismatches, 0);
}

/* A job whose own store call fails (duplicate ref) returns that code and
 * rolls back alone; the others of its batch commit. */
static void test_duplicate_in_batch(void **state)
{
    struct fixture *f = *state;
    struct submit sb[6];
    struct credit cr[6];
    struct state st;
    int dups = 0;

    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    for (int i = 0; i < 6; i++) {
        memset(&cr[i], 0, sizeof(cr[i]));
        /* r0 r1 r2 r0 r1 r2: each ref once, its twin a duplicate */
        snprintf(cr[i].ref, sizeof(cr[i].ref), "r%d", i % 3);
        sb[i].fn = add_credit;
        sb[i].arg = &cr[i];
    }
    run_one_batch(f->s, 6, sb);
    for (int i = 0; i < 6; i++) {
        assert_true(sb[i].rc == 0 || sb[i].rc == CD_STORE_DUPLICATE);
        dups += sb[i].rc == CD_STORE_DUPLICATE;
    }
    assert_int_equal(dups, 3);
    st = get_state(f->s);
    assert_int_equal(st.acct.balance, 3);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.mismatches, 0);
}

static void test_max_batch_one(void **state)
{
    struct fixture *f = *state;
    struct submit sb[6];
    struct credit cr[6];
    struct cd_store_stats stats;
    struct state st;

    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    for (int i = 0; i < 6; i++) {
        memset(&cr[i], 0, sizeof(cr[i]));
        snprintf(cr[i].ref, sizeof(cr[i].ref), "r%d", i);
        sb[i].fn = add_credit;
        sb[i].arg = &cr[i];
    }
    run_one_batch(f->s, 6, sb);
    cd_store_get_stats(f->s, &stats);
    assert_int_equal(stats.max_batch, 1);
    assert_int_equal(stats.commits, stats.jobs);
    for (int i = 0; i < 6; i++)
        assert_int_equal(sb[i].rc, 0);
    st = get_state(f->s);
    assert_int_equal(st.acct.balance, 6);
}

static void *release_later(void *arg)
{
    struct gate *g = arg;

    store_target_sleep_ms(50);
    __atomic_store_n(&g->release, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* close() while jobs wait: each still gets its result. */
static void test_close_drains(void **state)
{
    struct fixture *f = *state;
    struct submit sb[16];
    struct credit cr[16];
    pthread_t gt, rel, th[16];
    struct gate g = {.s = f->s};

    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    gate_start(&g, &gt);
    for (int i = 0; i < 16; i++) {
        memset(&cr[i], 0, sizeof(cr[i]));
        snprintf(cr[i].ref, sizeof(cr[i].ref), "r%d", i);
        sb[i].s = f->s;
        sb[i].fn = add_credit;
        sb[i].arg = &cr[i];
        assert_int_equal(pthread_create(&th[i], NULL, submit_thread, &sb[i]),
                         0);
    }
    wait_depth(f->s, 16);
    /* close() marks the store stopping at once; the gate lets the writer
     * go 50 ms later, and it must still run all 16 queued jobs. */
    assert_int_equal(pthread_create(&rel, NULL, release_later, &g), 0);
    cd_store_close(f->s);
    pthread_join(rel, NULL);
    f->s = NULL;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sb[i].rc, 0);
    }
    pthread_join(gt, NULL);

    f->s = open_store(f->path, 0);
    assert_non_null(f->s);
    assert_int_equal(get_state(f->s).acct.balance, 16);
}

/* ---- submitted jobs (cd_store_submit) ------------------------------------ */

/* One submitted job: its credit, how often its completion ran, its rc. */
struct async_job {
    struct cd_store_async a;
    struct credit cr;
    int calls;
    int rc;
    struct waiter *w;
};

/* Counts completions; the test waits on it (bounded). */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void async_done(void *arg, int rc)
{
    struct async_job *j = arg;

    j->rc = rc;
    __atomic_add_fetch(&j->calls, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&j->w->mu);
    __atomic_add_fetch(&j->w->done, 1, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&j->w->cv);
    pthread_mutex_unlock(&j->w->mu);
}

static void waiter_init(struct waiter *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = 0;
}

/* Waits up to 20 s for n completions; returns how many came. */
static int waiter_wait(struct waiter *w, int n)
{
    struct timespec dl;
    int got;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&w->mu);
    while (__atomic_load_n(&w->done, __ATOMIC_SEQ_CST) < n &&
           pthread_cond_timedwait(&w->cv, &w->mu, &dl) == 0)
        ;
    got = __atomic_load_n(&w->done, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&w->mu);
    return got;
}

static void async_prepare(struct async_job *j, struct waiter *w,
                          const char *ref, int fail)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->cr.ref, sizeof(j->cr.ref), "%s", ref);
    j->cr.fail = fail;
    j->a.fn = add_credit;
    j->a.arg = &j->cr;
    j->a.done = async_done;
    j->a.done_arg = j;
    j->rc = -99;
    j->w = w;
}

/* Submitted jobs batch like blocking ones: one commit for all, a failing
 * one rolled back alone, each completion called once with its rc. */
static void test_async_batch(void **state)
{
    struct fixture *f = *state;
    struct async_job j[8];
    struct waiter w;
    struct cd_store_stats before, after;
    struct gate g = {.s = f->s};
    pthread_t gt;
    char ref[16];

    waiter_init(&w);
    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    cd_store_get_stats(f->s, &before);
    gate_start(&g, &gt);
    for (int i = 0; i < 8; i++) {
        snprintf(ref, sizeof(ref), "a%d", i);
        async_prepare(&j[i], &w, ref, i == 5);
        assert_int_equal(cd_store_submit(f->s, &j[i].a), 0);
    }
    wait_depth(f->s, 8);
    /* nothing completes while the writer is held */
    assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&g.release, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(waiter_wait(&w, 8), 8);
    pthread_join(gt, NULL);
    cd_store_get_stats(f->s, &after);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(__atomic_load_n(&j[i].calls, __ATOMIC_SEQ_CST), 1);
        assert_int_equal(j[i].rc, i == 5 ? 1 : 0);
    }
    assert_int_equal(after.commits - before.commits, 2);
    assert_int_equal(after.jobs - before.jobs, 9);
    assert_int_equal(after.failed_jobs - before.failed_jobs, 1);
    assert_int_equal(get_state(f->s).acct.balance, 7);
    assert_int_equal(cd_store_submit(f->s, NULL), -1);
}

#define ASYNC_THREADS 4
#define ASYNC_JOBS 250

struct async_load {
    struct cd_store *s;
    int t;
    struct async_job *jobs; /* ASYNC_JOBS */
    struct waiter *w;
};

static void *async_load_thread(void *arg)
{
    struct async_load *l = arg;
    char ref[32];

    for (int i = 0; i < ASYNC_JOBS; i++) {
        snprintf(ref, sizeof(ref), "t%d_%d", l->t, i);
        async_prepare(&l->jobs[i], l->w, ref, 0);
        if (cd_store_submit(l->s, &l->jobs[i].a) != 0)
            return NULL;
    }
    return NULL;
}

/* Many jobs in flight from several threads at once, mixed with blocking
 * writers: every completion exactly once, the ledger exact, and the
 * batches grow past the number of threads. */
static void test_async_many_threads(void **state)
{
    struct fixture *f = *state;
    struct async_load l[ASYNC_THREADS];
    struct async_job *jobs = calloc(ASYNC_THREADS * ASYNC_JOBS,
                                    sizeof(*jobs));
    struct submit sb[4];
    struct credit cr[4];
    pthread_t th[ASYNC_THREADS], bt[4];
    struct cd_store_stats stats;
    struct waiter w;
    int total = ASYNC_THREADS * ASYNC_JOBS;

    assert_non_null(jobs);
    waiter_init(&w);
    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    for (int t = 0; t < ASYNC_THREADS; t++) {
        l[t] = (struct async_load){f->s, t, jobs + t * ASYNC_JOBS, &w};
        assert_int_equal(
            pthread_create(&th[t], NULL, async_load_thread, &l[t]), 0);
    }
    for (int i = 0; i < 4; i++) {
        memset(&cr[i], 0, sizeof(cr[i]));
        snprintf(cr[i].ref, sizeof(cr[i].ref), "b%d", i);
        sb[i] = (struct submit){f->s, add_credit, &cr[i], -1};
        assert_int_equal(pthread_create(&bt[i], NULL, submit_thread, &sb[i]),
                         0);
    }
    for (int t = 0; t < ASYNC_THREADS; t++)
        pthread_join(th[t], NULL);
    for (int i = 0; i < 4; i++) {
        pthread_join(bt[i], NULL);
        assert_int_equal(sb[i].rc, 0);
    }
    assert_int_equal(waiter_wait(&w, total), total);
    for (int i = 0; i < total; i++) {
        assert_int_equal(__atomic_load_n(&jobs[i].calls, __ATOMIC_SEQ_CST),
                         1);
        assert_int_equal(jobs[i].rc, 0);
    }
    cd_store_get_stats(f->s, &stats);
    assert_true(stats.max_batch > ASYNC_THREADS + 4);
    assert_int_equal(get_state(f->s).acct.balance, total + 4);
    assert_int_equal(get_state(f->s).mismatches, 0);
    free(jobs);
}

/* close() with submitted jobs queued: each runs and its completion is
 * called once before close returns. */
static void test_async_close_in_flight(void **state)
{
    struct fixture *f = *state;
    struct async_job j[16];
    struct waiter w;
    struct gate g = {.s = f->s};
    pthread_t gt, rel;
    char ref[16];

    waiter_init(&w);
    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    gate_start(&g, &gt);
    for (int i = 0; i < 16; i++) {
        snprintf(ref, sizeof(ref), "c%d", i);
        async_prepare(&j[i], &w, ref, 0);
        assert_int_equal(cd_store_submit(f->s, &j[i].a), 0);
    }
    wait_depth(f->s, 16);
    assert_int_equal(pthread_create(&rel, NULL, release_later, &g), 0);
    cd_store_close(f->s);
    f->s = NULL;
    pthread_join(rel, NULL);
    pthread_join(gt, NULL);
    /* all done by the time close returned: no waiting */
    assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 16);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(__atomic_load_n(&j[i].calls, __ATOMIC_SEQ_CST), 1);
        assert_int_equal(j[i].rc, 0);
    }
    f->s = open_store(f->path, 0);
    assert_non_null(f->s);
    assert_int_equal(get_state(f->s).acct.balance, 16);
}

/* ---- load: 32 threads x 200 jobs ---------------------------------------- */

#define LOAD_THREADS 32
#define LOAD_JOBS 200

struct loader {
    struct cd_store *s;
    int t;
    int failures;
};

static void *load_thread(void *arg)
{
    struct loader *l = arg;
    struct credit cr;

    for (int i = 0; i < LOAD_JOBS; i++) {
        memset(&cr, 0, sizeof(cr));
        snprintf(cr.ref, sizeof(cr.ref), "t%d-%d", l->t, i);
        if (cd_store_write(l->s, add_credit, &cr) != 0)
            l->failures++;
    }
    return NULL;
}

/* Readers run alongside the load and must never fail or see a broken
 * ledger snapshot. */
struct reader {
    struct cd_store *s;
    int stop;
    int reads, bad;
};

static void *read_thread(void *arg)
{
    struct reader *r = arg;

    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        struct state st;

        memset(&st, 0, sizeof(st));
        if (cd_store_read(r->s, read_state, &st) != 0 || st.mismatches != 0 ||
            st.entries != st.acct.balance)
            r->bad++;
        r->reads++;
        store_target_sleep_ms(2);
    }
    return NULL;
}

static void test_load_32_threads(void **state)
{
    struct fixture *f = *state;
    pthread_t th[LOAD_THREADS], rt;
    struct loader l[LOAD_THREADS];
    struct reader r = {.s = f->s};
    struct cd_store_stats before, after;
    struct state st;
    struct timespec t0, t1;
    double secs, jobs, commits;

    assert_int_equal(
        cd_store_write(f->s, store_target_make_account, "acct_1"), 0);
    cd_store_get_stats(f->s, &before);
    assert_int_equal(pthread_create(&rt, NULL, read_thread, &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < LOAD_THREADS; i++) {
        l[i].s = f->s;
        l[i].t = i;
        l[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, load_thread, &l[i]), 0);
    }
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(rt, NULL);
    cd_store_get_stats(f->s, &after);

    for (int i = 0; i < LOAD_THREADS; i++)
        assert_int_equal(l[i].failures, 0);
    st = get_state(f->s);
    assert_int_equal(st.acct.balance, LOAD_THREADS * LOAD_JOBS);
    assert_int_equal(st.entries, LOAD_THREADS * LOAD_JOBS);
    assert_int_equal(st.se, LOAD_THREADS * LOAD_JOBS);
    assert_int_equal(st.mismatches, 0);
    assert_int_equal(r.bad, 0);

    jobs = (double)(after.jobs - before.jobs);
    commits = (double)(after.commits - before.commits);
    secs = (double)(t1.tv_sec - t0.tv_sec) +
           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(after.max_batch > 1);
    assert_true(commits < jobs);
    printf("[ load     ] %d threads x %d jobs: %.0f jobs in %.3f s = %.0f "
           "jobs/s; %.0f commits, avg batch %.1f, max batch %llu; "
           "%d concurrent reads\n",
           LOAD_THREADS, LOAD_JOBS, jobs, secs, jobs / secs, commits,
           jobs / commits, (unsigned long long)after.max_batch, r.reads);
    printf("[ load     ] batch histogram (1, 2-3, 4-7, ... 512+):");
    for (int i = 0; i < 10; i++)
        printf(" %llu", (unsigned long long)(after.batch_hist[i] -
                                             before.batch_hist[i]));
    printf("\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_in_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_batch_one, setup_batch1,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_many_threads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_async_close_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_32_threads, setup,
                                        teardown),
    };

    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
