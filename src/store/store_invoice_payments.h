/*
 * store_invoice_payments.h - the store's PaymentIntents of invoices
 * (invoice_payments.c): records and record functions. Return codes, field
 * sizes and list conventions in store_base.h; callers include
 * store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_INVOICE_PAYMENTS_H
#define CD_STORE_STORE_INVOICE_PAYMENTS_H

#include <stdint.h>

#include "store/store_base.h"

/* ---- the PaymentIntent of an invoice (027) ----------------------------- */
/* What invoice_payment.paid said: the PaymentIntent that paid an invoice,
 * for an invoice.paid still to come. */
struct cd_invoice_payment {
    char invoice[CD_SID_SZ];
    char payment_intent[CD_SID_SZ];
    int64_t created_at;
};
/* Inserts; a row for the invoice already there stays (OK). */
int cd_store_invoice_payment_put(struct cd_tx *tx,
                                 const struct cd_invoice_payment *p);
int cd_store_invoice_payment_get(struct cd_tx *tx, const char *invoice,
                                 struct cd_invoice_payment *out);
/* Deletes rows created before `before` (purged with charge_cards). */
int cd_store_invoice_payment_purge(struct cd_tx *tx, int64_t before);

#endif
