/*
 * ledger.c - the ledger's entries: the guarded post, lookups, lists, verify
 * and keyset pages; the record functions of store.h for them, with the
 * mapping rules of records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- ledger --------------------------------------------------------- */

int cd_store_ledger_insert(struct cd_tx *tx, const struct cd_ledger_entry *e)
{
    return cd_rec_run_write(tx, SQ_LEDGER_INSERT, bind_ledger, e, 0,
                            "ledger insert");
}

struct add_args {
    const char *id;
    int64_t amount, lo, hi;
};

/* ?1 account, ?2 amount (the undo takes only these two) */
static int bind_add_undo(struct cd_stmt *st, const void *arg)
{
    const struct add_args *a = arg;

    return cd_bind_str(st, 1, a->id, CD_ID_SZ) |
           cd_bind_i64(st, 2, a->amount);
}

/* ?3 lo, ?4 hi */
static int bind_add(struct cd_stmt *st, const void *arg)
{
    const struct add_args *a = arg;

    return bind_add_undo(st, a) | cd_bind_i64(st, 3, a->lo) |
           cd_bind_i64(st, 4, a->hi);
}

/* The guarded UPDATE ... RETURNING balance: OK with *after, GUARD when no
 * row passed (no account, or out of [lo, hi]), ERROR. */
static int add_guarded(struct cd_tx *tx, const struct add_args *a,
                       int64_t *after)
{
    const char *what = "account add balance";
    struct cd_stmt *st;
    int rc, ret;

    if (!(st = cd_sq_get(tx->db, SQ_ACCOUNT_ADD_GUARDED)))
        return CD_STORE_ERROR;
    if (bind_add(st, a) != 0) {
        cd_sq_put(tx->db, SQ_ACCOUNT_ADD_GUARDED, st);
        return cd_rec_bind_failed(what);
    }
    rc = cd_step(st);
    if (rc == CD_STEP_ROW) {
        *after = cd_col_i64(st, 0);
        ret = CD_STORE_OK;
    } else if (rc == CD_STEP_DONE) {
        ret = CD_STORE_GUARD;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_ACCOUNT_ADD_GUARDED, st);
    return ret;
}

#ifndef NDEBUG
/* Debug and sanitizer builds: the balance before a post, so that it can
 * assert balance_after == before + amount. INT64_MIN: it could not be
 * read. */
static int64_t balance_before(struct cd_tx *tx, const char *account_id)
{
    struct cd_account acct;

    return cd_store_account_get(tx, account_id, &acct) == CD_STORE_OK
               ? acct.balance
               : INT64_MIN;
}
#endif

int cd_store_ledger_post(struct cd_tx *tx, const struct cd_ledger_entry *e,
                         int64_t lo, int64_t hi, struct cd_ledger_entry *out)
{
    struct add_args a;
    struct cd_account acct;
    struct cd_ledger_entry row;
    int rc;

    if (cd_rec_check_tx(tx, 1, "ledger post") != 0 || !e || !out ||
        e->amount > CD_AMOUNT_MAX || e->amount < -CD_AMOUNT_MAX || lo > hi)
        return CD_STORE_ERROR;
    a = (struct add_args){e->account_id, e->amount, lo, hi};
    row = *e;
#ifndef NDEBUG
    int64_t before = balance_before(tx, e->account_id);
#endif
    rc = add_guarded(tx, &a, &row.balance_after);
    if (rc == CD_STORE_GUARD) {
        /* Why no row: only the failure path pays a second statement. */
        rc = cd_store_account_get(tx, e->account_id, &acct);
        return rc == CD_STORE_OK ? CD_STORE_GUARD : rc;
    }
    if (rc != CD_STORE_OK)
        return rc;
    assert(row.balance_after >= lo && row.balance_after <= hi);
    /* INT64_MIN: the read before failed (an injected fault), not asked. */
    assert(before == INT64_MIN || row.balance_after == before + e->amount);
    rc = cd_store_ledger_insert(tx, &row);
    if (rc != CD_STORE_OK) {
        /* The ref exists (or the insert failed): take the change back; we
         * hold the account's row, so nobody changed it meanwhile. */
        if (cd_rec_run_write(tx, SQ_ACCOUNT_ADD_UNDO, bind_add_undo, &a, 1,
                             "account undo add") != CD_STORE_OK)
            return CD_STORE_ERROR;
        return rc;
    }
    *out = row;
    return CD_STORE_OK;
}

int cd_store_ledger_by_ref(struct cd_tx *tx, const char *ref,
                           struct cd_ledger_entry *out)
{
    return cd_rec_get_by_key(tx, SQ_LEDGER_BY_REF, ref, CD_REF_SZ,
                             read_ledger, out, "ledger by ref");
}

struct ledger_visit {
    cd_ledger_cb cb;
    void *arg;
};

static int visit_ledger(const void *row, void *ctx)
{
    struct ledger_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_ledger_list(struct cd_tx *tx, const char *account_id,
                         int64_t limit, int64_t offset, cd_ledger_cb cb,
                         void *arg, int64_t *total)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    const char *acct = cd_rec_acct_filter(account_id);
    struct list_q q = {acct ? SQ_LEDGER_COUNT_ACCT : SQ_LEDGER_COUNT_ALL,
                       acct ? SQ_LEDGER_LIST_ACCT : SQ_LEDGER_LIST_ALL,
                       acct,
                       limit,
                       offset,
                       read_ledger,
                       &row,
                       visit_ledger,
                       &v,
                       total,
                       "ledger list"};

    if (!cb)
        return CD_STORE_ERROR;
    return cd_rec_list_rows(tx, &q);
}

/* One-row aggregate query into up to two int64 columns. */
static int aggregate(struct cd_db *c, enum cd_sq_stmt id, int64_t *a,
                     int64_t *b, const char *what)
{
    struct cd_stmt *st = cd_sq_get(c, id);
    int ret = CD_STORE_OK;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_step(st) == CD_STEP_ROW) {
        if (a)
            *a = cd_col_i64(st, 0);
        if (b)
            *b = cd_col_i64(st, 1);
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

int cd_store_ledger_verify(struct cd_tx *tx, int64_t *accounts,
                           int64_t *sum_balances, int64_t *sum_entries,
                           cd_mismatch_cb cb, void *arg)
{
    const char *what = "ledger verify";
    struct cd_db *c;
    struct cd_stmt *st;
    int64_t n = 0, sb = 0, se = 0;
    int rc, ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0)
        return CD_STORE_ERROR;
    c = tx->db;
    if (aggregate(c, SQ_VERIFY_ACCOUNTS, &n, &sb, what) != 0 ||
        aggregate(c, SQ_VERIFY_ENTRIES, &se, NULL, what) != 0)
        return CD_STORE_ERROR;
    if (accounts)
        *accounts = n;
    if (sum_balances)
        *sum_balances = sb;
    if (sum_entries)
        *sum_entries = se;
    if (!(st = cd_sq_get(c, SQ_VERIFY_MISMATCH)))
        return CD_STORE_ERROR;
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        size_t idn = 0;
        const char *id = st->be->column_text(st, 0, &idn);

        if (cb &&
            cb(id ? id : "", cd_col_i64(st, 1), cd_col_i64(st, 2), arg) != 0)
            break;
    }
    if (rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(c));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_VERIFY_MISMATCH, st);
    return ret;
}

int cd_store_ledger_page(struct cd_tx *tx, const struct cd_page_query *q,
                         cd_ledger_cb cb, void *arg, int *has_more)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    struct page_run r = {
        SQ_LEDGER_KEY, SQ_LEDGER_PAGE_ALL, PAGE_TAIL_P, read_ledger,
        &row,          visit_ledger,       &v,          has_more,
        "ledger page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    if (cd_rec_has(q->account_id)) {
        r.list_id = SQ_LEDGER_PAGE_ACCT;
        r.named |= P(1) | P(3);
    } else if (cd_rec_has(q->kind)) {
        r.list_id = SQ_LEDGER_PAGE_KIND;
        r.named |= P(3);
    }
    return cd_page_run(tx, q, &r);
}
