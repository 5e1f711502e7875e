/*
 * test_billing_autotopup.c - auto top-up on a real store (SQLite in a temp
 * dir; again on PostgreSQL when CD_TEST_PG_URL is set): exactly one
 * attempt under concurrent debits from two nodes (two stores on one
 * database), none while one is open, the monthly
 * cap (and the next month), the decline policy (retry after 1 h and 6 h,
 * off after the 3rd decline with a reason), a retry canceled when the
 * balance is back, clawbacks never triggering, the worker's pass settling
 * an attempt from its order (failed: Stripe's code and message; completed:
 * succeeded) or giving up with a reason, and the settings' checks.
 * No Stripe: the worker's steps (claim, declined, succeeded) are driven
 * directly, and the clock moves with cd_clock_advance.
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

#include "billing/accounts.h"
#include "billing/autotopup.h"
#include "billing/billing.h"
#include "billing/hooks.h"
#include "billing/ledger.h"
#include "billing/ledger_ops.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "store_target.h"

static int use_pg;
static struct store_target target;
static struct cd_billing bill;

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, use_pg, "cd_autotopup", 0);
    if (!bill.store)
        return -1;
    strcpy(bill.cfg.currency, "usd");
    bill.cfg.topup_min_cents = 500;
    bill.cfg.topup_max_cents = 100000;
    bill.cfg.topup_step_cents = 500;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_target_close(&target, bill.store);
    return 0;
}

static void grant(const char *acct, int64_t amount)
{
    struct cd_ledger_op op = {0};
    struct cd_ledger_entry e;
    struct cd_error err;

    op.account_id = acct;
    op.amount = amount;
    op.description = "unit";
    assert_int_equal(cd_ledger_grant(&bill, &op, &e, NULL, &err), 0);
}

static void debit(const char *acct, int64_t amount)
{
    struct cd_ledger_op op = {0};
    struct cd_ledger_entry e;
    struct cd_error err;

    op.account_id = acct;
    op.amount = amount;
    op.description = "unit";
    assert_int_equal(cd_ledger_debit(&bill, &op, &e, NULL, &err), 0);
}

struct put_job {
    struct cd_autotopup_settings s;
    const char *customer;
};

static int put_fn(struct cd_tx *tx, void *arg)
{
    struct put_job *p = arg;

    if (p->customer)
        return cd_store_account_set_customer(tx, p->s.account_id, p->customer,
                                             1);
    return cd_store_autotopup_put(tx, &p->s);
}

/* An account with balance and auto top-up on (stored directly). */
static void account_on(char *acct, int64_t balance, int64_t threshold,
                       int64_t amount, int64_t cap)
{
    struct put_job p;

    fx_new_account(bill.store, acct);
    grant(acct, balance);
    memset(&p, 0, sizeof(p));
    strcpy(p.s.account_id, acct);
    p.s.enabled = 1;
    p.s.threshold = threshold;
    p.s.amount_cents = amount;
    p.s.monthly_cap_cents = cap;
    p.s.updated_at = cd_now();
    assert_int_equal(cd_store_write(bill.store, put_fn, &p), 0);
}

/* The account's view (settings, month, last attempt). */
static struct cd_autotopup_view view(const char *acct)
{
    struct cd_autotopup_view v;
    struct cd_error err;

    assert_int_equal(cd_autotopup_get(&bill, acct, &v, &err), 0);
    return v;
}

struct count_job {
    const char *acct;
    int open, all;
};

/* Open attempts of every account (due at any time), and this account's. */
static int count_fn(struct cd_tx *tx, void *arg)
{
    struct count_job *c = arg;
    struct cd_autotopup_attempt rows[64];
    int n = 0;

    if (cd_store_autotopup_due(tx, INT64_C(1) << 60, rows, 64, &n) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    c->open = c->all = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].account_id, c->acct) == 0)
            c->open++;
    return 0;
}

static int open_attempts(const char *acct)
{
    struct count_job c = {acct, 0, 0};

    assert_int_equal(cd_store_read(bill.store, count_fn, &c), 0);
    return c.open;
}

/* ---- exactly one ------------------------------------------------------------ */

struct debiter {
    struct cd_billing *b;
    const char *acct;
    int n;
};

static void *debit_thread(void *arg)
{
    struct debiter *d = arg;
    struct cd_ledger_op op = {0};
    struct cd_ledger_entry e;
    struct cd_error err;

    op.account_id = d->acct;
    op.amount = 10;
    op.description = "unit";
    for (int i = 0; i < d->n; i++)
        assert_int_equal(cd_ledger_debit(d->b, &op, &e, NULL, &err), 0);
    return NULL;
}

static void test_one_attempt_under_concurrent_debits(void **state)
{
    char acct[CD_ID_SZ];
    pthread_t th[8];
    struct debiter d[2];
    struct cd_autotopup_view v;
    struct cd_store_config sc;
    struct cd_billing node2;
    struct cd_error err;

    (void)state;
    account_on(acct, 1000, 900, 2000, 10000);
    /* a second node: its own store (writer) on the same database */
    memset(&sc, 0, sizeof(sc));
    sc.path = target.target;
    node2 = bill;
    node2.store = cd_store_open(&sc, &err);
    assert_non_null(node2.store);
    d[0] = (struct debiter){&bill, acct, 10};
    d[1] = (struct debiter){&node2, acct, 10};
    for (int i = 0; i < 8; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, debit_thread, &d[i % 2]), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    cd_store_close(node2.store);
    /* 80 debits of 10: the balance crossed 900 once and stayed under */
    assert_int_equal(open_attempts(acct), 1);
    v = view(acct);
    assert_true(v.has_last);
    assert_string_equal(v.last.state, "pending");
    assert_int_equal(v.last.amount_cents, 2000);
    assert_int_equal(v.month_spent_cents, 2000);
    /* one more debit, and a claimed (in flight) attempt: still one */
    debit(acct, 10);
    assert_int_equal(cd_autotopup_claim(&bill, &v.last), 1);
    assert_string_equal(v.last.state, "in_flight");
    assert_int_equal(v.last.tries, 1);
    assert_memory_equal(v.last.order_id, "ord_", 4);
    debit(acct, 10);
    assert_int_equal(open_attempts(acct), 1);
    /* a clawback (refund) under the threshold never starts one */
    assert_int_equal(cd_autotopup_succeeded(&bill, &v.last), 0);
    assert_false(cd_autotopup_spend_kind("refund"));
    assert_false(cd_autotopup_spend_kind("dispute"));
    assert_true(cd_autotopup_spend_kind("usage"));
}

/* ---- the monthly cap ---------------------------------------------------------- */

/* Claims the last attempt, credits what its order would (credit), and
 * marks it succeeded. */
static void succeed_last(const char *acct, int64_t credit)
{
    struct cd_autotopup_view v = view(acct);

    assert_true(v.has_last);
    assert_int_equal(cd_autotopup_claim(&bill, &v.last), 1);
    if (credit)
        grant(acct, credit);
    assert_int_equal(cd_autotopup_succeeded(&bill, &v.last), 0);
}

static void test_monthly_cap(void **state)
{
    char acct[CD_ID_SZ], acct2[CD_ID_SZ];
    char first[CD_ID_SZ];
    struct cd_autotopup_view v;
    int64_t month;

    (void)state;
    account_on(acct, 1000, 900, 2000, 4000);
    debit(acct, 200);
    strcpy(first, view(acct).last.id);
    succeed_last(acct, 2000); /* 2800: above, nothing next */
    v = view(acct);
    assert_string_equal(v.last.id, first);
    assert_string_equal(v.last.state, "succeeded");
    debit(acct, 1910); /* 890; 2000 spent + 2000 <= 4000: a second */
    v = view(acct);
    assert_string_not_equal(v.last.id, first);
    assert_string_equal(v.last.state, "pending");
    assert_int_equal(v.month_spent_cents, 4000);
    succeed_last(acct, 0); /* still under, but the cap is reached */
    debit(acct, 10);
    v = view(acct);
    assert_string_equal(v.last.state, "succeeded");
    assert_int_equal(open_attempts(acct), 0);

    /* spent under the threshold again while one was in flight: the next
     * starts when it succeeds */
    account_on(acct2, 1000, 900, 2000, 10000);
    debit(acct2, 200);
    strcpy(first, view(acct2).last.id);
    succeed_last(acct2, 0);
    v = view(acct2);
    assert_string_not_equal(v.last.id, first);
    assert_string_equal(v.last.state, "pending");
    assert_int_equal(v.month_spent_cents, 4000);

    /* the next calendar month (UTC) starts from zero */
    month = cd_autotopup_month(cd_now());
    while (cd_autotopup_month(cd_now()) == month)
        cd_clock_advance(24 * 3600);
    debit(acct, 10);
    v = view(acct);
    assert_string_equal(v.last.state, "pending");
    assert_int_equal(v.month_spent_cents, 2000);
    assert_int_equal(cd_autotopup_month(0), 197001);
}

/* ---- declines ------------------------------------------------------------------ */

static void test_decline_policy(void **state)
{
    char acct[CD_ID_SZ];
    char order1[CD_ID_SZ];
    struct cd_autotopup_view v;
    struct cd_autotopup_attempt a;
    int64_t t0;

    (void)state;
    account_on(acct, 1000, 500, 2000, 100000);
    debit(acct, 600);
    a = view(acct).last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    strcpy(order1, a.order_id);
    t0 = cd_now();
    assert_int_equal(cd_autotopup_declined(&bill, &a, "generic_decline",
                                           "Your card was declined."),
                     0);
    /* the same outcome twice (another pass): counted once */
    assert_int_equal(cd_autotopup_declined(&bill, &a, "generic_decline",
                                           "Your card was declined."),
                     0);
    v = view(acct);
    assert_int_equal(v.s.declines, 1);
    assert_true(v.s.enabled);
    assert_string_equal(v.s.last_decline_code, "generic_decline");
    assert_string_equal(v.last.state, "pending");
    assert_string_equal(v.last.decline_code, "generic_decline");
    assert_in_range(v.last.next_try_at - t0, CD_AUTOTOPUP_RETRY_1_S,
                    CD_AUTOTOPUP_RETRY_1_S + 2);
    /* not due yet; a debit meanwhile starts nothing */
    a = v.last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 0);
    debit(acct, 10);
    assert_int_equal(open_attempts(acct), 1);

    cd_clock_advance(CD_AUTOTOPUP_RETRY_1_S + 1);
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    assert_int_equal(a.tries, 2);
    assert_string_not_equal(a.order_id, order1); /* a new order per try */
    t0 = cd_now();
    assert_int_equal(cd_autotopup_declined(&bill, &a, "insufficient_funds",
                                           "Your card has insufficient "
                                           "funds."),
                     0);
    v = view(acct);
    assert_int_equal(v.s.declines, 2);
    assert_in_range(v.last.next_try_at - t0, CD_AUTOTOPUP_RETRY_2_S,
                    CD_AUTOTOPUP_RETRY_2_S + 2);

    cd_clock_advance(CD_AUTOTOPUP_RETRY_2_S + 1);
    a = v.last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    assert_int_equal(cd_autotopup_declined(&bill, &a, "generic_decline",
                                           "Your card was declined."),
                     0);
    v = view(acct);
    assert_int_equal(v.s.declines, CD_AUTOTOPUP_MAX_DECLINES);
    assert_false(v.s.enabled);
    assert_string_equal(v.last.state, "failed");
    assert_non_null(strstr(v.s.disabled_reason, "3 declines in a row"));
    assert_non_null(strstr(v.s.disabled_reason, "generic_decline"));
    /* off: a debit starts nothing */
    debit(acct, 10);
    assert_int_equal(open_attempts(acct), 0);
    assert_string_equal(view(acct).last.id, a.id);
}

static void test_retry_canceled_when_balance_back(void **state)
{
    char acct[CD_ID_SZ];
    struct cd_autotopup_attempt a;

    (void)state;
    account_on(acct, 1000, 500, 2000, 100000);
    debit(acct, 600);
    a = view(acct).last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    assert_int_equal(
        cd_autotopup_declined(&bill, &a, "generic_decline", "declined"), 0);
    grant(acct, 5000); /* bought meanwhile */
    cd_clock_advance(CD_AUTOTOPUP_RETRY_1_S + 1);
    a = view(acct).last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 0);
    assert_string_equal(view(acct).last.state, "canceled");
    assert_int_equal(view(acct).month_spent_cents, 0);
    /* a failure that will not go away gives up at once */
    debit(acct, 5000);
    a = view(acct).last;
    assert_string_equal(a.state, "pending");
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    assert_int_equal(cd_autotopup_give_up(&bill, &a, "No saved card."), 0);
    assert_false(view(acct).s.enabled);
    assert_string_equal(view(acct).s.disabled_reason, "No saved card.");
}

/* ---- the worker's pass, settling from the order ----------------------------- */

static void order_as(const struct cd_autotopup_attempt *a, const char *status,
                     const char *reason)
{
    struct cd_order o;

    fx_order_init(&o, a->account_id, "topup", a->amount_cents,
                  a->amount_cents);
    strcpy(o.id, a->order_id);
    strcpy(o.status, status);
    strcpy(o.failure_reason, reason);
    strcpy(o.stripe_payment_intent_id, "pi_unit");
    if (strcmp(status, "completed") == 0)
        o.completed_at = cd_now();
    fx_order_insert(bill.store, &o);
}

static void test_pass_settles_from_the_order(void **state)
{
    char acct[CD_ID_SZ];
    struct cd_autotopup_attempt a;
    struct cd_autotopup_view v;

    (void)state;
    account_on(acct, 1000, 500, 2000, 100000);
    debit(acct, 600);
    a = view(acct).last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    /* the payment's webhook failed the order: a decline with its code */
    order_as(&a, "failed", "Your card was declined. (generic_decline)");
    cd_clock_advance(CD_AUTOTOPUP_WAIT_S + 1);
    assert_true(cd_autotopup_pass(&bill) >= 1);
    v = view(acct);
    assert_string_equal(v.last.state, "pending");
    assert_string_equal(v.last.decline_code, "generic_decline");
    assert_string_equal(v.last.failure, "Your card was declined.");
    assert_int_equal(v.s.declines, 1);
    /* the retry's order completed (and credited): succeeded, the count
     * reset */
    cd_clock_advance(CD_AUTOTOPUP_RETRY_1_S + 1);
    a = v.last;
    assert_int_equal(cd_autotopup_claim(&bill, &a), 1);
    order_as(&a, "completed", "");
    grant(acct, 2000);
    cd_clock_advance(CD_AUTOTOPUP_WAIT_S + 1);
    assert_true(cd_autotopup_pass(&bill) >= 1);
    v = view(acct);
    assert_string_equal(v.last.state, "succeeded");
    assert_int_equal(v.s.declines, 0);
    /* a payment that cannot be made (no Stripe here) gives up, says why */
    debit(acct, 2000);
    assert_string_equal(view(acct).last.state, "pending");
    assert_true(cd_autotopup_pass(&bill) >= 1);
    v = view(acct);
    assert_string_equal(v.last.state, "failed");
    assert_false(v.s.enabled);
    assert_non_null(strstr(v.s.disabled_reason, "Stripe is not configured"));
}

/* ---- the settings ---------------------------------------------------------------- */

static void test_settings(void **state)
{
    char acct[CD_ID_SZ];
    struct cd_account a;
    struct cd_autotopup_req r;
    struct cd_autotopup_view v;
    struct cd_error err;
    struct put_job p;

    (void)state;
    fx_new_account(bill.store, acct);
    grant(acct, 1000);
    assert_int_equal(cd_account_get(&bill, acct, &a, &err), 0);
    v = view(acct);
    assert_false(v.configured);
    assert_false(v.has_last);
    memset(&r, 0, sizeof(r));
    r.enabled = 1;
    r.threshold = 500;
    r.amount_cents = 2000;
    r.monthly_cap_cents = 10000;
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), -1);
    assert_string_equal(err.code, "no_saved_payment_method");
    r.enabled = 0;
    r.amount_cents = 2100; /* off the step */
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
    r.amount_cents = 2000;
    r.monthly_cap_cents = 1000;
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), -1);
    assert_string_equal(err.code, "invalid_param");

    memset(&p, 0, sizeof(p));
    strcpy(p.s.account_id, acct);
    p.customer = "cus_unit";
    assert_int_equal(cd_store_write(bill.store, put_fn, &p), 0);
    assert_int_equal(cd_account_get(&bill, acct, &a, &err), 0);
    memset(&r, 0, sizeof(r));
    r.enabled = 1;
    r.threshold = 500;
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), -1);
    assert_string_equal(err.code, "missing_param");
    r.amount_cents = 2000;
    r.monthly_cap_cents = 10000;
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), 0);
    assert_true(v.s.enabled);
    assert_false(v.has_last); /* 1000 is not under 500 */
    /* raised above the balance: starts at once */
    r.threshold = 1500;
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), 0);
    assert_true(v.has_last);
    assert_string_equal(v.last.state, "pending");
    /* off: the waiting attempt is canceled, the amounts kept */
    memset(&r, 0, sizeof(r));
    assert_int_equal(cd_autotopup_put(&bill, &a, &r, &v, &err), 0);
    assert_false(v.s.enabled);
    assert_int_equal(v.s.amount_cents, 2000);
    assert_string_equal(v.last.state, "canceled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_attempt_under_concurrent_debits),
        cmocka_unit_test(test_monthly_cap),
        cmocka_unit_test(test_decline_policy),
        cmocka_unit_test(test_retry_canceled_when_balance_back),
        cmocka_unit_test(test_pass_settles_from_the_order),
        cmocka_unit_test(test_settings),
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
