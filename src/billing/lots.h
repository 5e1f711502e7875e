/*
 * lots.h - credit lots: every credit that enters an account is a lot
 * (source, category paid|promotional, optional expiry and priority), and
 * every debit draws from lots in one documented order, recording each
 * draw against its ledger entry (docs/ARCHITECTURE.md "Lots").
 *
 * Drawing order: the debit's own order's lots first (a refund or dispute
 * clawback names its order), then priority (lower first, default 50),
 * then the soonest expiry (never last), then promotional before paid,
 * then the oldest.
 *
 * Debt: what a debit takes past every lot (allow_negative, clawbacks)
 * is the account's debt; the next credits repay it first (their lot keeps
 * only what is left after the repayment). Per account, always:
 *   balance == sum(entries) == sum(remaining of lots) - debt
 * and a debt is only ever owed when no lot has credits left.
 *
 * Expiry: a lot past its expires_at with credits left gets one ledger
 * entry of kind "expiry" (ref "expiry:<lot id>", so exactly once), written
 * by the sweeper (jobs.c, lease "expiry") or, first, by any debit of the
 * same account (so a debit never spends expired credits).
 */
#ifndef CD_BILLING_LOTS_H
#define CD_BILLING_LOTS_H

#include "billing/billing.h"
#include "billing/ledger.h"
#include "store/lots.h"

#define CD_LOT_PRIORITY_DEFAULT 50
#define CD_LOT_PRIORITY_MAX 100
#define CD_LOT_EXPIRY_DAYS_MAX 3650

struct cd_lot_spec {
    const char *source;   /* credits: NULL = the entry's kind */
    const char *category; /* credits: NULL = promotional for grants and
                             promotions, else paid */
    int64_t expires_at;   /* credits: 0 = never */
    int64_t priority;     /* credits: 1..100; 0 = 50 */
    const char *lot_id;   /* debits: this lot only, all that is left */
    int64_t roll_to;      /* with lot_id: the rest of the lot rolls over
                             to this expiry instead (rollover_cap) */
    int64_t left;         /* with roll_to: the lot's remaining before */
};

/* The catalog whose packages' expires_in_days apply (set at start-up;
 * NULL: none). */
void cd_lots_init(const struct cd_billing_config *cfg);

/* The lot of an order's credit (order_credit.c): a package's expires_in_days,
 * a plan's period end (period_end, from the invoice) when its credits
 * expire; NULL (the defaults) otherwise. */
const struct cd_lot_spec *cd_lots_order_spec(const struct cd_order *o,
                                             int64_t period_end, int64_t now,
                                             struct cd_lot_spec *spec);

/* Hooks of cd_ledger_apply_tx (ledger.c), inside its job. before: a
 * debit first expires the account's lots that are due. after: a credit
 * repays debt and becomes a lot; a debit draws from lots (past them: debt).
 * CD_STORE_OK or CD_STORE_ERROR (the job must fail). */
int cd_lots_before_tx(struct cd_tx *tx, const struct cd_ledger_apply *in);
int cd_lots_after_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                     const struct cd_ledger_entry *e);

/* Writes the expiry entry of a lot (now: its time): 1 when written, 0
 * when there was nothing (already expired, nothing left), or
 * CD_STORE_ERROR. */
int cd_lots_expire_tx(struct cd_tx *tx, const struct cd_lot *l, int64_t now);

/* The sweeper: expires every due lot, in write jobs of up to 64; *n the
 * entries written. 0, or -1 on a store failure. */
int cd_lots_sweep(struct cd_billing *b, int64_t now, int64_t *n);

/* expires_at of a credit from a day count (0: never). */
int64_t cd_lots_days(int64_t now, int64_t days);

struct cd_lot_totals {
    int64_t paid, promotional, debt;
    int64_t next_amount, next_at; /* next_at 0: nothing expires */
};
int cd_lots_totals(struct cd_billing *b, const char *account_id,
                   struct cd_lot_totals *out, struct cd_error *err);

/* A page of the account's lots (status 0 all, 1 active, 2 expired),
 * newest first, after the lot `starting_after` (NULL: the top). 400
 * invalid_param when starting_after names no lot of the account. */
int cd_lots_page(struct cd_billing *b, const char *account_id, int status,
                 const char *starting_after, int64_t limit, cd_lot_cb cb,
                 void *arg, int *has_more, struct cd_error *err);

/* The draws of n ledger entries (ids; at most CD_LOTS_DRAWS_MAX), in one
 * read: cb(i, lot_id, amount) for each draw of ids[i], by lot id. A
 * credit has none; a debit's amounts (> 0) add up to -amount less what
 * went to debt; an expiry has the one lot it emptied. */
#define CD_LOTS_DRAWS_MAX 100
typedef int (*cd_lot_draw_cb)(size_t i, const char *lot_id, int64_t amount,
                              void *arg);
int cd_lots_draws(struct cd_billing *b, const char *const *ids, size_t n,
                  cd_lot_draw_cb cb, void *arg, struct cd_error *err);

/* Lot mismatches (balance != lots - debt) for the ledger check. */
int cd_lots_verify_tx(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                      int64_t *n);

#endif
