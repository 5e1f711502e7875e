/*
 * test_billing_lots.c - credit lots (billing/lots.c) on a real store, on
 * SQLite and, when CD_TEST_PG_URL names a server, on PostgreSQL: the
 * drawing order across lots, the draws recorded per entry, a debit's own
 * order's lots first, debt and its repayment, expiry written exactly once
 * (by the sweep, and by a debit of the same account first; two nodes
 * sweeping at once still write one entry per lot), a plan's
 * credits expiring at the period's end with a rollover cap, and the
 * ledger check of balance == sum(entries) == sum(remaining) - debt.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "billing/balance.h"
#include "billing/holds.h"
#include "billing/hooks.h"
#include "billing/ledger.h"
#include "billing/ledger_ops.h"
#include "billing/lots.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "store_target.h"

static int use_pg;
static struct store_target target;
static struct cd_billing bill;

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, use_pg, "cd_lots", 0);
    if (!bill.store)
        return -1;
    strcpy(bill.cfg.currency, "usd");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_target_close(&target, bill.store);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

struct apply_job {
    struct cd_ledger_apply in;
    struct cd_ledger_entry out;
    int rc;
};

static int apply_fn(struct cd_tx *tx, void *arg)
{
    struct apply_job *j = arg;

    j->rc = cd_ledger_apply_tx(tx, &j->in, &j->out);
    return j->rc == CD_STORE_OK || j->rc == CD_STORE_DUPLICATE ? 0 : 1;
}

/* One entry; its id in entry_out (may be NULL); the apply's result. */
static int post(const char *acct, int64_t amount, const char *kind,
                const char *order_id, const struct cd_lot_spec *spec,
                int allow_negative, char *entry_out)
{
    struct apply_job j;
    char ref[CD_ID_SZ];

    cd_random_id("t:", ref, sizeof(ref));
    memset(&j, 0, sizeof(j));
    j.in.account_id = acct;
    j.in.amount = amount;
    j.in.kind = kind;
    j.in.ref = ref;
    j.in.order_id = order_id;
    j.in.description = "unit";
    j.in.allow_negative = allow_negative;
    j.in.lot = spec;
    cd_store_write(bill.store, apply_fn, &j);
    if (entry_out)
        strcpy(entry_out, j.out.id);
    return j.rc;
}

static void grant(const char *acct, int64_t amount, const char *category,
                  int64_t expires_at, int64_t priority)
{
    struct cd_lot_spec s;

    memset(&s, 0, sizeof(s));
    s.category = category;
    s.expires_at = expires_at;
    s.priority = priority;

    assert_int_equal(post(acct, amount, "grant", NULL, &s, 0, NULL), 0);
}

struct draws {
    char lot[8][CD_ID_SZ];
    int64_t amount[8];
    int n;
    const char *entry;
};

static int draw_cb(const char *lot_id, int64_t amount, void *arg)
{
    struct draws *d = arg;

    if (d->n < 8) {
        strcpy(d->lot[d->n], lot_id);
        d->amount[d->n++] = amount;
    }
    return 0;
}

static int draws_fn(struct cd_tx *tx, void *arg)
{
    struct draws *d = arg;

    return cd_store_lot_draws(tx, d->entry, draw_cb, d);
}

/* What the entry drew from lot_id (0: nothing). */
static int64_t drew(const char *entry, const char *lot_id)
{
    struct draws d;

    memset(&d, 0, sizeof(d));
    d.entry = entry;
    assert_int_equal(cd_store_read(bill.store, draws_fn, &d), 0);
    for (int i = 0; i < d.n; i++)
        if (strcmp(d.lot[i], lot_id) == 0)
            return d.amount[i];
    return 0;
}

struct lots_read {
    const char *acct;
    struct cd_lot l[16];
    int n;
};

static int lots_cb(const struct cd_lot *l, void *arg)
{
    struct lots_read *r = arg;

    if (r->n < 16)
        r->l[r->n++] = *l;
    return 0;
}

static int lots_fn(struct cd_tx *tx, void *arg)
{
    struct lots_read *r = arg;
    int more;

    return cd_store_lot_page(tx, r->acct, 0, cd_now(), NULL, 16, lots_cb, r,
                             &more);
}

/* The account's lots, oldest first. */
static void lots_of(const char *acct, struct lots_read *r)
{
    struct cd_lot t;

    memset(r, 0, sizeof(*r));
    r->acct = acct;
    assert_int_equal(cd_store_read(bill.store, lots_fn, r), 0);
    for (int i = 0; i < r->n / 2; i++) {
        t = r->l[i];
        r->l[i] = r->l[r->n - 1 - i];
        r->l[r->n - 1 - i] = t;
    }
}

struct ref_read {
    const char *ref;
    struct cd_ledger_entry e;
};

static int ref_fn(struct cd_tx *tx, void *arg)
{
    struct ref_read *r = arg;

    return cd_store_ledger_by_ref(tx, r->ref, &r->e);
}

static void entry_by_ref(const char *ref, struct cd_ledger_entry *out)
{
    struct ref_read r;

    memset(&r, 0, sizeof(r));
    r.ref = ref;
    assert_int_equal(cd_store_read(bill.store, ref_fn, &r), 0);
    *out = r.e;
}

static void verify_ok(void)
{
    struct cd_ledger_check c;
    struct cd_error err;

    assert_int_equal(cd_ledger_verify(&bill, &c, NULL, NULL, &err), 0);
    assert_int_equal(c.mismatches, 0);
    assert_int_equal(c.lot_mismatches, 0);
    assert_true(c.sum_balances == c.sum_entries);
}

static int64_t balance(const char *acct)
{
    struct cd_error err;
    int64_t b = 0;

    assert_int_equal(cd_ledger_balance(&bill, acct, &b, &err), 0);
    return b;
}

/* cd_balance_get (one statement) agrees with the separate reads it
 * replaced for GET /v1/balance: the balance, holds and lot totals. */
static void summary_agrees(const char *acct, struct cd_balance *out)
{
    struct cd_lot_totals t;
    struct cd_error err;
    int64_t hb, held;

    assert_int_equal(cd_balance_get(&bill, acct, out, &err), 0);
    assert_int_equal(cd_lots_totals(&bill, acct, &t, &err), 0);
    assert_int_equal(cd_hold_totals(&bill, acct, &hb, &held, &err), 0);
    assert_int_equal(out->balance, balance(acct));
    assert_int_equal(out->balance, hb);
    assert_int_equal(out->held, held);
    assert_int_equal(out->available, hb - held);
    assert_int_equal(out->debt, t.debt);
    assert_int_equal(out->paid, t.paid);
    assert_int_equal(out->promotional, t.promotional);
    assert_int_equal(out->next_at, t.next_at);
    assert_int_equal(out->next_amount, t.next_at ? t.next_amount : 0);
}

/* ---- tests --------------------------------------------------------------- */

/* priority, then soonest expiry, then promotional before paid, then the
 * oldest; one draw row per lot touched. */
static void test_draw_order(void **state)
{
    char acct[CD_ID_SZ], e1[CD_ID_SZ], e2[CD_ID_SZ];
    int64_t now = cd_now();
    struct lots_read r;

    (void)state;
    fx_new_account(bill.store, acct);
    assert_int_equal(post(acct, 100, "package", NULL, NULL, 0, NULL), 0);
    grant(acct, 100, "promotional", 0, 0);           /* [1] */
    grant(acct, 100, "paid", now + 2 * 86400, 0);    /* [2] */
    grant(acct, 100, "promotional", now + 86400, 0); /* [3] */
    grant(acct, 100, "paid", 0, 10);                 /* [4] priority */
    grant(acct, 100, "paid", 0, 0);                  /* [5] newest paid */
    lots_of(acct, &r);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.l[0].category, "paid");
    assert_string_equal(r.l[0].source, "package");
    assert_string_equal(r.l[1].source, "grant");

    /* 150: all of [4] (priority 10), then 50 of [3] (soonest expiry). */
    assert_int_equal(post(acct, -150, "usage", NULL, NULL, 0, e1), 0);
    assert_int_equal(drew(e1, r.l[4].id), 100);
    assert_int_equal(drew(e1, r.l[3].id), 50);
    /* 300: 50 of [3], 100 of [2], then the promotional [1] before the
     * paid [0] and [5] (oldest first: [0]), 50 of [0]. */
    assert_int_equal(post(acct, -300, "usage", NULL, NULL, 0, e2), 0);
    assert_int_equal(drew(e2, r.l[3].id), 50);
    assert_int_equal(drew(e2, r.l[2].id), 100);
    assert_int_equal(drew(e2, r.l[1].id), 100);
    assert_int_equal(drew(e2, r.l[0].id), 50);
    assert_int_equal(drew(e2, r.l[5].id), 0);
    assert_int_equal(balance(acct), 150);
    verify_ok();
}

/* A debit naming an order (a clawback) draws that order's lots first. */
static void test_own_order_first(void **state)
{
    char acct[CD_ID_SZ], e[CD_ID_SZ];
    struct cd_order a, b;
    struct lots_read r;

    (void)state;
    fx_new_account(bill.store, acct);
    fx_order_init(&a, acct, "package", 1000, 100);
    fx_order_insert(bill.store, &a);
    fx_order_init(&b, acct, "package", 1000, 100);
    fx_order_insert(bill.store, &b);
    assert_int_equal(post(acct, 100, "package", a.id, NULL, 0, NULL), 0);
    assert_int_equal(post(acct, 100, "package", b.id, NULL, 0, NULL), 0);
    lots_of(acct, &r);
    assert_string_equal(r.l[1].order_id, b.id);
    assert_int_equal(post(acct, -120, "refund", b.id, NULL, 1, e), 0);
    assert_int_equal(drew(e, r.l[1].id), 100);
    assert_int_equal(drew(e, r.l[0].id), 20);
    verify_ok();
}

/* Past every lot the debit is a debt; the next credits repay it first. */
static void test_debt_repaid_first(void **state)
{
    char acct[CD_ID_SZ];
    struct lots_read r;

    (void)state;
    fx_new_account(bill.store, acct);
    grant(acct, 100, NULL, 0, 0);
    assert_int_equal(post(acct, -150, "usage", NULL, NULL, 0, NULL),
                     CD_LEDGER_INSUFFICIENT);
    assert_int_equal(post(acct, -150, "refund", NULL, NULL, 1, NULL), 0);
    assert_int_equal(balance(acct), -50);
    verify_ok();
    grant(acct, 30, NULL, 0, 0); /* all of it repays */
    assert_int_equal(balance(acct), -20);
    verify_ok();
    assert_int_equal(post(acct, 80, "topup", NULL, NULL, 0, NULL), 0);
    assert_int_equal(balance(acct), 60);
    lots_of(acct, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.l[1].amount, 30);
    assert_int_equal(r.l[1].remaining, 0);
    assert_int_equal(r.l[2].amount, 80);
    assert_int_equal(r.l[2].remaining, 60);
    assert_string_equal(r.l[2].category, "paid");
    assert_string_equal(r.l[1].category, "promotional");
    verify_ok();
}

/* GET /v1/balance's figures in one read: credits left by category, the
 * nearest expiry (all lots expiring then), holds live and due, debt, and
 * 404 for no account. */
static void test_balance_summary(void **state)
{
    char acct[CD_ID_SZ];
    int64_t now = cd_now();
    struct cd_balance v;
    struct cd_hold_op op;
    struct cd_hold h;
    struct cd_error err;

    (void)state;
    fx_new_account(bill.store, acct);
    summary_agrees(acct, &v);
    assert_int_equal(v.balance, 0);
    assert_int_equal(v.next_at, 0);
    grant(acct, 100, "paid", 0, 0);
    grant(acct, 30, "promotional", now + 1000, 0);
    grant(acct, 20, "promotional", now + 1000, 0);
    grant(acct, 10, "paid", now + 2000, 0);
    summary_agrees(acct, &v);
    assert_int_equal(v.balance, 160);
    assert_int_equal(v.paid, 110);
    assert_int_equal(v.promotional, 50);
    assert_int_equal(v.next_at, now + 1000);
    assert_int_equal(v.next_amount, 50);
    memset(&op, 0, sizeof(op));
    op.account_id = acct;
    op.amount = 40;
    op.expires_in = 600;
    op.description = "unit";
    assert_int_equal(cd_hold_create(&bill, &op, &h, &err), 0);
    summary_agrees(acct, &v);
    assert_int_equal(v.held, 40);
    assert_int_equal(v.available, 120);
    /* Past its expiry (not yet swept) the hold keeps nothing. */
    cd_clock_advance(601);
    summary_agrees(acct, &v);
    assert_int_equal(v.held, 0);
    assert_int_equal(v.available, 160);
    /* A debt: nothing left by category, nothing expires. */
    assert_int_equal(post(acct, -200, "refund", NULL, NULL, 1, NULL), 0);
    summary_agrees(acct, &v);
    assert_int_equal(v.balance, -40);
    assert_int_equal(v.debt, 40);
    assert_int_equal(v.paid + v.promotional + v.next_at, 0);
    assert_int_equal(cd_balance_get(&bill, "acct_none", &v, &err), -1);
    assert_string_equal(err.code, "account_not_found");
    verify_ok();
}

/* The sweep writes one expiry entry per lot, whatever number of sweeps. */
static void test_expiry_exactly_once(void **state)
{
    char acct[CD_ID_SZ], e[CD_REF_SZ];
    int64_t now = cd_now(), n = -1;
    struct cd_ledger_entry x;
    struct lots_read r;

    (void)state;
    fx_new_account(bill.store, acct);
    grant(acct, 100, NULL, now + 10, 0);
    grant(acct, 40, "paid", 0, 0);
    assert_int_equal(post(acct, -30, "usage", NULL, NULL, 0, NULL), 0);
    assert_int_equal(cd_lots_sweep(&bill, now, &n), 0);
    assert_int_equal(n, 0); /* not due yet */
    assert_int_equal(cd_lots_sweep(&bill, now + 20, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(cd_lots_sweep(&bill, now + 20, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(balance(acct), 40);
    lots_of(acct, &r);
    assert_int_equal(r.l[0].remaining, 0);
    assert_true(r.l[0].expired_at > 0);
    /* the entry: kind expiry, ref expiry:<lot>, drew the lot's 70 */
    snprintf(e, sizeof(e), "expiry:%s", r.l[0].id);
    entry_by_ref(e, &x);
    assert_string_equal(x.kind, "expiry");
    assert_int_equal(x.amount, -70);
    assert_int_equal(drew(x.id, r.l[0].id), 70);
    verify_ok();
}

/* A debit expires its account's due lots first: it cannot spend them. */
static void test_debit_expires_first(void **state)
{
    char acct[CD_ID_SZ], ref[CD_REF_SZ];
    int64_t now = cd_now();
    struct cd_ledger_entry x;
    struct lots_read r;
    int i;

    (void)state;
    fx_new_account(bill.store, acct);
    grant(acct, 100, NULL, now + 5, 0);
    grant(acct, 10, "paid", 0, 0);
    cd_clock_advance(10);
    assert_int_equal(post(acct, -50, "usage", NULL, NULL, 0, NULL),
                     CD_LEDGER_INSUFFICIENT);
    assert_int_equal(post(acct, -10, "usage", NULL, NULL, 0, NULL), 0);
    assert_int_equal(balance(acct), 0);
    /* written now (the debit's time), effective at the lot's expiry */
    lots_of(acct, &r);
    for (i = 0; i < r.n && r.l[i].expires_at != now + 5; i++)
        ;
    assert_true(i < r.n);
    snprintf(ref, sizeof(ref), "expiry:%s", r.l[i].id);
    entry_by_ref(ref, &x);
    assert_int_equal(x.effective_at, now + 5);
    assert_true(x.created_at >= now + 10);
    verify_ok();
}

/* Without the hooks (hooks.c) an entry would skip its lot and events:
 * the ledger refuses it and writes nothing. */
static void test_no_hooks_writes_nothing(void **state)
{
    char acct[CD_ID_SZ];

    (void)state;
    fx_new_account(bill.store, acct);
    cd_ledger_hooks_set(NULL);
    assert_int_equal(post(acct, 100, "grant", NULL, NULL, 0, NULL),
                     CD_STORE_ERROR);
    cd_billing_hooks_install();
    assert_int_equal(balance(acct), 0);
    assert_int_equal(post(acct, 100, "grant", NULL, NULL, 0, NULL), 0);
    assert_int_equal(balance(acct), 100);
    verify_ok();
}

/* The check sees a lot that disagrees with the balance. */
static int take_fn(struct cd_tx *tx, void *arg)
{
    const struct cd_lot *l = arg;

    return cd_store_lot_take(tx, l->id, 1);
}

static void test_verify_sees_lots(void **state)
{
    char acct[CD_ID_SZ];
    struct cd_ledger_check c;
    struct cd_error err;
    struct lots_read r;

    (void)state;
    fx_new_account(bill.store, acct);
    grant(acct, 100, NULL, 0, 0);
    lots_of(acct, &r);
    assert_int_equal(cd_store_write(bill.store, take_fn, &r.l[0]), 0);
    assert_int_equal(cd_ledger_verify(&bill, &c, NULL, NULL, &err), 0);
    assert_int_equal(c.mismatches, 0);
    assert_int_equal(c.lot_mismatches, 1);
}

/* A plan whose credits expire at the period's end keeps up to its
 * rollover_cap for one more period, then expires that too; once each. */
static void test_subscription_rollover(void **state)
{
    char acct[CD_ID_SZ], ref[CD_REF_SZ];
    int64_t now = cd_now(), n = 0;
    struct cd_lot_spec spec;
    const struct cd_lot_spec *sp;
    struct cd_ledger_entry x;
    struct cd_order o;
    struct lots_read r;

    (void)state;
    memset(&bill.cfg.plans[0], 0, sizeof(bill.cfg.plans[0]));
    strcpy(bill.cfg.plans[0].id, "weekly");
    strcpy(bill.cfg.plans[0].interval, "week");
    bill.cfg.plans[0].credits_per_period = 500;
    bill.cfg.plans[0].credits_expire_period_end = 1;
    bill.cfg.plans[0].rollover_cap = 100;
    bill.cfg.nplans = 1;
    cd_lots_init(&bill.cfg);
    fx_new_account(bill.store, acct);
    fx_order_init(&o, acct, "invoice", 500, 500);
    strcpy(o.item_id, "weekly");
    fx_order_insert(bill.store, &o);
    sp = cd_lots_order_spec(&o, now + 10, now, &spec);
    assert_non_null(sp);
    assert_int_equal(sp->expires_at, now + 10);
    assert_int_equal(post(acct, 500, "subscription", o.id, sp, 0, NULL), 0);
    assert_int_equal(post(acct, -150, "usage", NULL, NULL, 0, NULL), 0);

    assert_int_equal(cd_lots_sweep(&bill, now + 20, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(balance(acct), 100); /* 250 expired, 100 rolled */
    lots_of(acct, &r);
    assert_int_equal(r.l[0].remaining, 100);
    assert_int_equal(r.l[0].expires_at, now + 10 + 7 * 86400);
    assert_int_equal(r.l[0].rolled, 1);
    snprintf(ref, sizeof(ref), "expiry:%s", r.l[0].id);
    entry_by_ref(ref, &x);
    assert_int_equal(x.amount, -250);
    assert_int_equal(cd_lots_sweep(&bill, now + 20, &n), 0);
    assert_int_equal(n, 0);
    verify_ok();

    assert_int_equal(cd_lots_sweep(&bill, now + 11 + 7 * 86400, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(balance(acct), 0);
    snprintf(ref, sizeof(ref), "expiry:%s:rolled", r.l[0].id);
    entry_by_ref(ref, &x);
    assert_int_equal(x.amount, -100);
    verify_ok();
    /* a plan without the setting: its credits never expire */
    bill.cfg.plans[0].credits_expire_period_end = 0;
    assert_null(cd_lots_order_spec(&o, now + 10, now, &spec));
    cd_lots_init(NULL);
}

/* Two nodes sweeping the same due lots at once (two stores on one
 * database, as two processes would be; the lease normally keeps one):
 * every lot still gets exactly one expiry entry. */
struct node {
    struct cd_billing b;
    int64_t now, n;
    int rc;
};

static void *sweep_thread(void *arg)
{
    struct node *nd = arg;

    nd->rc = cd_lots_sweep(&nd->b, nd->now, &nd->n);
    return NULL;
}

static void test_two_nodes_sweep_once(void **state)
{
    char acct[4][CD_ID_SZ];
    int64_t now = cd_now();
    struct cd_store_config sc;
    struct cd_error err;
    struct node nodes[2];
    pthread_t th[2];

    (void)state;
    for (int a = 0; a < 4; a++) {
        fx_new_account(bill.store, acct[a]);
        for (int i = 0; i < 20; i++)
            grant(acct[a], 10 + i, NULL, now + 5 + i % 3, 0);
        grant(acct[a], 7, "paid", 0, 0);
    }
    memset(nodes, 0, sizeof(nodes));
    for (int k = 0; k < 2; k++) {
        memset(&sc, 0, sizeof(sc));
        sc.path = target.target;
        nodes[k].b.store = cd_store_open(&sc, &err);
        assert_non_null(nodes[k].b.store);
        nodes[k].now = now + 60;
    }
    for (int k = 0; k < 2; k++)
        assert_int_equal(
            pthread_create(&th[k], NULL, sweep_thread, &nodes[k]), 0);
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(nodes[k].rc, 0);
        cd_store_close(nodes[k].b.store);
    }
    assert_int_equal(nodes[0].n + nodes[1].n, 80);
    for (int a = 0; a < 4; a++)
        assert_int_equal(balance(acct[a]), 7);
    verify_ok();
}

/* Migration 016 on a database of version 015 (SQLite): a positive
 * balance becomes one paid lot without expiry, a negative one the debt. */
static void test_migration_makes_lots(void **state)
{
    char dir[] = "/tmp/cd_lots_mig_XXXXXX", path[128], sql[512];
    struct cd_store_config sc;
    struct cd_error err;
    struct lots_read r;
    sqlite3 *db = NULL;

    (void)state;
    if (use_pg)
        return; /* the same SQL in pg/016_lots.sql runs in setup */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/m.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE schema_migrations ("
                                  "version INTEGER PRIMARY KEY, name TEXT "
                                  "NOT NULL, applied_at BIGINT NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < cd_migrations_count && cd_migrations[i].version < 16;
         i++) {
        assert_int_equal(
            sqlite3_exec(db, cd_migrations[i].sql, NULL, NULL, NULL),
            SQLITE_OK);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_migrations (version, "
                 "name, applied_at) VALUES (%d, '%s', 1)",
                 cd_migrations[i].version, cd_migrations[i].name);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    assert_int_equal(
        sqlite3_exec(
            db,
            "INSERT INTO accounts (id, email, balance, created_at) VALUES "
            "('acct_pos', 'p@x', 70, 1), ('acct_neg', 'n@x', -20, 1), "
            "('acct_zero', 'z@x', 0, 1);"
            "INSERT INTO ledger (id, account_id, amount, balance_after, kind, "
            "ref, created_at) VALUES ('t1', 'acct_pos', 70, 70, 'grant', 'r1', "
            "1), ('t2', 'acct_neg', -20, -20, 'refund', 'r2', 1)",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    cd_store_close(bill.store);
    memset(&sc, 0, sizeof(sc));
    sc.path = path;
    bill.store = cd_store_open(&sc, &err);
    assert_non_null(bill.store);
    lots_of("acct_pos", &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.l[0].remaining, 70);
    assert_int_equal(r.l[0].expires_at, 0);
    assert_string_equal(r.l[0].category, "paid");
    assert_string_equal(r.l[0].source, "migrated");
    lots_of("acct_neg", &r);
    assert_int_equal(r.n, 0);
    verify_ok();
    grant("acct_neg", 50, NULL, 0, 0); /* repays 20 */
    assert_int_equal(balance("acct_neg"), 30);
    verify_ok();
    snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
    assert_int_equal(system(sql), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_draw_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_order_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_debt_repaid_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_balance_summary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expiry_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_debit_expires_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_hooks_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_sees_lots, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_makes_lots, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_subscription_rollover, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes_sweep_once, setup,
                                        teardown),
    };
    int failed;

    cd_billing_hooks_install(); /* the ledger's effects */
    failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
