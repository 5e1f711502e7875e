/*
 * test_util_ids.c - ids: cd_random_id's shape, and cd_ordered_id's (the
 * same shape: prefix + 24 base62 characters) sorting by time, bytewise,
 * while its last 16 characters stay random; ids drawn through many refills
 * of the per-thread pool, and on two threads, never repeat and use every
 * base62 character; cd_request_id's shape, that ids from the same pool do
 * not repeat (across refills too), and that a forked child does not draw
 * the parent's pooled bytes; and cd_sha256_hex's known answers (tokens
 * are looked up by their hash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static void test_request_id(void **state)
{
    enum { N = 5000 }; /* many refills of the per-thread buffer */
    static char ids[N][CD_REQUEST_ID_SZ];

    (void)state;
    for (int i = 0; i < N; i++) {
        cd_request_id(ids[i]);
        assert_int_equal(strlen(ids[i]), CD_REQUEST_ID_SZ - 1);
        assert_memory_equal(ids[i], "req_", 4);
        assert_true(base62(ids[i] + 4, CD_REQUEST_ID_SZ - 5));
    }
    qsort(ids, N, sizeof(ids[0]), cmp_id);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

/* The child's next id is not the one the parent draws next from the
 * same buffer. */
static void test_request_id_fork(void **state)
{
    char mine[CD_REQUEST_ID_SZ], theirs[CD_REQUEST_ID_SZ] = "";
    int fd[2], st = 0;
    pid_t pid;

    (void)state;
    cd_request_id(mine); /* the buffer is filled */
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[CD_REQUEST_ID_SZ];

        cd_request_id(id);
        _exit(write(fd[1], id, sizeof(id)) == (ssize_t)sizeof(id) ? 0 : 1);
    }
    assert_int_equal(read(fd[0], theirs, sizeof(theirs)), sizeof(theirs));
    assert_int_equal(waitpid(pid, &st, 0), pid);
    cd_request_id(mine);
    assert_string_not_equal(mine, theirs);
    close(fd[0]);
    close(fd[1]);
}

static void test_sha256(void **state)
{
    char out[65];

    (void)state;
    cd_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
    cd_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_ordered_by_time),
        cmocka_unit_test(test_same_ms_still_unique),
        cmocka_unit_test(test_pool_many_unique),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_request_id_fork),
        cmocka_unit_test(test_sha256),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
