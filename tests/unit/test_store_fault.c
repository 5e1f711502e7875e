/*
 * test_store_fault.c - fault injection at the seam (cd_store_fault): a
 * failed BEGIN, SAVEPOINT, RELEASE, COMMIT or statement. The contract: a
 * caller of cd_store_write() is told its write failed exactly when it did
 * not commit, and succeeded exactly when it did - for a job alone and for
 * a job in a batch whose neighbour fails. Each job inserts one settings
 * row; "committed" is whether a read finds it afterwards.
 *
 * Runs on SQLite, and on PostgreSQL too when CD_TEST_PG_URL is set.
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

#include <cmocka.h>

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"
#include "util/util.h"

struct fixture {
    struct store_target t;
    struct cd_store *s;
};

static int use_pg;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (!f || !(f->s = store_target_open(&f->t, use_pg, "cd_store_fault", 0)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_target_close(&f->t, f->s);
    free(f);
    return 0;
}

static int put_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_kv_put(tx, arg, "v", 1);
}

static int get_fn(struct cd_tx *tx, void *arg)
{
    char v[8];

    return cd_store_kv_get(tx, arg, v, sizeof(v));
}

static int committed(struct cd_store *s, const char *key)
{
    int rc = cd_store_read(s, get_fn, (void *)key);

    assert_true(rc == CD_STORE_OK || rc == CD_STORE_NOT_FOUND);
    return rc == CD_STORE_OK;
}

/* Told OK exactly when committed. */
static void check(struct cd_store *s, const char *key, int rc)
{
    if ((rc == 0) != committed(s, key))
        print_error("%s: rc %d but committed %d\n", key, rc,
                    committed(s, key));
    assert_int_equal(rc == 0, committed(s, key));
}

static void test_single_job_faults(void **state)
{
    struct fixture *f = *state;
    static const enum cd_store_fault ops[] = {
        CD_FAULT_BEGIN, CD_FAULT_SAVEPOINT, CD_FAULT_RELEASE, CD_FAULT_COMMIT,
        CD_FAULT_STATEMENT};

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char key[32];
        int rc;

        snprintf(key, sizeof(key), "single_%zu", i);
        cd_store_fault(f->s, ops[i], 0);
        rc = cd_store_write(f->s, put_fn, key);
        assert_int_not_equal(rc, 0);
        check(f->s, key, rc);
        /* Disarmed: the same write now commits. */
        rc = cd_store_write(f->s, put_fn, key);
        assert_int_equal(rc, 0);
        check(f->s, key, rc);
    }
}

/* ---- a batch of three ------------------------------------------------- */

/* Holds the writer thread until released, so the next jobs queue up and
 * run as one batch. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, open;
};

static int gate_fn(struct cd_tx *tx, void *arg)
{
    struct gate *g = arg;

    (void)tx;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

struct writer {
    struct cd_store *s;
    cd_store_job_fn fn;
    void *arg;
    int rc;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;

    w->rc = cd_store_write(w->s, w->fn, w->arg);
    return NULL;
}

static void wait_depth(struct cd_store *s, int n)
{
    for (int i = 0; i < 10000 && cd_store_queue_depth(s) < n; i++) {
        struct timespec ts = {0, 1000000};

        nanosleep(&ts, NULL);
    }
    assert_int_equal(cd_store_queue_depth(s), n);
}

/* Jobs k0, k1, k2 in one batch, with op armed to hit after `after` calls
 * (counted from the batch's BEGIN); rcs out. */
static void run_batch3(struct cd_store *s, const char *const keys[3],
                       enum cd_store_fault op, int after, int rcs[3])
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                     0};
    struct writer gw = {s, gate_fn, &g, -99}, w[3];
    pthread_t gt, t[3];

    assert_int_equal(pthread_create(&gt, NULL, writer_main, &gw), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 3; i++) {
        w[i] = (struct writer){s, put_fn, (void *)keys[i], -99};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
        wait_depth(s, i + 1); /* queued in order */
    }
    cd_store_fault(s, op, after);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(gt, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        rcs[i] = w[i].rc;
    }
    cd_store_fault(s, CD_FAULT_NONE, 0);
}

static void test_batch_neighbour_fails(void **state)
{
    struct fixture *f = *state;
    /* The middle job's SAVEPOINT, statement or RELEASE fails: it alone is
     * told so and rolled back; its neighbours commit. Calls of each op in
     * the batch: one per job, in order, so after = 1 hits the second. */
    static const enum cd_store_fault ops[] = {
        CD_FAULT_SAVEPOINT, CD_FAULT_STATEMENT, CD_FAULT_RELEASE};

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char k[3][32];
        const char *keys[3] = {k[0], k[1], k[2]};
        int rcs[3];

        for (int j = 0; j < 3; j++)
            snprintf(k[j], sizeof(k[j]), "nb_%zu_%d", i, j);
        run_batch3(f->s, keys, ops[i], 1, rcs);
        assert_int_equal(rcs[0], 0);
        assert_int_not_equal(rcs[1], 0);
        assert_int_equal(rcs[2], 0);
        for (int j = 0; j < 3; j++)
            check(f->s, keys[j], rcs[j]);
    }
}

static void test_batch_commit_fails(void **state)
{
    struct fixture *f = *state;
    const char *keys[3] = {"c_0", "c_1", "c_2"};
    int rcs[3];

    run_batch3(f->s, keys, CD_FAULT_COMMIT, 0, rcs);
    for (int j = 0; j < 3; j++) {
        assert_int_not_equal(rcs[j], 0);
        check(f->s, keys[j], rcs[j]);
    }
    keys[0] = "b_0", keys[1] = "b_1", keys[2] = "b_2";
    run_batch3(f->s, keys, CD_FAULT_BEGIN, 0, rcs);
    for (int j = 0; j < 3; j++) {
        assert_int_not_equal(rcs[j], 0);
        check(f->s, keys[j], rcs[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_job_faults, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_neighbour_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_commit_fails, setup,
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
