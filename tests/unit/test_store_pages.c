/*
 * test_store_pages.c - the keyset pages of every account's orders and
 * ledger (010), payments and subscriptions (022): newest first, filters, starting_after, has_more, and a
 * query plan per statement that reads one index without a sort (a page
 * costs its own rows, not the table). The pages run on SQLite and, when
 * CD_TEST_PG_URL names a server (store_target.h), on PostgreSQL too; the
 * plan check is SQLite's EXPLAIN QUERY PLAN and runs on SQLite only
 * (PostgreSQL's planner picks by its statistics, so a plan asserted on a
 * six-row table would say nothing; migrations/pg/010 gives it the same
 * indexes with seq as their last column).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store_int.h"
#include "store/store.h"
#include "util/log.h"
#include "store_target.h"

struct fixture {
    struct store_target t;
    struct cd_store *s;
};

/* Which backend this group runs on (main runs the group per backend). */
static int use_pg;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cd_store_config cfg = {.read_conns = 2};
    struct cd_error err = {0};

    cd_log_threshold = CD_LOG_ERROR + 1;
    if (store_target_make(&f->t, use_pg, "cd_store_pages") != 0)
        return -1;
    cfg.path = f->t.target;
    f->s = cd_store_open(&cfg, &err);
    if (!f->s)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->s)
        cd_store_close(f->s);
    store_target_drop(&f->t);
    free(f);
    return 0;
}

/* ---- data ------------------------------------------------------------- */

/* Two accounts; six orders: o1..o6 at t=100,200,300,300,300,400, o3-o5
 * sharing a second; statuses and kinds mixed. One ledger entry per
 * order, id e<n>, kind grant for odd n and usage for even. */
static int seed(struct cd_tx *tx, void *arg)
{
    static const char *status[] = {"completed", "pending",   "completed",
                                   "failed",    "completed", "pending"};
    static const char *kind[] = {"topup",   "package", "topup",
                                 "package", "topup",   "topup"};
    static const int64_t at[] = {100, 200, 300, 300, 300, 400};
    struct cd_account a;
    int rc = 0;

    (void)arg;
    for (int i = 0; i < 2; i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "acct_%d", i);
        snprintf(a.email, sizeof(a.email), "u%d@example.com", i);
        a.created_at = 1;
        rc |= cd_store_account_insert(tx, &a);
    }
    for (int i = 0; i < 6; i++) {
        struct cd_order o;
        struct cd_ledger_entry e;

        memset(&o, 0, sizeof(o));
        snprintf(o.id, sizeof(o.id), "o%d", i + 1);
        snprintf(o.account_id, sizeof(o.account_id), "acct_%d", i % 2);
        strcpy(o.kind, kind[i]);
        strcpy(o.status, status[i]);
        o.amount_cents = 100 * (i + 1);
        strcpy(o.currency, "usd");
        o.created_at = at[i];
        rc |= cd_store_order_insert(tx, &o);
        memset(&e, 0, sizeof(e));
        snprintf(e.id, sizeof(e.id), "e%d", i + 1);
        strcpy(e.account_id, o.account_id);
        e.amount = i + 1;
        strcpy(e.kind, i % 2 ? "usage" : "grant");
        snprintf(e.ref, sizeof(e.ref), "ref:%d", i + 1);
        e.created_at = at[i];
        rc |= cd_store_ledger_insert(tx, &e);
    }
    return rc;
}

/* Payments p1..p6, one per order (its account, time and status: the
 * order's completed is the payment's succeeded, paid then; p3 has $1
 * refunded); subscriptions sub_1..
 * sub_3 at t=100,200,200 (acct_0, acct_1, acct_0), active, past_due,
 * active. */
static int seed_more(struct cd_tx *tx, void *arg)
{
    static const char *status[] = {"succeeded", "pending",   "succeeded",
                                   "failed",    "succeeded", "pending"};
    static const int64_t at[] = {100, 200, 300, 300, 300, 400};
    static const char *sub_status[] = {"active", "past_due", "active"};
    static const int64_t sub_at[] = {100, 200, 200};
    int rc = seed(tx, arg);

    for (int i = 0; i < 6; i++) {
        struct cd_payment pay;

        memset(&pay, 0, sizeof(pay));
        snprintf(pay.id, sizeof(pay.id), "p%d", i + 1);
        snprintf(pay.order_id, sizeof(pay.order_id), "o%d", i + 1);
        snprintf(pay.account_id, sizeof(pay.account_id), "acct_%d", i % 2);
        strcpy(pay.status, status[i]);
        pay.amount_cents = 100 * (i + 1);
        strcpy(pay.currency, "usd");
        pay.created_at = at[i];
        if (strcmp(status[i], "succeeded") == 0)
            pay.paid_at = at[i];
        if (i == 2)
            pay.amount_refunded_cents = 100;
        rc |= cd_store_payment_insert(tx, &pay);
    }
    for (int i = 0; i < 3; i++) {
        struct cd_subscription sub;

        memset(&sub, 0, sizeof(sub));
        snprintf(sub.stripe_subscription_id,
                 sizeof(sub.stripe_subscription_id), "sub_%d", i + 1);
        snprintf(sub.account_id, sizeof(sub.account_id), "acct_%d", i % 2);
        strcpy(sub.status, sub_status[i]);
        sub.created_at = sub_at[i];
        sub.updated_at = sub_at[i];
        sub.synced_at = 1;
        rc |= cd_store_subscription_upsert(tx, &sub);
    }
    return rc;
}

struct page {
    struct cd_page_query q;
    int ledger; /* 0 orders, 1 ledger, 2 payments, 3 subscriptions, 4 one
                 * account's ledger (cd_store_txn_page), 5 / 6 one
                 * account's orders / payments (order_pages.c) */
    char ids[16][CD_ID_SZ];
    int n, has_more, rc;
    int64_t total;
};

static int add_order(const struct cd_order *o, void *arg)
{
    struct page *p = arg;

    strcpy(p->ids[p->n++], o->id);
    return 0;
}

static int add_entry(const struct cd_ledger_entry *e, void *arg)
{
    struct page *p = arg;

    strcpy(p->ids[p->n++], e->id);
    return 0;
}

static int add_payment(const struct cd_payment *pay, void *arg)
{
    struct page *p = arg;

    strcpy(p->ids[p->n++], pay->id);
    return 0;
}

static int add_sub(const struct cd_subscription *sub, void *arg)
{
    struct page *p = arg;

    strcpy(p->ids[p->n++], sub->stripe_subscription_id);
    return 0;
}

static int read_page(struct cd_tx *tx, void *arg)
{
    struct page *p = arg;

    p->n = 0;
    if (p->ledger == 5)
        p->rc = cd_store_account_order_page(
            tx, p->q.account_id, p->q.starting_after, p->q.limit, add_order,
            p, &p->has_more, &p->total);
    else if (p->ledger == 6)
        p->rc = cd_store_account_payment_page(
            tx, p->q.account_id, p->q.starting_after, p->q.limit, add_payment,
            p, &p->has_more, &p->total);
    else if (p->ledger == 4)
        p->rc = cd_store_txn_page(tx, p->q.account_id, p->q.starting_after,
                                  p->q.limit, add_entry, p, &p->has_more,
                                  &p->total);
    else if (p->ledger == 3)
        p->rc = cd_store_subscription_page(tx, &p->q, add_sub, p,
                                           &p->has_more);
    else if (p->ledger == 2)
        p->rc = cd_store_payment_page(tx, &p->q, add_payment, p,
                                      &p->has_more);
    else if (p->ledger)
        p->rc = cd_store_ledger_page(tx, &p->q, add_entry, p, &p->has_more);
    else
        p->rc = cd_store_order_page(tx, &p->q, add_order, p, &p->has_more);
    return 0;
}

/* The page's ids joined by ",". */
static const char *ids(struct fixture *f, struct page *p)
{
    static char out[256];

    assert_int_equal(cd_store_read(f->s, read_page, p), 0);
    out[0] = '\0';
    for (int i = 0; i < p->n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, p->ids[i]);
    }
    return out;
}

/* ---- tests ------------------------------------------------------------ */

static void test_order_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 2}};

    assert_int_equal(cd_store_write(f->s, seed, NULL), 0);
    /* Newest first; rows of one second by insertion, newest first. */
    assert_string_equal(ids(f, &p), "o6,o5");
    assert_true(p.has_more);
    p.q.starting_after = "o5";
    assert_string_equal(ids(f, &p), "o4,o3");
    assert_true(p.has_more);
    p.q.starting_after = "o3";
    assert_string_equal(ids(f, &p), "o2,o1");
    assert_false(p.has_more);
    p.q.starting_after = "o1";
    assert_string_equal(ids(f, &p), "");
    assert_false(p.has_more);

    p.q.starting_after = "no_such_order";
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);

    memset(&p.q, 0, sizeof(p.q));
    p.q.limit = 10;
    p.q.status = "completed";
    assert_string_equal(ids(f, &p), "o5,o3,o1");
    p.q.kind = "topup";
    p.q.account_id = "acct_0";
    assert_string_equal(ids(f, &p), "o5,o3,o1");
    p.q.status = NULL;
    p.q.kind = "package";
    p.q.account_id = NULL;
    assert_string_equal(ids(f, &p), "o4,o2");
    p.q.kind = NULL;
    p.q.from = 200;
    p.q.to = 400;
    assert_string_equal(ids(f, &p), "o5,o4,o3,o2");
    p.q.account_id = "acct_1";
    assert_string_equal(ids(f, &p), "o4,o2");
    assert_false(p.has_more);
}

static void test_ledger_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 4}, .ledger = 1};

    assert_int_equal(cd_store_write(f->s, seed, NULL), 0);
    assert_string_equal(ids(f, &p), "e6,e5,e4,e3");
    assert_true(p.has_more);
    p.q.starting_after = "e3";
    assert_string_equal(ids(f, &p), "e2,e1");
    assert_false(p.has_more);
    p.q.starting_after = "o1"; /* an order's id is no ledger row */
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
    memset(&p.q, 0, sizeof(p.q));
    p.q.limit = 10;
    p.q.kind = "usage";
    assert_string_equal(ids(f, &p), "e6,e4,e2");
    p.q.account_id = "acct_0";
    p.q.kind = NULL;
    p.q.status = "ignored"; /* the ledger has no status */
    assert_string_equal(ids(f, &p), "e5,e3,e1");
    p.q.limit = 0;
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_ERROR);
}

/* GET /v1/transactions?starting_after= (024): one account's entries,
 * ties on created_at (e3, e5 at t=300) broken by seq, the start row the
 * account's own, the exact total on every page. */
static void test_txn_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 1, .account_id = "acct_0"}, .ledger = 4};

    assert_int_equal(cd_store_write(f->s, seed, NULL), 0);
    assert_string_equal(ids(f, &p), "e5");
    assert_true(p.has_more);
    assert_int_equal(p.total, 3);
    p.q.starting_after = "e5";
    assert_string_equal(ids(f, &p), "e3");
    assert_true(p.has_more);
    p.q.starting_after = "e3";
    p.q.limit = 5;
    assert_string_equal(ids(f, &p), "e1");
    assert_false(p.has_more);
    assert_int_equal(p.total, 3);
    p.q.starting_after = "e4"; /* acct_1's entry */
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
    p.q.starting_after = "nope";
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
    p.q.account_id = "acct_1";
    p.q.starting_after = "e4";
    assert_string_equal(ids(f, &p), "e2");
    assert_int_equal(p.rc, CD_STORE_OK);
}

/* GET /v1/orders and /v1/payments?starting_after= (026): one account's
 * rows, ties on created_at (o3, o5 at t=300) broken by seq, the start row
 * the account's own, the exact total (the trigger's count) on every
 * page. */
static void test_account_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 1, .account_id = "acct_0"}, .ledger = 5};
    char pre[2] = "o";

    assert_int_equal(cd_store_write(f->s, seed_more, NULL), 0);
    for (int t = 5; t <= 6; t++, pre[0] = 'p') {
        char id[8], from[8];

        p.ledger = t;
        p.q.account_id = "acct_0";
        p.q.starting_after = NULL;
        p.q.limit = 1;
        snprintf(id, sizeof(id), "%s5", pre);
        assert_string_equal(ids(f, &p), id);
        assert_true(p.has_more);
        assert_int_equal(p.total, 3);
        memcpy(from, id, sizeof(from));
        p.q.starting_after = from;
        snprintf(id, sizeof(id), "%s3", pre);
        assert_string_equal(ids(f, &p), id);
        assert_true(p.has_more);
        p.q.starting_after = t == 5 ? "o3" : "p3";
        p.q.limit = 5;
        snprintf(id, sizeof(id), "%s1", pre);
        assert_string_equal(ids(f, &p), id);
        assert_false(p.has_more);
        assert_int_equal(p.total, 3);
        p.q.starting_after = t == 5 ? "o4" : "p4"; /* acct_1's */
        ids(f, &p);
        assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
        p.q.starting_after = t == 5 ? "p1" : "o1"; /* the other table's */
        ids(f, &p);
        assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
        p.q.account_id = "acct_1";
        p.q.starting_after = t == 5 ? "o4" : "p4";
        snprintf(id, sizeof(id), "%s2", pre);
        assert_string_equal(ids(f, &p), id);
        assert_int_equal(p.rc, CD_STORE_OK);
        assert_int_equal(p.total, 3);
    }
    p.q.account_id = "acct_none";
    p.q.starting_after = NULL;
    assert_string_equal(ids(f, &p), "");
    assert_int_equal(p.total, 0);
}

static void test_payment_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 3}, .ledger = 2};

    assert_int_equal(cd_store_write(f->s, seed_more, NULL), 0);
    assert_string_equal(ids(f, &p), "p6,p5,p4");
    assert_true(p.has_more);
    p.q.starting_after = "p4";
    assert_string_equal(ids(f, &p), "p3,p2,p1");
    assert_false(p.has_more);
    p.q.starting_after = "o1"; /* an order's id is no payment */
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
    memset(&p.q, 0, sizeof(p.q));
    p.q.limit = 10;
    p.q.status = "succeeded";
    assert_string_equal(ids(f, &p), "p5,p3,p1");
    p.q.account_id = "acct_1";
    p.q.status = "pending";
    assert_string_equal(ids(f, &p), "p6,p2");
    p.q.status = NULL;
    p.q.from = 300;
    assert_string_equal(ids(f, &p), "p6,p4");
    p.q.to = 400;
    assert_string_equal(ids(f, &p), "p4");
    p.q.kind = "ignored"; /* payments have no kind */
    assert_string_equal(ids(f, &p), "p4");
}

static void test_subscription_pages(void **state)
{
    struct fixture *f = *state;
    struct page p = {.q = {.limit = 2}, .ledger = 3};

    assert_int_equal(cd_store_write(f->s, seed_more, NULL), 0);
    assert_string_equal(ids(f, &p), "sub_3,sub_2");
    assert_true(p.has_more);
    p.q.starting_after = "sub_2";
    assert_string_equal(ids(f, &p), "sub_1");
    assert_false(p.has_more);
    p.q.starting_after = "sub_9";
    ids(f, &p);
    assert_int_equal(p.rc, CD_STORE_NOT_FOUND);
    memset(&p.q, 0, sizeof(p.q));
    p.q.limit = 10;
    p.q.status = "active";
    assert_string_equal(ids(f, &p), "sub_3,sub_1");
    p.q.account_id = "acct_1";
    p.q.status = NULL;
    assert_string_equal(ids(f, &p), "sub_2");
    p.q.status = "active";
    assert_string_equal(ids(f, &p), "");
    p.q.account_id = NULL;
    p.q.status = NULL;
    p.q.to = 200;
    assert_string_equal(ids(f, &p), "sub_1");
}

struct sums {
    int64_t from, to;
    char text[512];
    int rc;
};

static int add_revenue(const struct cd_revenue *r, void *arg)
{
    struct sums *s = arg;
    size_t n = strlen(s->text);

    snprintf(s->text + n, sizeof(s->text) - n, "%s:%lld/%lld/%lld;",
             r->currency, (long long)r->payments, (long long)r->gross_cents,
             (long long)r->refunded_cents);
    return 0;
}

static int add_status(const char *status, int64_t count, void *arg)
{
    struct sums *s = arg;
    size_t n = strlen(s->text);

    snprintf(s->text + n, sizeof(s->text) - n, "%s=%lld;", status,
             (long long)count);
    return 0;
}

static int read_sums(struct cd_tx *tx, void *arg)
{
    struct sums *s = arg;

    s->text[0] = '\0';
    s->rc = cd_store_revenue(tx, s->from, s->to, add_revenue, s);
    if (s->rc == CD_STORE_OK)
        s->rc = cd_store_order_status_counts(tx, s->from, s->to, add_status,
                                             s);
    return 0;
}

/* The dashboard's sums: paid payments per currency (count, gross,
 * refunded) and orders per status, over created_at in [from, to). */
static void test_dashboard_sums(void **state)
{
    struct fixture *f = *state;
    struct sums s = {0, 1000, "", 0};

    assert_int_equal(cd_store_write(f->s, seed_more, NULL), 0);
    assert_int_equal(cd_store_read(f->s, read_sums, &s), 0);
    assert_int_equal(s.rc, CD_STORE_OK);
    assert_string_equal(s.text, "usd:3/900/100;completed=3;failed=1;"
                                "pending=2;");
    s.from = 300;
    s.to = 400;
    assert_int_equal(cd_store_read(f->s, read_sums, &s), 0);
    assert_string_equal(s.text, "usd:2/800/100;completed=2;failed=1;");
    s.from = 500;
    s.to = 600;
    assert_int_equal(cd_store_read(f->s, read_sums, &s), 0);
    assert_string_equal(s.text, "");
    s.to = 500; /* an empty range is refused */
    assert_int_equal(cd_store_read(f->s, read_sums, &s), 0);
    assert_int_equal(s.rc, CD_STORE_ERROR);
}

/* Every page statement reads one index, without a temporary b-tree (a
 * sort of the whole match) and without a table scan. */
static void test_page_plans(void **state)
{
    static const enum cd_sq_stmt pages[] = {
        SQ_ORDER_PAGE_ACCT,  SQ_ORDER_PAGE_STATUS, SQ_ORDER_PAGE_KIND,
        SQ_ORDER_PAGE_ALL,   SQ_LEDGER_PAGE_ACCT,  SQ_LEDGER_PAGE_KIND,
        SQ_LEDGER_PAGE_ALL,  SQ_ORDER_KEY,         SQ_LEDGER_KEY,
        SQ_PAYMENT_KEY,      SQ_PAYMENT_PAGE_ACCT, SQ_PAYMENT_PAGE_STATUS,
        SQ_PAYMENT_PAGE_ALL, SQ_SUB_KEY,           SQ_SUB_PAGE_ACCT,
        SQ_SUB_PAGE_STATUS,  SQ_SUB_PAGE_ALL,      SQ_ORDER_KEY_ACCT,
        SQ_PAYMENT_KEY_ACCT,
    };
    struct fixture *f = *state;
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(f->t.target, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        char sql[2048];
        sqlite3_stmt *st = NULL;
        int uses_index = 0;

        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s",
                 cd_sq_sql[pages[i]]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);

            if (strstr(d, "TEMP B-TREE") || strncmp(d, "SCAN", 4) == 0)
                print_error("statement %d: %s\n", (int)pages[i], d);
            assert_null(strstr(d, "TEMP B-TREE"));
            assert_int_not_equal(strncmp(d, "SCAN", 4), 0);
            uses_index |= strstr(d, "USING") != NULL;
        }
        assert_true(uses_index);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

/* Every account read carries its access order (ACCESS_ORDER): each of
 * its two correlated subqueries seeks the account's own access orders in
 * orders_access (030), in its order, without a temporary b-tree - not
 * every access order of every account through orders_kind. */
static void test_access_plans(void **state)
{
    static const enum cd_sq_stmt reads[] = {
        SQ_ACCOUNT_GET,         SQ_ACCOUNT_BY_EMAIL, SQ_ACCOUNT_BY_EXTERNAL,
        SQ_ACCOUNT_BY_CUSTOMER, SQ_ACCOUNT_LIST,
    };
    struct fixture *f = *state;
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(f->t.target, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        char sql[2048];
        sqlite3_stmt *st = NULL;
        int seeks = 0;

        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s",
                 cd_sq_sql[reads[i]]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            int on_orders = strstr(d, " g ") || strstr(d, " g USING");

            if (on_orders || strstr(d, "TEMP B-TREE"))
                print_message("statement %d: %s\n", (int)reads[i], d);
            assert_null(strstr(d, "TEMP B-TREE"));
            if (!on_orders)
                continue;
            assert_non_null(
                strstr(d, "USING INDEX orders_access (account_id=?"));
            seeks++;
        }
        assert_int_equal(seeks, 2);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

/* Runs SQ_LEDGER_PAGE_ACCT on acct_0 below the key (c, sq) for 20 rows
 * (and the one more that says has_more); its SQLite VM steps. */
static int page_steps(sqlite3 *db, int64_t c, int64_t sq)
{
    sqlite3_stmt *st = NULL;
    int n = 0, steps;

    assert_int_equal(
        sqlite3_prepare_v2(db, cd_sq_sql[SQ_LEDGER_PAGE_ACCT], -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, "acct_0", -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, INT64_MIN);
    /* unused since 024; a loose second upper bound if it came back */
    sqlite3_bind_int64(st, 5, INT64_MAX);
    sqlite3_bind_int64(st, 6, c);
    sqlite3_bind_int64(st, 7, sq);
    sqlite3_bind_int64(st, 8, 21);
    while (sqlite3_step(st) == SQLITE_ROW)
        n++;
    assert_int_equal(n, 21);
    steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
    sqlite3_finalize(st);
    return steps;
}

/* The one-bound fix (024): a page deep in 5,000 entries of one account
 * costs what the first page does - the index range starts at the page,
 * it does not walk the newer rows (the plan text alone cannot tell: the
 * two-bound statement had the same). */
static void test_deep_page_cost(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t seq;
    int top, deep;

    assert_int_equal(cd_store_write(f->s, seed, NULL), 0);
    assert_int_equal(sqlite3_open(f->t.target, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
                     "x + 1 FROM c WHERE x < 5000) INSERT INTO ledger (id, "
                     "account_id, amount, balance_after, kind, ref, "
                     "description, created_at) SELECT 'b' || x, 'acct_0', "
                     "1, x, 'grant', 'bulk:' || x, '', 1000 + x FROM c",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT seq FROM ledger WHERE "
                                        "id = 'b30'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    top = page_steps(db, INT64_MAX, INT64_MAX);
    deep = page_steps(db, 1030, seq);
    if (deep > 2 * top)
        print_error("deep page %d VM steps, first page %d\n", deep, top);
    assert_true(deep <= 2 * top);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscription_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_page_cost, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_order_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscription_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_sums, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1; /* the pages only: the plans are SQLite's */
        failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
                                              NULL);
    }
    return failed;
}
