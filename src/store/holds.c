/*
 * holds.c - the store's holds (migration 017); see holds.h. The statements
 * are in statements.c (SQ_HOLD_*); a hold row is read and bound through
 * its own descriptor (rows.c's generic code).
 */
#include "store/holds.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "util/log.h"

#define T struct cd_hold
#define S(f)                                                                 \
    {                                                                        \
#f, CD_COL_STR, offsetof(T, f), sizeof(((T *)0)->f)                  \
    }
#define I(f)                                                                 \
    {                                                                        \
#f, CD_COL_I64, offsetof(T, f), sizeof(int64_t)                      \
    }
static const struct cd_col hold_cols[] = {
    S(id),         S(account_id),  I(amount),         I(captured),
    S(status),     S(description), S(transaction_id), I(created_at),
    I(expires_at), I(finished_at)};
#undef S
#undef I
static const struct cd_rec rec_hold = {
    "struct cd_hold", HOLD_COLS, sizeof(T),
    (int)(sizeof(hold_cols) / sizeof(hold_cols[0])), hold_cols};
#undef T

/* A statement for this job: NULL when the transaction cannot run it. */
static struct cd_stmt *get(struct cd_tx *tx, enum cd_sq_stmt id, int write)
{
    if (!tx || !tx->db || (write && !tx->writable)) {
        cd_error("store", "hold statement %d: no (writable) transaction",
                 (int)id);
        return NULL;
    }
    return cd_sq_get(tx->db, id);
}

/* Logs the engine's message; CD_STORE_ERROR (DUPLICATE on a unique key). */
static int failed(struct cd_tx *tx, const char *what)
{
    if (tx->db->be->error_class(tx->db) == CD_DBE_UNIQUE)
        return CD_STORE_DUPLICATE;
    cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
    return CD_STORE_ERROR;
}

/* Runs a bound statement that returns at most one row: OK (a row, its
 * first column into *v when v), GUARD (none), or an error. Puts it back. */
static int one_row(struct cd_tx *tx, enum cd_sq_stmt id, struct cd_stmt *st,
                   int64_t *v, const char *what)
{
    int rc = cd_step(st), ret;

    if (rc == CD_STEP_ROW) {
        if (v)
            *v = cd_col_i64(st, 0);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_GUARD;
    } else {
        ret = failed(tx, what);
    }
    cd_sq_put(tx->db, id, st);
    return ret;
}

int cd_store_hold_insert(struct cd_tx *tx, const struct cd_hold *h)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_INSERT, 1);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_rec_bind(st, &rec_hold, h, 1) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_INSERT, st);
        cd_error("store", "hold insert: value too long for its field");
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    rc = rc == CD_STEP_DONE || rc == CD_STEP_ROW ? CD_STORE_OK
                                                 : failed(tx, "hold insert");
    cd_sq_put(tx->db, SQ_HOLD_INSERT, st);
    return rc;
}

int cd_store_hold_get(struct cd_tx *tx, const char *id, struct cd_hold *out)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_GET, 0);
    int rc, ret;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_GET, st);
        return CD_STORE_NOT_FOUND; /* longer than any id */
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW)
        ret = cd_rec_read(st, &rec_hold, out) == 0 ? CD_STORE_OK
                                                   : CD_STORE_ERROR;
    else if (rc == CD_STEP_DONE)
        ret = CD_STORE_NOT_FOUND;
    else
        ret = failed(tx, "hold get");
    cd_sq_put(tx->db, SQ_HOLD_GET, st);
    return ret;
}

/* ?1 account, ?2 amount: the guarded held changes. */
static int held_change(struct cd_tx *tx, enum cd_sq_stmt id,
                       const char *account_id, int64_t amount,
                       const char *what)
{
    struct cd_stmt *st = get(tx, id, 1);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0 ||
        cd_bind_i64(st, 2, amount) != 0) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_GUARD;
    }
    return one_row(tx, id, st, NULL, what);
}

int cd_store_hold_reserve(struct cd_tx *tx, const char *account_id,
                          int64_t amount)
{
    return held_change(tx, SQ_HOLD_RESERVE, account_id, amount,
                       "hold reserve");
}

int cd_store_hold_unreserve(struct cd_tx *tx, const char *account_id,
                            int64_t amount)
{
    return held_change(tx, SQ_HOLD_UNRESERVE, account_id, amount,
                       "hold unreserve");
}

int cd_store_hold_finish(struct cd_tx *tx, const char *id, const char *status,
                         int64_t captured, const char *transaction_id,
                         int64_t now)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_FINISH, 1);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, id, CD_ID_SZ) != 0 ||
        cd_bind_str(st, 2, status, CD_STATUS_SZ) != 0 ||
        cd_bind_i64(st, 3, captured) != 0 ||
        cd_bind_str(st, 4, transaction_id, CD_ID_SZ) != 0 ||
        cd_bind_i64(st, 5, now) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_FINISH, st);
        return CD_STORE_ERROR;
    }
    return one_row(tx, SQ_HOLD_FINISH, st, NULL, "hold finish");
}

/* Appends column i of st to the growing array *ids of n: 0, or -1. */
static int push_id(char (**ids)[CD_ID_SZ], int n, struct cd_stmt *st, int i)
{
    char(*grown)[CD_ID_SZ];

    if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to double */
        grown = realloc(*ids, (size_t)(n ? 2 * n : 1) * CD_ID_SZ);
        if (!grown)
            return -1;
        *ids = grown;
    }
    return cd_col_str(st, i, (*ids)[n], CD_ID_SZ) == 0 ? 0 : -1;
}

int cd_store_hold_expire_account(struct cd_tx *tx, const char *account_id,
                                 int64_t now, int *count,
                                 char (**ids)[CD_ID_SZ])
{
    struct cd_stmt *st;
    int64_t bal, held, due, sum = 0;
    int n = 0, rc;

    if (count)
        *count = 0;
    if (ids)
        *ids = NULL;
    /* What is due, read first (nothing written, no lock, when none); then
     * the account's row before the holds' rows - the order of every other
     * hold change, so two nodes never wait on each other in a circle. */
    rc = cd_store_hold_totals(tx, account_id, now, &bal, &held, &due);
    if (rc != CD_STORE_OK || due == 0)
        return rc == CD_STORE_ERROR ? CD_STORE_ERROR : CD_STORE_OK;
    if (cd_store_hold_unreserve(tx, account_id, due) != CD_STORE_OK ||
        !(st = get(tx, SQ_HOLD_EXPIRE_ACCT, 1)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0 ||
        cd_bind_i64(st, 2, now) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_EXPIRE_ACCT, st);
        return CD_STORE_ERROR;
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        sum += cd_col_i64(st, 0);
        if (ids && push_id(ids, n, st, 1) != 0) {
            rc = CD_STEP_ERROR;
            break;
        }
        n++;
    }
    if (rc != CD_STEP_DONE)
        failed(tx, "hold expire");
    cd_sq_put(tx->db, SQ_HOLD_EXPIRE_ACCT, st);
    if (rc != CD_STEP_DONE)
        return CD_STORE_ERROR;
    if (sum != due) {
        /* Only a concurrent writer could do this, and the engine refuses
         * that (one writer, or SERIALIZABLE): roll back. */
        cd_error("store", "hold expire: %lld due, %lld expired on %s",
                 (long long)due, (long long)sum, account_id);
        return CD_STORE_ERROR;
    }
    if (count)
        *count = n;
    return CD_STORE_OK;
}

int cd_store_hold_due_accounts(struct cd_tx *tx, int64_t now,
                               char (*ids)[CD_ID_SZ], int max, int *n)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_DUE_ACCOUNTS, 0);
    int rc, ret = CD_STORE_OK;

    *n = 0;
    if (!st)
        return CD_STORE_ERROR;
    cd_bind_i64(st, 1, now);
    cd_bind_i64(st, 2, max);
    while ((rc = cd_step(st)) == CD_STEP_ROW && *n < max)
        if (cd_col_str(st, 0, ids[*n], CD_ID_SZ) == 0)
            (*n)++;
    if (rc != CD_STEP_ROW && rc != CD_STEP_DONE)
        ret = failed(tx, "hold due accounts");
    cd_sq_put(tx->db, SQ_HOLD_DUE_ACCOUNTS, st);
    return ret;
}

int cd_store_hold_totals(struct cd_tx *tx, const char *account_id,
                         int64_t now, int64_t *balance, int64_t *held,
                         int64_t *due)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_TOTALS, 0);
    int rc, ret;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0 ||
        cd_bind_i64(st, 2, now) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_TOTALS, st);
        return CD_STORE_NOT_FOUND;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *balance = cd_col_i64(st, 0);
        *held = cd_col_i64(st, 1);
        *due = cd_col_i64(st, 2);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        ret = failed(tx, "hold totals");
    }
    cd_sq_put(tx->db, SQ_HOLD_TOTALS, st);
    return ret;
}

int cd_store_hold_page(struct cd_tx *tx, const char *account_id,
                       const char *status, const char *after, int64_t limit,
                       int64_t now, cd_hold_cb cb, void *arg, int *has_more)
{
    struct cd_stmt *st;
    struct cd_hold h;
    int64_t key[2] = {INT64_MAX, INT64_MAX}, n = 0;
    int rc, ret = CD_STORE_OK;

    *has_more = 0;
    if (after && *after &&
        (rc = cd_keyset_row(tx, SQ_HOLD_KEY, account_id, after, key,
                            "hold page")) != CD_STORE_OK)
        return rc;
    if (!(st = get(tx, SQ_HOLD_PAGE, 0)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0 ||
        cd_bind_str(st, 2, status && *status ? status : "any",
                    CD_STATUS_SZ) != 0) {
        cd_sq_put(tx->db, SQ_HOLD_PAGE, st);
        return CD_STORE_ERROR;
    }
    cd_bind_i64(st, 3, key[0]);
    cd_bind_i64(st, 4, key[1]);
    cd_bind_i64(st, 5, limit + 1); /* one more: has_more */
    cd_bind_i64(st, 6, now);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (n++ == limit) {
            *has_more = 1;
            continue;
        }
        if (cd_rec_read(st, &rec_hold, &h) != 0) {
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&h, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE)
        ret = failed(tx, "hold page");
    cd_sq_put(tx->db, SQ_HOLD_PAGE, st);
    return ret;
}

int cd_store_hold_verify(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                         int64_t *count)
{
    struct cd_stmt *st = get(tx, SQ_HOLD_VERIFY, 0);
    int rc, ret = CD_STORE_OK;

    *count = 0;
    if (!st)
        return CD_STORE_ERROR;
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        size_t idn = 0;
        const char *id = st->be->column_text(st, 0, &idn);

        (*count)++;
        if (cb &&
            cb(id ? id : "", cd_col_i64(st, 1), cd_col_i64(st, 2), arg) != 0)
            break;
    }
    if (rc != CD_STEP_ROW && rc != CD_STEP_DONE)
        ret = failed(tx, "hold verify");
    cd_sq_put(tx->db, SQ_HOLD_VERIFY, st);
    return ret;
}
