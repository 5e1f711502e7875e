/*
 * store_subscriptions.h - the store's subscriptions (subscriptions.c):
 * records and record functions. Return codes, field sizes and list
 * conventions in store_base.h; callers include store/store.h, which
 * includes this header.
 */
#ifndef CD_STORE_STORE_SUBSCRIPTIONS_H
#define CD_STORE_STORE_SUBSCRIPTIONS_H

#include <stdint.h>

#include "store/store_base.h"

/* ---- subscriptions (004_subscriptions) --------------------------------- */

/* A Stripe subscription as creditd last read it from Stripe. */
struct cd_subscription {
    char stripe_subscription_id[CD_SID_SZ]; /* "sub_..."; unique */
    char account_id[CD_ID_SZ];
    char plan_id[CD_ID_SZ];     /* catalog plan, or "" */
    char status[CD_STATUS_SZ];  /* Stripe's: active|past_due|canceled|... */
    int64_t current_period_end; /* unix seconds; 0: unknown */
    int cancel_at_period_end;
    int64_t synced_at; /* when read from Stripe, microseconds */
    int64_t created_at;
    int64_t updated_at;
};

/*
 * Inserts the subscription, or updates the row with its
 * stripe_subscription_id when s->synced_at is not older than the stored
 * synced_at (plan_id, status, current_period_end, cancel_at_period_end,
 * synced_at, updated_at; account_id and created_at stay as first written).
 * OK when written; DUPLICATE when the stored copy was read later (nothing
 * written).
 */
int cd_store_subscription_upsert(struct cd_tx *tx,
                                 const struct cd_subscription *s);
int cd_store_subscription_get(struct cd_tx *tx, const char *stripe_id,
                              struct cd_subscription *out);
/* The account's most recent subscription (created_at, then insertion). */
int cd_store_subscription_latest(struct cd_tx *tx, const char *account_id,
                                 struct cd_subscription *out);

#endif
