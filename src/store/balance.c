/*
 * balance.c - the store's balance summary (balance.h): SQ_BALANCE_TOTALS,
 * one row per account.
 */
#include "store/balance.h"

#include <string.h>

#include "store/records.h"
#include "util/log.h"

static void read_totals(struct cd_stmt *st, struct cd_balance_totals *t)
{
    t->balance = cd_col_i64(st, 0);
    t->held = cd_col_i64(st, 1);
    t->due = cd_col_i64(st, 2);
    t->debt = cd_col_i64(st, 3);
    t->paid = cd_col_i64(st, 4);
    t->promotional = cd_col_i64(st, 5);
    t->next_at = cd_col_i64(st, 6); /* NULL (no lot expires): 0 */
    t->next_amount = t->next_at ? cd_col_i64(st, 7) : 0;
}

int cd_store_balance_totals(struct cd_tx *tx, const char *account_id,
                            int64_t now, struct cd_balance_totals *out)
{
    struct cd_stmt *st;
    int rc, ret;

    if (!tx || !tx->db || !account_id || !out) {
        cd_error("store", "balance totals: no transaction");
        return CD_STORE_ERROR;
    }
    if (!(st = cd_sq_get(tx->db, SQ_BALANCE_TOTALS)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, account_id, CD_ID_SZ) |
         cd_bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->db, SQ_BALANCE_TOTALS, st);
        return CD_STORE_NOT_FOUND;
    }
    memset(out, 0, sizeof(*out));
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        read_totals(st, out);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "balance totals: %s", cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_BALANCE_TOTALS, st);
    return ret;
}
