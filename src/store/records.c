/*
 * records.c - the record functions of store.h, on any backend: each runs
 * one or a few statements of statements.c, binding structs to parameters
 * and reading rows back through the descriptors of rows.c.
 *
 * Mapping rules, the same for every table:
 *  - an empty (or NULL) input string is bound as SQL NULL, and a NULL
 *    column reads back as "" - so optional Stripe ids never collide in
 *    UNIQUE columns, and required columns (NOT NULL) refuse "";
 *  - an input string that does not fit its struct field, or a stored
 *    string that does not fit the caller's field, is CD_STORE_ERROR;
 *  - a UNIQUE or PRIMARY KEY violation is CD_STORE_DUPLICATE (not logged),
 *    an UPDATE/DELETE/lookup that touches no row is CD_STORE_NOT_FOUND;
 *  - lists are newest first: ORDER BY created_at DESC, seq DESC.
 * Errors are logged with the engine's message, never with bound values.
 */
#include "store/records.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- helpers -------------------------------------------------------- */

/* read_X and bind_X of each described record (rows.c); a record may use
 * only one of the two (clang warns about an unused static inline). */
#define REC_IO(x, rec)                                                        \
    __attribute__((unused)) static inline int read_##x(struct cd_stmt *st,    \
                                                       void *out)             \
    {                                                                         \
        return cd_rec_read(st, &(rec), out);                                  \
    }                                                                         \
    __attribute__((unused)) static inline int bind_##x(struct cd_stmt *st,    \
                                                       const void *arg)       \
    {                                                                         \
        return cd_rec_bind(st, &(rec), arg, 1);                               \
    }
/* An account row (ACCOUNT_SEL): the described columns, then its access
 * order, since when, and email_verified_at (never written). */
static int read_account(struct cd_stmt *st, void *out)
{
    struct cd_account *a = out;
    int i = cd_rec_account.ncols;
    int bad = cd_rec_read(st, &cd_rec_account, out);

    bad |= cd_col_str(st, i, a->access_order_id, sizeof(a->access_order_id));
    a->access_since = cd_col_i64(st, i + 1);
    a->email_verified_at = cd_col_i64(st, i + 2);
    return bad;
}

static inline int bind_account(struct cd_stmt *st, const void *arg)
{
    return cd_rec_bind(st, &cd_rec_account, arg, 1);
}
REC_IO(ledger, cd_rec_ledger)
REC_IO(order, cd_rec_order)
REC_IO(payment, cd_rec_payment)
REC_IO(refund, cd_rec_refund)
REC_IO(dispute, cd_rec_dispute)
REC_IO(problem, cd_rec_problem)
REC_IO(pricing, cd_rec_pricing)
REC_IO(discount, cd_rec_discount)
REC_IO(subscription, cd_rec_subscription)
REC_IO(mail, cd_rec_mail)
REC_IO(mail_update, cd_rec_mail_update)
REC_IO(login_fail, cd_rec_login_fail)


static int check_tx(struct cd_tx *tx, int write, const char *what)
{
    if (!tx || !tx->db) {
        cd_error("store", "%s: no transaction", what);
        return -1;
    }
    if (write && !tx->writable) {
        cd_error("store", "%s: write in a read transaction", what);
        return -1;
    }
    return 0;
}

/* Steps a statement that writes: OK, DUPLICATE on a unique key, ERROR. */
static int step_write(struct cd_db *c, struct cd_stmt *st, const char *what)
{
    int rc = cd_step(st);

    if (rc == CD_STEP_DONE || rc == CD_STEP_ROW)
        return CD_STORE_OK;
    if (c->be->error_class(c) == CD_DBE_UNIQUE)
        return CD_STORE_DUPLICATE;
    cd_error("store", "%s: %s", what, cd_db_errmsg(c));
    return CD_STORE_ERROR;
}

/* Like step_write, then NOT_FOUND when no row was touched. */
static int step_change(struct cd_db *c, struct cd_stmt *st, const char *what)
{
    int rc = step_write(c, st, what);

    if (rc == CD_STORE_OK && c->be->changes(c) == 0)
        return CD_STORE_NOT_FOUND;
    return rc;
}

static int bind_failed(const char *what)
{
    cd_error("store", "%s: value too long for its field", what);
    return CD_STORE_ERROR;
}

/* Runs a prepared lookup whose parameters are bound: reads the first row
 * into out. OK, NOT_FOUND or ERROR. Puts st back. */
static int fetch_one(struct cd_db *c, enum cd_sq_stmt id, struct cd_stmt *st,
                     row_reader rd, void *out, const char *what)
{
    int rc = cd_step(st);
    int ret;

    if (rc == CD_STEP_ROW) {
        ret = rd(st, out) == 0 ? CD_STORE_OK : CD_STORE_ERROR;
        if (ret != CD_STORE_OK)
            cd_error("store", "%s: stored value longer than its field", what);
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

/* A lookup by one string key of field size keysz. */
static int get_by_key(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                      size_t keysz, row_reader rd, void *out,
                      const char *what)
{
    struct cd_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, key, keysz) != 0) {
        cd_sq_put(tx->db, id, st);
        return bind_failed(what);
    }
    return fetch_one(tx->db, id, st, rd, out, what);
}

/* Binds, runs and puts back a write statement: bind(st, arg) fills the
 * parameters (-1 when a value does not fit). change: NOT_FOUND on no
 * row touched. */
static int run_write(struct cd_tx *tx, enum cd_sq_stmt id,
                     int (*bind)(struct cd_stmt *st, const void *arg),
                     const void *arg, int change, const char *what)
{
    struct cd_stmt *st;
    int rc;

    if (check_tx(tx, 1, what) != 0 || !arg)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (bind(st, arg) != 0) {
        cd_sq_put(tx->db, id, st);
        return bind_failed(what);
    }
    rc = change ? step_change(tx->db, st, what)
                : step_write(tx->db, st, what);
    cd_sq_put(tx->db, id, st);
    return rc;
}

/* Counts (when total) and lists rows newest first. acct NULL: the *_ALL
 * statements; else the *_ACCT ones filtered by account. */
struct list_q {
    enum cd_sq_stmt count_id, list_id;
    const char *acct;
    int64_t limit, offset;
    row_reader rd;
    void *row;
    row_visit visit;
    void *ctx;
    int64_t *total;
    const char *what;
};

static int list_rows(struct cd_tx *tx, const struct list_q *q)
{
    struct cd_db *c;
    struct cd_stmt *st;
    int p = 1, rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, q->what) != 0)
        return CD_STORE_ERROR;
    c = tx->db;
    if (q->total) {
        if (!(st = cd_sq_get(c, q->count_id)))
            return CD_STORE_ERROR;
        if (q->acct && cd_bind_str(st, 1, q->acct, CD_ID_SZ) != 0) {
            cd_sq_put(c, q->count_id, st);
            return bind_failed(q->what);
        }
        if (cd_step(st) == CD_STEP_ROW) {
            *q->total = cd_col_i64(st, 0);
        } else {
            cd_error("store", "%s: count: %s", q->what, cd_db_errmsg(c));
            ret = CD_STORE_ERROR;
        }
        cd_sq_put(c, q->count_id, st);
        if (ret != CD_STORE_OK)
            return ret;
    }
    if (!(st = cd_sq_get(c, q->list_id)))
        return CD_STORE_ERROR;
    if (q->acct && cd_bind_str(st, p++, q->acct, CD_ID_SZ) != 0) {
        cd_sq_put(c, q->list_id, st);
        return bind_failed(q->what);
    }
    cd_bind_i64(st, p++, q->limit < 0 ? INT64_MAX : q->limit);
    cd_bind_i64(st, p, q->offset < 0 ? 0 : q->offset);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (q->rd(st, q->row) != 0) {
            cd_error("store", "%s: stored value longer than its field",
                     q->what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (q->visit(q->row, q->ctx) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", q->what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, q->list_id, st);
    return ret;
}

/* "" and NULL both mean "every account" for the list functions. */
static const char *acct_filter(const char *account_id)
{
    return account_id && account_id[0] ? account_id : NULL;
}

/* ---- accounts and tokens -------------------------------------------- */

int cd_store_account_insert(struct cd_tx *tx, const struct cd_account *a)
{
    return run_write(tx, SQ_ACCOUNT_INSERT, bind_account, a, 0,
                     "account insert");
}

int cd_store_account_get(struct cd_tx *tx, const char *id,
                         struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_GET, id, CD_ID_SZ, read_account, out,
                      "account get");
}

int cd_store_account_by_email(struct cd_tx *tx, const char *email,
                              struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_EMAIL, email, CD_EMAIL_SZ,
                      read_account, out, "account by email");
}

int cd_store_account_by_customer(struct cd_tx *tx, const char *customer_id,
                                 struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_CUSTOMER, customer_id, CD_SID_SZ,
                      read_account, out, "account by customer");
}

struct set_customer_args {
    const char *id, *customer_id;
    int saved;
};

static int bind_set_customer(struct cd_stmt *st, const void *arg)
{
    const struct set_customer_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->id, CD_ID_SZ);
    bad |= cd_bind_str(st, 2, a->customer_id, CD_SID_SZ);
    bad |= cd_bind_i64(st, 3, a->saved ? 1 : 0);
    return bad;
}

int cd_store_account_set_customer(struct cd_tx *tx, const char *id,
                                  const char *customer_id,
                                  int has_saved_payment_method)
{
    struct set_customer_args a = {id, customer_id, has_saved_payment_method};

    return run_write(tx, SQ_ACCOUNT_SET_CUSTOMER, bind_set_customer, &a, 1,
                     "account set customer");
}

struct id_i64_args {
    const char *id;
    size_t idsz;
    int64_t v;
};

static int bind_id_i64(struct cd_stmt *st, const void *arg)
{
    const struct id_i64_args *a = arg;

    return cd_bind_str(st, 1, a->id, a->idsz) | cd_bind_i64(st, 2, a->v);
}

int cd_store_account_set_balance(struct cd_tx *tx, const char *id,
                                 int64_t balance)
{
    struct id_i64_args a = {id, CD_ID_SZ, balance};

    return run_write(tx, SQ_ACCOUNT_SET_BALANCE, bind_id_i64, &a, 1,
                     "account set balance");
}

struct account_visit {
    cd_account_cb cb;
    void *arg;
};

static int visit_account(const void *row, void *ctx)
{
    struct account_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_account_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_account_cb cb, void *arg, int64_t *total)
{
    struct cd_account row;
    struct account_visit v = {cb, arg};
    struct list_q q = {SQ_ACCOUNT_COUNT, SQ_ACCOUNT_LIST, NULL, limit, offset,
                       read_account, &row, visit_account, &v, total,
                       "account list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

struct token_args {
    const char *hash, *account_id;
    int64_t created_at, expires_at;
};

static int bind_token(struct cd_stmt *st, const void *arg)
{
    const struct token_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->hash, 65);
    bad |= cd_bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, a->created_at);
    bad |= cd_bind_i64(st, 4, a->expires_at);
    return bad;
}

int cd_store_token_insert(struct cd_tx *tx, const char *token_hash,
                          const char *account_id, int64_t created_at,
                          int64_t expires_at)
{
    struct token_args a = {token_hash, account_id, created_at, expires_at};

    return run_write(tx, SQ_TOKEN_INSERT, bind_token, &a, 0, "token insert");
}

int cd_store_token_account(struct cd_tx *tx, const char *token_hash,
                           int64_t now, struct cd_account *out)
{
    const char *what = "token account";
    struct cd_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_TOKEN_ACCOUNT)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, token_hash, 65) | cd_bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->db, SQ_TOKEN_ACCOUNT, st);
        return bind_failed(what);
    }
    return fetch_one(tx->db, SQ_TOKEN_ACCOUNT, st, read_account, out, what);
}

struct key_args {
    const char *k1;
    size_t sz1;
    const char *k2;
    size_t sz2;
};

static int bind_key(struct cd_stmt *st, const void *arg)
{
    const struct key_args *a = arg;
    int bad = cd_bind_str(st, 1, a->k1, a->sz1);

    if (a->k2)
        bad |= cd_bind_str(st, 2, a->k2, a->sz2);
    return bad;
}

int cd_store_token_delete(struct cd_tx *tx, const char *token_hash)
{
    struct key_args a = {token_hash, 65, NULL, 0};

    return run_write(tx, SQ_TOKEN_DELETE, bind_key, &a, 1, "token delete");
}

/* ---- ledger --------------------------------------------------------- */

int cd_store_ledger_insert(struct cd_tx *tx, const struct cd_ledger_entry *e)
{
    return run_write(tx, SQ_LEDGER_INSERT, bind_ledger, e, 0,
                     "ledger insert");
}

struct add_args {
    const char *id;
    int64_t amount, lo, hi;
};

/* ?1 account, ?2 amount (the undo takes only these two) */
static int bind_add_undo(struct cd_stmt *st, const void *arg)
{
    const struct add_args *a = arg;

    return cd_bind_str(st, 1, a->id, CD_ID_SZ) | cd_bind_i64(st, 2, a->amount);
}

/* ?3 lo, ?4 hi */
static int bind_add(struct cd_stmt *st, const void *arg)
{
    const struct add_args *a = arg;

    return bind_add_undo(st, a) | cd_bind_i64(st, 3, a->lo) |
           cd_bind_i64(st, 4, a->hi);
}

/* The guarded UPDATE ... RETURNING balance: OK with *after, GUARD when no
 * row passed (no account, or out of [lo, hi]), ERROR. */
static int add_guarded(struct cd_tx *tx, const struct add_args *a,
                       int64_t *after)
{
    const char *what = "account add balance";
    struct cd_stmt *st;
    int rc, ret;

    if (!(st = cd_sq_get(tx->db, SQ_ACCOUNT_ADD_GUARDED)))
        return CD_STORE_ERROR;
    if (bind_add(st, a) != 0) {
        cd_sq_put(tx->db, SQ_ACCOUNT_ADD_GUARDED, st);
        return bind_failed(what);
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *after = cd_col_i64(st, 0);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_GUARD;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_ACCOUNT_ADD_GUARDED, st);
    return ret;
}

#ifndef NDEBUG
/* Debug and sanitizer builds: the balance before a post, so that it can
 * assert balance_after == before + amount. INT64_MIN: it could not be
 * read. */
static int64_t balance_before(struct cd_tx *tx, const char *account_id)
{
    struct cd_account acct;

    return cd_store_account_get(tx, account_id, &acct) == CD_STORE_OK
               ? acct.balance
               : INT64_MIN;
}
#endif

int cd_store_ledger_post(struct cd_tx *tx, const struct cd_ledger_entry *e,
                         int64_t lo, int64_t hi, struct cd_ledger_entry *out)
{
    struct add_args a;
    struct cd_account acct;
    struct cd_ledger_entry row;
    int rc;

    if (check_tx(tx, 1, "ledger post") != 0 || !e || !out ||
        e->amount > CD_AMOUNT_MAX || e->amount < -CD_AMOUNT_MAX || lo > hi)
        return CD_STORE_ERROR;
    a = (struct add_args){e->account_id, e->amount, lo, hi};
    row = *e;
#ifndef NDEBUG
    int64_t before = balance_before(tx, e->account_id);
#endif
    rc = add_guarded(tx, &a, &row.balance_after);
    if (rc == CD_STORE_GUARD) {
        /* Why no row: only the failure path pays a second statement. */
        rc = cd_store_account_get(tx, e->account_id, &acct);
        return rc == CD_STORE_OK ? CD_STORE_GUARD : rc;
    }
    if (rc != CD_STORE_OK)
        return rc;
    assert(row.balance_after >= lo && row.balance_after <= hi);
    /* INT64_MIN: the read before failed (an injected fault), not asked. */
    assert(before == INT64_MIN || row.balance_after == before + e->amount);
    rc = cd_store_ledger_insert(tx, &row);
    if (rc != CD_STORE_OK) {
        /* The ref exists (or the insert failed): take the change back; we
         * hold the account's row, so nobody changed it meanwhile. */
        if (run_write(tx, SQ_ACCOUNT_ADD_UNDO, bind_add_undo, &a, 1,
                      "account undo add") != CD_STORE_OK)
            return CD_STORE_ERROR;
        return rc;
    }
    *out = row;
    return CD_STORE_OK;
}

int cd_store_ledger_by_ref(struct cd_tx *tx, const char *ref,
                           struct cd_ledger_entry *out)
{
    return get_by_key(tx, SQ_LEDGER_BY_REF, ref, CD_REF_SZ, read_ledger, out,
                      "ledger by ref");
}

struct ledger_visit {
    cd_ledger_cb cb;
    void *arg;
};

static int visit_ledger(const void *row, void *ctx)
{
    struct ledger_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_ledger_list(struct cd_tx *tx, const char *account_id,
                         int64_t limit, int64_t offset, cd_ledger_cb cb,
                         void *arg, int64_t *total)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_LEDGER_COUNT_ACCT : SQ_LEDGER_COUNT_ALL,
                       acct ? SQ_LEDGER_LIST_ACCT : SQ_LEDGER_LIST_ALL,
                       acct, limit, offset, read_ledger, &row, visit_ledger,
                       &v, total, "ledger list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

/* One-row aggregate query into up to two int64 columns. */
static int aggregate(struct cd_db *c, enum cd_sq_stmt id, int64_t *a,
                     int64_t *b, const char *what)
{
    struct cd_stmt *st = cd_sq_get(c, id);
    int ret = CD_STORE_OK;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_step(st) == CD_STEP_ROW) {
        if (a)
            *a = cd_col_i64(st, 0);
        if (b)
            *b = cd_col_i64(st, 1);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

int cd_store_ledger_verify(struct cd_tx *tx, int64_t *accounts,
                           int64_t *sum_balances, int64_t *sum_entries,
                           cd_mismatch_cb cb, void *arg)
{
    const char *what = "ledger verify";
    struct cd_db *c;
    struct cd_stmt *st;
    int64_t n = 0, sb = 0, se = 0;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0)
        return CD_STORE_ERROR;
    c = tx->db;
    if (aggregate(c, SQ_VERIFY_ACCOUNTS, &n, &sb, what) != 0 ||
        aggregate(c, SQ_VERIFY_ENTRIES, &se, NULL, what) != 0)
        return CD_STORE_ERROR;
    if (accounts)
        *accounts = n;
    if (sum_balances)
        *sum_balances = sb;
    if (sum_entries)
        *sum_entries = se;
    if (!(st = cd_sq_get(c, SQ_VERIFY_MISMATCH)))
        return CD_STORE_ERROR;
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        size_t idn = 0;
        const char *id = st->be->column_text(st, 0, &idn);

        if (cb && cb(id ? id : "", cd_col_i64(st, 1),
                     cd_col_i64(st, 2), arg) != 0)
            break;
    }
    if (rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_VERIFY_MISMATCH, st);
    return ret;
}

/* ---- orders ----------------------------------------------------------- */

int cd_store_order_insert(struct cd_tx *tx, const struct cd_order *o)
{
    return run_write(tx, SQ_ORDER_INSERT, bind_order, o, 0, "order insert");
}

struct reserve_args {
    const struct cd_order *o;
    int64_t since;
};

static int bind_reserve(struct cd_stmt *st, const void *arg)
{
    const struct reserve_args *a = arg;

    return bind_order(st, a->o) | cd_bind_i64(st, 23, a->since);
}

int cd_store_order_insert_reserving(struct cd_tx *tx,
                                    const struct cd_order *o,
                                    int64_t hold_since)
{
    struct reserve_args a = {o, hold_since};
    int rc;

    if (!o || !o->discount_code[0])
        return CD_STORE_ERROR;
    rc = run_write(tx, SQ_ORDER_INSERT_RESERVING, bind_reserve, &a, 1,
                   "order insert reserving");
    /* No row inserted: the code refused. */
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_GUARD : rc;
}

int cd_store_order_update(struct cd_tx *tx, const struct cd_order *o)
{
    return run_write(tx, SQ_ORDER_UPDATE, bind_order, o, 1, "order update");
}

int cd_store_order_get(struct cd_tx *tx, const char *id, struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_GET, id, CD_ID_SZ, read_order, out,
                      "order get");
}

int cd_store_order_by_session(struct cd_tx *tx, const char *session_id,
                              struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_SESSION, session_id, CD_SID_SZ,
                      read_order, out, "order by session");
}

int cd_store_order_by_payment_intent(struct cd_tx *tx, const char *pi,
                                     struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_PI, pi, CD_SID_SZ, read_order, out,
                      "order by payment intent");
}

int cd_store_order_by_invoice(struct cd_tx *tx, const char *invoice_id,
                              struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_INVOICE, invoice_id, CD_SID_SZ,
                      read_order, out, "order by invoice");
}

struct order_visit {
    cd_order_cb cb;
    void *arg;
};

static int visit_order(const void *row, void *ctx)
{
    struct order_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_order_list(struct cd_tx *tx, const char *account_id,
                        int64_t limit, int64_t offset, cd_order_cb cb,
                        void *arg, int64_t *total)
{
    struct cd_order row;
    struct order_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_ORDER_COUNT_ACCT : SQ_ORDER_COUNT_ALL,
                       acct ? SQ_ORDER_LIST_ACCT : SQ_ORDER_LIST_ALL,
                       acct, limit, offset, read_order, &row, visit_order,
                       &v, total, "order list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

int cd_store_order_list_pending(struct cd_tx *tx, int64_t before,
                                int64_t limit, cd_order_cb cb, void *arg)
{
    const char *what = "order list pending";
    struct cd_order row;
    struct cd_db *c;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    c = tx->db;
    if (!(st = cd_sq_get(c, SQ_ORDER_LIST_PENDING)))
        return CD_STORE_ERROR;
    cd_bind_i64(st, 1, before);
    cd_bind_i64(st, 2, limit < 0 ? INT64_MAX : limit);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (read_order(st, &row) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&row, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_ORDER_LIST_PENDING, st);
    return ret;
}

/* ---- payments --------------------------------------------------------- */

int cd_store_payment_insert(struct cd_tx *tx, const struct cd_payment *p)
{
    return run_write(tx, SQ_PAYMENT_INSERT, bind_payment, p, 0,
                     "payment insert");
}

int cd_store_payment_update(struct cd_tx *tx, const struct cd_payment *p)
{
    return run_write(tx, SQ_PAYMENT_UPDATE, bind_payment, p, 1,
                     "payment update");
}

int cd_store_payment_get(struct cd_tx *tx, const char *id,
                         struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_GET, id, CD_ID_SZ, read_payment, out,
                      "payment get");
}

int cd_store_payment_by_order(struct cd_tx *tx, const char *order_id,
                              struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_ORDER, order_id, CD_ID_SZ,
                      read_payment, out, "payment by order");
}

int cd_store_payment_by_charge(struct cd_tx *tx, const char *charge_id,
                               struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_CHARGE, charge_id, CD_SID_SZ,
                      read_payment, out, "payment by charge");
}

int cd_store_payment_by_payment_intent(struct cd_tx *tx, const char *pi,
                                       struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_PI, pi, CD_SID_SZ, read_payment, out,
                      "payment by payment intent");
}

struct payment_visit {
    cd_payment_cb cb;
    void *arg;
};

static int visit_payment(const void *row, void *ctx)
{
    struct payment_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_payment_list(struct cd_tx *tx, const char *account_id,
                          int64_t limit, int64_t offset, cd_payment_cb cb,
                          void *arg, int64_t *total)
{
    struct cd_payment row;
    struct payment_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_PAYMENT_COUNT_ACCT : SQ_PAYMENT_COUNT_ALL,
                       acct ? SQ_PAYMENT_LIST_ACCT : SQ_PAYMENT_LIST_ALL,
                       acct, limit, offset, read_payment, &row, visit_payment,
                       &v, total, "payment list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

/* ---- refunds and disputes (007) ---------------------------------------- */

int cd_store_refund_insert(struct cd_tx *tx, const struct cd_refund *r)
{
    return run_write(tx, SQ_REFUND_INSERT, bind_refund, r, 0,
                     "refund insert");
}

int cd_store_refund_update(struct cd_tx *tx, const struct cd_refund *r)
{
    return run_write(tx, SQ_REFUND_UPDATE, bind_refund, r, 1,
                     "refund update");
}

int cd_store_refund_get(struct cd_tx *tx, const char *id,
                        struct cd_refund *out)
{
    return get_by_key(tx, SQ_REFUND_GET, id, CD_ID_SZ, read_refund, out,
                      "refund get");
}

int cd_store_refund_by_stripe(struct cd_tx *tx, const char *stripe_id,
                              struct cd_refund *out)
{
    return get_by_key(tx, SQ_REFUND_BY_STRIPE, stripe_id, CD_SID_SZ,
                      read_refund, out, "refund by stripe id");
}

static int read_refund_sums(struct cd_stmt *st, void *out)
{
    struct cd_refund_sums *r = out;

    r->live = cd_col_i64(st, 0);
    r->failed = cd_col_i64(st, 1);
    r->reserved = cd_col_i64(st, 2);
    return 0;
}

int cd_store_refund_sums(struct cd_tx *tx, const char *order_id,
                         struct cd_refund_sums *out)
{
    memset(out, 0, sizeof(*out));
    return get_by_key(tx, SQ_REFUND_SUMS, order_id, CD_ID_SZ,
                      read_refund_sums, out, "refund sums");
}

int cd_store_dispute_insert(struct cd_tx *tx, const struct cd_dispute *d)
{
    return run_write(tx, SQ_DISPUTE_INSERT, bind_dispute, d, 0,
                     "dispute insert");
}

int cd_store_dispute_update(struct cd_tx *tx, const struct cd_dispute *d)
{
    return run_write(tx, SQ_DISPUTE_UPDATE, bind_dispute, d, 1,
                     "dispute update");
}

int cd_store_dispute_get(struct cd_tx *tx, const char *id,
                         struct cd_dispute *out)
{
    return get_by_key(tx, SQ_DISPUTE_GET, id, CD_SID_SZ, read_dispute, out,
                      "dispute get");
}

static int read_i64(struct cd_stmt *st, void *out)
{
    *(int64_t *)out = cd_col_i64(st, 0);
    return 0;
}

int cd_store_dispute_held(struct cd_tx *tx, const char *order_id,
                          int64_t *out)
{
    *out = 0;
    return get_by_key(tx, SQ_DISPUTE_HELD, order_id, CD_ID_SZ, read_i64, out,
                      "dispute held");
}

/* ---- problems (009) ----------------------------------------------------- */

int cd_store_problem_insert(struct cd_tx *tx, const struct cd_problem *p)
{
    return run_write(tx, SQ_PROBLEM_INSERT, bind_problem, p, 0,
                     "problem insert");
}

struct problem_visit {
    cd_problem_cb cb;
    void *arg;
};

static int visit_problem(const void *row, void *ctx)
{
    struct problem_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_problem_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_problem_cb cb, void *arg, int64_t *total)
{
    struct cd_problem row;
    struct problem_visit v = {cb, arg};
    struct list_q q = {SQ_PROBLEM_COUNT, SQ_PROBLEM_LIST, NULL, limit,
                       offset, read_problem, &row, visit_problem, &v, total,
                       "problem list"};

    return list_rows(tx, &q);
}

/* ---- pricing and discounts -------------------------------------------- */

int cd_store_pricing_get(struct cd_tx *tx, struct cd_pricing *out)
{
    const char *what = "pricing get";
    struct cd_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_PRICING_GET)))
        return CD_STORE_ERROR;
    return fetch_one(tx->db, SQ_PRICING_GET, st, read_pricing, out, what);
}

int cd_store_pricing_put(struct cd_tx *tx, const struct cd_pricing *p)
{
    return run_write(tx, SQ_PRICING_PUT, bind_pricing, p, 0, "pricing put");
}

int cd_store_discount_insert(struct cd_tx *tx, const struct cd_discount *d)
{
    return run_write(tx, SQ_DISCOUNT_INSERT, bind_discount, d, 0,
                     "discount insert");
}

int cd_store_discount_get(struct cd_tx *tx, const char *code,
                          struct cd_discount *out)
{
    return get_by_key(tx, SQ_DISCOUNT_GET, code, CD_CODE_SZ, read_discount,
                      out, "discount get");
}

struct discount_visit {
    cd_discount_cb cb;
    void *arg;
};

static int visit_discount(const void *row, void *ctx)
{
    struct discount_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_discount_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                           cd_discount_cb cb, void *arg, int64_t *total)
{
    struct cd_discount row;
    struct discount_visit v = {cb, arg};
    struct list_q q = {SQ_DISCOUNT_COUNT, SQ_DISCOUNT_LIST, NULL, limit,
                       offset, read_discount, &row, visit_discount, &v,
                       total, "discount list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

int cd_store_discount_set_active(struct cd_tx *tx, const char *code,
                                 int active)
{
    struct id_i64_args a = {code, CD_CODE_SZ, active ? 1 : 0};

    return run_write(tx, SQ_DISCOUNT_SET_ACTIVE, bind_id_i64, &a, 1,
                     "discount set active");
}

struct discount_use_args {
    const char *code, *order_id;
    int64_t now;
};

static int bind_discount_use(struct cd_stmt *st, const void *arg)
{
    const struct discount_use_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->code, CD_CODE_SZ);
    bad |= cd_bind_str(st, 2, a->order_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, a->now);
    return bad;
}

int cd_store_discount_use(struct cd_tx *tx, const char *code,
                          const char *order_id, int64_t now)
{
    struct discount_use_args a = {code, order_id, now};

    /* One INSERT ... SELECT: no row when the code does not exist
     * (NOT_FOUND), a PRIMARY KEY clash when this order's use was already
     * counted (DUPLICATE); the trigger counts the use otherwise. */
    return run_write(tx, SQ_DISCOUNT_USE, bind_discount_use, &a, 1,
                     "discount use");
}

/* ---- Stripe events ---------------------------------------------------- */

struct event_args {
    const char *id, *type;
    int64_t at;
};

static int bind_event(struct cd_stmt *st, const void *arg)
{
    const struct event_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->id, CD_SID_SZ);
    bad |= cd_bind_str(st, 2, a->type, CD_SID_SZ);
    bad |= cd_bind_i64(st, 3, a->at);
    return bad;
}

int cd_store_event_insert(struct cd_tx *tx, const char *event_id,
                          const char *type, int64_t received_at)
{
    struct event_args a = {event_id, type, received_at};

    return run_write(tx, SQ_EVENT_INSERT, bind_event, &a, 0, "event insert");
}

/* ---- idempotency keys ------------------------------------------------- */

static int bind_blob(struct cd_stmt *st, int i, const char *body, size_t len)
{
    if (!body)
        return cd_bind_null(st, i);
    /* A zero-length blob, not NULL, when body is "" of length 0. */
    return st->be->bind_blob(st, i, body, len);
}

static int read_idem(struct cd_stmt *st, void *out)
{
    struct cd_idem *i = out;
    const void *b;
    size_t n;
    int bad = 0;

    memset(i, 0, sizeof(*i));
    bad |= cd_col_str(st, 0, i->scope, sizeof(i->scope));
    bad |= cd_col_str(st, 1, i->key, sizeof(i->key));
    bad |= cd_col_str(st, 2, i->request_hash, sizeof(i->request_hash));
    i->status = (int)cd_col_i64(st, 3);
    i->created_at = cd_col_i64(st, 5);
    i->lease_until = cd_col_i64(st, 6);
    if (bad)
        return -1;
    b = st->be->column_blob(st, 4, &n);
    if (!b && i->status == 0)
        return 0;
    /* NUL-terminated for convenience; body_len excludes the NUL. */
    i->body = malloc(n + 1);
    if (!i->body)
        return -1;
    if (n)
        memcpy(i->body, b, n);
    i->body[n] = '\0';
    i->body_len = n;
    return 0;
}

int cd_store_idem_get(struct cd_tx *tx, const char *scope, const char *key,
                      struct cd_idem *out)
{
    const char *what = "idem get";
    struct cd_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    out->body = NULL;
    out->body_len = 0;
    if (!(st = cd_sq_get(tx->db, SQ_IDEM_GET)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, scope, CD_IDEM_SCOPE_SZ) |
         cd_bind_str(st, 2, key, CD_IDEM_KEY_SZ)) != 0) {
        cd_sq_put(tx->db, SQ_IDEM_GET, st);
        return bind_failed(what);
    }
    return fetch_one(tx->db, SQ_IDEM_GET, st, read_idem, out, what);
}

static int bind_idem(struct cd_stmt *st, const void *arg)
{
    const struct cd_idem *i = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, i->scope, sizeof(i->scope));
    bad |= cd_bind_str(st, 2, i->key, sizeof(i->key));
    bad |= cd_bind_str(st, 3, i->request_hash, sizeof(i->request_hash));
    bad |= cd_bind_i64(st, 4, i->status);
    bad |= bind_blob(st, 5, i->body, i->body_len);
    bad |= cd_bind_i64(st, 6, i->created_at);
    bad |= cd_bind_i64(st, 7, i->lease_until);
    return bad;
}

int cd_store_idem_insert(struct cd_tx *tx, const struct cd_idem *i)
{
    return run_write(tx, SQ_IDEM_INSERT, bind_idem, i, 0, "idem insert");
}

struct idem_complete_args {
    const char *scope, *key;
    int status;
    const char *body;
    size_t len;
};

static int bind_idem_complete(struct cd_stmt *st, const void *arg)
{
    const struct idem_complete_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= cd_bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    return bad;
}

int cd_store_idem_complete(struct cd_tx *tx, const char *scope,
                           const char *key, int status, const char *body,
                           size_t body_len)
{
    struct idem_complete_args a = {scope, key, status, body, body_len};

    return run_write(tx, SQ_IDEM_COMPLETE, bind_idem_complete, &a, 1,
                     "idem complete");
}

int cd_store_idem_delete(struct cd_tx *tx, const char *scope, const char *key)
{
    struct key_args a = {scope, CD_IDEM_SCOPE_SZ, key, CD_IDEM_KEY_SZ};

    return run_write(tx, SQ_IDEM_DELETE, bind_key, &a, 1, "idem delete");
}

static int bind_purge(struct cd_stmt *st, const void *arg)
{
    return cd_bind_i64(st, 1, *(const int64_t *)arg);
}

int cd_store_idem_purge(struct cd_tx *tx, int64_t before)
{
    return run_write(tx, SQ_IDEM_PURGE, bind_purge, &before, 0, "idem purge");
}

/* ---- background jobs: tokens purge, settings, leases ------------------ */

int cd_store_token_purge(struct cd_tx *tx, int64_t now)
{
    int rc = run_write(tx, SQ_TOKEN_PURGE, bind_purge, &now, 0,
                       "token purge");

    if (rc != CD_STORE_OK)
        return rc;
    return run_write(tx, SQ_PORTAL_PURGE, bind_purge, &now, 0,
                     "portal session purge");
}

int cd_store_link_purge(struct cd_tx *tx, int64_t now)
{
    return run_write(tx, SQ_LINK_PURGE, bind_purge, &now, 0, "link purge");
}

int cd_store_charge_card_purge(struct cd_tx *tx, int64_t before)
{
    return run_write(tx, SQ_CHARGE_CARD_PURGE, bind_purge, &before, 0,
                     "charge card purge");
}

struct kv_read {
    char *out;
    size_t outsz;
};

static int read_kv(struct cd_stmt *st, void *out)
{
    struct kv_read *r = out;

    return cd_col_str(st, 0, r->out, r->outsz);
}

int cd_store_kv_get(struct cd_tx *tx, const char *key, char *out,
                    size_t outsz)
{
    struct kv_read r = {out, outsz};

    if (!out || outsz == 0)
        return CD_STORE_ERROR;
    out[0] = '\0';
    return get_by_key(tx, SQ_KV_GET, key, CD_KV_KEY_SZ, read_kv, &r,
                      "kv get");
}

struct kv_args {
    const char *key, *value;
    int64_t now;
};

static int bind_kv(struct cd_stmt *st, const void *arg)
{
    const struct kv_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->key, CD_KV_KEY_SZ);
    bad |= cd_bind_str(st, 2, a->value, CD_KV_VALUE_SZ);
    bad |= cd_bind_i64(st, 3, a->now);
    return bad;
}

int cd_store_kv_put(struct cd_tx *tx, const char *key, const char *value,
                    int64_t now)
{
    struct kv_args a = {key, value, now};

    return run_write(tx, SQ_KV_PUT, bind_kv, &a, 0, "kv put");
}

struct lease_args {
    const char *name, *holder;
    int64_t now, until;
};

static int bind_lease(struct cd_stmt *st, const void *arg)
{
    const struct lease_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->name, CD_LEASE_NAME_SZ);
    bad |= cd_bind_str(st, 2, a->holder, CD_LEASE_HOLDER_SZ);
    bad |= cd_bind_i64(st, 3, a->now);
    bad |= cd_bind_i64(st, 4, a->until);
    return bad;
}

int cd_store_lease_acquire(struct cd_tx *tx, const char *name,
                           const char *holder, int64_t now, int64_t ttl)
{
    struct lease_args a = {name, holder, now, 0};
    int rc;

    if (ttl <= 0 || now > INT64_MAX - ttl) {
        cd_error("store", "lease acquire: bad ttl");
        return CD_STORE_ERROR;
    }
    a.until = now + ttl;
    rc = run_write(tx, SQ_LEASE_ACQUIRE, bind_lease, &a, 1, "lease acquire");
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_lease_release(struct cd_tx *tx, const char *name,
                           const char *holder)
{
    struct key_args a = {name, CD_LEASE_NAME_SZ, holder, CD_LEASE_HOLDER_SZ};

    return run_write(tx, SQ_LEASE_RELEASE, bind_key, &a, 1, "lease release");
}

/* ---- appended: pending discount uses, owned idempotency claims -------- */

/* One COUNT(*) whose parameters are a string key (?1, field size keysz)
 * and a time (?2). */
static int count_since(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                       size_t keysz, int64_t since, int64_t *out,
                       const char *what)
{
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out || !key || !key[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, key, keysz) | cd_bind_i64(st, 2, since)) != 0) {
        cd_sq_put(tx->db, id, st);
        return bind_failed(what);
    }
    if (cd_step(st) == CD_STEP_ROW) {
        *out = cd_col_i64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, id, st);
    return ret;
}

int cd_store_discount_pending_count(struct cd_tx *tx, const char *code,
                                    int64_t since, const char *except,
                                    int64_t *out)
{
    const char *what = "discount pending count";
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out || !code || !code[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, SQ_DISCOUNT_PENDING_COUNT)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, code, CD_CODE_SZ) | cd_bind_i64(st, 2, since) |
         cd_bind_str(st, 3, except, CD_ID_SZ)) != 0) {
        cd_sq_put(tx->db, SQ_DISCOUNT_PENDING_COUNT, st);
        return bind_failed(what);
    }
    if (cd_step(st) == CD_STEP_ROW) {
        *out = cd_col_i64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_DISCOUNT_PENDING_COUNT, st);
    return ret;
}

int cd_store_discount_holds(struct cd_tx *tx, const char *account_id,
                            const char *code, int64_t since, cd_order_cb cb,
                            void *arg)
{
    const char *what = "discount holds";
    struct cd_order o;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_DISCOUNT_HOLDS)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, account_id, CD_ID_SZ) |
         cd_bind_str(st, 2, code, CD_CODE_SZ) |
         cd_bind_i64(st, 3, since)) != 0) {
        cd_sq_put(tx->db, SQ_DISCOUNT_HOLDS, st);
        return bind_failed(what);
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (read_order(st, &o) != 0) {
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&o, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_DISCOUNT_HOLDS, st);
    return ret;
}

int cd_store_order_count_pending(struct cd_tx *tx, const char *account_id,
                                 int64_t since, int64_t *out)
{
    return count_since(tx, SQ_ORDER_COUNT_PENDING, account_id, CD_ID_SZ,
                       since, out, "order pending count");
}

struct idem_claim_args {
    const char *scope, *key;
    const char *claim;
    size_t claim_len;
    int status;
    const char *body;
    size_t len;
    int64_t lease_until, now_ms;
};

static int bind_idem_complete_claim(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= cd_bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    bad |= bind_blob(st, 5, a->claim, a->claim_len);
    return bad;
}

/* ?1 scope, ?2 key, ?3 claim; then ?4 lease_until and ?5 now (ms) for
 * the statements that take them. */
static int bind_idem_owner(struct cd_stmt *st, const struct idem_claim_args *a)
{
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= bind_blob(st, 3, a->claim, a->claim_len);
    return bad;
}

static int bind_idem_release(struct cd_stmt *st, const void *arg)
{
    return bind_idem_owner(st, arg);
}

static int bind_idem_renew(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | cd_bind_i64(st, 4, a->lease_until);
}

static int bind_idem_takeover(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | cd_bind_i64(st, 4, a->lease_until) |
           cd_bind_i64(st, 5, a->now_ms);
}

int cd_store_idem_complete_claim(struct cd_tx *tx, const char *scope,
                                 const char *key, const char *claim,
                                 size_t claim_len, int status,
                                 const char *body, size_t body_len)
{
    struct idem_claim_args a = {scope, key,   claim, claim_len,
                                status, body, body_len, 0, 0};

    if (!claim || claim_len == 0 || status <= 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_COMPLETE_CLAIM, bind_idem_complete_claim,
                     &a, 1, "idem complete claim");
}

int cd_store_idem_release_claim(struct cd_tx *tx, const char *scope,
                                const char *key, const char *claim,
                                size_t claim_len)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                0,     0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_RELEASE_CLAIM, bind_idem_release, &a, 1,
                     "idem release claim");
}

int cd_store_idem_renew_claim(struct cd_tx *tx, const char *scope,
                              const char *key, const char *claim,
                              size_t claim_len, int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                lease_until, 0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_RENEW_CLAIM, bind_idem_renew, &a, 1,
                     "idem renew claim");
}

int cd_store_idem_takeover(struct cd_tx *tx, const char *scope,
                           const char *key, const char *claim,
                           size_t claim_len, int64_t now_ms,
                           int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                lease_until, now_ms};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_TAKEOVER, bind_idem_takeover, &a, 1,
                     "idem takeover");
}

/* ---- subscriptions (004) ------------------------------------------------ */

int cd_store_subscription_upsert(struct cd_tx *tx,
                                 const struct cd_subscription *s)
{
    int rc = run_write(tx, SQ_SUB_UPSERT, bind_subscription, s, 1,
                       "subscription upsert");

    /* No row touched: the stored copy is newer. */
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_subscription_get(struct cd_tx *tx, const char *stripe_id,
                              struct cd_subscription *out)
{
    return get_by_key(tx, SQ_SUB_GET, stripe_id, CD_SID_SZ, read_subscription,
                      out, "subscription get");
}

int cd_store_subscription_latest(struct cd_tx *tx, const char *account_id,
                                 struct cd_subscription *out)
{
    return get_by_key(tx, SQ_SUB_LATEST, account_id, CD_ID_SZ,
                      read_subscription, out, "subscription latest");
}

/* ---- mail outbox (005) -------------------------------------------------- */

int cd_store_mail_insert(struct cd_tx *tx, const struct cd_mail *m)
{
    struct cd_mail *q;
    int rc;

    if (!m || m->status[0])
        return run_write(tx, SQ_MAIL_INSERT, bind_mail, m, 0, "mail insert");
    /* No status yet: a new mail is queued. */
    if (!(q = malloc(sizeof(*q))))
        return CD_STORE_ERROR;
    *q = *m;
    memcpy(q->status, "queued", sizeof("queued"));
    rc = run_write(tx, SQ_MAIL_INSERT, bind_mail, q, 0, "mail insert");
    free(q);
    return rc;
}

int cd_store_mail_get_by_key(struct cd_tx *tx, const char *dedupe_key,
                             struct cd_mail *out)
{
    return get_by_key(tx, SQ_MAIL_GET_BY_KEY, dedupe_key, CD_REF_SZ,
                      read_mail, out, "mail get");
}

int cd_store_mail_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                      cd_mail_cb cb, void *arg)
{
    const char *what = "mail due";
    struct cd_mail *m;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb || limit < 0)
        return CD_STORE_ERROR;
    m = malloc(sizeof(*m));
    if (!m)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_MAIL_DUE))) {
        free(m);
        return CD_STORE_ERROR;
    }
    cd_bind_i64(st, 1, now_ms);
    cd_bind_i64(st, 2, limit);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (read_mail(st, m) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(m, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_MAIL_DUE, st);
    free(m);
    return ret;
}

int cd_store_mail_update(struct cd_tx *tx, const struct cd_mail *m)
{
    return run_write(tx, SQ_MAIL_UPDATE, bind_mail_update, m, 1,
                     "mail update");
}

/* ---- login throttle (010) ----------------------------------------------- */

int cd_store_login_fail_get(struct cd_tx *tx, const char *email,
                            const char *address, struct cd_login_fail *out)
{
    const char *what = "login fail get";
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};
    struct cd_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out || !email || !address)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_LOGIN_FAIL_GET)))
        return CD_STORE_ERROR;
    if (bind_key(st, &a) != 0) {
        cd_sq_put(tx->db, SQ_LOGIN_FAIL_GET, st);
        return bind_failed(what);
    }
    return fetch_one(tx->db, SQ_LOGIN_FAIL_GET, st, read_login_fail, out,
                     what);
}

int cd_store_login_fail_put(struct cd_tx *tx, const struct cd_login_fail *f)
{
    return run_write(tx, SQ_LOGIN_FAIL_PUT, bind_login_fail, f, 0,
                     "login fail put");
}

int cd_store_login_fail_delete(struct cd_tx *tx, const char *email,
                               const char *address)
{
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};

    if (!email || !address)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_LOGIN_FAIL_DELETE, bind_key, &a, 1,
                     "login fail delete");
}

int cd_store_login_fail_purge(struct cd_tx *tx, int64_t before_ms)
{
    return run_write(tx, SQ_LOGIN_FAIL_PURGE, bind_purge, &before_ms, 0,
                     "login fail purge");
}

/* ---- ported from main: external accounts, portal links, mailed links,
 * charge cards, keyset pages (migrations 010..015) --------------------- */

int cd_store_account_by_external(struct cd_tx *tx, const char *external_id,
                                 struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_EXTERNAL, external_id, CD_EXTID_SZ,
                      read_account, out, "account by external id");
}

struct portal_args {
    const char *hash, *account_id, *return_url;
    int64_t created_at, expires_at;
};

static int bind_portal(struct cd_stmt *st, const void *arg)
{
    const struct portal_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->hash, 65);
    bad |= cd_bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= cd_bind_str(st, 3, a->return_url, 2049) /* CD_URL_MAX + 1 */;
    bad |= cd_bind_i64(st, 4, a->created_at);
    bad |= cd_bind_i64(st, 5, a->expires_at);
    return bad;
}

int cd_store_portal_insert(struct cd_tx *tx, const char *token_hash,
                           const char *account_id, const char *return_url,
                           int64_t created_at, int64_t expires_at)
{
    struct portal_args a = {token_hash, account_id, return_url, created_at,
                            expires_at};

    return run_write(tx, SQ_PORTAL_INSERT, bind_portal, &a, 0,
                     "portal session insert");
}

struct portal_row {
    char *account_id, *return_url;
    size_t return_url_sz;
};

static int read_portal(struct cd_stmt *st, void *out)
{
    struct portal_row *r = out;

    return cd_col_str(st, 0, r->account_id, CD_ID_SZ) |
           cd_col_str(st, 1, r->return_url, r->return_url_sz);
}

int cd_store_portal_consume(struct cd_tx *tx, const char *token_hash,
                            int64_t now, char *account_id, char *return_url,
                            size_t return_url_sz)
{
    const char *what = "portal session consume";
    struct portal_row r = {account_id, return_url, return_url_sz};
    struct cd_stmt *st;

    if (check_tx(tx, 1, what) != 0 || !account_id || !return_url)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_PORTAL_CONSUME)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, token_hash, 65) | cd_bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->db, SQ_PORTAL_CONSUME, st);
        return bind_failed(what);
    }
    return fetch_one(tx->db, SQ_PORTAL_CONSUME, st, read_portal, &r, what);
}

struct two_str_args {
    const char *a;
    size_t asz;
    const char *b;
    size_t bsz;
};

static int bind_two_str(struct cd_stmt *st, const void *arg)
{
    const struct two_str_args *x = arg;

    return cd_bind_str(st, 1, x->a, x->asz) | cd_bind_str(st, 2, x->b, x->bsz);
}

int cd_store_account_set_password(struct cd_tx *tx, const char *id,
                                  const char *password_hash)
{
    struct two_str_args a = {id, CD_ID_SZ, password_hash, CD_HASH_SZ};

    if (!password_hash || !password_hash[0])
        return CD_STORE_ERROR;
    return run_write(tx, SQ_ACCOUNT_SET_PASSWORD, bind_two_str, &a, 1,
                     "account set password");
}

int cd_store_token_delete_account(struct cd_tx *tx, const char *account_id)
{
    struct key_args a = {account_id, CD_ID_SZ, NULL, 0};

    return run_write(tx, SQ_TOKEN_DELETE_ACCOUNT, bind_key, &a, 0,
                     "token delete account");
}

int cd_store_mail_redact(struct cd_tx *tx, const char *id, const char *body)
{
    struct two_str_args a = {id, CD_ID_SZ, body, CD_MAIL_BODY_SZ};

    return run_write(tx, SQ_MAIL_REDACT, bind_two_str, &a, 1, "mail redact");
}

/* links mailed: password reset, email verification (013) */

static int bind_link(struct cd_stmt *st, const void *arg)
{
    const struct cd_reset *r = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, r->token_hash, sizeof(r->token_hash));
    bad |= cd_bind_str(st, 2, r->account_id, sizeof(r->account_id));
    bad |= cd_bind_i64(st, 3, r->created_at);
    bad |= cd_bind_i64(st, 4, r->expires_at);
    bad |= cd_bind_str(st, 5, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_insert(struct cd_tx *tx, const struct cd_reset *r)
{
    return run_write(tx, SQ_RESET_INSERT, bind_link, r, 0, "link insert");
}

int cd_store_reset_count_since(struct cd_tx *tx, const char *account_id,
                               const char *purpose, int64_t since,
                               int64_t *out)
{
    const char *what = "link count";
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, SQ_RESET_COUNT_SINCE)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, account_id, CD_ID_SZ) | cd_bind_i64(st, 2, since) |
         cd_bind_str(st, 3, purpose, 16)) != 0) {
        cd_sq_put(tx->db, SQ_RESET_COUNT_SINCE, st);
        return bind_failed(what);
    }
    if (cd_step(st) == CD_STEP_ROW) {
        *out = cd_col_i64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_RESET_COUNT_SINCE, st);
    return ret;
}

int cd_store_account_set_verified(struct cd_tx *tx, const char *id,
                                  int64_t now)
{
    struct id_i64_args a = {id, CD_ID_SZ, now};

    return run_write(tx, SQ_ACCOUNT_SET_VERIFIED, bind_id_i64, &a, 0,
                     "account set verified");
}

int cd_store_order_count_paid(struct cd_tx *tx, const char *account_id,
                              int64_t *out)
{
    return count_since(tx, SQ_ORDER_COUNT_PAID, account_id, CD_ID_SZ, 1, out,
                       "order paid count");
}

static int read_reset(struct cd_stmt *st, void *out)
{
    struct cd_reset *r = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, r->account_id, sizeof(r->account_id));
    r->created_at = cd_col_i64(st, 1);
    r->expires_at = cd_col_i64(st, 2);
    r->used_at = cd_col_i64(st, 3);
    bad |= cd_col_str(st, 4, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_get(struct cd_tx *tx, const char *token_hash,
                       struct cd_reset *out)
{
    memset(out, 0, sizeof(*out));
    if (!token_hash || strnlen(token_hash, sizeof(out->token_hash)) >=
                           sizeof(out->token_hash))
        return CD_STORE_NOT_FOUND;
    memcpy(out->token_hash, token_hash, strlen(token_hash) + 1);
    return get_by_key(tx, SQ_RESET_GET, token_hash, sizeof(out->token_hash),
                      read_reset, out, "reset get");
}

struct use_all_args {
    const char *account_id, *purpose;
    int64_t now;
};

static int bind_use_all(struct cd_stmt *st, const void *arg)
{
    const struct use_all_args *a = arg;

    return cd_bind_str(st, 1, a->account_id, CD_ID_SZ) |
           cd_bind_i64(st, 2, a->now) | cd_bind_str(st, 3, a->purpose, 16);
}

int cd_store_reset_use_all(struct cd_tx *tx, const char *account_id,
                           const char *purpose, int64_t now)
{
    struct use_all_args a = {account_id, purpose, now};

    return run_write(tx, SQ_RESET_USE_ALL, bind_use_all, &a, 0,
                     "link use all");
}

/* card details from charge events (014) */

static int bind_charge_card(struct cd_stmt *st, const void *arg)
{
    const struct cd_charge_card *c = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, c->payment_intent, sizeof(c->payment_intent));
    bad |= cd_bind_str(st, 2, c->charge, sizeof(c->charge));
    bad |= cd_bind_str(st, 3, c->last4, sizeof(c->last4));
    bad |= cd_bind_i64(st, 4, c->created_at);
    return bad;
}

static int read_charge_card(struct cd_stmt *st, void *out)
{
    struct cd_charge_card *c = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, c->payment_intent, sizeof(c->payment_intent));
    bad |= cd_col_str(st, 1, c->charge, sizeof(c->charge));
    bad |= cd_col_str(st, 2, c->last4, sizeof(c->last4));
    c->created_at = cd_col_i64(st, 3);
    return bad;
}

int cd_store_charge_card_put(struct cd_tx *tx, const struct cd_charge_card *c)
{
    if (!c->payment_intent[0] || !c->charge[0])
        return CD_STORE_ERROR;
    return run_write(tx, SQ_CHARGE_CARD_PUT, bind_charge_card, c, 0,
                     "charge card put");
}

int cd_store_charge_card_get(struct cd_tx *tx, const char *payment_intent,
                             struct cd_charge_card *out)
{
    return get_by_key(tx, SQ_CHARGE_CARD_GET, payment_intent, CD_SID_SZ,
                      read_charge_card, out, "charge card get");
}

/* keyset pages of every account's orders and ledger (010); the runner,
 * cd_page_run, is shared with admin_pages.c (records.h) */

static int read_page_key(struct cd_stmt *st, void *out)
{
    int64_t *key = out;

    key[0] = cd_col_i64(st, 0);
    key[1] = cd_col_i64(st, 1);
    return 0;
}

/* key: the (created_at, seq) of the row q->starting_after, or the top of
 * the table when there is none; NOT_FOUND when that row does not exist. */
static int page_start(struct cd_tx *tx, const struct cd_page_query *q,
                      const struct page_run *r, int64_t key[2])
{
    key[0] = INT64_MAX;
    key[1] = INT64_MAX;
    if (!q->starting_after || !q->starting_after[0])
        return CD_STORE_OK;
    return get_by_key(tx, r->key_id, q->starting_after, CD_ID_SZ,
                      read_page_key, key, r->what);
}

static int bind_page_str(struct cd_stmt *st, unsigned named, int i,
                         const char *s, size_t sz)
{
    if (!(named & P(i)))
        return cd_bind_i64(st, i, 0);
    return cd_bind_str(st, i, s, sz);
}

/* The one upper bound a page reads below, a (created_at, seq) row value:
 * before the row it starts after, and before q->to ((to, MIN)). One bound,
 * not two, so that the index range ends there (given two, SQLite may pick
 * the loose one and walk every newer row of a deep page). */
static int bind_page(struct cd_stmt *st, const struct cd_page_query *q,
                     unsigned named, const int64_t key[2])
{
    int to = q->to && q->to <= key[0];
    int bad = 0;

    bad |= bind_page_str(st, named, 1, q->account_id, CD_ID_SZ);
    bad |= bind_page_str(st, named, 2, q->status, CD_STATUS_SZ);
    bad |= bind_page_str(st, named, 3, q->kind, CD_KIND_SZ);
    bad |= cd_bind_i64(st, 4, q->from ? q->from : INT64_MIN);
    bad |= cd_bind_i64(st, 5, 0); /* unnamed since 024 */
    bad |= cd_bind_i64(st, 6, to ? q->to : key[0]);
    bad |= cd_bind_i64(st, 7, to ? INT64_MIN : key[1]);
    bad |= cd_bind_i64(st, 8, q->limit + 1); /* one more: is there a next? */
    return bad;
}

int cd_page_run(struct cd_tx *tx, const struct cd_page_query *q,
                const struct page_run *r)
{
    int64_t key[2], n = 0;
    struct cd_stmt *st;
    int rc, ret;

    *r->has_more = 0;
    if (check_tx(tx, 0, r->what) != 0 || q->limit < 1 ||
        q->limit > CD_PAGE_MAX)
        return CD_STORE_ERROR;
    if ((ret = page_start(tx, q, r, key)) != CD_STORE_OK)
        return ret;
    if (!(st = cd_sq_get(tx->db, r->list_id)))
        return CD_STORE_ERROR;
    if (bind_page(st, q, r->named, key) != 0) {
        cd_sq_put(tx->db, r->list_id, st);
        return bind_failed(r->what);
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (n == q->limit) {
            *r->has_more = 1;
            break;
        }
        if (r->rd(st, r->row) != 0) {
            cd_error("store", "%s: stored value longer than its field",
                     r->what);
            ret = CD_STORE_ERROR;
            break;
        }
        n++;
        if (r->visit(r->row, r->ctx) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", r->what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, r->list_id, st);
    return ret;
}

static int has(const char *s)
{
    return s && s[0];
}

int cd_store_order_page(struct cd_tx *tx, const struct cd_page_query *q,
                        cd_order_cb cb, void *arg, int *has_more)
{
    struct cd_order row;
    struct order_visit v = {cb, arg};
    struct page_run r = {SQ_ORDER_KEY, SQ_ORDER_PAGE_ALL, PAGE_TAIL_P,
                         read_order, &row, visit_order, &v, has_more,
                         "order page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (has(q->account_id)) {
        r.list_id = SQ_ORDER_PAGE_ACCT;
        r.named |= P(1) | P(2) | P(3);
    } else if (has(q->status)) {
        r.list_id = SQ_ORDER_PAGE_STATUS;
        r.named |= P(2) | P(3);
    } else if (has(q->kind)) {
        r.list_id = SQ_ORDER_PAGE_KIND;
        r.named |= P(3);
    }
    return cd_page_run(tx, q, &r);
}

int cd_store_ledger_page(struct cd_tx *tx, const struct cd_page_query *q,
                         cd_ledger_cb cb, void *arg, int *has_more)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    struct page_run r = {SQ_LEDGER_KEY, SQ_LEDGER_PAGE_ALL, PAGE_TAIL_P,
                         read_ledger, &row, visit_ledger, &v, has_more,
                         "ledger page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (has(q->account_id)) {
        r.list_id = SQ_LEDGER_PAGE_ACCT;
        r.named |= P(1) | P(3);
    } else if (has(q->kind)) {
        r.list_id = SQ_LEDGER_PAGE_KIND;
        r.named |= P(3);
    }
    return cd_page_run(tx, q, &r);
}
