/*
 * test_util_error.c - the error table: a code of error_codes.h has its
 * kind whatever it was set with, a code outside keeps its own, and 405 and
 * 501 are kinds of their own with the statuses and types of API.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"

static void test_code_kind(void **state)
{
    (void)state;
    assert_int_equal(
        cd_error_code_kind("insufficient_balance", CD_EK_INVALID),
        CD_EK_PAYMENT);
    assert_int_equal(cd_error_code_kind("method_not_allowed", CD_EK_INVALID),
                     CD_EK_METHOD);
    assert_int_equal(
        cd_error_code_kind("unsupported_transfer_encoding", CD_EK_INVALID),
        CD_EK_NOT_IMPLEMENTED);
    assert_int_equal(cd_error_code_kind("server_busy", CD_EK_INTERNAL),
                     CD_EK_UNAVAILABLE);
    /* Outside the table (startup errors): the kind it was set with. */
    assert_int_equal(cd_error_code_kind("listen_failed", CD_EK_UNAVAILABLE),
                     CD_EK_UNAVAILABLE);
    assert_int_equal(cd_error_code_kind("", CD_EK_INTERNAL), CD_EK_INTERNAL);
    assert_int_equal(cd_error_code_kind(NULL, CD_EK_AUTH), CD_EK_AUTH);
}

static void test_kind_status_and_type(void **state)
{
    (void)state;
    assert_int_equal(cd_error_kind_status(CD_EK_METHOD), 405);
    assert_string_equal(cd_error_kind_type(CD_EK_METHOD),
                        "invalid_request_error");
    assert_int_equal(cd_error_kind_status(CD_EK_NOT_IMPLEMENTED), 501);
    assert_string_equal(cd_error_kind_type(CD_EK_NOT_IMPLEMENTED),
                        "invalid_request_error");
    assert_int_equal(cd_error_kind_status(CD_EK_CONFLICT), 409);
    assert_int_equal(cd_error_kind_status((enum cd_error_kind)999), 500);
    assert_string_equal(cd_error_kind_type((enum cd_error_kind)999),
                        "api_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_kind),
        cmocka_unit_test(test_kind_status_and_type),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
