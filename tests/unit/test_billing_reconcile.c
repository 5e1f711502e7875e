/*
 * test_billing_reconcile.c - reconciliation against a real SQLite store in
 * a temp dir and a small fake of the Stripe endpoints it reads (GET
 * /v1/events with types[], limit, ending_before and starting_after, newest
 * first; GET /v1/checkout/sessions/{id}; GET /v1/payment_intents/{id}),
 * served in-process by libmicrohttpd:
 *   - first run without a cursor reads back, applies oldest first, stores
 *     the cursor; a second run applies nothing; 251 new events are read
 *     forward in 3 pages;
 *   - pending orders: paid -> completed (credited once), expired ->
 *     expired, open and unknown sessions stay pending, an order with no
 *     session for over an hour -> failed, a young order is not asked about;
 *   - such an order naming a customer whose PaymentIntents at Stripe hold
 *     one of it that succeeded -> completed (credited once), processing
 *     -> pending, none or declined -> failed;
 *   - pending orders with their own PaymentIntent: succeeded -> completed
 *     once, canceled -> failed, still open stays pending;
 *   - a cursor Stripe no longer knows falls back to reading back;
 *   - Stripe failing -> 502, Stripe not configured -> 503.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "billing/billing.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/ledger_ops.h"
#include "billing/orders.h"
#include "billing/reconcile.h"
#include "util/log.h"
#include "util/util.h"

#include "store_target.h"

#include "fake_stripe.h"

/* ---- the fake Stripe ----------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    json_t *events;   /* chronological, oldest first */
    json_t *sessions; /* id -> session */
    int fail_events;  /* answer 500 to GET /v1/events */
    int event_calls;
    int session_calls;
    char last_ending_before[128];
    int used_starting_after;
    int saw_types;
    int list_calls; /* GET /v1/payment_intents (a customer's list) */
} fake = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0, 0, "", 0, 0, 0};

static struct MHD_Daemon *daemon_h;
static char base_url[64];
static struct store_target target;
static struct cd_billing bill;

static json_t *stripe_error(const char *code, const char *msg)
{
    return json_pack("{s:{s:s, s:s, s:s}}", "error", "type",
                     "invalid_request_error", "code", code, "message", msg);
}

static long find_event(const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(
        fake.events, i,
        e) if (strcmp(json_string_value(json_object_get(e, "id")), id) ==
               0) return (long)i;
    return -1;
}

static int type_wanted(struct MHD_Connection *c, const char *type)
{
    char key[32];
    const char *t;
    int any = 0;

    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "types[%d]", i);
        if (!(t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key)))
            break;
        any = 1;
        if (strcmp(t, type) == 0)
            return 1;
    }
    return !any;
}

/* Stripe's list semantics, newest first. Called with fake.mu held. */
static enum MHD_Result list_events(struct MHD_Connection *c)
{
    const char *before = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                     "ending_before");
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                    "starting_after");
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                  "limit");
    long n = (long)json_array_size(fake.events), anchor = -1, limit = 10;
    json_t *data = json_array(), *tmp;
    int more = 0;

    fake.event_calls++;
    if (MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "types[0]"))
        fake.saw_types = 1;
    if (lim)
        limit = atol(lim);
    if (fake.fail_events) {
        json_decref(data);
        return fs_reply(c, 500, stripe_error("api_error", "boom"));
    }
    if (before) {
        snprintf(fake.last_ending_before, sizeof(fake.last_ending_before),
                 "%s", before);
        anchor = find_event(before);
    } else if (after) {
        fake.used_starting_after = 1;
        anchor = find_event(after);
    }
    if ((before || after) && anchor < 0) {
        json_decref(data);
        return fs_reply(c, 400,
                        stripe_error("resource_missing", "No such event"));
    }
    if (before) {
        tmp = json_array();
        for (long i = anchor + 1; i < n; i++) {
            json_t *e = json_array_get(fake.events, (size_t)i);

            if (!type_wanted(c,
                             json_string_value(json_object_get(e, "type"))))
                continue;
            if ((long)json_array_size(tmp) == limit) {
                more = 1;
                break;
            }
            json_array_append(tmp, e);
        }
        for (size_t j = json_array_size(tmp); j-- > 0;)
            json_array_append(data, json_array_get(tmp, j));
        json_decref(tmp);
    } else {
        for (long i = after ? anchor - 1 : n - 1; i >= 0; i--) {
            json_t *e = json_array_get(fake.events, (size_t)i);

            if (!type_wanted(c,
                             json_string_value(json_object_get(e, "type"))))
                continue;
            if ((long)json_array_size(data) == limit) {
                more = 1;
                break;
            }
            json_array_append(data, e);
        }
    }
    return fs_reply(c, 200,
                    json_pack("{s:s, s:o, s:b, s:s}", "object", "list",
                              "data", data, "has_more", more, "url",
                              "/v1/events"));
}

/* GET /v1/payment_intents?customer=: the map's PaymentIntents of that
 * customer. Called with fake.mu held. */
static enum MHD_Result list_intents(struct MHD_Connection *c)
{
    const char *cus = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                  "customer");
    json_t *data = json_array(), *v;
    const char *k, *vc;

    fake.list_calls++;
    json_object_foreach(fake.sessions, k, v)
    {
        vc = json_string_value(json_object_get(v, "customer"));
        if (strncmp(k, "pi_", 3) == 0 && cus && vc && strcmp(vc, cus) == 0)
            json_array_append(data, v);
    }
    return fs_reply(c, 200,
                    json_pack("{s:s, s:o, s:b}", "object", "list", "data",
                              data, "has_more", 0));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    enum MHD_Result ret;
    json_t *s;

    (void)cls;
    (void)version;
    (void)upload;
    if (!*con_cls) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fake.mu);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/events") == 0) {
        ret = list_events(c);
    } else if (strcmp(method, "GET") == 0 &&
               strncmp(url, "/v1/checkout/sessions/", 22) == 0) {
        fake.session_calls++;
        s = json_object_get(fake.sessions, url + 22);
        ret = s ? fs_reply(c, 200, json_deep_copy(s))
                : fs_reply(c, 404,
                           stripe_error("resource_missing",
                                        "No such checkout.session"));
    } else if (strcmp(method, "GET") == 0 &&
               strcmp(url, "/v1/payment_intents") == 0) {
        /* the customer's list (one page): every pi_ of the sessions map
         * naming that customer */
        ret = list_intents(c);
    } else if (strcmp(method, "GET") == 0 &&
               strncmp(url, "/v1/payment_intents/", 20) == 0) {
        /* PaymentIntents share the sessions map (pi_ ids). */
        s = json_object_get(fake.sessions, url + 20);
        ret = s ? fs_reply(c, 200, json_deep_copy(s))
                : fs_reply(c, 404,
                           stripe_error("resource_missing",
                                        "No such payment_intent"));
    } else {
        ret = fs_reply(c, 404,
                       stripe_error("resource_missing", "No such path"));
    }
    pthread_mutex_unlock(&fake.mu);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    *con_cls = NULL;
}

/* ---- fixture ------------------------------------------------------------- */

static int job_insert_account(struct cd_tx *tx, void *arg)
{
    return cd_store_account_insert(tx, arg);
}

static int job_insert_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_insert(tx, arg);
}

static int job_put_cursor(struct cd_tx *tx, void *arg)
{
    return cd_store_kv_put(tx, CD_RECONCILE_CURSOR_KEY, arg, cd_now());
}

struct cursor_read {
    char v[CD_KV_VALUE_SZ];
    int rc;
};

static int job_get_cursor(struct cd_tx *tx, void *arg)
{
    struct cursor_read *r = arg;

    r->rc = cd_store_kv_get(tx, CD_RECONCILE_CURSOR_KEY, r->v, sizeof(r->v));
    return 0;
}

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    daemon_h = fs_start(handler, on_done, base_url, sizeof(base_url));
    assert_non_null(daemon_h);
    fake.events = json_array();
    fake.sessions = json_object();
    fake.fail_events = fake.event_calls = fake.session_calls = 0;
    fake.list_calls = 0;
    fake.used_starting_after = fake.saw_types = 0;
    fake.last_ending_before[0] = '\0';

    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, 0, "cd_reconcile", 0);
    assert_non_null(bill.store);
    strcpy(bill.cfg.currency, "usd");
    bill.stripe = fs_client(base_url, "sk_test_unit_reconcile");
    assert_non_null(bill.stripe);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_stripe_client_free(bill.stripe);
    store_target_close(&target, bill.store);
    MHD_stop_daemon(daemon_h);
    json_decref(fake.events);
    json_decref(fake.sessions);
    return 0;
}

static void new_account(char *id_out)
{
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    cd_random_id("acct_", a.id, sizeof(a.id));
    snprintf(a.email, sizeof(a.email), "u%.30s@example.com", a.id + 5);
    for (char *p = a.email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    strcpy(a.password_hash, "x");
    a.created_at = cd_now();
    assert_int_equal(cd_store_write(bill.store, job_insert_account, &a), 0);
    strcpy(id_out, a.id);
}

/* A pending top-up order of `amount` cents created `age` seconds ago;
 * session "" for none. */
static void new_order(const char *account, int64_t amount, int64_t age,
                      const char *session, struct cd_order *out)
{
    struct cd_order o;

    memset(&o, 0, sizeof(o));
    cd_random_id("ord_", o.id, sizeof(o.id));
    strcpy(o.account_id, account);
    strcpy(o.kind, "topup");
    strcpy(o.status, "pending");
    o.amount_cents = o.credits = amount;
    strcpy(o.currency, "usd");
    strcpy(o.description, "unit order");
    strcpy(o.stripe_session_id, session);
    o.created_at = o.updated_at = cd_now() - age;
    assert_int_equal(cd_store_write(bill.store, job_insert_order, &o), 0);
    *out = o;
}

/* The session Stripe holds for order o (status: open|complete|expired). */
static json_t *session_for(const struct cd_order *o, const char *sid,
                           const char *status, const char *payment_status)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:{s:s, s:s}}", "id", sid,
        "object", "checkout.session", "mode", "payment", "status", status,
        "payment_status", payment_status, "amount_total",
        (json_int_t)o->amount_cents, "currency", "usd", "client_reference_id",
        o->id, "metadata", "order_id", o->id, "account_id", o->account_id);
}

static void add_session(json_t *s)
{
    pthread_mutex_lock(&fake.mu);
    json_object_set(fake.sessions,
                    json_string_value(json_object_get(s, "id")), s);
    pthread_mutex_unlock(&fake.mu);
}

/* Appends an event (steals obj). */
static void add_event(const char *type, json_t *obj, char *id_out)
{
    char id[64];

    cd_random_id("evt_", id, sizeof(id));
    pthread_mutex_lock(&fake.mu);
    json_array_append_new(
        fake.events, json_pack("{s:s, s:s, s:s, s:I, s:{s:o}}", "id", id,
                               "object", "event", "type", type, "created",
                               (json_int_t)cd_now(), "data", "object", obj));
    pthread_mutex_unlock(&fake.mu);
    if (id_out)
        strcpy(id_out, id);
}

static const char *order_status(const char *id)
{
    static struct cd_order o;

    assert_int_equal(cd_order_get(&bill, id, &o), CD_STORE_OK);
    return o.status;
}

static int64_t balance(const char *acct)
{
    struct cd_error err;
    int64_t v = -1;

    assert_int_equal(cd_ledger_balance(&bill, acct, &v, &err), 0);
    return v;
}

static void run_ok(struct cd_reconcile_result *r)
{
    struct cd_error err;

    memset(&err, 0, sizeof(err));
    if (cd_reconcile_run(&bill, r, &err) != 0)
        print_error("reconcile: %s %s\n", err.code, err.message);
    assert_int_equal(err.kind, CD_EK_NONE);
}

static void ledger_ok(void)
{
    struct cd_ledger_check chk;
    struct cd_error err;

    assert_int_equal(cd_ledger_verify(&bill, &chk, NULL, NULL, &err), 0);
    assert_int_equal(chk.mismatches, 0);
    assert_true(chk.sum_balances == chk.sum_entries);
}

/* ---- tests --------------------------------------------------------------- */

static void test_events_catch_up(void **state)
{
    char acct[64], newest[64];
    struct cd_order o1, o2, o3;
    struct cd_reconcile_result r;
    struct cursor_read cr;
    const char *st = NULL;
    struct cd_error err;
    json_t *s1, *s2, *s3, *ev;

    (void)state;
    new_account(acct);
    new_order(acct, 1000, 0, "cs_test_one", &o1);
    new_order(acct, 2000, 0, "cs_test_two", &o2);
    new_order(acct, 3000, 0, "cs_test_three", &o3);
    s1 = session_for(&o1, "cs_test_one", "complete", "paid");
    s2 = session_for(&o2, "cs_test_two", "expired", "unpaid");
    add_event("checkout.session.completed", json_deep_copy(s1), NULL);
    add_event("customer.created", json_pack("{s:s}", "id", "cus_x"), NULL);
    add_event("checkout.session.expired", json_deep_copy(s2), NULL);
    add_event("checkout.session.completed",
              json_pack("{s:s, s:s, s:s, s:s}", "id", "cs_test_foreign",
                        "mode", "payment", "status", "complete",
                        "payment_status", "paid"),
              newest);
    json_decref(s1);
    json_decref(s2);

    /* First run: no cursor, reads back from the newest. */
    run_ok(&r);
    assert_int_equal(r.events_seen, 3); /* customer.created filtered out */
    assert_int_equal(r.events_applied, 2);
    assert_int_equal(r.orders_checked, 0); /* too young to ask about */
    assert_true(fake.saw_types);
    assert_string_equal(order_status(o1.id), "completed");
    assert_string_equal(order_status(o2.id), "expired");
    assert_string_equal(order_status(o3.id), "pending");
    assert_int_equal(balance(acct), 1000);
    memset(&cr, 0, sizeof(cr));
    assert_int_equal(cd_store_read(bill.store, job_get_cursor, &cr), 0);
    assert_int_equal(cr.rc, CD_STORE_OK);
    assert_string_equal(cr.v, newest);

    /* Second run: forward from the cursor, nothing new. */
    run_ok(&r);
    assert_int_equal(r.events_seen, 0);
    assert_int_equal(r.events_applied, 0);
    assert_string_equal(fake.last_ending_before, newest);

    /* The webhook delivering an event reconciliation applied: duplicate. */
    pthread_mutex_lock(&fake.mu);
    ev = json_deep_copy(json_array_get(fake.events, 0));
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(cd_webhook_apply(&bill, ev, &st, &err), 0);
    assert_string_equal(st, CD_WEBHOOK_DUPLICATE);
    json_decref(ev);

    /* 250 events for sessions not ours, then order 3 paid: 3 pages. */
    for (int i = 0; i < 250; i++)
        add_event("checkout.session.expired",
                  json_pack("{s:s, s:s, s:s}", "id", "cs_test_other", "mode",
                            "payment", "status", "expired"),
                  NULL);
    s3 = session_for(&o3, "cs_test_three", "complete", "paid");
    add_event("checkout.session.completed", s3, newest);
    fake.event_calls = 0;
    run_ok(&r);
    assert_int_equal(fake.event_calls, 3);
    assert_int_equal(r.events_seen, 251);
    assert_int_equal(r.events_applied, 1);
    assert_string_equal(order_status(o3.id), "completed");
    assert_int_equal(balance(acct), 4000);
    assert_int_equal(cd_store_read(bill.store, job_get_cursor, &cr), 0);
    assert_string_equal(cr.v, newest);

    /* And again: nothing, the balance holds. */
    run_ok(&r);
    assert_int_equal(r.events_applied, 0);
    assert_int_equal(balance(acct), 4000);
    ledger_ok();
}

static void test_pending_orders(void **state)
{
    char acct[64];
    struct cd_order a, b, c, d, e, f, g;
    struct cd_reconcile_result r;
    json_t *s;

    (void)state;
    new_account(acct);
    new_order(acct, 1000, 120, "cs_test_paid", &a);
    new_order(acct, 2000, 120, "cs_test_open", &b);
    new_order(acct, 3000, 120, "cs_test_gone", &c);
    new_order(acct, 4000, 7200, "", &d); /* never got a session */
    new_order(acct, 5000, 120, "", &e);  /* maybe still being created */
    new_order(acct, 6000, 120, "cs_test_unknown", &f);
    new_order(acct, 7000, 0, "cs_test_young", &g);
    add_session(s = session_for(&a, "cs_test_paid", "complete", "paid"));
    json_decref(s);
    add_session(s = session_for(&b, "cs_test_open", "open", "unpaid"));
    json_decref(s);
    add_session(s = session_for(&c, "cs_test_gone", "expired", "unpaid"));
    json_decref(s);
    add_session(s = session_for(&g, "cs_test_young", "complete", "paid"));
    json_decref(s);

    run_ok(&r);
    assert_int_equal(r.events_seen, 0);
    assert_int_equal(r.orders_checked, 5); /* a b c d f */
    assert_int_equal(r.orders_fixed, 3);   /* a c d */
    assert_int_equal(fake.session_calls, 4);
    assert_string_equal(order_status(a.id), "completed");
    assert_string_equal(order_status(b.id), "pending");
    assert_string_equal(order_status(c.id), "expired");
    assert_string_equal(order_status(d.id), "failed");
    assert_string_equal(order_status(e.id), "pending");
    assert_string_equal(order_status(f.id), "pending");
    assert_string_equal(order_status(g.id), "pending");
    assert_int_equal(balance(acct), 1000);

    run_ok(&r);
    assert_int_equal(r.orders_checked, 2); /* b f */
    assert_int_equal(r.orders_fixed, 0);
    assert_int_equal(balance(acct), 1000);
    ledger_ok();
}

static void test_cursor_gone(void **state)
{
    char acct[64], newest[64];
    struct cd_order o;
    struct cd_reconcile_result r;
    struct cursor_read cr;
    json_t *s;

    (void)state;
    new_account(acct);
    new_order(acct, 1500, 0, "cs_test_late", &o);
    s = session_for(&o, "cs_test_late", "complete", "paid");
    add_event("checkout.session.completed", s, newest);
    assert_int_equal(
        cd_store_write(bill.store, job_put_cursor, "evt_older_than_30_days"),
        0);
    run_ok(&r);
    assert_string_equal(fake.last_ending_before, "evt_older_than_30_days");
    assert_int_equal(r.events_seen, 1);
    assert_int_equal(r.events_applied, 1);
    assert_int_equal(balance(acct), 1500);
    memset(&cr, 0, sizeof(cr));
    assert_int_equal(cd_store_read(bill.store, job_get_cursor, &cr), 0);
    assert_string_equal(cr.v, newest);
}

static void test_errors(void **state)
{
    struct cd_reconcile_result r;
    struct cd_stripe_client *keep = bill.stripe;
    struct cd_error err;

    (void)state;
    memset(&err, 0, sizeof(err));
    fake.fail_events = 1;
    assert_int_equal(cd_reconcile_run(&bill, &r, &err), -1);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    fake.fail_events = 0;

    bill.stripe = NULL;
    memset(&err, 0, sizeof(err));
    assert_int_equal(cd_reconcile_run(&bill, &r, &err), -1);
    assert_int_equal(err.kind, CD_EK_UNAVAILABLE);
    assert_string_equal(err.code, "stripe_not_configured");
    bill.stripe = keep;
}

static int job_update_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_update(tx, arg);
}

/* A pending order paid by its own PaymentIntent (top-up): the intent as
 * Stripe holds it now decides - succeeded fulfils once, canceled fails,
 * still open stays pending. */
static void test_pending_payment_intents(void **state)
{
    char acct[64];
    struct cd_order a, b, c;
    struct cd_reconcile_result r;
    const struct {
        struct cd_order *o;
        const char *pi, *status;
    } cases[] = {{&a, "pi_unit_paid", "succeeded"},
                 {&b, "pi_unit_gone", "canceled"},
                 {&c, "pi_unit_open", "requires_payment_method"}};

    (void)state;
    new_account(acct);
    new_order(acct, 1000, 120, "", &a);
    new_order(acct, 2000, 120, "", &b);
    new_order(acct, 3000, 120, "", &c);
    for (size_t i = 0; i < 3; i++) {
        struct cd_order *o = cases[i].o;
        json_t *pi;

        strcpy(o->stripe_payment_intent_id, cases[i].pi);
        assert_int_equal(cd_store_write(bill.store, job_update_order, o), 0);
        pi = json_pack(
            "{s:s, s:s, s:I, s:I, s:s, s:s, s:{s:s, s:s, s:s}}", "id",
            cases[i].pi, "object", "payment_intent", "amount",
            (json_int_t)o->amount_cents, "amount_received",
            (json_int_t)(i == 0 ? o->amount_cents : 0), "currency", "usd",
            "status", cases[i].status, "metadata", "order_id", o->id,
            "account_id", acct, "kind", "topup");
        add_session(pi);
        json_decref(pi);
    }
    run_ok(&r);
    assert_int_equal(r.orders_checked, 3);
    assert_int_equal(r.orders_fixed, 2);
    assert_string_equal(order_status(a.id), "completed");
    assert_string_equal(order_status(b.id), "failed");
    assert_string_equal(order_status(c.id), "pending");
    assert_int_equal(balance(acct), 1000);
    run_ok(&r);
    assert_int_equal(r.orders_checked, 1);
    assert_int_equal(r.orders_fixed, 0);
    assert_int_equal(balance(acct), 1000);
    ledger_ok();
}

/* An order with neither a session nor a PaymentIntent for over an hour,
 * naming a customer: its PaymentIntent looked for at Stripe before it is
 * failed. Succeeded (an off-session top-up whose answer and event were
 * lost): completed and credited once, never failed (a failed auto top-up
 * order is tried again under a new order: a second charge). Processing:
 * left pending. None, or declined: failed as before. */
static void test_abandoned_but_charged(void **state)
{
    char acct[64];
    struct cd_order a, b, c, d, *all[] = {&a, &b, &c, &d};
    struct cd_reconcile_result r;
    const struct {
        struct cd_order *o;
        const char *pi, *status;
    } cases[] = {{&a, "pi_unit_lost_ok", "succeeded"},
                 {&b, "pi_unit_lost_proc", "processing"},
                 {&d, "pi_unit_lost_no", "requires_payment_method"}};

    (void)state;
    new_account(acct);
    new_order(acct, 1000, 7200, "", &a);
    new_order(acct, 2000, 7200, "", &b);
    new_order(acct, 3000, 7200, "", &c); /* nothing at Stripe */
    new_order(acct, 4000, 7200, "", &d);
    for (size_t i = 0; i < 4; i++) {
        strcpy(all[i]->stripe_customer_id, "cus_unit_lost");
        assert_int_equal(cd_store_write(bill.store, job_update_order, all[i]),
                         0);
    }
    for (size_t i = 0; i < 3; i++) {
        const struct cd_order *o = cases[i].o;
        json_t *pi = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:{s:s, s:s, s:s}}",
            "id", cases[i].pi, "object", "payment_intent", "customer",
            "cus_unit_lost", "amount", (json_int_t)o->amount_cents,
            "amount_received", (json_int_t)(i == 0 ? o->amount_cents : 0),
            "currency", "usd", "status", cases[i].status, "created",
            (json_int_t)o->created_at, "metadata", "order_id", o->id,
            "account_id", acct, "kind", "topup");
        add_session(pi);
        json_decref(pi);
    }
    run_ok(&r);
    assert_int_equal(fake.list_calls, 4);
    assert_int_equal(r.orders_checked, 4);
    assert_int_equal(r.orders_fixed, 3); /* a completed, c d failed */
    assert_string_equal(order_status(a.id), "completed");
    assert_string_equal(order_status(b.id), "pending");
    assert_string_equal(order_status(c.id), "failed");
    assert_string_equal(order_status(d.id), "failed");
    assert_int_equal(balance(acct), 1000);
    run_ok(&r); /* b is asked about again; nothing credits twice */
    assert_string_equal(order_status(b.id), "pending");
    assert_int_equal(balance(acct), 1000);
    ledger_ok();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_catch_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pending_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_payment_intents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_but_charged, setup,
                                        teardown),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
