/*
 * orders.c - orders: insert (reserving), update, lookups, lists, counts and
 * keyset pages; the record functions of store.h for them, with the mapping
 * rules of records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- orders ----------------------------------------------------------- */

int cd_store_order_insert(struct cd_tx *tx, const struct cd_order *o)
{
    return cd_rec_run_write(tx, SQ_ORDER_INSERT, bind_order, o, 0,
                            "order insert");
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
    rc = cd_rec_run_write(tx, SQ_ORDER_INSERT_RESERVING, bind_reserve, &a, 1,
                          "order insert reserving");
    /* No row inserted: the code refused. */
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_GUARD : rc;
}

int cd_store_order_update(struct cd_tx *tx, const struct cd_order *o)
{
    return cd_rec_run_write(tx, SQ_ORDER_UPDATE, bind_order, o, 1,
                            "order update");
}

int cd_store_order_get(struct cd_tx *tx, const char *id, struct cd_order *out)
{
    return cd_rec_get_by_key(tx, SQ_ORDER_GET, id, CD_ID_SZ, read_order, out,
                             "order get");
}

int cd_store_order_by_session(struct cd_tx *tx, const char *session_id,
                              struct cd_order *out)
{
    return cd_rec_get_by_key(tx, SQ_ORDER_BY_SESSION, session_id, CD_SID_SZ,
                             read_order, out, "order by session");
}

int cd_store_order_by_payment_intent(struct cd_tx *tx, const char *pi,
                                     struct cd_order *out)
{
    return cd_rec_get_by_key(tx, SQ_ORDER_BY_PI, pi, CD_SID_SZ, read_order,
                             out, "order by payment intent");
}

int cd_store_order_by_invoice(struct cd_tx *tx, const char *invoice_id,
                              struct cd_order *out)
{
    return cd_rec_get_by_key(tx, SQ_ORDER_BY_INVOICE, invoice_id, CD_SID_SZ,
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
    const char *acct = cd_rec_acct_filter(account_id);
    struct list_q q = {acct ? SQ_ORDER_COUNT_ACCT : SQ_ORDER_COUNT_ALL,
                       acct ? SQ_ORDER_LIST_ACCT : SQ_ORDER_LIST_ALL,
                       acct,
                       limit,
                       offset,
                       read_order,
                       &row,
                       visit_order,
                       &v,
                       total,
                       "order list"};

    if (!cb)
        return CD_STORE_ERROR;
    return cd_rec_list_rows(tx, &q);
}

int cd_store_order_list_pending(struct cd_tx *tx, int64_t before,
                                int64_t limit, cd_order_cb cb, void *arg)
{
    const char *what = "order list pending";
    struct cd_order row;
    struct cd_db *c;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !cb)
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

int cd_store_order_count_pending(struct cd_tx *tx, const char *account_id,
                                 int64_t since, int64_t *out)
{
    return cd_rec_count_since(tx, SQ_ORDER_COUNT_PENDING, account_id,
                              CD_ID_SZ, since, out, "order pending count");
}

int cd_store_order_count_paid(struct cd_tx *tx, const char *account_id,
                              int64_t *out)
{
    return cd_rec_count_since(tx, SQ_ORDER_COUNT_PAID, account_id, CD_ID_SZ,
                              1, out, "order paid count");
}

int cd_store_order_page(struct cd_tx *tx, const struct cd_page_query *q,
                        cd_order_cb cb, void *arg, int *has_more)
{
    struct cd_order row;
    struct order_visit v = {cb, arg};
    struct page_run r = {
        SQ_ORDER_KEY, SQ_ORDER_PAGE_ALL, PAGE_TAIL_P, read_order,
        &row,         visit_order,       &v,          has_more,
        "order page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (cd_rec_has(q->account_id)) {
        r.list_id = SQ_ORDER_PAGE_ACCT;
        r.named |= P(1) | P(2) | P(3);
    } else if (cd_rec_has(q->status)) {
        r.list_id = SQ_ORDER_PAGE_STATUS;
        r.named |= P(2) | P(3);
    } else if (cd_rec_has(q->kind)) {
        r.list_id = SQ_ORDER_PAGE_KIND;
        r.named |= P(3);
    }
    return cd_page_run(tx, q, &r);
}
