/*
 * test_billing_events.c - Stripe events into effects, against a real
 * SQLite store in a temp dir and bodies signed like Stripe signs them:
 * completion credits once (duplicate event, two events for one session),
 * a bad signature records nothing, an amount mismatch does not credit,
 * expiry after completion keeps the order completed, unpaid waits for the
 * async event, the crash window (no session id on the order yet) heals,
 * another account's session is ignored, unhandled event types are not
 * recorded (no write at all), a credit the ledger refuses is recorded and
 * answered "ignored" (not a 500 forever).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "billing/billing.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/orders.h"
#include "billing/problems.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/util.h"

#define SECRET "whsec_unit_fulfil_secret"

#include "billing_fixture.h"

static struct store_target target;
static struct cd_billing bill;
static int use_pg; /* the third run: the async path on PostgreSQL */

/* ---- fixture helpers ----------------------------------------------------- */

static int job_insert_discount(struct cd_tx *tx, void *arg)
{
    return cd_store_discount_insert(tx, arg);
}

static void new_account(char *id_out)
{
    fx_new_account(bill.store, id_out);
}

/* A pending topup order of amount cents; session may be "" (crash window). */
static void new_order(const char *account, const char *kind, int64_t amount,
                      int64_t credits, const char *session, const char *code,
                      struct cd_order *out)
{
    struct cd_order o;

    fx_order_init(&o, account, kind, amount, credits);
    if (code)
        strcpy(o.discount_code, code);
    strcpy(o.stripe_session_id, session);
    fx_order_insert(bill.store, &o);
    *out = o;
}

struct acct_read {
    const char *id;
    struct cd_account a;
};

static int read_account(struct cd_tx *tx, void *arg)
{
    struct acct_read *r = arg;

    return cd_store_account_get(tx, r->id, &r->a);
}

static struct cd_account account_now(const char *id)
{
    struct acct_read r;

    memset(&r, 0, sizeof(r));
    r.id = id;

    assert_int_equal(cd_store_read(bill.store, read_account, &r), 0);
    return r.a;
}

static int64_t balance_of(const char *id)
{
    return account_now(id).balance;
}

static struct cd_order order_now(const char *id)
{
    struct cd_order o;

    assert_int_equal(cd_order_get(&bill, id, &o), CD_STORE_OK);
    return o;
}

struct pay_read {
    const char *order_id;
    struct cd_payment p;
};

static int read_payment(struct cd_tx *tx, void *arg)
{
    struct pay_read *r = arg;

    return cd_store_payment_by_order(tx, r->order_id, &r->p);
}

struct disc_read {
    const char *code;
    struct cd_discount d;
};

static int read_discount(struct cd_tx *tx, void *arg)
{
    struct disc_read *r = arg;

    return cd_store_discount_get(tx, r->code, &r->d);
}

/* A checkout.session.* event for order o. */
static char *session_event(const char *evt_id, const char *type,
                           const struct cd_order *o, const char *session,
                           const char *meta_account, int64_t amount,
                           const char *payment_status, const char *status)
{
    json_t *e = json_pack(
        "{s:s, s:s, s:s, s:I, s:{s:{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s,"
        " s:s, s:s, s:{s:s, s:s, s:s}}}, s:b, s:s}",
        "id", evt_id, "object", "event", "api_version", CD_STRIPE_API_VERSION,
        "created", (json_int_t)cd_now(), "data", "object", "id", session,
        "object", "checkout.session", "mode", "payment", "status", status,
        "payment_status", payment_status, "amount_total", (json_int_t)amount,
        "currency", "usd", "client_reference_id", o->id, "payment_intent",
        "pi_unit_123", "customer", "cus_unit_123", "metadata", "account_id",
        meta_account, "order_id", o->id, "kind", o->kind, "livemode", 0,
        "type", type);
    char *s;

    assert_non_null(e);
    s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return s;
}

/* ---- the HTTP path: cd_webhook_async_* ----------------------------------- */

/* Set: deliver_at goes the way POST /v1/webhooks/stripe does (the second
 * run of every test below): a submitted job answered from its
 * completion, a handler that blocks run here. */
static int via_async;
static int submitted; /* events that went through cd_webhook_async_submit */
static pthread_mutex_t async_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cv = PTHREAD_COND_INITIALIZER;
static int async_dones;
static pthread_t async_thread;

static void async_done(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&async_mu);
    async_dones++;
    async_thread = pthread_self();
    pthread_cond_signal(&async_cv);
    pthread_mutex_unlock(&async_mu);
}

/* Submits x and waits (up to 10 s) for its one completion, which must
 * run on the store's writer, not here. */
static void async_wait(struct cd_webhook_async *x)
{
    struct timespec dl;

    x->done = async_done;
    x->done_arg = x;
    pthread_mutex_lock(&async_mu);
    async_dones = 0;
    pthread_mutex_unlock(&async_mu);
    cd_webhook_async_submit(&bill, x);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&async_mu);
    while (!async_dones &&
           pthread_cond_timedwait(&async_cv, &async_mu, &dl) == 0)
        ;
    assert_int_equal(async_dones, 1);
    assert_false(pthread_equal(async_thread, pthread_self()));
    pthread_mutex_unlock(&async_mu);
    submitted++;
}

/* cd_webhook_receive, the way the HTTP handler runs it; *how is what
 * prepare said. */
static int receive_async(const char *body, const char *hdr, int *how,
                         const char **status, struct cd_error *err)
{
    struct cd_webhook_async x;
    int rc;

    memset(&x, 0, sizeof(x));
    *how = cd_webhook_async_prepare(&bill, body, strlen(body), hdr, &x);
    if (*how == CD_WEBHOOK_SUBMIT)
        async_wait(&x);
    else if (*how == CD_WEBHOOK_BLOCKS)
        cd_webhook_async_block(&bill, &x);
    rc = cd_webhook_async_result(&x, status, err);
    cd_webhook_async_free(&x);
    return rc;
}

static int receive(const char *body, const char *hdr, const char **status,
                   struct cd_error *err)
{
    int how;

    if (!via_async)
        return cd_webhook_receive(&bill, body, strlen(body), hdr, status,
                                  err);
    return receive_async(body, hdr, &how, status, err);
}

/* Signs body like Stripe and runs it through cd_webhook_receive. */
static int deliver_at(const char *body, int64_t t, const char **status,
                      struct cd_error *err)
{
    char hdr[128];

    assert_int_equal(
        cd_stripe_sig_header(SECRET, t, body, strlen(body), hdr, sizeof(hdr)),
        0);
    cd_error_clear(err);
    return receive(body, hdr, status, err);
}

static const char *deliver_ok(const char *body)
{
    const char *status = NULL;
    struct cd_error err;

    if (deliver_at(body, cd_now(), &status, &err) != 0)
        fail_msg("deliver: %s %s", err.code, err.message);
    assert_non_null(status);
    return status;
}

static void rand_id(const char *prefix, char *out)
{
    cd_random_id(prefix, out, 64);
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, use_pg, "cd_events", 0);
    assert_non_null(bill.store);
    strcpy(bill.cfg.currency, "usd");
    strcpy(bill.cfg.webhook_secrets, "whsec_old_one," SECRET);
    bill.cfg.webhook_tolerance = 300;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_target_close(&target, bill.store);
    return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_completed_credits_once(void **state)
{
    char acct[64], sid[64], evt[64];
    struct cd_order o;
    struct pay_read pr;
    struct cd_account a;
    char *body;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         1000, "paid", "complete");

    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 1000);
    o = order_now(o.id);
    assert_string_equal(o.status, "completed");
    assert_true(o.completed_at > 0);
    assert_string_equal(o.stripe_payment_intent_id, "pi_unit_123");

    memset(&pr, 0, sizeof(pr));
    pr.order_id = o.id;
    assert_int_equal(cd_store_read(bill.store, read_payment, &pr), 0);
    assert_string_equal(pr.p.status, "succeeded");
    assert_int_equal(pr.p.amount_cents, 1000);
    assert_string_equal(pr.p.currency, "usd");
    assert_string_equal(pr.p.stripe_payment_intent_id, "pi_unit_123");
    assert_true(pr.p.paid_at > 0);

    a = account_now(acct);
    assert_string_equal(a.stripe_customer_id, "cus_unit_123");
    assert_int_equal(a.has_saved_payment_method, 1);

    /* The same event again: duplicate, nothing changes. */
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_DUPLICATE);
    assert_int_equal(balance_of(acct), 1000);
    free(body);
}

static void test_two_events_one_session(void **state)
{
    char acct[64], sid[64], e1[64], e2[64];
    struct cd_order o;
    char *b1, *b2;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "package", 5000, 5500, sid, NULL, &o);
    rand_id("evt_", e1);
    rand_id("evt_", e2);
    b1 = session_event(e1, "checkout.session.completed", &o, sid, acct, 5000,
                       "paid", "complete");
    b2 = session_event(e2, "checkout.session.async_payment_succeeded", &o,
                       sid, acct, 5000, "paid", "complete");
    /* Either order; the second never credits again. */
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 5500);
    assert_string_equal(order_now(o.id).status, "completed");
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_DUPLICATE);
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_DUPLICATE);
    assert_int_equal(balance_of(acct), 5500);
    free(b1);
    free(b2);
}

static void test_bad_signature_records_nothing(void **state)
{
    char acct[64], sid[64], evt[64], hdr[128];
    struct cd_order o;
    const char *status = NULL;
    struct cd_error err;
    char *body;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 2000, 2000, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         2000, "paid", "complete");

    /* Wrong secret. */
    assert_int_equal(cd_stripe_sig_header("whsec_wrong", cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive(body, hdr, &status, &err), -1);
    assert_int_equal(err.kind, CD_EK_INVALID);
    assert_string_equal(err.code, "invalid_signature");
    /* No header at all. */
    assert_int_equal(receive(body, NULL, &status, &err), -1);
    assert_string_equal(err.code, "invalid_signature");
    /* Body changed after signing. */
    assert_int_equal(cd_stripe_sig_header(SECRET, cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    body[strlen(body) - 2] = ' ';
    assert_int_equal(receive(body, hdr, &status, &err), -1);
    assert_string_equal(err.code, "invalid_signature");
    free(body);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         2000, "paid", "complete");
    /* Too old. */
    assert_int_equal(deliver_at(body, cd_now() - 1000, &status, &err), -1);
    assert_string_equal(err.code, "timestamp_out_of_tolerance");
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "pending");

    /* Nothing was recorded: the real delivery still takes effect. */
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 2000);
    free(body);
}

static void test_malformed_and_unconfigured(void **state)
{
    const char *status = NULL;
    struct cd_error err;
    char saved[sizeof(bill.cfg.webhook_secrets)];
    const char *bad = "{\"id\":\"evt_1\",";
    const char *noobj = "{\"id\":\"evt_x1\",\"type\":\"checkout.session."
                        "completed\",\"data\":{}}";

    (void)state;
    assert_int_equal(deliver_at(bad, cd_now(), &status, &err), -1);
    assert_string_equal(err.code, "invalid_json");
    assert_int_equal(deliver_at(noobj, cd_now(), &status, &err), -1);
    assert_string_equal(err.code, "invalid_event");

    memcpy(saved, bill.cfg.webhook_secrets, sizeof(saved));
    bill.cfg.webhook_secrets[0] = '\0';
    assert_int_equal(deliver_at(noobj, cd_now(), &status, &err), -1);
    assert_int_equal(err.kind, CD_EK_UNAVAILABLE);
    assert_string_equal(err.code, "webhook_secret_not_configured");
    memcpy(bill.cfg.webhook_secrets, saved, sizeof(saved));
}

static void test_amount_mismatch_not_credited(void **state)
{
    char acct[64], sid[64], evt[64];
    struct cd_order o;
    char *body;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 3000, 3000, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         100, "paid", "complete");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "pending");
    free(body);
}

static void test_expired_after_completed(void **state)
{
    char acct[64], sid[64], e1[64], e2[64], sid2[64], e3[64];
    struct cd_order o, o2;
    char *b1, *b2, *b3;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "access", 2999, 2999, sid, NULL, &o);
    rand_id("evt_", e1);
    rand_id("evt_", e2);
    b1 = session_event(e1, "checkout.session.completed", &o, sid, acct, 2999,
                       "paid", "complete");
    b2 = session_event(e2, "checkout.session.expired", &o, sid, acct, 2999,
                       "unpaid", "expired");
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_PROCESSED);
    o = order_now(o.id);
    assert_string_equal(o.status, "completed");
    assert_int_equal(balance_of(acct), 2999);

    /* A pending one expires. */
    rand_id("cs_test_", sid2);
    new_order(acct, "topup", 1000, 1000, sid2, NULL, &o2);
    rand_id("evt_", e3);
    b3 = session_event(e3, "checkout.session.expired", &o2, sid2, acct, 1000,
                       "unpaid", "expired");
    assert_string_equal(deliver_ok(b3), CD_WEBHOOK_PROCESSED);
    o2 = order_now(o2.id);
    assert_string_equal(o2.status, "expired");
    assert_int_equal(o2.completed_at, 0);
    assert_int_equal(balance_of(acct), 2999);
    free(b1);
    free(b2);
    free(b3);
}

static void test_unpaid_then_async(void **state)
{
    char acct[64], sid[64], e1[64], e2[64], sid2[64], e3[64];
    struct cd_order o, o2;
    char *b1, *b2, *b3;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 4000, 4000, sid, NULL, &o);
    rand_id("evt_", e1);
    rand_id("evt_", e2);
    b1 = session_event(e1, "checkout.session.completed", &o, sid, acct, 4000,
                       "unpaid", "complete");
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "pending");
    b2 = session_event(e2, "checkout.session.async_payment_succeeded", &o,
                       sid, acct, 4000, "paid", "complete");
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 4000);

    /* Async failure: order failed, no credit. */
    rand_id("cs_test_", sid2);
    new_order(acct, "topup", 1000, 1000, sid2, NULL, &o2);
    rand_id("evt_", e3);
    b3 = session_event(e3, "checkout.session.async_payment_failed", &o2, sid2,
                       acct, 1000, "unpaid", "complete");
    assert_string_equal(deliver_ok(b3), CD_WEBHOOK_PROCESSED);
    o2 = order_now(o2.id);
    assert_string_equal(o2.status, "failed");
    assert_true(o2.failure_reason[0] != '\0');
    assert_int_equal(balance_of(acct), 4000);
    free(b1);
    free(b2);
    free(b3);
}

static void test_crash_window_and_foreign(void **state)
{
    char acct[64], other[64], sid[64], e1[64], e2[64], e3[64], sid2[64];
    struct cd_order o;
    char *b1, *b2, *b3;

    (void)state;
    new_account(acct);
    new_account(other);
    rand_id("cs_test_", sid);
    /* The session id never reached the order. */
    new_order(acct, "topup", 1000, 1000, "", NULL, &o);

    /* Metadata naming another account: ignored. */
    rand_id("evt_", e1);
    b1 = session_event(e1, "checkout.session.completed", &o, sid, other, 1000,
                       "paid", "complete");
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance_of(acct), 0);
    assert_int_equal(balance_of(other), 0);

    rand_id("evt_", e2);
    b2 = session_event(e2, "checkout.session.completed", &o, sid, acct, 1000,
                       "paid", "complete");
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_PROCESSED);
    o = order_now(o.id);
    assert_string_equal(o.stripe_session_id, sid);
    assert_string_equal(o.status, "completed");
    assert_int_equal(balance_of(acct), 1000);

    /* A different session claiming the same order: ignored. */
    rand_id("cs_test_", sid2);
    rand_id("evt_", e3);
    b3 = session_event(e3, "checkout.session.completed", &o, sid2, acct, 1000,
                       "paid", "complete");
    assert_string_equal(deliver_ok(b3), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance_of(acct), 1000);
    free(b1);
    free(b2);
    free(b3);
}

static void test_discount_counted_once(void **state)
{
    char acct[64], sid[64], e1[64], e2[64];
    struct cd_discount d;
    struct cd_order o;
    char *b1, *b2;

    (void)state;
    memset(&d, 0, sizeof(d));
    snprintf(d.code, sizeof(d.code), "UNIT%ld",
             (long)(cd_mono_us() % 100000));
    d.percent_off = 10;
    d.active = 1;
    d.created_at = cd_now();
    assert_int_equal(cd_store_write(bill.store, job_insert_discount, &d), 0);

    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "access", 2699, 2699, sid, d.code, &o);
    rand_id("evt_", e1);
    rand_id("evt_", e2);
    b1 = session_event(e1, "checkout.session.completed", &o, sid, acct, 2699,
                       "paid", "complete");
    b2 = session_event(e2, "checkout.session.async_payment_succeeded", &o,
                       sid, acct, 2699, "paid", "complete");
    assert_string_equal(deliver_ok(b1), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(b2), CD_WEBHOOK_PROCESSED);
    {
        struct disc_read r;
        memset(&r, 0, sizeof(r));
        r.code = d.code;
        assert_int_equal(cd_store_read(bill.store, read_discount, &r), 0);
        assert_int_equal(r.d.times_used, 1);
    }
    free(b1);
    free(b2);
}

static uint64_t jobs_run(void)
{
    struct cd_store_stats st;

    cd_store_get_stats(bill.store, &st);
    return st.jobs;
}

/* Types we do not act on answer "ignored" without any write job: the id is
 * not burnt, so a repeat is "ignored" again (never "duplicate") and a
 * later version that handles the type still gets the redelivery. */
static void test_other_events_ignored(void **state)
{
    static const char *const types[] = {
        "plan.created", "charge.refunded", "charge.dispute.created",
        "payment_intent.succeeded", "checkout.session.something_new"};
    char evt[64], body[512], acct[64], sid[64];
    struct cd_order o;
    uint64_t before;
    char *sub;
    json_t *j;

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(types); i++) {
        rand_id("evt_", evt);
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\","
                 "\"data\":{\"object\":{\"id\":\"obj_1\"}}}",
                 evt, types[i]);
        before = jobs_run();
        assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
        assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
        if (jobs_run() != before)
            fail_msg("%s: a write job ran for an unhandled type", types[i]);
    }

    /* A handled type in setup mode is not handled either. */
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, &o);
    rand_id("evt_", evt);
    sub = session_event(evt, "checkout.session.completed", &o, sid, acct,
                        1000, "paid", "complete");
    j = json_loads(sub, 0, NULL);
    assert_non_null(j);
    json_object_set_new(json_object_get(json_object_get(j, "data"), "object"),
                        "mode", json_string("setup"));
    free(sub);
    sub = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    before = jobs_run();
    assert_string_equal(deliver_ok(sub), CD_WEBHOOK_IGNORED);
    assert_string_equal(deliver_ok(sub), CD_WEBHOOK_IGNORED);
    assert_true(jobs_run() == before);
    assert_int_equal(balance_of(acct), 0);
    free(sub);

    /* A handled type is still recorded: its repeat is a duplicate. */
    rand_id("evt_", evt);
    sub = session_event(evt, "checkout.session.completed", &o, sid, acct,
                        1000, "paid", "complete");
    assert_string_equal(deliver_ok(sub), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(sub), CD_WEBHOOK_DUPLICATE);
    assert_int_equal(balance_of(acct), 1000);
    free(sub);
}

/* A session event of mode `mode` (borrowed body freed by the caller). */
static char *session_event_mode(const char *evt, const char *type,
                                const struct cd_order *o, const char *sid,
                                const char *acct, int64_t amount,
                                const char *mode)
{
    char *body = session_event(evt, type, o, sid, acct, amount, "paid",
                               "complete");
    json_t *j = json_loads(body, 0, NULL);

    assert_non_null(j);
    free(body);
    json_object_set_new(json_object_get(json_object_get(j, "data"), "object"),
                        "mode", json_string(mode));
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return body;
}

/* Subscription mode: the paid session completes the order, records the
 * payment and saves the customer, but credits nothing (invoice.paid
 * grants each period); a second event for the session changes nothing;
 * a subscription-mode session of a non-subscription order is ignored. */
static void test_subscription_session_no_credit(void **state)
{
    char evt[64], acct[64], sid[64];
    struct cd_order o, after;
    struct cd_payment p;
    char *body;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "subscription", 1999, 2500, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event_mode(evt, "checkout.session.completed", &o, sid,
                              acct, 1999, "subscription");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_DUPLICATE);
    free(body);
    assert_int_equal(balance_of(acct), 0);
    after = order_now(o.id);
    assert_string_equal(after.status, "completed");
    assert_true(after.completed_at > 0);
    assert_int_equal(cd_order_fulfilled(&after), 1);
    /* (cus_unit_123 belongs to an earlier test's account: not moved.) */
    {
        struct pay_read pr;
        memset(&pr, 0, sizeof(pr));
        pr.order_id = o.id;
        assert_int_equal(cd_store_read(bill.store, read_payment, &pr),
                         CD_STORE_OK);
        p = pr.p;
    }
    assert_string_equal(p.status, "succeeded");
    assert_int_equal(p.amount_cents, 1999);

    /* Another event id for the same session: still nothing credited. */
    rand_id("evt_", evt);
    body = session_event_mode(evt, "checkout.session.completed", &o, sid,
                              acct, 1999, "subscription");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    free(body);
    assert_int_equal(balance_of(acct), 0);

    /* A subscription-mode session for a top-up order credits nothing. */
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event_mode(evt, "checkout.session.completed", &o, sid,
                              acct, 1000, "subscription");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
    free(body);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "pending");
}

static int job_set_balance(struct cd_tx *tx, void *arg)
{
    const char *id = arg;

    /* Just under the ledger's limit of 2^62. */
    return cd_store_account_set_balance(tx, id,
                                        (INT64_C(1) << 62) - INT64_C(10));
}

/* A paid order the ledger refuses (balance past 2^62) is not a 500 that
 * Stripe retries for days: the event is recorded, the order stays pending
 * with the reason, the answer is "ignored". */
static void test_ledger_refusal_recorded(void **state)
{
    char acct[64], sid[64], evt[64];
    struct cd_order o;
    const char *status = NULL;
    struct cd_error err;
    char *body;

    (void)state;
    new_account(acct);
    assert_int_equal(cd_store_write(bill.store, job_set_balance, acct), 0);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         1000, "paid", "complete");

    if (deliver_at(body, cd_now(), &status, &err) != 0)
        fail_msg("deliver: %s %s", err.code, err.message);
    assert_string_equal(status, CD_WEBHOOK_IGNORED);
    assert_int_equal(balance_of(acct), (INT64_C(1) << 62) - INT64_C(10));
    o = order_now(o.id);
    assert_string_equal(o.status, "pending");
    assert_string_equal(o.failure_reason, "credit refused: balance limit");
    assert_string_equal(o.stripe_payment_intent_id, "pi_unit_123");

    /* Recorded: Stripe's retry is a duplicate, nothing changes. */
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_DUPLICATE);
    assert_string_equal(order_now(o.id).status, "pending");
    free(body);
}

/* The account of a pending order deleted behind creditd's back (foreign
 * keys off, as an operator's sqlite3 shell has them). */
/* The account deleted behind the store's back (foreign keys off: on
 * PostgreSQL as a replica session, which fires no constraint trigger). */
static void delete_account_raw(const char *acct)
{
    char sql[256];
    sqlite3 *db;

    if (use_pg) {
        PGconn *c = PQconnectdb(target.target);
        PGresult *r;

        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PQclear(PQexec(c, "SET session_replication_role = replica"));
        snprintf(sql, sizeof(sql), "DELETE FROM accounts WHERE id='%s'",
                 acct);
        r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        assert_string_equal(PQcmdTuples(r), "1");
        PQclear(r);
        PQfinish(c);
        return;
    }
    assert_int_equal(sqlite3_open(target.target, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(sql, sizeof(sql),
             "PRAGMA foreign_keys=OFF; DELETE FROM accounts WHERE id='%s';",
             acct);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

struct problem_find {
    const char *order_id;
    int n;
    char kind[CD_KIND_SZ];
    char event_id[CD_SID_SZ];
};

static int find_problem(const struct cd_problem *p, void *arg)
{
    struct problem_find *f = arg;

    if (strcmp(p->order_id, f->order_id) == 0) {
        f->n++;
        strcpy(f->kind, p->kind);
        strcpy(f->event_id, p->event_id);
    }
    return 0;
}

/* A paid completion for an account that no longer exists: never a 500
 * (Stripe would retry it for days); recorded, answered 200, and the
 * order listed for the operator. */
static void test_account_gone_recorded(void **state)
{
    char acct[64], sid[64], evt[64];
    struct problem_find found;
    int64_t total = 0;
    struct cd_order o;
    const char *status = NULL;
    struct cd_error err;
    char *body;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, &o);
    delete_account_raw(acct);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         1000, "paid", "complete");
    if (deliver_at(body, cd_now(), &status, &err) != 0)
        fail_msg("deliver: %s %s", err.code, err.message);
    assert_string_equal(status, CD_WEBHOOK_IGNORED);
    o = order_now(o.id);
    assert_string_equal(o.status, "pending");
    assert_string_equal(o.failure_reason,
                        "credit refused: account not found");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_DUPLICATE);
    free(body);
    /* Listed for the operator, once. */
    memset(&found, 0, sizeof(found));
    found.order_id = o.id;
    assert_int_equal(
        cd_problems_list(&bill, 100, 0, find_problem, &found, &total, NULL),
        0);
    assert_int_equal(found.n, 1);
    assert_string_equal(found.kind, CD_PROBLEM_CREDIT_REFUSED);
    assert_string_equal(found.event_id, evt);
}

/* ---- card details from charge events -------------------------------------- */

/* body with its data.object.payment_intent set to pi (a new string). */
static char *with_pi(char *body, const char *pi)
{
    json_t *e = json_loads(body, 0, NULL);
    char *s;

    assert_non_null(e);
    json_object_set_new(json_object_get(json_object_get(e, "data"), "object"),
                        "payment_intent", json_string(pi));
    s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    free(body);
    return s;
}

/* A charge.succeeded / charge.updated event; last4 NULL: no card. */
static char *charge_event(const char *type, const char *charge,
                          const char *pi, const char *last4)
{
    char evt[64], *s;
    json_t *e, *obj;

    rand_id("evt_", evt);
    obj = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", charge, "object",
                    "charge", "payment_intent", pi, "amount",
                    (json_int_t)1000, "currency", "usd", "status",
                    "succeeded");
    if (last4)
        json_object_set_new(obj, "payment_method_details",
                            json_pack("{s:s, s:{s:s, s:s}}", "type", "card",
                                      "card", "brand", "visa", "last4",
                                      last4));
    e = json_pack("{s:s, s:s, s:s, s:I, s:{s:o}, s:b, s:s}", "id", evt,
                  "object", "event", "api_version", CD_STRIPE_API_VERSION,
                  "created", (json_int_t)cd_now(), "data", "object", obj,
                  "livemode", 0, "type", type);
    assert_non_null(e);
    s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return s;
}

static struct cd_payment payment_of(const char *order_id, int *found)
{
    struct pay_read pr;

    memset(&pr, 0, sizeof(pr));
    pr.order_id = order_id;
    *found = cd_store_read(bill.store, read_payment, &pr) == CD_STORE_OK;
    return pr.p;
}

/* A paid topup's completion, with its own PaymentIntent. */
static void complete(const char *acct, const char *pi, struct cd_order *o)
{
    char sid[64], evt[64], *body;

    rand_id("cs_test_", sid);
    new_order(acct, "topup", 1000, 1000, sid, NULL, o);
    rand_id("evt_", evt);
    body = with_pi(session_event(evt, "checkout.session.completed", o, sid,
                                 acct, 1000, "paid", "complete"),
                   pi);
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    free(body);
}

/* No Stripe here (bill.stripe is NULL): the card comes from the charge
 * event, before or after the completion, and credits nothing itself. */
static void test_card_from_charge_event_any_order(void **state)
{
    char acct[64], pi[64], ch[64], *body;
    struct cd_order o;
    struct cd_payment p;
    int found;

    (void)state;
    new_account(acct);

    /* The charge event first: kept, then the completion's row has it. */
    rand_id("pi_", pi);
    rand_id("ch_", ch);
    body = charge_event("charge.succeeded", ch, pi, "4242");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED); /* again */
    free(body);
    assert_int_equal(balance_of(acct), 0);
    complete(acct, pi, &o);
    p = payment_of(o.id, &found);
    assert_true(found);
    assert_string_equal(p.last4, "4242");
    assert_string_equal(p.stripe_charge_id, ch);
    assert_int_equal(balance_of(acct), 1000);

    /* The completion first: no last4 yet; charge.updated fills it in. */
    rand_id("pi_", pi);
    rand_id("ch_", ch);
    complete(acct, pi, &o);
    p = payment_of(o.id, &found);
    assert_true(found);
    assert_string_equal(p.last4, "");
    body = charge_event("charge.updated", ch, pi, "0005");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_PROCESSED);
    free(body);
    p = payment_of(o.id, &found);
    assert_string_equal(p.last4, "0005");
    assert_string_equal(p.stripe_charge_id, ch);
    assert_string_equal(p.status, "succeeded");
    assert_int_equal(balance_of(acct), 2000);

    /* No card details, or a last4 that is not one: nothing to keep. */
    body = charge_event("charge.succeeded", ch, pi, NULL);
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
    free(body);
    body = charge_event("charge.succeeded", ch, pi, "42x2");
    assert_string_equal(deliver_ok(body), CD_WEBHOOK_IGNORED);
    free(body);
    assert_string_equal(payment_of(o.id, &found).last4, "0005");
}

/* A charge.dispute.created for a charge of no order here. */
static char *dispute_event(const char *evt_id)
{
    json_t *e = json_pack(
        "{s:s, s:s, s:s, s:{s:{s:s, s:s, s:s, s:I, s:s, s:s}}}", "id", evt_id,
        "object", "event", "type", "charge.dispute.created", "data", "object",
        "id", "dp_unit_async", "object", "dispute", "charge", "ch_unit_none",
        "amount", (json_int_t)100, "currency", "usd", "status",
        "needs_response");
    char *s;

    assert_non_null(e);
    s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return s;
}

/* The HTTP path's split: a checkout.session.* event is one job submitted
 * and answered from its completion on the writer thread (then its
 * duplicate the same way), and so is a charge.succeeded; a type whose
 * handler reads first blocks; an
 * unhandled type, a session not acted on and a bad signature are
 * answered at once, nothing submitted. */
static void test_async_split(void **state)
{
    char acct[64], sid[64], evt[64], hdr[128];
    struct cd_order o;
    const char *status = NULL;
    struct cd_error err;
    char *body;
    int how;

    (void)state;
    new_account(acct);
    rand_id("cs_test_", sid);
    new_order(acct, "topup", 700, 700, sid, NULL, &o);
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.completed", &o, sid, acct,
                         700, "paid", "complete");
    assert_int_equal(cd_stripe_sig_header(SECRET, cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), 0);
    assert_int_equal(how, CD_WEBHOOK_SUBMIT);
    assert_string_equal(status, CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 700);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), 0);
    assert_int_equal(how, CD_WEBHOOK_SUBMIT);
    assert_string_equal(status, CD_WEBHOOK_DUPLICATE);
    assert_int_equal(balance_of(acct), 700);
    /* signed by another secret: answered now */
    assert_int_equal(cd_stripe_sig_header("whsec_wrong", cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), -1);
    assert_int_equal(how, CD_WEBHOOK_ANSWERED);
    assert_string_equal(err.code, "invalid_signature");
    free(body);
    /* a type not acted on: answered now, nothing submitted */
    rand_id("evt_", evt);
    body = session_event(evt, "checkout.session.open", &o, sid, acct, 700,
                         "unpaid", "open");
    assert_int_equal(cd_stripe_sig_header(SECRET, cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), 0);
    assert_int_equal(how, CD_WEBHOOK_ANSWERED);
    assert_string_equal(status, CD_WEBHOOK_IGNORED);
    free(body);
    /* charge.succeeded: one job, no read first: submitted too */
    body = charge_event("charge.succeeded", "ch_async_1", "pi_async_1",
                        "4242");
    assert_int_equal(cd_stripe_sig_header(SECRET, cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), 0);
    assert_int_equal(how, CD_WEBHOOK_SUBMIT);
    assert_string_equal(status, CD_WEBHOOK_PROCESSED);
    free(body);
    /* a dispute looks its order up first (a read, maybe Stripe): it
     * blocks, on a worker in the server; no order of ours: ignored */
    rand_id("evt_", evt);
    body = dispute_event(evt);
    assert_int_equal(cd_stripe_sig_header(SECRET, cd_now(), body,
                                          strlen(body), hdr, sizeof(hdr)),
                     0);
    assert_int_equal(receive_async(body, hdr, &how, &status, &err), 0);
    assert_int_equal(how, CD_WEBHOOK_BLOCKS);
    assert_string_equal(status, CD_WEBHOOK_IGNORED);
    free(body);
}

/* The second run: every test above through the HTTP path (the third:
 * the same on PostgreSQL, with CD_TEST_PG_URL). */
static int setup_async(void **state)
{
    via_async = 1;
    return setup(state);
}

static int setup_async_pg(void **state)
{
    use_pg = 1;
    return setup_async(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completed_credits_once),
        cmocka_unit_test(test_two_events_one_session),
        cmocka_unit_test(test_bad_signature_records_nothing),
        cmocka_unit_test(test_malformed_and_unconfigured),
        cmocka_unit_test(test_amount_mismatch_not_credited),
        cmocka_unit_test(test_expired_after_completed),
        cmocka_unit_test(test_unpaid_then_async),
        cmocka_unit_test(test_crash_window_and_foreign),
        cmocka_unit_test(test_discount_counted_once),
        cmocka_unit_test(test_other_events_ignored),
        cmocka_unit_test(test_subscription_session_no_credit),
        cmocka_unit_test(test_ledger_refusal_recorded),
        cmocka_unit_test(test_account_gone_recorded),
        cmocka_unit_test(test_card_from_charge_event_any_order),
        cmocka_unit_test(test_async_split),
    };

    int failed;

    cd_billing_hooks_install(); /* the ledger's effects */

    failed = cmocka_run_group_tests_name("receive", tests, setup, teardown);
    failed += cmocka_run_group_tests_name("async", tests, setup_async,
                                          teardown);
    if (store_target_pg_url())
        failed += cmocka_run_group_tests_name("async_pg", tests,
                                              setup_async_pg, teardown);
    /* the checkout events of the second run were submitted */
    if (submitted < 20) {
        fprintf(stderr, "only %d events submitted\n", submitted);
        failed++;
    }
    return failed;
}
