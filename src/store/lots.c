/*
 * lots.c - the store's lots, draws and debts (migration 016); see lots.h.
 * Every statement is in statements.c (SQ_LOT_*); rows are read in
 * LOT_COLS order.
 */
#include "store/lots.h"

#include <string.h>

#include "store/records.h"
#include "util/log.h"

static int check(struct cd_tx *tx, int write, const char *what)
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

static int read_lot(struct cd_stmt *st, struct cd_lot *l)
{
    memset(l, 0, sizeof(*l));
    if (cd_col_str(st, 0, l->id, sizeof(l->id)) ||
        cd_col_str(st, 1, l->account_id, sizeof(l->account_id)) ||
        cd_col_str(st, 2, l->entry_id, sizeof(l->entry_id)) ||
        cd_col_str(st, 3, l->source, sizeof(l->source)) ||
        cd_col_str(st, 4, l->category, sizeof(l->category)) ||
        cd_col_str(st, 9, l->order_id, sizeof(l->order_id)))
        return -1;
    l->amount = cd_col_i64(st, 5);
    l->remaining = cd_col_i64(st, 6);
    l->priority = cd_col_i64(st, 7);
    l->expires_at = cd_col_i64(st, 8);
    l->created_at = cd_col_i64(st, 10);
    l->expired_at = cd_col_i64(st, 11);
    l->rolled = cd_col_i64(st, 12);
    l->seq = cd_col_i64(st, 13);
    return 0;
}

/* Steps a write: OK (or GUARD when it changed no row and guarded is set),
 * DUPLICATE on a unique key, ERROR. */
static int finish_write(struct cd_db *c, enum cd_sq_stmt id,
                        struct cd_stmt *st, int guarded, const char *what)
{
    int rc = cd_step(st), ret = CD_STORE_OK;

    if (rc == CD_STEP_ERROR) {
        if (c->be->error_class(c) == CD_DBE_UNIQUE) {
            ret = CD_STORE_DUPLICATE;
        } else {
            cd_error("store", "%s: %s", what, cd_db_errmsg(c));
            ret = CD_STORE_ERROR;
        }
    } else if (guarded && c->be->changes(c) == 0) {
        ret = CD_STORE_GUARD;
    }
    cd_sq_put(c, id, st);
    return ret;
}

int cd_store_lot_insert(struct cd_tx *tx, const struct cd_lot *l)
{
    const char *what = "lot insert";
    struct cd_stmt *st;
    int bad = 0;

    if (check(tx, 1, what) != 0 || !l ||
        !(st = cd_sq_get(tx->db, SQ_LOT_INSERT)))
        return CD_STORE_ERROR;
    bad |= cd_bind_str(st, 1, l->id, sizeof(l->id));
    bad |= cd_bind_str(st, 2, l->account_id, sizeof(l->account_id));
    bad |= cd_bind_str(st, 3, l->entry_id, sizeof(l->entry_id));
    bad |= cd_bind_str(st, 4, l->source, sizeof(l->source));
    bad |= cd_bind_str(st, 5, l->category, sizeof(l->category));
    bad |= cd_bind_i64(st, 6, l->amount);
    bad |= cd_bind_i64(st, 7, l->remaining);
    bad |= cd_bind_i64(st, 8, l->priority);
    bad |= cd_bind_i64(st, 9, l->expires_at);
    bad |= cd_bind_str(st, 10, l->order_id, sizeof(l->order_id));
    bad |= cd_bind_i64(st, 11, l->created_at);
    bad |= cd_bind_i64(st, 12, l->expired_at);
    bad |= cd_bind_i64(st, 13, l->rolled);
    if (bad) {
        cd_sq_put(tx->db, SQ_LOT_INSERT, st);
        return CD_STORE_ERROR;
    }
    return finish_write(tx->db, SQ_LOT_INSERT, st, 0, what);
}

/* Reads up to max rows of a bound statement into out. */
static int read_rows(struct cd_db *c, enum cd_sq_stmt id, struct cd_stmt *st,
                     struct cd_lot *out, int max, int *n, const char *what)
{
    int rc = CD_STEP_DONE;

    *n = 0;
    while (*n < max) {
        rc = cd_step(st);
        if (rc != CD_STEP_ROW)
            break;
        if (read_lot(st, &out[*n]) != 0) {
            rc = CD_STEP_ERROR;
            break;
        }
        (*n)++;
    }
    if (rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        cd_sq_put(c, id, st);
        return CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return CD_STORE_OK;
}

int cd_store_lot_get(struct cd_tx *tx, const char *id, struct cd_lot *out)
{
    struct cd_stmt *st;
    int n, rc;

    if (check(tx, 0, "lot get") != 0 || !id ||
        !(st = cd_sq_get(tx->db, SQ_LOT_GET)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, SQ_LOT_GET, st);
        return CD_STORE_NOT_FOUND;
    }
    rc = read_rows(tx->db, SQ_LOT_GET, st, out, 1, &n, "lot get");
    if (rc != CD_STORE_OK)
        return rc;
    return n == 1 ? CD_STORE_OK : CD_STORE_NOT_FOUND;
}

int cd_store_lot_open(struct cd_tx *tx, const char *account_id,
                      const char *prefer_order_id, struct cd_lot *out,
                      int max, int *n)
{
    struct cd_stmt *st;
    int bad = 0;

    if (check(tx, 0, "lots open") != 0 || !account_id || max < 1 ||
        !(st = cd_sq_get(tx->db, SQ_LOT_OPEN)))
        return CD_STORE_ERROR;
    bad |= cd_bind_str(st, 1, account_id, CD_ID_SZ);
    bad |= cd_bind_str(st, 2, prefer_order_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, max);
    if (bad) {
        cd_sq_put(tx->db, SQ_LOT_OPEN, st);
        return CD_STORE_ERROR;
    }
    return read_rows(tx->db, SQ_LOT_OPEN, st, out, max, n, "lots open");
}

/* A guarded UPDATE of one lot: id, then up to three integers. */
static int lot_update(struct cd_tx *tx, enum cd_sq_stmt id, const char *lot,
                      int64_t a, int64_t b, int64_t c, int nb,
                      const char *what)
{
    struct cd_stmt *st;
    int bad = 0;

    if (check(tx, 1, what) != 0 || !lot || !(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    bad |= cd_bind_str(st, 1, lot, CD_ID_SZ);
    bad |= cd_bind_i64(st, 2, a);
    if (nb > 2)
        bad |= cd_bind_i64(st, 3, b);
    if (nb > 3)
        bad |= cd_bind_i64(st, 4, c);
    if (bad) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_ERROR;
    }
    return finish_write(tx->db, id, st, 1, what);
}

int cd_store_lot_take(struct cd_tx *tx, const char *id, int64_t amount)
{
    if (amount <= 0)
        return CD_STORE_ERROR;
    return lot_update(tx, SQ_LOT_TAKE, id, amount, 0, 0, 2, "lot take");
}

int cd_store_lot_take_first(struct cd_tx *tx, const char *account_id,
                            const char *prefer_order_id, int64_t amount,
                            char *lot_id)
{
    const char *what = "lot take first";
    struct cd_stmt *st;
    int rc, ret, bad = 0;

    if (check(tx, 1, what) != 0 || !account_id || amount <= 0 ||
        !(st = cd_sq_get(tx->db, SQ_LOT_TAKE_FIRST)))
        return CD_STORE_ERROR;
    bad |= cd_bind_str(st, 1, account_id, CD_ID_SZ);
    bad |= cd_bind_str(st, 2, prefer_order_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, amount);
    if (bad) {
        cd_sq_put(tx->db, SQ_LOT_TAKE_FIRST, st);
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW)
        ret = cd_col_str(st, 0, lot_id, CD_ID_SZ) == 0 ? CD_STORE_OK
                                                       : CD_STORE_ERROR;
    else if (rc == CD_STEP_DONE)
        ret = CD_STORE_GUARD;
    else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    /* All of an UPDATE ... RETURNING's changes happen on its first step. */
    cd_sq_put(tx->db, SQ_LOT_TAKE_FIRST, st);
    return ret;
}

int cd_store_lot_expire(struct cd_tx *tx, const char *id, int64_t left,
                        int64_t now)
{
    return lot_update(tx, SQ_LOT_EXPIRE, id, left, now, 0, 3, "lot expire");
}

int cd_store_lot_roll(struct cd_tx *tx, const char *id, int64_t take,
                      int64_t left, int64_t new_expiry)
{
    return lot_update(tx, SQ_LOT_ROLL, id, take, left, new_expiry, 4,
                      "lot roll");
}

int cd_store_lot_draw_insert(struct cd_tx *tx, const char *entry_id,
                             const char *lot_id, int64_t amount)
{
    struct cd_stmt *st;
    int bad = 0;

    if (check(tx, 1, "lot draw") != 0 || !entry_id || !lot_id ||
        !(st = cd_sq_get(tx->db, SQ_LOT_DRAW_INSERT)))
        return CD_STORE_ERROR;
    bad |= cd_bind_str(st, 1, entry_id, CD_ID_SZ);
    bad |= cd_bind_str(st, 2, lot_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, amount);
    if (bad) {
        cd_sq_put(tx->db, SQ_LOT_DRAW_INSERT, st);
        return CD_STORE_ERROR;
    }
    return finish_write(tx->db, SQ_LOT_DRAW_INSERT, st, 0, "lot draw");
}

int cd_store_lot_draws(struct cd_tx *tx, const char *entry_id,
                       int (*cb)(const char *lot_id, int64_t amount,
                                 void *arg),
                       void *arg)
{
    struct cd_stmt *st;
    int rc;

    if (check(tx, 0, "lot draws") != 0 || !entry_id || !cb ||
        !(st = cd_sq_get(tx->db, SQ_LOT_DRAWS)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, entry_id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, SQ_LOT_DRAWS, st);
        return CD_STORE_ERROR;
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        size_t len = 0;
        const char *lot = st->be->column_text(st, 0, &len);

        if (cb(lot ? lot : "", cd_col_i64(st, 1), arg) != 0) {
            rc = CD_STEP_DONE;
            break;
        }
    }
    if (rc != CD_STEP_DONE)
        cd_error("store", "lot draws: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_LOT_DRAWS, st);
    return rc == CD_STEP_DONE ? CD_STORE_OK : CD_STORE_ERROR;
}

/* One account-keyed statement returning one integer row (or none). */
static int account_i64(struct cd_tx *tx, enum cd_sq_stmt id,
                       const char *account_id, int64_t delta, int nb,
                       int64_t *out, const char *what)
{
    struct cd_stmt *st;
    int rc, ret;

    if (check(tx, nb > 1, what) != 0 || !account_id ||
        !(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0 ||
        (nb > 1 && cd_bind_i64(st, 2, delta) != 0)) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_NOT_FOUND;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *out = cd_col_i64(st, 0);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, id, st);
    return ret;
}

int cd_store_lot_debt_get(struct cd_tx *tx, const char *account_id,
                          int64_t *debt)
{
    return account_i64(tx, SQ_LOT_DEBT_GET, account_id, 0, 1, debt,
                       "debt get");
}

int cd_store_lot_debt_add(struct cd_tx *tx, const char *account_id,
                          int64_t delta, int64_t *after)
{
    int64_t d;
    int rc = account_i64(tx, SQ_LOT_DEBT_ADD, account_id, delta, 2, after,
                         "debt add");

    if (rc != CD_STORE_NOT_FOUND)
        return rc;
    /* No row: no account, or the guard. */
    rc = cd_store_lot_debt_get(tx, account_id, &d);
    return rc == CD_STORE_OK ? CD_STORE_GUARD : rc;
}

int cd_store_lot_due(struct cd_tx *tx, const char *account_id, int64_t now,
                     struct cd_lot *out, int max, int *n)
{
    enum cd_sq_stmt id = account_id ? SQ_LOT_DUE_ACCT : SQ_LOT_DUE;
    struct cd_stmt *st;
    int p = 1, bad = 0;

    if (check(tx, 0, "lots due") != 0 || max < 1 ||
        !(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (account_id)
        bad |= cd_bind_str(st, p++, account_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, p++, now);
    bad |= cd_bind_i64(st, p, max);
    if (bad) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_ERROR;
    }
    return read_rows(tx->db, id, st, out, max, n, "lots due");
}

static int bind_page(struct cd_stmt *st, const char *account_id, int status,
                     int64_t now, const int64_t key[2], int64_t limit)
{
    int bad = 0;

    bad |= cd_bind_str(st, 1, account_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 2, status);
    bad |= cd_bind_i64(st, 3, now);
    bad |= cd_bind_i64(st, 4, key[0]); /* 0: from the top */
    bad |= cd_bind_i64(st, 5, key[1]);
    bad |= cd_bind_i64(st, 6, limit + 1);
    return bad;
}

int cd_store_lot_page(struct cd_tx *tx, const char *account_id, int status,
                      int64_t now, const char *after, int64_t limit,
                      cd_lot_cb cb, void *arg, int *has_more)
{
    struct cd_stmt *st;
    struct cd_lot l;
    int64_t seen = 0, key[2] = {0, 0};
    int rc;

    *has_more = 0;
    if (check(tx, 0, "lots page") != 0 || !account_id || !cb || limit < 1)
        return CD_STORE_ERROR;
    if (after && *after &&
        (rc = cd_keyset_row(tx, SQ_LOT_KEY, account_id, after, key,
                            "lots page")) != CD_STORE_OK)
        return rc;
    if (!(st = cd_sq_get(tx->db, SQ_LOT_PAGE)))
        return CD_STORE_ERROR;
    if (bind_page(st, account_id, status, now, key, limit) != 0) {
        cd_sq_put(tx->db, SQ_LOT_PAGE, st);
        return CD_STORE_ERROR;
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (seen == limit) {
            *has_more = 1;
            rc = CD_STEP_DONE;
            break;
        }
        if (read_lot(st, &l) != 0) {
            rc = CD_STEP_ERROR;
            break;
        }
        seen++;
        if (cb(&l, arg) != 0) {
            rc = CD_STEP_DONE;
            break;
        }
    }
    if (rc != CD_STEP_DONE)
        cd_error("store", "lots page: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_LOT_PAGE, st);
    return rc == CD_STEP_DONE ? CD_STORE_OK : CD_STORE_ERROR;
}

/* One row of up to two integers for an account; none leaves them 0. */
static int pair(struct cd_tx *tx, enum cd_sq_stmt id, const char *account_id,
                int64_t *a, int64_t *b, const char *what)
{
    struct cd_stmt *st;
    int rc;

    *a = *b = 0;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *a = cd_col_i64(st, 0);
        *b = cd_col_i64(st, 1);
    } else if (rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
    }
    cd_sq_put(tx->db, id, st);
    return rc == CD_STEP_ERROR ? CD_STORE_ERROR : CD_STORE_OK;
}

int cd_store_lot_totals(struct cd_tx *tx, const char *account_id,
                        int64_t *paid, int64_t *promotional,
                        int64_t *next_amount, int64_t *next_at)
{
    if (check(tx, 0, "lot totals") != 0 || !account_id)
        return CD_STORE_ERROR;
    if (pair(tx, SQ_LOT_TOTALS, account_id, paid, promotional,
             "lot totals") != CD_STORE_OK)
        return CD_STORE_ERROR;
    return pair(tx, SQ_LOT_NEXT_EXPIRY, account_id, next_at, next_amount,
                "next expiry");
}

int cd_store_lot_verify(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                        int64_t *n)
{
    struct cd_stmt *st;
    int rc;

    *n = 0;
    if (check(tx, 0, "lot verify") != 0 ||
        !(st = cd_sq_get(tx->db, SQ_LOT_VERIFY)))
        return CD_STORE_ERROR;
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        size_t len = 0;
        const char *id = st->be->column_text(st, 0, &len);

        (*n)++;
        if (cb && cb(id ? id : "", cd_col_i64(st, 1), cd_col_i64(st, 2),
                     arg) != 0) {
            rc = CD_STEP_DONE;
            break;
        }
    }
    if (rc != CD_STEP_DONE)
        cd_error("store", "lot verify: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_LOT_VERIFY, st);
    return rc == CD_STEP_DONE ? CD_STORE_OK : CD_STORE_ERROR;
}
