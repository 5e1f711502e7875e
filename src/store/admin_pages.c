/*
 * admin_pages.c - keyset pages of every account's payments and
 * subscriptions for the operator (GET /v1/admin/payments,
 * /v1/admin/subscriptions), newest first, on the indexes of migration 022;
 * the page runner is records.c's cd_page_run, as for orders and the
 * ledger; and the dashboard's sums (revenue per currency, orders per
 * status over a time range).
 */
#include "store/records.h"

#include "util/log.h"

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
    struct page_run r = {
        SQ_PAYMENT_KEY, SQ_PAYMENT_PAGE_ALL, PAGE_TAIL_P, read_payment,
        &row,           visit_payment,       &v,          has_more,
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
    struct page_run r = {SQ_SUB_KEY,
                         SQ_SUB_PAGE_ALL,
                         PAGE_TAIL_P,
                         read_sub,
                         &row,
                         visit_sub,
                         &v,
                         has_more,
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

/* ---- the dashboard's sums ---------------------------------------------- */

/* Runs statement id bound to [from, to): row(st, ctx) per row. */
static int run_sum(struct cd_tx *tx, enum cd_sq_stmt id, int64_t from,
                   int64_t to, int (*row)(struct cd_stmt *st, void *ctx),
                   void *ctx, const char *what)
{
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (!tx || !tx->db || from >= to)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, id)))
        return CD_STORE_ERROR;
    if (cd_bind_i64(st, 1, from) != 0 || cd_bind_i64(st, 2, to) != 0) {
        cd_sq_put(tx->db, id, st);
        return CD_STORE_ERROR;
    }
    while ((rc = cd_step(st)) == CD_STEP_ROW)
        if (row(st, ctx) != 0) {
            ret = CD_STORE_ERROR;
            break;
        }
    if (ret == CD_STORE_OK && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, id, st);
    return ret;
}

struct revenue_ctx {
    int (*cb)(const struct cd_revenue *r, void *arg);
    void *arg;
};

static int revenue_row(struct cd_stmt *st, void *ctx)
{
    struct revenue_ctx *c = ctx;
    struct cd_revenue r;

    if (cd_col_str(st, 0, r.currency, sizeof(r.currency)) != 0)
        return -1;
    r.payments = cd_col_i64(st, 1);
    r.gross_cents = cd_col_i64(st, 2);
    r.refunded_cents = cd_col_i64(st, 3);
    return c->cb(&r, c->arg);
}

int cd_store_revenue(struct cd_tx *tx, int64_t from, int64_t to,
                     int (*cb)(const struct cd_revenue *r, void *arg),
                     void *arg)
{
    struct revenue_ctx c = {cb, arg};

    if (!cb)
        return CD_STORE_ERROR;
    return run_sum(tx, SQ_REVENUE_SUM, from, to, revenue_row, &c, "revenue");
}

struct status_ctx {
    int (*cb)(const char *status, int64_t n, void *arg);
    void *arg;
};

static int status_row(struct cd_stmt *st, void *ctx)
{
    struct status_ctx *c = ctx;
    char status[CD_STATUS_SZ];

    if (cd_col_str(st, 0, status, sizeof(status)) != 0)
        return -1;
    return c->cb(status, cd_col_i64(st, 1), c->arg);
}

int cd_store_order_status_counts(struct cd_tx *tx, int64_t from, int64_t to,
                                 int (*cb)(const char *status, int64_t n,
                                           void *arg),
                                 void *arg)
{
    struct status_ctx c = {cb, arg};

    if (!cb)
        return CD_STORE_ERROR;
    return run_sum(tx, SQ_ORDER_STATUS_COUNT, from, to, status_row, &c,
                   "order status counts");
}
