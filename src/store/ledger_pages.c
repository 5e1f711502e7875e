/*
 * ledger_pages.c - the keyset pages of one account's ledger for
 * GET /v1/transactions (024): the page is ledger.c's cd_store_ledger_page
 * on ledger_account, the start row must be the account's own, and the
 * exact total is the count migration 023's trigger keeps.
 */
#include "store/records.h"

#include "util/log.h"

static int dummy_row(const struct cd_ledger_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    return 0;
}

/* OK when the entry id belongs to account_id, NOT_FOUND when not. */
static int own_entry(struct cd_tx *tx, const char *account_id, const char *id)
{
    struct cd_stmt *st;
    int rc, ret;

    if (!(st = cd_sq_get(tx->db, SQ_LEDGER_KEY_ACCT)))
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, id, CD_ID_SZ) != 0 ||
        cd_bind_str(st, 2, account_id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, SQ_LEDGER_KEY_ACCT, st);
        return CD_STORE_NOT_FOUND; /* too long for an id: no such entry */
    }
    rc = cd_step(st);
    ret = rc == CD_STEP_ROW    ? CD_STORE_OK
          : rc == CD_STEP_DONE ? CD_STORE_NOT_FOUND
                               : CD_STORE_ERROR;
    if (ret == CD_STORE_ERROR)
        cd_error("store", "txn page key: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_LEDGER_KEY_ACCT, st);
    return ret;
}

int cd_store_txn_page(struct cd_tx *tx, const char *account_id,
                      const char *starting_after, int64_t limit,
                      cd_ledger_cb cb, void *arg, int *has_more,
                      int64_t *total)
{
    struct cd_page_query q = {0};
    int rc;

    if (!tx || !tx->db || !account_id || !account_id[0] || !cb || !has_more ||
        !total)
        return CD_STORE_ERROR;
    *has_more = 0;
    if (starting_after && starting_after[0] &&
        (rc = own_entry(tx, account_id, starting_after)) != CD_STORE_OK)
        return rc;
    /* LIMIT 0: the count alone, one row read from accounts (023). */
    rc = cd_store_ledger_list(tx, account_id, 0, 0, dummy_row, NULL, total);
    if (rc != CD_STORE_OK)
        return rc;
    q.account_id = account_id;
    q.starting_after = starting_after;
    q.limit = limit;
    return cd_store_ledger_page(tx, &q, cb, arg, has_more);
}
