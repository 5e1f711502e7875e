/*
 * card_enrich.c - the payments whose card is still to be asked of Stripe
 * and the look-ups that found none (031); the record functions of
 * store.h for them, with the helpers of records.c (records_int.h).
 */
#include "store/records_int.h"

#include <stdint.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

int cd_store_card_enrich_due(struct cd_tx *tx, int64_t paid_after,
                             int64_t paid_before, int64_t now,
                             int64_t max_attempts, int64_t limit,
                             cd_payment_cb cb, void *arg)
{
    const char *what = "card enrich due";
    struct cd_payment row;
    struct cd_db *c;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    c = tx->db;
    if (!(st = cd_sq_get(c, SQ_CARD_ENRICH_DUE)))
        return CD_STORE_ERROR;
    cd_bind_i64(st, 1, paid_before);
    cd_bind_i64(st, 2, max_attempts);
    cd_bind_i64(st, 3, now);
    cd_bind_i64(st, 4, limit < 0 ? INT64_MAX : limit);
    cd_bind_i64(st, 5, paid_after);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (read_payment(st, &row) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&row, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_CARD_ENRICH_DUE, st);
    return ret;
}

static int bind_card_enrich(struct cd_stmt *st, const void *arg)
{
    const struct cd_card_enrich *e = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, e->payment_id, sizeof(e->payment_id));
    bad |= cd_bind_i64(st, 2, e->attempts);
    bad |= cd_bind_i64(st, 3, e->next_try_at);
    bad |= cd_bind_i64(st, 4, e->tried_at);
    return bad;
}

static int read_card_enrich(struct cd_stmt *st, void *out)
{
    struct cd_card_enrich *e = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, e->payment_id, sizeof(e->payment_id));
    e->attempts = cd_col_i64(st, 1);
    e->next_try_at = cd_col_i64(st, 2);
    e->tried_at = cd_col_i64(st, 3);
    return bad;
}

int cd_store_card_enrich_get(struct cd_tx *tx, const char *payment_id,
                             struct cd_card_enrich *out)
{
    return cd_rec_get_by_key(tx, SQ_CARD_ENRICH_GET, payment_id, CD_ID_SZ,
                             read_card_enrich, out, "card enrich get");
}

int cd_store_card_enrich_put(struct cd_tx *tx, const struct cd_card_enrich *e)
{
    if (!e->payment_id[0])
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_CARD_ENRICH_PUT, bind_card_enrich, e, 0,
                            "card enrich put");
}
