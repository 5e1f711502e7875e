/*
 * subscriptions_int.h - what subscriptions.c shares with invoices.c: whose
 * subscription it is (struct locate), the copy read at Stripe (struct
 * sub_copy), the re-read, the row made of a copy and its upsert. Private
 * to the two.
 */
#ifndef CD_BILLING_SUBSCRIPTIONS_INT_H
#define CD_BILLING_SUBSCRIPTIONS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "billing/billing.h"
#include "store/store.h"
#include "util/error.h"

/* Whose subscription: our row first (a subscription never changes
 * account), else metadata.account_id naming an account here, else the
 * account whose Stripe customer it is. */
struct locate {
    const char *sub_id;
    const char *meta_account; /* "" when absent */
    const char *customer;     /* "" when absent */
    int has_row;
    struct cd_subscription row;
    char account_id[CD_ID_SZ];
};

/* What we keep of a Subscription, bounded; "" when absent. */
struct sub_copy {
    char id[CD_SID_SZ];
    char status[CD_STATUS_SZ];
    char customer[CD_SID_SZ];
    char meta_account[CD_ID_SZ];
    char meta_plan[CD_ID_SZ];
    char meta_order[CD_ID_SZ]; /* the checkout's order (checkout.c) */
    int64_t period_end;
    int cancel_at_period_end;
    int64_t synced_at; /* when the read started, microseconds */
};

/* A positive integer's value; 0 for anything else. */
int64_t cd_sub_positive_int(const json_t *v);
/*
 * GET /v1/subscriptions/{id} (never inside a transaction) into *c.
 * 0; 1 when Stripe does not know it (404: retrying cannot help); -1 with
 * err: 503 stripe_not_configured, 502 stripe_error.
 */
int cd_sub_fetch(struct cd_billing *b, const char *id, struct sub_copy *c,
                 struct cd_error *err);
/* The row to upsert for copy c of account_id. */
void cd_sub_row_from_copy(const struct sub_copy *c, const char *account_id,
                          struct cd_subscription *row, int64_t now);
/* Upserts inside a job; a copy older than the stored one is no error. */
int cd_sub_upsert_tx(struct cd_tx *tx, const struct cd_subscription *row);
/* Whose subscription l->sub_id is (into l): CD_STORE_OK, CD_STORE_NOT_FOUND,
 * or -1 with err. */
int cd_sub_locate_account(struct cd_billing *b, struct locate *l,
                          struct cd_error *err);

#endif
