/*
 * test_billing_order_patch.c - the one patch step of the write jobs that
 * load an order and change it (cd_order_patch / cd_order_patch_tx,
 * billing/orders.c) against a real store (SQLite, and PostgreSQL when
 * CD_TEST_PG_URL names a server): an empty patch writes nothing, a dirty
 * one writes what the job changed before, status moves follow
 * order_status.h's table (an illegal one leaves the status, the other
 * fields still apply), NULL fields keep and "" clears, updated_at is the
 * patch's time whenever the order is stored, and a missing order is
 * NOT_FOUND.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/order_status.h"
#include "billing/orders.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "store_target.h"

struct fixture {
    struct store_target t;
    struct cd_store *s;
    char acct[CD_ID_SZ];
    struct cd_order o; /* inserted pending, as stored */
};

static int use_pg;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cd_store_config cfg = {0};
    struct cd_error err = {0};

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (!f || store_target_make(&f->t, use_pg, "cd_billing_order_patch") != 0)
        return -1;
    cfg.path = f->t.target;
    f->s = cd_store_open(&cfg, &err);
    if (!f->s) {
        print_error("open: %s\n", err.message);
        return -1;
    }
    fx_new_account(f->s, f->acct);
    fx_order_init(&f->o, f->acct, "topup", 1000, 1000);
    f->o.updated_at = 100;
    fx_order_insert(f->s, &f->o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cd_store_close(f->s);
    store_target_drop(&f->t);
    free(f);
    return 0;
}

struct patch_job {
    struct cd_order *o;
    const struct cd_order_patch *p;
    int64_t now;
    int rc;
};

static int patch_fn(struct cd_tx *tx, void *arg)
{
    struct patch_job *j = arg;

    j->rc = cd_order_patch_tx(tx, j->o, j->p, j->now);
    return 0;
}

/* Runs the step on o in one write job; its return code. */
static int patch(struct fixture *f, struct cd_order *o,
                 const struct cd_order_patch *p, int64_t now)
{
    struct patch_job j = {o, p, now, -99};

    assert_int_equal(cd_store_write(f->s, patch_fn, &j), 0);
    return j.rc;
}

static int get_fn(struct cd_tx *tx, void *arg)
{
    struct cd_order *o = arg;

    return cd_store_order_get(tx, o->id, o);
}

/* The order as stored. */
static struct cd_order stored(struct fixture *f)
{
    struct cd_order o;

    memset(&o, 0, sizeof(o));
    strcpy(o.id, f->o.id);
    assert_int_equal(cd_store_read(f->s, get_fn, &o), 0);
    return o;
}

static void test_empty_and_dirty(void **state)
{
    struct fixture *f = *state;
    struct cd_order o = f->o, got;
    struct cd_order_patch none = {0}, dirty = {.dirty = 1};

    assert_int_equal(cd_order_patch(&o, &none, 500), 0);
    assert_int_equal(o.updated_at, 100);
    /* A change the job made itself, not in a patch: an empty patch does
     * not write it ... */
    strcpy(o.description, "changed by the job");
    assert_int_equal(patch(f, &o, &none, 500), CD_STORE_OK);
    got = stored(f);
    assert_string_equal(got.description, "unit order");
    assert_int_equal(got.updated_at, 100);
    /* ... a dirty one does, at the patch's time. */
    assert_int_equal(patch(f, &o, &dirty, 600), CD_STORE_OK);
    got = stored(f);
    assert_string_equal(got.description, "changed by the job");
    assert_int_equal(got.updated_at, 600);
    assert_string_equal(got.status, "pending");
}

static void test_fields(void **state)
{
    struct fixture *f = *state;
    struct cd_order o = f->o, got;
    struct cd_order_patch fill = {.session_id = "cs_test_1"};
    struct cd_order_patch fail = {.move = 1,
                                  .to = CD_ORDER_FAILED,
                                  .failure = "card declined",
                                  .dirty = 0};
    struct cd_order_patch done = {.move = 1,
                                  .to = CD_ORDER_COMPLETED,
                                  .complete = 1,
                                  .failure = "",
                                  .pi = "pi_test_1"};

    /* A fill in memory (the crash window), stored with the next patch. */
    assert_int_equal(cd_order_patch(&o, &fill, 200), 1);
    assert_int_equal(o.updated_at, 200);
    fail.dirty = 1;
    assert_int_equal(patch(f, &o, &fail, 300), CD_STORE_OK);
    got = stored(f);
    assert_string_equal(got.status, "failed");
    assert_string_equal(got.failure_reason, "card declined");
    assert_string_equal(got.stripe_session_id, "cs_test_1");
    assert_string_equal(got.stripe_payment_intent_id, "");
    assert_int_equal(got.completed_at, 0);
    assert_int_equal(got.updated_at, 300);
    /* failed -> completed (a late payment): legal; "" clears the reason,
     * NULL keeps the session. */
    assert_int_equal(patch(f, &got, &done, 400), CD_STORE_OK);
    got = stored(f);
    assert_string_equal(got.status, "completed");
    assert_string_equal(got.failure_reason, "");
    assert_string_equal(got.stripe_session_id, "cs_test_1");
    assert_string_equal(got.stripe_payment_intent_id, "pi_test_1");
    assert_int_equal(got.completed_at, 400);
    assert_int_equal(got.updated_at, 400);
}

static void test_illegal_move(void **state)
{
    struct fixture *f = *state;
    struct cd_order o = f->o, got;
    struct cd_order_patch done = {
        .move = 1, .to = CD_ORDER_COMPLETED, .complete = 1};
    struct cd_order_patch back = {
        .move = 1, .to = CD_ORDER_PENDING, .failure = "noted"};

    assert_int_equal(patch(f, &o, &done, 200), CD_STORE_OK);
    /* completed -> pending is not in the table: the status stays, the
     * rest of the patch is applied and stored. */
    assert_int_equal(patch(f, &o, &back, 300), CD_STORE_OK);
    got = stored(f);
    assert_string_equal(got.status, "completed");
    assert_string_equal(got.failure_reason, "noted");
    assert_int_equal(got.completed_at, 200);
    assert_int_equal(got.updated_at, 300);
}

static void test_missing_order(void **state)
{
    struct fixture *f = *state;
    struct cd_order o = f->o;
    struct cd_order_patch fail = {
        .move = 1, .to = CD_ORDER_FAILED, .failure = "x"};

    cd_random_id("ord_", o.id, sizeof(o.id));
    assert_int_equal(patch(f, &o, &fail, 200), CD_STORE_NOT_FOUND);
    assert_string_equal(stored(f).status, "pending");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_and_dirty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_order, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
