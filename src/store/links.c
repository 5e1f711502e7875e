/*
 * links.c - portal links and mailed (reset/verify) links; the record
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

struct portal_args {
    const char *hash, *account_id, *return_url;
    int64_t created_at, expires_at;
};

static int bind_portal(struct cd_stmt *st, const void *arg)
{
    const struct portal_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->hash, 65);
    bad |= cd_bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= cd_bind_str(st, 3, a->return_url, 2049) /* CD_URL_MAX + 1 */;
    bad |= cd_bind_i64(st, 4, a->created_at);
    bad |= cd_bind_i64(st, 5, a->expires_at);
    return bad;
}

int cd_store_portal_insert(struct cd_tx *tx, const char *token_hash,
                           const char *account_id, const char *return_url,
                           int64_t created_at, int64_t expires_at)
{
    struct portal_args a = {token_hash, account_id, return_url, created_at,
                            expires_at};

    return cd_rec_run_write(tx, SQ_PORTAL_INSERT, bind_portal, &a, 0,
                            "portal session insert");
}

struct portal_row {
    char *account_id, *return_url;
    size_t return_url_sz;
};

static int read_portal(struct cd_stmt *st, void *out)
{
    struct portal_row *r = out;

    return cd_col_str(st, 0, r->account_id, CD_ID_SZ) |
           cd_col_str(st, 1, r->return_url, r->return_url_sz);
}

int cd_store_portal_consume(struct cd_tx *tx, const char *token_hash,
                            int64_t now, char *account_id, char *return_url,
                            size_t return_url_sz)
{
    const char *what = "portal session consume";
    struct portal_row r = {account_id, return_url, return_url_sz};
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 1, what) != 0 || !account_id || !return_url)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_PORTAL_CONSUME)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, token_hash, 65) | cd_bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->db, SQ_PORTAL_CONSUME, st);
        return cd_rec_bind_failed(what);
    }
    return cd_rec_fetch_one(tx->db, SQ_PORTAL_CONSUME, st, read_portal, &r,
                            what);
}

/* links mailed: password reset, email verification (013) */

static int bind_link(struct cd_stmt *st, const void *arg)
{
    const struct cd_reset *r = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, r->token_hash, sizeof(r->token_hash));
    bad |= cd_bind_str(st, 2, r->account_id, sizeof(r->account_id));
    bad |= cd_bind_i64(st, 3, r->created_at);
    bad |= cd_bind_i64(st, 4, r->expires_at);
    bad |= cd_bind_str(st, 5, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_insert(struct cd_tx *tx, const struct cd_reset *r)
{
    return cd_rec_run_write(tx, SQ_RESET_INSERT, bind_link, r, 0,
                            "link insert");
}

int cd_store_reset_count_since(struct cd_tx *tx, const char *account_id,
                               const char *purpose, int64_t since,
                               int64_t *out)
{
    const char *what = "link count";
    struct cd_stmt *st;
    int ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->db, SQ_RESET_COUNT_SINCE)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, account_id, CD_ID_SZ) |
         cd_bind_i64(st, 2, since) | cd_bind_str(st, 3, purpose, 16)) != 0) {
        cd_sq_put(tx->db, SQ_RESET_COUNT_SINCE, st);
        return cd_rec_bind_failed(what);
    }
    if (cd_step(st) == CD_STEP_ROW) {
        *out = cd_col_i64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_RESET_COUNT_SINCE, st);
    return ret;
}

static int read_reset(struct cd_stmt *st, void *out)
{
    struct cd_reset *r = out;
    int bad = 0;

    bad |= cd_col_str(st, 0, r->account_id, sizeof(r->account_id));
    r->created_at = cd_col_i64(st, 1);
    r->expires_at = cd_col_i64(st, 2);
    r->used_at = cd_col_i64(st, 3);
    bad |= cd_col_str(st, 4, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_get(struct cd_tx *tx, const char *token_hash,
                       struct cd_reset *out)
{
    memset(out, 0, sizeof(*out));
    if (!token_hash || strnlen(token_hash, sizeof(out->token_hash)) >=
                           sizeof(out->token_hash))
        return CD_STORE_NOT_FOUND;
    memcpy(out->token_hash, token_hash, strlen(token_hash) + 1);
    return cd_rec_get_by_key(tx, SQ_RESET_GET, token_hash,
                             sizeof(out->token_hash), read_reset, out,
                             "reset get");
}

struct use_all_args {
    const char *account_id, *purpose;
    int64_t now;
};

static int bind_use_all(struct cd_stmt *st, const void *arg)
{
    const struct use_all_args *a = arg;

    return cd_bind_str(st, 1, a->account_id, CD_ID_SZ) |
           cd_bind_i64(st, 2, a->now) | cd_bind_str(st, 3, a->purpose, 16);
}

int cd_store_reset_use_all(struct cd_tx *tx, const char *account_id,
                           const char *purpose, int64_t now)
{
    struct use_all_args a = {account_id, purpose, now};

    return cd_rec_run_write(tx, SQ_RESET_USE_ALL, bind_use_all, &a, 0,
                            "link use all");
}
