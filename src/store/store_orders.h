/*
 * store_orders.h - the store's orders (orders.c, order_pages.c): records
 * and record functions. Return codes, field sizes and list conventions in
 * store_base.h; callers include store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_ORDERS_H
#define CD_STORE_STORE_ORDERS_H

#include <stdint.h>

#include "store/store_base.h"
#include "store/store_payments.h"

struct cd_order {
    char id[CD_ID_SZ]; /* "ord_..." */
    char account_id[CD_ID_SZ];
    char kind
        [CD_KIND_SZ]; /* access|topup|package|subscription|payment_intent */
    char status
        [CD_STATUS_SZ]; /* pending|completed|failed|expired|refunded|partially_refunded|disputed */
    int64_t amount_cents;
    int64_t discount_cents;
    char discount_code[CD_CODE_SZ];
    int64_t credits;
    char currency[CD_CUR_SZ];
    char item_id[CD_ID_SZ]; /* package or plan id */
    char description[CD_DESC_SZ];
    char stripe_session_id[CD_SID_SZ]; /* unique when set */
    char stripe_payment_intent_id[CD_SID_SZ];
    char failure_reason[CD_DESC_SZ];
    int64_t created_at;
    int64_t completed_at; /* 0: not yet */
    int64_t updated_at;
    /* 007: the clawback (billing/clawback.c) */
    int64_t clawback_credits;   /* taken back so far by refunds, disputes */
    int64_t clawback_seq;       /* adjustments made so far */
    int64_t refund_level_cents; /* highest charge.amount_refunded seen */
    char stripe_invoice_id[CD_SID_SZ]; /* a subscription period's invoice */
    /* 010: the customer its Stripe request names ("": none), fixed when
     * the order is written, so a retry sends the same parameters */
    char stripe_customer_id[CD_SID_SZ];
};

typedef int (*cd_order_cb)(const struct cd_order *o, void *arg);

/* ---- orders and payments ---------------------------------------------- */
int cd_store_order_insert(struct cd_tx *tx, const struct cd_order *o);
/*
 * Inserts o, whose discount_code is set, only while that code can be
 * reserved at o->created_at - one guarded INSERT ... SELECT, so the check
 * and the insert are not split by another writer: the code exists, is
 * active, has not expired, and (max_uses 0, or) its times_used plus the
 * pending orders of other accounts naming it created at or after
 * hold_since stay below max_uses. OK; CD_STORE_GUARD when the code
 * refuses (nothing written); DUPLICATE when o->id exists.
 */
int cd_store_order_insert_reserving(struct cd_tx *tx,
                                    const struct cd_order *o,
                                    int64_t hold_since);
/* Rewrites the row o->id (all but its account, which never changes;
 * NOT_FOUND when o->account_id is not the order's). */
int cd_store_order_update(struct cd_tx *tx, const struct cd_order *o);
int cd_store_order_get(struct cd_tx *tx, const char *id,
                       struct cd_order *out);
int cd_store_order_by_session(struct cd_tx *tx, const char *session_id,
                              struct cd_order *out);
int cd_store_order_by_payment_intent(struct cd_tx *tx, const char *pi,
                                     struct cd_order *out);
/* The order of a paid subscription invoice (stripe_invoice_id). */
int cd_store_order_by_invoice(struct cd_tx *tx, const char *invoice_id,
                              struct cd_order *out);
int cd_store_order_list(struct cd_tx *tx, const char *account_id,
                        int64_t limit, int64_t offset, cd_order_cb cb,
                        void *arg, int64_t *total);
/* How many of the account's orders created at or after `since` are still
 * pending (the cap on open checkouts). */
int cd_store_order_count_pending(struct cd_tx *tx, const char *account_id,
                                 int64_t since, int64_t *out);
/* Pending orders created before `before`, oldest first (reconciliation). */
int cd_store_order_list_pending(struct cd_tx *tx, int64_t before,
                                int64_t limit, cd_order_cb cb, void *arg);

/* How many of the account's orders were ever paid (completed_at set). */
int cd_store_order_count_paid(struct cd_tx *tx, const char *account_id,
                              int64_t *out);

/* Calls cb for each row of the page and sets *has_more when rows follow
 * it. NOT_FOUND when starting_after names no row of that table. */
int cd_store_order_page(struct cd_tx *tx, const struct cd_page_query *q,
                        cd_order_cb cb, void *arg, int *has_more);

/* One account's orders / payments, newest first, the page after its
 * row starting_after (NULL: the first page), up to limit
 * (1..CD_PAGE_MAX) rows; *total the account's number of them (026,
 * order_pages.c). NOT_FOUND when starting_after names no order /
 * payment of this account. */
int cd_store_account_order_page(struct cd_tx *tx, const char *account_id,
                                const char *starting_after, int64_t limit,
                                cd_order_cb cb, void *arg, int *has_more,
                                int64_t *total);
int cd_store_account_payment_page(struct cd_tx *tx, const char *account_id,
                                  const char *starting_after, int64_t limit,
                                  cd_payment_cb cb, void *arg, int *has_more,
                                  int64_t *total);

#endif
