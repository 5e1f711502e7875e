/*
 * payments.c - payments and the charges' cards (charge_card); the record
 * functions of store.h for them, with the mapping rules of records.c and
 * its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- payments --------------------------------------------------------- */

int cd_store_payment_insert(struct cd_tx *tx, const struct cd_payment *p)
{
    return cd_rec_run_write(tx, SQ_PAYMENT_INSERT, bind_payment, p, 0,
                            "payment insert");
}

int cd_store_payment_update(struct cd_tx *tx, const struct cd_payment *p)
{
    return cd_rec_run_write(tx, SQ_PAYMENT_UPDATE, bind_payment, p, 1,
                            "payment update");
}

int cd_store_payment_get(struct cd_tx *tx, const char *id,
                         struct cd_payment *out)
{
    return cd_rec_get_by_key(tx, SQ_PAYMENT_GET, id, CD_ID_SZ, read_payment,
                             out, "payment get");
}

int cd_store_payment_by_order(struct cd_tx *tx, const char *order_id,
                              struct cd_payment *out)
{
    return cd_rec_get_by_key(tx, SQ_PAYMENT_BY_ORDER, order_id, CD_ID_SZ,
                             read_payment, out, "payment by order");
}

int cd_store_payment_by_charge(struct cd_tx *tx, const char *charge_id,
                               struct cd_payment *out)
{
    return cd_rec_get_by_key(tx, SQ_PAYMENT_BY_CHARGE, charge_id, CD_SID_SZ,
                             read_payment, out, "payment by charge");
}

int cd_store_payment_by_payment_intent(struct cd_tx *tx, const char *pi,
                                       struct cd_payment *out)
{
    return cd_rec_get_by_key(tx, SQ_PAYMENT_BY_PI, pi, CD_SID_SZ,
                             read_payment, out, "payment by payment intent");
}

struct payment_visit {
    cd_payment_cb cb;
    void *arg;
};

static int visit_payment(const void *row, void *ctx)
{
    struct payment_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_payment_list(struct cd_tx *tx, const char *account_id,
                          int64_t limit, int64_t offset, cd_payment_cb cb,
                          void *arg, int64_t *total)
{
    struct cd_payment row;
    struct payment_visit v = {cb, arg};
    const char *acct = cd_rec_acct_filter(account_id);
    struct list_q q = {acct ? SQ_PAYMENT_COUNT_ACCT : SQ_PAYMENT_COUNT_ALL,
                       acct ? SQ_PAYMENT_LIST_ACCT : SQ_PAYMENT_LIST_ALL,
                       acct,
                       limit,
                       offset,
                       read_payment,
                       &row,
                       visit_payment,
                       &v,
                       total,
                       "payment list"};

    if (!cb)
        return CD_STORE_ERROR;
    return cd_rec_list_rows(tx, &q);
}

/* card details from charge events (014) */

static int bind_charge_card(struct cd_stmt *st, const void *arg)
{
    const struct cd_charge_card *c = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, c->payment_intent, sizeof(c->payment_intent));
    bad |= cd_bind_str(st, 2, c->charge, sizeof(c->charge));
    bad |= cd_bind_str(st, 3, c->last4, sizeof(c->last4));
    bad |= cd_bind_i64(st, 4, c->created_at);
    return bad;
}

static int read_charge_card(struct cd_stmt *st, void *out)
{
    struct cd_charge_card *c = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, c->payment_intent, sizeof(c->payment_intent));
    bad |= cd_col_str(st, 1, c->charge, sizeof(c->charge));
    bad |= cd_col_str(st, 2, c->last4, sizeof(c->last4));
    c->created_at = cd_col_i64(st, 3);
    return bad;
}

int cd_store_charge_card_put(struct cd_tx *tx, const struct cd_charge_card *c)
{
    if (!c->payment_intent[0] || !c->charge[0])
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_CHARGE_CARD_PUT, bind_charge_card, c, 0,
                            "charge card put");
}

int cd_store_charge_card_get(struct cd_tx *tx, const char *payment_intent,
                             struct cd_charge_card *out)
{
    return cd_rec_get_by_key(tx, SQ_CHARGE_CARD_GET, payment_intent,
                             CD_SID_SZ, read_charge_card, out,
                             "charge card get");
}
