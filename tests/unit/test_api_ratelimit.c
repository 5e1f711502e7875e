/*
 * test_api_ratelimit.c - the in-memory buckets of api/ratelimit.c with a
 * clock the test sets: the burst, the steady rate and Retry-After, keys
 * apart, refusals not counted, limit 0, a full table staying lenient, the
 * pre-filter's peek and raise; and
 * the client-address keys (an IPv6 address as its /64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/ratelimit.h"

#define S 1000 /* ms */
#define T0 INT64_C(5000000)

static int reset(void **state)
{
    (void)state;
    cd_ratelimit_clear();
    return 0;
}

/* 10 a minute: 10 at once, the 11th waits 6 s; one more every 6 s. */
static void test_burst_then_rate(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0), 0);
    assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0), 6);
    assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0 + 5001), 1);
    /* Refusals were not counted: at 6 s exactly one goes. */
    assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0 + 6 * S), 0);
    assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0 + 6 * S), 6);
    /* Another key is untouched. */
    assert_int_equal(cd_ratelimit_take("acct_b", 10, 60, T0), 0);
    /* Idle for a minute: the whole burst is back, and no more. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(cd_ratelimit_take("acct_a", 10, 60, T0 + 66 * S), 0);
    assert_true(cd_ratelimit_take("acct_a", 10, 60, T0 + 66 * S) > 0);
}

/* Over two minutes a steady client gets the burst plus one per interval:
 * never more than limit + limit * elapsed / window. */
static void test_steady_rate(void **state)
{
    int ok = 0;

    (void)state;
    for (int64_t t = T0; t < T0 + 120 * S; t += 100)
        if (cd_ratelimit_take("steady", 20, 60, t) == 0)
            ok++;
    assert_int_equal(ok, 20 + 40 - 1);
}

static void test_off_and_bad(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cd_ratelimit_take("off", 0, 60, T0), 0);
    assert_int_equal(cd_ratelimit_take(NULL, 1, 60, T0), 0);
    assert_int_equal(cd_ratelimit_take("one", 1, 60, T0), 0);
    assert_int_equal(cd_ratelimit_take("one", 1, 60, T0), 60);
}

/* Far more keys than slots, all limited at once: the table never refuses
 * a key it has no room for (lenient), and keeps its size. */
static void test_full_table(void **state)
{
    char key[32];
    int refused = 0;

    (void)state;
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (cd_ratelimit_take(key, 1, 3600, T0) != 0)
            refused++;
    }
    assert_int_equal(refused, 0);
}

static void test_address_keys(void **state)
{
    char out[64];

    (void)state;
    cd_ratelimit_address("203.0.113.9", out, sizeof(out));
    assert_string_equal(out, "203.0.113.9");
    cd_ratelimit_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out,
                         sizeof(out));
    assert_string_equal(out, "2001:db8:1:2::/64");
    cd_ratelimit_address("2001:db8:1:2::1", out, sizeof(out));
    assert_string_equal(out, "2001:db8:1:2::/64");
    cd_ratelimit_address("::ffff:198.51.100.4", out, sizeof(out));
    assert_string_equal(out, "198.51.100.4");
    cd_ratelimit_address("?", out, sizeof(out));
    assert_string_equal(out, "?");
    cd_ratelimit_address(NULL, out, sizeof(out));
    assert_string_equal(out, "?");
}

/* The pre-filter's two operations: peek counts nothing and adds no slot;
 * raise makes a bucket wait what the database said, and no longer. */
static void test_peek_and_raise(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(cd_ratelimit_peek("p", 10, 60, T0), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(cd_ratelimit_take("p", 10, 60, T0), 0);
    assert_int_equal(cd_ratelimit_peek("p", 10, 60, T0), 6);
    /* Another node used the database's bucket: it said wait 20 s. */
    cd_ratelimit_raise("q", 10, 60, T0, 20 * S);
    assert_int_equal(cd_ratelimit_peek("q", 10, 60, T0), 20);
    assert_int_equal(cd_ratelimit_peek("q", 10, 60, T0 + 20 * S - 1), 1);
    assert_int_equal(cd_ratelimit_peek("q", 10, 60, T0 + 20 * S), 0);
    /* A raise never shortens a longer wait, and a bogus one is ignored. */
    cd_ratelimit_raise("p", 10, 60, T0, 1);
    assert_int_equal(cd_ratelimit_peek("p", 10, 60, T0), 6);
    cd_ratelimit_raise("r", 10, 60, T0, 61 * S);
    assert_int_equal(cd_ratelimit_peek("r", 10, 60, T0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_burst_then_rate, reset),
        cmocka_unit_test_setup(test_steady_rate, reset),
        cmocka_unit_test_setup(test_off_and_bad, reset),
        cmocka_unit_test_setup(test_full_table, reset),
        cmocka_unit_test_setup(test_peek_and_raise, reset),
        cmocka_unit_test(test_address_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
