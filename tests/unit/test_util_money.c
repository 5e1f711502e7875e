/*
 * test_util_money.c - money display (cd_money_display), the balance limit
 * (cd_balance_add) and bounded integer parsing (cd_parse_int64).
 * The display is safe for any buffer size and any currency string.
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
    assert_string_equal(disp(100, "eur"), "\xe2\x82\xac"
                                          "1.00");
    assert_string_equal(disp(-250, "eur"), "-\xe2\x82\xac"
                                           "2.50");
    assert_string_equal(disp(1234, "gbp"), "\xc2\xa3"
                                           "12.34");
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

/* Whether s is well-formed UTF-8 (no sequence cut short). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80    ? 0
                : *p >= 0xf0 ? 3
                : *p >= 0xe0 ? 2
                : *p >= 0xc0 ? 1
                             : -1;

        if (n < 0)
            return 0;
        p++;
        while (n-- > 0)
            if ((*p++ & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* Every buffer size from 0 up: each one exactly allocated (ASan sees a
 * byte written or read outside it), the result a prefix of the full
 * display cut on a character boundary; size 0 writes nothing. */
static void check_sizes(int64_t v, const char *cur, const char *full)
{
    for (size_t sz = 0; sz <= strlen(full) + 2; sz++) {
        char *buf = malloc(sz ? sz : 1);

        assert_non_null(buf);
        memset(buf, 'x', sz ? sz : 1);
        assert_ptr_equal(cd_money_display(v, cur, buf, sz), buf);
        if (sz == 0) {
            assert_int_equal(buf[0], 'x');
        } else {
            size_t n = strnlen(buf, sz);

            assert_true(n < sz);
            assert_memory_equal(buf, full, n);
            assert_true(utf8_ok(buf));
            assert_true(n + 4 > sz || n == strlen(full)); /* no early stop */
        }
        free(buf);
    }
}

static void test_any_buffer_any_currency(void **state)
{
    static const char longcur[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
    static const char longup[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN";
    char full[128];

    (void)state;
    snprintf(full, sizeof(full), "-123.45 %s", longup);
    assert_string_equal(disp(-12345, longcur), full);
    check_sizes(-12345, longcur, full);
    check_sizes(INT64_MIN, "usd", "-$92233720368547758.08");
    check_sizes(-250, "eur",
                "-\xe2\x82\xac"
                "2.50");
    check_sizes(1234, "gbp",
                "\xc2\xa3"
                "12.34");
    check_sizes(1234, "chf", "12.34 CHF");
    /* A non-ASCII currency is shown as given (not upper-cased, not cut
     * inside a character). */
    check_sizes(100, "\xc3\xa9\xc3\xa9", "1.00 \xc3\xa9\xc3\xa9");
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
    assert_int_equal(cd_parse_int64("-9223372036854775808", INT64_MIN, 0, &v),
                     0);
    assert_int_equal(v, INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usd),
        cmocka_unit_test(test_other_currencies),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_any_buffer_any_currency),
        cmocka_unit_test(test_balance_add),
        cmocka_unit_test(test_parse_int64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
