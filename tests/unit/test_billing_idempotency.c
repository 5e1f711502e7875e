/*
 * test_billing_idempotency.c - the Idempotency-Key protocol against a real
 * SQLite store: claim, replay, reuse, a live claim never taken over, a
 * dead or released one taken over (so the retry runs again under the same
 * effect id), the heartbeat keeping a long request's claim alive,
 * derived effect ids, and a keyed debit that is one job and one commit;
 * the same debits submitted with a completion (cd_ledger_async_*); a
 * replay's job run again after its batch lost its transaction (also on
 * PostgreSQL with CD_TEST_PG_URL).
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

#include "billing/hooks.h"
#include "billing/idempotency.h"
#include "billing/ledger_ops.h"
#include "util/util.h"

#include "billing_fixture.h"

struct fixture {
    struct store_target t;
    struct cd_billing b;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->b.store = store_target_open(&f->t, 0, "cd_test_idem", 0);
    if (!f->b.store)
        return -1;
    *state = f;
    return 0;
}

/* setup on PostgreSQL (CD_TEST_PG_URL). */
static int setup_pg(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->b.store = store_target_open(&f->t, 1, "cd_test_idem", 0);
    if (!f->b.store)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cd_idem_keeper_stop(f->b.idem);
    store_target_close(&f->t, f->b.store);
    free(f);
    return 0;
}

static void claim_init(struct cd_idem_claim *c, const char *key,
                       const char *hash)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->scope, "server:acct_test");
    strcpy(c->key, key);
    snprintf(c->request_hash, sizeof(c->request_hash), "%s", hash);
}

static struct cd_idem_claim *begin(struct fixture *f, const char *key,
                                   const char *hash)
{
    static struct cd_idem_claim c[8];
    static int n;
    struct cd_idem_claim *p = &c[n++ % 8];

    claim_init(p, key, hash);
    assert_int_equal(cd_idem_begin(&f->b, p), 0);
    return p;
}

struct row_read {
    const char *key;
    struct cd_idem row;
};

static int read_row(struct cd_tx *tx, void *arg)
{
    struct row_read *r = arg;

    return cd_store_idem_get(tx, "server:acct_test", r->key, &r->row);
}

static struct cd_idem get_row(struct fixture *f, const char *key)
{
    struct row_read r;

    memset(&r, 0, sizeof(r));
    r.key = key;
    assert_int_equal(cd_store_read(f->b.store, read_row, &r), CD_STORE_OK);
    return r.row;
}

static void test_claim_then_replay(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim *a, *b;

    a = begin(f, "k-replay", "h1");
    assert_int_equal(a->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(a->taken_over, 0);
    /* While it runs: a second request is told it is in progress. */
    b = begin(f, "k-replay", "h1");
    assert_int_equal(b->outcome, CD_IDEM_IN_PROGRESS);
    cd_idem_claim_free(b);
    assert_int_equal(cd_idem_end(&f->b, a, 201, "{\"ok\":1}", 8), 0);
    cd_idem_claim_free(a);
    b = begin(f, "k-replay", "h1");
    assert_int_equal(b->outcome, CD_IDEM_REPLAY);
    assert_int_equal(b->status, 201);
    assert_int_equal(b->body_len, 8);
    assert_memory_equal(b->body, "{\"ok\":1}", 8);
    cd_idem_claim_free(b);
    /* The same key with another request: 409, stored or not. */
    b = begin(f, "k-replay", "h2");
    assert_int_equal(b->outcome, CD_IDEM_REUSED);
    cd_idem_claim_free(b);
}

/* A 5xx keeps the key (Stripe may have been called under it): the retry
 * takes it over at once and runs again; another request is still a 409. */
static void test_5xx_releases_not_deletes(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim *a, *b;
    struct cd_idem row;

    a = begin(f, "k-5xx", "h1");
    assert_int_equal(a->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(cd_idem_end(&f->b, a, 502, "{}", 2), 0);
    cd_idem_claim_free(a);
    row = get_row(f, "k-5xx");
    assert_int_equal(row.status, 0);
    assert_null(row.body);
    assert_int_equal(row.lease_until, 0);
    b = begin(f, "k-5xx", "h2");
    assert_int_equal(b->outcome, CD_IDEM_REUSED);
    cd_idem_claim_free(b);
    b = begin(f, "k-5xx", "h1");
    assert_int_equal(b->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(b->taken_over, 1);
    free(row.body);
    assert_int_equal(cd_idem_end(&f->b, b, 201, "{}", 2), 0);
    cd_idem_claim_free(b);
}

struct plant {
    const char *key;
    int64_t lease_until;
};

static int plant_fn(struct cd_tx *tx, void *arg)
{
    struct plant *p = arg;
    struct cd_idem i;

    memset(&i, 0, sizeof(i));
    strcpy(i.scope, "server:acct_test");
    strcpy(i.key, p->key);
    strcpy(i.request_hash, "h1");
    i.body = "clm_of_another_process";
    i.body_len = strlen(i.body);
    i.created_at = cd_now();
    i.lease_until = p->lease_until;
    return cd_store_idem_insert(tx, &i);
}

/* A claim of another live process (its lease runs) is never taken over;
 * once its lease ended (the process died), the next request takes it. */
static void test_lease_decides_takeover(void **state)
{
    struct fixture *f = *state;
    struct plant live = {"k-live", cd_now_ms() + 60000};
    struct plant dead = {"k-dead", cd_now_ms() - 1};
    struct cd_idem_claim *c;
    struct cd_idem row;

    assert_int_equal(cd_store_write(f->b.store, plant_fn, &live), 0);
    assert_int_equal(cd_store_write(f->b.store, plant_fn, &dead), 0);
    c = begin(f, "k-live", "h1");
    assert_int_equal(c->outcome, CD_IDEM_IN_PROGRESS);
    cd_idem_claim_free(c);
    c = begin(f, "k-dead", "h1");
    assert_int_equal(c->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(c->taken_over, 1);
    /* The dead process coming back late cannot overwrite it. */
    assert_int_equal(cd_idem_end(&f->b, c, 201, "{}", 2), 0);
    cd_idem_claim_free(c);
    row = get_row(f, "k-dead");
    assert_int_equal(row.status, 201);
    free(row.body);
}

/* The keeper renews the lease of a claim held longer than the lease, so a
 * slow request (a slow Stripe) is never taken over while it runs. */
static void test_heartbeat_renews(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim *c, *d;
    struct cd_idem row;
    int64_t first, deadline;

    f->b.idem = cd_idem_keeper_start(f->b.store, CD_IDEM_LEASE_MS_MIN);
    assert_non_null(f->b.idem);
    c = begin(f, "k-slow", "h1");
    assert_int_equal(c->outcome, CD_IDEM_CLAIMED);
    row = get_row(f, "k-slow");
    first = row.lease_until;
    free(row.body);
    /* Wait (bounded) until the heartbeat has pushed the lease past the
     * first one's end, then check that nobody can take the claim. */
    deadline = cd_now_ms() + 10000;
    for (;;) {
        struct timespec ts = {0, 20 * 1000000};
        row = get_row(f, "k-slow");
        free(row.body);
        if (row.lease_until > first && cd_now_ms() > first)
            break;
        assert_true(cd_now_ms() < deadline);
        nanosleep(&ts, NULL);
    }
    d = begin(f, "k-slow", "h1");
    assert_int_equal(d->outcome, CD_IDEM_IN_PROGRESS);
    cd_idem_claim_free(d);
    assert_int_equal(cd_idem_end(&f->b, c, 201, "{}", 2), 0);
    cd_idem_claim_free(c);
}

static void test_effect_ids(void **state)
{
    char a[CD_ID_SZ], b[CD_ID_SZ], c[CD_ID_SZ], d[CD_ID_SZ];

    (void)state;
    cd_idem_effect_id("server:acct_1", "key-1", "ord_", a, sizeof(a));
    cd_idem_effect_id("server:acct_1", "key-1", "ord_", b, sizeof(b));
    cd_idem_effect_id("server:acct_1", "key-2", "ord_", c, sizeof(c));
    cd_idem_effect_id("acct_1", "key-1", "ord_", d, sizeof(d));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_int_equal(strlen(a), 4 + 24);
    assert_memory_equal(a, "ord_", 4);
    cd_idem_effect_id("s", "k", "ord_", a, 10); /* too small: "" */
    assert_string_equal(a, "");
}

/* Fingerprints on meaning: whitespace and key order do not count, values
 * do; a body that is not JSON is its bytes; legacy is always the bytes. */
static void test_fingerprint(void **state)
{
    char a[65], b[65], la[65], lb[65];
    const char *x = "{\"amount\":10,\"meta\":{\"b\":[1,2],\"a\":\"\u00e9\"}}";
    const char *y = "{ \"meta\" : { \"a\":\"\xc3\xa9\", \"b\": [1, 2] },\n"
                    "  \"amount\": 10 }";

    (void)state;
    assert_int_equal(
        cd_idem_fingerprint("POST", "/v1/debits", x, strlen(x), a, la), 0);
    assert_int_equal(
        cd_idem_fingerprint("POST", "/v1/debits", y, strlen(y), b, lb), 0);
    assert_string_equal(a, b);
    assert_string_not_equal(la, lb);
    assert_string_not_equal(a, la);
    y = "{\"amount\":11,\"meta\":{\"b\":[1,2],\"a\":\"\u00e9\"}}";
    cd_idem_fingerprint("POST", "/v1/debits", y, strlen(y), b, lb);
    assert_string_not_equal(a, b);
    y = "{\"amount\":10,\"meta\":{\"b\":[2,1],\"a\":\"\u00e9\"}}";
    cd_idem_fingerprint("POST", "/v1/debits", y, strlen(y), b, lb);
    assert_string_not_equal(a, b); /* array order is meaning */
    cd_idem_fingerprint("POST", "/v1/topups", x, strlen(x), b, lb);
    assert_string_not_equal(a, b);
    /* Not JSON: the bytes, the same as the legacy fingerprint. */
    cd_idem_fingerprint("POST", "/v1/debits", "amount=10", 9, a, la);
    assert_string_equal(a, la);
    cd_idem_fingerprint("POST", "/v1/debits", "amount=10 ", 10, b, lb);
    assert_string_not_equal(a, b);
    cd_idem_fingerprint("POST", "/v1/debits", "", 0, a, la);
    assert_string_equal(a, la);
}

/* A key stored with the bytes fingerprint (before the rule) still replays
 * for the same bytes; other bytes are a 409 until it expires. */
static void test_legacy_rows_match(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim *a, c;

    a = begin(f, "k-legacy", "old-bytes-hash");
    assert_int_equal(a->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(cd_idem_end(&f->b, a, 201, "{}", 2), 0);
    cd_idem_claim_free(a);
    claim_init(&c, "k-legacy", "new-json-hash");
    strcpy(c.legacy_hash, "old-bytes-hash");
    assert_int_equal(cd_idem_begin(&f->b, &c), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    cd_idem_claim_free(&c);
    claim_init(&c, "k-legacy", "new-json-hash");
    strcpy(c.legacy_hash, "other-bytes-hash");
    assert_int_equal(cd_idem_begin(&f->b, &c), 0);
    assert_int_equal(c.outcome, CD_IDEM_REUSED);
    cd_idem_claim_free(&c);
}

/* The completion a handler gives a claimed debit: the reply as text. */
struct rendered {
    char body[256];
    int calls;
};

static void render(void *arg, const struct cd_ledger_entry *e,
                   const struct cd_error *err, struct cd_idem_reply *out)
{
    struct rendered *r = arg;

    r->calls++;
    if (e)
        snprintf(r->body, sizeof(r->body), "{\"balance\":%lld}",
                 (long long)e->balance_after);
    else
        snprintf(r->body, sizeof(r->body), "{\"code\":\"%s\"}", err->code);
    out->status = e ? 201 : cd_error_kind_status(err->kind);
    out->body = r->body;
    out->body_len = strlen(r->body);
}

/* One keyed debit through cd_ledger_debit with its claim: 0, outcome in
 * c; jobs and commits it cost added to *jobs / *commits. */
static int keyed_debit(struct fixture *f, struct cd_idem_claim *c,
                       const char *acct, int64_t amount, const char *key,
                       const char *hash, struct rendered *r, uint64_t *jobs,
                       uint64_t *commits)
{
    struct cd_store_stats before, after;
    struct cd_ledger_op op;
    struct cd_ledger_entry e;
    struct cd_error err;
    int replayed = 0, rc;

    claim_init(c, key, hash);
    snprintf(c->scope, sizeof(c->scope), "server:%s", acct);
    memset(&op, 0, sizeof(op));
    op.account_id = acct;
    op.amount = amount;
    op.idem_scope = c->scope;
    op.idem_key = c->key;
    op.claim = c;
    op.reply = render;
    op.reply_arg = r;
    cd_store_get_stats(f->b.store, &before);
    rc = cd_ledger_debit(&f->b, &op, &e, &replayed, &err);
    cd_store_get_stats(f->b.store, &after);
    *jobs = after.jobs - before.jobs;
    *commits = after.commits - before.commits;
    return rc;
}

static void test_one_job_per_keyed_debit(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim c;
    struct cd_ledger_op grant;
    struct cd_ledger_entry e;
    struct cd_error err;
    struct rendered r;
    char acct[CD_ID_SZ];
    uint64_t jobs, commits;

    fx_new_account(f->b.store, acct);
    memset(&grant, 0, sizeof(grant));
    grant.account_id = acct;
    grant.amount = 100;
    assert_int_equal(cd_ledger_grant(&f->b, &grant, &e, NULL, &err), 0);

    /* Claim, entry and stored reply: one job, one commit. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        keyed_debit(f, &c, acct, 30, "k-one", "h1", &r, &jobs, &commits), 0);
    assert_int_equal(c.outcome, CD_IDEM_CLAIMED);
    assert_int_equal(jobs, 1);
    assert_int_equal(commits, 1);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.body, "{\"balance\":70}");
    cd_idem_claim_free(&c);

    /* The same request replays the stored bytes, in one job, without
     * running the effect; another request with the key is a 409. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        keyed_debit(f, &c, acct, 30, "k-one", "h1", &r, &jobs, &commits), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    assert_int_equal(jobs, 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(c.status, 201);
    assert_memory_equal(c.body, "{\"balance\":70}", c.body_len);
    cd_idem_claim_free(&c);
    assert_int_equal(
        keyed_debit(f, &c, acct, 31, "k-one", "h2", &r, &jobs, &commits), 0);
    assert_int_equal(c.outcome, CD_IDEM_REUSED);
    cd_idem_claim_free(&c);

    /* A refusal (402) is a reply like any other: stored, replayed, and
     * the balance is untouched. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        keyed_debit(f, &c, acct, 1000, "k-402", "h3", &r, &jobs, &commits),
        0);
    assert_int_equal(c.outcome, CD_IDEM_CLAIMED);
    assert_int_equal(jobs, 1);
    assert_string_equal(r.body, "{\"code\":\"insufficient_balance\"}");
    cd_idem_claim_free(&c);
    assert_int_equal(
        keyed_debit(f, &c, acct, 1000, "k-402", "h3", &r, &jobs, &commits),
        0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    assert_int_equal(c.status, 402);
    cd_idem_claim_free(&c);
    assert_int_equal(cd_ledger_balance(&f->b, acct, &grant.amount, &err), 0);
    assert_int_equal(grant.amount, 70);
}

/* ---- the same without waiting (cd_ledger_async_*) ----------------------- */

struct later {
    struct cd_ledger_async x;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    pthread_t done_thread;
};

static void later_done(void *arg)
{
    struct later *l = arg;

    pthread_mutex_lock(&l->mu);
    l->done++;
    l->done_thread = pthread_self();
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* Submits l->x and waits for its completion (bounded: 10 s); the result
 * as cd_ledger_async_result gives it. */
static int later_run(struct fixture *f, struct later *l,
                     struct cd_ledger_entry *e, int *replayed,
                     struct cd_error *err)
{
    struct timespec dl;

    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->done = 0;
    l->x.done = later_done;
    l->x.done_arg = l;
    if (cd_ledger_async_prepare(&f->b, &l->x, err) != 0)
        return -2;
    cd_ledger_async_submit(&f->b, &l->x);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&l->mu);
    while (!l->done && pthread_cond_timedwait(&l->cv, &l->mu, &dl) == 0)
        ;
    assert_int_equal(l->done, 1);
    pthread_mutex_unlock(&l->mu);
    /* the completion ran on the writer thread, not this one */
    assert_false(pthread_equal(l->done_thread, pthread_self()));
    return cd_ledger_async_result(&l->x, e, replayed, err);
}

/* A debit submitted with a completion answers what cd_ledger_debit
 * answers: the entry, a 402, and with a key the one-job claim, entry and
 * stored reply, then its replay and its 409. */
static void test_async_debit(void **state)
{
    struct fixture *f = *state;
    struct later l;
    struct cd_idem_claim c;
    struct cd_ledger_entry e;
    struct cd_error err;
    struct rendered r;
    char acct[CD_ID_SZ];
    int replayed = -1;

    fx_new_account(f->b.store, acct);
    memset(&l, 0, sizeof(l));
    l.x.op.account_id = acct;
    l.x.op.amount = 100;
    assert_int_equal(later_run(f, &l, &e, &replayed, &err), 0);
    assert_int_equal(e.balance_after, 100);
    assert_int_equal(replayed, 0);

    memset(&l, 0, sizeof(l));
    l.x.debit = 1;
    l.x.op.account_id = acct;
    l.x.op.amount = 30;
    assert_int_equal(later_run(f, &l, &e, &replayed, &err), 0);
    assert_int_equal(e.balance_after, 70);
    assert_int_equal(e.amount, -30);
    l.x.op.amount = 1000; /* again, with the same memory */
    assert_int_equal(later_run(f, &l, &e, &replayed, &err), -1);
    assert_string_equal(err.code, "insufficient_balance");
    l.x.op.amount = 0;
    assert_int_equal(later_run(f, &l, &e, &replayed, &err), -2);
    assert_string_equal(err.code, "invalid_amount");

    for (int round = 0; round < 3; round++) {
        claim_init(&c, "k-async", round < 2 ? "h1" : "h2");
        snprintf(c.scope, sizeof(c.scope), "server:%s", acct);
        memset(&l, 0, sizeof(l));
        memset(&r, 0, sizeof(r));
        l.x.debit = 1;
        l.x.op.account_id = acct;
        l.x.op.amount = 20;
        l.x.op.idem_scope = c.scope;
        l.x.op.idem_key = c.key;
        l.x.op.claim = &c;
        l.x.op.reply = render;
        l.x.op.reply_arg = &r;
        assert_int_equal(later_run(f, &l, &e, &replayed, &err), 0);
        assert_int_equal(c.outcome, round == 0   ? CD_IDEM_CLAIMED
                                    : round == 1 ? CD_IDEM_REPLAY
                                                 : CD_IDEM_REUSED);
        assert_int_equal(r.calls, round == 0);
        if (round == 0)
            assert_string_equal(r.body, "{\"balance\":50}");
        if (round == 1)
            assert_memory_equal(c.body, "{\"balance\":50}", c.body_len);
        cd_idem_claim_free(&c);
    }
    assert_int_equal(cd_ledger_balance(&f->b, acct, &l.x.op.amount, &err), 0);
    assert_int_equal(l.x.op.amount, 50);
}

/* ---- a replayed claim run again after a lost transaction ------------- */

static void wait_flag(const int *flag)
{
    struct timespec ts = {0, 1000000L};

    for (int i = 0; i < 5000 && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++)
        nanosleep(&ts, NULL);
    assert_true(__atomic_load_n(flag, __ATOMIC_SEQ_CST));
}

/* A job that holds the writer until let go (5 s at most). */
struct gate {
    int started, go, done;
};

static int gate_fn(struct cd_tx *tx, void *arg)
{
    struct gate *g = arg;

    (void)tx;
    __atomic_store_n(&g->started, 1, __ATOMIC_SEQ_CST);
    wait_flag(&g->go);
    return 0;
}

static void flag_done(void *arg, int rc)
{
    (void)rc;
    __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void once_flag_done(void *arg)
{
    __atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

/* One statement, after the replay in its batch: it loses the batch's
 * transaction once (cd_store_fault). */
static int read_one(struct cd_tx *tx, void *arg)
{
    struct cd_idem row;
    int rc;

    ++*(int *)arg;
    memset(&row, 0, sizeof(row));
    rc = cd_store_idem_get(tx, "server:none", "none", &row);
    free(row.body);
    return rc == CD_STORE_NOT_FOUND ? 0 : rc;
}

static int never_effect(struct cd_tx *tx, void *arg,
                        struct cd_idem_reply *reply)
{
    (void)tx;
    (void)arg;
    (void)reply;
    fail_msg("a replay ran its effect");
    return 1;
}

/* A replay's job run again (its batch lost its transaction after it ran):
 * the reply body of its first run is not leaked (LSan, under ASAN=1) and
 * the replay is whole. */
static void test_replay_rerun(void **state)
{
    struct fixture *f = *state;
    struct gate g = {0};
    struct cd_store_async gj = {.fn = gate_fn, .arg = &g};
    struct cd_store_async rj = {.fn = read_one};
    struct cd_idem_claim *c1 = begin(f, "k-rerun", "h1"), c;
    struct cd_idem_once_job oj;
    struct cd_store_stats before, after;
    int once_done = 0, read_done = 0, reads = 0;

    assert_int_equal(c1->outcome, CD_IDEM_CLAIMED);
    assert_int_equal(cd_idem_end(&f->b, c1, 200, "{\"v\":1}", 7), 0);
    cd_idem_claim_free(c1);
    cd_store_get_stats(f->b.store, &before);
    gj.done = flag_done;
    gj.done_arg = &g.done;
    assert_int_equal(cd_store_submit(f->b.store, &gj), 0);
    wait_flag(&g.started);
    /* The next batch: the replay, then read_one, whose statement (the
     * batch's second) loses the transaction. */
    cd_store_fault(f->b.store, CD_FAULT_LOST, 1);
    claim_init(&c, "k-rerun", "h1");
    assert_int_equal(cd_idem_once_submit(&f->b, &c, never_effect, NULL, &oj,
                                         once_flag_done, &once_done),
                     0);
    rj.arg = &reads;
    rj.done = flag_done;
    rj.done_arg = &read_done;
    assert_int_equal(cd_store_submit(f->b.store, &rj), 0);
    __atomic_store_n(&g.go, 1, __ATOMIC_SEQ_CST);
    wait_flag(&g.done);
    wait_flag(&once_done);
    wait_flag(&read_done);
    assert_int_equal(cd_idem_once_result(&oj), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    assert_int_equal(c.status, 200);
    assert_int_equal(c.body_len, 7);
    assert_memory_equal(c.body, "{\"v\":1}", 7);
    cd_idem_claim_free(&c);
    cd_store_get_stats(f->b.store, &after);
    assert_int_equal(reads, 2);
    assert_int_equal(after.retries - before.retries, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_then_replay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_5xx_releases_not_deletes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_decides_takeover, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_renews, setup,
                                        teardown),
        cmocka_unit_test(test_effect_ids),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test_setup_teardown(test_async_debit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_job_per_keyed_debit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_legacy_rows_match, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_rerun, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_rerun, setup_pg,
                                        teardown),
    };
    int failed;

    cd_billing_hooks_install(); /* the ledger's effects */

    failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (store_target_pg_url())
        failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
                                              NULL);
    return failed;
}
