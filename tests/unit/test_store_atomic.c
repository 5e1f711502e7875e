/*
 * test_store_atomic.c - the guarded writes of store.h that replace
 * read-then-write in jobs: cd_store_ledger_post (the balance change as
 * one guarded UPDATE ... RETURNING plus its ledger row) and
 * cd_store_order_insert_reserving (a discount use reserved by one
 * conditional INSERT ... SELECT). Jobs keep their writes (return 0) even
 * when the store refused, so a refusal that wrote anything would show.
 *
 * A contract: the group runs on SQLite, and again on PostgreSQL when
 * CD_TEST_PG_URL names a server (store_target.h).
 *
 * Jobs never call cmocka asserts (they run on the writer thread).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"
#include "util/util.h"

struct fixture {
    struct store_target t;
    struct cd_store *s;
};

/* Which backend this group runs on (main runs the group per backend). */
static int use_pg;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (!f ||
        !(f->s = store_target_open(&f->t, use_pg, "cd_store_atomic", 0)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_target_close(&f->t, f->s);
    free(f);
    return 0;
}

/* ---- jobs ------------------------------------------------------------ */

static int account_fn(struct cd_tx *tx, void *arg)
{
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    cd_strlcpy(a.id, arg, sizeof(a.id));
    snprintf(a.email, sizeof(a.email), "%s@example.com", (char *)arg);
    cd_strlcpy(a.password_hash, "x", sizeof(a.password_hash));
    a.created_at = 1;
    return cd_store_account_insert(tx, &a);
}

static void add_account(struct cd_store *s, const char *id)
{
    assert_int_equal(cd_store_write(s, account_fn, (void *)id), 0);
}

struct post {
    const char *acct, *ref;
    int64_t amount, lo, hi;
    int rc;
    struct cd_ledger_entry out;
};

static int post_fn(struct cd_tx *tx, void *arg)
{
    struct post *p = arg;
    struct cd_ledger_entry e;

    memset(&e, 0, sizeof(e));
    cd_random_id("txn_", e.id, sizeof(e.id));
    cd_strlcpy(e.account_id, p->acct, sizeof(e.account_id));
    cd_strlcpy(e.kind, p->amount > 0 ? "grant" : "usage", sizeof(e.kind));
    cd_strlcpy(e.ref, p->ref, sizeof(e.ref));
    e.amount = p->amount;
    e.created_at = cd_now();
    p->rc = cd_store_ledger_post(tx, &e, p->lo, p->hi, &p->out);
    return 0; /* keep whatever was written: a refusal must write nothing */
}

static int post(struct cd_store *s, const char *acct, const char *ref,
                int64_t amount, int64_t lo, int64_t hi, int64_t *after)
{
    struct post p;

    memset(&p, 0, sizeof(p));
    p = (struct post){.acct = acct,
                      .ref = ref,
                      .amount = amount,
                      .lo = lo,
                      .hi = hi,
                      .rc = -99};

    assert_int_equal(cd_store_write(s, post_fn, &p), 0);
    if (p.rc == CD_STORE_OK && after)
        *after = p.out.balance_after;
    return p.rc;
}

struct check {
    const char *acct;
    int64_t balance, entries, mismatches;
};

static int mismatch_cb(const char *id, int64_t b, int64_t sum, void *arg)
{
    (void)id;
    (void)b;
    (void)sum;
    ((struct check *)arg)->mismatches++;
    return 0;
}

static int count_cb(const struct cd_ledger_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    return 0;
}

static int check_fn(struct cd_tx *tx, void *arg)
{
    struct check *c = arg;
    struct cd_account a;
    int64_t n, sb, se;

    if (cd_store_account_get(tx, c->acct, &a) != CD_STORE_OK)
        return -1;
    c->balance = a.balance;
    if (cd_store_ledger_list(tx, c->acct, 0, 0, count_cb, NULL,
                             &c->entries) != CD_STORE_OK)
        return -1;
    return cd_store_ledger_verify(tx, &n, &sb, &se, mismatch_cb, c);
}

static struct check check(struct cd_store *s, const char *acct)
{
    struct check c = {acct, 0, 0, 0};

    assert_int_equal(cd_store_read(s, check_fn, &c), 0);
    assert_int_equal(c.mismatches, 0);
    return c;
}

#define LIM CD_BALANCE_LIMIT

/* ---- ledger_post ------------------------------------------------------ */

static void test_post_guards(void **state)
{
    struct fixture *f = *state;
    int64_t after = -1;

    add_account(f->s, "acct_a");
    assert_int_equal(post(f->s, "acct_a", "r1", 100, -LIM, LIM, &after),
                     CD_STORE_OK);
    assert_int_equal(after, 100);
    assert_int_equal(post(f->s, "acct_a", "r2", -30, 0, LIM, &after),
                     CD_STORE_OK);
    assert_int_equal(after, 70);
    /* Below the floor: refused, nothing written. */
    assert_int_equal(post(f->s, "acct_a", "r3", -71, 0, LIM, NULL),
                     CD_STORE_GUARD);
    /* Above the ceiling. */
    assert_int_equal(post(f->s, "acct_a", "r4", 31, -LIM, 100, NULL),
                     CD_STORE_GUARD);
    /* Exactly at both bounds passes. */
    assert_int_equal(post(f->s, "acct_a", "r5", 30, -LIM, 100, &after),
                     CD_STORE_OK);
    assert_int_equal(post(f->s, "acct_a", "r6", -100, 0, LIM, &after),
                     CD_STORE_OK);
    assert_int_equal(after, 0);
    /* A floor below zero lets a debit overdraw. */
    assert_int_equal(post(f->s, "acct_a", "r7", -5, -LIM, LIM, &after),
                     CD_STORE_OK);
    assert_int_equal(after, -5);
    assert_int_equal(post(f->s, "acct_nobody", "r8", 5, -LIM, LIM, NULL),
                     CD_STORE_NOT_FOUND);
    assert_int_equal(
        post(f->s, "acct_a", "r9", CD_AMOUNT_MAX + 1, -LIM, LIM, NULL),
        CD_STORE_ERROR);

    struct check c = check(f->s, "acct_a");
    assert_int_equal(c.balance, -5);
    assert_int_equal(c.entries, 5);
}

static void test_post_duplicate_ref_undone(void **state)
{
    struct fixture *f = *state;
    int64_t after = -1;

    add_account(f->s, "acct_d");
    assert_int_equal(post(f->s, "acct_d", "same", 10, -LIM, LIM, &after),
                     CD_STORE_OK);
    /* The same ref again: DUPLICATE, and the job that keeps its writes
     * must not keep a balance change. */
    assert_int_equal(post(f->s, "acct_d", "same", 10, -LIM, LIM, NULL),
                     CD_STORE_DUPLICATE);
    assert_int_equal(post(f->s, "acct_d", "same", -3, 0, LIM, NULL),
                     CD_STORE_DUPLICATE);

    struct check c = check(f->s, "acct_d");
    assert_int_equal(c.balance, 10);
    assert_int_equal(c.entries, 1);
}

#define THREADS 8
#define PER_THREAD 10

struct racer {
    struct cd_store *s;
    int index, ok, refused, other;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        char ref[64];
        struct post p = {.acct = "acct_r",
                         .ref = ref,
                         .amount = -1,
                         .lo = 0,
                         .hi = LIM,
                         .rc = -99};

        snprintf(ref, sizeof(ref), "debit:%d:%d", r->index, i);
        if (cd_store_write(r->s, post_fn, &p) != 0)
            r->other++;
        else if (p.rc == CD_STORE_OK)
            r->ok++;
        else if (p.rc == CD_STORE_GUARD)
            r->refused++;
        else
            r->other++;
    }
    return NULL;
}

/* 80 debits of 1 from 50 on 8 threads: exactly 50 pass, the balance is 0
 * and never below, the ledger matches. */
static void test_post_concurrent_overdraw(void **state)
{
    struct fixture *f = *state;
    struct racer r[THREADS];
    pthread_t t[THREADS];
    int ok = 0, refused = 0;

    add_account(f->s, "acct_r");
    assert_int_equal(post(f->s, "acct_r", "fund", 50, -LIM, LIM, NULL),
                     CD_STORE_OK);
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){f->s, i, 0, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].other, 0);
        ok += r[i].ok;
        refused += r[i].refused;
    }
    assert_int_equal(ok, 50);
    assert_int_equal(refused, THREADS * PER_THREAD - 50);

    struct check c = check(f->s, "acct_r");
    assert_int_equal(c.balance, 0);
    assert_int_equal(c.entries, 51);
}

/* ---- discount reservation --------------------------------------------- */

struct disc {
    const char *code;
    int64_t max_uses, expires_at;
    int active;
};

static int disc_fn(struct cd_tx *tx, void *arg)
{
    const struct disc *d = arg;
    struct cd_discount row;

    memset(&row, 0, sizeof(row));
    cd_strlcpy(row.code, d->code, sizeof(row.code));
    row.percent_off = 10;
    row.max_uses = d->max_uses;
    row.expires_at = d->expires_at;
    row.active = d->active;
    row.created_at = 1;
    return cd_store_discount_insert(tx, &row);
}

struct reserve {
    const char *id, *acct, *code;
    int64_t created_at, since;
    int rc;
};

static int reserve_fn(struct cd_tx *tx, void *arg)
{
    struct reserve *r = arg;
    struct cd_order o;

    memset(&o, 0, sizeof(o));
    cd_strlcpy(o.id, r->id, sizeof(o.id));
    cd_strlcpy(o.account_id, r->acct, sizeof(o.account_id));
    cd_strlcpy(o.kind, "access", sizeof(o.kind));
    cd_strlcpy(o.status, "pending", sizeof(o.status));
    cd_strlcpy(o.discount_code, r->code, sizeof(o.discount_code));
    cd_strlcpy(o.currency, "usd", sizeof(o.currency));
    o.amount_cents = 900;
    o.discount_cents = 100;
    o.created_at = o.updated_at = r->created_at;
    r->rc = cd_store_order_insert_reserving(tx, &o, r->since);
    return 0;
}

static int reserve(struct cd_store *s, const char *id, const char *acct,
                   const char *code, int64_t at, int64_t since)
{
    struct reserve r = {id, acct, code, at, since, -99};

    assert_int_equal(cd_store_write(s, reserve_fn, &r), 0);
    return r.rc;
}

static int order_exists_fn(struct cd_tx *tx, void *arg)
{
    struct cd_order o;

    return cd_store_order_get(tx, arg, &o);
}

static void test_reserve_counts_other_holds(void **state)
{
    struct fixture *f = *state;
    struct disc two = {"TWO", 2, 0, 1};

    add_account(f->s, "acct_1");
    add_account(f->s, "acct_2");
    add_account(f->s, "acct_3");
    assert_int_equal(cd_store_write(f->s, disc_fn, &two), 0);
    assert_int_equal(reserve(f->s, "ord_1", "acct_1", "TWO", 1000, 0),
                     CD_STORE_OK);
    assert_int_equal(reserve(f->s, "ord_2", "acct_2", "TWO", 1001, 0),
                     CD_STORE_OK);
    /* Two holds of other accounts: the third account is refused. */
    assert_int_equal(reserve(f->s, "ord_3", "acct_3", "TWO", 1002, 0),
                     CD_STORE_GUARD);
    assert_int_equal(cd_store_read(f->s, order_exists_fn, "ord_3"),
                     CD_STORE_NOT_FOUND);
    /* An account's own hold does not count against it. */
    assert_int_equal(reserve(f->s, "ord_4", "acct_1", "TWO", 1003, 0),
                     CD_STORE_OK);
    /* Holds older than hold_since no longer count: only ord_4 now. */
    assert_int_equal(reserve(f->s, "ord_5", "acct_3", "TWO", 1004, 1002),
                     CD_STORE_OK);
    assert_int_equal(reserve(f->s, "ord_5", "acct_3", "TWO", 1004, 5000),
                     CD_STORE_DUPLICATE);
}

static void test_reserve_refuses_unusable(void **state)
{
    struct fixture *f = *state;
    struct disc off = {"OFF", 0, 0, 0};
    struct disc old = {"OLD", 0, 500, 1};
    struct disc any = {"ANY", 0, 0, 1};

    add_account(f->s, "acct_1");
    assert_int_equal(cd_store_write(f->s, disc_fn, &off), 0);
    assert_int_equal(cd_store_write(f->s, disc_fn, &old), 0);
    assert_int_equal(cd_store_write(f->s, disc_fn, &any), 0);
    assert_int_equal(reserve(f->s, "ord_a", "acct_1", "OFF", 100, 0),
                     CD_STORE_GUARD);
    assert_int_equal(reserve(f->s, "ord_b", "acct_1", "OLD", 500, 0),
                     CD_STORE_GUARD);
    assert_int_equal(reserve(f->s, "ord_c", "acct_1", "OLD", 499, 0),
                     CD_STORE_OK);
    assert_int_equal(reserve(f->s, "ord_d", "acct_1", "NOPE", 100, 0),
                     CD_STORE_GUARD);
    /* max_uses 0: unlimited. */
    for (int i = 0; i < 5; i++) {
        char id[16];

        snprintf(id, sizeof(id), "ord_u%d", i);
        assert_int_equal(reserve(f->s, id, "acct_1", "ANY", 100, 0),
                         CD_STORE_OK);
    }
}

/* ---- serialization failures (PostgreSQL) ------------------------------ */

/* Two stores on one database (two nodes): each runs a job that reads a
 * counter, waits until the other job has read it too (first attempt
 * only), then writes counter + 1. Under SERIALIZABLE one of them fails
 * (40001) and its batch runs again: the counter ends at 2, never 1. */
struct rmw {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int read_count;
    int timed_out; /* the other reader never came */
};

struct rmw_job {
    struct rmw *shared;
    int attempts;
};

static int rmw_fn(struct cd_tx *tx, void *arg)
{
    struct rmw_job *j = arg;
    struct rmw *r = j->shared;
    char v[32];
    struct timespec until;

    if (cd_store_kv_get(tx, "counter", v, sizeof(v)) != CD_STORE_OK)
        return -1;
    if (j->attempts++ == 0) {
        /* The other reader only needs to start its transaction: the
         * bound is a guard against a hang, far beyond any load, and
         * running out of it fails the test with its own message. */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 120;
        pthread_mutex_lock(&r->mu);
        r->read_count++;
        pthread_cond_broadcast(&r->cv);
        while (r->read_count < 2 && !r->timed_out)
            if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0)
                r->timed_out = 1;
        pthread_mutex_unlock(&r->mu);
    }
    snprintf(v, sizeof(v), "%lld", strtoll(v, NULL, 10) + 1);
    return cd_store_kv_put(tx, "counter", v, 1);
}

struct rmw_thread {
    struct cd_store *s;
    struct rmw_job job;
    int rc;
};

static void *rmw_main(void *arg)
{
    struct rmw_thread *t = arg;

    t->rc = cd_store_write(t->s, rmw_fn, &t->job);
    return NULL;
}

static int put_zero_fn(struct cd_tx *tx, void *arg)
{
    (void)arg;
    return cd_store_kv_put(tx, "counter", "0", 1);
}

static int get_counter_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_kv_get(tx, "counter", arg, 32);
}

static void test_serialization_failure_retried(void **state)
{
    struct fixture *f = *state;
    struct cd_store_config cfg = {.path = f->t.target};
    struct cd_error err = {0};
    struct cd_store *other;
    struct rmw shared = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                         0, 0};
    struct rmw_thread t[2];
    pthread_t th[2];
    struct cd_store_stats st[2];
    char v[32];

    if (!use_pg) {
        skip(); /* one writer per SQLite file: nothing to serialize */
        return;
    }
    other = cd_store_open(&cfg, &err);
    assert_non_null(other);
    assert_int_equal(cd_store_write(f->s, put_zero_fn, NULL), 0);
    for (int i = 0; i < 2; i++) {
        t[i] = (struct rmw_thread){i ? other : f->s, {&shared, 0}, -99};
        assert_int_equal(pthread_create(&th[i], NULL, rmw_main, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].rc, 0);
    }
    assert_int_equal(shared.timed_out, 0);
    assert_int_equal(cd_store_read(f->s, get_counter_fn, v), 0);
    assert_string_equal(v, "2");
    cd_store_get_stats(f->s, &st[0]);
    cd_store_get_stats(other, &st[1]);
    assert_int_equal(st[0].retries + st[1].retries, 1);
    assert_int_equal(t[0].job.attempts + t[1].job.attempts, 3);
    cd_store_close(other);
}

/* PostgreSQL refuses a database whose schema is newer than the binary,
 * as SQLite does (test_store_basic). */
static void test_pg_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    struct cd_store_config cfg = {.path = f->t.target};
    struct cd_error err = {0};
    PGconn *c;
    PGresult *r;

    if (!use_pg) {
        skip();
        return;
    }
    cd_store_close(f->s);
    f->s = NULL;
    c = PQconnectdb(f->t.target);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "INSERT INTO schema_migrations VALUES (999, 'future', 1)");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    assert_null(cd_store_open(&cfg, &err));
    assert_string_equal(err.code, "store_schema_newer");
}

/* Four processes' worth of stores opening one empty database at the same
 * moment: each migration is applied once and every open succeeds. */
struct opener {
    const char *target;
    struct cd_store *s;
    char why[256];
};

static void *opener_main(void *arg)
{
    struct opener *o = arg;
    struct cd_store_config cfg = {.path = o->target};
    struct cd_error err = {0};

    o->s = cd_store_open(&cfg, &err);
    cd_strlcpy(o->why, err.message, sizeof(o->why));
    return NULL;
}

static int version_fn(struct cd_tx *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 0;
}

static void test_concurrent_first_open(void **state)
{
    struct fixture *f = *state;
    struct store_target fresh;
    struct opener o[4];
    pthread_t t[4];

    (void)f;
    assert_int_equal(store_target_make(&fresh, use_pg, "cd_store_open4"), 0);
    for (int i = 0; i < 4; i++) {
        o[i] = (struct opener){fresh.target, NULL, ""};
        assert_int_equal(pthread_create(&t[i], NULL, opener_main, &o[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        if (!o[i].s)
            print_error("open %d: %s\n", i, o[i].why);
        assert_non_null(o[i].s);
        assert_int_equal(cd_store_read(o[i].s, version_fn, NULL), 0);
        assert_true(cd_store_schema_version(o[i].s) >= 9);
    }
    for (int i = 0; i < 4; i++)
        cd_store_close(o[i].s);
    store_target_drop(&fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_duplicate_ref_undone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_post_concurrent_overdraw, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reserve_counts_other_holds,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_refuses_unusable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serialization_failure_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_refuses_newer_schema, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup,
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
