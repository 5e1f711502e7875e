/*
 * idempotency.c - Stripe events seen and idempotency keys with their owned
 * claims; the record functions of store.h for them, with the mapping rules
 * of records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- Stripe events ---------------------------------------------------- */

struct event_args {
    const char *id, *type;
    int64_t at;
};

static int bind_event(struct cd_stmt *st, const void *arg)
{
    const struct event_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->id, CD_SID_SZ);
    bad |= cd_bind_str(st, 2, a->type, CD_SID_SZ);
    bad |= cd_bind_i64(st, 3, a->at);
    return bad;
}

int cd_store_event_insert(struct cd_tx *tx, const char *event_id,
                          const char *type, int64_t received_at)
{
    struct event_args a = {event_id, type, received_at};

    return cd_rec_run_write(tx, SQ_EVENT_INSERT, bind_event, &a, 0,
                            "event insert");
}

/* ---- idempotency keys ------------------------------------------------- */

static int bind_blob(struct cd_stmt *st, int i, const char *body, size_t len)
{
    if (!body)
        return cd_bind_null(st, i);
    /* A zero-length blob, not NULL, when body is "" of length 0. */
    return st->be->bind_blob(st, i, body, len);
}

static int read_idem(struct cd_stmt *st, void *out)
{
    struct cd_idem *i = out;
    const void *b;
    size_t n;
    int bad = 0;

    memset(i, 0, sizeof(*i));
    bad |= cd_col_str(st, 0, i->scope, sizeof(i->scope));
    bad |= cd_col_str(st, 1, i->key, sizeof(i->key));
    bad |= cd_col_str(st, 2, i->request_hash, sizeof(i->request_hash));
    i->status = (int)cd_col_i64(st, 3);
    i->created_at = cd_col_i64(st, 5);
    i->lease_until = cd_col_i64(st, 6);
    if (bad)
        return -1;
    b = st->be->column_blob(st, 4, &n);
    if (!b && n > 0)
        return -1; /* no bytes for a length: SQLite ran out of memory */
    if (!b && i->status == 0)
        return 0;
    /* NUL-terminated for convenience; body_len excludes the NUL. */
    i->body = malloc(n + 1);
    if (!i->body)
        return -1;
    if (n)
        memcpy(i->body, b, n);
    i->body[n] = '\0';
    i->body_len = n;
    return 0;
}

int cd_store_idem_get(struct cd_tx *tx, const char *scope, const char *key,
                      struct cd_idem *out)
{
    const char *what = "idem get";
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    out->body = NULL;
    out->body_len = 0;
    if (!(st = cd_sq_get(tx->db, SQ_IDEM_GET)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, scope, CD_IDEM_SCOPE_SZ) |
         cd_bind_str(st, 2, key, CD_IDEM_KEY_SZ)) != 0) {
        cd_sq_put(tx->db, SQ_IDEM_GET, st);
        return cd_rec_bind_failed(what);
    }
    return cd_rec_fetch_one(tx->db, SQ_IDEM_GET, st, read_idem, out, what);
}

static int bind_idem(struct cd_stmt *st, const void *arg)
{
    const struct cd_idem *i = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, i->scope, sizeof(i->scope));
    bad |= cd_bind_str(st, 2, i->key, sizeof(i->key));
    bad |= cd_bind_str(st, 3, i->request_hash, sizeof(i->request_hash));
    bad |= cd_bind_i64(st, 4, i->status);
    bad |= bind_blob(st, 5, i->body, i->body_len);
    bad |= cd_bind_i64(st, 6, i->created_at);
    bad |= cd_bind_i64(st, 7, i->lease_until);
    return bad;
}

int cd_store_idem_insert(struct cd_tx *tx, const struct cd_idem *i)
{
    return cd_rec_run_write(tx, SQ_IDEM_INSERT, bind_idem, i, 0,
                            "idem insert");
}

struct idem_complete_args {
    const char *scope, *key;
    int status;
    const char *body;
    size_t len;
};

static int bind_idem_complete(struct cd_stmt *st, const void *arg)
{
    const struct idem_complete_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= cd_bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    return bad;
}

int cd_store_idem_complete(struct cd_tx *tx, const char *scope,
                           const char *key, int status, const char *body,
                           size_t body_len)
{
    struct idem_complete_args a = {scope, key, status, body, body_len};

    return cd_rec_run_write(tx, SQ_IDEM_COMPLETE, bind_idem_complete, &a, 1,
                            "idem complete");
}

int cd_store_idem_delete(struct cd_tx *tx, const char *scope, const char *key)
{
    struct key_args a = {scope, CD_IDEM_SCOPE_SZ, key, CD_IDEM_KEY_SZ};

    return cd_rec_run_write(tx, SQ_IDEM_DELETE, cd_rec_bind_key, &a, 1,
                            "idem delete");
}

int cd_store_idem_purge(struct cd_tx *tx, int64_t before)
{
    return cd_rec_run_write(tx, SQ_IDEM_PURGE, cd_rec_bind_purge, &before, 0,
                            "idem purge");
}

struct idem_claim_args {
    const char *scope, *key;
    const char *claim;
    size_t claim_len;
    int status;
    const char *body;
    size_t len;
    int64_t lease_until, now_ms;
};

static int bind_idem_complete_claim(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= cd_bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    bad |= bind_blob(st, 5, a->claim, a->claim_len);
    return bad;
}

/* ?1 scope, ?2 key, ?3 claim; then ?4 lease_until and ?5 now (ms) for
 * the statements that take them. */
static int bind_idem_owner(struct cd_stmt *st,
                           const struct idem_claim_args *a)
{
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= cd_bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= bind_blob(st, 3, a->claim, a->claim_len);
    return bad;
}

static int bind_idem_release(struct cd_stmt *st, const void *arg)
{
    return bind_idem_owner(st, arg);
}

static int bind_idem_renew(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | cd_bind_i64(st, 4, a->lease_until);
}

static int bind_idem_takeover(struct cd_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | cd_bind_i64(st, 4, a->lease_until) |
           cd_bind_i64(st, 5, a->now_ms);
}

int cd_store_idem_complete_claim(struct cd_tx *tx, const char *scope,
                                 const char *key, const char *claim,
                                 size_t claim_len, int status,
                                 const char *body, size_t body_len)
{
    struct idem_claim_args a = {scope, key,      claim, claim_len, status,
                                body,  body_len, 0,     0};

    if (!claim || claim_len == 0 || status <= 0)
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_IDEM_COMPLETE_CLAIM,
                            bind_idem_complete_claim, &a, 1,
                            "idem complete claim");
}

int cd_store_idem_release_claim(struct cd_tx *tx, const char *scope,
                                const char *key, const char *claim,
                                size_t claim_len)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0,
                                NULL,  0,   0,     0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_IDEM_RELEASE_CLAIM, bind_idem_release, &a,
                            1, "idem release claim");
}

int cd_store_idem_renew_claim(struct cd_tx *tx, const char *scope,
                              const char *key, const char *claim,
                              size_t claim_len, int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim,       claim_len, 0,
                                NULL,  0,   lease_until, 0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_IDEM_RENEW_CLAIM, bind_idem_renew, &a, 1,
                            "idem renew claim");
}

int cd_store_idem_takeover(struct cd_tx *tx, const char *scope,
                           const char *key, const char *claim,
                           size_t claim_len, int64_t now_ms,
                           int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim,       claim_len, 0,
                                NULL,  0,   lease_until, now_ms};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_IDEM_TAKEOVER, bind_idem_takeover, &a, 1,
                            "idem takeover");
}
