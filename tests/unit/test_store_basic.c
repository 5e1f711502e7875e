/*
 * test_store_basic.c - every record function of store.h on SQLite: happy
 * paths, DUPLICATE / NOT_FOUND / ERROR cases, the "" <-> NULL mapping,
 * newest-first ordering, durability across close/open and migrations.
 *
 * A contract: the group runs on SQLite, and again on PostgreSQL when
 * CD_TEST_PG_URL names a server (store_target.h).
 *
 * Jobs never call cmocka asserts (writes run on the writer thread): they
 * record return codes and copies into a struct ctx that the test checks.
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

#include "store/migrations.h"
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

/* What a job did: return codes in order, plus whatever it copied out. */
struct ctx {
    int rc[64];
    int n;
    struct cd_account acct;
    struct cd_ledger_entry entry;
    struct cd_order order;
    struct cd_payment pay;
    struct cd_discount disc;
    struct cd_pricing pricing;
    struct cd_idem idem;
    char ids[16][CD_REF_SZ];
    int nids;
    int64_t total, a, b, c;
    int mismatches;
    char mismatch_id[CD_ID_SZ];
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

static struct cd_store *open_store(const char *path)
{
    struct cd_store_config cfg = {.path = path, .read_conns = 2};
    struct cd_error err = {0};
    struct cd_store *s = cd_store_open(&cfg, &err);

    if (!s)
        print_error("open: %s\n", err.message);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = getenv("CD_TEST_LOG")
                           ? CD_LOG_DEBUG
                           : CD_LOG_ERROR +
                                 1; /* tests provoke errors on purpose */
    if (store_target_make(&f->t, use_pg, "cd_store_basic") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s", f->t.target);
    f->s = open_store(f->path);
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

/* A raw PostgreSQL connection's answer (the first column of the first
 * row), or -999. */
static int64_t pg_raw(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;
    int64_t v = -999;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A raw connection for checks the interface cannot express. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -999;

    if (use_pg)
        return pg_raw(path, sql);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    if (use_pg) {
        pg_raw(path, sql);
        return;
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void mk_account(struct cd_account *a, const char *id,
                       const char *email, int64_t created)
{
    memset(a, 0, sizeof(*a));
    strcpy(a->id, id);
    strcpy(a->email, email);
    strcpy(a->password_hash, "$argon2id$v=19$x");
    a->created_at = created;
}

static void mk_entry(struct cd_ledger_entry *e, const char *id,
                     const char *acct, int64_t amount, int64_t after,
                     const char *ref, int64_t created)
{
    memset(e, 0, sizeof(*e));
    strcpy(e->id, id);
    strcpy(e->account_id, acct);
    e->amount = amount;
    e->balance_after = after;
    strcpy(e->kind, "grant");
    strcpy(e->ref, ref);
    e->created_at = created;
}

static void mk_order(struct cd_order *o, const char *id, const char *acct,
                     const char *session, int64_t created)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->id, id);
    strcpy(o->account_id, acct);
    strcpy(o->kind, "topup");
    strcpy(o->status, "pending");
    o->amount_cents = 1000;
    o->credits = 1000;
    strcpy(o->currency, "usd");
    strcpy(o->stripe_session_id, session);
    o->created_at = created;
    o->updated_at = created;
}

/* ---- open ------------------------------------------------------------ */

static void test_open_version_ping(void **state)
{
    struct fixture *f = *state;
    int latest = cd_migrations[cd_migrations_count - 1].version;

    assert_true(cd_migrations_count >= 1);
    assert_int_equal(cd_store_schema_version(f->s), latest);
    assert_int_equal(cd_store_ping(f->s), 0);
    if (!use_pg)
        assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM "
                                          "pragma_journal_mode"),
                         1);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM "
                                      "schema_migrations"),
                     cd_migrations_count);
}

/* ---- accounts -------------------------------------------------------- */

static int accounts_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;
    char longid[CD_ID_SZ + 8];

    mk_account(&a, "acct_1", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a)); /* 0 */
    R(cd_store_account_insert(tx, &a)); /* dup id */
    mk_account(&a, "acct_x", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a));               /* dup email */
    mk_account(&a, "acct_2", "two@example.com", 100); /* same time */
    R(cd_store_account_insert(tx, &a)); /* "" customer twice: ok */
    mk_account(&a, "acct_3", "three@example.com", 50);
    a.password_hash[0] = '\0';
    R(cd_store_account_insert(tx, &a));
    R(cd_store_account_set_customer(tx, "acct_1", "cus_1", 1));
    R(cd_store_account_set_customer(tx, "acct_2", "cus_1", 0)); /* dup */
    R(cd_store_account_set_customer(tx, "acct_nope", "cus_9", 0));
    R(cd_store_account_set_balance(tx, "acct_1", 42));
    R(cd_store_account_set_balance(tx, "acct_nope", 42));
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    R(cd_store_account_set_balance(tx, longid, 1)); /* too long */
    mk_account(&a, "", "empty@example.com", 1);
    R(cd_store_account_insert(tx, &a)); /* required id "" */
    return 0;
}

static int collect_account(const struct cd_account *a, void *arg)
{
    struct ctx *c = arg;

    strcpy(c->ids[c->nids++], a->id);
    return 0;
}

static int accounts_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;

    R(cd_store_account_get(tx, "acct_1", &c->acct));
    R(cd_store_account_by_email(tx, "two@example.com", &a));
    R(cd_store_account_by_customer(tx, "cus_1", &a));
    R(cd_store_account_by_customer(tx, "", &a)); /* NULL never matches */
    R(cd_store_account_get(tx, "acct_nope", &a));
    R(cd_store_account_list(tx, 10, 0, collect_account, c, &c->total));
    R(cd_store_account_set_balance(tx, "acct_1", 1)); /* write on read tx */
    return 0;
}

static void test_accounts(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, accounts_write, &c), 0);
    EXPECT(&c, 0, CD_STORE_DUPLICATE, CD_STORE_DUPLICATE, 0, 0, 0,
           CD_STORE_DUPLICATE, CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND,
           CD_STORE_ERROR, CD_STORE_ERROR);

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, accounts_read, &c), 0);
    EXPECT(&c, 0, 0, 0, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND, 0,
           CD_STORE_ERROR);
    assert_string_equal(c.acct.id, "acct_1");
    assert_string_equal(c.acct.email, "one@example.com");
    assert_string_equal(c.acct.stripe_customer_id, "cus_1");
    assert_int_equal(c.acct.has_saved_payment_method, 1);
    assert_int_equal(c.acct.balance, 42);
    assert_int_equal(c.acct.created_at, 100);
    /* newest first: created 100 (acct_2 after acct_1), then 50 */
    assert_int_equal(c.total, 3);
    assert_int_equal(c.nids, 3);
    assert_string_equal(c.ids[0], "acct_2");
    assert_string_equal(c.ids[1], "acct_1");
    assert_string_equal(c.ids[2], "acct_3");
    /* "" is stored as NULL */
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM accounts WHERE "
                                      "stripe_customer_id IS NULL"),
                     2);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM accounts WHERE "
                                      "password_hash IS NULL"),
                     1);
}

static int paging_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_account_list(tx, 1, 1, collect_account, c, &c->total));
    R(cd_store_account_list(tx, 0, 0, collect_account, c, NULL));
    R(cd_store_account_list(tx, -1, 2, collect_account, c, NULL));
    return 0;
}

static void test_account_paging(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, accounts_write, &c), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, paging_read, &c), 0);
    EXPECT(&c, 0, 0, 0);
    assert_int_equal(c.total, 3);
    assert_int_equal(c.nids, 2);
    assert_string_equal(c.ids[0], "acct_1"); /* limit 1 offset 1 */
    assert_string_equal(c.ids[1], "acct_3"); /* no limit, offset 2 */
}

static int get_acct1(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_account_get(tx, "acct_1", &c->acct));
    R(cd_store_account_get(tx, "acct_2", &c->acct));
    return 0;
}

/* A stored string longer than the caller's field is an error, never a
 * silent truncation. */
static void test_stored_too_long(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};
    char sql[1024];
    char email[400];

    memset(email, 'e', sizeof(email) - 1);
    email[sizeof(email) - 1] = '\0';
    snprintf(sql, sizeof(sql),
             "INSERT INTO accounts (id, email, created_at) VALUES "
             "('acct_1', 'ok@x', 1), ('acct_2', '%s', 1)",
             email);
    raw_exec(f->path, sql);
    assert_int_equal(cd_store_read(f->s, get_acct1, &c), 0);
    EXPECT(&c, 0, CD_STORE_ERROR);
}

/* ---- tokens ---------------------------------------------------------- */

static const char *H1 =
    "1111111111111111111111111111111111111111111111111111111111111111";
static const char *H2 =
    "2222222222222222222222222222222222222222222222222222222222222222";

static int tokens_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;

    mk_account(&a, "acct_1", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a));
    R(cd_store_token_insert(tx, H1, "acct_1", 100, 200));
    R(cd_store_token_insert(tx, H1, "acct_1", 100, 200));    /* dup */
    R(cd_store_token_insert(tx, H2, "acct_nope", 100, 200)); /* FK */
    return 0;
}

static int tokens_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;

    R(cd_store_token_account(tx, H1, 150, &c->acct));
    R(cd_store_token_account(tx, H1, 200, &a)); /* expired at 200 */
    R(cd_store_token_account(tx, H2, 150, &a));
    return 0;
}

static int tokens_delete(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_token_delete(tx, H1));
    R(cd_store_token_delete(tx, H1));
    return 0;
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, tokens_write, &c), 0);
    EXPECT(&c, 0, 0, CD_STORE_DUPLICATE, CD_STORE_ERROR);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, tokens_read, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND);
    assert_string_equal(c.acct.id, "acct_1");
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_write(f->s, tokens_delete, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND);
}

/* ---- ledger ---------------------------------------------------------- */

static int ledger_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;
    struct cd_ledger_entry e;

    mk_account(&a, "acct_1", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a));
    mk_account(&a, "acct_2", "two@example.com", 100);
    R(cd_store_account_insert(tx, &a));
    mk_entry(&e, "txn_1", "acct_1", 500, 500, "grant:1", 10);
    strcpy(e.description, "welcome");
    R(cd_store_ledger_insert(tx, &e));
    mk_entry(&e, "txn_2", "acct_1", -200, 300, "usage:1", 10);
    strcpy(e.kind, "usage");
    strcpy(e.order_id, "ord_1");
    R(cd_store_ledger_insert(tx, &e));
    mk_entry(&e, "txn_3", "acct_1", 7, 307, "grant:1", 11); /* dup ref */
    R(cd_store_ledger_insert(tx, &e));
    mk_entry(&e, "txn_4", "acct_1", 0, 300, "zero:1", 11); /* amount 0 */
    R(cd_store_ledger_insert(tx, &e));
    mk_entry(&e, "txn_5", "acct_nope", 5, 5, "grant:x", 11); /* FK */
    R(cd_store_ledger_insert(tx, &e));
    mk_entry(&e, "txn_6", "acct_2", 9, 9, "grant:2", 5);
    R(cd_store_ledger_insert(tx, &e));
    R(cd_store_account_set_balance(tx, "acct_1", 300));
    R(cd_store_account_set_balance(tx, "acct_2", 9));
    return 0;
}

static int collect_entry(const struct cd_ledger_entry *e, void *arg)
{
    struct ctx *c = arg;

    strcpy(c->ids[c->nids++], e->id);
    return 0;
}

static int on_mismatch(const char *account_id, int64_t balance,
                       int64_t sum_entries, void *arg)
{
    struct ctx *c = arg;

    c->mismatches++;
    strcpy(c->mismatch_id, account_id);
    c->c = balance - sum_entries;
    return 0;
}

static int ledger_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_ledger_entry e;

    R(cd_store_ledger_by_ref(tx, "usage:1", &c->entry));
    R(cd_store_ledger_by_ref(tx, "nope", &e));
    R(cd_store_ledger_list(tx, "acct_1", 10, 0, collect_entry, c, &c->total));
    R(cd_store_ledger_list(tx, NULL, 10, 0, collect_entry, c, NULL));
    R(cd_store_ledger_verify(tx, &c->a, &c->b, &c->c, on_mismatch, c));
    return 0;
}

static int break_balance(struct cd_tx *tx, void *arg)
{
    return cd_store_account_set_balance(tx, "acct_2", 10);
}

static int verify_only(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    int64_t n, sb, se;

    R(cd_store_ledger_verify(tx, &n, &sb, &se, on_mismatch, c));
    c->a = n;
    c->b = sb;
    c->total = se;
    return 0;
}

static void test_ledger(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, ledger_write, &c), 0);
    EXPECT(&c, 0, 0, 0, 0, CD_STORE_DUPLICATE, CD_STORE_ERROR, CD_STORE_ERROR,
           0, 0, 0);

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, ledger_read, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND, 0, 0, 0);
    assert_string_equal(c.entry.id, "txn_2");
    assert_string_equal(c.entry.account_id, "acct_1");
    assert_int_equal(c.entry.amount, -200);
    assert_int_equal(c.entry.balance_after, 300);
    assert_string_equal(c.entry.kind, "usage");
    assert_string_equal(c.entry.order_id, "ord_1");
    assert_string_equal(c.entry.description, "");
    assert_int_equal(c.entry.created_at, 10);
    assert_int_equal(c.total, 2);
    /* acct_1 newest first (same second: insertion order), then all */
    assert_int_equal(c.nids, 5);
    assert_string_equal(c.ids[0], "txn_2");
    assert_string_equal(c.ids[1], "txn_1");
    assert_string_equal(c.ids[2], "txn_2");
    assert_string_equal(c.ids[3], "txn_1");
    assert_string_equal(c.ids[4], "txn_6");
    assert_int_equal(c.a, 2);
    assert_int_equal(c.b, 309);
    assert_int_equal(c.c, 309);
    assert_int_equal(c.mismatches, 0);

    assert_int_equal(cd_store_write(f->s, break_balance, NULL), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, verify_only, &c), 0);
    EXPECT(&c, 0);
    assert_int_equal(c.mismatches, 1);
    assert_string_equal(c.mismatch_id, "acct_2");
    assert_int_equal(c.c, 1);
    assert_int_equal(c.a, 2);
    assert_int_equal(c.b, 310);
    assert_int_equal(c.total, 309);
}

/* 023: the total of an account's list is the count the trigger keeps -
 * an entry whose job rolls back is not counted, an account without
 * entries (or unknown) is 0. */
static int entry_then_fail(struct cd_tx *tx, void *arg)
{
    struct cd_ledger_entry e;

    (void)arg;
    mk_entry(&e, "txn_9", "acct_2", 1, 10, "grant:9", 12);
    if (cd_store_ledger_insert(tx, &e) != 0)
        return CD_STORE_ERROR;
    return 42; /* the job fails: its savepoint rolls back */
}

static int totals_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_ledger_list(tx, "acct_1", 1, 1, collect_entry, c, &c->a));
    R(cd_store_ledger_list(tx, "acct_2", 10, 0, collect_entry, c, &c->b));
    R(cd_store_ledger_list(tx, "acct_nope", 10, 0, collect_entry, c, &c->c));
    return 0;
}

static void test_ledger_total_is_kept(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, ledger_write, &c), 0);
    assert_int_equal(cd_store_write(f->s, entry_then_fail, NULL), 42);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, totals_read, &c), 0);
    EXPECT(&c, 0, 0, 0);
    assert_int_equal(c.a, 2); /* whatever the page */
    assert_int_equal(c.b, 1);
    assert_int_equal(c.c, 0);
}

/* ---- orders ---------------------------------------------------------- */

static int orders_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;
    struct cd_order o;

    mk_account(&a, "acct_1", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a));
    mk_order(&o, "ord_1", "acct_1", "", 100);
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_2", "acct_1", "", 100); /* "" twice is fine */
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_3", "acct_1", "cs_3", 90);
    strcpy(o.stripe_payment_intent_id, "pi_3");
    strcpy(o.discount_code, "SAVE10");
    o.discount_cents = 100;
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_4", "acct_1", "cs_3", 90); /* dup session */
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_1", "acct_1", "cs_9", 90); /* dup id */
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_5", "acct_1", "", 90);
    strcpy(o.status, "bogus"); /* CHECK */
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_6", "acct_nope", "", 90); /* FK */
    R(cd_store_order_insert(tx, &o));
    /* update ord_1: session set, completed */
    mk_order(&o, "ord_1", "acct_1", "cs_1", 100);
    strcpy(o.status, "completed");
    o.completed_at = 120;
    o.updated_at = 120;
    strcpy(o.failure_reason, "none");
    strcpy(o.stripe_customer_id, "cus_1"); /* 010 */
    R(cd_store_order_update(tx, &o));
    mk_order(&o, "ord_2", "acct_1", "cs_3", 100); /* session taken */
    R(cd_store_order_update(tx, &o));
    mk_order(&o, "ord_nope", "acct_1", "", 100);
    R(cd_store_order_update(tx, &o));
    return 0;
}

static int collect_order(const struct cd_order *o, void *arg)
{
    struct ctx *c = arg;

    strcpy(c->ids[c->nids++], o->id);
    return 0;
}

static int orders_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_order o;

    R(cd_store_order_get(tx, "ord_1", &c->order));
    R(cd_store_order_by_session(tx, "cs_3", &o));
    c->a = o.discount_cents;
    R(cd_store_order_by_session(tx, "", &o));
    R(cd_store_order_by_payment_intent(tx, "pi_3", &o));
    R(cd_store_order_by_payment_intent(tx, "pi_nope", &o));
    R(cd_store_order_get(tx, "ord_nope", &o));
    R(cd_store_order_list(tx, "acct_1", 10, 0, collect_order, c, &c->total));
    R(cd_store_order_list_pending(tx, 101, 10, collect_order, c));
    R(cd_store_order_list_pending(tx, 100, 10, collect_order, c));
    return 0;
}

static void test_orders(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, orders_write, &c), 0);
    EXPECT(&c, 0, 0, 0, 0, CD_STORE_DUPLICATE, CD_STORE_DUPLICATE,
           CD_STORE_ERROR, CD_STORE_ERROR, 0, CD_STORE_DUPLICATE,
           CD_STORE_NOT_FOUND);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, orders_read, &c), 0);
    EXPECT(&c, 0, 0, CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND,
           CD_STORE_NOT_FOUND, 0, 0, 0);
    assert_string_equal(c.order.status, "completed");
    assert_string_equal(c.order.stripe_session_id, "cs_1");
    assert_string_equal(c.order.stripe_payment_intent_id, "");
    assert_string_equal(c.order.failure_reason, "none");
    assert_string_equal(c.order.stripe_customer_id, "cus_1");
    assert_string_equal(c.order.currency, "usd");
    assert_int_equal(c.order.amount_cents, 1000);
    assert_int_equal(c.order.completed_at, 120);
    assert_int_equal(c.a, 100);
    assert_int_equal(c.total, 3);
    /* list: ord_2, ord_1 (100, newest insert first), ord_3 (90);
     * pending before 101: ord_3 (90) then ord_2 (100); before 100: ord_3 */
    assert_int_equal(c.nids, 6);
    assert_string_equal(c.ids[0], "ord_2");
    assert_string_equal(c.ids[1], "ord_1");
    assert_string_equal(c.ids[2], "ord_3");
    assert_string_equal(c.ids[3], "ord_3");
    assert_string_equal(c.ids[4], "ord_2");
    assert_string_equal(c.ids[5], "ord_3");
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM orders WHERE "
                                      "stripe_session_id IS NULL"),
                     1);
}

/* ---- payments -------------------------------------------------------- */

static int payments_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;
    struct cd_order o;
    struct cd_payment p;

    mk_account(&a, "acct_1", "one@example.com", 100);
    R(cd_store_account_insert(tx, &a));
    mk_order(&o, "ord_1", "acct_1", "cs_1", 100);
    R(cd_store_order_insert(tx, &o));
    mk_order(&o, "ord_2", "acct_1", "cs_2", 100);
    R(cd_store_order_insert(tx, &o));
    memset(&p, 0, sizeof(p));
    strcpy(p.id, "pay_1");
    strcpy(p.order_id, "ord_1");
    strcpy(p.account_id, "acct_1");
    strcpy(p.status, "succeeded");
    p.amount_cents = 1000;
    strcpy(p.currency, "usd");
    strcpy(p.last4, "4242");
    strcpy(p.stripe_payment_intent_id, "pi_1");
    strcpy(p.stripe_charge_id, "ch_1");
    p.created_at = 100;
    p.paid_at = 101;
    R(cd_store_payment_insert(tx, &p));
    strcpy(p.id, "pay_2"); /* same order: dup */
    R(cd_store_payment_insert(tx, &p));
    strcpy(p.order_id, "ord_2");
    strcpy(p.status, "failed");
    strcpy(p.failure_reason, "card_declined");
    p.stripe_charge_id[0] = '\0';
    strcpy(p.stripe_payment_intent_id, "pi_2");
    R(cd_store_payment_insert(tx, &p));
    /* refund pay_1 */
    strcpy(p.id, "pay_1");
    strcpy(p.order_id, "ord_1");
    strcpy(p.status, "partially_refunded");
    p.failure_reason[0] = '\0';
    strcpy(p.stripe_payment_intent_id, "pi_1");
    strcpy(p.stripe_charge_id, "ch_1");
    p.amount_refunded_cents = 300;
    p.refunded_at = 150;
    R(cd_store_payment_update(tx, &p));
    strcpy(p.id, "pay_nope");
    R(cd_store_payment_update(tx, &p));
    return 0;
}

static int collect_payment(const struct cd_payment *p, void *arg)
{
    struct ctx *c = arg;

    strcpy(c->ids[c->nids++], p->id);
    return 0;
}

static int payments_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_payment p;

    R(cd_store_payment_by_order(tx, "ord_1", &c->pay));
    R(cd_store_payment_by_order(tx, "ord_nope", &p));
    R(cd_store_payment_by_charge(tx, "ch_1", &p));
    R(cd_store_payment_by_payment_intent(tx, "pi_2", &p));
    strcpy(c->ids[c->nids++], p.id);
    R(cd_store_payment_get(tx, "pay_2", &p));
    R(cd_store_payment_by_charge(tx, "", &p));
    R(cd_store_payment_list(tx, "acct_1", 1, 0, collect_payment, c,
                            &c->total));
    return 0;
}

static void test_payments(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, payments_write, &c), 0);
    EXPECT(&c, 0, 0, 0, 0, CD_STORE_DUPLICATE, 0, 0, CD_STORE_NOT_FOUND);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, payments_read, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND, 0, 0, 0, CD_STORE_NOT_FOUND, 0);
    assert_string_equal(c.pay.id, "pay_1");
    assert_string_equal(c.pay.status, "partially_refunded");
    assert_int_equal(c.pay.amount_refunded_cents, 300);
    assert_int_equal(c.pay.refunded_at, 150);
    assert_int_equal(c.pay.paid_at, 101);
    assert_string_equal(c.pay.last4, "4242");
    assert_string_equal(c.pay.failure_reason, "");
    assert_int_equal(c.total, 2);
    assert_int_equal(c.nids, 2);
    assert_string_equal(c.ids[0], "pay_2");
    assert_string_equal(c.ids[1], "pay_2"); /* newest first, limit 1 */
}

/* ---- pricing, discounts, events -------------------------------------- */

static int pricing_job(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_pricing p = {.mode = "launch",
                           .launch_cents = 900,
                           .rrp_cents = 1900,
                           .sale_cents = 1500,
                           .updated_at = 5};

    R(cd_store_pricing_get(tx, &c->pricing));
    R(cd_store_pricing_put(tx, &p));
    strcpy(p.mode, "sale");
    p.updated_at = 6;
    R(cd_store_pricing_put(tx, &p));
    strcpy(p.mode, "free"); /* CHECK */
    R(cd_store_pricing_put(tx, &p));
    R(cd_store_pricing_get(tx, &c->pricing));
    return 0;
}

static void test_pricing(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, pricing_job, &c), 0);
    EXPECT(&c, CD_STORE_NOT_FOUND, 0, 0, CD_STORE_ERROR, 0);
    assert_string_equal(c.pricing.mode, "sale");
    assert_int_equal(c.pricing.launch_cents, 900);
    assert_int_equal(c.pricing.rrp_cents, 1900);
    assert_int_equal(c.pricing.sale_cents, 1500);
    assert_int_equal(c.pricing.updated_at, 6);
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM pricing"), 1);
}

static int discounts_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_discount d = {.code = "SAVE10",
                            .percent_off = 10,
                            .max_uses = 5,
                            .active = 1,
                            .created_at = 10};

    R(cd_store_discount_insert(tx, &d));
    R(cd_store_discount_insert(tx, &d)); /* dup */
    strcpy(d.code, "FIVE");
    d.percent_off = 0;
    d.amount_off_cents = 500;
    d.created_at = 20;
    R(cd_store_discount_insert(tx, &d));
    R(cd_store_discount_use(tx, "SAVE10", "ord_1", 30));
    R(cd_store_discount_use(tx, "SAVE10", "ord_1", 31)); /* counted once */
    R(cd_store_discount_use(tx, "SAVE10", "ord_2", 32));
    R(cd_store_discount_use(tx, "NOPE", "ord_3", 33));
    R(cd_store_discount_set_active(tx, "FIVE", 0));
    R(cd_store_discount_set_active(tx, "NOPE", 0));
    R(cd_store_event_insert(tx, "evt_1", "checkout.session.completed", 40));
    R(cd_store_event_insert(tx, "evt_1", "checkout.session.completed", 41));
    R(cd_store_event_insert(tx, "evt_2", "charge.refunded", 41));
    return 0;
}

static int collect_discount(const struct cd_discount *d, void *arg)
{
    struct ctx *c = arg;

    strcpy(c->ids[c->nids++], d->code);
    return 0;
}

static int discounts_read(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_discount d;

    R(cd_store_discount_get(tx, "SAVE10", &c->disc));
    R(cd_store_discount_get(tx, "FIVE", &d));
    c->a = d.active;
    c->b = d.amount_off_cents;
    R(cd_store_discount_get(tx, "NOPE", &d));
    R(cd_store_discount_list(tx, 10, 0, collect_discount, c, &c->total));
    return 0;
}

static void test_discounts_events(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, discounts_write, &c), 0);
    EXPECT(&c, 0, CD_STORE_DUPLICATE, 0, 0, CD_STORE_DUPLICATE, 0,
           CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND, 0, CD_STORE_DUPLICATE,
           0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, discounts_read, &c), 0);
    EXPECT(&c, 0, 0, CD_STORE_NOT_FOUND, 0);
    assert_int_equal(c.disc.times_used, 2);
    assert_int_equal(c.disc.percent_off, 10);
    assert_int_equal(c.disc.max_uses, 5);
    assert_int_equal(c.disc.active, 1);
    assert_int_equal(c.a, 0);
    assert_int_equal(c.b, 500);
    assert_int_equal(c.total, 2);
    assert_string_equal(c.ids[0], "FIVE");
    assert_string_equal(c.ids[1], "SAVE10");
    assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM discount_uses"),
                     2);
}

/* ---- idempotency keys ------------------------------------------------ */

static const char BODY[] = "{\"id\":\"ord_1\"}\0tail";

static int idem_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_idem other;
    struct cd_idem i = {.scope = "acct_1 POST /v1/checkout",
                        .key = "k1",
                        .request_hash = "abc",
                        .created_at = 100};

    R(cd_store_idem_insert(tx, &i));
    R(cd_store_idem_insert(tx, &i)); /* dup */
    strcpy(i.key, "k2");
    i.created_at = 50;
    R(cd_store_idem_insert(tx, &i));
    R(cd_store_idem_get(tx, i.scope, "k1", &c->idem));
    c->a = c->idem.body != NULL;
    c->b = c->idem.status;
    free(c->idem.body);
    R(cd_store_idem_complete(tx, i.scope, "k1", 201, BODY, sizeof(BODY) - 1));
    R(cd_store_idem_complete(tx, i.scope, "k9", 201, BODY, 3));
    R(cd_store_idem_get(tx, i.scope, "k1", &c->idem));
    R(cd_store_idem_get(tx, i.scope, "k9", &other));
    R(cd_store_idem_purge(tx, 60)); /* drops k2 */
    R(cd_store_idem_delete(tx, i.scope, "k2"));
    R(cd_store_idem_delete(tx, i.scope, "k1"));
    R(cd_store_idem_delete(tx, i.scope, "k1"));
    return 0;
}

static void test_idem(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, idem_write, &c), 0);
    EXPECT(&c, 0, CD_STORE_DUPLICATE, 0, 0, 0, CD_STORE_NOT_FOUND, 0,
           CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND);
    assert_int_equal(c.a, 0); /* in progress: no body */
    assert_int_equal(c.b, 0);
    assert_int_equal(c.idem.status, 201);
    assert_int_equal(c.idem.body_len, sizeof(BODY) - 1);
    assert_memory_equal(c.idem.body, BODY, sizeof(BODY) - 1);
    assert_int_equal(c.idem.body[c.idem.body_len], '\0');
    assert_string_equal(c.idem.request_hash, "abc");
    free(c.idem.body);
}

/* ---- card details from charge events (011) ---------------------------- */

struct card_ctx {
    struct cd_charge_card got;
    int rc_get, rc_gone;
};

static int card_write(struct cd_tx *tx, void *arg)
{
    struct card_ctx *c = arg;
    struct cd_charge_card cc;

    memset(&cc, 0, sizeof(cc));
    strcpy(cc.payment_intent, "pi_card");
    strcpy(cc.charge, "ch_one");
    strcpy(cc.last4, "4242");
    cc.created_at = 100;
    assert_int_equal(cd_store_charge_card_put(tx, &cc), CD_STORE_OK);
    /* charge.updated without a card: the charge changes, last4 stays. */
    strcpy(cc.charge, "ch_two");
    cc.last4[0] = '\0';
    assert_int_equal(cd_store_charge_card_put(tx, &cc), CD_STORE_OK);
    c->rc_get = cd_store_charge_card_get(tx, "pi_card", &c->got);
    assert_int_equal(cd_store_charge_card_purge(tx, 100), CD_STORE_OK);
    assert_int_equal(cd_store_charge_card_get(tx, "pi_card", &cc),
                     CD_STORE_OK); /* not older than 100 */
    assert_int_equal(cd_store_charge_card_purge(tx, 101), CD_STORE_OK);
    c->rc_gone = cd_store_charge_card_get(tx, "pi_card", &cc);
    return 0;
}

static void test_charge_cards(void **state)
{
    struct fixture *f = *state;
    struct card_ctx c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_write(f->s, card_write, &c), 0);
    assert_int_equal(c.rc_get, CD_STORE_OK);
    assert_string_equal(c.got.charge, "ch_two");
    assert_string_equal(c.got.last4, "4242");
    assert_int_equal(c.got.created_at, 100);
    assert_int_equal(c.rc_gone, CD_STORE_NOT_FOUND);
}

/* ---- pending discount uses, owned idempotency claims ----------------- */

static int pending_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_account a;
    struct cd_order o;
    static const struct {
        const char *id, *code, *status;
        int64_t created;
    } rows[] = {
        {"ord_a", "SAVE", "pending", 100},
        {"ord_b", "SAVE", "pending", 200},
        {"ord_c", "SAVE", "completed", 200},
        {"ord_d", "SAVE", "expired", 200},
        {"ord_e", "OTHER", "pending", 200},
        {"ord_f", "", "pending", 200},
    };
    int64_t n = -1;

    mk_account(&a, "acct_1", "p@example.com", 1);
    R(cd_store_account_insert(tx, &a));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        mk_order(&o, rows[i].id, "acct_1", "", rows[i].created);
        strcpy(o.discount_code, rows[i].code);
        strcpy(o.status, rows[i].status);
        R(cd_store_order_insert(tx, &o));
    }
    R(cd_store_discount_pending_count(tx, "SAVE", 0, NULL, &n));
    c->a = n;
    R(cd_store_discount_pending_count(tx, "SAVE", 150, NULL, &n));
    c->b = n;
    R(cd_store_discount_pending_count(tx, "NOPE", 0, NULL, &n));
    c->c = n;
    R(cd_store_discount_pending_count(tx, "OTHER", 201, NULL, &n));
    c->total = n;
    return 0;
}

/* The plan's detail text of a query contains want. */
static int plan_uses(const char *path, const char *sql, const char *want)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int found = 0;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_text(st, 3);
        if (d && strstr((const char *)d, want))
            found = 1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static void test_discount_pending_count(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, pending_write, &c), 0);
    EXPECT(&c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    assert_int_equal(c.a, 2); /* ord_a, ord_b: pending with SAVE */
    assert_int_equal(c.b, 1); /* created at or after 150: ord_b */
    assert_int_equal(c.c, 0);
    assert_int_equal(c.total, 0);
    if (!use_pg) /* SQLite's plan; PostgreSQL's depends on its stats */
        assert_true(
            plan_uses(f->path,
                      "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM orders "
                      "WHERE discount_code = 'SAVE' AND status = "
                      "'pending' AND created_at >= 5",
                      "orders_discount_pending"));
}

static int claim_write(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;
    struct cd_idem i = {.scope = "server:acct_1",
                        .key = "k1",
                        .request_hash = "abc",
                        .body = "tokA",
                        .body_len = 4,
                        .created_at = 100,
                        .lease_until = 1000};
    struct cd_idem got;

    R(cd_store_idem_insert(tx, &i));
    /* Not our token: nothing happens. */
    R(cd_store_idem_complete_claim(tx, i.scope, "k1", "tokB", 4, 201, BODY,
                                   3));
    R(cd_store_idem_release_claim(tx, i.scope, "k1", "tokB", 4));
    R(cd_store_idem_renew_claim(tx, i.scope, "k1", "tokB", 4, 9999));
    /* A's lease runs until 1000: B cannot take over at 999... */
    R(cd_store_idem_takeover(tx, i.scope, "k1", "tokB", 4, 999, 5000));
    /* ...but can once it ended. */
    R(cd_store_idem_takeover(tx, i.scope, "k1", "tokB", 4, 1000, 5000));
    /* The first owner finishing or renewing late must not touch B's row. */
    R(cd_store_idem_complete_claim(tx, i.scope, "k1", "tokA", 4, 201, "old",
                                   3));
    R(cd_store_idem_release_claim(tx, i.scope, "k1", "tokA", 4));
    R(cd_store_idem_renew_claim(tx, i.scope, "k1", "tokA", 4, 9999));
    R(cd_store_idem_renew_claim(tx, i.scope, "k1", "tokB", 4, 6000));
    R(cd_store_idem_get(tx, i.scope, "k1", &got));
    c->a = got.status;
    c->b = got.body_len == 4 && memcmp(got.body, "tokB", 4) == 0 &&
           got.lease_until == 6000 && got.created_at == 100;
    free(got.body);
    /* B releases (a 5xx): still in progress, free for anyone at once. */
    R(cd_store_idem_release_claim(tx, i.scope, "k1", "tokB", 4));
    R(cd_store_idem_renew_claim(tx, i.scope, "k1", "tokB", 4, 9999));
    R(cd_store_idem_get(tx, i.scope, "k1", &got));
    c->c = got.status == 0 && got.body == NULL && got.lease_until == 0;
    free(got.body);
    R(cd_store_idem_takeover(tx, i.scope, "k1", "tokC", 4, 1, 7000));
    R(cd_store_idem_complete_claim(tx, i.scope, "k1", "tokC", 4, 201, BODY,
                                   sizeof(BODY) - 1));
    /* Completed: no second completion, release, renewal or takeover. */
    R(cd_store_idem_complete_claim(tx, i.scope, "k1", "tokC", 4, 500, "x",
                                   1));
    R(cd_store_idem_release_claim(tx, i.scope, "k1", "tokC", 4));
    R(cd_store_idem_renew_claim(tx, i.scope, "k1", "tokC", 4, 9999));
    R(cd_store_idem_takeover(tx, i.scope, "k1", "tokD", 4, 99999, 99999));
    R(cd_store_idem_get(tx, i.scope, "k1", &c->idem));
    return 0;
}

static void test_idem_claims(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, claim_write, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND,
           CD_STORE_NOT_FOUND, 0, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND,
           CD_STORE_NOT_FOUND, 0, 0, 0, CD_STORE_NOT_FOUND, 0, 0, 0,
           CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND, CD_STORE_NOT_FOUND,
           CD_STORE_NOT_FOUND, 0);
    assert_int_equal(c.a, 0); /* B's claim, still in progress */
    assert_int_equal(c.b, 1);
    assert_int_equal(c.c, 1);
    assert_int_equal(c.idem.status, 201);
    assert_int_equal(c.idem.lease_until, 0);
    assert_int_equal(c.idem.body_len, sizeof(BODY) - 1);
    assert_memory_equal(c.idem.body, BODY, sizeof(BODY) - 1);
    free(c.idem.body);
}

/* ---- jobs, reentrancy, durability, migrations ------------------------ */

static int failing_job(struct cd_tx *tx, void *arg)
{
    struct cd_account a;

    mk_account(&a, "acct_f", "f@example.com", 1);
    if (cd_store_account_insert(tx, &a) != 0)
        return 99;
    return 7;
}

static int count_accounts(struct cd_tx *tx, void *arg)
{
    struct ctx *c = arg;

    R(cd_store_account_list(tx, 0, 0, collect_account, c, &c->total));
    return 0;
}

static void test_failing_job_rolls_back(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};

    assert_int_equal(cd_store_write(f->s, failing_job, NULL), 7);
    assert_int_equal(cd_store_read(f->s, count_accounts, &c), 0);
    assert_int_equal(c.total, 0);
}

/* A list callback that calls the same list on the same tx. */
struct nest {
    struct cd_tx *tx;
    int outer, inner, rc;
};

static int nest_inner(const struct cd_account *a, void *arg)
{
    ((struct nest *)arg)->inner++;
    return 0;
}

static int nest_outer(const struct cd_account *a, void *arg)
{
    struct nest *n = arg;

    n->outer++;
    if (cd_store_account_list(n->tx, 10, 0, nest_inner, n, NULL) != 0)
        n->rc = -1;
    return 0;
}

static int nest_read(struct cd_tx *tx, void *arg)
{
    struct nest *n = arg;

    n->tx = tx;
    return cd_store_account_list(tx, 10, 0, nest_outer, n, NULL);
}

static void test_nested_list(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};
    struct nest n = {0};

    assert_int_equal(cd_store_write(f->s, accounts_write, &c), 0);
    assert_int_equal(cd_store_read(f->s, nest_read, &n), 0);
    assert_int_equal(n.rc, 0);
    assert_int_equal(n.outer, 3);
    assert_int_equal(n.inner, 9);
}

static void test_durable_reopen(void **state)
{
    struct fixture *f = *state;
    struct ctx c = {0};
    int v = cd_store_schema_version(f->s);

    assert_int_equal(cd_store_write(f->s, ledger_write, &c), 0);
    cd_store_close(f->s);
    f->s = open_store(f->path); /* migrations already applied: no-op */
    assert_non_null(f->s);
    assert_int_equal(cd_store_schema_version(f->s), v);
    assert_int_equal(
        raw_int(f->path, "SELECT COUNT(*) FROM schema_migrations"),
        cd_migrations_count);
    memset(&c, 0, sizeof(c));
    assert_int_equal(cd_store_read(f->s, ledger_read, &c), 0);
    EXPECT(&c, 0, CD_STORE_NOT_FOUND, 0, 0, 0);
    assert_int_equal(c.total, 2);
    assert_int_equal(c.b, 309);
    assert_int_equal(c.mismatches, 0);
}

static void test_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    struct cd_store_config cfg = {.path = f->path};
    struct cd_error err = {0};
    struct cd_store *s2;

    cd_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "INSERT INTO schema_migrations (version, name, "
                      "applied_at) VALUES (9999, '9999_future', 1)");
    s2 = cd_store_open(&cfg, &err);
    assert_null(s2);
    assert_string_equal(err.code, "store_schema_newer");
}

static void test_open_errors(void **state)
{
    struct cd_store_config cfg = {.path = "/nonexistent-dir/x/y.db"};
    struct cd_error err = {0};

    (void)state;
    if (use_pg) {
        cfg.path = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2";
        assert_null(cd_store_open(&cfg, &err));
        assert_non_null(strstr(err.message, "PostgreSQL"));
        return;
    }
    assert_null(cd_store_open(&cfg, &err));
    assert_true(err.message[0] != '\0');
    cfg.path = "";
    assert_null(cd_store_open(&cfg, &err));
}

static unsigned file_mode(const char *path, const char *suffix)
{
    char p[200];
    struct stat st;

    snprintf(p, sizeof(p), "%s%s", path, suffix);
    if (stat(p, &st) != 0)
        fail_msg("stat %s failed", p);
    return (unsigned)(st.st_mode & 0777);
}

static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[200];

    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* A database this process creates is 0600, and so are its -wal and -shm
 * (whatever the umask lets through); an existing file keeps its mode. */
static void test_file_mode(void **state)
{
    char dir[64] = "/tmp/cd_store_mode_XXXXXX", path[128];
    mode_t old = umask(022);
    struct cd_store *s;
    FILE *fp;

    (void)state;
    if (use_pg) {
        umask(old);
        skip(); /* files: SQLite only */
        return;
    }
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fresh.db", dir);
    s = open_store(path);
    assert_non_null(s);
    assert_int_equal(file_mode(path, ""), 0600);
    assert_int_equal(file_mode(path, "-wal"), 0600);
    assert_int_equal(file_mode(path, "-shm"), 0600);
    cd_store_close(s);
    remove_db(path);

    snprintf(path, sizeof(path), "%s/existing.db", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0640), 0);
    s = open_store(path);
    assert_non_null(s);
    assert_int_equal(file_mode(path, ""), 0640);
    cd_store_close(s);
    remove_db(path);
    rmdir(dir);
    umask(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_version_ping, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_too_long, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_total_is_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pricing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discounts_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_charge_cards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discount_pending_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idem_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_rolls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nested_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup,
                                        teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_file_mode),
    };

    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, NULL,
                                              NULL);
    }
    return failed;
}
