/*
 * test_billing_rate_limits.c - the shared request-rate buckets
 * (billing/rate_limits.h) on a real store (SQLite, and PostgreSQL when
 * CD_TEST_PG_URL is set):
 *   - a burst of `limit` goes, the next waits one interval;
 *   - the clock a take is judged by is read when its write job runs, not
 *     when it is queued: a take queued behind a slow batch, whose slot
 *     came due while it waited, goes. (Read before queueing, the takes of
 *     one burst could reach the bucket in another order than their clocks,
 *     and the burst's last slot was refused by a few milliseconds.) On
 *     SQLite only: there every job queues for the one writer, so the
 *     order is the test's to set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "billing/billing.h"
#include "billing/rate_limits.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"

#define WAIT_US (20 * 1000000LL)

static struct store_target target;
static struct cd_billing bill;
static int use_pg;

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    cd_clock_set_offset(0);
    return fx_billing_open(&bill, &target, use_pg, "cd_rate_take");
}

static int teardown(void **state)
{
    (void)state;
    fx_billing_close(&bill, &target);
    cd_clock_set_offset(0);
    return 0;
}

/* 2 a minute: two go at once, the third waits about 30 s. */
static void test_burst_then_wait(void **state)
{
    int64_t wait = -1;

    (void)state;
    assert_int_equal(cd_rate_take(&bill, "t", "burst", 2, 60, &wait), 0);
    assert_int_equal(wait, 0);
    assert_int_equal(cd_rate_take(&bill, "t", "burst", 2, 60, &wait), 0);
    assert_int_equal(cd_rate_take(&bill, "t", "burst", 2, 60, &wait), 1);
    assert_true(wait > 29000 && wait <= 30000);
    /* Another key is its own bucket; limit 0 is no limit. */
    assert_int_equal(cd_rate_take(&bill, "t", "other", 2, 60, &wait), 0);
    assert_int_equal(cd_rate_take(&bill, "t", "burst", 0, 60, &wait), 0);
}

/* ---- a take queued behind a slow batch -------------------------------- */

/* A write job that holds the writer until one more job is queued behind
 * it, then moves the clock on by 30 s: the time that job waited. */
static int slow_batch(struct cd_tx *tx, void *arg)
{
    int64_t end = cd_mono_us() + WAIT_US;

    (void)tx;
    (void)arg;
    while (cd_store_queue_depth(bill.store) < 1) {
        if (cd_mono_us() > end)
            return -1;
        usleep(1000);
    }
    cd_clock_advance(30);
    return 0;
}

struct take {
    int rc;
    int64_t wait;
};

static void *take_main(void *arg)
{
    struct take *t = arg;

    t->rc = cd_rate_take(&bill, "t", "queued", 2, 60, &t->wait);
    return NULL;
}

static void slow_done(void *arg, int rc)
{
    *(int *)arg = rc;
}

static void test_clock_read_when_run(void **state)
{
    struct cd_store_async job;
    struct take t = {-1, -1};
    int slow_rc = -2;
    pthread_t th;

    (void)state;
    memset(&job, 0, sizeof(job));
    job.fn = slow_batch;
    job.done = slow_done;
    assert_int_equal(cd_rate_take(&bill, "t", "queued", 2, 60, &t.wait), 0);
    assert_int_equal(cd_rate_take(&bill, "t", "queued", 2, 60, &t.wait), 0);
    /* Full now, with a slot due in 30 s: the next take is queued behind a
     * batch that lasts those 30 s. */
    job.done_arg = &slow_rc;
    assert_int_equal(cd_store_submit(bill.store, &job), 0);
    assert_int_equal(pthread_create(&th, NULL, take_main, &t), 0);
    pthread_join(th, NULL);
    assert_int_equal(slow_rc, 0);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.wait, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_then_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_read_when_run, setup,
                                        teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_then_wait, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
                                              NULL);
    }
    return failed;
}
