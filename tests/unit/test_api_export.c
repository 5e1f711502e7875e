/*
 * test_api_export.c - one CSV cell of the admin exports (export.c): RFC
 * 4180 quoting of quotes, commas, CR and LF, and a leading ' on a cell a
 * spreadsheet would read as a formula (= + - @, tab, CR first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/core.h"
#include "util/buf.h"

static void expect_cell(const char *in, const char *want)
{
    struct cd_buf b;

    cd_buf_init(&b, 1024);
    assert_int_equal(cd_csv_text(&b, in), 0);
    assert_string_equal(b.data ? b.data : "", want);
    cd_buf_free(&b);
}

static void test_plain(void **state)
{
    (void)state;
    expect_cell("", "");
    expect_cell("ord_123", "ord_123");
    expect_cell("a b;c", "a b;c");
    expect_cell("x=1", "x=1"); /* only the first character counts */
    expect_cell("caf\xc3\xa9", "caf\xc3\xa9");
}

static void test_quoted(void **state)
{
    (void)state;
    expect_cell("a,b", "\"a,b\"");
    expect_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_cell("two\nlines", "\"two\nlines\"");
    expect_cell("cr\rhere", "\"cr\rhere\"");
    expect_cell("\"", "\"\"\"\"");
}

static void test_formulas(void **state)
{
    (void)state;
    expect_cell("=1+1", "\"'=1+1\"");
    expect_cell("+1", "\"'+1\"");
    expect_cell("-1", "\"'-1\"");
    expect_cell("@SUM(A1)", "\"'@SUM(A1)\"");
    expect_cell("\tx", "\"'\tx\"");
    expect_cell("\rx", "\"'\rx\"");
    expect_cell("=HYPERLINK(\"u\",\"t\")",
                "\"'=HYPERLINK(\"\"u\"\",\"\"t\"\")\"");
}

static void test_out_of_room(void **state)
{
    struct cd_buf b;

    (void)state;
    cd_buf_init(&b, 4);
    assert_int_equal(cd_csv_text(&b, "a,bcdef"), -1);
    cd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_formulas),
        cmocka_unit_test(test_out_of_room),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
