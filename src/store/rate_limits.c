/*
 * rate_limits.c - the shared request-rate buckets of store.h
 * (cd_store_rate_*; table rate_limits, migration 021). One request is
 * taken by one guarded upsert (statements.c SQ_RATE_TAKE), so it is
 * exact under SQLite's single writer and under PostgreSQL's SERIALIZABLE
 * batches alike (two nodes taking from one bucket at once conflict on its
 * row; the executor runs the loser's batch again).
 */
#include <stdint.h>
#include <string.h>

#include "store/records.h"
#include "store/store_int.h"

static int bind_bucket(struct cd_stmt *st, const char *scope, const char *key)
{
    int bad = 0;

    bad |= cd_bind_str(st, 1, scope, CD_RATE_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, key, CD_RATE_KEY_SZ);
    return bad;
}

/* The stored tat of (scope, key) into *tat: OK, NOT_FOUND or ERROR. */
static int rate_get(struct cd_tx *tx, const char *scope, const char *key,
                    int64_t *tat)
{
    struct cd_stmt *st = cd_sq_get(tx->db, SQ_RATE_GET);
    int rc, ret;

    if (!st)
        return CD_STORE_ERROR;
    if (bind_bucket(st, scope, key) != 0) {
        cd_sq_put(tx->db, SQ_RATE_GET, st);
        cd_error("store", "rate get: value too long for its field");
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *tat = cd_col_i64(st, 0);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "rate get: %s", cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_RATE_GET, st);
    return ret;
}

static int rate_clamp(struct cd_tx *tx, const char *scope, const char *key,
                      int64_t now_ms, int64_t interval_ms,
                      int64_t tolerance_ms)
{
    struct cd_stmt *st = cd_sq_get(tx->db, SQ_RATE_CLAMP);
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    if (bind_bucket(st, scope, key) != 0 || cd_bind_i64(st, 3, now_ms) ||
        cd_bind_i64(st, 4, interval_ms) || cd_bind_i64(st, 5, tolerance_ms)) {
        cd_sq_put(tx->db, SQ_RATE_CLAMP, st);
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc != CD_STEP_DONE)
        cd_error("store", "rate clamp: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_RATE_CLAMP, st);
    return rc == CD_STEP_DONE ? CD_STORE_OK : CD_STORE_ERROR;
}

int cd_store_rate_take(struct cd_tx *tx, const char *scope, const char *key,
                       int64_t now_ms, int64_t interval_ms,
                       int64_t tolerance_ms, int64_t *wait_ms)
{
    struct cd_stmt *st;
    int64_t tat = 0;
    int rc, ret;

    if (!tx || !tx->db || !tx->writable || !scope || !scope[0] || !key ||
        !key[0] || !wait_ms || interval_ms < 1 || tolerance_ms < 0 ||
        now_ms < 0 || now_ms > INT64_MAX / 4 || interval_ms > INT64_MAX / 4 ||
        tolerance_ms > INT64_MAX / 4) {
        cd_error("store", "rate take: bad arguments");
        return CD_STORE_ERROR;
    }
    *wait_ms = 0;
    if (!(st = cd_sq_get(tx->db, SQ_RATE_TAKE)))
        return CD_STORE_ERROR;
    if (bind_bucket(st, scope, key) != 0 || cd_bind_i64(st, 3, now_ms) ||
        cd_bind_i64(st, 4, interval_ms) || cd_bind_i64(st, 5, tolerance_ms)) {
        cd_sq_put(tx->db, SQ_RATE_TAKE, st);
        cd_error("store", "rate take: value too long for its field");
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_GUARD;
    } else {
        cd_error("store", "rate take: %s", cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_RATE_TAKE, st);
    if (ret != CD_STORE_GUARD)
        return ret;
    /* Refused: how long until the bucket has room (read in the same
     * transaction, so it is the row the guard saw). */
    if (rate_get(tx, scope, key, &tat) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (tat > now_ms + interval_ms + tolerance_ms)
        /* No take leaves that: the clock stepped back, or another node's
         * runs more than a burst ahead. The bucket starts again from this
         * take, rather than refusing until this clock catches up. */
        return rate_clamp(tx, scope, key, now_ms, interval_ms, tolerance_ms);
    *wait_ms = tat - tolerance_ms - now_ms;
    if (*wait_ms < 1)
        *wait_ms = 1;
    return CD_STORE_GUARD;
}

int cd_store_rate_purge(struct cd_tx *tx, int64_t now_ms)
{
    struct cd_stmt *st;
    int rc;

    if (!tx || !tx->db || !tx->writable)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_RATE_PURGE)))
        return CD_STORE_ERROR;
    if (cd_bind_i64(st, 1, now_ms) != 0) {
        cd_sq_put(tx->db, SQ_RATE_PURGE, st);
        return CD_STORE_ERROR;
    }
    rc = cd_step(st);
    if (rc != CD_STEP_DONE && rc != CD_STEP_ROW)
        cd_error("store", "rate purge: %s", cd_db_errmsg(tx->db));
    cd_sq_put(tx->db, SQ_RATE_PURGE, st);
    return rc == CD_STEP_DONE || rc == CD_STEP_ROW ? CD_STORE_OK
                                                   : CD_STORE_ERROR;
}
