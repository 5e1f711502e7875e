/*
 * orders.h - reading orders and payments for the API (the account's order
 * and payment history, the order behind a checkout session), and the one
 * patch step of the write jobs that load an order and change it
 * (cd_order_patch_tx): orders are opened by checkout.c / order_open.c and
 * moved by the event handlers (events.h) through that step.
 */
#ifndef CD_BILLING_ORDERS_H
#define CD_BILLING_ORDERS_H

#include <stdint.h>

#include "billing/billing.h"
#include "billing/order_status.h"

/*
 * The account's orders / payments, newest first, limit/offset paged, on
 * one read transaction; cb is called per row (records are borrowed for
 * the call). *total (may be NULL) receives the count of all of them.
 * 0, or -1 with err (500).
 */
int cd_orders_list(struct cd_billing *b, const char *account_id,
                   int64_t limit, int64_t offset, cd_order_cb cb, void *arg,
                   int64_t *total, struct cd_error *err);
int cd_payments_list(struct cd_billing *b, const char *account_id,
                     int64_t limit, int64_t offset, cd_payment_cb cb,
                     void *arg, int64_t *total, struct cd_error *err);

/*
 * The account's own orders / payments by keyset (GET /v1/orders,
 * /v1/payments with starting_after), on one read transaction: the page
 * after its row `after`, cb per row, *has_more when rows follow, *total
 * the account's number of them. 0, or -1 with err: 400 invalid_param
 * (starting_after) when `after` is not one of this account's orders /
 * payments, else 500.
 */
int cd_orders_account_page(struct cd_billing *b, const char *account_id,
                           const char *after, int64_t limit, cd_order_cb cb,
                           void *arg, int *has_more, int64_t *total,
                           struct cd_error *err);
int cd_payments_account_page(struct cd_billing *b, const char *account_id,
                             const char *after, int64_t limit,
                             cd_payment_cb cb, void *arg, int *has_more,
                             int64_t *total, struct cd_error *err);

/*
 * A keyset page of every account's orders (the operator's list and
 * export; see cd_page_query in store.h), on one read transaction: cb per
 * row, *has_more when rows follow. 0, or -1 with err: 400 invalid_param
 * (starting_after) when that order does not exist, else 500.
 */
int cd_orders_page(struct cd_billing *b, const struct cd_page_query *q,
                   cd_order_cb cb, void *arg, int *has_more,
                   struct cd_error *err);
/*
 * The dashboard's sums over created_at in [from, to), on one read
 * transaction: rev per currency of the paid payments, st per order
 * status. 0, or -1 with err (500).
 */
int cd_orders_summary(struct cd_billing *b, int64_t from, int64_t to,
                      int (*rev)(const struct cd_revenue *r, void *arg),
                      int (*st)(const char *status, int64_t n, void *arg),
                      void *arg, struct cd_error *err);

/* The same for every account's payments (status: the payment's). */
int cd_payments_page(struct cd_billing *b, const struct cd_page_query *q,
                     cd_payment_cb cb, void *arg, int *has_more,
                     struct cd_error *err);

/* The order by id (read transaction). CD_STORE_OK, CD_STORE_NOT_FOUND or
 * CD_STORE_ERROR. */
int cd_order_get(struct cd_billing *b, const char *order_id,
                 struct cd_order *out);
/* The order by Stripe Checkout session id (read transaction): 0, or -1
 * with err: 404 unknown_session when no order has it, else 500. */
int cd_order_by_session(struct cd_billing *b, const char *session_id,
                        struct cd_order *out, struct cd_error *err);

/*
 * What a write job changes on an order it loaded (by id, Checkout session
 * or PaymentIntent). Zeroed: nothing. move/to: the status to move to,
 * only along order_status.h's table (cd_order_set_status: a move it
 * refuses leaves the status and is logged; the other fields still
 * apply). complete: completed_at = now. failure, session_id, pi: the
 * failure_reason, stripe_session_id, stripe_payment_intent_id to set
 * (NULL keeps the field; "" clears it). dirty: the job changed the order
 * before (with cd_order_patch), so it is stored even if this patch is
 * empty.
 */
struct cd_order_patch {
    int move;
    enum cd_order_status to;
    int complete;
    const char *failure;
    const char *session_id;
    const char *pi;
    int dirty;
};

/* Applies p to o; 1 when p changed a field (then o->updated_at = now),
 * 0 for an empty patch. Nothing is stored. */
int cd_order_patch(struct cd_order *o, const struct cd_order_patch *p,
                   int64_t now);
/* The shared step: cd_order_patch, then o stored (cd_store_order_update,
 * updated_at = now) when the patch changed it or p->dirty. CD_STORE_OK
 * when stored or when there was nothing to store, else the store's
 * code. */
int cd_order_patch_tx(struct cd_tx *tx, struct cd_order *o,
                      const struct cd_order_patch *p, int64_t now);

/* Whether the order was ever fulfilled (credits given): it has a
 * completion time, even if refunded or disputed since. */
int cd_order_fulfilled(const struct cd_order *o);

#endif
