/*
 * test_billing_login_throttle.c - failed-login throttling
 * (billing/login_throttle.c): the decision on its own, with a clock the
 * test sets (free attempts, doubling back-off, its cap, forgetting, the
 * per-email ceiling and its window); then against a real SQLite store in a
 * temp directory: 40 threads reserving at once get exactly the free
 * attempts, a login succeeds from another address while one is in
 * back-off, success clears its address, and the hourly purge.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "billing/accounts.h"
#include "billing/hooks.h"
#include "billing/login_throttle.h"
#include "util/log.h"
#include "util/util.h"

#include "store_target.h"

#define S 1000 /* ms */
#define T0 INT64_C(1800000000000)

/* ---- the decision ------------------------------------------------------ */

static void test_backoff_schedule(void **state)
{
    (void)state;
    for (int n = 0; n < CD_LOGIN_FREE_FAILS; n++)
        assert_int_equal(cd_login_backoff_ms(n), 0);
    assert_int_equal(cd_login_backoff_ms(5), 2 * S);
    assert_int_equal(cd_login_backoff_ms(6), 4 * S);
    assert_int_equal(cd_login_backoff_ms(7), 8 * S);
    assert_int_equal(cd_login_backoff_ms(13), 512 * S);
    assert_int_equal(cd_login_backoff_ms(14), 900 * S);
    assert_int_equal(cd_login_backoff_ms(1000), 900 * S);
    assert_int_equal(cd_login_backoff_ms(INT64_MAX), 900 * S);
}

static void test_take_pair(void **state)
{
    struct cd_login_fail pair, all;
    int64_t now = T0;

    (void)state;
    memset(&pair, 0, sizeof(pair));
    memset(&all, 0, sizeof(all));
    /* Five free attempts at the same instant. */
    for (int i = 0; i < CD_LOGIN_FREE_FAILS; i++)
        assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
    assert_int_equal(pair.failures, 5);
    assert_int_equal(all.failures, 5);
    assert_int_equal(pair.first_at, T0);
    /* The sixth waits 2 s; a refusal changes nothing. */
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 2 * S);
    assert_int_equal(cd_login_throttle_take(&pair, &all, now + 500), 1500);
    assert_int_equal(pair.failures, 5);
    assert_int_equal(all.failures, 5);
    /* At 2 s it goes; then 4 s, then 8 s. */
    now += 2 * S;
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
    assert_int_equal(cd_login_throttle_take(&pair, &all, now + 3999), 1);
    now += 4 * S;
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 8 * S);
    /* A clock stepped back never waits longer than the back-off. */
    assert_int_equal(cd_login_throttle_take(&pair, &all, now - 3600 * S),
                     8 * S);
    /* An hour without a failure: the pair starts over. */
    now += CD_LOGIN_FORGET_MS;
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
    assert_int_equal(pair.failures, 1);
    assert_int_equal(pair.first_at, now);
}

static void test_take_ceiling(void **state)
{
    struct cd_login_fail pair, all;
    int64_t now = T0;

    (void)state;
    memset(&all, 0, sizeof(all));
    /* 20 addresses, 5 each, a second apart: 100 failures. */
    for (int a = 0; a < CD_LOGIN_EMAIL_FAILS / CD_LOGIN_FREE_FAILS; a++) {
        memset(&pair, 0, sizeof(pair));
        for (int i = 0; i < CD_LOGIN_FREE_FAILS; i++)
            assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
        now += S;
    }
    assert_int_equal(all.failures, CD_LOGIN_EMAIL_FAILS);
    assert_int_equal(all.first_at, T0);
    /* A fresh address is refused until the hour from the first ends. */
    memset(&pair, 0, sizeof(pair));
    assert_int_equal(cd_login_throttle_take(&pair, &all, now),
                     T0 + CD_LOGIN_EMAIL_WINDOW_MS - now);
    assert_int_equal(pair.failures, 0);
    assert_int_equal(cd_login_throttle_take(
                         &pair, &all, T0 + CD_LOGIN_EMAIL_WINDOW_MS - 1),
                     1);
    /* Then a new window begins with this attempt. */
    now = T0 + CD_LOGIN_EMAIL_WINDOW_MS;
    assert_int_equal(cd_login_throttle_take(&pair, &all, now), 0);
    assert_int_equal(all.failures, 1);
    assert_int_equal(all.first_at, now);
}

/* ---- against the store ------------------------------------------------- */

struct fixture {
    struct store_target t;
    struct cd_billing b;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = CD_LOG_ERROR + 1;
    if (!f)
        return -1;
    f->b.store = store_target_open(&f->t, 0, "cd_test_throttle", 0);
    if (!f->b.store)
        return -1;
    f->b.cfg.token_ttl = 3600;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_target_close(&f->t, f->b.store);
    free(f);
    return 0;
}

struct racer {
    struct cd_billing *b;
    pthread_barrier_t *go;
    int rc;
    int64_t wait;
    struct cd_error err;
};

static void *race(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->go);
    r->rc = cd_login_reserve(r->b, "victim@example.com", "192.0.2.7",
                             &r->wait, &r->err);
    return NULL;
}

/* 40 reservations at once for one (email, address): exactly the free ones
 * go, each of the others is 429 with a Retry-After. */
static void test_reserve_race(void **state)
{
    struct fixture *f = *state;
    enum { N = 40 };
    struct racer r[N];
    pthread_t t[N];
    pthread_barrier_t go;
    int allowed = 0;

    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].b = &f->b;
        r[i].go = &go;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        if (r[i].rc == 0) {
            allowed++;
            continue;
        }
        assert_int_equal(r[i].err.kind, CD_EK_RATE);
        assert_string_equal(r[i].err.code, "rate_limited");
        assert_true(r[i].wait >= 1 && r[i].wait <= 2);
    }
    assert_int_equal(allowed, CD_LOGIN_FREE_FAILS);
}

static int login(struct fixture *f, const char *pw, const char *addr,
                 int64_t *wait, struct cd_error *err)
{
    struct cd_account a;
    char token[CD_TOKEN_SZ];

    *wait = 0;
    return cd_account_login(&f->b, "Owner@Example.com", pw, strlen(pw), addr,
                            &a, token, wait, err);
}

/* Five wrong passwords from one address put it in back-off, even for the
 * right password; the owner at another address logs in, and a success
 * clears that address's failures. */
static void test_login_addresses(void **state)
{
    struct fixture *f = *state;
    struct cd_account a;
    struct cd_error err;
    char token[CD_TOKEN_SZ];
    int64_t wait;

    assert_int_equal(cd_account_signup(&f->b, "owner@example.com",
                                       "the right one", 13, &a, token, &err),
                     0);
    for (int i = 0; i < CD_LOGIN_FREE_FAILS; i++) {
        assert_int_equal(login(f, "a wrong one", "198.51.100.1", &wait, &err),
                         -1);
        assert_string_equal(err.code, "invalid_credentials");
    }
    assert_int_equal(login(f, "the right one", "198.51.100.1", &wait, &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_RATE);
    assert_true(wait >= 1 && wait <= 2);
    assert_non_null(strstr(err.message, "from this address"));

    /* Another address: four failures, then the right password. */
    for (int i = 0; i < CD_LOGIN_FREE_FAILS - 1; i++)
        assert_int_equal(login(f, "a wrong one", "198.51.100.2", &wait, &err),
                         -1);
    assert_int_equal(login(f, "the right one", "198.51.100.2", &wait, &err),
                     0);
    /* Cleared: five more free attempts there. */
    for (int i = 0; i < CD_LOGIN_FREE_FAILS; i++) {
        assert_int_equal(login(f, "a wrong one", "198.51.100.2", &wait, &err),
                         -1);
        assert_string_equal(err.code, "invalid_credentials");
    }
    assert_int_equal(login(f, "a wrong one", "198.51.100.2", &wait, &err),
                     -1);
    assert_string_equal(err.code, "rate_limited");
}

struct row_ctx {
    struct cd_login_fail row;
    int64_t now_ms;
    int rc[4];
};

static int put_old_row(struct cd_tx *tx, void *arg)
{
    struct row_ctx *c = arg;

    return cd_store_login_fail_put(tx, &c->row);
}

static int purge_and_look(struct cd_tx *tx, void *arg)
{
    struct row_ctx *c = arg;
    struct cd_login_fail out;

    c->rc[0] = cd_login_purge_tx(tx, c->now_ms);
    c->rc[1] = cd_store_login_fail_get(tx, "old@example.com", "192.0.2.1",
                                       &out);
    c->rc[2] = cd_store_login_fail_get(tx, "victim@example.com", "192.0.2.7",
                                       &out);
    c->rc[3] = cd_store_login_fail_get(tx, "victim@example.com",
                                       CD_LOGIN_ANY_ADDRESS, &out);
    return 0;
}

/* The hourly purge drops counts quiet for an hour and keeps the others. */
static void test_purge(void **state)
{
    struct fixture *f = *state;
    struct cd_error err;
    struct row_ctx c;
    int64_t wait;

    assert_int_equal(cd_login_reserve(&f->b, "victim@example.com",
                                      "192.0.2.7", &wait, &err),
                     0);
    memset(&c, 0, sizeof(c));
    strcpy(c.row.email, "old@example.com");
    strcpy(c.row.address, "192.0.2.1");
    c.row.failures = 9;
    c.now_ms = cd_login_now_ms();
    c.row.first_at = c.row.last_at = c.now_ms - CD_LOGIN_FORGET_MS - 1;
    assert_int_equal(cd_store_write(f->b.store, put_old_row, &c), 0);
    assert_int_equal(cd_store_write(f->b.store, purge_and_look, &c), 0);
    assert_int_equal(c.rc[0], CD_STORE_OK);
    assert_int_equal(c.rc[1], CD_STORE_NOT_FOUND);
    assert_int_equal(c.rc[2], CD_STORE_OK);
    assert_int_equal(c.rc[3], CD_STORE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_take_pair),
        cmocka_unit_test(test_take_ceiling),
        cmocka_unit_test_setup_teardown(test_reserve_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_addresses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
