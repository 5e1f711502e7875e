/*
 * test_billing_topup_lookup.c - the re-send rule of topup_lookup.h:
 *   - the key generation by the order's age: 0 up to 23 h (no look-up,
 *     the first key), then 1, 2, ... every 23 h, 0 for a clock behind;
 *   - cd_topup_lookup against a small fake of GET /v1/payment_intents
 *     served in-process by libmicrohttpd (newest first, customer and
 *     created[gte] filters, limit, starting_after): the order's
 *     PaymentIntent found on the 2nd page, a succeeded one preferred over
 *     a newer failed one, none -> 1 after reading every page, the query
 *     naming the customer and created[gte] = created_at - 1 h, Stripe
 *     failing -> -1 (502: nothing may be sent).
 * No store: the look-up only reads Stripe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "billing/billing.h"
#include "billing/topup_lookup.h"
#include "stripe/client.h"
#include "util/log.h"
#include "util/util.h"

#include "fake_stripe.h"

/* ---- the fake Stripe ----------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    json_t *intents; /* chronological, oldest first */
    int fail;        /* answer 500 */
    int calls;
    int64_t saw_gte;
    char saw_customer[64];
} fake = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, ""};

static struct MHD_Daemon *daemon_h;
static struct cd_billing bill;

static const char *arg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

/* Stripe's list semantics, newest first. Called with fake.mu held. */
static enum MHD_Result list_intents(struct MHD_Connection *c)
{
    const char *after = arg(c, "starting_after"), *cus = arg(c, "customer");
    const char *gte = arg(c, "created[gte]"), *lim = arg(c, "limit");
    long i = (long)json_array_size(fake.intents) - 1,
         limit = lim ? atol(lim) : 10;
    json_t *data = json_array(), *pi;
    int more = 0;

    fake.calls++;
    if (fake.fail) {
        json_decref(data);
        return fs_reply(c, 500,
                        json_pack("{s:{s:s, s:s}}", "error", "type",
                                  "api_error", "message", "boom"));
    }
    snprintf(fake.saw_customer, sizeof(fake.saw_customer), "%s",
             cus ? cus : "");
    fake.saw_gte = gte ? atoll(gte) : -1;
    if (after)
        for (; i >= 0; i--)
            if (strcmp(json_string_value(json_object_get(
                           json_array_get(fake.intents, (size_t)i), "id")),
                       after) == 0) {
                i--;
                break;
            }
    for (; i >= 0; i--) {
        pi = json_array_get(fake.intents, (size_t)i);
        if (cus && strcmp(json_string_value(json_object_get(pi, "customer")),
                          cus) != 0)
            continue;
        if (gte &&
            json_integer_value(json_object_get(pi, "created")) < atoll(gte))
            continue;
        if ((long)json_array_size(data) == limit) {
            more = 1;
            break;
        }
        json_array_append(data, pi);
    }
    return fs_reply(c, 200,
                    json_pack("{s:s, s:o, s:b}", "object", "list", "data",
                              data, "has_more", more));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    enum MHD_Result ret;

    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/v1/payment_intents") != 0)
        return fs_reply(c, 404, json_pack("{s:{s:s}}", "error", "type", "x"));
    pthread_mutex_lock(&fake.mu);
    ret = list_intents(c);
    pthread_mutex_unlock(&fake.mu);
    return ret;
}

/* A PaymentIntent of customer made at created for order_id ("": none). */
static void add_pi(const char *id, const char *customer, int64_t created,
                   const char *order_id, const char *status)
{
    json_t *meta = json_object();

    if (order_id[0])
        json_object_set_new(meta, "order_id", json_string(order_id));
    json_array_append_new(
        fake.intents,
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "id", id, "object",
                  "payment_intent", "customer", customer, "created",
                  (json_int_t)created, "status", status, "metadata", meta));
}

static int setup(void **state)
{
    static char base_url[64];

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    daemon_h = fs_start(handler, NULL, base_url, sizeof(base_url));
    assert_non_null(daemon_h);
    fake.intents = json_array();
    fake.fail = fake.calls = 0;
    memset(&bill, 0, sizeof(bill));
    bill.stripe = fs_client(base_url, "sk_test_unit_topup_lookup");
    assert_non_null(bill.stripe);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_stripe_client_free(bill.stripe);
    MHD_stop_daemon(daemon_h);
    json_decref(fake.intents);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_key_generation_by_age(void **state)
{
    const int64_t t0 = 1767225600, h = 3600;

    (void)state;
    assert_int_equal(CD_TOPUP_KEY_LIFE_S, 23 * h);
    assert_int_equal(cd_topup_key_gen(t0, t0), 0);
    assert_int_equal(cd_topup_key_gen(t0, t0 - 10 * h), 0); /* clock back */
    assert_int_equal(cd_topup_key_gen(t0, t0 + 60), 0);
    assert_int_equal(cd_topup_key_gen(t0, t0 + 23 * h - 1), 0);
    /* from 23 h: look up first, then a new key (Stripe keeps >= 24 h) */
    assert_int_equal(cd_topup_key_gen(t0, t0 + 23 * h), 1);
    assert_int_equal(cd_topup_key_gen(t0, t0 + 24 * h), 1);
    assert_int_equal(cd_topup_key_gen(t0, t0 + 46 * h - 1), 1);
    assert_int_equal(cd_topup_key_gen(t0, t0 + 46 * h), 2);
    assert_int_equal(cd_topup_key_gen(t0, t0 + 30 * 24 * h), 31);
}

/* 150 PaymentIntents of the customer after the order's: its own is on the
 * 2nd page (100 a page), and found there. */
static void test_found_on_the_second_page(void **state)
{
    const int64_t t0 = 1767225600;
    char id[32], oid[32];
    json_t *pi = NULL;
    struct cd_error err;

    (void)state;
    add_pi("pi_other_customer", "cus_B", t0, "ord_x", "succeeded");
    add_pi("pi_too_old", "cus_A", t0 - 7200, "ord_x", "succeeded");
    add_pi("pi_ours", "cus_A", t0 + 5, "ord_x", "succeeded");
    for (int i = 0; i < 150; i++) {
        snprintf(id, sizeof(id), "pi_n%03d", i);
        snprintf(oid, sizeof(oid), "ord_%03d", i);
        add_pi(id, "cus_A", t0 + 10 + i, i % 2 ? oid : "", "succeeded");
    }
    cd_error_clear(&err);
    assert_int_equal(cd_topup_lookup(&bill, "cus_A", "ord_x", t0, &pi, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(pi, "id")),
                        "pi_ours");
    json_decref(pi);
    assert_int_equal(fake.calls, 2);
    assert_string_equal(fake.saw_customer, "cus_A");
    assert_int_equal(fake.saw_gte, t0 - CD_TOPUP_LOOKUP_SKEW_S);

    /* none for another order: every page read, 1 */
    fake.calls = 0;
    assert_int_equal(
        cd_topup_lookup(&bill, "cus_A", "ord_none", t0, &pi, &err), 1);
    assert_null(pi);
    assert_int_equal(fake.calls, 2);
}

/* The bug's own trace: a newer failed PaymentIntent of the order does not
 * hide its succeeded one. */
static void test_succeeded_preferred(void **state)
{
    const int64_t t0 = 1767225600;
    json_t *pi = NULL;
    struct cd_error err;

    (void)state;
    add_pi("pi_ok", "cus_A", t0 + 1, "ord_y", "succeeded");
    add_pi("pi_declined", "cus_A", t0 + 2, "ord_y",
           "requires_payment_method");
    cd_error_clear(&err);
    assert_int_equal(cd_topup_lookup(&bill, "cus_A", "ord_y", t0, &pi, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(pi, "id")),
                        "pi_ok");
    json_decref(pi);

    /* only the failed one: it is the answer (the order fails, as a
     * decline) */
    add_pi("pi_declined_z", "cus_A", t0 + 3, "ord_z",
           "requires_payment_method");
    assert_int_equal(cd_topup_lookup(&bill, "cus_A", "ord_z", t0, &pi, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(pi, "status")),
                        "requires_payment_method");
    json_decref(pi);
}

static void test_stripe_failing(void **state)
{
    json_t *pi = NULL;
    struct cd_error err;

    (void)state;
    add_pi("pi_1", "cus_A", 1767225600, "ord_q", "succeeded");
    fake.fail = 1;
    cd_error_clear(&err);
    assert_int_equal(
        cd_topup_lookup(&bill, "cus_A", "ord_q", 1767225600, &pi, &err), -1);
    assert_null(pi);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_generation_by_age),
        cmocka_unit_test_setup_teardown(test_found_on_the_second_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_succeeded_preferred, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stripe_failing, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
