/*
 * jobs.c - background jobs' records: purges, settings (kv), leases, login
 * throttle (010), problems (009); the record functions of store.h for them,
 * with the mapping rules of records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- problems (009) ----------------------------------------------------- */

int cd_store_problem_insert(struct cd_tx *tx, const struct cd_problem *p)
{
    return cd_rec_run_write(tx, SQ_PROBLEM_INSERT, bind_problem, p, 0,
                            "problem insert");
}

struct problem_visit {
    cd_problem_cb cb;
    void *arg;
};

static int visit_problem(const void *row, void *ctx)
{
    struct problem_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_problem_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_problem_cb cb, void *arg, int64_t *total)
{
    struct cd_problem row;
    struct problem_visit v = {cb, arg};
    struct list_q q = {SQ_PROBLEM_COUNT,
                       SQ_PROBLEM_LIST,
                       NULL,
                       limit,
                       offset,
                       read_problem,
                       &row,
                       visit_problem,
                       &v,
                       total,
                       "problem list"};

    return cd_rec_list_rows(tx, &q);
}

/* ---- background jobs: tokens purge, settings, leases ------------------ */

int cd_store_token_purge(struct cd_tx *tx, int64_t now)
{
    int rc = cd_rec_run_write(tx, SQ_TOKEN_PURGE, cd_rec_bind_purge, &now, 0,
                              "token purge");

    if (rc != CD_STORE_OK)
        return rc;
    return cd_rec_run_write(tx, SQ_PORTAL_PURGE, cd_rec_bind_purge, &now, 0,
                            "portal session purge");
}

int cd_store_link_purge(struct cd_tx *tx, int64_t now)
{
    return cd_rec_run_write(tx, SQ_LINK_PURGE, cd_rec_bind_purge, &now, 0,
                            "link purge");
}

int cd_store_charge_card_purge(struct cd_tx *tx, int64_t before)
{
    return cd_rec_run_write(tx, SQ_CHARGE_CARD_PURGE, cd_rec_bind_purge,
                            &before, 0, "charge card purge");
}

struct kv_read {
    char *out;
    size_t outsz;
};

static int read_kv(struct cd_stmt *st, void *out)
{
    struct kv_read *r = out;

    return cd_col_str(st, 0, r->out, r->outsz);
}

int cd_store_kv_get(struct cd_tx *tx, const char *key, char *out,
                    size_t outsz)
{
    struct kv_read r = {out, outsz};

    if (!out || outsz == 0)
        return CD_STORE_ERROR;
    out[0] = '\0';
    return cd_rec_get_by_key(tx, SQ_KV_GET, key, CD_KV_KEY_SZ, read_kv, &r,
                             "kv get");
}

struct kv_args {
    const char *key, *value;
    int64_t now;
};

static int bind_kv(struct cd_stmt *st, const void *arg)
{
    const struct kv_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->key, CD_KV_KEY_SZ);
    bad |= cd_bind_str(st, 2, a->value, CD_KV_VALUE_SZ);
    bad |= cd_bind_i64(st, 3, a->now);
    return bad;
}

int cd_store_kv_put(struct cd_tx *tx, const char *key, const char *value,
                    int64_t now)
{
    struct kv_args a = {key, value, now};

    return cd_rec_run_write(tx, SQ_KV_PUT, bind_kv, &a, 0, "kv put");
}

struct lease_args {
    const char *name, *holder;
    int64_t now, until;
};

static int bind_lease(struct cd_stmt *st, const void *arg)
{
    const struct lease_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->name, CD_LEASE_NAME_SZ);
    bad |= cd_bind_str(st, 2, a->holder, CD_LEASE_HOLDER_SZ);
    bad |= cd_bind_i64(st, 3, a->now);
    bad |= cd_bind_i64(st, 4, a->until);
    return bad;
}

int cd_store_lease_acquire(struct cd_tx *tx, const char *name,
                           const char *holder, int64_t now, int64_t ttl)
{
    struct lease_args a = {name, holder, now, 0};
    int rc;

    if (ttl <= 0 || now > INT64_MAX - ttl) {
        cd_error("store", "lease acquire: bad ttl");
        return CD_STORE_ERROR;
    }
    a.until = now + ttl;
    rc = cd_rec_run_write(tx, SQ_LEASE_ACQUIRE, bind_lease, &a, 1,
                          "lease acquire");
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_lease_release(struct cd_tx *tx, const char *name,
                           const char *holder)
{
    struct key_args a = {name, CD_LEASE_NAME_SZ, holder, CD_LEASE_HOLDER_SZ};

    return cd_rec_run_write(tx, SQ_LEASE_RELEASE, cd_rec_bind_key, &a, 1,
                            "lease release");
}

/* ---- login throttle (010) ----------------------------------------------- */

int cd_store_login_fail_get(struct cd_tx *tx, const char *email,
                            const char *address, struct cd_login_fail *out)
{
    const char *what = "login fail get";
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out || !email || !address)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_LOGIN_FAIL_GET)))
        return CD_STORE_ERROR;
    if (cd_rec_bind_key(st, &a) != 0) {
        cd_sq_put(tx->db, SQ_LOGIN_FAIL_GET, st);
        return cd_rec_bind_failed(what);
    }
    return cd_rec_fetch_one(tx->db, SQ_LOGIN_FAIL_GET, st, read_login_fail,
                            out, what);
}

int cd_store_login_fail_put(struct cd_tx *tx, const struct cd_login_fail *f)
{
    return cd_rec_run_write(tx, SQ_LOGIN_FAIL_PUT, bind_login_fail, f, 0,
                            "login fail put");
}

int cd_store_login_fail_delete(struct cd_tx *tx, const char *email,
                               const char *address)
{
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};

    if (!email || !address)
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_LOGIN_FAIL_DELETE, cd_rec_bind_key, &a, 1,
                            "login fail delete");
}

int cd_store_login_fail_purge(struct cd_tx *tx, int64_t before_ms)
{
    return cd_rec_run_write(tx, SQ_LOGIN_FAIL_PURGE, cd_rec_bind_purge,
                            &before_ms, 0, "login fail purge");
}
