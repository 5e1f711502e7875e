/*
 * test_sandbox_subs.c - the sandbox's billing periods (pure): recurring
 * intervals, and periods that add calendar months and years with the day
 * clamped to the month's end, as Stripe bills (Jan 31 -> Feb 28/29).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sandbox/internal.h"
#include "util/util.h"

/* "2026-01-31T10:00:00Z" -> unix seconds. */
static int64_t t(const char *s)
{
    int64_t v = 0;

    assert_int_equal(cd_time_parse_rfc3339(s, &v), 0);
    return v;
}

static void expect_add(const char *start, const char *interval, int64_t n,
                       const char *want)
{
    char got[21];

    cd_time_rfc3339(cd_sandbox_period_add(t(start), interval, n), got);
    if (strcmp(got, want) != 0)
        fail_msg("%s + %lld %s: %s, want %s", start, (long long)n, interval,
                 got, want);
}

static void test_intervals(void **state)
{
    (void)state;
    assert_true(cd_sandbox_interval_ok("day"));
    assert_true(cd_sandbox_interval_ok("week"));
    assert_true(cd_sandbox_interval_ok("month"));
    assert_true(cd_sandbox_interval_ok("year"));
    assert_false(cd_sandbox_interval_ok("Month"));
    assert_false(cd_sandbox_interval_ok("fortnight"));
    assert_false(cd_sandbox_interval_ok(""));
    assert_false(cd_sandbox_interval_ok(NULL));
}

static void test_period_add(void **state)
{
    (void)state;
    expect_add("2026-03-10T10:00:00Z", "day", 1, "2026-03-11T10:00:00Z");
    expect_add("2026-03-10T10:00:00Z", "week", 2, "2026-03-24T10:00:00Z");
    expect_add("2026-03-10T10:00:00Z", "month", 1, "2026-04-10T10:00:00Z");
    expect_add("2026-01-31T10:00:00Z", "month", 1, "2026-02-28T10:00:00Z");
    expect_add("2028-01-31T10:00:00Z", "month", 1, "2028-02-29T10:00:00Z");
    expect_add("2026-12-15T23:59:59Z", "month", 1, "2027-01-15T23:59:59Z");
    expect_add("2026-11-30T00:00:00Z", "month", 3, "2027-02-28T00:00:00Z");
    expect_add("2028-02-29T12:00:00Z", "year", 1, "2029-02-28T12:00:00Z");
    expect_add("2026-05-05T05:05:05Z", "year", 2, "2028-05-05T05:05:05Z");
    /* a count below 1 counts as 1 */
    expect_add("2026-03-10T10:00:00Z", "month", 0, "2026-04-10T10:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_period_add),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
