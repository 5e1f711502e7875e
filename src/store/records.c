/*
 * records.c - the helpers shared by the record functions of store.h
 * (records_int.h) and the keyset page runner cd_page_run (records.h). The
 * record functions are in a file per noun (accounts.c, ledger.c, orders.c,
 * payments.c, refunds.c, discounts.c, idempotency.c, jobs.c,
 * subscriptions.c, mail.c, links.c): each runs one or a few statements of
 * statements.c, binding structs to parameters and reading rows back
 * through the descriptors of rows.c.
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
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- helpers -------------------------------------------------------- */

int cd_rec_check_tx(struct cd_tx *tx, int write, const char *what)
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
int cd_rec_step_write(struct cd_db *c, struct cd_stmt *st, const char *what)
{
    int rc = cd_step(st);

    if (rc == CD_STEP_DONE || rc == CD_STEP_ROW)
        return CD_STORE_OK;
    if (c->be->error_class(c) == CD_DBE_UNIQUE)
        return CD_STORE_DUPLICATE;
    cd_error("store", "%s: %s", what, cd_db_errmsg(c));
    return CD_STORE_ERROR;
}

/* Like cd_rec_step_write, then NOT_FOUND when no row was touched. */
int cd_rec_step_change(struct cd_db *c, struct cd_stmt *st, const char *what)
{
    int rc = cd_rec_step_write(c, st, what);

    if (rc == CD_STORE_OK && c->be->changes(c) == 0)
        return CD_STORE_NOT_FOUND;
    return rc;
}

int cd_rec_bind_failed(const char *what)
{
    cd_error("store", "%s: value too long for its field", what);
    return CD_STORE_ERROR;
}

/* Runs a prepared lookup whose parameters are bound: reads the first row
 * into out. OK, NOT_FOUND or ERROR. Puts st back. */
int cd_rec_fetch_one(struct cd_db *c, enum cd_sq_stmt id, struct cd_stmt *st,
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
int cd_rec_get_by_key(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                      size_t keysz, row_reader rd, void *out,
                      const char *what)
{
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, key, keysz) != 0) {
        cd_sq_put(tx->db, id, st);
        return cd_rec_bind_failed(what);
    }
    return cd_rec_fetch_one(tx->db, id, st, rd, out, what);
}

/* Binds, runs and puts back a write statement: bind(st, arg) fills the
 * parameters (-1 when a value does not fit). change: NOT_FOUND on no
 * row touched. */
int cd_rec_run_write(struct cd_tx *tx, enum cd_sq_stmt id,
                     int (*bind)(struct cd_stmt *st, const void *arg),
                     const void *arg, int change, const char *what)
{
    struct cd_stmt *st;
    int rc;

    if (cd_rec_check_tx(tx, 1, what) != 0 || !arg)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (bind(st, arg) != 0) {
        cd_sq_put(tx->db, id, st);
        return cd_rec_bind_failed(what);
    }
    rc = change ? cd_rec_step_change(tx->db, st, what)
                : cd_rec_step_write(tx->db, st, what);
    cd_sq_put(tx->db, id, st);
    return rc;
}

int cd_rec_list_rows(struct cd_tx *tx, const struct list_q *q)
{
    struct cd_db *c;
    struct cd_stmt *st;
    int p = 1, rc, ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, q->what) != 0)
        return CD_STORE_ERROR;
    c = tx->db;
    if (q->total) {
        if (!(st = cd_sq_get(c, q->count_id)))
            return CD_STORE_ERROR;
        if (q->acct && cd_bind_str(st, 1, q->acct, CD_ID_SZ) != 0) {
            cd_sq_put(c, q->count_id, st);
            return cd_rec_bind_failed(q->what);
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
        return cd_rec_bind_failed(q->what);
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
const char *cd_rec_acct_filter(const char *account_id)
{
    return account_id && account_id[0] ? account_id : NULL;
}

int cd_rec_bind_id_i64(struct cd_stmt *st, const void *arg)
{
    const struct id_i64_args *a = arg;

    return cd_bind_str(st, 1, a->id, a->idsz) | cd_bind_i64(st, 2, a->v);
}

int cd_rec_bind_key(struct cd_stmt *st, const void *arg)
{
    const struct key_args *a = arg;
    int bad = cd_bind_str(st, 1, a->k1, a->sz1);

    if (a->k2)
        bad |= cd_bind_str(st, 2, a->k2, a->sz2);
    return bad;
}

int cd_rec_bind_purge(struct cd_stmt *st, const void *arg)
{
    return cd_bind_i64(st, 1, *(const int64_t *)arg);
}

/* ---- appended: pending discount uses, owned idempotency claims -------- */

/* One COUNT(*) whose parameters are a string key (?1, field size keysz)
 * and a time (?2). */
int cd_rec_count_since(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                       size_t keysz, int64_t since, int64_t *out,
                       const char *what)
{
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out || !key || !key[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, key, keysz) | cd_bind_i64(st, 2, since)) != 0) {
        cd_sq_put(tx->db, id, st);
        return cd_rec_bind_failed(what);
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

int cd_rec_bind_two_str(struct cd_stmt *st, const void *arg)
{
    const struct two_str_args *x = arg;

    return cd_bind_str(st, 1, x->a, x->asz) |
           cd_bind_str(st, 2, x->b, x->bsz);
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
    return cd_rec_get_by_key(tx, r->key_id, q->starting_after, CD_ID_SZ,
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
    if (cd_rec_check_tx(tx, 0, r->what) != 0 || q->limit < 1 ||
        q->limit > CD_PAGE_MAX)
        return CD_STORE_ERROR;
    if ((ret = page_start(tx, q, r, key)) != CD_STORE_OK)
        return ret;
    if (!(st = cd_sq_get(tx->db, r->list_id)))
        return CD_STORE_ERROR;
    if (bind_page(st, q, r->named, key) != 0) {
        cd_sq_put(tx->db, r->list_id, st);
        return cd_rec_bind_failed(r->what);
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

int cd_rec_has(const char *s)
{
    return s && s[0];
}
