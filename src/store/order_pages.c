/*
 * order_pages.c - the keyset pages of one account's orders and payments
 * for GET /v1/orders and GET /v1/payments (026): the page is the
 * operator's cd_store_order_page / cd_store_payment_page filtered on the
 * account (orders_account, payments_account), the start row must be the
 * account's own, and the exact total is the count migration 026's
 * triggers keep.
 */
#include "store/records.h"

#include <string.h>

#include "util/log.h"

static int no_order(const struct cd_order *o, void *arg)
{
    (void)o;
    (void)arg;
    return 0;
}

static int no_payment(const struct cd_payment *p, void *arg)
{
    (void)p;
    (void)arg;
    return 0;
}

/* OK when row id of statement key_id belongs to account_id, NOT_FOUND
 * when not. */
static int own_row(struct cd_tx *tx, enum cd_sq_stmt key_id,
                   const char *account_id, const char *id, const char *what)
{
    struct cd_stmt *st;
    int rc, ret;

    if (!(st = cd_sq_get(tx->db, key_id)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, id, CD_ID_SZ) != 0 ||
        cd_bind_str(st, 2, account_id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, key_id, st);
        return CD_STORE_NOT_FOUND; /* too long for an id: no such row */
    }
    rc = cd_step(st);
    ret = rc == CD_STEP_ROW    ? CD_STORE_OK
          : rc == CD_STEP_DONE ? CD_STORE_NOT_FOUND
                               : CD_STORE_ERROR;
    if (ret == CD_STORE_ERROR)
        cd_error("store", "%s key: %s", what, cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, key_id, st);
    return ret;
}

/* The checks and the start of both pages: arguments, the start row the
 * account's own, *total (LIMIT 0: the count alone, one row read from
 * accounts), q filled in. */
static int page_begin(struct cd_tx *tx, enum cd_sq_stmt key_id,
                      const char *account_id, const char *starting_after,
                      int64_t limit, int *has_more, int64_t *total,
                      struct cd_page_query *q)
{
    int rc;

    if (!tx || !tx->db || !account_id || !account_id[0] || !has_more ||
        !total)
        return CD_STORE_ERROR;
    *has_more = 0;
    if (starting_after && starting_after[0] &&
        (rc = own_row(tx, key_id, account_id, starting_after,
                      key_id == SQ_ORDER_KEY_ACCT ? "order page"
                                                  : "payment page")) !=
            CD_STORE_OK)
        return rc;
    rc = key_id == SQ_ORDER_KEY_ACCT
             ? cd_store_order_list(tx, account_id, 0, 0, no_order, NULL,
                                   total)
             : cd_store_payment_list(tx, account_id, 0, 0, no_payment, NULL,
                                     total);
    if (rc != CD_STORE_OK)
        return rc;
    memset(q, 0, sizeof(*q));
    q->account_id = account_id;
    q->starting_after = starting_after;
    q->limit = limit;
    return CD_STORE_OK;
}

int cd_store_account_order_page(struct cd_tx *tx, const char *account_id,
                                const char *starting_after, int64_t limit,
                                cd_order_cb cb, void *arg, int *has_more,
                                int64_t *total)
{
    struct cd_page_query q;
    int rc;

    if (!cb)
        return CD_STORE_ERROR;
    rc = page_begin(tx, SQ_ORDER_KEY_ACCT, account_id, starting_after, limit,
                    has_more, total, &q);
    if (rc != CD_STORE_OK)
        return rc;
    return cd_store_order_page(tx, &q, cb, arg, has_more);
}

int cd_store_account_payment_page(struct cd_tx *tx, const char *account_id,
                                  const char *starting_after, int64_t limit,
                                  cd_payment_cb cb, void *arg, int *has_more,
                                  int64_t *total)
{
    struct cd_page_query q;
    int rc;

    if (!cb)
        return CD_STORE_ERROR;
    rc = page_begin(tx, SQ_PAYMENT_KEY_ACCT, account_id, starting_after,
                    limit, has_more, total, &q);
    if (rc != CD_STORE_OK)
        return rc;
    return cd_store_payment_page(tx, &q, cb, arg, has_more);
}
