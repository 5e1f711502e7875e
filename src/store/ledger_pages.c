/*
 * ledger_pages.c - the keyset pages of one account's ledger for
 * GET /v1/transactions (024): the page is ledger.c's cd_store_ledger_page
 * on ledger_account, the start row must be the account's own, and the
 * exact total is the count migration 023's trigger keeps (the start:
 * keyset.c's cd_keyset_begin).
 */
#include "store/records.h"

static int dummy_row(const struct cd_ledger_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    return 0;
}

/* LIMIT 0: the count alone, one row read from accounts (023). */
static int count_entries(struct cd_tx *tx, const char *account_id,
                         int64_t *total)
{
    return cd_store_ledger_list(tx, account_id, 0, 0, dummy_row, NULL, total);
}

int cd_store_txn_page(struct cd_tx *tx, const char *account_id,
                      const char *starting_after, int64_t limit,
                      cd_ledger_cb cb, void *arg, int *has_more,
                      int64_t *total)
{
    struct cd_keyset_page p = {.account_id = account_id,
                               .starting_after = starting_after,
                               .limit = limit,
                               .has_more = has_more,
                               .total = total,
                               .key_id = SQ_LEDGER_KEY_ACCT,
                               .what = "txn page",
                               .count = count_entries};
    struct cd_page_query q;
    int rc;

    if (!cb)
        return CD_STORE_ERROR;
    if ((rc = cd_keyset_begin(tx, &p, &q)) != CD_STORE_OK)
        return rc;
    return cd_store_ledger_page(tx, &q, cb, arg, has_more);
}
