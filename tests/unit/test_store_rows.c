/*
 * test_store_rows.c - the store's seam (backend.h) and its record
 * descriptors (rows.c): each descriptor names the columns of its SQL
 * column list in order; every shared statement numbers its ?N
 * placeholders 1..N without gaps (what a $N dialect needs); the SQLite
 * backend is the one chosen for a path and PostgreSQL's for a URL, at the
 * current interface version; a URL's password never shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/records.h"

static void test_descriptors_match_sql(void **state)
{
    (void)state;
    assert_true(cd_recs_count >= 13);
    for (int i = 0; i < cd_recs_count; i++) {
        if (cd_rec_check(cd_recs[i]) != 0)
            print_error("descriptor %s does not match \"%s\"\n",
                        cd_recs[i]->name, cd_recs[i]->cols_sql);
        assert_int_equal(cd_rec_check(cd_recs[i]), 0);
    }
}

static void test_descriptor_check_catches_drift(void **state)
{
    static const struct cd_col cols[] = {{"id", CD_COL_STR, 0, 8},
                                         {"amount", CD_COL_I64, 8, 8}};
    struct cd_rec r = {"x", "id, amount", 16, 2, cols};

    (void)state;
    assert_int_equal(cd_rec_check(&r), 0);
    r.cols_sql = "id, amount, extra";
    assert_int_equal(cd_rec_check(&r), -1);
    r.cols_sql = "amount, id";
    assert_int_equal(cd_rec_check(&r), -1);
    r.cols_sql = "id";
    assert_int_equal(cd_rec_check(&r), -1);
}

/* The highest ?N in sql, with seen[n] set for each one used. */
static int placeholders(const char *sql, int *seen, int max)
{
    int hi = 0;

    for (const char *p = sql; *p; p++) {
        if (*p == '\'') { /* skip string literals */
            p = strchr(p + 1, '\'');
            if (!p)
                return -1;
            continue;
        }
        if (*p == '?') {
            int n = atoi(p + 1);

            if (n <= 0 || n >= max)
                return -1;
            seen[n] = 1;
            if (n > hi)
                hi = n;
        }
    }
    return hi;
}

/* The keyset page statements (010, 022) share one parameter layout (?1
 * account, ?2 status, ?3 kind, ?4.. the keyset, ?5 unused since 024)
 * and name only the filters they read; records.c binds the others as integers, so PostgreSQL still
 * knows every parameter's type. */
static int shared_layout(int id)
{
    return id == SQ_ORDER_PAGE_ACCT || id == SQ_ORDER_PAGE_STATUS ||
           id == SQ_ORDER_PAGE_KIND || id == SQ_ORDER_PAGE_ALL ||
           id == SQ_LEDGER_PAGE_ACCT || id == SQ_LEDGER_PAGE_KIND ||
           id == SQ_LEDGER_PAGE_ALL || id == SQ_PAYMENT_PAGE_ACCT ||
           id == SQ_PAYMENT_PAGE_STATUS || id == SQ_PAYMENT_PAGE_ALL ||
           id == SQ_SUB_PAGE_ACCT || id == SQ_SUB_PAGE_STATUS ||
           id == SQ_SUB_PAGE_ALL;
}

static void test_placeholders_dense(void **state)
{
    (void)state;
    for (int id = 0; id < SQ__COUNT; id++) {
        int seen[64] = {0};
        int hi;

        assert_non_null(cd_sq_sql[id]);
        hi = placeholders(cd_sq_sql[id], seen, 64);
        if (hi < 0)
            print_error("statement %d: bad placeholder\n", id);
        assert_true(hi >= 0);
        for (int n = 1; n <= hi && !shared_layout(id); n++) {
            if (!seen[n])
                print_error("statement %d: ?%d unused\n", id, n);
            assert_true(seen[n]);
        }
    }
}

static void test_backend_for_path(void **state)
{
    struct cd_error err = {0};
    const struct cd_backend *be;

    (void)state;
    be = cd_backend_for("/tmp/x.db", &err);
    assert_non_null(be);
    assert_ptr_equal(be, &cd_backend_sqlite);
    assert_int_equal(be->version, CD_BACKEND_VERSION);
    assert_null(cd_backend_for("", &err));
    assert_ptr_equal(cd_backend_for("postgres://h/db", &err), &cd_backend_pg);
    assert_ptr_equal(cd_backend_for("postgresql://h/db", &err),
                     &cd_backend_pg);
    assert_int_equal(cd_backend_pg.version, CD_BACKEND_VERSION);
}

static void test_target_display_hides_password(void **state)
{
    char out[128];

    (void)state;
    cd_store_target_display("postgres://u:s3cret@h:5432/db", out,
                            sizeof(out));
    assert_string_equal(out, "postgres://u:***@h:5432/db");
    cd_store_target_display("postgresql://h/db?sslmode=require&password=x1&"
                            "connect_timeout=5",
                            out, sizeof(out));
    assert_string_equal(out, "postgresql://h/db?sslmode=require&password=***&"
                             "connect_timeout=5");
    cd_store_target_display("postgres://u@h/db", out, sizeof(out));
    assert_string_equal(out, "postgres://u@h/db");
    cd_store_target_display("/var/lib/creditd/creditd.db", out, sizeof(out));
    assert_string_equal(out, "/var/lib/creditd/creditd.db");
    cd_store_target_display("postgres://u:s3cret@h/db", out, 16);
    assert_null(strstr(out, "s3c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors_match_sql),
        cmocka_unit_test(test_descriptor_check_catches_drift),
        cmocka_unit_test(test_placeholders_dense),
        cmocka_unit_test(test_backend_for_path),
        cmocka_unit_test(test_target_display_hides_password),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
