/*
 * test_util_ids.c - ids: cd_random_id's shape, and cd_ordered_id's (the
 * same shape: prefix + 24 base62 characters) sorting by time, bytewise,
 * while its last 16 characters stay random.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

static int base62(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= 'a' && s[i] <= 'z')))
            return 0;
    return 1;
}

static void test_shape(void **state)
{
    char a[64], b[64];

    (void)state;
    cd_random_id("txn_", a, sizeof(a));
    cd_ordered_id("txn_", b, sizeof(b));
    assert_int_equal(strlen(a), 28);
    assert_int_equal(strlen(b), 28);
    assert_memory_equal(b, "txn_", 4);
    assert_true(base62(a + 4, 24));
    assert_true(base62(b + 4, 24));
    cd_ordered_id("txn_", b, 28); /* too small: empty, never cut */
    assert_string_equal(b, "");
}

static void test_ordered_by_time(void **state)
{
    char prev[64], cur[64];

    (void)state;
    cd_ordered_id("evt_", prev, sizeof(prev));
    for (int i = 0; i < 50; i++) {
        cd_clock_advance(1); /* a later second: a later id */
        cd_ordered_id("evt_", cur, sizeof(cur));
        assert_true(strcmp(prev, cur) < 0);
        strcpy(prev, cur);
    }
    cd_clock_advance(-50);
}

static void test_same_ms_still_unique(void **state)
{
    char a[64], b[64];

    (void)state;
    cd_ordered_id("txn_", a, sizeof(a));
    cd_ordered_id("txn_", b, sizeof(b));
    assert_string_not_equal(a, b);
    /* the random part differs even when the time part is the same */
    assert_true(memcmp(a + 12, b + 12, 16) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_ordered_by_time),
        cmocka_unit_test(test_same_ms_still_unique),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
