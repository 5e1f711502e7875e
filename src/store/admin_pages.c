/*
 * admin_pages.c - keyset pages of every account's payments and
 * subscriptions for the operator (GET /v1/admin/payments,
 * /v1/admin/subscriptions), newest first, on the indexes of migration 022;
 * the page runner is records.c's cd_page_run, as for orders and the
 * ledger.
 */
#include "store/records.h"

struct payment_visit {
    cd_payment_cb cb;
    void *arg;
};

static int read_payment(struct cd_stmt *st, void *out)
{
    return cd_rec_read(st, &cd_rec_payment, out);
}

static int visit_payment(const void *row, void *ctx)
{
    struct payment_visit *v = ctx;

    return v->cb(row, v->arg);
}

static int has(const char *s)
{
    return s && s[0];
}

int cd_store_payment_page(struct cd_tx *tx, const struct cd_page_query *q,
                          cd_payment_cb cb, void *arg, int *has_more)
{
    struct cd_payment row;
    struct payment_visit v = {cb, arg};
    struct page_run r = {SQ_PAYMENT_KEY, SQ_PAYMENT_PAGE_ALL, PAGE_TAIL_P,
                         read_payment, &row, visit_payment, &v, has_more,
                         "payment page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (has(q->account_id)) {
        r.list_id = SQ_PAYMENT_PAGE_ACCT;
        r.named |= P(1) | P(2);
    } else if (has(q->status)) {
        r.list_id = SQ_PAYMENT_PAGE_STATUS;
        r.named |= P(2);
    }
    return cd_page_run(tx, q, &r);
}

struct sub_visit {
    cd_subscription_cb cb;
    void *arg;
};

static int read_sub(struct cd_stmt *st, void *out)
{
    return cd_rec_read(st, &cd_rec_subscription, out);
}

static int visit_sub(const void *row, void *ctx)
{
    struct sub_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_subscription_page(struct cd_tx *tx,
                               const struct cd_page_query *q,
                               cd_subscription_cb cb, void *arg,
                               int *has_more)
{
    struct cd_subscription row;
    struct sub_visit v = {cb, arg};
    struct page_run r = {SQ_SUB_KEY, SQ_SUB_PAGE_ALL, PAGE_TAIL_P,
                         read_sub, &row, visit_sub, &v, has_more,
                         "subscription page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (has(q->account_id)) {
        r.list_id = SQ_SUB_PAGE_ACCT;
        r.named |= P(1) | P(2);
    } else if (has(q->status)) {
        r.list_id = SQ_SUB_PAGE_STATUS;
        r.named |= P(2);
    }
    return cd_page_run(tx, q, &r);
}
