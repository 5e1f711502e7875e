/*
 * test_store_writers.c - the write executor with several writer threads
 * (cd_store_config.writers; PostgreSQL, SQLite keeps one): many
 * submitters over few accounts, keyed and not, give exact balances with no
 * job lost or run twice (jobs of one account on different writers lose
 * their transaction and are retried); the jobs of one key run in the order
 * they were queued; close drains every writer's queue; and a deadlock
 * between two writers' transactions is resolved by the retry; a job that
 * keeps losing to another writer runs alone from its fourth run on; a job
 * whose transaction is lost sends no further statement of it.
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

#include <cmocka.h>

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"
#include "util/util.h"

#define WRITERS 4
#define ACCOUNTS 3
#define THREADS 8
#define JOBS 60 /* per thread */

struct fixture {
    struct store_target t;
    struct cd_store *s;
};

/* Which backend this group runs on (main runs the group per backend). */
static int use_pg;

static struct cd_store *open_store(const char *target, int writers)
{
    struct cd_store_config cfg = {.path = target, .writers = writers};
    struct cd_error err = {0};
    struct cd_store *s = cd_store_open(&cfg, &err);

    if (!s)
        print_error("open: %s\n", err.message);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = CD_LOG_ERROR + 1;
    if (!f || store_target_make(&f->t, use_pg, "cd_store_writers") != 0)
        return -1;
    f->s = open_store(f->t.target, WRITERS);
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

/* ---- jobs -------------------------------------------------------------- */

/* One credit to acct under a unique ref, read-then-write (the balance
 * read, the entry and the new balance); want >= 0: fail (1) unless the
 * balance before is want, to check the order of one key's jobs. */
struct credit {
    struct cd_store_async a;
    char acct[32];
    char ref[48];
    int64_t want;
    int calls, rc;
    int *left; /* completions still due, under mu */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static int add_credit(struct cd_tx *tx, void *arg)
{
    struct credit *cr = arg;
    struct cd_account a;
    struct cd_ledger_entry e;
    int rc;

    if ((rc = cd_store_account_get(tx, cr->acct, &a)) != 0)
        return rc;
    if (cr->want >= 0 && a.balance != cr->want)
        return 1;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "txn_%s", cr->ref);
    cd_strlcpy(e.account_id, cr->acct, sizeof(e.account_id));
    e.amount = 1;
    e.balance_after = a.balance + 1;
    cd_strlcpy(e.kind, "grant", sizeof(e.kind));
    cd_strlcpy(e.ref, cr->ref, sizeof(e.ref));
    e.created_at = 1000;
    if ((rc = cd_store_ledger_insert(tx, &e)) != 0)
        return rc;
    return cd_store_account_set_balance(tx, cr->acct, a.balance + 1);
}

static void credit_done(void *arg, int rc)
{
    struct credit *cr = arg;

    pthread_mutex_lock(&mu);
    cr->rc = rc;
    cr->calls++;
    if (--*cr->left == 0)
        pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void credit_init(struct credit *cr, const char *acct, const char *ref,
                        int64_t want, int *left)
{
    memset(cr, 0, sizeof(*cr));
    cd_strlcpy(cr->acct, acct, sizeof(cr->acct));
    cd_strlcpy(cr->ref, ref, sizeof(cr->ref));
    cr->want = want;
    cr->left = left;
    cr->a.fn = add_credit;
    cr->a.arg = cr;
    cr->a.done = credit_done;
    cr->a.done_arg = cr;
}

/* Waits (bounded: 60 s) until *left is 0; returns what is left. */
static int wait_left(int *left)
{
    struct timespec until;
    int n;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&mu);
    while (*left > 0 && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    n = *left;
    pthread_mutex_unlock(&mu);
    return n;
}

struct state {
    int64_t balance, entries, n, sb, se;
    int mismatches;
    const char *acct;
};

static int on_mismatch(const char *id, int64_t b, int64_t s, void *arg)
{
    ((struct state *)arg)->mismatches++;
    return 0;
}

static int count_entry(const struct cd_ledger_entry *e, void *arg)
{
    return 0;
}

static int read_state(struct cd_tx *tx, void *arg)
{
    struct state *st = arg;
    struct cd_account a;
    int rc;

    if ((rc = cd_store_account_get(tx, st->acct, &a)) != 0)
        return rc;
    st->balance = a.balance;
    if ((rc = cd_store_ledger_list(tx, st->acct, 0, 0, count_entry, NULL,
                                   &st->entries)) != 0)
        return rc;
    return cd_store_ledger_verify(tx, &st->n, &st->sb, &st->se, on_mismatch,
                                  st);
}

static struct state get_state(struct cd_store *s, const char *acct)
{
    struct state st;

    memset(&st, 0, sizeof(st));
    st.acct = acct;
    assert_int_equal(cd_store_read(s, read_state, &st), 0);
    return st;
}

static void make_accounts(struct cd_store *s, int n)
{
    char id[32];

    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "acct_%d", i);
        assert_int_equal(cd_store_write(s, store_target_make_account, id), 0);
    }
}

/* ---- many submitters --------------------------------------------------- */

struct load {
    struct cd_store *s;
    int t;
    struct credit *jobs;
    int *left;
};

/* Thread t's JOBS credits over the accounts: two of three submitted with
 * the account as key, one without (it may run on any writer, beside the
 * account's own); every fifth a blocking cd_store_write_keyed instead. */
static void *load_thread(void *arg)
{
    struct load *l = arg;
    char acct[32], ref[48];

    for (int i = 0; i < JOBS; i++) {
        struct credit *cr = &l->jobs[i];

        snprintf(acct, sizeof(acct), "acct_%d", (l->t + i) % ACCOUNTS);
        snprintf(ref, sizeof(ref), "t%d_%d", l->t, i);
        credit_init(cr, acct, ref, -1, l->left);
        cr->a.key = i % 3 == 2 ? NULL : cr->acct;
        if (i % 5 == 4)
            credit_done(
                cr, cd_store_write_keyed(l->s, cr->a.key, add_credit, cr));
        else if (cd_store_submit(l->s, &cr->a) != 0)
            return NULL;
    }
    return NULL;
}

static void test_many_submitters(void **state)
{
    struct fixture *f = *state;
    struct credit *jobs = calloc(THREADS * JOBS, sizeof(*jobs));
    struct load l[THREADS];
    pthread_t th[THREADS];
    int left = THREADS * JOBS;
    int64_t total = 0;
    struct cd_store_stats stats;
    char acct[32];

    assert_non_null(jobs);
    assert_int_equal(cd_store_writers(f->s), use_pg ? WRITERS : 1);
    make_accounts(f->s, ACCOUNTS);
    for (int t = 0; t < THREADS; t++) {
        l[t] = (struct load){f->s, t, jobs + t * JOBS, &left};
        assert_int_equal(pthread_create(&th[t], NULL, load_thread, &l[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(wait_left(&left), 0);
    for (int i = 0; i < THREADS * JOBS; i++) {
        assert_int_equal(jobs[i].calls, 1);
        assert_int_equal(jobs[i].rc, 0);
    }
    for (int i = 0; i < ACCOUNTS; i++) {
        struct state st;

        snprintf(acct, sizeof(acct), "acct_%d", i);
        st = get_state(f->s, acct);
        assert_int_equal(st.balance, st.entries);
        assert_int_equal(st.mismatches, 0);
        total += st.balance;
    }
    assert_int_equal(total, THREADS * JOBS);
    cd_store_get_stats(f->s, &stats);
    print_message("%d jobs on %d writers: %llu commits, %llu retries\n",
                  THREADS * JOBS, cd_store_writers(f->s),
                  (unsigned long long)stats.commits,
                  (unsigned long long)stats.retries);
    free(jobs);
}

/* The jobs of one key run in their queue order (job i sees balance i),
 * while other keys' jobs run beside them. */
static void test_key_order(void **state)
{
    struct fixture *f = *state;
    enum { N = 200 };
    struct credit *jobs = calloc(2 * N, sizeof(*jobs));
    int left = 2 * N;
    char ref[48];

    assert_non_null(jobs);
    make_accounts(f->s, 2);
    for (int i = 0; i < N; i++) {
        snprintf(ref, sizeof(ref), "o%d", i);
        credit_init(&jobs[i], "acct_0", ref, i, &left);
        jobs[i].a.key = "acct_0";
        assert_int_equal(cd_store_submit(f->s, &jobs[i].a), 0);
        snprintf(ref, sizeof(ref), "p%d", i);
        credit_init(&jobs[N + i], "acct_1", ref, i, &left);
        jobs[N + i].a.key = "acct_1";
        assert_int_equal(cd_store_submit(f->s, &jobs[N + i].a), 0);
    }
    assert_int_equal(wait_left(&left), 0);
    for (int i = 0; i < 2 * N; i++)
        assert_int_equal(jobs[i].rc, 0);
    assert_int_equal(get_state(f->s, "acct_0").balance, N);
    assert_int_equal(get_state(f->s, "acct_1").balance, N);
    free(jobs);
}

/* close() with jobs queued on every writer: each runs, its completion
 * once, before close returns; reopened, the balances are exact. */
static void test_close_drains_all(void **state)
{
    struct fixture *f = *state;
    enum { N = 400 };
    struct credit *jobs = calloc(N, sizeof(*jobs));
    int left = N;
    char acct[32], ref[48];

    assert_non_null(jobs);
    make_accounts(f->s, 8);
    for (int i = 0; i < N; i++) {
        snprintf(acct, sizeof(acct), "acct_%d", i % 8);
        snprintf(ref, sizeof(ref), "c%d", i);
        credit_init(&jobs[i], acct, ref, -1, &left);
        jobs[i].a.key = i % 2 ? jobs[i].acct : NULL;
        assert_int_equal(cd_store_submit(f->s, &jobs[i].a), 0);
    }
    cd_store_close(f->s);
    f->s = NULL;
    assert_int_equal(left, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].calls, 1);
        assert_int_equal(jobs[i].rc, 0);
    }
    f->s = open_store(f->t.target, WRITERS);
    assert_non_null(f->s);
    for (int i = 0; i < 8; i++) {
        snprintf(acct, sizeof(acct), "acct_%d", i);
        assert_int_equal(get_state(f->s, acct).balance, N / 8);
    }
    free(jobs);
}

/* ---- a deadlock between two writers ------------------------------------ */

/* Updates first, then (once the other job updated its first, bounded:
 * 5 s) second: two of them in opposite orders on two writers deadlock. */
struct cross {
    struct cd_store *s;
    const char *first, *second;
    int *mine, *other; /* set once the first update is done */
    int runs, rc;
};

static int bump(struct cd_tx *tx, const char *acct)
{
    struct cd_account a;
    int rc;

    if ((rc = cd_store_account_get(tx, acct, &a)) != 0)
        return rc;
    return cd_store_account_set_balance(tx, acct, a.balance + 1);
}

static int cross_job(struct cd_tx *tx, void *arg)
{
    struct cross *x = arg;
    int rc;

    x->runs++;
    if ((rc = bump(tx, x->first)) != 0)
        return rc;
    __atomic_store_n(x->mine, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 5000 && !__atomic_load_n(x->other, __ATOMIC_SEQ_CST);
         i++)
        store_target_sleep_ms(1);
    return bump(tx, x->second);
}

static void *cross_thread(void *arg)
{
    struct cross *x = arg;

    x->rc = cd_store_write(x->s, cross_job, x);
    return NULL;
}

static void test_deadlock_retried(void **state)
{
    struct fixture *f = *state;
    int fa = 0, fb = 0;
    struct cross a = {f->s, "acct_0", "acct_1", &fa, &fb, 0, -1};
    struct cross b = {f->s, "acct_1", "acct_0", &fb, &fa, 0, -1};
    struct cd_store_stats before, after;
    pthread_t ta, tb;

    make_accounts(f->s, 2);
    cd_store_get_stats(f->s, &before);
    /* Without keys the two go to the writers in turn: two writers. */
    assert_int_equal(pthread_create(&ta, NULL, cross_thread, &a), 0);
    for (int i = 0; i < 5000 && !__atomic_load_n(&fa, __ATOMIC_SEQ_CST); i++)
        store_target_sleep_ms(1);
    assert_int_equal(pthread_create(&tb, NULL, cross_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    cd_store_get_stats(f->s, &after);
    if (use_pg) /* one of the two lost its transaction and ran again */
        assert_true(after.retries > before.retries && a.runs + b.runs >= 3);
    assert_int_equal(get_state(f->s, "acct_0").balance, 2);
    assert_int_equal(get_state(f->s, "acct_1").balance, 2);
}

/* ---- a job that keeps losing to another writer ------------------------ */

/* The writer index executor.c gives key among n (its FNV-1a), to pick a
 * key on another writer than the loser's. */
static unsigned writer_of(const char *key, unsigned n)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % n;
}

/* The loser reads acct_0, lets the bumper commit a change to it (waiting
 * up to 2 s), then writes it: lost to the bumper's commit each time, until
 * it runs alone and the bumper's job waits for it. */
struct loser {
    struct cd_store *s;
    const char *bump_key;
    int ready, bumped, done, runs, bumps;
};

static int bump_fn(struct cd_tx *tx, void *arg)
{
    return bump(tx, "acct_0");
}

static int loser_job(struct cd_tx *tx, void *arg)
{
    struct loser *l = arg;
    struct cd_account a;
    int rc, run = ++l->runs;

    if ((rc = cd_store_account_get(tx, "acct_0", &a)) != 0)
        return rc;
    __atomic_store_n(&l->ready, run, __ATOMIC_SEQ_CST);
    for (int i = 0;
         i < 2000 && __atomic_load_n(&l->bumped, __ATOMIC_SEQ_CST) < run; i++)
        store_target_sleep_ms(1);
    return cd_store_account_set_balance(tx, "acct_0", a.balance + 1);
}

static void *bumper_thread(void *arg)
{
    struct loser *l = arg;

    for (int n = 1; n <= 40; n++) {
        for (int i = 0;
             i < 5000 && !__atomic_load_n(&l->done, __ATOMIC_SEQ_CST) &&
             __atomic_load_n(&l->ready, __ATOMIC_SEQ_CST) < n;
             i++)
            store_target_sleep_ms(1);
        if (__atomic_load_n(&l->ready, __ATOMIC_SEQ_CST) < n)
            break;
        if (cd_store_write_keyed(l->s, l->bump_key, bump_fn, NULL) == 0)
            l->bumps++;
        __atomic_store_n(&l->bumped, n, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Lost 3 times to another writer of the node, a job runs alone (the other
 * writers wait) and commits: 4 runs, not 17 losses and an error. */
static void test_lost_job_runs_alone(void **state)
{
    struct fixture *f = *state;
    static const char *keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6"};
    struct loser l = {.s = f->s};
    pthread_t bt;
    int rc;

    make_accounts(f->s, 1);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !l.bump_key; i++)
        if (writer_of(keys[i], WRITERS) != writer_of("loser", WRITERS))
            l.bump_key = keys[i];
    assert_non_null(l.bump_key);
    assert_int_equal(pthread_create(&bt, NULL, bumper_thread, &l), 0);
    rc = cd_store_write_keyed(f->s, "loser", loser_job, &l);
    __atomic_store_n(&l.done, 1, __ATOMIC_SEQ_CST);
    pthread_join(bt, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(l.runs, 4);
    assert_int_equal(get_state(f->s, "acct_0").balance, 1 + l.bumps);
}

/* ---- a lost transaction sends nothing more ---------------------------- */

/* Sets acct_0's balance (blocked by the row lock another connection
 * holds, then lost to its commit: 40001 the first time), then reads it:
 * that read fails at once while the transaction is lost. */
struct lost {
    int runs, set_rc[2], get_rc[2];
};

static int lost_job(struct cd_tx *tx, void *arg)
{
    struct lost *l = arg;
    struct cd_account a;
    int run = l->runs++ < 1 ? 0 : 1;

    l->set_rc[run] = cd_store_account_set_balance(tx, "acct_0", 7);
    l->get_rc[run] = cd_store_account_get(tx, "acct_0", &a);
    return l->set_rc[run] != 0 ? l->set_rc[run] : l->get_rc[run];
}

struct lost_call {
    struct cd_store *s;
    struct lost *l;
    int rc;
};

static void *lost_thread(void *arg)
{
    struct lost_call *c = arg;

    c->rc = cd_store_write(c->s, lost_job, c->l);
    return NULL;
}

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    PQclear(r);
    return ok;
}

/* Waits (up to 5 s) until some backend waits for a lock: 1 when one
 * does. */
static int wait_lock_waiter(PGconn *c)
{
    for (int i = 0; i < 5000; i++) {
        PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks "
                                "WHERE NOT granted");
        int n = PQresultStatus(r) == PGRES_TUPLES_OK
                    ? atoi(PQgetvalue(r, 0, 0))
                    : 0;

        PQclear(r);
        if (n > 0)
            return 1;
        store_target_sleep_ms(1);
    }
    return 0;
}

/* A job whose first statement fails with 40001 sends no further
 * statement of its lost transaction (answered at once, no round trip,
 * rather than 25P02 from the server), and the batch is run again and
 * commits once. */
static void test_lost_tx_sends_nothing_more(void **state)
{
    struct fixture *f = *state;
    struct lost l = {0};
    struct lost_call call = {f->s, &l, -1};
    struct cd_store_stats before, after;
    PGconn *other, *watch;
    pthread_t t;

    make_accounts(f->s, 1);
    other = PQconnectdb(f->t.target);
    watch = PQconnectdb(f->t.target);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    assert_int_equal(PQstatus(watch), CONNECTION_OK);
    assert_true(exec_ok(other, "BEGIN"));
    assert_true(exec_ok(other, "UPDATE accounts SET balance = 3 "
                               "WHERE id = 'acct_0'"));
    cd_store_get_stats(f->s, &before);
    assert_int_equal(pthread_create(&t, NULL, lost_thread, &call), 0);
    assert_true(wait_lock_waiter(watch));
    assert_true(exec_ok(other, "COMMIT"));
    pthread_join(t, NULL);
    PQfinish(other);
    PQfinish(watch);
    cd_store_get_stats(f->s, &after);
    assert_int_equal(call.rc, 0);
    assert_int_equal(l.runs, 2);
    assert_int_not_equal(l.set_rc[0], 0);
    assert_int_not_equal(l.get_rc[0], 0); /* not run: the tx was lost */
    assert_int_equal(l.set_rc[1], 0);
    assert_int_equal(l.get_rc[1], 0);
    /* The first run's UPDATE, then the second run's UPDATE and SELECT. */
    assert_int_equal(after.statements - before.statements, 3);
    assert_int_equal(after.retries - before.retries, 1);
    assert_int_equal(after.commits - before.commits, 1);
    assert_int_equal(get_state(f->s, "acct_0").balance, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_submitters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains_all, setup,
                                        teardown),
    };
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test_setup_teardown(test_deadlock_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_job_runs_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_tx_sends_nothing_more,
                                        setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
        failed += cmocka_run_group_tests_name("postgresql deadlock", pg_only,
                                              NULL, NULL);
    }
    return failed;
}
