/*
 * test_cli_table.c - the admin CLI's output helpers: money formatting
 * (signs, currencies, the int64 extremes), field text, aligned tables
 * (right-aligned numbers, UTF-8 widths, one line per cell) and query
 * strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static void test_money(void **state)
{
    char b[64];

    (void)state;
    assert_string_equal(cd_cli_money(1234, "usd", b, sizeof(b)), "$12.34");
    assert_string_equal(cd_cli_money(5, NULL, b, sizeof(b)), "$0.05");
    assert_string_equal(cd_cli_money(-400, "USD", b, sizeof(b)), "-$4.00");
    assert_string_equal(cd_cli_money(0, "usd", b, sizeof(b)), "$0.00");
    assert_string_equal(cd_cli_money(250099, "eur", b, sizeof(b)),
                        "2500.99 EUR");
    assert_string_equal(cd_cli_money(INT64_MIN, "usd", b, sizeof(b)),
                        "-$92233720368547758.08");
    assert_string_equal(cd_cli_money(INT64_MAX, "usd", b, sizeof(b)),
                        "$92233720368547758.07");
}

static void test_fields(void **state)
{
    json_t *o = json_pack("{sssIsbsnsIss}", "s", "text", "i", (json_int_t)-7,
                          "b", 1, "n", "amount_cents", (json_int_t)999,
                          "currency", "usd");
    char b[64];

    (void)state;
    assert_string_equal(cd_cli_field(o, "s", b, sizeof(b)), "text");
    assert_string_equal(cd_cli_field(o, "i", b, sizeof(b)), "-7");
    assert_string_equal(cd_cli_field(o, "b", b, sizeof(b)), "yes");
    assert_string_equal(cd_cli_field(o, "n", b, sizeof(b)), "-");
    assert_string_equal(cd_cli_field(o, "absent", b, sizeof(b)), "-");
    assert_string_equal(cd_cli_money_field(o, "amount_cents", b, sizeof(b)),
                        "$9.99");
    assert_string_equal(cd_cli_money_field(o, "absent", b, sizeof(b)), "-");
    json_decref(o);
}

/* The table printed into a string. */
static char *render(const struct cli_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    cd_cli_table_print(t, f);
    fclose(f);
    return buf;
}

static void test_table(void **state)
{
    static const char *const head[] = {"ID", ">AMOUNT", "NOTE"};
    struct cli_table t;
    char *out;

    (void)state;
    cd_cli_table_init(&t, 3, head);
    assert_int_equal(
        cd_cli_table_add(&t, (const char *const[]){"a", "5", "x"}), 0);
    assert_int_equal(
        cd_cli_table_add(&t,
                         (const char *const[]){"caf\xc3\xa9", "-1200", NULL}),
        0);
    assert_int_equal(
        cd_cli_table_add(&t,
                         (const char *const[]){"b", "7", "two\nlines\tx"}),
        0);
    out = render(&t);
    assert_string_equal(out, "ID    AMOUNT  NOTE\n"
                             "a          5  x\n"
                             "caf\xc3\xa9   -1200  -\n"
                             "b          7  two lines x\n");
    free(out);
    cd_cli_table_free(&t);

    cd_cli_table_init(&t, 3, head);
    out = render(&t);
    assert_string_equal(out, "ID  AMOUNT  NOTE\n(none)\n");
    free(out);
    cd_cli_table_free(&t);
}

static void test_query(void **state)
{
    char p[64] = "/v1/admin/accounts";

    (void)state;
    assert_int_equal(cd_cli_query(p, sizeof(p), "email", "a+b@x.io"), 0);
    assert_int_equal(cd_cli_query(p, sizeof(p), "limit", NULL), 0);
    assert_int_equal(cd_cli_query(p, sizeof(p), "limit", "5"), 0);
    assert_string_equal(p, "/v1/admin/accounts?email=a%2Bb%40x.io&limit=5");
    assert_int_equal(cd_cli_query(p, sizeof(p), "from",
                                  "2030-01-01T00:00:00Z&more=much-too-long"),
                     -1);
    assert_string_equal(p, "/v1/admin/accounts?email=a%2Bb%40x.io&limit=5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_query),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
