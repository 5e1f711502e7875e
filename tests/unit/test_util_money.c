/*
 * test_util_money.c - money display (cd_money_display), the balance limit
 * (cd_balance_add) and bounded integer parsing (cd_parse_int64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

static const char *disp(int64_t v, const char *cur)
{
    static char buf[64];

    return cd_money_display(v, cur, buf, sizeof(buf));
}

static void test_usd(void **state)
{
    (void)state;
    assert_string_equal(disp(0, "usd"), "$0.00");
    assert_string_equal(disp(5, "usd"), "$0.05");
    assert_string_equal(disp(100, "usd"), "$1.00");
    assert_string_equal(disp(1234, "usd"), "$12.34");
    assert_string_equal(disp(-5, "usd"), "-$0.05");
    assert_string_equal(disp(-1234, "usd"), "-$12.34");
    assert_string_equal(disp(INT64_MAX, "usd"), "$92233720368547758.07");
    assert_string_equal(disp(INT64_MIN, "usd"), "-$92233720368547758.08");
    assert_string_equal(disp(1234, NULL), "$12.34");
}

static void test_other_currencies(void **state)
{
    (void)state;
    assert_string_equal(disp(100, "eur"), "\xe2\x82\xac" "1.00");
    assert_string_equal(disp(-250, "eur"), "-\xe2\x82\xac" "2.50");
    assert_string_equal(disp(1234, "gbp"), "\xc2\xa3" "12.34");
    /* Unknown symbol: amount and upper-case code. */
    assert_string_equal(disp(1234, "chf"), "12.34 CHF");
    assert_string_equal(disp(-7, "chf"), "-0.07 CHF");
    /* jpy has no minor unit in reality; we always show two digits. */
    assert_string_equal(disp(500, "jpy"), "5.00 JPY");
}

static void test_small_buffer(void **state)
{
    char small[6];

    (void)state;
    cd_money_display(123456, "usd", small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1); /* truncated, ended */
}

static void test_balance_add(void **state)
{
    int64_t r = 42;

    (void)state;
    assert_int_equal(cd_balance_add(1, 2, &r), 0);
    assert_int_equal(r, 3);
    assert_int_equal(cd_balance_add(0, -5, &r), 0);
    assert_int_equal(r, -5);
    assert_int_equal(cd_balance_add(CD_BALANCE_LIMIT - 1, 1, &r), 0);
    assert_int_equal(r, CD_BALANCE_LIMIT);
    r = 42;
    assert_int_equal(cd_balance_add(CD_BALANCE_LIMIT, 1, &r), -1);
    assert_int_equal(r, 42); /* left alone */
    assert_int_equal(cd_balance_add(-CD_BALANCE_LIMIT, -1, &r), -1);
    assert_int_equal(cd_balance_add(-CD_BALANCE_LIMIT + 1, -1, &r), 0);
    assert_int_equal(r, -CD_BALANCE_LIMIT);
    assert_int_equal(cd_balance_add(INT64_MAX, 1, &r), -1);
    assert_int_equal(cd_balance_add(INT64_MIN, -1, &r), -1);
    assert_int_equal(cd_balance_add(INT64_MAX, INT64_MIN, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(cd_balance_add(CD_BALANCE_LIMIT, -CD_BALANCE_LIMIT, &r),
                     0);
    assert_int_equal(r, 0);
}

static void test_parse_int64(void **state)
{
    int64_t v = 7;

    (void)state;
    assert_int_equal(cd_parse_int64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cd_parse_int64("100", 1, 100, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(cd_parse_int64("-3", -5, 5, &v), 0);
    assert_int_equal(v, -3);
    v = 7;
    assert_int_equal(cd_parse_int64("101", 1, 100, &v), -1);
    assert_int_equal(cd_parse_int64("0", 1, 100, &v), -1);
    assert_int_equal(cd_parse_int64("", 0, 10, &v), -1);
    assert_int_equal(cd_parse_int64(NULL, 0, 10, &v), -1);
    assert_int_equal(cd_parse_int64("12abc", 0, 100, &v), -1);
    assert_int_equal(cd_parse_int64(" 12", 0, 100, &v), -1);
    assert_int_equal(cd_parse_int64("+12", 0, 100, &v), -1);
    assert_int_equal(cd_parse_int64("1.5", 0, 100, &v), -1);
    assert_int_equal(cd_parse_int64("99999999999999999999", 0, INT64_MAX, &v),
                     -1);
    assert_int_equal(v, 7);
    assert_int_equal(cd_parse_int64("9223372036854775807", 0, INT64_MAX, &v),
                     0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(
        cd_parse_int64("-9223372036854775808", INT64_MIN, 0, &v), 0);
    assert_int_equal(v, INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usd),
        cmocka_unit_test(test_other_currencies),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_balance_add),
        cmocka_unit_test(test_parse_int64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
