/*
 * lots.h - the store's lots (migration 016): every credit that entered an
 * account, what is left of it, the draws each debit made from them, and
 * the account's debt (what it owes past its lots). SQL in statements.c;
 * the rules (drawing order, debt, expiry) are billing/lots.c's.
 */
#ifndef CD_STORE_LOTS_H
#define CD_STORE_LOTS_H

#include "store/store.h"

#define CD_LOT_SOURCE_SZ 32
#define CD_LOT_CATEGORY_SZ 16

struct cd_lot {
    char id[CD_ID_SZ]; /* "lot_..." */
    char account_id[CD_ID_SZ];
    char entry_id[CD_ID_SZ];       /* the ledger entry that brought it; "" */
    char source[CD_LOT_SOURCE_SZ]; /* purchase|topup|package|... */
    char category[CD_LOT_CATEGORY_SZ]; /* paid|promotional */
    int64_t amount;                    /* > 0 */
    int64_t remaining;                 /* 0..amount */
    int64_t priority;                  /* lower draws first; default 50 */
    int64_t expires_at;                /* 0: never */
    char order_id[CD_ID_SZ];
    int64_t created_at;
    int64_t expired_at; /* when its expiry entry was written; 0 */
    int64_t rolled;     /* 1: its credits rolled over once already */
    int64_t seq;        /* insertion order (the page key) */
};

typedef int (*cd_lot_cb)(const struct cd_lot *l, void *arg);

int cd_store_lot_insert(struct cd_tx *tx, const struct cd_lot *l);
int cd_store_lot_get(struct cd_tx *tx, const char *id, struct cd_lot *out);
/* Up to max lots of the account with credits left, in drawing order
 * (prefer_order_id's first; NULL: none); *n read. */
int cd_store_lot_open(struct cd_tx *tx, const char *account_id,
                      const char *prefer_order_id, struct cd_lot *out,
                      int max, int *n);
/* The first lot in drawing order gives all of amount, if it holds that
 * much: CD_STORE_OK with its id in lot_id (CD_ID_SZ), or CD_STORE_GUARD
 * (nothing written: draw lot by lot). */
int cd_store_lot_take_first(struct cd_tx *tx, const char *account_id,
                            const char *prefer_order_id, int64_t amount,
                            char *lot_id);
/* remaining -= amount only if remaining >= amount: CD_STORE_OK or
 * CD_STORE_GUARD. */
int cd_store_lot_take(struct cd_tx *tx, const char *id, int64_t amount);
/* remaining 0 and expired_at = now, only if remaining is still `left`:
 * CD_STORE_OK or CD_STORE_GUARD. */
int cd_store_lot_expire(struct cd_tx *tx, const char *id, int64_t left,
                        int64_t now);
/* Rollover: remaining -= take, expires_at = new_expiry, rolled = 1, only
 * if remaining is still `left` and it never rolled: OK or GUARD. */
int cd_store_lot_roll(struct cd_tx *tx, const char *id, int64_t take,
                      int64_t left, int64_t new_expiry);
int cd_store_lot_draw_insert(struct cd_tx *tx, const char *entry_id,
                             const char *lot_id, int64_t amount);
/* The draws of one ledger entry: cb(lot_id, amount) per row. */
int cd_store_lot_draws(struct cd_tx *tx, const char *entry_id,
                       int (*cb)(const char *lot_id, int64_t amount,
                                 void *arg),
                       void *arg);
/* debt += delta unless it would go below 0: CD_STORE_OK with *after,
 * CD_STORE_GUARD, CD_STORE_NOT_FOUND. */
int cd_store_lot_debt_add(struct cd_tx *tx, const char *account_id,
                          int64_t delta, int64_t *after);
int cd_store_lot_debt_get(struct cd_tx *tx, const char *account_id,
                          int64_t *debt);
/* Lots with credits left whose expires_at <= now, soonest first: of every
 * account (account_id NULL) or of one. */
int cd_store_lot_due(struct cd_tx *tx, const char *account_id, int64_t now,
                     struct cd_lot *out, int max, int *n);
/* A page of the account's lots, newest first, after the account's lot
 * `after` (NULL or "": the top; NOT_FOUND when the account has no such
 * lot: cd_keyset_row); status 0 all, 1 active, 2 expired. */
int cd_store_lot_page(struct cd_tx *tx, const char *account_id, int status,
                      int64_t now, const char *after, int64_t limit,
                      cd_lot_cb cb, void *arg, int *has_more);
/* Credits left by category, and the soonest expiry (*next_at 0: none). */
int cd_store_lot_totals(struct cd_tx *tx, const char *account_id,
                        int64_t *paid, int64_t *promotional,
                        int64_t *next_amount, int64_t *next_at);
/* Accounts where balance != SUM(remaining) - debt (or a debt beside
 * credits left): cb(id, balance, lots - debt) each; *n counted. */
int cd_store_lot_verify(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                        int64_t *n);

#endif
