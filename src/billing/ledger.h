/*
 * ledger.h - every change of a balance is one ledger row written in the
 * same transaction as the cached accounts.balance, keyed by a unique
 * business ref (order:ord_..:fulfil, refund:re_.., idem:<scope>:<key>) so
 * no effect is applied twice by any path.
 */
#ifndef CD_BILLING_LEDGER_H
#define CD_BILLING_LEDGER_H

#include "billing/billing.h"

struct cd_lot_spec;

/* Extra results of cd_ledger_apply_tx (besides the CD_STORE_* codes). */
#define CD_LEDGER_INSUFFICIENT 10 /* would go below zero */
#define CD_LEDGER_LIMIT 11        /* would pass +-2^62 */

struct cd_ledger_apply {
    const char *account_id;
    int64_t amount;       /* signed, nonzero, |amount| <= CD_AMOUNT_MAX */
    const char *kind;     /* purchase|topup|package|grant|usage|refund|... */
    const char *ref;      /* unique business key */
    const char *order_id; /* or NULL */
    const char *description;
    int allow_negative; /* a debit may take the balance below zero */
    const struct cd_lot_spec *lot; /* lots.h: the credit's lot; NULL */
    int64_t effective_at;          /* when it took effect, if before now (an
                             expiry: its lot's expires_at); 0: now */
};

/*
 * Inside a write job: one guarded statement changes the cached balance only
 * when the result stays within +-2^62 and (for a negative amount, unless
 * allow_negative) >= 0 and >= what active holds hold (billing/holds.h: due
 * holds are expired and the statement tried again), and the entry is
 * inserted with the balance it
 * returned (cd_store_ledger_post: no read-then-write, so it is right on a
 * shared database without the single writer). Returns CD_STORE_OK with
 * *out the new entry; CD_STORE_DUPLICATE with *out the entry that already
 * holds this ref (nothing written - the effect happened before);
 * CD_LEDGER_INSUFFICIENT / CD_LEDGER_LIMIT (nothing written);
 * CD_STORE_NOT_FOUND (no such account); CD_STORE_ERROR.
 */
int cd_ledger_apply_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                       struct cd_ledger_entry *out);

/*
 * What the files above the ledger do inside cd_ledger_apply_tx, in its job
 * (an entry and its effects commit together, or neither). The ledger is
 * the low layer and includes none of them: hooks.c registers them at
 * start-up, before any thread; until then cd_ledger_apply_tx writes
 * nothing and returns CD_STORE_ERROR. Every field is set.
 */
struct cd_ledger_hooks {
    /* Before the entry: a debit first expires the account's due lots
     * (lots.h). CD_STORE_OK, else the entry fails (CD_STORE_ERROR). */
    int (*before_tx)(struct cd_tx *tx, const struct cd_ledger_apply *in);
    /* A debit refused for what holds hold: expires the account's due
     * holds (holds.h); > 0 when some were, and the entry is tried again. */
    int (*free_held_tx)(struct cd_tx *tx, const char *account_id);
    /* After the entry e, in this order: its lot or draws (lots.h; not
     * CD_STORE_OK fails the entry with CD_STORE_ERROR); the auto top-up
     * trigger of a spend (autotopup.h); its events (outbox.h). The last
     * two return CD_STORE_OK or the code the entry fails with. */
    int (*lots_tx)(struct cd_tx *tx, const struct cd_ledger_apply *in,
                   const struct cd_ledger_entry *e);
    int (*spent_tx)(struct cd_tx *tx, const struct cd_ledger_apply *in,
                    const struct cd_ledger_entry *e);
    int (*events_tx)(struct cd_tx *tx, const struct cd_ledger_apply *in,
                     const struct cd_ledger_entry *e);
};

/* Sets the hooks (h lives for the process). */
void cd_ledger_hooks_set(const struct cd_ledger_hooks *h);

#endif
