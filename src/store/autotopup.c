/*
 * autotopup.c - the auto top-up records of store/autotopup.h on any
 * backend (migration 018), with the mapping rules of records.c: "" binds
 * as NULL and NULL reads as "", a value that does not fit is
 * CD_STORE_ERROR, an UPDATE that touches no row is CD_STORE_NOT_FOUND.
 */
#include "store/autotopup.h"

#include <stddef.h>
#include <string.h>

#include "store/records.h"
#include "util/log.h"

#define S(T, f)                                                              \
    {                                                                        \
#f, CD_COL_STR, offsetof(T, f), sizeof(((T *)0)->f)                  \
    }
#define I(T, f)                                                              \
    {                                                                        \
#f, CD_COL_I64, offsetof(T, f), sizeof(int64_t)                      \
    }
#define F(T, f)                                                              \
    {                                                                        \
#f, CD_COL_FLAG, offsetof(T, f), sizeof(int)                         \
    }
#define REC(var, T, cols_sql, arr)                                           \
    static const struct cd_rec var = {                                       \
        #T, cols_sql, sizeof(T), (int)(sizeof(arr) / sizeof((arr)[0])), arr}

#define T struct cd_autotopup_settings
static const struct cd_col settings_cols[] = {
    S(T, account_id),      F(T, enabled),           I(T, threshold),
    I(T, amount_cents),    I(T, monthly_cap_cents), I(T, declines),
    S(T, disabled_reason), S(T, last_failure),      S(T, last_decline_code),
    I(T, last_failure_at), I(T, updated_at)};
REC(rec_settings, T, AUTOTOPUP_COLS, settings_cols);
#undef T

#define T struct cd_autotopup_attempt
static const struct cd_col attempt_cols[] = {
    S(T, id),           S(T, account_id),  S(T, state),
    I(T, amount_cents), I(T, month),       I(T, tries),
    S(T, order_id),     I(T, next_try_at), S(T, decline_code),
    S(T, failure),      I(T, created_at),  I(T, updated_at)};
REC(rec_attempt, T, ATTEMPT_COLS, attempt_cols);
#undef T

/* ---- helpers (as in records.c) ---------------------------------------- */

static int tx_ok(struct cd_tx *tx, int write, const char *what)
{
    if (!tx || !tx->db || (write && !tx->writable)) {
        cd_error("store", "%s: no (writable) transaction", what);
        return 0;
    }
    return 1;
}

static struct cd_stmt *prep(struct cd_tx *tx, enum cd_sq_stmt id, int write,
                            const char *what)
{
    return tx_ok(tx, write, what) ? cd_sq_get(tx->db, id) : NULL;
}

static int bad_bind(struct cd_tx *tx, enum cd_sq_stmt id, struct cd_stmt *st,
                    const char *what)
{
    cd_sq_put(tx->db, id, st);
    cd_error("store", "%s: value too long for its field", what);
    return CD_STORE_ERROR;
}

/* Steps a write: OK (NOT_FOUND with change and no row touched), DUPLICATE
 * on a unique key, ERROR. Puts st back. */
static int step_write(struct cd_tx *tx, enum cd_sq_stmt id,
                      struct cd_stmt *st, int change, const char *what)
{
    struct cd_db *c = tx->db;
    int rc = cd_step(st), ret;

    if (rc == CD_STEP_DONE || rc == CD_STEP_ROW)
        ret = change && c->be->changes(c) == 0 ? CD_STORE_NOT_FOUND
                                               : CD_STORE_OK;
    else if (c->be->error_class(c) == CD_DBE_UNIQUE)
        ret = CD_STORE_DUPLICATE;
    else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

/* Reads the first row with rec (or, rec NULL, two integers into out). */
static int fetch(struct cd_tx *tx, enum cd_sq_stmt id, struct cd_stmt *st,
                 const struct cd_rec *rec, void *out, const char *what)
{
    int rc = cd_step(st), ret = CD_STORE_OK;

    if (rc == CD_STEP_ROW) {
        if (rec && cd_rec_read(st, rec, out) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
        } else if (!rec) {
            ((int64_t *)out)[0] = cd_col_i64(st, 0);
            ((int64_t *)out)[1] = cd_col_i64(st, 1);
        }
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, id, st);
    return ret;
}

/* A lookup by one string key (?1). */
static int by_key(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                  const struct cd_rec *rec, void *out, const char *what)
{
    struct cd_stmt *st = prep(tx, id, 0, what);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, key, CD_ID_SZ) != 0)
        return bad_bind(tx, id, st, what);
    return fetch(tx, id, st, rec, out, what);
}

/* ---- settings ---------------------------------------------------------- */

int cd_store_autotopup_get(struct cd_tx *tx, const char *account_id,
                           struct cd_autotopup_settings *out)
{
    return by_key(tx, SQ_AUTOTOPUP_GET, account_id, &rec_settings, out,
                  "auto top-up get");
}

int cd_store_autotopup_put(struct cd_tx *tx,
                           const struct cd_autotopup_settings *s)
{
    const char *what = "auto top-up put";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_PUT, 1, what);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_rec_bind(st, &rec_settings, s, 1) != 0)
        return bad_bind(tx, SQ_AUTOTOPUP_PUT, st, what);
    return step_write(tx, SQ_AUTOTOPUP_PUT, st, 0, what);
}

int cd_store_autotopup_probe(struct cd_tx *tx, const char *account_id,
                             int64_t *threshold, int64_t *balance)
{
    int64_t v[2] = {0, 0};
    int rc = by_key(tx, SQ_AUTOTOPUP_PROBE, account_id, NULL, v,
                    "auto top-up probe");

    *threshold = v[0];
    *balance = v[1];
    return rc;
}

/* ---- attempts ---------------------------------------------------------- */

int cd_store_autotopup_open(struct cd_tx *tx, struct cd_autotopup_attempt *a)
{
    const char *what = "auto top-up open";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_OPEN, 1, what);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, a->id, CD_ID_SZ) != 0 ||
        cd_bind_str(st, 2, a->account_id, CD_ID_SZ) != 0)
        return bad_bind(tx, SQ_AUTOTOPUP_OPEN, st, what);
    cd_bind_i64(st, 3, a->month);
    cd_bind_i64(st, 4, a->created_at);
    return step_write(tx, SQ_AUTOTOPUP_OPEN, st, 1, what);
}

int cd_store_autotopup_month_sum(struct cd_tx *tx, const char *account_id,
                                 int64_t month, int64_t *sum)
{
    const char *what = "auto top-up month sum";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_MONTH_SUM, 0, what);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0)
        return bad_bind(tx, SQ_AUTOTOPUP_MONTH_SUM, st, what);
    cd_bind_i64(st, 2, month);
    rc = cd_step(st);
    if (rc == CD_STEP_ROW)
        *sum = cd_col_i64(st, 0);
    else
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_AUTOTOPUP_MONTH_SUM, st);
    return rc == CD_STEP_ROW ? CD_STORE_OK : CD_STORE_ERROR;
}

int cd_store_autotopup_attempt_get(struct cd_tx *tx, const char *id,
                                   struct cd_autotopup_attempt *out)
{
    return by_key(tx, SQ_AUTOTOPUP_ATTEMPT_GET, id, &rec_attempt, out,
                  "auto top-up attempt get");
}

int cd_store_autotopup_attempt_last(struct cd_tx *tx, const char *account_id,
                                    struct cd_autotopup_attempt *out)
{
    return by_key(tx, SQ_AUTOTOPUP_ATTEMPT_LAST, account_id, &rec_attempt,
                  out, "auto top-up attempt last");
}

int cd_store_autotopup_attempt_update(struct cd_tx *tx,
                                      const struct cd_autotopup_attempt *a)
{
    const char *what = "auto top-up attempt update";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_ATTEMPT_UPDATE, 1, what);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, a->id, sizeof(a->id)) != 0 ||
        cd_bind_str(st, 2, a->state, sizeof(a->state)) != 0 ||
        cd_bind_i64(st, 3, a->tries) != 0 ||
        cd_bind_str(st, 4, a->order_id, sizeof(a->order_id)) != 0 ||
        cd_bind_i64(st, 5, a->next_try_at) != 0 ||
        cd_bind_str(st, 6, a->decline_code, sizeof(a->decline_code)) != 0 ||
        cd_bind_str(st, 7, a->failure, sizeof(a->failure)) != 0 ||
        cd_bind_i64(st, 8, a->updated_at) != 0)
        return bad_bind(tx, SQ_AUTOTOPUP_ATTEMPT_UPDATE, st, what);
    return step_write(tx, SQ_AUTOTOPUP_ATTEMPT_UPDATE, st, 1, what);
}

int cd_store_autotopup_cancel_pending(struct cd_tx *tx,
                                      const char *account_id, int64_t now)
{
    const char *what = "auto top-up cancel";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_CANCEL_PENDING, 1, what);

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0)
        return bad_bind(tx, SQ_AUTOTOPUP_CANCEL_PENDING, st, what);
    cd_bind_i64(st, 2, now);
    return step_write(tx, SQ_AUTOTOPUP_CANCEL_PENDING, st, 0, what);
}

int cd_store_autotopup_due(struct cd_tx *tx, int64_t now,
                           struct cd_autotopup_attempt *out, int max, int *n)
{
    const char *what = "auto top-up due";
    struct cd_stmt *st = prep(tx, SQ_AUTOTOPUP_DUE, 0, what);
    int rc = CD_STEP_DONE, ret = CD_STORE_OK;

    *n = 0;
    if (!st)
        return CD_STORE_ERROR;
    cd_bind_i64(st, 1, now);
    cd_bind_i64(st, 2, max);
    while (*n < max && (rc = cd_step(st)) == CD_STEP_ROW) {
        if (cd_rec_read(st, &rec_attempt, &out[*n]) != 0) {
            ret = CD_STORE_ERROR;
            break;
        }
        (*n)++;
    }
    if (ret == CD_STORE_OK && *n < max && rc != CD_STEP_DONE)
        ret = CD_STORE_ERROR;
    if (ret != CD_STORE_OK)
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_AUTOTOPUP_DUE, st);
    return ret;
}
