/*
 * ledger.c - applying one ledger entry; see ledger.h.
 */
#include "billing/ledger.h"

#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* Set at start-up (hooks.c), read-only afterwards. */
static const struct cd_ledger_hooks *hooks;

void cd_ledger_hooks_set(const struct cd_ledger_hooks *h)
{
    hooks = h;
}

/* Why the guarded balance change refused: no account, past the limit, or
 * (a debit) not enough balance. */
static int refused(struct cd_tx *tx, const struct cd_ledger_apply *in)
{
    struct cd_account acct;
    int64_t after;
    int rc = cd_store_account_get(tx, in->account_id, &acct);

    if (rc != CD_STORE_OK)
        return rc;
    if (cd_balance_add(acct.balance, in->amount, &after) != 0)
        return CD_LEDGER_LIMIT;
    return in->amount < 0 ? CD_LEDGER_INSUFFICIENT : CD_LEDGER_LIMIT;
}

int cd_ledger_apply_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                       struct cd_ledger_entry *out)
{
    struct cd_ledger_entry e;
    int64_t lo;
    int rc;

    if (!hooks) {
        cd_error("ledger", "no ledger hooks (cd_billing_hooks_install)");
        return CD_STORE_ERROR;
    }
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

    /* A debit never spends expired credits: lots.h. */
    if (hooks->before_tx(tx, in) != CD_STORE_OK)
        return CD_STORE_ERROR;

    memset(&e, 0, sizeof(e));
    cd_ordered_id("txn_", e.id, sizeof(e.id));
    if (cd_strlcpy(e.account_id, in->account_id, sizeof(e.account_id)) ||
        cd_strlcpy(e.kind, in->kind, sizeof(e.kind)) ||
        cd_strlcpy(e.ref, in->ref, sizeof(e.ref)) ||
        cd_strlcpy(e.order_id, in->order_id ? in->order_id : "",
                   sizeof(e.order_id)) ||
        cd_strlcpy(e.description, in->description ? in->description : "",
                   sizeof(e.description)))
        return CD_STORE_ERROR;
    e.amount = in->amount;
    e.created_at = cd_now();
    /* Never back-dated: created_at and seq grow together (PAGE_TAIL). */
    e.effective_at = in->effective_at > 0 && in->effective_at < e.created_at
                         ? in->effective_at
                         : e.created_at;
    /* A debit may not go below zero unless allowed; a credit may leave a
     * negative balance negative. Never past +-2^62. */
    lo = in->amount < 0 && !in->allow_negative ? 0 : -CD_BALANCE_LIMIT;
    rc = cd_store_ledger_post(tx, &e, lo, CD_BALANCE_LIMIT, out);
    /* holds: credits held by due holds are free; expire those, retry. */
    if (rc == CD_STORE_GUARD && lo == 0 &&
        hooks->free_held_tx(tx, in->account_id) > 0)
        rc = cd_store_ledger_post(tx, &e, lo, CD_BALANCE_LIMIT, out);
    if (rc == CD_STORE_GUARD)
        return refused(tx, in);
    if (rc == CD_STORE_DUPLICATE) /* raced on another node: replayed */
        return cd_store_ledger_by_ref(tx, in->ref, out) == CD_STORE_OK
                   ? CD_STORE_DUPLICATE
                   : CD_STORE_ERROR;
    /* The entry's lot (a credit) or draws (a debit): lots.h. */
    if (rc == CD_STORE_OK && hooks->lots_tx(tx, in, out) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* auto top-up: a spend under the threshold starts one (same job) */
    if (rc == CD_STORE_OK)
        rc = hooks->spent_tx(tx, in, out);
    if (rc == CD_STORE_OK) /* outbox: credits.*, balance.low/recovered */
        rc = hooks->events_tx(tx, in, out);
    return rc;
}
