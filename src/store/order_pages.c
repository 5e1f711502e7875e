/*
 * order_pages.c - the keyset pages of one account's orders and payments
 * for GET /v1/orders and GET /v1/payments (026): the page is the
 * operator's cd_store_order_page / cd_store_payment_page filtered on the
 * account (orders_account, payments_account), the start row must be the
 * account's own, and the exact total is the count migration 026's
 * triggers keep (the start: keyset.c's cd_keyset_begin).
 */
#include "store/records.h"

static int no_order(const struct cd_order *o, void *arg)
{
    (void)o;
    (void)arg;
    return 0;
}

static int no_payment(const struct cd_payment *p, void *arg)
{
    (void)p;
    (void)arg;
    return 0;
}

/* LIMIT 0: the count alone, one row read from accounts. */
static int count_orders(struct cd_tx *tx, const char *account_id,
                        int64_t *total)
{
    return cd_store_order_list(tx, account_id, 0, 0, no_order, NULL, total);
}

static int count_payments(struct cd_tx *tx, const char *account_id,
                          int64_t *total)
{
    return cd_store_payment_list(tx, account_id, 0, 0, no_payment, NULL,
                                 total);
}

int cd_store_account_order_page(struct cd_tx *tx, const char *account_id,
                                const char *starting_after, int64_t limit,
                                cd_order_cb cb, void *arg, int *has_more,
                                int64_t *total)
{
    struct cd_keyset_page p = {.account_id = account_id,
                               .starting_after = starting_after,
                               .limit = limit,
                               .has_more = has_more,
                               .total = total,
                               .key_id = SQ_ORDER_KEY_ACCT,
                               .what = "order page",
                               .count = count_orders};
    struct cd_page_query q;
    int rc;

    if (!cb)
        return CD_STORE_ERROR;
    if ((rc = cd_keyset_begin(tx, &p, &q)) != CD_STORE_OK)
        return rc;
    return cd_store_order_page(tx, &q, cb, arg, has_more);
}

int cd_store_account_payment_page(struct cd_tx *tx, const char *account_id,
                                  const char *starting_after, int64_t limit,
                                  cd_payment_cb cb, void *arg, int *has_more,
                                  int64_t *total)
{
    struct cd_keyset_page p = {.account_id = account_id,
                               .starting_after = starting_after,
                               .limit = limit,
                               .has_more = has_more,
                               .total = total,
                               .key_id = SQ_PAYMENT_KEY_ACCT,
                               .what = "payment page",
                               .count = count_payments};
    struct cd_page_query q;
    int rc;

    if (!cb)
        return CD_STORE_ERROR;
    if ((rc = cd_keyset_begin(tx, &p, &q)) != CD_STORE_OK)
        return rc;
    return cd_store_payment_page(tx, &q, cb, arg, has_more);
}
