/*
 * test_billing_card_enrich.c - the card of a paid payment whose charge
 * event never came (card_enrich.h), on a real store (SQLite, and
 * PostgreSQL when CD_TEST_PG_URL is set) and a small fake of GET
 * /v1/payment_intents/{id}?expand[0]=latest_charge served in-process:
 *   - a payment paid 11 min ago gets its last4 and charge id, as
 *     charge.succeeded would give them; the next run asks Stripe nothing;
 *     one paid 5 min ago is not asked about;
 *   - a PaymentIntent whose latest charge has no card: recorded as looked
 *     at, not asked again before its backoff, asked again after it
 *     (doubling), and never after CD_CARD_ENRICH_MAX_ATTEMPTS look-ups;
 *   - Stripe failing (500): nothing recorded, the run's look-ups end,
 *     the next run asks again; a 404: recorded as no card;
 *   - at most `limit` look-ups a run, oldest paid first.
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
#include "billing/card_enrich.h"
#include "store/store.h"
#include "stripe/client.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "fake_stripe.h"

/* ---- the fake Stripe ----------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    json_t *intents; /* id -> PaymentIntent (latest_charge expanded) */
    int fail;        /* answer 500 */
    int calls;
    int expanded; /* calls that asked for the latest charge expanded */
} fake = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

static struct MHD_Daemon *daemon_h;
static struct store_target target;
static struct cd_billing bill;

static enum MHD_Result get_intent(struct MHD_Connection *c, const char *id)
{
    const char *ex = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                 "expand[0]");
    json_t *pi = json_object_get(fake.intents, id);

    fake.calls++;
    if (ex && strcmp(ex, "latest_charge") == 0)
        fake.expanded++;
    if (fake.fail)
        return fs_reply(c, 500,
                        json_pack("{s:{s:s, s:s}}", "error", "type",
                                  "api_error", "message", "boom"));
    if (!pi)
        return fs_reply(c, 404,
                        json_pack("{s:{s:s, s:s}}", "error", "type",
                                  "invalid_request_error", "message",
                                  "No such payment_intent"));
    return fs_reply(c, 200, json_incref(pi));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    const char *pre = "/v1/payment_intents/";
    enum MHD_Result ret;

    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, "GET") != 0 || strncmp(url, pre, strlen(pre)) != 0)
        return fs_reply(c, 404, json_pack("{s:{s:s}}", "error", "type", "x"));
    pthread_mutex_lock(&fake.mu);
    ret = get_intent(c, url + strlen(pre));
    pthread_mutex_unlock(&fake.mu);
    return ret;
}

/* A succeeded PaymentIntent whose latest charge is ch (card last4, or a
 * bank debit when last4 is NULL). */
static void add_pi(const char *pi, const char *ch, const char *last4)
{
    json_t *pmd = last4 ? json_pack("{s:s, s:{s:s, s:s}}", "type", "card",
                                    "card", "brand", "visa", "last4", last4)
                        : json_pack("{s:s, s:{}}", "type", "us_bank_account",
                                    "us_bank_account");
    json_t *charge = json_pack(
        "{s:s, s:s, s:s, s:s, s:o}", "id", ch, "object", "charge", "status",
        "succeeded", "payment_intent", pi, "payment_method_details", pmd);

    json_object_set_new(fake.intents, pi,
                        json_pack("{s:s, s:s, s:s, s:o}", "id", pi, "object",
                                  "payment_intent", "status", "succeeded",
                                  "latest_charge", charge));
}

/* ---- rows ----------------------------------------------------------------- */

struct paid_job {
    struct cd_order o;
    struct cd_payment p;
};

static int paid_fn(struct cd_tx *tx, void *arg)
{
    struct paid_job *j = arg;

    if (cd_store_order_insert(tx, &j->o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return cd_store_payment_insert(tx, &j->p) == CD_STORE_OK ? 0
                                                             : CD_STORE_ERROR;
}

/* A completed order of acct and its succeeded payment by pi (no card, no
 * charge), paid `age` seconds ago; the payment id in pay_id. */
static void new_paid(const char *acct, const char *pi, int64_t age,
                     char *pay_id)
{
    struct paid_job j;

    fx_order_init(&j.o, acct, "topup", 1000, 1000);
    strcpy(j.o.status, "completed");
    strcpy(j.o.stripe_payment_intent_id, pi);
    j.o.created_at = j.o.updated_at = cd_now() - age;
    memset(&j.p, 0, sizeof(j.p));
    cd_random_id("pay_", j.p.id, sizeof(j.p.id));
    strcpy(j.p.order_id, j.o.id);
    strcpy(j.p.account_id, acct);
    strcpy(j.p.status, "succeeded");
    j.p.amount_cents = 1000;
    strcpy(j.p.currency, "usd");
    strcpy(j.p.stripe_payment_intent_id, pi);
    j.p.created_at = j.p.paid_at = cd_now() - age;
    assert_int_equal(cd_store_write(bill.store, paid_fn, &j), 0);
    strcpy(pay_id, j.p.id);
}

static int get_fn(struct cd_tx *tx, void *arg)
{
    struct cd_payment *p = arg;

    return cd_store_payment_get(tx, p->id, p) == CD_STORE_OK ? 0 : -1;
}

static struct cd_payment payment(const char *id)
{
    struct cd_payment p;

    memset(&p, 0, sizeof(p));
    strcpy(p.id, id);
    assert_int_equal(cd_store_read(bill.store, get_fn, &p), 0);
    return p;
}

static int tries_fn(struct cd_tx *tx, void *arg)
{
    struct cd_card_enrich *e = arg;
    int rc = cd_store_card_enrich_get(tx, e->payment_id, e);

    if (rc == CD_STORE_NOT_FOUND)
        e->attempts = 0;
    return rc == CD_STORE_ERROR ? -1 : 0;
}

static int64_t attempts(const char *pay_id)
{
    struct cd_card_enrich e;

    memset(&e, 0, sizeof(e));
    strcpy(e.payment_id, pay_id);
    assert_int_equal(cd_store_read(bill.store, tries_fn, &e), 0);
    return e.attempts;
}

static struct cd_card_enrich_result run(int64_t limit)
{
    struct cd_card_enrich_result r;

    assert_int_equal(cd_card_enrich_run(&bill, limit, NULL, NULL, &r), 0);
    return r;
}

static int calls(void)
{
    int n;

    pthread_mutex_lock(&fake.mu);
    n = fake.calls;
    pthread_mutex_unlock(&fake.mu);
    return n;
}

/* ---- fixture ---------------------------------------------------------- */

static int use_pg;

static int setup(void **state)
{
    static char base_url[64];

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    daemon_h = fs_start(handler, NULL, base_url, sizeof(base_url));
    assert_non_null(daemon_h);
    fake.intents = json_object();
    fake.fail = fake.calls = fake.expanded = 0;
    if (fx_billing_open(&bill, &target, use_pg, "cd_card_enrich") != 0)
        return -1;
    bill.stripe = fs_client(base_url, "sk_test_unit_card_enrich");
    assert_non_null(bill.stripe);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
    fx_billing_close(&bill, &target);
    MHD_stop_daemon(daemon_h);
    json_decref(fake.intents);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_card_filled_once(void **state)
{
    char acct[CD_ID_SZ], old_pay[CD_ID_SZ], young_pay[CD_ID_SZ];
    char ancient_pay[CD_ID_SZ];
    struct cd_card_enrich_result r;
    struct cd_payment p;

    (void)state;
    fx_new_account(bill.store, acct);
    add_pi("pi_old", "ch_old", "4242");
    add_pi("pi_young", "ch_young", "1881");
    add_pi("pi_ancient", "ch_ancient", "0005");
    new_paid(acct, "pi_old", 11 * 60, old_pay);
    new_paid(acct, "pi_young", 5 * 60, young_pay);
    /* Past the window: not asked (its range is not read). */
    new_paid(acct, "pi_ancient", CD_CARD_ENRICH_WINDOW + 60, ancient_pay);

    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 1);
    assert_int_equal(r.filled, 1);
    assert_int_equal(calls(), 1);
    assert_int_equal(fake.expanded, 1);
    p = payment(old_pay);
    assert_string_equal(p.last4, "4242");
    assert_string_equal(p.stripe_charge_id, "ch_old");
    assert_string_equal(p.status, "succeeded");
    p = payment(young_pay);
    assert_string_equal(p.last4, "");
    assert_string_equal(payment(ancient_pay).last4, "");
    assert_int_equal(attempts(ancient_pay), 0);

    /* filled: never asked again */
    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 0);
    assert_int_equal(calls(), 1);
}

static void test_no_card_backoff_and_bound(void **state)
{
    char acct[CD_ID_SZ], pay[CD_ID_SZ];
    struct cd_card_enrich_result r;
    int64_t wait = CD_CARD_ENRICH_BACKOFF;

    (void)state;
    fx_new_account(bill.store, acct);
    add_pi("pi_bank", "py_bank", NULL);
    new_paid(acct, "pi_bank", 11 * 60, pay);

    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 1);
    assert_int_equal(r.no_card, 1);
    assert_int_equal(attempts(pay), 1);
    assert_string_equal(payment(pay).last4, "");
    /* not again before the backoff */
    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 0);
    cd_clock_advance(wait - 5);
    assert_int_equal(run(CD_CARD_ENRICH_LIMIT).looked, 0);
    for (int i = 2; i <= CD_CARD_ENRICH_MAX_ATTEMPTS; i++) {
        cd_clock_advance(wait); /* past the (doubled) backoff */
        wait *= 2;
        r = run(CD_CARD_ENRICH_LIMIT);
        assert_int_equal(r.looked, 1);
        assert_int_equal(attempts(pay), i);
        assert_int_equal(run(CD_CARD_ENRICH_LIMIT).looked, 0);
    }
    /* the bound: never again */
    cd_clock_advance(30 * 24 * 3600);
    assert_int_equal(run(CD_CARD_ENRICH_LIMIT).looked, 0);
    assert_int_equal(calls(), CD_CARD_ENRICH_MAX_ATTEMPTS);
}

static void test_stripe_errors(void **state)
{
    char acct[CD_ID_SZ], a[CD_ID_SZ], b[CD_ID_SZ], gone[CD_ID_SZ];
    struct cd_card_enrich_result r;

    (void)state;
    fx_new_account(bill.store, acct);
    add_pi("pi_a", "ch_a", "4242");
    add_pi("pi_b", "ch_b", "4444");
    new_paid(acct, "pi_a", 13 * 60, a);
    new_paid(acct, "pi_b", 12 * 60, b);
    new_paid(acct, "pi_unknown", 11 * 60, gone);

    fake.fail = 1;
    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 1); /* the run's look-ups end at a 500 */
    assert_int_equal(r.errors, 1);
    assert_int_equal(attempts(a), 0);
    assert_string_equal(payment(a).last4, "");

    fake.fail = 0;
    r = run(CD_CARD_ENRICH_LIMIT);
    assert_int_equal(r.looked, 3);
    assert_int_equal(r.filled, 2);
    assert_int_equal(r.no_card, 1); /* 404: looked at, no card */
    assert_string_equal(payment(a).last4, "4242");
    assert_string_equal(payment(b).last4, "4444");
    assert_int_equal(attempts(gone), 1);
}

static void test_limit_oldest_first(void **state)
{
    char acct[CD_ID_SZ], p1[CD_ID_SZ], p2[CD_ID_SZ], p3[CD_ID_SZ];
    struct cd_card_enrich_result r;

    (void)state;
    fx_new_account(bill.store, acct);
    add_pi("pi_1", "ch_1", "1111");
    add_pi("pi_2", "ch_2", "2222");
    add_pi("pi_3", "ch_3", "3333");
    new_paid(acct, "pi_3", 20 * 60, p3);
    new_paid(acct, "pi_1", 40 * 60, p1);
    new_paid(acct, "pi_2", 30 * 60, p2);

    r = run(2);
    assert_int_equal(r.looked, 2);
    assert_string_equal(payment(p1).last4, "1111");
    assert_string_equal(payment(p2).last4, "2222");
    assert_string_equal(payment(p3).last4, "");
    r = run(2);
    assert_int_equal(r.looked, 1);
    assert_string_equal(payment(p3).last4, "3333");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_card_filled_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_card_backoff_and_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stripe_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_oldest_first, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
