/*
 * ledger.c - applying one ledger entry; see ledger.h.
 */
#include "billing/ledger.h"

#include <string.h>

#include "util/util.h"

int cd_ledger_apply_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                       struct cd_ledger_entry *out)
{
    struct cd_account acct;
    struct cd_ledger_entry e;
    int64_t after;
    int rc;

    if (in->amount == 0 || in->amount > CD_AMOUNT_MAX ||
        in->amount < -CD_AMOUNT_MAX)
        return CD_LEDGER_LIMIT;
    /* The ref is checked first: a replay must answer with the original
     * entry even if the balance has changed since. */
    rc = cd_store_ledger_by_ref(tx, in->ref, out);
    if (rc == CD_STORE_OK)
        return CD_STORE_DUPLICATE;
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    rc = cd_store_account_get(tx, in->account_id, &acct);
    if (rc != CD_STORE_OK)
        return rc;
    if (cd_balance_add(acct.balance, in->amount, &after) != 0)
        return CD_LEDGER_LIMIT;
    if (in->amount < 0 && after < 0 && !in->allow_negative)
        return CD_LEDGER_INSUFFICIENT;

    memset(&e, 0, sizeof(e));
    cd_random_id("txn_", e.id, sizeof(e.id));
    if (cd_strlcpy(e.account_id, in->account_id, sizeof(e.account_id)) ||
        cd_strlcpy(e.kind, in->kind, sizeof(e.kind)) ||
        cd_strlcpy(e.ref, in->ref, sizeof(e.ref)) ||
        cd_strlcpy(e.order_id, in->order_id ? in->order_id : "",
                   sizeof(e.order_id)) ||
        cd_strlcpy(e.description, in->description ? in->description : "",
                   sizeof(e.description)))
        return CD_STORE_ERROR;
    e.amount = in->amount;
    e.balance_after = after;
    e.created_at = cd_now();
    rc = cd_store_ledger_insert(tx, &e);
    if (rc == CD_STORE_DUPLICATE) /* raced in this batch: cannot, but safe */
        return cd_store_ledger_by_ref(tx, in->ref, out) == CD_STORE_OK
                   ? CD_STORE_DUPLICATE
                   : CD_STORE_ERROR;
    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_store_account_set_balance(tx, in->account_id, after);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    *out = e;
    return CD_STORE_OK;
}
