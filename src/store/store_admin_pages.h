/*
 * store_admin_pages.h - the store's operator's pages of payments and
 * subscriptions and the dashboard's sums (admin_pages.c): records and
 * record functions. Return codes, field sizes and list conventions in
 * store_base.h; callers include store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_ADMIN_PAGES_H
#define CD_STORE_STORE_ADMIN_PAGES_H

#include <stdint.h>

#include "store/store_base.h"
#include "store/store_payments.h"
#include "store/store_subscriptions.h"

/* ---- keyset pages of every account's payments and subscriptions (022,
 * admin_pages.c): the same query; kind is not a filter, status is the
 * payment's or Stripe's subscription status; a subscription page starts
 * after a stripe_subscription_id. */
typedef int (*cd_subscription_cb)(const struct cd_subscription *s, void *arg);
int cd_store_payment_page(struct cd_tx *tx, const struct cd_page_query *q,
                          cd_payment_cb cb, void *arg, int *has_more);
int cd_store_subscription_page(struct cd_tx *tx,
                               const struct cd_page_query *q,
                               cd_subscription_cb cb, void *arg,
                               int *has_more);

/* The dashboard's sums over created_at in [from, to) (admin_pages.c):
 * paid payments per currency (count, amounts, amounts refunded), and
 * orders per status; cb once per row. OK or ERROR. */
struct cd_revenue {
    char currency[CD_CUR_SZ];
    int64_t payments, gross_cents, refunded_cents;
};
int cd_store_revenue(struct cd_tx *tx, int64_t from, int64_t to,
                     int (*cb)(const struct cd_revenue *r, void *arg),
                     void *arg);
int cd_store_order_status_counts(struct cd_tx *tx, int64_t from, int64_t to,
                                 int (*cb)(const char *status, int64_t n,
                                           void *arg),
                                 void *arg);

#endif
