/*
 * refunds.c - refunds and disputes (007); the record functions of store.h
 * for them, with the mapping rules of records.c and its helpers
 * (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- refunds and disputes (007) ---------------------------------------- */

int cd_store_refund_insert(struct cd_tx *tx, const struct cd_refund *r)
{
    return cd_rec_run_write(tx, SQ_REFUND_INSERT, bind_refund, r, 0,
                            "refund insert");
}

int cd_store_refund_update(struct cd_tx *tx, const struct cd_refund *r)
{
    return cd_rec_run_write(tx, SQ_REFUND_UPDATE, bind_refund, r, 1,
                            "refund update");
}

int cd_store_refund_get(struct cd_tx *tx, const char *id,
                        struct cd_refund *out)
{
    return cd_rec_get_by_key(tx, SQ_REFUND_GET, id, CD_ID_SZ, read_refund,
                             out, "refund get");
}

int cd_store_refund_by_stripe(struct cd_tx *tx, const char *stripe_id,
                              struct cd_refund *out)
{
    return cd_rec_get_by_key(tx, SQ_REFUND_BY_STRIPE, stripe_id, CD_SID_SZ,
                             read_refund, out, "refund by stripe id");
}

static int read_refund_sums(struct cd_stmt *st, void *out)
{
    struct cd_refund_sums *r = out;

    r->live = cd_col_i64(st, 0);
    r->failed = cd_col_i64(st, 1);
    r->reserved = cd_col_i64(st, 2);
    return 0;
}

int cd_store_refund_sums(struct cd_tx *tx, const char *order_id,
                         struct cd_refund_sums *out)
{
    memset(out, 0, sizeof(*out));
    return cd_rec_get_by_key(tx, SQ_REFUND_SUMS, order_id, CD_ID_SZ,
                             read_refund_sums, out, "refund sums");
}

int cd_store_dispute_insert(struct cd_tx *tx, const struct cd_dispute *d)
{
    return cd_rec_run_write(tx, SQ_DISPUTE_INSERT, bind_dispute, d, 0,
                            "dispute insert");
}

int cd_store_dispute_update(struct cd_tx *tx, const struct cd_dispute *d)
{
    return cd_rec_run_write(tx, SQ_DISPUTE_UPDATE, bind_dispute, d, 1,
                            "dispute update");
}

int cd_store_dispute_get(struct cd_tx *tx, const char *id,
                         struct cd_dispute *out)
{
    return cd_rec_get_by_key(tx, SQ_DISPUTE_GET, id, CD_SID_SZ, read_dispute,
                             out, "dispute get");
}

static int read_i64(struct cd_stmt *st, void *out)
{
    *(int64_t *)out = cd_col_i64(st, 0);
    return 0;
}

int cd_store_dispute_held(struct cd_tx *tx, const char *order_id,
                          int64_t *out)
{
    *out = 0;
    return cd_rec_get_by_key(tx, SQ_DISPUTE_HELD, order_id, CD_ID_SZ,
                             read_i64, out, "dispute held");
}
