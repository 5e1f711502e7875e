/*
 * store_refunds.h - the store's refunds and disputes (refunds.c): records
 * and record functions. Return codes, field sizes and list conventions in
 * store_base.h; callers include store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_REFUNDS_H
#define CD_STORE_STORE_REFUNDS_H

#include <stdint.h>

#include "store/store_base.h"

/* ---- refunds and disputes (007_clawback) ------------------------------- */

/* A refund of an order: asked for by creditd (id "rfd_...", status
 * "requested" until Stripe answers) or reported by Stripe. */
struct cd_refund {
    char id[CD_ID_SZ];
    char order_id[CD_ID_SZ];
    char stripe_refund_id[CD_SID_SZ]; /* "re_..."; unique; "" until known */
    int64_t amount_cents;
    char status[CD_STATUS_SZ]; /* requested|pending|requires_action|
                                  succeeded|failed|canceled */
    char reason[CD_DESC_SZ];   /* why it failed, or "" */
    int64_t created_at;
    int64_t updated_at;
};

/* The order's refunds summed by state: live (Stripe has them: pending,
 * requires_action, succeeded), failed (failed, canceled) and reserved
 * (every one not failed or canceled, "requested" included). */
struct cd_refund_sums {
    int64_t live, failed, reserved;
};

/* DUPLICATE when r->id or r->stripe_refund_id exists. */
int cd_store_refund_insert(struct cd_tx *tx, const struct cd_refund *r);
/* Rewrites the row r->id (stripe_refund_id, amount, status, reason,
 * updated_at). */
int cd_store_refund_update(struct cd_tx *tx, const struct cd_refund *r);
int cd_store_refund_get(struct cd_tx *tx, const char *id,
                        struct cd_refund *out);
int cd_store_refund_by_stripe(struct cd_tx *tx, const char *stripe_id,
                              struct cd_refund *out);
int cd_store_refund_sums(struct cd_tx *tx, const char *order_id,
                         struct cd_refund_sums *out);

/* A dispute of an order's charge, as Stripe last reported it. */
struct cd_dispute {
    char id[CD_SID_SZ]; /* "dp_..."; unique */
    char order_id[CD_ID_SZ];
    int64_t amount_cents;
    char status[CD_STATUS_SZ]; /* Stripe's */
    int64_t created_at;
    int64_t updated_at;
};

/* DUPLICATE when d->id exists. */
int cd_store_dispute_insert(struct cd_tx *tx, const struct cd_dispute *d);
/* Rewrites amount, status and updated_at of the row d->id. */
int cd_store_dispute_update(struct cd_tx *tx, const struct cd_dispute *d);
int cd_store_dispute_get(struct cd_tx *tx, const char *id,
                         struct cd_dispute *out);
/* The amounts of the order's disputes that hold money back: every status
 * but won, warning_closed and prevented. */
int cd_store_dispute_held(struct cd_tx *tx, const char *order_id,
                          int64_t *out);

#endif
