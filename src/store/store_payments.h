/*
 * store_payments.h - the store's payments and charge cards (payments.c; the
 * purge in jobs.c): records and record functions. Return codes, field sizes
 * and list conventions in store_base.h; callers include store/store.h,
 * which includes this header.
 */
#ifndef CD_STORE_STORE_PAYMENTS_H
#define CD_STORE_STORE_PAYMENTS_H

#include <stdint.h>

#include "store/store_base.h"

struct cd_payment {
    char id[CD_ID_SZ];       /* "pay_..." */
    char order_id[CD_ID_SZ]; /* unique: one payment row per order */
    char account_id[CD_ID_SZ];
    char status
        [CD_STATUS_SZ]; /* succeeded|pending|failed|refunded|partially_refunded|disputed */
    int64_t amount_cents;
    int64_t amount_refunded_cents;
    char currency[CD_CUR_SZ];
    char description[CD_DESC_SZ];
    char last4[8];
    char failure_reason[CD_DESC_SZ];
    char stripe_payment_intent_id[CD_SID_SZ];
    char stripe_charge_id[CD_SID_SZ];
    int64_t created_at;
    int64_t paid_at;     /* 0: not paid */
    int64_t refunded_at; /* 0: none */
};

typedef int (*cd_payment_cb)(const struct cd_payment *p, void *arg);

int cd_store_payment_insert(struct cd_tx *tx, const struct cd_payment *p);
/* Rewrites the row p->id (all but its order and account). */
int cd_store_payment_update(struct cd_tx *tx, const struct cd_payment *p);
int cd_store_payment_by_order(struct cd_tx *tx, const char *order_id,
                              struct cd_payment *out);
/* By our payment id, by Stripe charge id, by Stripe payment intent id (the
 * newest such payment for the last two). */
int cd_store_payment_get(struct cd_tx *tx, const char *id,
                         struct cd_payment *out);
int cd_store_payment_by_charge(struct cd_tx *tx, const char *charge_id,
                               struct cd_payment *out);
int cd_store_payment_by_payment_intent(struct cd_tx *tx, const char *pi,
                                       struct cd_payment *out);
int cd_store_payment_list(struct cd_tx *tx, const char *account_id,
                          int64_t limit, int64_t offset, cd_payment_cb cb,
                          void *arg, int64_t *total);

/* ---- card details from charge events (014) ----------------------------- */
/* What a charge.succeeded / charge.updated said of a PaymentIntent's card,
 * for a payment row that does not exist yet. "" fields are unknown. */
struct cd_charge_card {
    char payment_intent[CD_SID_SZ];
    char charge[CD_SID_SZ];
    char last4[8];
    int64_t created_at;
};
/* Inserts, or updates charge and (when known) last4 of the row. */
int cd_store_charge_card_put(struct cd_tx *tx,
                             const struct cd_charge_card *c);
int cd_store_charge_card_get(struct cd_tx *tx, const char *payment_intent,
                             struct cd_charge_card *out);
/* Deletes rows created before `before` (their payment rows have long had
 * the card, or will never come). */
int cd_store_charge_card_purge(struct cd_tx *tx, int64_t before);

#endif
