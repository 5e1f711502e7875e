/*
 * invoice_payments.c - the PaymentIntent that paid an invoice (027), as
 * invoice_payment.paid named it; the record functions of store.h for it,
 * with the helpers of records.c (records_int.h).
 */
#include "store/records_int.h"

#include <string.h>

#include "util/util.h"

static int bind_invoice_payment(struct cd_stmt *st, const void *arg)
{
    const struct cd_invoice_payment *p = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, p->invoice, sizeof(p->invoice));
    bad |= cd_bind_str(st, 2, p->payment_intent, sizeof(p->payment_intent));
    bad |= cd_bind_i64(st, 3, p->created_at);
    return bad;
}

static int read_invoice_payment(struct cd_stmt *st, void *out)
{
    struct cd_invoice_payment *p = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, p->invoice, sizeof(p->invoice));
    bad |= cd_col_str(st, 1, p->payment_intent, sizeof(p->payment_intent));
    p->created_at = cd_col_i64(st, 2);
    return bad;
}

int cd_store_invoice_payment_put(struct cd_tx *tx,
                                 const struct cd_invoice_payment *p)
{
    if (!p->invoice[0] || !p->payment_intent[0])
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_INVOICE_PAYMENT_PUT, bind_invoice_payment,
                            p, 0, "invoice payment put");
}

int cd_store_invoice_payment_get(struct cd_tx *tx, const char *invoice,
                                 struct cd_invoice_payment *out)
{
    return cd_rec_get_by_key(tx, SQ_INVOICE_PAYMENT_GET, invoice, CD_SID_SZ,
                             read_invoice_payment, out,
                             "invoice payment get");
}

int cd_store_invoice_payment_purge(struct cd_tx *tx, int64_t before)
{
    return cd_rec_run_write(tx, SQ_INVOICE_PAYMENT_PURGE, cd_rec_bind_purge,
                            &before, 0, "invoice payment purge");
}
