/*
 * balance.h - the store's balance summary: everything GET /v1/balance
 * shows (the account's balance and held figure, its due holds, debt,
 * credits left by category and next expiry) read by one statement, so a
 * balance read is one statement in one read transaction. billing/balance.c
 * is the only caller. Return codes as in store.h.
 */
#ifndef CD_STORE_BALANCE_H
#define CD_STORE_BALANCE_H

#include <stdint.h>

#include "store/store.h"

struct cd_balance_totals {
    int64_t balance;
    int64_t held; /* accounts.held, due holds included */
    int64_t due;  /* live holds past expires_at (now), not swept */
    int64_t debt;
    int64_t paid;        /* remaining credits of paid lots */
    int64_t promotional; /* of promotional lots */
    int64_t next_at;     /* the nearest expires_at of a lot with credits
                            left; 0 for none */
    int64_t next_amount; /* the credits left that expire then */
};

/* The account's totals at `now`; CD_STORE_NOT_FOUND for no account. */
int cd_store_balance_totals(struct cd_tx *tx, const char *account_id,
                            int64_t now, struct cd_balance_totals *out);

#endif
