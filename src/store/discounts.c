/*
 * discounts.c - pricing and discount codes: uses, pending uses and holds;
 * the record functions of store.h for them, with the mapping rules of
 * records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- pricing and discounts -------------------------------------------- */

int cd_store_pricing_get(struct cd_tx *tx, struct cd_pricing *out)
{
    const char *what = "pricing get";
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_PRICING_GET)))
        return CD_STORE_ERROR;
    return cd_rec_fetch_one(tx->db, SQ_PRICING_GET, st, read_pricing, out,
                            what);
}

int cd_store_pricing_put(struct cd_tx *tx, const struct cd_pricing *p)
{
    return cd_rec_run_write(tx, SQ_PRICING_PUT, bind_pricing, p, 0,
                            "pricing put");
}

int cd_store_discount_insert(struct cd_tx *tx, const struct cd_discount *d)
{
    return cd_rec_run_write(tx, SQ_DISCOUNT_INSERT, bind_discount, d, 0,
                            "discount insert");
}

int cd_store_discount_get(struct cd_tx *tx, const char *code,
                          struct cd_discount *out)
{
    return cd_rec_get_by_key(tx, SQ_DISCOUNT_GET, code, CD_CODE_SZ,
                             read_discount, out, "discount get");
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
    struct list_q q = {SQ_DISCOUNT_COUNT,
                       SQ_DISCOUNT_LIST,
                       NULL,
                       limit,
                       offset,
                       read_discount,
                       &row,
                       visit_discount,
                       &v,
                       total,
                       "discount list"};

    if (!cb)
        return CD_STORE_ERROR;
    return cd_rec_list_rows(tx, &q);
}

int cd_store_discount_set_active(struct cd_tx *tx, const char *code,
                                 int active)
{
    struct id_i64_args a = {code, CD_CODE_SZ, active ? 1 : 0};

    return cd_rec_run_write(tx, SQ_DISCOUNT_SET_ACTIVE, cd_rec_bind_id_i64,
                            &a, 1, "discount set active");
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
    return cd_rec_run_write(tx, SQ_DISCOUNT_USE, bind_discount_use, &a, 1,
                            "discount use");
}

int cd_store_discount_pending_count(struct cd_tx *tx, const char *code,
                                    int64_t since, const char *except,
                                    int64_t *out)
{
    const char *what = "discount pending count";
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out || !code || !code[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, SQ_DISCOUNT_PENDING_COUNT)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, code, CD_CODE_SZ) | cd_bind_i64(st, 2, since) |
         cd_bind_str(st, 3, except, CD_ID_SZ)) != 0) {
        cd_sq_put(tx->db, SQ_DISCOUNT_PENDING_COUNT, st);
        return cd_rec_bind_failed(what);
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

    if (cd_rec_check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_DISCOUNT_HOLDS)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, account_id, CD_ID_SZ) |
         cd_bind_str(st, 2, code, CD_CODE_SZ) | cd_bind_i64(st, 3, since)) !=
        0) {
        cd_sq_put(tx->db, SQ_DISCOUNT_HOLDS, st);
        return cd_rec_bind_failed(what);
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
