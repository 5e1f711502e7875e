/*
 * test_store_jobs.c - the store functions of the background jobs
 * (migration 002_jobs): key/value settings, leases between two holders,
 * the purge of expired tokens; and portal links (migration 011): used
 * once, never after they expire, purged with the tokens.
 *
 * Jobs never call cmocka asserts (writes run on the writer thread): they
 * record return codes into a struct ctx that the test checks.
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

#include "store/store.h"
#include "store_target.h"
#include "util/log.h"

struct fixture {
    struct store_target t;
    char path[512]; /* t.target: a SQLite path or a PostgreSQL URL */
    struct cd_store *s;
};

/* Which backend this group runs on (main runs the group per backend). */
static int use_pg;

struct ctx {
    int rc[32];
    int n;
    char value[CD_KV_VALUE_SZ];
    struct cd_account acct;
    char acct_id[4][CD_ID_SZ];
    char ret[4][2049];
};

#define R(expr) (c->rc[c->n++] = (expr))

static void expect_rcs(const struct ctx *c, const int *want, int n)
{
    assert_int_equal(c->n, n);
    for (int i = 0; i < n; i++) {
        if (c->rc[i] != want[i])
            print_error("step %d: rc %d, want %d\n", i, c->rc[i], want[i]);
        assert_int_equal(c->rc[i], want[i]);
    }
}
#define EXPECT(c, ...)                                                       \
    expect_rcs((c), (int[]){__VA_ARGS__},                                    \
               (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cd_store_config cfg = {.read_conns = 2};
    struct cd_error err = {0};

    cd_log_threshold = CD_LOG_ERROR + 1;
    if (store_target_make(&f->t, use_pg, "cd_store_jobs") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s", f->t.target);
    cfg.path = f->path;
    f->s = cd_store_open(&cfg, &err);
    if (!f->s) {
        print_error("open: %s\n", err.message);
        return -1;
    }
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

/* ---- settings -------------------------------------------------------- */

static int kv_job(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    char small[4];
    char big[CD_KV_VALUE_SZ + 8];

    R(cd_store_kv_get(tx, "cursor", c->value, sizeof(c->value)));
    R(cd_store_kv_put(tx, "cursor", "evt_1", 100));
    R(cd_store_kv_get(tx, "cursor", c->value, sizeof(c->value)));
    R(cd_store_kv_put(tx, "cursor", "evt_2", 101)); /* replaces */
    R(cd_store_kv_get(tx, "cursor", c->value, sizeof(c->value)));
    R(cd_store_kv_get(tx, "cursor", small, sizeof(small))); /* too long */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    R(cd_store_kv_put(tx, "other", big, 102)); /* too long */
    R(cd_store_kv_put(tx, "other", "", 102));  /* NOT NULL */
    return 0;
}

static int kv_read_job(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_kv_get(tx, "cursor", c->value, sizeof(c->value)));
    R(cd_store_kv_put(tx, "cursor", "evt_3", 1)); /* read-only tx */
    return 0;
}

static void test_kv(void **state)
{
    struct fixture *f = *state;
    struct ctx c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_write(f->s, kv_job, &c), 0);
    EXPECT(&c, CD_STORE_NOT_FOUND, CD_STORE_OK, CD_STORE_OK, CD_STORE_OK,
           CD_STORE_OK, CD_STORE_ERROR, CD_STORE_ERROR, CD_STORE_ERROR);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, kv_read_job, &c), 0);
    EXPECT(&c, CD_STORE_OK, CD_STORE_ERROR);
    assert_string_equal(c.value, "evt_2");
}

/* ---- leases ---------------------------------------------------------- */

struct lease_step {
    const char *holder;
    int64_t now, ttl;
    int release;
};

struct lease_ctx {
    struct ctx c;
    const struct lease_step *steps;
    int nsteps;
};

static int lease_job(struct cd_tx *tx, void *arg)
{
    struct lease_ctx *l = arg;
    struct ctx *c = &l->c;

    for (int i = 0; i < l->nsteps; i++) {
        const struct lease_step *s = &l->steps[i];

        if (s->release)
            R(cd_store_lease_release(tx, "reconcile", s->holder));
        else
            R(cd_store_lease_acquire(tx, "reconcile", s->holder, s->now,
                                     s->ttl));
    }
    return 0;
}

static void test_leases(void **state)
{
    struct fixture *f = *state;
    static const struct lease_step steps[] = {
        {"a", 1000, 60, 0}, /* free: a takes it until 1060 */
        {"b", 1010, 60, 0}, /* a's runs: refused */
        {"a", 1030, 60, 0}, /* a renews until 1090 */
        {"b", 1089, 60, 0}, /* still a's */
        {"b", 1090, 60, 0}, /* expired: b takes it until 1150 */
        {"a", 1100, 60, 0}, /* b's now */
        {"a", 0, 0, 1},     /* a does not hold it: NOT_FOUND */
        {"b", 0, 0, 1},     /* b gives it up */
        {"a", 1101, 60, 0}, /* free again */
        {"a", 1101, 0, 0},  /* a bad ttl */
        {"", 1101, 60, 0},  /* no holder */
    };
    struct lease_ctx l;

    memset(&l, 0, sizeof(l));
    l.steps = steps;
    l.nsteps = (int)(sizeof(steps) / sizeof(steps[0]));
    assert_int_equal(cd_store_write(f->s, lease_job, &l), 0);
    EXPECT(&l.c, CD_STORE_OK, CD_STORE_DUPLICATE, CD_STORE_OK,
           CD_STORE_DUPLICATE, CD_STORE_OK, CD_STORE_DUPLICATE,
           CD_STORE_NOT_FOUND, CD_STORE_OK, CD_STORE_OK, CD_STORE_ERROR,
           CD_STORE_ERROR);
}

/* ---- token purge ----------------------------------------------------- */

static int tokens_job(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    strcpy(a.id, "acct_purge");
    strcpy(a.email, "purge@example.com");
    a.created_at = 1;
    R(cd_store_account_insert(tx, &a));
    R(cd_store_token_insert(tx, "h_old", "acct_purge", 1, 100));
    R(cd_store_token_insert(tx, "h_edge", "acct_purge", 1, 200));
    R(cd_store_token_insert(tx, "h_new", "acct_purge", 1, 300));
    R(cd_store_token_purge(tx, 200));
    return 0;
}

static int tokens_check(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    /* Looked up at time 0, so only existence matters. */
    R(cd_store_token_account(tx, "h_old", 0, &c->acct));
    R(cd_store_token_account(tx, "h_edge", 0, &c->acct));
    R(cd_store_token_account(tx, "h_new", 0, &c->acct));
    return 0;
}

static void test_token_purge(void **state)
{
    struct fixture *f = *state;
    struct ctx c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_write(f->s, tokens_job, &c), 0);
    EXPECT(&c, CD_STORE_OK, CD_STORE_OK, CD_STORE_OK, CD_STORE_OK,
           CD_STORE_OK);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, tokens_check, &c), 0);
    EXPECT(&c, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND, CD_STORE_OK);
    assert_string_equal(c.acct.id, "acct_purge");
}

/* ---- portal links ----------------------------------------------------- */

static int portal_job(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    strcpy(a.id, "acct_portal");
    strcpy(a.email, "portal@example.com");
    a.created_at = 1;
    R(cd_store_account_insert(tx, &a));
    R(cd_store_portal_insert(tx, "p1", "acct_portal",
                             "https://app.example.com/back", 100, 300));
    R(cd_store_portal_insert(tx, "p2", "acct_portal", NULL, 50, 100));
    R(cd_store_portal_insert(tx, "p3", "acct_portal", "", 100, 500));
    R(cd_store_portal_insert(tx, "p1", "acct_portal", NULL, 100, 300));
    /* p1 once, then never again; p2 has expired; p3 without a URL. */
    R(cd_store_portal_consume(tx, "p1", 200, c->acct_id[0], c->ret[0],
                              sizeof(c->ret[0])));
    R(cd_store_portal_consume(tx, "p1", 201, c->acct_id[1], c->ret[1],
                              sizeof(c->ret[1])));
    R(cd_store_portal_consume(tx, "p2", 100, c->acct_id[1], c->ret[1],
                              sizeof(c->ret[1])));
    R(cd_store_portal_consume(tx, "nope", 1, c->acct_id[1], c->ret[1],
                              sizeof(c->ret[1])));
    R(cd_store_portal_consume(tx, "p3", 499, c->acct_id[2], c->ret[2],
                              sizeof(c->ret[2])));
    /* The purge takes what expired, used or not. */
    R(cd_store_portal_insert(tx, "p4", "acct_portal", NULL, 100, 250));
    R(cd_store_portal_insert(tx, "p5", "acct_portal", NULL, 100, 400));
    R(cd_store_token_purge(tx, 300));
    R(cd_store_portal_consume(tx, "p4", 100, c->acct_id[3], c->ret[3],
                              sizeof(c->ret[3])));
    R(cd_store_portal_consume(tx, "p5", 350, c->acct_id[3], c->ret[3],
                              sizeof(c->ret[3])));
    return 0;
}

static void test_portal_links(void **state)
{
    struct fixture *f = *state;
    struct ctx c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_write(f->s, portal_job, &c), 0);
    EXPECT(&c, CD_STORE_OK, CD_STORE_OK, CD_STORE_OK, CD_STORE_OK,
           CD_STORE_DUPLICATE, CD_STORE_OK, CD_STORE_NOT_FOUND,
           CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND, CD_STORE_OK, CD_STORE_OK,
           CD_STORE_OK, CD_STORE_OK, CD_STORE_NOT_FOUND, CD_STORE_OK);
    assert_string_equal(c.acct_id[0], "acct_portal");
    assert_string_equal(c.ret[0], "https://app.example.com/back");
    assert_string_equal(c.acct_id[2], "acct_portal");
    assert_string_equal(c.ret[2], "");
    assert_string_equal(c.acct_id[3], "acct_portal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_portal_links, setup, teardown),
    };

    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
