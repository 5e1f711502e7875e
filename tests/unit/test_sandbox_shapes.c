/*
 * test_sandbox_shapes.c - cd_sandbox_shape completes objects to the pinned
 * API version's shape from the generated skeletons: a missing property is
 * added (null for a nullable object, the skeleton otherwise), a nullable
 * or optional object that is there is completed, an optional one that is
 * not stays out, what the object has is never changed, nested objects are
 * completed by their own "object", and previous_attributes are left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sandbox/internal.h"

static json_t *shaped(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        fail_msg("bad JSON %s: %s", text, e.text);
    cd_sandbox_shape(v);
    return v;
}

static void test_skeletons_parse(void **state)
{
    (void)state;
    assert_true(cd_sandbox_shape_nsrcs >= 10);
    for (size_t i = 0; i < cd_sandbox_shape_nsrcs; i++) {
        json_error_t e;
        json_t *sk = json_loads(cd_sandbox_shape_srcs[i].json, 0, &e);
        if (!json_is_object(sk))
            fail_msg("%s: %s", cd_sandbox_shape_srcs[i].object, e.text);
        json_decref(sk);
    }
}

static void test_fills_what_is_missing(void **state)
{
    json_t *inv = shaped("{\"id\":\"in_1\",\"object\":\"invoice\","
                         "\"status\":\"paid\",\"total\":500}");

    (void)state;
    /* kept */
    assert_string_equal(json_string_value(json_object_get(inv, "status")),
                        "paid");
    assert_int_equal(json_integer_value(json_object_get(inv, "total")), 500);
    /* added: a nullable scalar, a nullable object, a list, a flag */
    assert_true(json_is_null(json_object_get(inv, "application")));
    assert_true(json_is_null(json_object_get(inv, "shipping_details")));
    assert_true(json_is_array(json_object_get(inv, "discounts")));
    assert_true(json_is_boolean(json_object_get(inv, "livemode")));
    /* a non-nullable object, its nullable members null, no markers */
    assert_true(json_is_object(json_object_get(inv, "automatic_tax")));
    assert_null(json_object_get(json_object_get(inv, "automatic_tax"), "?"));
    /* the removed top-level subscription is not brought back */
    assert_null(json_object_get(inv, "subscription"));
    json_decref(inv);
}

static void test_nested_and_optional(void **state)
{
    json_t *pm = shaped("{\"id\":\"pm_1\",\"object\":\"payment_method\","
                        "\"type\":\"card\",\"card\":{\"brand\":\"visa\"}}");
    json_t *bare = shaped("{\"id\":\"pm_2\",\"object\":\"payment_method\","
                          "\"type\":\"card\"}");
    json_t *ev = shaped(
        "{\"id\":\"evt_1\",\"object\":\"event\",\"data\":{\"object\":"
        "{\"id\":\"cus_1\",\"object\":\"customer\"},"
        "\"previous_attributes\":{\"object\":\"customer\"}}}");
    json_t *card = json_object_get(pm, "card");

    (void)state;
    /* an optional object that is there is completed... */
    assert_string_equal(json_string_value(json_object_get(card, "brand")),
                        "visa");
    assert_non_null(json_object_get(card, "wallet"));
    assert_true(json_is_null(json_object_get(card, "wallet")));
    /* ...one that is not stays out */
    assert_null(json_object_get(bare, "card"));
    /* an event's object by its own kind; previous_attributes untouched */
    assert_non_null(json_object_get(
        json_object_get(json_object_get(ev, "data"), "object"), "balance"));
    assert_int_equal(json_object_size(json_object_get(
                         json_object_get(ev, "data"), "previous_attributes")),
                     1);
    json_decref(pm);
    json_decref(bare);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skeletons_parse),
        cmocka_unit_test(test_fills_what_is_missing),
        cmocka_unit_test(test_nested_and_optional),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
