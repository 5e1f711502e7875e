/*
 * test_billing_subscriptions.c - the pure readers of Stripe's
 * Subscription and Invoice shapes (the period end on the items since
 * basil vs. the older top-level field; the invoice's subscription id at
 * parent.subscription_details vs. the older top-level field; which paid
 * invoices grant credits), the store's upsert that never lets an earlier
 * read overwrite a later one, and invoice.paid / customer.subscription.*
 * against a real SQLite store without Stripe (a synced subscription needs
 * no Stripe call; an unsynced one is 503 without a Stripe key), and the
 * first period as one order and one payment row whichever of invoice.paid
 * and checkout.session.completed comes first. On SQLite, and on
 * PostgreSQL too when CD_TEST_PG_URL is set (store_target.h).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "billing/billing.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/orders.h"
#include "billing/problems.h"
#include "billing/subscriptions.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "log_capture.h"
#include "store_target.h"

static struct store_target target;
static int use_pg;
static struct cd_billing bill;
static struct cd_billing bill2; /* another node on the same database */

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);

    if (!j)
        fail_msg("bad JSON in test: %s", e.text);
    return j;
}

/* ---- pure ------------------------------------------------------------------ */

static void test_period_end(void **state)
{
    static const struct {
        const char *json;
        int64_t want;
    } cases[] = {
        /* basil and later: on the items */
        {"{\"items\":{\"data\":[{\"current_period_end\":1800000000}]}}",
         1800000000},
        /* older versions: top level */
        {"{\"current_period_end\":1700000000,\"items\":{\"data\":[{}]}}",
         1700000000},
        {"{\"current_period_end\":1700000000}", 1700000000},
        /* both: the items win */
        {"{\"current_period_end\":1700000000,\"items\":{\"data\":[{"
         "\"current_period_end\":1800000000}]}}",
         1800000000},
        /* the first item counts */
        {"{\"items\":{\"data\":[{\"current_period_end\":1800000001},{"
         "\"current_period_end\":1900000000}]}}",
         1800000001},
        /* unusable values fall back, then 0 */
        {"{\"current_period_end\":1700000000,\"items\":{\"data\":[{"
         "\"current_period_end\":null}]}}",
         1700000000},
        {"{\"current_period_end\":\"1700000000\"}", 0},
        {"{\"current_period_end\":-5}", 0},
        {"{\"items\":{\"data\":[]}}", 0},
        {"{\"items\":[]}", 0},
        {"{}", 0},
    };

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(cases); i++) {
        json_t *j = parse(cases[i].json);
        int64_t got = cd_subscription_period_end(j);
        if (got != cases[i].want)
            fail_msg("case %zu: %lld, want %lld", i, (long long)got,
                     (long long)cases[i].want);
        json_decref(j);
    }
    assert_int_equal(cd_subscription_period_end(NULL), 0);
}

static void test_invoice_sub_id(void **state)
{
    static const struct {
        const char *json;
        const char *want; /* NULL: none */
    } cases[] = {
        /* basil: parent.subscription_details.subscription */
        {"{\"parent\":{\"type\":\"subscription_details\","
         "\"subscription_details\":{\"subscription\":\"sub_new\"}},"
         "\"subscription\":null}",
         "sub_new"},
        /* both: parent wins */
        {"{\"parent\":{\"subscription_details\":{\"subscription\":"
         "\"sub_new\"}},\"subscription\":\"sub_old\"}",
         "sub_new"},
        /* older: top level, as a string or expanded */
        {"{\"subscription\":\"sub_old\"}", "sub_old"},
        {"{\"subscription\":{\"id\":\"sub_exp\",\"object\":"
         "\"subscription\"}}",
         "sub_exp"},
        {"{\"parent\":{\"subscription_details\":{\"subscription\":{\"id\":"
         "\"sub_pexp\"}}}}",
         "sub_pexp"},
        /* a quote's invoice, a manual one */
        {"{\"parent\":{\"type\":\"quote_details\",\"quote_details\":{"
         "\"quote\":\"qt_1\"},\"subscription_details\":null},"
         "\"subscription\":null}",
         NULL},
        {"{\"parent\":null}", NULL},
        {"{\"subscription\":\"\"}", NULL},
        {"{}", NULL},
    };
    char out[CD_SID_SZ], small[8];

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(cases); i++) {
        json_t *j = parse(cases[i].json);
        int rc = cd_subscription_invoice_sub_id(j, out, sizeof(out));
        if (cases[i].want) {
            if (rc != 0 || strcmp(out, cases[i].want) != 0)
                fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, out,
                         cases[i].want);
        } else if (rc != -1 || out[0]) {
            fail_msg("case %zu: rc %d '%s', want none", i, rc, out);
        }
        json_decref(j);
    }
    /* An id that does not fit is none, never a truncated id. */
    {
        json_t *j = parse("{\"subscription\":\"sub_much_too_long\"}");
        assert_int_equal(
            cd_subscription_invoice_sub_id(j, small, sizeof(small)), -1);
        assert_string_equal(small, "");
        json_decref(j);
    }
}

static void test_invoice_grants(void **state)
{
    (void)state;
    assert_true(
        cd_subscription_invoice_grants("paid", "subscription_create", 1999));
    assert_true(
        cd_subscription_invoice_grants("paid", "subscription_cycle", 1));
    /* a trial or a 100 % coupon: nothing paid, nothing granted */
    assert_false(
        cd_subscription_invoice_grants("paid", "subscription_create", 0));
    assert_false(
        cd_subscription_invoice_grants("paid", "subscription_cycle", -1));
    /* not paid */
    assert_false(
        cd_subscription_invoice_grants("open", "subscription_cycle", 1999));
    assert_false(
        cd_subscription_invoice_grants(NULL, "subscription_cycle", 1999));
    /* prorations, manual invoices and the like */
    assert_false(
        cd_subscription_invoice_grants("paid", "subscription_update", 500));
    assert_false(cd_subscription_invoice_grants("paid", "manual", 500));
    assert_false(cd_subscription_invoice_grants("paid", NULL, 500));
}

/* ---- store and events ------------------------------------------------------ */

static void new_account(char *id_out)
{
    fx_new_account(bill.store, id_out);
}

struct upsert_job {
    struct cd_subscription s;
    int rc;
};

static int job_upsert(struct cd_tx *tx, void *arg)
{
    struct upsert_job *j = arg;

    j->rc = cd_store_subscription_upsert(tx, &j->s);
    return 0;
}

static int upsert(const char *sub_id, const char *acct, const char *plan,
                  const char *status, int64_t end, int cape,
                  int64_t synced_at, int64_t created_at)
{
    struct upsert_job j;

    memset(&j, 0, sizeof(j));
    strcpy(j.s.stripe_subscription_id, sub_id);
    strcpy(j.s.account_id, acct);
    if (plan)
        strcpy(j.s.plan_id, plan);
    strcpy(j.s.status, status);
    j.s.current_period_end = end;
    j.s.cancel_at_period_end = cape;
    j.s.synced_at = synced_at;
    j.s.created_at = j.s.updated_at = created_at;
    assert_int_equal(cd_store_write(bill.store, job_upsert, &j), 0);
    return j.rc;
}

/* The account's subscription; want_code NULL: there is one, else the
 * error code expected (a 404 no_subscription). */
static struct cd_subscription current(const char *acct, const char *want_code)
{
    struct cd_subscription s;
    struct cd_error err;

    if (!want_code) {
        assert_int_equal(cd_subscription_current(&bill, acct, &s, &err), 0);
        return s;
    }
    assert_int_equal(cd_subscription_current(&bill, acct, &s, &err), -1);
    assert_string_equal(err.code, want_code);
    assert_int_equal(err.kind, CD_EK_NOT_FOUND);
    assert_string_equal(err.message, "This account has no subscription.");
    return s;
}

static void test_store_upsert(void **state)
{
    char acct[64], other[64];
    struct cd_subscription s;

    (void)state;
    new_account(acct);
    new_account(other);
    current(acct, "no_subscription");

    assert_int_equal(
        upsert("sub_u1", acct, "monthly", "active", 1000, 0, 100, 50),
        CD_STORE_OK);
    s = current(acct, NULL);
    assert_string_equal(s.stripe_subscription_id, "sub_u1");
    assert_string_equal(s.plan_id, "monthly");
    assert_string_equal(s.status, "active");
    assert_int_equal(s.current_period_end, 1000);
    assert_int_equal(s.cancel_at_period_end, 0);

    /* A later read wins ... */
    assert_int_equal(upsert("sub_u1", acct, NULL, "active", 2000, 1, 200, 99),
                     CD_STORE_OK);
    s = current(acct, NULL);
    assert_int_equal(s.current_period_end, 2000);
    assert_int_equal(s.cancel_at_period_end, 1);
    assert_string_equal(s.plan_id, "monthly"); /* no plan: kept */
    assert_int_equal(s.created_at, 50);        /* first write's */
    /* ... an earlier one changes nothing ... */
    assert_int_equal(
        upsert("sub_u1", acct, "monthly", "active", 1000, 0, 150, 99),
        CD_STORE_DUPLICATE);
    s = current(acct, NULL);
    assert_int_equal(s.current_period_end, 2000);
    assert_int_equal(s.cancel_at_period_end, 1);
    /* ... and the account never moves. */
    assert_int_equal(
        upsert("sub_u1", other, "monthly", "canceled", 2000, 1, 300, 99),
        CD_STORE_OK);
    assert_string_equal(current(acct, NULL).status, "canceled");
    current(other, "no_subscription");

    /* The most recent subscription of the account is the current one. */
    assert_int_equal(
        upsert("sub_u2", acct, "monthly", "active", 5000, 0, 400, 60),
        CD_STORE_OK);
    assert_string_equal(current(acct, NULL).stripe_subscription_id, "sub_u2");
}

static int count_mismatch(const struct cd_problem *p, void *arg)
{
    if (strcmp(p->kind, CD_PROBLEM_INVOICE_MISMATCH) == 0)
        ++*(int64_t *)arg;
    return 0;
}

/* The orders of one Stripe invoice: how many, and the last one seen. */
struct invoice_orders {
    const char *invoice_id;
    int n;
    struct cd_order o;
};

static int find_invoice_order(const struct cd_order *o, void *arg)
{
    struct invoice_orders *io = arg;

    if (strcmp(o->stripe_invoice_id, io->invoice_id) == 0) {
        io->n++;
        io->o = *o;
    }
    return 0;
}

static const char *apply(const char *json, int want_rc, const char *code)
{
    const char *status = NULL;
    struct cd_error err;
    json_t *ev = parse(json);
    int rc;

    cd_error_clear(&err);
    rc = cd_webhook_apply(&bill, ev, &status, &err);
    json_decref(ev);
    if (rc != want_rc)
        fail_msg("apply: rc %d (%s %s), want %d", rc, err.code, err.message,
                 want_rc);
    if (code)
        assert_string_equal(err.code, code);
    return status;
}

struct bal_read {
    const char *id;
    int64_t balance;
};

static int read_balance(struct cd_tx *tx, void *arg)
{
    struct bal_read *r = arg;
    struct cd_account a;
    int rc = cd_store_account_get(tx, r->id, &a);

    r->balance = a.balance;
    return rc;
}

static int64_t balance(const char *acct)
{
    struct bal_read r = {acct, 0};

    assert_int_equal(cd_store_read(bill.store, read_balance, &r), 0);
    return r.balance;
}

static void test_invoice_paid_synced(void **state)
{
    char acct[64], ev[1024], evt[64], in_id[64];

    (void)state;
    new_account(acct);
    assert_int_equal(
        upsert("sub_syn1", acct, "monthly", "active", 1000, 0, 100, 50),
        CD_STORE_OK);
    cd_random_id("evt_", evt, sizeof(evt));
    cd_random_id("in_", in_id, sizeof(in_id));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"%s\",\"object\":\"invoice\",\"status\":\"paid\","
        "\"billing_reason\":\"subscription_cycle\",\"amount_paid\":"
        "1999,\"currency\":\"usd\",\"parent\":{\"subscription_details\":{\"subscription\":"
        "\"sub_syn1\"}}}}}",
        evt, in_id);
    /* No Stripe configured: the synced row is enough. */
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance(acct), 2500);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_DUPLICATE);
    /* The same invoice under another event id (the older top-level
     * shape): once per invoice. */
    {
        char ev2[1100], evt2[64];
        cd_random_id("evt_", evt2, sizeof(evt2));
        snprintf(ev2, sizeof(ev2),
                 "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{"
                 "\"object\":{\"id\":\"%s\",\"status\":\"paid\","
                 "\"billing_reason\":\"subscription_cycle\",\"amount_paid\":"
                 "1999,\"currency\":\"usd\",\"subscription\":\"sub_syn1\"}}}",
                 evt2, in_id);
        assert_string_equal(apply(ev2, 0, NULL), CD_WEBHOOK_PROCESSED);
    }
    assert_int_equal(balance(acct), 2500);

    /* An unknown plan credits nothing and is not recorded. */
    assert_int_equal(
        upsert("sub_syn2", acct, "gone", "active", 1000, 0, 100, 50),
        CD_STORE_OK);
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"in_syn2\",\"status\":\"paid\",\"billing_reason\":"
        "\"subscription_create\",\"amount_paid\":1999,\"currency\":\"usd\",\"subscription\":"
        "\"sub_syn2\"}}}",
        evt);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance(acct), 2500);

    /* Not synced and no Stripe to ask: 503, Stripe retries. */
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"in_syn3\",\"status\":\"paid\",\"billing_reason\":"
        "\"subscription_create\",\"amount_paid\":1999,\"currency\":\"usd\",\"subscription\":"
        "\"sub_unsynced\"}}}",
        evt);
    apply(ev, -1, "stripe_not_configured");

    /* A subscription event of no account here: ignored, no Stripe call. */
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(ev, sizeof(ev),
             "{\"id\":\"%s\",\"type\":\"customer.subscription.updated\","
             "\"data\":{\"object\":{\"id\":\"sub_foreign\",\"object\":"
             "\"subscription\",\"status\":\"active\",\"customer\":"
             "\"cus_nobody\",\"metadata\":{}}}}",
             evt);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    /* One of ours: it must be re-read at Stripe (503 without one). */
    snprintf(ev, sizeof(ev),
             "{\"id\":\"%s\",\"type\":\"customer.subscription.updated\","
             "\"data\":{\"object\":{\"id\":\"sub_syn1\",\"object\":"
             "\"subscription\",\"status\":\"canceled\"}}}",
             evt);
    apply(ev, -1, "stripe_not_configured");
    assert_string_equal(current(acct, NULL).status, "active");

    /* An invoice that is not the plan's amount (or currency) credits
     * nothing; its order is failed and listed for the operator. */
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"in_syn_cheap\",\"status\":\"paid\",\"billing_reason\":"
        "\"subscription_cycle\",\"amount_paid\":100,\"currency\":\"usd\","
        "\"subscription\":\"sub_syn1\"}}}",
        evt);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"in_syn_eur\",\"status\":\"paid\",\"billing_reason\":"
        "\"subscription_cycle\",\"amount_paid\":1999,\"currency\":\"eur\","
        "\"subscription\":\"sub_syn1\"}}}",
        evt);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance(acct), 2500);
    {
        int64_t total = 0;
        assert_int_equal(cd_problems_list(&bill, 100, 0, count_mismatch,
                                          &total, NULL, NULL),
                         0);
        assert_int_equal(total, 2);
    }

    /* The mismatched invoice again (another event): its one order stays
     * failed with its reason, the operator is not told twice. */
    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(
        ev, sizeof(ev),
        "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
        "{\"id\":\"in_syn_cheap\",\"status\":\"paid\",\"billing_reason\":"
        "\"subscription_cycle\",\"amount_paid\":100,\"currency\":\"usd\","
        "\"subscription\":\"sub_syn1\"}}}",
        evt);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance(acct), 2500);
    {
        struct invoice_orders io = {.invoice_id = "in_syn_cheap"};
        int64_t total = 0;

        assert_int_equal(cd_orders_list(&bill, acct, 100, 0,
                                        find_invoice_order, &io, NULL, NULL),
                         0);
        assert_int_equal(io.n, 1);
        assert_string_equal(io.o.status, "failed");
        assert_non_null(strstr(io.o.failure_reason,
                               "invoice paid 100 usd, plan monthly costs"));
        assert_int_equal(cd_problems_list(&bill, 100, 0, count_mismatch,
                                          &total, NULL, NULL),
                         0);
        assert_int_equal(total, 2);
    }
}

/* What invoices.c logs is under its own module, "invoices" (one line at
 * info: an invoice that grants nothing). */
static void test_invoice_log_module(void **state)
{
    char ev[1024], evt[64], in_id[64], buf[8192];
    struct log_capture cap;

    (void)state;
    cd_random_id("evt_", evt, sizeof(evt));
    cd_random_id("in_", in_id, sizeof(in_id));
    snprintf(ev, sizeof(ev),
             "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{"
             "\"object\":{\"id\":\"%s\",\"status\":\"paid\","
             "\"billing_reason\":\"manual\",\"amount_paid\":500,"
             "\"currency\":\"usd\",\"subscription\":\"sub_log1\"}}}",
             evt, in_id);
    log_capture_begin(&cap, CD_LOG_INFO);
    assert_string_equal(apply(ev, 0, NULL), CD_WEBHOOK_IGNORED);
    log_capture_end(&cap, buf, sizeof(buf));
    assert_non_null(strstr(buf, " invoices "));
    assert_non_null(strstr(buf, "grants nothing"));
    assert_null(strstr(buf, " subscriptions "));
}

/* ---- the first period: one order, one payment ------------------------------ */

struct period_read {
    const char *acct;
    const char *order_id;
    int64_t payments;
    int64_t completed;
    struct cd_order o;
    struct cd_payment p;
};

static int count_completed(const struct cd_order *o, void *arg)
{
    if (strcmp(o->status, "completed") == 0)
        ++*(int64_t *)arg;
    return 0;
}

static int ignore_payment(const struct cd_payment *p, void *arg)
{
    (void)p;
    (void)arg;
    return 0;
}

static int read_period(struct cd_tx *tx, void *arg)
{
    struct period_read *r = arg;
    int64_t total;

    if (cd_store_payment_list(tx, r->acct, 100, 0, ignore_payment, NULL,
                              &r->payments) != CD_STORE_OK ||
        cd_store_order_list(tx, r->acct, 100, 0, count_completed,
                            &r->completed, &total) != CD_STORE_OK ||
        cd_store_order_get(tx, r->order_id, &r->o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return cd_store_payment_by_order(tx, r->order_id, &r->p);
}

/* invoice.paid of the first invoice in_id of sub_id, whose subscription's
 * metadata names order_id (what checkout.c asks Stripe to keep). */
static void first_invoice_event(char *out, size_t outsz, const char *in_id,
                                const char *sub_id, const char *order_id)
{
    char evt[64];

    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(out, outsz,
             "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
             "{\"id\":\"%s\",\"object\":\"invoice\",\"status\":\"paid\","
             "\"billing_reason\":\"subscription_create\",\"amount_paid\":"
             "1999,\"currency\":\"usd\",\"customer\":\"cus_first1\","
             "\"payment_intent\":\"pi_%s\",\"parent\":{"
             "\"subscription_details\":{\"subscription\":\"%s\","
             "\"metadata\":{\"order_id\":\"%s\"}}}}}}",
             evt, in_id, in_id + 3, sub_id, order_id);
}

static void session_event(char *out, size_t outsz, const struct cd_order *o,
                          const char *in_id, const char *sub_id)
{
    char evt[64];

    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(out, outsz,
             "{\"id\":\"%s\",\"type\":\"checkout.session.completed\","
             "\"data\":{\"object\":{\"id\":\"%s\",\"object\":"
             "\"checkout.session\",\"mode\":\"subscription\",\"status\":"
             "\"complete\",\"payment_status\":\"paid\",\"amount_total\":1999,"
             "\"currency\":\"usd\",\"customer\":\"cus_first1\",\"invoice\":"
             "\"%s\",\"subscription\":\"%s\",\"client_reference_id\":\"%s\","
             "\"metadata\":{\"account_id\":\"%s\",\"order_id\":\"%s\"}}}}",
             evt, o->stripe_session_id, in_id, sub_id, o->id, o->account_id,
             o->id);
}

static void first_period(int invoice_first)
{
    char acct[64], sub_id[64], in_id[64], inv[1024], ses[1024];
    struct period_read r;
    struct cd_order o;

    new_account(acct);
    cd_random_id("sub_", sub_id, sizeof(sub_id));
    cd_random_id("in_", in_id, sizeof(in_id));
    assert_int_equal(
        upsert(sub_id, acct, "monthly", "active", 1000, 0, 100, 50),
        CD_STORE_OK);
    fx_order_init(&o, acct, "subscription", 1999, 2500);
    strcpy(o.item_id, "monthly");
    cd_random_id("cs_test_", o.stripe_session_id,
                 sizeof(o.stripe_session_id));
    fx_order_insert(bill.store, &o);
    first_invoice_event(inv, sizeof(inv), in_id, sub_id, o.id);
    session_event(ses, sizeof(ses), &o, in_id, sub_id);

    assert_string_equal(apply(invoice_first ? inv : ses, 0, NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(apply(invoice_first ? ses : inv, 0, NULL),
                        CD_WEBHOOK_PROCESSED);
    /* Each again, and again under new event ids: nothing more. */
    assert_string_equal(apply(inv, 0, NULL), CD_WEBHOOK_DUPLICATE);
    assert_string_equal(apply(ses, 0, NULL), CD_WEBHOOK_DUPLICATE);
    first_invoice_event(inv, sizeof(inv), in_id, sub_id, o.id);
    session_event(ses, sizeof(ses), &o, in_id, sub_id);
    assert_string_equal(apply(inv, 0, NULL), CD_WEBHOOK_PROCESSED);
    assert_string_equal(apply(ses, 0, NULL), CD_WEBHOOK_PROCESSED);

    assert_int_equal(balance(acct), 2500);
    memset(&r, 0, sizeof(r));
    r.acct = acct;
    r.order_id = o.id;
    assert_int_equal(cd_store_read(bill.store, read_period, &r), CD_STORE_OK);
    assert_int_equal(r.completed, 1);
    assert_int_equal(r.payments, 1);
    assert_string_equal(r.o.status, "completed");
    assert_string_equal(r.o.stripe_invoice_id, in_id);
    assert_string_equal(r.p.status, "succeeded");
    assert_int_equal(r.p.amount_cents, 1999);
    assert_string_equal(r.p.stripe_payment_intent_id + 3, in_id + 3);
}

/* Both events at once, on two nodes (two stores on one database), each
 * delivered again until it is answered 200 (as Stripe does after a 500). */
struct racer {
    struct cd_billing *b;
    const char *json;
    pthread_barrier_t *go;
    int ok;
};

static void *race_apply(void *arg)
{
    struct racer *r = arg;
    const char *status;
    struct cd_error err;
    json_t *ev = json_loads(r->json, 0, NULL);

    pthread_barrier_wait(r->go);
    for (int i = 0; ev && i < 20 && !r->ok; i++) {
        cd_error_clear(&err);
        r->ok = cd_webhook_apply(r->b, ev, &status, &err) == 0;
    }
    json_decref(ev);
    return NULL;
}

static void test_first_period_race(void **state)
{
    (void)state;
    for (int round = 0; round < 8; round++) {
        char acct[64], sub_id[64], in_id[64], inv[1024], ses[1024];
        struct racer r[2];
        pthread_t t[2];
        pthread_barrier_t go;
        struct period_read pr;
        struct cd_order o;

        new_account(acct);
        cd_random_id("sub_", sub_id, sizeof(sub_id));
        cd_random_id("in_", in_id, sizeof(in_id));
        assert_int_equal(
            upsert(sub_id, acct, "monthly", "active", 1000, 0, 100, 50),
            CD_STORE_OK);
        fx_order_init(&o, acct, "subscription", 1999, 2500);
        strcpy(o.item_id, "monthly");
        cd_random_id("cs_test_", o.stripe_session_id,
                     sizeof(o.stripe_session_id));
        fx_order_insert(bill.store, &o);
        first_invoice_event(inv, sizeof(inv), in_id, sub_id, o.id);
        session_event(ses, sizeof(ses), &o, in_id, sub_id);
        pthread_barrier_init(&go, NULL, 2);
        r[0] = (struct racer){&bill, inv, &go, 0};
        r[1] = (struct racer){&bill2, ses, &go, 0};
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, race_apply, &r[i]),
                             0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_true(r[0].ok && r[1].ok);
        assert_int_equal(balance(acct), 2500);
        memset(&pr, 0, sizeof(pr));
        pr.acct = acct;
        pr.order_id = o.id;
        assert_int_equal(cd_store_read(bill.store, read_period, &pr),
                         CD_STORE_OK);
        assert_int_equal(pr.completed, 1);
        assert_int_equal(pr.payments, 1);
        assert_string_equal(pr.o.stripe_invoice_id, in_id);
    }
}

static void test_first_period_checkout_first(void **state)
{
    (void)state;
    first_period(0);
}

static void test_first_period_invoice_first(void **state)
{
    (void)state;
    first_period(1);
}

/* ---- invoice_payment.paid: the PaymentIntent, never asked of Stripe -------- */

struct row_read {
    const char *invoice;
    struct cd_order o;
    struct cd_payment p;
};

static int read_row(struct cd_tx *tx, void *arg)
{
    struct row_read *r = arg;

    if (cd_store_order_by_invoice(tx, r->invoice, &r->o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return cd_store_payment_by_order(tx, r->o.id, &r->p);
}

static void paid_renewal(char *out, size_t outsz, const char *in_id,
                         const char *sub_id)
{
    char evt[64];

    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(out, outsz,
             "{\"id\":\"%s\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
             "{\"id\":\"%s\",\"object\":\"invoice\",\"status\":\"paid\","
             "\"billing_reason\":\"subscription_cycle\",\"amount_paid\":1999,"
             "\"currency\":\"usd\",\"parent\":{\"subscription_details\":{"
             "\"subscription\":\"%s\"}}}}}",
             evt, in_id, sub_id);
}

static void invoice_payment(char *out, size_t outsz, const char *in_id,
                            const char *pi, const char *status)
{
    char evt[64];

    cd_random_id("evt_", evt, sizeof(evt));
    snprintf(out, outsz,
             "{\"id\":\"%s\",\"type\":\"invoice_payment.paid\",\"data\":{"
             "\"object\":{\"id\":\"inpay_1\",\"object\":\"invoice_payment\","
             "\"invoice\":\"%s\",\"status\":\"%s\",\"payment\":{\"type\":"
             "\"payment_intent\",\"payment_intent\":\"%s\"}}}}",
             evt, in_id, status, pi);
}

/* The PaymentIntent of an invoice: named by invoice_payment.paid before or
 * after invoice.paid, which answers from the database alone (no Stripe
 * here at all). */
static void test_invoice_payment_either_order(void **state)
{
    char acct[64], sub_id[64], in_id[64], pi[64], inv[1024], ip[1024];
    struct row_read r;

    (void)state;
    new_account(acct);
    cd_random_id("sub_", sub_id, sizeof(sub_id));
    assert_int_equal(
        upsert(sub_id, acct, "monthly", "active", 1000, 0, 100, 50),
        CD_STORE_OK);
    for (int ip_first = 0; ip_first < 2; ip_first++) {
        cd_random_id("in_", in_id, sizeof(in_id));
        cd_random_id("pi_", pi, sizeof(pi));
        paid_renewal(inv, sizeof(inv), in_id, sub_id);
        invoice_payment(ip, sizeof(ip), in_id, pi, "paid");
        assert_string_equal(apply(ip_first ? ip : inv, 0, NULL),
                            CD_WEBHOOK_PROCESSED);
        memset(&r, 0, sizeof(r));
        r.invoice = in_id;
        if (!ip_first) { /* credited, the row waits for its PaymentIntent */
            assert_int_equal(cd_store_read(bill.store, read_row, &r), 0);
            assert_string_equal(r.p.stripe_payment_intent_id, "");
        }
        assert_string_equal(apply(ip_first ? inv : ip, 0, NULL),
                            CD_WEBHOOK_PROCESSED);
        assert_string_equal(apply(ip, 0, NULL), CD_WEBHOOK_DUPLICATE);
        assert_int_equal(cd_store_read(bill.store, read_row, &r), 0);
        assert_string_equal(r.p.stripe_payment_intent_id, pi);
        assert_string_equal(r.o.stripe_payment_intent_id, pi);
        assert_string_equal(r.p.status, "succeeded");
    }
    assert_int_equal(balance(acct), 2 * 2500);
    /* Not paid, or naming no PaymentIntent: ignored, not recorded. */
    invoice_payment(ip, sizeof(ip), in_id, "pi_other", "open");
    assert_string_equal(apply(ip, 0, NULL), CD_WEBHOOK_IGNORED);
    invoice_payment(ip, sizeof(ip), in_id, "x/../y", "paid");
    assert_string_equal(apply(ip, 0, NULL), CD_WEBHOOK_IGNORED);
    /* A later word on the same invoice replaces nothing. */
    invoice_payment(ip, sizeof(ip), in_id, "pi_other", "paid");
    assert_string_equal(apply(ip, 0, NULL), CD_WEBHOOK_PROCESSED);
    assert_int_equal(cd_store_read(bill.store, read_row, &r), 0);
    assert_string_equal(r.p.stripe_payment_intent_id, pi);
}

/* ---- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
    struct cd_store_config sc;
    struct cd_error err;

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (store_target_make(&target, use_pg, "cd_subs") != 0)
        return -1;
    memset(&sc, 0, sizeof(sc));
    sc.path = target.target;
    memset(&bill, 0, sizeof(bill));
    memset(&bill2, 0, sizeof(bill2));
    bill.store = cd_store_open(&sc, &err);
    assert_non_null(bill.store);
    bill2.store = cd_store_open(&sc, &err);
    assert_non_null(bill2.store);
    strcpy(bill.cfg.currency, "usd");
    strcpy(bill.cfg.plans[0].id, "monthly");
    strcpy(bill.cfg.plans[0].name, "Monthly - 2,500 credits a month");
    bill.cfg.plans[0].price_cents = 1999;
    strcpy(bill.cfg.plans[0].interval, "month");
    bill.cfg.plans[0].credits_per_period = 2500;
    bill.cfg.nplans = 1;
    bill2.cfg = bill.cfg;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_store_close(bill2.store);
    cd_store_close(bill.store);
    store_target_drop(&target);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_end),
        cmocka_unit_test(test_invoice_sub_id),
        cmocka_unit_test(test_invoice_grants),
        cmocka_unit_test(test_store_upsert),
        cmocka_unit_test(test_invoice_paid_synced),
        cmocka_unit_test(test_invoice_log_module),
        cmocka_unit_test(test_first_period_checkout_first),
        cmocka_unit_test(test_first_period_invoice_first),
        cmocka_unit_test(test_first_period_race),
        cmocka_unit_test(test_invoice_payment_either_order),
    };
    int failed;

    cd_billing_hooks_install(); /* the ledger's effects */
    failed = cmocka_run_group_tests_name("sqlite", tests, setup, teardown);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, setup,
                                              teardown);
    }
    return failed;
}
