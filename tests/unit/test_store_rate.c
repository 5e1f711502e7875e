/*
 * test_store_rate.c - the shared request-rate buckets of store.h
 * (cd_store_rate_take / cd_store_rate_purge, migration 021): one guarded
 * upsert per request, exact when many threads of two stores (two "nodes"
 * on one database) take from one bucket at once.
 *
 * A contract: the group runs on SQLite, and again on PostgreSQL when
 * CD_TEST_PG_URL names a server (store_target.h). Jobs never call cmocka
 * asserts (they run on the writer thread).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"
#include "util/util.h"

struct fixture {
    struct store_target t;
    struct cd_store *s, *s2; /* two stores on one database: two nodes */
};

static int use_pg;

static struct cd_store *open_store(const char *target)
{
    struct cd_store_config cfg = {0};
    struct cd_error err = {0};
    struct cd_store *s;

    cfg.path = target;
    s = cd_store_open(&cfg, &err);
    if (!s)
        print_error("open: %s\n", err.message);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (store_target_make(&f->t, use_pg, "cd_store_rate") != 0)
        return -1;
    if (!(f->s = open_store(f->t.target)) ||
        !(f->s2 = open_store(f->t.target)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->s2)
        cd_store_close(f->s2);
    if (f->s)
        cd_store_close(f->s);
    store_target_drop(&f->t);
    free(f);
    return 0;
}

struct take {
    const char *scope, *key;
    int64_t now, interval, tolerance;
    int64_t wait;
    int rc;
};

static int take_fn(struct cd_tx *tx, void *arg)
{
    struct take *t = arg;

    t->rc = cd_store_rate_take(tx, t->scope, t->key, t->now, t->interval,
                               t->tolerance, &t->wait);
    return t->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

/* Takes from (scope, key) with 10 a minute (T 6 s, tolerance 54 s). */
static int take10(struct cd_store *s, const char *key, int64_t now,
                  int64_t *wait)
{
    struct take t = {"login", key, now, 6000, 54000, -1, -99};

    if (cd_store_write(s, take_fn, &t) != 0)
        return CD_STORE_ERROR;
    if (wait)
        *wait = t.wait;
    return t.rc;
}

static int purge_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_rate_purge(tx, *(int64_t *)arg);
}

/* The burst, the wait it reports, one more every interval, keys apart. */
static void test_bucket(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = INT64_C(1800000000000);
    int64_t wait = 0;

    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s, "10.0.0.1", t0, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s2, "10.0.0.1", t0, &wait), CD_STORE_GUARD);
    assert_int_equal(wait, 6000);
    /* A refusal is not counted: 1 ms short still waits 1 ms. */
    assert_int_equal(take10(f->s, "10.0.0.1", t0 + 5999, &wait),
                     CD_STORE_GUARD);
    assert_int_equal(wait, 1);
    assert_int_equal(take10(f->s2, "10.0.0.1", t0 + 6000, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s, "10.0.0.1", t0 + 6000, NULL),
                     CD_STORE_GUARD);
    /* Another key and another scope have buckets of their own. */
    assert_int_equal(take10(f->s, "10.0.0.2", t0, NULL), CD_STORE_OK);
    {
        struct take t = {"signup", "10.0.0.1", t0, 6000, 54000, 0, -99};

        assert_int_equal(cd_store_write(f->s, take_fn, &t), 0);
        assert_int_equal(t.rc, CD_STORE_OK);
    }
    /* A whole window later the burst is back. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s, "10.0.0.1", t0 + 126000, NULL),
                         CD_STORE_OK);
    /* Too long a key is an error, not a silent cut. */
    {
        char big[CD_RATE_KEY_SZ + 8];

        memset(big, 'k', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(take10(f->s, big, t0, NULL), CD_STORE_ERROR);
    }
}

/* A clock that ran ahead (a node's, or this one's before it stepped
 * back) leaves a tat no take can leave; the bucket then starts again from
 * the next take (one burst), not refusing until the clock catches up. */
static void test_clock_stepped_back(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = INT64_C(1800000000000);
    const int64_t ahead = t0 + 120000; /* two minutes ahead */
    int64_t wait = 0;

    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s, "10.0.0.9", ahead, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s, "10.0.0.9", ahead, NULL), CD_STORE_GUARD);
    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s2, "10.0.0.9", t0, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s2, "10.0.0.9", t0, &wait), CD_STORE_GUARD);
    assert_int_equal(wait, 6000);
}

/* The purge deletes the buckets full again, and only those. */
static void test_purge(void **state)
{
    struct fixture *f = *state;
    const int64_t t0 = INT64_C(1800000000000);
    int64_t at = t0 + 6001;

    assert_int_equal(take10(f->s, "old", t0, NULL),
                     CD_STORE_OK); /* tat t0+6 s */
    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s, "busy", t0, NULL), CD_STORE_OK);
    assert_int_equal(cd_store_write(f->s, purge_fn, &at), 0);
    /* "busy" is kept (tat t0 + 60 s): one request has come back in 6 s,
     * not its whole burst; "old" starts over. */
    assert_int_equal(take10(f->s, "busy", at, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s, "busy", at, NULL), CD_STORE_GUARD);
    for (int i = 0; i < 10; i++)
        assert_int_equal(take10(f->s, "old", at, NULL), CD_STORE_OK);
    assert_int_equal(take10(f->s, "old", at, NULL), CD_STORE_GUARD);
}

#define THREADS 8
#define PER_THREAD 15

struct racer {
    struct cd_store *s;
    int ok, refused, other;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        struct take t = {"payment", "acct_hot", INT64_C(1800000000000),
                         500,       49 * 500,   0,
                         -99};

        if (cd_store_write(r->s, take_fn, &t) != 0)
            r->other++;
        else if (t.rc == CD_STORE_OK)
            r->ok++;
        else if (t.rc == CD_STORE_GUARD)
            r->refused++;
        else
            r->other++;
    }
    return NULL;
}

/* 120 takes at one instant from a bucket of 50, on 8 threads over two
 * stores: exactly 50 pass. */
static void test_concurrent_two_nodes(void **state)
{
    struct fixture *f = *state;
    struct racer r[THREADS];
    pthread_t t[THREADS];
    int ok = 0, refused = 0;

    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){i % 2 ? f->s2 : f->s, 0, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].other, 0);
        ok += r[i].ok;
        refused += r[i].refused;
    }
    assert_int_equal(ok, 50);
    assert_int_equal(refused, THREADS * PER_THREAD - 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_stepped_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_two_nodes, setup,
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
