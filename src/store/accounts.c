/*
 * accounts.c - the store's accounts and their session tokens; the record
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

/* An account row (ACCOUNT_SEL): the described columns, then its access
 * order, since when, and email_verified_at (never written). */
static int read_account(struct cd_stmt *st, void *out)
{
    struct cd_account *a = out;
    int i = cd_rec_account.ncols;
    int bad = cd_rec_read(st, &cd_rec_account, out);

    bad |= cd_col_str(st, i, a->access_order_id, sizeof(a->access_order_id));
    a->access_since = cd_col_i64(st, i + 1);
    a->email_verified_at = cd_col_i64(st, i + 2);
    return bad;
}

static inline int bind_account(struct cd_stmt *st, const void *arg)
{
    return cd_rec_bind(st, &cd_rec_account, arg, 1);
}

/* ---- accounts and tokens -------------------------------------------- */

int cd_store_account_insert(struct cd_tx *tx, const struct cd_account *a)
{
    return cd_rec_run_write(tx, SQ_ACCOUNT_INSERT, bind_account, a, 0,
                            "account insert");
}

int cd_store_account_get(struct cd_tx *tx, const char *id,
                         struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_GET, id, CD_ID_SZ, read_account,
                             out, "account get");
}

int cd_store_account_by_email(struct cd_tx *tx, const char *email,
                              struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_BY_EMAIL, email, CD_EMAIL_SZ,
                             read_account, out, "account by email");
}

int cd_store_account_by_customer(struct cd_tx *tx, const char *customer_id,
                                 struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_BY_CUSTOMER, customer_id,
                             CD_SID_SZ, read_account, out,
                             "account by customer");
}

struct set_customer_args {
    const char *id, *customer_id;
    int saved;
};

static int bind_set_customer(struct cd_stmt *st, const void *arg)
{
    const struct set_customer_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->id, CD_ID_SZ);
    bad |= cd_bind_str(st, 2, a->customer_id, CD_SID_SZ);
    bad |= cd_bind_i64(st, 3, a->saved ? 1 : 0);
    return bad;
}

int cd_store_account_set_customer(struct cd_tx *tx, const char *id,
                                  const char *customer_id,
                                  int has_saved_payment_method)
{
    struct set_customer_args a = {id, customer_id, has_saved_payment_method};

    return cd_rec_run_write(tx, SQ_ACCOUNT_SET_CUSTOMER, bind_set_customer,
                            &a, 1, "account set customer");
}

int cd_store_account_set_balance(struct cd_tx *tx, const char *id,
                                 int64_t balance)
{
    struct id_i64_args a = {id, CD_ID_SZ, balance};

    return cd_rec_run_write(tx, SQ_ACCOUNT_SET_BALANCE, cd_rec_bind_id_i64,
                            &a, 1, "account set balance");
}

struct account_visit {
    cd_account_cb cb;
    void *arg;
};

static int visit_account(const void *row, void *ctx)
{
    struct account_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_account_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_account_cb cb, void *arg, int64_t *total)
{
    struct cd_account row;
    struct account_visit v = {cb, arg};
    struct list_q q = {SQ_ACCOUNT_COUNT,
                       SQ_ACCOUNT_LIST,
                       NULL,
                       limit,
                       offset,
                       read_account,
                       &row,
                       visit_account,
                       &v,
                       total,
                       "account list"};

    if (!cb)
        return CD_STORE_ERROR;
    return cd_rec_list_rows(tx, &q);
}

struct token_args {
    const char *hash, *account_id;
    int64_t created_at, expires_at;
};

static int bind_token(struct cd_stmt *st, const void *arg)
{
    const struct token_args *a = arg;
    int bad = 0;

    bad |= cd_bind_str(st, 1, a->hash, 65);
    bad |= cd_bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= cd_bind_i64(st, 3, a->created_at);
    bad |= cd_bind_i64(st, 4, a->expires_at);
    return bad;
}

int cd_store_token_insert(struct cd_tx *tx, const char *token_hash,
                          const char *account_id, int64_t created_at,
                          int64_t expires_at)
{
    struct token_args a = {token_hash, account_id, created_at, expires_at};

    return cd_rec_run_write(tx, SQ_TOKEN_INSERT, bind_token, &a, 0,
                            "token insert");
}

int cd_store_token_account(struct cd_tx *tx, const char *token_hash,
                           int64_t now, struct cd_account *out)
{
    const char *what = "token account";
    struct cd_stmt *st;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_TOKEN_ACCOUNT)))
        return CD_STORE_ERROR;
    if ((cd_bind_str(st, 1, token_hash, 65) | cd_bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->db, SQ_TOKEN_ACCOUNT, st);
        return cd_rec_bind_failed(what);
    }
    return cd_rec_fetch_one(tx->db, SQ_TOKEN_ACCOUNT, st, read_account, out,
                            what);
}

int cd_store_token_delete(struct cd_tx *tx, const char *token_hash)
{
    struct key_args a = {token_hash, 65, NULL, 0};

    return cd_rec_run_write(tx, SQ_TOKEN_DELETE, cd_rec_bind_key, &a, 1,
                            "token delete");
}

/* ---- ported from main: external accounts, portal links, mailed links,
 * charge cards, keyset pages (migrations 010..015) --------------------- */

int cd_store_account_by_external(struct cd_tx *tx, const char *external_id,
                                 struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_BY_EXTERNAL, external_id,
                             CD_EXTID_SZ, read_account, out,
                             "account by external id");
}

int cd_store_account_auth_get(struct cd_tx *tx, const char *id,
                              struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_AUTH_GET, id, CD_ID_SZ,
                             read_account, out, "account auth get");
}

int cd_store_account_auth_by_external(struct cd_tx *tx,
                                      const char *external_id,
                                      struct cd_account *out)
{
    return cd_rec_get_by_key(tx, SQ_ACCOUNT_AUTH_BY_EXTERNAL, external_id,
                             CD_EXTID_SZ, read_account, out,
                             "account auth by external id");
}

int cd_store_account_set_password(struct cd_tx *tx, const char *id,
                                  const char *password_hash)
{
    struct two_str_args a = {id, CD_ID_SZ, password_hash, CD_HASH_SZ};

    if (!password_hash || !password_hash[0])
        return CD_STORE_ERROR;
    return cd_rec_run_write(tx, SQ_ACCOUNT_SET_PASSWORD, cd_rec_bind_two_str,
                            &a, 1, "account set password");
}

int cd_store_token_delete_account(struct cd_tx *tx, const char *account_id)
{
    struct key_args a = {account_id, CD_ID_SZ, NULL, 0};

    return cd_rec_run_write(tx, SQ_TOKEN_DELETE_ACCOUNT, cd_rec_bind_key, &a,
                            0, "token delete account");
}

int cd_store_account_set_verified(struct cd_tx *tx, const char *id,
                                  int64_t now)
{
    struct id_i64_args a = {id, CD_ID_SZ, now};

    return cd_rec_run_write(tx, SQ_ACCOUNT_SET_VERIFIED, cd_rec_bind_id_i64,
                            &a, 0, "account set verified");
}
