/*
 * keyset.c - what one account's keyset pages share (records.h): the
 * start row named by starting_after, which must be the account's own
 * (cd_keyset_row: GET /v1/orders, /v1/payments, /v1/transactions,
 * /v1/holds and /v1/lots), and the start of the pages whose total is a kept count
 * (cd_keyset_begin: order_pages.c, ledger_pages.c).
 */
#include "store/records.h"

#include <string.h>

#include "util/log.h"

int cd_keyset_row(struct cd_tx *tx, enum cd_sq_stmt key_id,
                  const char *account_id, const char *id, int64_t key[2],
                  const char *what)
{
    struct cd_stmt *st;
    int rc, ret;

    if (!tx || !tx->db || !(st = cd_sq_get(tx->db, key_id)))
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
    if (ret == CD_STORE_OK && key) {
        key[0] = cd_col_i64(st, 0);
        key[1] = cd_col_i64(st, 1);
    }
    if (ret == CD_STORE_ERROR)
        cd_error("store", "%s key: %s", what, cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, key_id, st);
    return ret;
}

int cd_keyset_begin(struct cd_tx *tx, const struct cd_keyset_page *p,
                    struct cd_page_query *q)
{
    int rc;

    if (!tx || !tx->db || !p->account_id || !p->account_id[0] ||
        !p->has_more || !p->total)
        return CD_STORE_ERROR;
    *p->has_more = 0;
    if (p->starting_after && p->starting_after[0] &&
        (rc = cd_keyset_row(tx, p->key_id, p->account_id, p->starting_after,
                            NULL, p->what)) != CD_STORE_OK)
        return rc;
    if ((rc = p->count(tx, p->account_id, p->total)) != CD_STORE_OK)
        return rc;
    memset(q, 0, sizeof(*q));
    q->account_id = p->account_id;
    q->starting_after = p->starting_after;
    q->limit = p->limit;
    return CD_STORE_OK;
}
