/*
 * test_billing_holds.c - holds against a real store (SQLite, and
 * PostgreSQL when CD_TEST_PG_URL names a server): create, partial
 * capture, release, capture past the hold, finished holds, debits and
 * holds that may spend only the available balance, a due hold seen as
 * expired before the sweep and swept once, and races on two stores (two
 * "nodes" on one database): capture vs release vs expiry finish each hold
 * once, and parallel holds and debits never spend more than the balance.
 * Ledger verify (held == active holds) after each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "billing/holds.h"
#include "billing/hooks.h"
#include "billing/ledger_ops.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "store_target.h"

struct fixture {
    struct store_target t;
    struct cd_billing b, b2; /* two nodes on one database */
    char acct[CD_ID_SZ];
};

static int use_pg;

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cd_store_config cfg = {0};
    struct cd_error err = {0};

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (store_target_make(&f->t, use_pg, "cd_billing_holds") != 0)
        return -1;
    cfg.path = f->t.target;
    f->b.store = cd_store_open(&cfg, &err);
    f->b2.store = f->b.store ? cd_store_open(&cfg, &err) : NULL;
    if (!f->b2.store) {
        print_error("open: %s\n", err.message);
        return -1;
    }
    fx_new_account(f->b.store, f->acct);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cd_store_close(f->b2.store);
    cd_store_close(f->b.store);
    store_target_drop(&f->t);
    free(f);
    return 0;
}

static void grant(struct fixture *f, int64_t amount)
{
    struct cd_ledger_op op = {0};
    struct cd_ledger_entry e;
    struct cd_error err;

    op.account_id = f->acct;
    op.amount = amount;
    op.description = "unit grant";
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, NULL, &err), 0);
}

static int debit(struct cd_billing *b, const char *acct, int64_t amount,
                 int allow_negative, struct cd_error *err)
{
    struct cd_ledger_op op = {0};
    struct cd_ledger_entry e;

    op.account_id = acct;
    op.amount = amount;
    op.description = "unit debit";
    op.allow_negative = allow_negative;
    return cd_ledger_debit(b, &op, &e, NULL, err);
}

static int hold(struct cd_billing *b, const char *acct, int64_t amount,
                int64_t expires_in, struct cd_hold *h, struct cd_error *err)
{
    struct cd_hold_op op = {0};

    op.account_id = acct;
    op.amount = amount;
    op.expires_in = expires_in;
    op.description = "unit hold";
    return cd_hold_create(b, &op, h, err);
}

static int finish(struct cd_billing *b, const char *acct, const char *id,
                  int64_t capture, struct cd_hold *h, struct cd_error *err)
{
    struct cd_hold_op op = {0};

    op.account_id = acct;
    op.hold_id = id;
    op.amount = capture;
    return capture ? cd_hold_capture(b, &op, h, err)
                   : cd_hold_release(b, &op, h, err);
}

static void totals(struct fixture *f, int64_t balance, int64_t held)
{
    struct cd_error err;
    int64_t b, h;

    assert_int_equal(cd_hold_totals(&f->b, f->acct, &b, &h, &err), 0);
    assert_int_equal(b, balance);
    assert_int_equal(h, held);
}

static void verify_ok(struct fixture *f)
{
    struct cd_ledger_check c;
    struct cd_error err;

    assert_int_equal(cd_ledger_verify(&f->b, &c, NULL, NULL, &err), 0);
    assert_int_equal(c.mismatches, 0);
    assert_int_equal(c.held_mismatches, 0);
    assert_true(c.sum_balances == c.sum_entries);
}

static void test_capture_release(void **state)
{
    struct fixture *f = *state;
    struct cd_hold h, c, r;
    struct cd_error err;

    grant(f, 1000);
    assert_int_equal(hold(&f->b, f->acct, 300, 600, &h, &err), 0);
    assert_string_equal(h.status, "active");
    totals(f, 1000, 300);
    /* Debits and holds spend only the available 700. */
    assert_int_equal(debit(&f->b, f->acct, 701, 0, &err), -1);
    assert_string_equal(err.code, "insufficient_balance");
    assert_int_equal(hold(&f->b, f->acct, 701, 600, &r, &err), -1);
    assert_string_equal(err.code, "insufficient_balance");
    assert_int_equal(debit(&f->b, f->acct, 700, 0, &err), 0);
    totals(f, 300, 300);

    assert_int_equal(finish(&f->b, f->acct, h.id, 301, &c, &err), -1);
    assert_string_equal(err.code, "capture_exceeds_hold");
    assert_int_equal(finish(&f->b, f->acct, h.id, 120, &c, &err), 0);
    assert_string_equal(c.status, "captured");
    assert_int_equal(c.captured, 120);
    assert_true(strncmp(c.transaction_id, "txn_", 4) == 0);
    totals(f, 180, 0);
    assert_int_equal(finish(&f->b, f->acct, h.id, 1, &c, &err), -1);
    assert_string_equal(err.code, "hold_not_active");
    assert_int_equal(finish(&f->b, f->acct, h.id, 0, &c, &err), -1);
    assert_string_equal(err.code, "hold_not_active");

    assert_int_equal(hold(&f->b, f->acct, 180, 600, &h, &err), 0);
    assert_int_equal(finish(&f->b, f->acct, h.id, 0, &r, &err), 0);
    assert_string_equal(r.status, "released");
    totals(f, 180, 0);
    /* An overdraft the caller allows ignores holds. */
    assert_int_equal(hold(&f->b, f->acct, 100, 600, &h, &err), 0);
    assert_int_equal(debit(&f->b, f->acct, 150, 1, &err), 0);
    totals(f, 30, 100);
    assert_int_equal(finish(&f->b, f->acct, "hold_nope", 0, &r, &err), -1);
    assert_string_equal(err.code, "hold_not_found");
    verify_ok(f);
}

static void test_expiry(void **state)
{
    struct fixture *f = *state;
    struct cd_hold h, g;
    struct cd_error err;
    int64_t n;

    grant(f, 500);
    assert_int_equal(hold(&f->b, f->acct, 400, 5, &h, &err), 0);
    assert_int_equal(debit(&f->b, f->acct, 101, 0, &err), -1);
    cd_clock_advance(6);
    /* Due: out of held at once, and a debit expires it in its own job. */
    totals(f, 500, 0);
    assert_int_equal(cd_hold_get(&f->b, f->acct, h.id, &g, &err), 0);
    assert_string_equal(cd_hold_status(&g, cd_now()), "expired");
    assert_string_equal(g.status, "active");
    assert_int_equal(debit(&f->b, f->acct, 101, 0, &err), 0);
    assert_int_equal(cd_hold_get(&f->b, f->acct, h.id, &g, &err), 0);
    assert_string_equal(g.status, "expired");
    assert_int_equal(finish(&f->b, f->acct, h.id, 1, &g, &err), -1);
    assert_string_equal(err.code, "hold_not_active");
    verify_ok(f);

    /* The sweeper writes a due hold down once. */
    assert_int_equal(hold(&f->b, f->acct, 50, 5, &h, &err), 0);
    cd_clock_advance(6);
    assert_int_equal(cd_hold_sweep(&f->b, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cd_hold_sweep(&f->b2, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cd_hold_get(&f->b, f->acct, h.id, &g, &err), 0);
    assert_string_equal(g.status, "expired");
    totals(f, 399, 0);
    verify_ok(f);
}

/* ---- Idempotency-Key: one job each ------------------------------------- */

struct rendered {
    int calls, status;
    char body[256];
};

static void render(void *arg, const struct cd_hold *h,
                   const struct cd_error *err, struct cd_idem_reply *out)
{
    struct rendered *r = arg;

    r->calls++;
    r->status = h ? (strcmp(h->status, "active") == 0 ? 201 : 200)
                  : cd_error_kind_status(err->kind);
    snprintf(r->body, sizeof(r->body), "%s:%s", h ? h->id : err->code,
             h ? h->status : "");
    out->status = r->status;
    out->body = r->body;
    out->body_len = strlen(r->body);
}

/* A keyed create (capture > 0: capture, 0: release, of hold_id) with its
 * claim; the store's jobs it took in *jobs. */
static int keyed(struct fixture *f, struct cd_idem_claim *c, const char *key,
                 const char *hold_id, int64_t amount, struct rendered *r,
                 uint64_t *jobs)
{
    struct cd_hold_op op = {0};
    struct cd_store_stats s0, s1;
    struct cd_error err;
    char eid[64];
    int rc;

    memset(c, 0, sizeof(*c));
    snprintf(c->scope, sizeof(c->scope), "server:%s", f->acct);
    snprintf(c->key, sizeof(c->key), "%s", key);
    snprintf(c->request_hash, sizeof(c->request_hash), "h-%s-%lld", key,
             (long long)amount);
    op.account_id = f->acct;
    op.amount = amount;
    op.claim = c;
    op.reply = render;
    op.reply_arg = r;
    cd_store_get_stats(f->b.store, &s0);
    if (!hold_id) {
        op.expires_in = 600;
        cd_idem_effect_id(c->scope, key, "hold_", eid, sizeof(eid));
        op.effect_id = eid;
        rc = cd_hold_create(&f->b, &op, NULL, &err);
    } else {
        op.hold_id = hold_id;
        rc = amount ? cd_hold_capture(&f->b, &op, NULL, &err)
                    : cd_hold_release(&f->b, &op, NULL, &err);
    }
    cd_store_get_stats(f->b.store, &s1);
    *jobs = s1.jobs - s0.jobs;
    return rc;
}

/* Runs sql on the fixture's database behind the store's back. */
static void raw_sql(struct fixture *f, const char *sql)
{
    if (use_pg) {
        PGconn *c = PQconnectdb(f->t.target);
        PGresult *r = PQexec(c, sql);

        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;

        assert_int_equal(sqlite3_open(f->t.target, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
}

/* Verify reports an account whose held is not the sum of its active
 * holds, and counts it as a mismatch (not ok). */
static void test_verify_sees_held_mismatch(void **state)
{
    struct fixture *f = *state;
    struct cd_ledger_check c;
    struct cd_error err;
    struct cd_hold h;
    char sql[160];

    grant(f, 1000);
    assert_int_equal(hold(&f->b, f->acct, 300, 600, &h, &err), 0);
    verify_ok(f);
    snprintf(sql, sizeof(sql),
             "UPDATE accounts SET held = held + 7 WHERE id = '%s'", f->acct);
    raw_sql(f, sql);
    assert_int_equal(cd_ledger_verify(&f->b, &c, NULL, NULL, &err), 0);
    assert_int_equal(c.held_mismatches, 1);
    assert_true(c.mismatches >= 1);
}

static void test_keyed_one_job(void **state)
{
    struct fixture *f = *state;
    struct cd_idem_claim c;
    struct rendered r = {0}, r2 = {0};
    uint64_t jobs;
    char id[CD_ID_SZ];

    grant(f, 100);
    assert_int_equal(keyed(f, &c, "k-hold", NULL, 60, &r, &jobs), 0);
    assert_int_equal(c.outcome, CD_IDEM_CLAIMED);
    assert_int_equal(jobs, 1);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof(id), "%.*s", (int)(strchr(r.body, ':') - r.body),
             r.body);
    cd_idem_claim_free(&c);
    /* The same request replays without running; one hold only. */
    assert_int_equal(keyed(f, &c, "k-hold", NULL, 60, &r2, &jobs), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    assert_int_equal(r2.calls, 0);
    assert_memory_equal(c.body, r.body, c.body_len);
    cd_idem_claim_free(&c);
    totals(f, 100, 60);

    memset(&r, 0, sizeof(r));
    assert_int_equal(keyed(f, &c, "k-cap", id, 25, &r, &jobs), 0);
    assert_int_equal(jobs, 1);
    assert_int_equal(r.status, 200);
    cd_idem_claim_free(&c);
    assert_int_equal(keyed(f, &c, "k-cap", id, 25, &r2, &jobs), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    cd_idem_claim_free(&c);
    /* Another key meets a finished hold: a stored 409, replayed too. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(keyed(f, &c, "k-rel", id, 0, &r, &jobs), 0);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.body, "hold_not_active:");
    cd_idem_claim_free(&c);
    assert_int_equal(keyed(f, &c, "k-rel", id, 0, &r2, &jobs), 0);
    assert_int_equal(c.outcome, CD_IDEM_REPLAY);
    assert_int_equal(c.status, 409);
    cd_idem_claim_free(&c);
    totals(f, 75, 0);
    verify_ok(f);
}

/* ---- races ------------------------------------------------------------- */

struct racer {
    struct cd_billing *b;
    const char *acct, *id;
    int64_t capture; /* 0: release; -1: move the clock past it and sweep */
    int ok;
    char code[64];
    pthread_barrier_t *go;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    struct cd_hold h;
    struct cd_error err;
    int64_t n;

    pthread_barrier_wait(r->go);
    if (r->capture < 0) {
        cd_clock_advance(3);
        r->ok = cd_hold_sweep(r->b, &n) == 0 && n > 0;
        return NULL;
    }
    r->ok = finish(r->b, r->acct, r->id, r->capture, &h, &err) == 0;
    if (!r->ok)
        snprintf(r->code, sizeof(r->code), "%s", err.code);
    return NULL;
}

#define ROUNDS 12
#define RACERS 5

static void test_race_capture_release_expire(void **state)
{
    struct fixture *f = *state;
    struct cd_error err;
    int64_t spent = 0;

    grant(f, 10000);
    for (int round = 0; round < ROUNDS; round++) {
        struct cd_hold h, g;
        struct racer r[RACERS];
        pthread_t t[RACERS];
        pthread_barrier_t go;
        int wins = 0;

        assert_int_equal(hold(&f->b, f->acct, 100, 2, &h, &err), 0);
        pthread_barrier_init(&go, NULL, RACERS);
        for (int i = 0; i < RACERS; i++) {
            r[i] = (struct racer){i % 2 ? &f->b2 : &f->b,
                                  f->acct,
                                  h.id,
                                  i == RACERS - 1 ? -1 : (i % 2) * (10 + i),
                                  0,
                                  "",
                                  &go};
            assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]),
                             0);
        }
        for (int i = 0; i < RACERS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal(cd_hold_get(&f->b, f->acct, h.id, &g, &err), 0);
        for (int i = 0; i < RACERS - 1; i++) {
            if (!r[i].ok) {
                assert_string_equal(r[i].code, "hold_not_active");
                continue;
            }
            wins++;
            assert_string_equal(g.status,
                                r[i].capture ? "captured" : "released");
            assert_int_equal(g.captured, r[i].capture);
            spent += r[i].capture;
        }
        assert_true(wins <= 1);
        if (wins == 0)
            assert_string_equal(g.status, "expired");
        totals(f, 10000 - spent, 0);
        verify_ok(f);
    }
}

struct spender {
    struct cd_billing *b;
    const char *acct;
    int holds, debits;
    pthread_barrier_t *go;
};

static void *spender_main(void *arg)
{
    struct spender *s = arg;
    struct cd_hold h;
    struct cd_error err;

    pthread_barrier_wait(s->go);
    for (int i = 0; i < 20; i++) {
        if (i % 2)
            s->debits += debit(s->b, s->acct, 10, 0, &err) == 0;
        else
            s->holds += hold(s->b, s->acct, 10, 600, &h, &err) == 0;
    }
    return NULL;
}

static void test_race_holds_and_debits(void **state)
{
    struct fixture *f = *state;
    struct spender s[6];
    pthread_t t[6];
    pthread_barrier_t go;
    int holds = 0, debits = 0;

    grant(f, 500);
    pthread_barrier_init(&go, NULL, 6);
    for (int i = 0; i < 6; i++) {
        s[i] = (struct spender){i % 2 ? &f->b2 : &f->b, f->acct, 0, 0, &go};
        assert_int_equal(pthread_create(&t[i], NULL, spender_main, &s[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        holds += s[i].holds;
        debits += s[i].debits;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(holds + debits, 50);
    totals(f, 500 - 10 * debits, 10 * holds);
    verify_ok(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_release, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyed_one_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_sees_held_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_race_capture_release_expire,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_holds_and_debits, setup,
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
