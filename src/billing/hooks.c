/*
 * hooks.c - the hook tables of the low billing layers; see hooks.h.
 */
#include "billing/hooks.h"

#include "billing/autotopup.h"
#include "billing/holds.h"
#include "billing/ledger.h"
#include "billing/lots.h"
#include "billing/outbox.h"

/* A spend (a negative entry but a clawback) may start an auto top-up. */
static int ledger_spent_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                           const struct cd_ledger_entry *e)
{
    (void)e;
    if (in->amount < 0 && cd_autotopup_spend_kind(in->kind))
        return cd_autotopup_check_tx(tx, in->account_id);
    return CD_STORE_OK;
}

static const struct cd_ledger_hooks LEDGER_HOOKS = {
    .before_tx = cd_lots_before_tx,
    .free_held_tx = cd_hold_expire_due_tx,
    .lots_tx = cd_lots_after_tx,
    .spent_tx = ledger_spent_tx,
    .events_tx = cd_outbox_ledger_tx,
};

void cd_billing_hooks_install(void)
{
    cd_ledger_hooks_set(&LEDGER_HOOKS);
}
