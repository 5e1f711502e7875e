/*
 * test_util_time.c - RFC 3339 times: the strict parser (exact digits, an
 * offset of Z or +-hh:mm, real calendar dates, the result bounded to
 * 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z) and the formatter, which
 * clamps any int64 into that range and so always writes 20 characters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

static void expect_time(const char *s, int64_t want)
{
    int64_t v = -12345;

    if (cd_time_parse_rfc3339(s, &v) != 0)
        fail_msg("'%s' refused, want %lld", s, (long long)want);
    if (v != want)
        fail_msg("'%s' -> %lld, want %lld", s, (long long)v, (long long)want);
}

static void expect_refused(const char *s)
{
    int64_t v = -12345;

    if (cd_time_parse_rfc3339(s, &v) == 0)
        fail_msg("'%s' accepted as %lld", s, (long long)v);
    assert_int_equal(v, -12345); /* left alone */
}

static void test_parse_valid(void **state)
{
    (void)state;
    expect_time("1970-01-01T00:00:00Z", 0);
    expect_time("2023-11-14T22:13:20Z", 1700000000);
    expect_time("2023-11-14t22:13:20z", 1700000000);
    expect_time("2023-11-14T22:13:20.123456Z", 1700000000);
    expect_time("2023-11-14T23:13:20+01:00", 1700000000);
    expect_time("2023-11-14T17:43:20-04:30", 1700000000);
    expect_time("2024-02-29T00:00:00Z", 1709164800);
    expect_time("2000-02-29T00:00:00Z", 951782400);
    expect_time("9999-12-31T23:59:59Z", CD_TIME_MAX);
    expect_time("9999-12-31T23:59:59.999Z", CD_TIME_MAX);
    expect_time("1970-01-01T01:00:00+01:00", 0);
    expect_time("1969-12-31T23:00:00-01:00", 0);
    /* A leap second counts as the next second, as timegm() has it. */
    expect_time("2016-12-31T23:59:60Z", 1483228800);
}

static void test_parse_out_of_range(void **state)
{
    (void)state;
    /* Past 9999 once the offset is applied: the ASan abort of the trust
     * issue (a 21-character year-10000 time). */
    expect_refused("9999-12-31T23:59:59-23:59");
    expect_refused("9999-12-31T23:59:59-00:01");
    expect_refused("9999-12-31T23:59:60Z");
    expect_refused("1970-01-01T00:00:00+00:01");
    expect_refused("1969-12-31T23:59:59Z");
    expect_refused("0000-01-01T00:00:00Z");
}

static void test_parse_bad_offsets(void **state)
{
    (void)state;
    expect_refused("2026-01-01T00:00:00+ 1:00"); /* was -159 hours */
    expect_refused("2026-01-01T00:00:00+1a:00");
    expect_refused("2026-01-01T00:00:00+01:0x");
    expect_refused("2026-01-01T00:00:00+01:-1");
    expect_refused("2026-01-01T00:00:00+24:00");
    expect_refused("2026-01-01T00:00:00+01:60");
    expect_refused("2026-01-01T00:00:00+0100");
    expect_refused("2026-01-01T00:00:00+01");
    expect_refused("2026-01-01T00:00:00+01:000");
    expect_refused("2026-01-01T00:00:00");
    expect_refused("2026-01-01T00:00:00ZZ");
    expect_refused("2026-01-01T00:00:00 Z");
    expect_refused("2026-01-01T00:00:00.Z");
}

static void test_parse_bad_fields(void **state)
{
    (void)state;
    expect_refused(NULL);
    expect_refused("");
    expect_refused(" 2026-01-01T00:00:00Z");
    expect_refused("2026-1-01T00:00:00Z");
    expect_refused("2026-01-1T00:00:00Z");
    expect_refused("+2026-01-01T00:00:00Z");
    expect_refused("20260-01-01T00:00:00Z");
    expect_refused("2026-01-01 00:00:00Z");
    expect_refused("2026-01-01T0:00:00Z");
    expect_refused("2026-13-01T00:00:00Z");
    expect_refused("2026-00-01T00:00:00Z");
    expect_refused("2026-01-00T00:00:00Z");
    expect_refused("2026-01-32T00:00:00Z");
    expect_refused("2026-02-29T00:00:00Z"); /* not a leap year */
    expect_refused("1900-02-29T00:00:00Z");
    expect_refused("2026-04-31T00:00:00Z");
    expect_refused("2026-01-01T24:00:00Z");
    expect_refused("2026-01-01T00:60:00Z");
    expect_refused("2026-01-01T00:00:61Z");
    expect_refused("2026-01-01");
    expect_refused("2026-01-01T00:00Z");
}

/* Formats into exactly 21 bytes after filling them, so a missing or late
 * NUL shows (ASan sees any write past them). */
static const char *fmt(int64_t t)
{
    static char out[21];

    memset(out, 'x', sizeof(out));
    cd_time_rfc3339(t, out);
    assert_int_equal(strnlen(out, sizeof(out)), 20);
    return out;
}

static void test_format(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "1970-01-01T00:00:00Z");
    assert_string_equal(fmt(1700000000), "2023-11-14T22:13:20Z");
    assert_string_equal(fmt(951782400), "2000-02-29T00:00:00Z");
    assert_string_equal(fmt(951868799), "2000-02-29T23:59:59Z");
    assert_string_equal(fmt(1483228799), "2016-12-31T23:59:59Z");
    assert_string_equal(fmt(CD_TIME_MAX), "9999-12-31T23:59:59Z");
}

static void test_format_clamps(void **state)
{
    (void)state;
    /* What "9999-12-31T23:59:59-23:59" used to be stored as. */
    assert_string_equal(fmt(INT64_C(253402387140)), "9999-12-31T23:59:59Z");
    assert_string_equal(fmt(CD_TIME_MAX + 1), "9999-12-31T23:59:59Z");
    assert_string_equal(fmt(INT64_MAX), "9999-12-31T23:59:59Z");
    assert_string_equal(fmt(-1), "1970-01-01T00:00:00Z");
    assert_string_equal(fmt(INT64_MIN), "1970-01-01T00:00:00Z");
}

/* Every format parses back to the same second, across the whole range. */
static void test_round_trip(void **state)
{
    int64_t step = CD_TIME_MAX / 100003, v;

    (void)state;
    for (int64_t t = 0; t <= CD_TIME_MAX - step; t += step) {
        assert_int_equal(cd_time_parse_rfc3339(fmt(t), &v), 0);
        assert_int_equal(v, t);
    }
    assert_int_equal(cd_time_parse_rfc3339(fmt(CD_TIME_MAX), &v), 0);
    assert_int_equal(v, CD_TIME_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_out_of_range),
        cmocka_unit_test(test_parse_bad_offsets),
        cmocka_unit_test(test_parse_bad_fields),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_clamps),
        cmocka_unit_test(test_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
