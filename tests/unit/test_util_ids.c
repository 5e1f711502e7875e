/*
 * test_util_ids.c - ids: cd_random_id's shape, and cd_ordered_id's (the
 * same shape: prefix + 24 base62 characters) sorting by time, bytewise,
 * while its last 16 characters stay random; ids drawn through many refills
 * of the per-thread pool, and on two threads, never repeat and use every
 * base62 character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

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

#define MANY 4000

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void *make_ids(void *arg)
{
    char(*ids)[32] = arg;

    for (int i = 0; i < MANY; i++)
        cd_random_id("x_", ids[i], sizeof(ids[i]));
    return NULL;
}

/* 2 x 4,000 ids (each takes >= 24 bytes of a 512-byte pool: ~375
 * refills), half made on another thread: all distinct, every character
 * of the alphabet seen in every position's range, none repeated. */
static void test_pool_many_unique(void **state)
{
    static char ids[2 * MANY][32];
    int seen[128] = {0}, kinds = 0;
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, make_ids, ids[MANY]), 0);
    make_ids(ids);
    assert_int_equal(pthread_join(t, NULL), 0);
    for (int i = 0; i < 2 * MANY; i++) {
        assert_int_equal(strlen(ids[i]), 26);
        assert_true(base62(ids[i] + 2, 24));
        for (int k = 2; k < 26; k++)
            seen[(unsigned char)ids[i][k]]++;
    }
    for (int c = 0; c < 128; c++)
        kinds += seen[c] > 0;
    assert_int_equal(kinds, 62);
    qsort(ids, 2 * MANY, sizeof(ids[0]), cmp_id);
    for (int i = 1; i < 2 * MANY; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_ordered_by_time),
        cmocka_unit_test(test_same_ms_still_unique),
        cmocka_unit_test(test_pool_many_unique),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
