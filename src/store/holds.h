/*
 * holds.h - the store's holds (migration 017): the hold rows and the
 * account's held figure, changed together by guarded statements inside one
 * write job. billing/holds.c is the only caller. Return codes as in
 * store.h.
 */
#ifndef CD_STORE_HOLDS_H
#define CD_STORE_HOLDS_H

#include <stdint.h>

#include "store/store.h"

struct cd_hold {
    char id[CD_ID_SZ]; /* "hold_..." */
    char account_id[CD_ID_SZ];
    int64_t amount;            /* held, 1..10^12 */
    int64_t captured;          /* spent by the capture; 0 otherwise */
    char status[CD_STATUS_SZ]; /* active|captured|released|expired */
    char description[CD_DESC_SZ];
    char transaction_id[CD_ID_SZ]; /* the capture's ledger entry, or "" */
    int64_t created_at, expires_at;
    int64_t finished_at; /* captured, released or expired at; 0: active */
};

typedef int (*cd_hold_cb)(const struct cd_hold *h, void *arg);

int cd_store_hold_insert(struct cd_tx *tx, const struct cd_hold *h);
int cd_store_hold_get(struct cd_tx *tx, const char *id, struct cd_hold *out);
/* held += amount only while balance - held >= amount: OK, or GUARD (no
 * such account, or not enough available). */
int cd_store_hold_reserve(struct cd_tx *tx, const char *account_id,
                          int64_t amount);
/* held -= amount (never below 0): OK, or GUARD. */
int cd_store_hold_unreserve(struct cd_tx *tx, const char *account_id,
                            int64_t amount);
/* Sets a live hold (active, expires_at > now) to status ("captured" or
 * "released") with captured and transaction_id, finished at now: OK, or
 * GUARD when it is no longer live (nothing written). */
int cd_store_hold_finish(struct cd_tx *tx, const char *id, const char *status,
                         int64_t captured, const char *transaction_id,
                         int64_t now);
/* Expires every active hold of the account due at now and gives their
 * sum back to held; *count (may be NULL) how many. OK or ERROR. */
int cd_store_hold_expire_account(struct cd_tx *tx, const char *account_id,
                                 int64_t now, int *count,
                                 char (**ids)[CD_ID_SZ]);
/* Up to max accounts (ids into ids[max][CD_ID_SZ]) with holds due at now;
 * *n how many. */
int cd_store_hold_due_accounts(struct cd_tx *tx, int64_t now,
                               char (*ids)[CD_ID_SZ], int max, int *n);
/* The account's balance, held, and the part of held due at now (expired
 * holds the sweeper has not reached yet). NOT_FOUND: no account. */
int cd_store_hold_totals(struct cd_tx *tx, const char *account_id,
                         int64_t now, int64_t *balance, int64_t *held,
                         int64_t *due);
/* A keyset page of the account's holds, newest first: status "" for
 * every one, else the status as shown at now (a due active hold is
 * "expired"); after: a hold id of this account or "" (NOT_FOUND when it
 * names none). cb per row; *has_more when more rows follow. */
int cd_store_hold_page(struct cd_tx *tx, const char *account_id,
                       const char *status, const char *after, int64_t limit,
                       int64_t now, cd_hold_cb cb, void *arg, int *has_more);
/* Accounts whose held is not the sum of their active holds: cb(account,
 * held, sum) for each; *count how many. */
int cd_store_hold_verify(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                         int64_t *count);

#endif
