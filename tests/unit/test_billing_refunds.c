/*
 * test_billing_refunds.c - refunds, disputes and PaymentIntent events
 * applied to a real SQLite store in a temp dir (no Stripe: b->stripe is
 * NULL, so every order is found from the store and the metadata):
 * the refund credit rounding, charge.refunded by cumulative amount (partial
 * then full, duplicates, stale and reordered events, a refund before the
 * completion), dispute hold / release / lost exactly once, and
 * payment_intent.succeeded / .payment_failed on a top-up order (a
 * Checkout order's PaymentIntent is ignored without a write).
 */
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
#include "billing/clawback.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/orders.h"
#include "billing/refunds.h"
#include "billing/topups.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"

static struct store_target target;
static struct cd_billing bill;

/* ---- fixture ------------------------------------------------------------- */

static void new_account(char *id_out)
{
    fx_new_account(bill.store, id_out);
}

/* A pending order; session "" for one paid by its own PaymentIntent. */
static void new_order(const char *account, const char *kind, int64_t amount,
                      int64_t credits, const char *session, const char *pi,
                      struct cd_order *out)
{
    struct cd_order o;

    fx_order_init(&o, account, kind, amount, credits);
    strcpy(o.stripe_session_id, session);
    strcpy(o.stripe_payment_intent_id, pi);
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

static int64_t balance_of(const char *id)
{
    struct acct_read r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    assert_int_equal(cd_store_read(bill.store, read_account, &r), 0);
    return r.a.balance;
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

static struct cd_payment payment_now(const char *order_id)
{
    struct pay_read r;

    memset(&r, 0, sizeof(r));
    r.order_id = order_id;
    assert_int_equal(cd_store_read(bill.store, read_payment, &r), 0);
    return r.p;
}

static uint64_t jobs_run(void)
{
    struct cd_store_stats st;

    cd_store_get_stats(bill.store, &st);
    return st.jobs;
}

/* Applies an event (type, object stolen) with a fresh id, or evt_id. */
static const char *apply(const char *type, json_t *obj, const char *evt_id)
{
    char id[64];
    const char *status = NULL;
    struct cd_error err;
    json_t *ev;

    if (!evt_id) {
        cd_random_id("evt_", id, sizeof(id));
        evt_id = id;
    }
    ev = json_pack("{s:s, s:s, s:s, s:{s:o}}", "id", evt_id, "object",
                   "event", "type", type, "data", "object", obj);
    assert_non_null(ev);
    cd_error_clear(&err);
    if (cd_webhook_apply(&bill, ev, &status, &err) != 0)
        fail_msg("%s: %s %s", type, err.code, err.message);
    json_decref(ev);
    assert_non_null(status);
    return status;
}

/* A Checkout order of this kind, amount / credits, completed. */
static void paid_kind(const char *acct, const char *kind, int64_t amount,
                      int64_t credits, const char *pi, struct cd_order *o)
{
    char sid[64];

    cd_random_id("cs_test_", sid, sizeof(sid));
    new_order(acct, kind, amount, credits, sid, "", o);
    assert_string_equal(
        apply("checkout.session.completed",
              json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, "
                        "s:{s:s, s:s}}",
                        "id", sid, "object", "checkout.session", "mode",
                        "payment", "status", "complete", "payment_status",
                        "paid", "amount_total", (json_int_t)amount,
                        "currency", "usd", "payment_intent", pi,
                        "client_reference_id", o->id, "metadata",
                        "account_id", acct, "order_id", o->id),
              NULL),
        CD_WEBHOOK_PROCESSED);
}

/* A package order of amount / credits, completed: returns the order. */
static void paid_checkout(const char *acct, int64_t amount, int64_t credits,
                          const char *pi, struct cd_order *o)
{
    paid_kind(acct, "package", amount, credits, pi, o);
}

static json_t *charge(const char *ch, const char *pi, const char *order_id,
                      int64_t amount, int64_t refunded)
{
    json_t *c = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:b}", "id", ch,
                          "object", "charge", "amount", (json_int_t)amount,
                          "amount_refunded", (json_int_t)refunded, "currency",
                          "usd", "payment_intent", pi, "refunded",
                          refunded >= amount);

    json_object_set_new(c, "metadata",
                        order_id ? json_pack("{s:s}", "order_id", order_id)
                                 : json_object());
    return c;
}

static json_t *dispute_of(const char *dp, const char *ch, const char *pi,
                          int64_t amount, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id", dp,
                     "object", "dispute", "charge", ch, "payment_intent", pi,
                     "amount", (json_int_t)amount, "currency", "usd",
                     "status", status);
}

static json_t *dispute(const char *dp, const char *ch, const char *pi,
                       const char *status)
{
    return dispute_of(dp, ch, pi, 1000, status);
}

static json_t *refund_obj(const char *re, const char *ch, const char *pi,
                          int64_t amount, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:{}}", "id", re,
                     "object", "refund", "charge", ch, "payment_intent", pi,
                     "amount", (json_int_t)amount, "currency", "usd",
                     "status", status, "metadata");
}

/* ---- tests --------------------------------------------------------------- */

static void test_credit_rounding(void **state)
{
    (void)state;
    assert_int_equal(cd_clawback_credits_at(1000, 0, 1000), 0);
    assert_int_equal(cd_clawback_credits_at(1000, 400, 1000), 400);
    assert_int_equal(cd_clawback_credits_at(1000, 1000, 1000), 1000);
    /* $50 -> 5,500 credits: 1 cent back takes floor(1.1) = 1 */
    assert_int_equal(cd_clawback_credits_at(5500, 1, 5000), 1);
    assert_int_equal(cd_clawback_credits_at(5500, 3, 5000), 3);
    assert_int_equal(cd_clawback_credits_at(5500, 2500, 5000), 2750);
    assert_int_equal(cd_clawback_credits_at(5500, 5000, 5000), 5500);
    /* floor: 3 credits for 7 cents, 1 cent back -> 0 */
    assert_int_equal(cd_clawback_credits_at(3, 1, 7), 0);
    assert_int_equal(cd_clawback_credits_at(3, 5, 7), 2);
    assert_int_equal(cd_clawback_credits_at(3, 7, 7), 3);
    /* no 64-bit overflow at the bounds */
    assert_int_equal(cd_clawback_credits_at(CD_AMOUNT_MAX, CD_AMOUNT_MAX - 1,
                                            CD_AMOUNT_MAX),
                     CD_AMOUNT_MAX - 1);
    assert_int_equal(cd_clawback_credits_at(INT64_C(1) << 61, 1, 2),
                     INT64_C(1) << 60);
    /* out of range levels */
    assert_int_equal(cd_clawback_credits_at(1000, -5, 1000), 0);
    assert_int_equal(cd_clawback_credits_at(1000, 2000, 1000), 1000);
    assert_int_equal(cd_clawback_credits_at(1000, 10, 0), 0);
}

static void test_partial_then_full(void **state)
{
    char acct[64], ev1[64];
    struct cd_order o;
    struct cd_payment p;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 5000, 5500, "pi_unit_pf", &o);
    assert_int_equal(balance_of(acct), 5500);

    /* 25 % refunded: 1,375 credits; the same event again: duplicate */
    cd_random_id("evt_", ev1, sizeof(ev1));
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pf", "pi_unit_pf", NULL, 5000, 1250), ev1),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pf", "pi_unit_pf", NULL, 5000, 1250), ev1),
        CD_WEBHOOK_DUPLICATE);
    assert_int_equal(balance_of(acct), 5500 - 1375);
    assert_string_equal(order_now(o.id).status, "partially_refunded");
    p = payment_now(o.id);
    assert_string_equal(p.status, "partially_refunded");
    assert_int_equal(p.amount_refunded_cents, 1250);
    assert_string_equal(p.stripe_charge_id, "ch_unit_pf");
    assert_true(p.refunded_at > 0);

    /* another event id at the same level: nothing more */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pf", "pi_unit_pf", NULL, 5000, 1250), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 5500 - 1375);

    /* full: takes exactly the rest */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pf", "pi_unit_pf", NULL, 5000, 5000), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "refunded");
    assert_string_equal(payment_now(o.id).status, "refunded");

    /* the older, stale level afterwards changes nothing */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pf", "pi_unit_pf", NULL, 5000, 1250), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "refunded");
}

static json_t *session_completed(const char *sid, const char *acct,
                                 const struct cd_order *o, const char *pi)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:{s:s, "
                     "s:s}}",
                     "id", sid, "object", "checkout.session", "mode",
                     "payment", "status", "complete", "payment_status",
                     "paid", "amount_total", (json_int_t)o->amount_cents,
                     "currency", "usd", "payment_intent", pi, "metadata",
                     "account_id", acct, "order_id", o->id);
}

static void test_refund_before_completion(void **state)
{
    char acct[64], sid[64];
    struct cd_order o;

    (void)state;
    new_account(acct);
    cd_random_id("cs_test_", sid, sizeof(sid));
    new_order(acct, "topup", 1000, 1000, sid, "", &o);
    /* found through the charge's metadata.order_id */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_early", "pi_unit_early", o.id, 1000, 1000),
              NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(order_now(o.id).status, "refunded");
    assert_int_equal(balance_of(acct), 0);
    /* the completion credits and the same job takes it all back */
    assert_string_equal(
        apply("checkout.session.completed",
              session_completed(sid, acct, &o, "pi_unit_early"), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "refunded");
    assert_int_equal(order_now(o.id).clawback_credits, 1000);

    /* a charge of another amount than the order's is not applied */
    new_order(acct, "topup", 2000, 2000, "", "pi_unit_amt", &o);
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_amt", "pi_unit_amt", NULL, 999, 999), NULL),
        CD_WEBHOOK_IGNORED);
    assert_string_equal(order_now(o.id).status, "pending");
}

/* The example: $50 for 5,500 credits, $12.50 refunded before the
 * completion arrives: 4,125 credits stay, not 0. */
static void test_partial_refund_before_completion(void **state)
{
    char acct[64], sid[64];
    struct cd_order o;

    (void)state;
    new_account(acct);
    cd_random_id("cs_test_", sid, sizeof(sid));
    new_order(acct, "package", 5000, 5500, sid, "", &o);
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_pre", "pi_unit_pre", o.id, 5000, 1250), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "partially_refunded");
    assert_string_equal(apply("checkout.session.completed",
                              session_completed(sid, acct, &o, "pi_unit_pre"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 4125);
    assert_string_equal(order_now(o.id).status, "partially_refunded");
    /* a repeat of the completion changes nothing */
    assert_string_equal(apply("checkout.session.completed",
                              session_completed(sid, acct, &o, "pi_unit_pre"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 4125);
}

/* A dispute opened and won before the completion: all credits stay. */
static void test_dispute_won_before_completion(void **state)
{
    char acct[64], sid[64];
    struct cd_order o;

    (void)state;
    new_account(acct);
    cd_random_id("cs_test_", sid, sizeof(sid));
    new_order(acct, "package", 5000, 5500, sid, "pi_unit_dwb", &o);
    assert_string_equal(
        apply("charge.dispute.created",
              dispute_of("dp_unit_dwb", "ch_unit_dwb", "pi_unit_dwb", 5000,
                         "needs_response"),
              NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(order_now(o.id).status, "disputed");
    assert_string_equal(apply("charge.dispute.closed",
                              dispute_of("dp_unit_dwb", "ch_unit_dwb",
                                         "pi_unit_dwb", 5000, "won"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(order_now(o.id).status, "pending");
    assert_string_equal(apply("checkout.session.completed",
                              session_completed(sid, acct, &o, "pi_unit_dwb"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 5500);
    assert_string_equal(order_now(o.id).status, "completed");
}

/* One clawback figure: $5 refunded and the other $5 disputed and lost,
 * the refund's event arriving after the dispute's: 1,000 taken, not
 * 1,500; and a $3 dispute of a $10 charge, lost, holds 300, not 1,000. */
static void test_one_clawback_figure(void **state)
{
    char acct[64];
    struct cd_order o, o2;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 1000, 1000, "pi_unit_rd", &o);
    assert_string_equal(apply("charge.dispute.created",
                              dispute_of("dp_unit_rd", "ch_unit_rd",
                                         "pi_unit_rd", 500, "needs_response"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 500);
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_rd", "pi_unit_rd", NULL, 1000, 500), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(apply("charge.dispute.closed",
                              dispute_of("dp_unit_rd", "ch_unit_rd",
                                         "pi_unit_rd", 500, "lost"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_int_equal(order_now(o.id).clawback_credits, 1000);

    paid_checkout(acct, 1000, 1000, "pi_unit_pd", &o2);
    assert_string_equal(apply("charge.dispute.closed",
                              dispute_of("dp_unit_pd", "ch_unit_pd",
                                         "pi_unit_pd", 300, "lost"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 700);
    assert_string_equal(order_now(o2.id).status, "disputed");
}

/* refund.* events: a refund that later fails gives back what it took;
 * its events in any order end at the newest state. */
static void test_refund_events_and_failure(void **state)
{
    char acct[64];
    struct cd_order o;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 1000, 1000, "pi_unit_rf", &o);
    assert_string_equal(apply("refund.created",
                              refund_obj("re_unit_rf1", "ch_unit_rf",
                                         "pi_unit_rf", 400, "pending"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 600);
    assert_string_equal(order_now(o.id).status, "partially_refunded");
    /* charge.refunded at 400 is the same refund: nothing more */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_rf", "pi_unit_rf", NULL, 1000, 400), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 600);
    /* it fails: 400 come back; a late "succeeded" does not undo that */
    assert_string_equal(apply("charge.refund.updated",
                              refund_obj("re_unit_rf1", "ch_unit_rf",
                                         "pi_unit_rf", 400, "failed"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 1000);
    assert_string_equal(order_now(o.id).status, "completed");
    assert_string_equal(apply("refund.updated",
                              refund_obj("re_unit_rf1", "ch_unit_rf",
                                         "pi_unit_rf", 400, "succeeded"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 1000);
    /* a second refund of 300 after that: charge level 300, the failed
     * 400 no longer counts */
    assert_string_equal(apply("refund.created",
                              refund_obj("re_unit_rf2", "ch_unit_rf",
                                         "pi_unit_rf", 300, "succeeded"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_rf", "pi_unit_rf", NULL, 1000, 300), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 700);
    assert_int_equal(payment_now(o.id).amount_refunded_cents, 300);
}

/* A refund or dispute whose currency is not its order's: its amount is
 * in other units. A refund is not applied (as charge.refunded); a dispute
 * holds the whole order (its share cannot be compared). */
static void test_currency_mismatch(void **state)
{
    char acct[64];
    struct cd_order o;
    json_t *r, *d;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 1000, 1000, "pi_unit_cur", &o);
    r = refund_obj("re_unit_cur", "ch_unit_cur", "pi_unit_cur", 900,
                   "succeeded");
    json_object_set_new(r, "currency", json_string("jpy"));
    assert_string_equal(apply("refund.created", r, NULL), CD_WEBHOOK_IGNORED);
    assert_int_equal(balance_of(acct), 1000);
    assert_string_equal(order_now(o.id).status, "completed");
    /* a dispute of 10 (yen) holds the whole order, not a hundredth */
    d = dispute_of("dp_unit_cur", "ch_unit_cur", "pi_unit_cur", 10,
                   "needs_response");
    json_object_set_new(d, "currency", json_string("jpy"));
    assert_string_equal(apply("charge.dispute.created", d, NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "disputed");
}

/* A PaymentIntent's declined first charge, then a card that pays: an
 * event about the failed charge (charge.updated) must not become the
 * payment's charge or card, or the refund of the charge that paid would
 * be taken for another charge's and ignored. */
static void test_failed_charge_event(void **state)
{
    char acct[64];
    struct cd_order o;
    struct cd_payment p;
    json_t *c;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 1000, 1000, "pi_unit_fc", &o);
    c = json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:{s:s}}}", "id",
                  "ch_unit_fc1", "object", "charge", "payment_intent",
                  "pi_unit_fc", "status", "failed", "paid", 0,
                  "payment_method_details", "card", "last4", "0002");
    assert_string_equal(apply("charge.updated", c, NULL), CD_WEBHOOK_IGNORED);
    p = payment_now(o.id);
    assert_string_equal(p.stripe_charge_id, "");
    assert_string_equal(p.last4, "");
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_fc2", "pi_unit_fc", NULL, 1000, 1000), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "refunded");
}

static void test_not_ours_no_write(void **state)
{
    uint64_t before = jobs_run();

    (void)state;
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_foreign", "pi_unit_foreign", NULL, 1000, 1000),
              NULL),
        CD_WEBHOOK_IGNORED);
    assert_string_equal(apply("charge.dispute.created",
                              dispute("dp_unit_foreign", "ch_unit_foreign",
                                      "pi_unit_foreign", "needs_response"),
                              NULL),
                        CD_WEBHOOK_IGNORED);
    assert_string_equal(
        apply("payment_intent.succeeded",
              json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", "pi_unit_foreign",
                        "object", "payment_intent", "amount",
                        (json_int_t)1000, "currency", "usd", "status",
                        "succeeded"),
              NULL),
        CD_WEBHOOK_IGNORED);
    assert_true(jobs_run() == before);
}

static struct cd_account account_now(const char *id)
{
    struct acct_read r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    assert_int_equal(cd_store_read(bill.store, read_account, &r), 0);
    return r.a;
}

/* Access follows the clawback: granted by a paid access order, kept by a
 * partial refund, gone while refunds and disputes hold the whole amount,
 * back when a dispute is won; a package never grants it. */
static void test_access_entitlement(void **state)
{
    char acct[64];
    struct cd_order pkg, a1, a2;
    struct cd_account a;

    (void)state;
    new_account(acct);
    assert_string_equal(account_now(acct).access_order_id, "");
    paid_checkout(acct, 1000, 1100, "pi_unit_ax0", &pkg);
    assert_string_equal(account_now(acct).access_order_id, "");

    paid_kind(acct, "access", 1000, 1000, "pi_unit_ax1", &a1);
    a = account_now(acct);
    assert_string_equal(a.access_order_id, a1.id);
    assert_int_equal(a.access_since, order_now(a1.id).completed_at);
    assert_true(a.access_since > 0);

    /* 30 % refunded: access stays */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_ax1", "pi_unit_ax1", NULL, 1000, 300), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(account_now(acct).access_order_id, a1.id);
    /* the other 70 % disputed (open): the whole amount is held - gone */
    assert_string_equal(
        apply("charge.dispute.created",
              dispute_of("dp_unit_ax1", "ch_unit_ax1", "pi_unit_ax1", 700,
                         "needs_response"),
              NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(account_now(acct).access_order_id, "");
    /* won: back, with its first date */
    assert_string_equal(apply("charge.dispute.closed",
                              dispute_of("dp_unit_ax1", "ch_unit_ax1",
                                         "pi_unit_ax1", 700, "won"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    a = account_now(acct);
    assert_string_equal(a.access_order_id, a1.id);
    assert_int_equal(a.access_since, order_now(a1.id).completed_at);
    /* refunded in full: gone for good */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_ax1", "pi_unit_ax1", NULL, 1000, 1000), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(account_now(acct).access_order_id, "");
    assert_string_equal(order_now(a1.id).status, "refunded");

    /* bought again: the new order grants it; a lost dispute of all of it
     * takes it */
    paid_kind(acct, "access", 2000, 2000, "pi_unit_ax2", &a2);
    assert_string_equal(account_now(acct).access_order_id, a2.id);
    assert_string_equal(apply("charge.dispute.closed",
                              dispute_of("dp_unit_ax2", "ch_unit_ax2",
                                         "pi_unit_ax2", 2000, "lost"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(account_now(acct).access_order_id, "");
    assert_int_equal(balance_of(acct), 1100);
}

static void test_dispute_won_and_lost(void **state)
{
    char acct[64], ev[64];
    struct cd_order o, o2;

    (void)state;
    new_account(acct);
    paid_checkout(acct, 1000, 1000, "pi_unit_dw", &o);
    /* 30 % refunded first: the hold is what is left (700) */
    assert_string_equal(
        apply("charge.refunded",
              charge("ch_unit_dw", "pi_unit_dw", NULL, 1000, 300), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 700);
    cd_random_id("evt_", ev, sizeof(ev));
    assert_string_equal(apply("charge.dispute.created",
                              dispute("dp_unit_w", "ch_unit_dw", "pi_unit_dw",
                                      "needs_response"),
                              ev),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(apply("charge.dispute.created",
                              dispute("dp_unit_w", "ch_unit_dw", "pi_unit_dw",
                                      "needs_response"),
                              ev),
                        CD_WEBHOOK_DUPLICATE);
    assert_string_equal(apply("charge.dispute.created",
                              dispute("dp_unit_w", "ch_unit_dw", "pi_unit_dw",
                                      "needs_response"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 0);
    assert_string_equal(order_now(o.id).status, "disputed");
    assert_string_equal(payment_now(o.id).status, "disputed");

    assert_string_equal(
        apply("charge.dispute.closed",
              dispute("dp_unit_w", "ch_unit_dw", "pi_unit_dw", "won"), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(
        apply("charge.dispute.closed",
              dispute("dp_unit_w", "ch_unit_dw", "pi_unit_dw", "won"), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 700);
    assert_string_equal(order_now(o.id).status, "partially_refunded");
    assert_string_equal(payment_now(o.id).status, "partially_refunded");

    /* lost: the hold stays; a lost close without a created event holds
     * (its 1,000 of the 2,000 charge: half the credits) */
    paid_checkout(acct, 2000, 2000, "pi_unit_dl", &o2);
    assert_int_equal(balance_of(acct), 2700);
    assert_string_equal(
        apply("charge.dispute.closed",
              dispute("dp_unit_l", "ch_unit_dl", "pi_unit_dl", "lost"), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 1700);
    /* a late created, or another status, never reopens a closed one */
    assert_string_equal(apply("charge.dispute.created",
                              dispute("dp_unit_l", "ch_unit_dl", "pi_unit_dl",
                                      "needs_response"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_string_equal(apply("charge.dispute.closed",
                              dispute("dp_unit_l", "ch_unit_dl", "pi_unit_dl",
                                      "under_review"),
                              NULL),
                        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 1700);
    assert_string_equal(order_now(o2.id).status, "disputed");
}

static json_t *pi_obj(const char *pi, const struct cd_order *o,
                      const char *acct, int64_t amount, const char *status)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:I, s:s, s:s, s:n, s:{s:s, s:s, s:s}, s:s}", "id",
        pi, "object", "payment_intent", "amount", (json_int_t)amount,
        "amount_received",
        (json_int_t)(strcmp(status, "succeeded") == 0 ? amount : 0),
        "currency", "usd", "status", status, "setup_future_usage", "metadata",
        "order_id", o->id, "account_id", acct, "kind", o->kind,
        "latest_charge", "ch_unit_pi");

    if (strcmp(status, "requires_payment_method") == 0)
        json_object_set_new(j, "last_payment_error",
                            json_pack("{s:s, s:s, s:s}", "code",
                                      "card_declined", "decline_code",
                                      "insufficient_funds", "message",
                                      "Your card has insufficient funds."));
    return j;
}

static void test_payment_intent_events(void **state)
{
    char acct[64], ev[64], sid[64];
    struct cd_order o, co;
    struct cd_payment p;
    uint64_t before;

    (void)state;
    new_account(acct);
    new_order(acct, "topup", 2000, 2000, "", "pi_unit_t1", &o);

    /* a failed attempt fails the order and records why */
    assert_string_equal(
        apply("payment_intent.payment_failed",
              pi_obj("pi_unit_t1", &o, acct, 2000, "requires_payment_method"),
              NULL),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(order_now(o.id).status, "failed");
    p = payment_now(o.id);
    assert_string_equal(p.status, "failed");
    assert_non_null(strstr(p.failure_reason, "insufficient_funds"));

    /* then it succeeds: credited once, the payment row follows */
    cd_random_id("evt_", ev, sizeof(ev));
    assert_string_equal(
        apply("payment_intent.succeeded",
              pi_obj("pi_unit_t1", &o, acct, 2000, "succeeded"), ev),
        CD_WEBHOOK_PROCESSED);
    assert_string_equal(
        apply("payment_intent.succeeded",
              pi_obj("pi_unit_t1", &o, acct, 2000, "succeeded"), ev),
        CD_WEBHOOK_DUPLICATE);
    assert_string_equal(
        apply("payment_intent.succeeded",
              pi_obj("pi_unit_t1", &o, acct, 2000, "succeeded"), NULL),
        CD_WEBHOOK_PROCESSED);
    assert_int_equal(balance_of(acct), 2000);
    assert_string_equal(order_now(o.id).status, "completed");
    p = payment_now(o.id);
    assert_string_equal(p.status, "succeeded");
    assert_string_equal(p.stripe_charge_id, "ch_unit_pi");
    assert_string_equal(p.failure_reason, "");

    /* a late failure of the same intent does not undo it */
    assert_string_equal(
        apply("payment_intent.payment_failed",
              pi_obj("pi_unit_t1", &o, acct, 2000, "requires_payment_method"),
              NULL),
        CD_WEBHOOK_IGNORED);
    assert_string_equal(order_now(o.id).status, "completed");

    /* reconciliation: the intent as it is now (type NULL) */
    new_order(acct, "payment_intent", 700, 700, "", "pi_unit_t2", &o);
    {
        const char *st = NULL;
        struct cd_error err;
        json_t *pi = pi_obj("pi_unit_t2", &o, acct, 700, "succeeded");
        assert_int_equal(
            cd_topup_on_payment_intent(&bill, NULL, NULL, pi, &st, &err), 0);
        json_decref(pi);
        assert_string_equal(st, CD_WEBHOOK_PROCESSED);
    }
    assert_int_equal(balance_of(acct), 2700);

    /* a wrong amount does not credit */
    new_order(acct, "topup", 1000, 1000, "", "pi_unit_t3", &o);
    assert_string_equal(
        apply("payment_intent.succeeded",
              pi_obj("pi_unit_t3", &o, acct, 999, "succeeded"), NULL),
        CD_WEBHOOK_IGNORED);
    assert_string_equal(order_now(o.id).status, "pending");

    /* a Checkout order's PaymentIntent: Checkout's, no write at all */
    cd_random_id("cs_test_", sid, sizeof(sid));
    new_order(acct, "topup", 1000, 1000, sid, "", &co);
    before = jobs_run();
    assert_string_equal(
        apply("payment_intent.succeeded",
              pi_obj("pi_unit_co", &co, acct, 1000, "succeeded"), NULL),
        CD_WEBHOOK_IGNORED);
    assert_string_equal(apply("payment_intent.payment_failed",
                              pi_obj("pi_unit_co", &co, acct, 1000,
                                     "requires_payment_method"),
                              NULL),
                        CD_WEBHOOK_IGNORED);
    assert_true(jobs_run() == before);
    assert_string_equal(order_now(co.id).status, "pending");
    assert_int_equal(balance_of(acct), 2700);
}

static void test_refund_create_refusals(void **state)
{
    struct cd_refund_result res;
    struct cd_error err;

    (void)state;
    /* no Stripe: 503 before anything is read */
    assert_int_equal(cd_refund_create(&bill, "ord_x", 0, NULL, &res, &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_UNAVAILABLE);
    assert_string_equal(err.code, "stripe_not_configured");
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, 0, "cd_refunds", 0);
    assert_non_null(bill.store);
    strcpy(bill.cfg.currency, "usd");
    strcpy(bill.cfg.webhook_secrets, "whsec_unit_refunds");
    bill.cfg.webhook_tolerance = 300;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_target_close(&target, bill.store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_rounding),
        cmocka_unit_test(test_partial_then_full),
        cmocka_unit_test(test_refund_before_completion),
        cmocka_unit_test(test_partial_refund_before_completion),
        cmocka_unit_test(test_dispute_won_before_completion),
        cmocka_unit_test(test_one_clawback_figure),
        cmocka_unit_test(test_refund_events_and_failure),
        cmocka_unit_test(test_currency_mismatch),
        cmocka_unit_test(test_failed_charge_event),
        cmocka_unit_test(test_not_ours_no_write),
        cmocka_unit_test(test_dispute_won_and_lost),
        cmocka_unit_test(test_access_entitlement),
        cmocka_unit_test(test_payment_intent_events),
        cmocka_unit_test(test_refund_create_refusals),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, setup, teardown);
}
