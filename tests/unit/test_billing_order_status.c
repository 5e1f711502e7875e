/*
 * test_billing_order_status.c - the order lifecycle table
 * (billing/order_status.c): every status and kind round-trips through its
 * stored string, the legal transitions are exactly those of
 * order_status.h, and cd_order_set_status refuses an illegal one without
 * touching the order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "billing/order_status.h"
#include "util/util.h"

#define P CD_ORDER_PENDING
#define C CD_ORDER_COMPLETED
#define F CD_ORDER_FAILED
#define E CD_ORDER_EXPIRED
#define R CD_ORDER_REFUNDED
#define PR CD_ORDER_PARTIALLY_REFUNDED
#define D CD_ORDER_DISPUTED

static void test_names_round_trip(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < CD_ORDER_STATUS_COUNT; i++) {
        assert_true(cd_order_status_name(i)[0] != '\0');
        assert_int_equal(cd_order_status_of(cd_order_status_name(i)), i);
    }
    for (i = 0; i < CD_ORDER_KIND_COUNT; i++) {
        assert_true(cd_order_kind_name(i)[0] != '\0');
        assert_int_equal(cd_order_kind_of(cd_order_kind_name(i)), i);
    }
    assert_string_equal(cd_order_status_name(PR), "partially_refunded");
    assert_int_equal(cd_order_status_of("paid"), -1);
    assert_int_equal(cd_order_kind_of("grant"), -1);
}

static void test_transition_table(void **state)
{
    /* allowed[from][to], written out from order_status.h's table. */
    static const int allowed[CD_ORDER_STATUS_COUNT][CD_ORDER_STATUS_COUNT] = {
        /*         P  C  F  E  R PR  D */
        [P] = {1, 1, 1, 1, 1, 1, 1}, [C] = {0, 1, 0, 0, 1, 1, 1},
        [F] = {0, 1, 1, 0, 1, 1, 1}, [E] = {0, 1, 0, 1, 1, 1, 1},
        [R] = {1, 1, 0, 0, 1, 1, 1}, [PR] = {1, 1, 0, 0, 1, 1, 1},
        [D] = {1, 1, 0, 0, 1, 1, 1},
    };
    int from, to;

    (void)state;
    for (from = 0; from < CD_ORDER_STATUS_COUNT; from++)
        for (to = 0; to < CD_ORDER_STATUS_COUNT; to++)
            assert_int_equal(cd_order_may_move(from, to), allowed[from][to]);
    assert_int_equal(cd_order_may_move(P, CD_ORDER_STATUS_COUNT), 0);
}

static void test_set_status_refuses_illegal(void **state)
{
    struct cd_order o;

    (void)state;
    memset(&o, 0, sizeof(o));
    cd_strlcpy(o.id, "ord_test", sizeof(o.id));
    /* A new order takes its first status. */
    assert_int_equal(cd_order_set_status(&o, P), 0);
    assert_true(cd_order_is(&o, P));
    assert_int_equal(cd_order_set_status(&o, C), 0);
    assert_string_equal(o.status, "completed");
    /* Completed never goes back. */
    assert_int_equal(cd_order_set_status(&o, F), -1);
    assert_int_equal(cd_order_set_status(&o, P), -1);
    assert_int_equal(cd_order_set_status(&o, E), -1);
    assert_string_equal(o.status, "completed");
    assert_int_equal(cd_order_set_status(&o, PR), 0);
    assert_int_equal(cd_order_set_status(&o, D), 0);
    assert_int_equal(cd_order_set_status(&o, C), 0);
    /* An expired order is paid late, never failed. */
    cd_strlcpy(o.status, "expired", sizeof(o.status));
    assert_int_equal(cd_order_set_status(&o, F), -1);
    assert_true(cd_order_is(&o, E));
    assert_int_equal(cd_order_set_status(&o, C), 0);
    /* A status of an older version is not judged. */
    cd_strlcpy(o.status, "on_hold", sizeof(o.status));
    assert_int_equal(cd_order_set_status(&o, F), 0);
    assert_int_equal(cd_order_set_status(&o, CD_ORDER_STATUS_COUNT), -1);
}

static void test_kind_meanings(void **state)
{
    (void)state;
    assert_string_equal(cd_order_ledger_kind("access"), "purchase");
    assert_string_equal(cd_order_ledger_kind("topup"), "topup");
    assert_string_equal(cd_order_ledger_kind("package"), "package");
    assert_string_equal(cd_order_ledger_kind("payment_intent"), "purchase");
    assert_string_equal(cd_order_ledger_kind("invoice"), "subscription");
    assert_null(cd_order_ledger_kind("subscription"));
    assert_null(cd_order_ledger_kind("grant"));
    assert_true(cd_order_after_fulfilment("refunded"));
    assert_true(cd_order_after_fulfilment("partially_refunded"));
    assert_true(cd_order_after_fulfilment("disputed"));
    assert_false(cd_order_after_fulfilment("completed"));
    assert_false(cd_order_after_fulfilment("pending"));
    assert_false(cd_order_after_fulfilment(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_set_status_refuses_illegal),
        cmocka_unit_test(test_kind_meanings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
