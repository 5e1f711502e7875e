/*
 * orders.c - read helpers over the store for orders and payments; see
 * orders.h.
 */
#include "billing/orders.h"

#include <string.h>

#include "billing/order_status.h"
#include "util/util.h"

struct list_args {
    const char *account_id;
    int64_t limit, offset;
    cd_order_cb ocb;
    cd_payment_cb pcb;
    void *arg;
    int64_t *total;
};

static int read_orders(struct cd_tx *tx, void *arg)
{
    struct list_args *a = arg;

    return cd_store_order_list(tx, a->account_id, a->limit, a->offset, a->ocb,
                               a->arg, a->total);
}

static int read_payments(struct cd_tx *tx, void *arg)
{
    struct list_args *a = arg;

    return cd_store_payment_list(tx, a->account_id, a->limit, a->offset,
                                 a->pcb, a->arg, a->total);
}

/* One list read on a read transaction; any failure is a 500. */
static int run_list(struct cd_billing *b, cd_store_job_fn fn,
                    struct list_args *a, struct cd_error *err)
{
    if (cd_store_read(b->store, fn, a) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the list.");
    return 0;
}

int cd_orders_list(struct cd_billing *b, const char *account_id,
                   int64_t limit, int64_t offset, cd_order_cb cb, void *arg,
                   int64_t *total, struct cd_error *err)
{
    struct list_args a = {.account_id = account_id,
                          .limit = limit,
                          .offset = offset,
                          .ocb = cb,
                          .arg = arg,
                          .total = total};

    return run_list(b, read_orders, &a, err);
}

int cd_payments_list(struct cd_billing *b, const char *account_id,
                     int64_t limit, int64_t offset, cd_payment_cb cb,
                     void *arg, int64_t *total, struct cd_error *err)
{
    struct list_args a = {.account_id = account_id,
                          .limit = limit,
                          .offset = offset,
                          .pcb = cb,
                          .arg = arg,
                          .total = total};

    return run_list(b, read_payments, &a, err);
}

struct page_args {
    const struct cd_page_query *q;
    cd_order_cb cb;
    cd_payment_cb pcb;
    void *arg;
    int *has_more;
};

static int read_page(struct cd_tx *tx, void *arg)
{
    struct page_args *a = arg;

    if (a->pcb)
        return cd_store_payment_page(tx, a->q, a->pcb, a->arg, a->has_more);
    return cd_store_order_page(tx, a->q, a->cb, a->arg, a->has_more);
}

/* One page read; what names the row kind in the 400. */
static int run_page(struct cd_billing *b, struct page_args *a,
                    const char *what, struct cd_error *err)
{
    int rc = cd_store_read(b->store, read_page, a);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after", "starting_after names no %s",
                            what);
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

int cd_payments_page(struct cd_billing *b, const struct cd_page_query *q,
                     cd_payment_cb cb, void *arg, int *has_more,
                     struct cd_error *err)
{
    struct page_args a = {q, NULL, cb, arg, has_more};

    return run_page(b, &a, "payment", err);
}

int cd_orders_page(struct cd_billing *b, const struct cd_page_query *q,
                   cd_order_cb cb, void *arg, int *has_more,
                   struct cd_error *err)
{
    struct page_args a = {q, cb, NULL, arg, has_more};

    return run_page(b, &a, "order", err);
}

struct account_page_args {
    const char *account_id, *after;
    int64_t limit;
    cd_order_cb ocb;
    cd_payment_cb pcb;
    void *arg;
    int *has_more;
    int64_t *total;
};

static int read_account_page(struct cd_tx *tx, void *arg)
{
    struct account_page_args *a = arg;

    if (a->pcb)
        return cd_store_account_payment_page(tx, a->account_id, a->after,
                                             a->limit, a->pcb, a->arg,
                                             a->has_more, a->total);
    return cd_store_account_order_page(tx, a->account_id, a->after, a->limit,
                                       a->ocb, a->arg, a->has_more, a->total);
}

/* One page of the account's own rows; what names the row kind. */
static int run_account_page(struct cd_billing *b, struct account_page_args *a,
                            const char *what, struct cd_error *err)
{
    int rc = cd_store_read(b->store, read_account_page, a);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(
            err, CD_EK_INVALID, "invalid_param", "starting_after",
            "starting_after names no %s of this account", what);
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

int cd_orders_account_page(struct cd_billing *b, const char *account_id,
                           const char *after, int64_t limit, cd_order_cb cb,
                           void *arg, int *has_more, int64_t *total,
                           struct cd_error *err)
{
    struct account_page_args a = {account_id, after, limit,    cb,
                                  NULL,       arg,   has_more, total};

    return run_account_page(b, &a, "order", err);
}

int cd_payments_account_page(struct cd_billing *b, const char *account_id,
                             const char *after, int64_t limit,
                             cd_payment_cb cb, void *arg, int *has_more,
                             int64_t *total, struct cd_error *err)
{
    struct account_page_args a = {account_id, after, limit,    NULL,
                                  cb,         arg,   has_more, total};

    return run_account_page(b, &a, "payment", err);
}

struct get_args {
    const char *key;
    struct cd_order *out;
};

static int read_order(struct cd_tx *tx, void *arg)
{
    struct get_args *a = arg;

    return cd_store_order_get(tx, a->key, a->out);
}

static int read_order_by_session(struct cd_tx *tx, void *arg)
{
    struct get_args *a = arg;

    return cd_store_order_by_session(tx, a->key, a->out);
}

int cd_order_get(struct cd_billing *b, const char *order_id,
                 struct cd_order *out)
{
    struct get_args a = {order_id, out};

    return cd_store_read(b->store, read_order, &a);
}

int cd_order_by_session(struct cd_billing *b, const char *session_id,
                        struct cd_order *out, struct cd_error *err)
{
    struct get_args a = {session_id, out};
    int rc = cd_store_read(b->store, read_order_by_session, &a);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "unknown_session", NULL,
                            "No such checkout session.");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the order.");
    return 0;
}

int cd_order_patch(struct cd_order *o, const struct cd_order_patch *p,
                   int64_t now)
{
    int changed = 0;

    if (p->move) {
        (void)cd_order_set_status(o, p->to); /* refused: logged, kept */
        changed = 1;
    }
    if (p->complete) {
        o->completed_at = now;
        changed = 1;
    }
    if (p->failure) {
        cd_strlcpy(o->failure_reason, p->failure, sizeof(o->failure_reason));
        changed = 1;
    }
    if (p->session_id) {
        cd_strlcpy(o->stripe_session_id, p->session_id,
                   sizeof(o->stripe_session_id));
        changed = 1;
    }
    if (p->pi) {
        cd_strlcpy(o->stripe_payment_intent_id, p->pi,
                   sizeof(o->stripe_payment_intent_id));
        changed = 1;
    }
    if (changed)
        o->updated_at = now;
    return changed;
}

int cd_order_patch_tx(struct cd_tx *tx, struct cd_order *o,
                      const struct cd_order_patch *p, int64_t now)
{
    if (!cd_order_patch(o, p, now) && !p->dirty)
        return CD_STORE_OK;
    o->updated_at = now;
    return cd_store_order_update(tx, o);
}

int cd_order_fulfilled(const struct cd_order *o)
{
    return o->completed_at != 0 || cd_order_is(o, CD_ORDER_COMPLETED);
}

struct summary_args {
    int64_t from, to;
    int (*rev)(const struct cd_revenue *r, void *arg);
    int (*st)(const char *status, int64_t n, void *arg);
    void *arg;
};

static int read_summary(struct cd_tx *tx, void *arg)
{
    struct summary_args *a = arg;
    int rc = cd_store_revenue(tx, a->from, a->to, a->rev, a->arg);

    if (rc == CD_STORE_OK)
        rc = cd_store_order_status_counts(tx, a->from, a->to, a->st, a->arg);
    return rc;
}

int cd_orders_summary(struct cd_billing *b, int64_t from, int64_t to,
                      int (*rev)(const struct cd_revenue *r, void *arg),
                      int (*st)(const char *status, int64_t n, void *arg),
                      void *arg, struct cd_error *err)
{
    struct summary_args a = {from, to, rev, st, arg};

    if (cd_store_read(b->store, read_summary, &a) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}
