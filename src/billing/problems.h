/*
 * problems.h - what the operator must look at: a paid order creditd could
 * not credit (its account is gone, the balance limit), a payment whose
 * amount or currency is not its order's, a subscription invoice that does
 * not match its plan. Each is recorded once per (kind, order) in the job
 * that met it - the event is then answered 200, never a 500 that Stripe
 * would retry for days - listed by GET /v1/admin/problems and counted by
 * the metric creditd_problems_total{kind}.
 */
#ifndef CD_BILLING_PROBLEMS_H
#define CD_BILLING_PROBLEMS_H

#include <stdint.h>

#include "billing/billing.h"

#define CD_PROBLEM_CREDIT_REFUSED "credit_refused"
#define CD_PROBLEM_AMOUNT_MISMATCH "amount_mismatch"
#define CD_PROBLEM_INVOICE_MISMATCH "invoice_mismatch"

/* Inside a write job: records problem `kind` of order o (event_id may be
 * NULL), detail from fmt; a second one of the same kind and order is no
 * error and changes nothing. CD_STORE_OK or CD_STORE_ERROR. */
int cd_problem_note_tx(struct cd_tx *tx, const char *kind,
                       const struct cd_order *o, const char *event_id,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Newest first, limit/offset paged (read transaction). 0, or -1 with err
 * (500). */
int cd_problems_list(struct cd_billing *b, int64_t limit, int64_t offset,
                     cd_problem_cb cb, void *arg, int64_t *total,
                     struct cd_error *err);

#endif
