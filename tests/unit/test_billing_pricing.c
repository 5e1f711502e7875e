/*
 * test_billing_pricing.c - the pure parts of pricing.h: the price of each
 * mode, discount arithmetic (round half up to the cent, a fixed discount
 * takes at most the base), the minimum-charge rule, each discount state,
 * and code normalisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "billing/pricing.h"
#include "util/util.h"

static struct cd_discount pct(int64_t p)
{
    struct cd_discount d;

    memset(&d, 0, sizeof(d));
    strcpy(d.code, "TEST");
    d.percent_off = p;
    d.active = 1;
    return d;
}

static struct cd_discount fixed(int64_t cents)
{
    struct cd_discount d = pct(0);

    d.amount_off_cents = cents;
    return d;
}

static void test_modes(void **state)
{
    struct cd_pricing p;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.launch_cents = 2999;
    p.rrp_cents = 4999;
    p.sale_cents = 2499;
    strcpy(p.mode, "launch");
    assert_int_equal(cd_pricing_base_cents(&p), 2999);
    strcpy(p.mode, "rrp");
    assert_int_equal(cd_pricing_base_cents(&p), 4999);
    strcpy(p.mode, "sale");
    assert_int_equal(cd_pricing_base_cents(&p), 2499);
    strcpy(p.mode, "bogus"); /* unknown mode falls back to launch */
    assert_int_equal(cd_pricing_base_cents(&p), 2999);
}

static void test_percent_rounding(void **state)
{
    struct cd_discount d;

    (void)state;
    d = pct(10); /* 299.9 -> 300: $29.99 - 10 % = $26.99 */
    assert_int_equal(cd_discount_amount(&d, 2999), 300);
    assert_int_equal(2999 - cd_discount_amount(&d, 2999), 2699);
    d = pct(15); /* 449.85 -> 450 */
    assert_int_equal(cd_discount_amount(&d, 2999), 450);
    assert_int_equal(2999 - cd_discount_amount(&d, 2999), 2549);
    d = pct(1); /* 29.99 -> 30 */
    assert_int_equal(cd_discount_amount(&d, 2999), 30);
    d = pct(33); /* 1649.67 -> 1650 */
    assert_int_equal(cd_discount_amount(&d, 4999), 1650);
    assert_int_equal(4999 - cd_discount_amount(&d, 4999), 3349);
    d = pct(50); /* exactly half a cent rounds up */
    assert_int_equal(cd_discount_amount(&d, 1), 1);
    d = pct(5); /* 0.5 -> 1 */
    assert_int_equal(cd_discount_amount(&d, 10), 1);
    d = pct(25); /* 0.25 -> 0 */
    assert_int_equal(cd_discount_amount(&d, 1), 0);
    d = pct(20); /* exact */
    assert_int_equal(cd_discount_amount(&d, 2500), 500);
    d = pct(99);
    assert_int_equal(cd_discount_amount(&d, CD_AMOUNT_MAX),
                     CD_AMOUNT_MAX / 100 * 99);
    /* Huge bases never overflow. */
    d = pct(100);
    assert_int_equal(cd_discount_amount(&d, INT64_MAX), INT64_MAX);
    d = pct(10);
    assert_int_equal(cd_discount_amount(&d, INT64_MAX),
                     (INT64_MAX / 100) * 10 +
                         ((INT64_MAX % 100) * 10 + 50) / 100);
}

static void test_full_and_minimum(void **state)
{
    struct cd_discount d = pct(100);
    int64_t final;

    (void)state;
    assert_int_equal(cd_discount_amount(&d, 2999), 2999);
    final = 2999 - cd_discount_amount(&d, 2999);
    assert_true(final < CD_MIN_CHARGE_CENTS); /* a checkout refuses it */
    d = pct(99); /* 2969.01 -> 2969 off: 30 left, still below $0.50 */
    final = 2999 - cd_discount_amount(&d, 2999);
    assert_int_equal(final, 30);
    assert_true(final < CD_MIN_CHARGE_CENTS);
    d = pct(98); /* 2939.02 -> 2939: 60 left, chargeable */
    final = 2999 - cd_discount_amount(&d, 2999);
    assert_int_equal(final, 60);
    assert_true(final >= CD_MIN_CHARGE_CENTS);
}

static void test_fixed(void **state)
{
    struct cd_discount d;

    (void)state;
    d = fixed(500);
    assert_int_equal(cd_discount_amount(&d, 2999), 500);
    d = fixed(5000); /* more than the base: takes the whole base */
    assert_int_equal(cd_discount_amount(&d, 2999), 2999);
    d = fixed(2999);
    assert_int_equal(cd_discount_amount(&d, 2999), 2999);
    assert_int_equal(cd_discount_amount(&d, 0), 0);
    assert_int_equal(cd_discount_amount(NULL, 2999), 0);
    d = fixed(0); /* neither kind: nothing off */
    assert_int_equal(cd_discount_amount(&d, 2999), 0);
}

static void test_problems(void **state)
{
    struct cd_discount d = pct(10);
    const int64_t now = 1800000000;

    (void)state;
    assert_string_equal(cd_discount_problem(NULL, now), "unknown_code");
    assert_null(cd_discount_problem(&d, now));
    d.active = 0;
    assert_string_equal(cd_discount_problem(&d, now), "inactive");
    d.active = 1;
    d.expires_at = now; /* expiry is exclusive */
    assert_string_equal(cd_discount_problem(&d, now), "expired");
    d.expires_at = now - 1;
    assert_string_equal(cd_discount_problem(&d, now), "expired");
    d.expires_at = now + 1;
    assert_null(cd_discount_problem(&d, now));
    d.expires_at = 0;
    d.max_uses = 3;
    d.times_used = 2;
    assert_null(cd_discount_problem(&d, now));
    d.times_used = 3;
    assert_string_equal(cd_discount_problem(&d, now), "exhausted");
    d.times_used = 4;
    assert_string_equal(cd_discount_problem(&d, now), "exhausted");
    d.max_uses = 0; /* unlimited */
    d.times_used = 1000000;
    assert_null(cd_discount_problem(&d, now));
    /* inactive wins over the other states */
    d.active = 0;
    d.expires_at = now - 5;
    assert_string_equal(cd_discount_problem(&d, now), "inactive");
}

static void test_normalize(void **state)
{
    char c[64];

    (void)state;
    strcpy(c, "launch10");
    assert_int_equal(cd_discount_normalize(c), 0);
    assert_string_equal(c, "LAUNCH10");
    strcpy(c, "Black-Friday_2026");
    assert_int_equal(cd_discount_normalize(c), 0);
    assert_string_equal(c, "BLACK-FRIDAY_2026");
    strcpy(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"); /* 32: ok */
    assert_int_equal(cd_discount_normalize(c), 0);
    strcpy(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"); /* 33 */
    assert_int_equal(cd_discount_normalize(c), -1);
    strcpy(c, "");
    assert_int_equal(cd_discount_normalize(c), -1);
    strcpy(c, "WITH SPACE");
    assert_int_equal(cd_discount_normalize(c), -1);
    strcpy(c, "semi;colon");
    assert_int_equal(cd_discount_normalize(c), -1);
    strcpy(c, "caf\xc3\xa9");
    assert_int_equal(cd_discount_normalize(c), -1);
    assert_int_equal(cd_discount_normalize(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_percent_rounding),
        cmocka_unit_test(test_full_and_minimum),
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_problems),
        cmocka_unit_test(test_normalize),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
