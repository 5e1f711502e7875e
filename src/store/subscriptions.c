/*
 * subscriptions.c - subscriptions (004); the record functions of store.h
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

/* ---- subscriptions (004) ------------------------------------------------ */

int cd_store_subscription_upsert(struct cd_tx *tx,
                                 const struct cd_subscription *s)
{
    int rc = cd_rec_run_write(tx, SQ_SUB_UPSERT, bind_subscription, s, 1,
                              "subscription upsert");

    /* No row touched: the stored copy is newer. */
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_subscription_get(struct cd_tx *tx, const char *stripe_id,
                              struct cd_subscription *out)
{
    return cd_rec_get_by_key(tx, SQ_SUB_GET, stripe_id, CD_SID_SZ,
                             read_subscription, out, "subscription get");
}

int cd_store_subscription_latest(struct cd_tx *tx, const char *account_id,
                                 struct cd_subscription *out)
{
    return cd_rec_get_by_key(tx, SQ_SUB_LATEST, account_id, CD_ID_SZ,
                             read_subscription, out, "subscription latest");
}
