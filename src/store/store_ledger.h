/*
 * store_ledger.h - the store's ledger entries (ledger.c, ledger_pages.c):
 * records and record functions. Return codes, field sizes and list
 * conventions in store_base.h; callers include store/store.h, which
 * includes this header.
 */
#ifndef CD_STORE_STORE_LEDGER_H
#define CD_STORE_STORE_LEDGER_H

#include <stdint.h>

#include "store/store_base.h"

struct cd_ledger_entry {
    char id[CD_ID_SZ]; /* "txn_..." */
    char account_id[CD_ID_SZ];
    int64_t amount; /* signed credits */
    int64_t balance_after;
    char kind
        [CD_KIND_SZ]; /* purchase|topup|package|subscription|grant|usage|refund|dispute|adjustment|expiry */
    char ref[CD_REF_SZ]; /* unique business key */
    char order_id[CD_ID_SZ];
    char description[CD_DESC_SZ];
    int64_t created_at;   /* when written (pages are ordered by it) */
    int64_t effective_at; /* 025: when it took effect (an expiry: its
                             lot's expires_at); 0 = created_at */
};

typedef int (*cd_ledger_cb)(const struct cd_ledger_entry *e, void *arg);

/* Ledger check: an account whose cached balance differs from its entries. */
typedef int (*cd_mismatch_cb)(const char *account_id, int64_t balance,
                              int64_t sum_entries, void *arg);

/* ---- ledger ------------------------------------------------------------ */
/* DUPLICATE when e->ref exists. Does not touch accounts.balance: the
 * caller (billing/ledger.c) sets it in the same job. */
int cd_store_ledger_insert(struct cd_tx *tx, const struct cd_ledger_entry *e);
/*
 * A balance change and its ledger row, atomic on every backend without a
 * prior read: one guarded statement adds e->amount to the account's
 * balance only when the result stays within [lo, hi] and returns the new
 * balance (UPDATE ... WHERE balance + amount BETWEEN lo AND hi RETURNING
 * balance); then e is inserted with that balance_after. OK with *out the
 * entry written; CD_STORE_GUARD when the result would leave [lo, hi];
 * NOT_FOUND when there is no such account; DUPLICATE when e->ref exists
 * (the balance change is undone in the same job). Nothing is written
 * unless OK. |e->amount| must be at most CD_AMOUNT_MAX.
 */
int cd_store_ledger_post(struct cd_tx *tx, const struct cd_ledger_entry *e,
                         int64_t lo, int64_t hi, struct cd_ledger_entry *out);
int cd_store_ledger_by_ref(struct cd_tx *tx, const char *ref,
                           struct cd_ledger_entry *out);
int cd_store_ledger_list(struct cd_tx *tx, const char *account_id,
                         int64_t limit, int64_t offset, cd_ledger_cb cb,
                         void *arg, int64_t *total);
/* Walks every account: sums of cached balances and of entries, and calls
 * cb for each account whose balance != sum of its entries. */
int cd_store_ledger_verify(struct cd_tx *tx, int64_t *accounts,
                           int64_t *sum_balances, int64_t *sum_entries,
                           cd_mismatch_cb cb, void *arg);

/* Calls cb for each row of the page and sets *has_more when rows follow
 * it. NOT_FOUND when starting_after names no row of that table. */

int cd_store_ledger_page(struct cd_tx *tx, const struct cd_page_query *q,
                         cd_ledger_cb cb, void *arg, int *has_more);
/* One account's ledger, newest first, the page after its entry
 * starting_after (NULL: the first page), up to limit (1..CD_PAGE_MAX)
 * rows; *total the account's number of entries (ledger_pages.c).
 * NOT_FOUND when starting_after names no entry of this account. */
int cd_store_txn_page(struct cd_tx *tx, const char *account_id,
                      const char *starting_after, int64_t limit,
                      cd_ledger_cb cb, void *arg, int *has_more,
                      int64_t *total);

#endif
