/*
 * test_api_export.c - one CSV cell of the admin exports (export.c): RFC
 * 4180 quoting of quotes, commas, CR and LF, and a leading ' on a cell a
 * spreadsheet would read as a formula (= + - @, tab, CR first); and a
 * whole ledger row, whose last two columns are the transaction's draws
 * ("lot_id:amount;..." in one cell) and its effective_at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/core.h"
#include "store/store.h"
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

static struct cd_ledger_entry entry(int64_t amount, const char *desc,
                                    int64_t created, int64_t effective)
{
    struct cd_ledger_entry e;

    memset(&e, 0, sizeof(e));
    strcpy(e.id, "txn_1");
    strcpy(e.account_id, "acct_1");
    e.amount = amount;
    e.balance_after = 700;
    strcpy(e.kind, amount < 0 ? "usage" : "grant");
    strcpy(e.ref, "debit:x");
    strcpy(e.description, desc);
    e.created_at = created;
    e.effective_at = effective;
    return e;
}

static void expect_row(const struct cd_ledger_entry *e, const char *draws,
                       const char *want)
{
    struct cd_buf b;

    cd_buf_init(&b, 4096);
    assert_int_equal(cd_csv_ledger_row(&b, e, draws), 0);
    assert_string_equal(b.data, want);
    cd_buf_free(&b);
}

static void test_ledger_row(void **state)
{
    struct cd_ledger_entry e;
    struct cd_buf d;

    (void)state;
    /* A debit from two lots: both in one cell, after the old columns. */
    cd_buf_init(&d, 1024);
    assert_int_equal(cd_csv_draw(&d, "lot_a", 200), 0);
    assert_int_equal(cd_csv_draw(&d, "lot_b", 100), 0);
    assert_string_equal(d.data, "lot_a:200;lot_b:100");
    e = entry(-300, "api, \"v2\"", 1764563000, 0);
    expect_row(&e, d.data,
               "txn_1,acct_1,-300,700,usage,debit:x,,\"api, \"\"v2\"\"\","
               "2025-12-01T04:23:20Z,lot_a:200;lot_b:100,"
               "2025-12-01T04:23:20Z\r\n");
    cd_buf_free(&d);
    /* A credit draws nothing; an expiry's effective_at is its own. */
    e = entry(50, "g", 1764563000, 1764000000);
    expect_row(&e, "",
               "txn_1,acct_1,50,700,grant,debit:x,,g,2025-12-01T04:23:20Z,,"
               "2025-11-24T16:00:00Z\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),      cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_formulas),   cmocka_unit_test(test_out_of_room),
        cmocka_unit_test(test_ledger_row),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
