/*
 * ledger_ops.c - grants, debits, balances, transaction lists and the
 * ledger invariant check; see ledger_ops.h.
 */
#include "billing/ledger_ops.h"

#include <stdio.h>
#include <string.h>

#include "billing/holds.h"
#include "billing/ledger.h"
#include "billing/lots.h"
#include "util/log.h"
#include "util/util.h"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

static int apply_fn(struct cd_tx *tx, void *arg)
{
    struct cd_ledger_job *j = arg;

    j->rc = cd_ledger_apply_tx(tx, &j->in, &j->out);
    /* A duplicate wrote nothing; let the (empty) savepoint stand. */
    return (j->rc == CD_STORE_OK || j->rc == CD_STORE_DUPLICATE) ? 0 : 1;
}

/* The outcome of an applied job (write is cd_store_write's value): 0 with
 * *out (and *replayed), or -1 with err. */
static int settle(const struct cd_ledger_job *j, int write, const char *kind,
                  struct cd_ledger_entry *out, int *replayed,
                  struct cd_error *err)
{
    if (write != 0) {
        switch (j->rc) {
        case CD_LEDGER_INSUFFICIENT:
            return cd_error_set(err, CD_EK_PAYMENT, "insufficient_balance",
                                "amount",
                                "the balance is too low for this "
                                "debit");
        case CD_LEDGER_LIMIT:
            return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                                "amount",
                                "the balance would pass the limit "
                                "of +-2^62");
        case CD_STORE_NOT_FOUND:
            return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found",
                                NULL, "no such account");
        default:
            return internal(err);
        }
    }
    if (j->rc == CD_STORE_DUPLICATE) {
        /* The ref outlives the idempotency row (purged after 24 h): an
         * old entry is a key reused, never a replay; within 24 h only
         * the very same request replays. */
        if (j->out.created_at < cd_now() - CD_LEDGER_IDEM_TTL_S)
            return cd_error_set(err, CD_EK_CONFLICT, "idempotency_key_reused",
                                NULL,
                                "this Idempotency-Key was used more than 24 "
                                "hours ago");
        if (strcmp(j->out.account_id, j->in.account_id) != 0 ||
            j->out.amount != j->in.amount || strcmp(j->out.kind, kind) != 0 ||
            strcmp(j->out.description, j->in.description) != 0)
            return cd_error_set(err, CD_EK_CONFLICT, "idempotency_key_reused",
                                NULL,
                                "this Idempotency-Key was used for a "
                                "different request");
        if (replayed)
            *replayed = 1;
    }
    *out = j->out;
    return 0;
}

/* ---- claim, entry and reply in one job (cd_idem_once) ------------------- */

static int once_effect(struct cd_tx *tx, void *arg, struct cd_idem_reply *r)
{
    struct cd_ledger_once *o = arg;
    struct cd_ledger_job *j = o->j;

    j->rc = cd_ledger_apply_tx(tx, &j->in, &j->out);
    /* Every refusal (402, 404, 400) comes before any write; a store
     * failure rolls back the whole job, claim included. */
    if (j->rc == CD_STORE_ERROR)
        return CD_STORE_ERROR;
    o->failed = settle(j, j->rc != CD_STORE_OK && j->rc != CD_STORE_DUPLICATE,
                       o->kind, &o->entry, &o->replayed, &o->err) != 0;
    if (o->failed && o->err.kind == CD_EK_INTERNAL)
        return CD_STORE_ERROR;
    o->op->reply(o->op->reply_arg, o->failed ? NULL : &o->entry,
                 o->failed ? &o->err : NULL, r);
    return 0;
}

/* The outcome of a one-job request (rc: cd_idem_once's). */
static int once_outcome(const struct cd_ledger_once *o, int rc,
                        struct cd_error *err)
{
    if (rc != 0)
        return internal(err);
    if (o->op->claim->outcome == CD_IDEM_CLAIMED && !o->failed &&
        !o->replayed)
        cd_info("billing", "%s %lld credits on %s (%s)", o->kind,
                (long long)o->op->amount, o->op->account_id, o->entry.id);
    return 0;
}

static int apply_once(struct cd_billing *b, const struct cd_ledger_op *op,
                      struct cd_ledger_job *j, const char *kind,
                      struct cd_error *err)
{
    struct cd_ledger_once o;

    memset(&o, 0, sizeof(o));
    o.j = j;
    o.op = op;
    o.kind = kind;
    op->claim->writer_key = op->account_id;
    return once_outcome(&o, cd_idem_once(b, op->claim, once_effect, &o), err);
}

/* The outcome of a plain job (write: cd_store_write's value). */
static int apply_outcome(const struct cd_ledger_job *j, int write,
                         const char *kind, struct cd_ledger_entry *out,
                         int *replayed, struct cd_error *err)
{
    if (settle(j, write, kind, out, replayed, err) != 0)
        return -1;
    if (j->rc != CD_STORE_DUPLICATE)
        cd_info("billing", "%s %lld credits on %s (%s)", kind,
                (long long)(j->in.amount < 0 ? -j->in.amount : j->in.amount),
                j->in.account_id, j->out.id);
    return 0;
}

/* Checks op and fills j (its ref written into ref). 0, or -1 with err. */
static int prepare(const struct cd_ledger_op *op, int sign, const char *kind,
                   const char *prefix, struct cd_ledger_job *j,
                   char ref[CD_REF_SZ], struct cd_error *err)
{
    int n;

    if (op->amount < 1 || op->amount > CD_AMOUNT_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount", "amount",
                            "amount must be an integer from 1 to 10^12");
    if (op->description && strlen(op->description) > CD_LEDGER_DESC_MAX)
        return cd_error_set(
            err, CD_EK_INVALID, "invalid_param", "description",
            "description is longer than %d bytes", CD_LEDGER_DESC_MAX);
    if (!op->account_id || !*op->account_id ||
        strlen(op->account_id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    _Static_assert(
        CD_REF_FITS("idem::", CD_IDEM_SCOPE_SZ - 1 + CD_IDEM_KEY_SZ - 1),
        "idem:<scope>:<Idempotency-Key> fits CD_REF_SZ");
    _Static_assert(CD_REF_FITS("debit:", CD_ID_SZ - 1),
                   "grant|debit:<random id> fits CD_REF_SZ");
    if (op->idem_key && op->idem_scope) {
        n = snprintf(ref, CD_REF_SZ, "idem:%s:%s", op->idem_scope,
                     op->idem_key);
    } else {
        char rnd[CD_ID_SZ];
        cd_random_id("", rnd, sizeof(rnd));
        n = snprintf(ref, CD_REF_SZ, "%s:%s", prefix, rnd);
    }
    if (n < 0 || n >= CD_REF_SZ)
        return cd_error_set(err, CD_EK_INVALID, "invalid_idempotency_key",
                            NULL, "Idempotency-Key is too long");

    memset(j, 0, sizeof(*j));
    j->in.account_id = op->account_id;
    j->in.amount = sign * op->amount;
    j->in.kind = kind;
    j->in.ref = ref;
    j->in.order_id = NULL;
    j->in.description = op->description ? op->description : "";
    j->in.allow_negative = sign < 0 ? op->allow_negative : 0;
    j->in.lot = sign > 0 ? op->lot : NULL;
    return 0;
}

static int apply(struct cd_billing *b, const struct cd_ledger_op *op,
                 int sign, const char *kind, const char *prefix,
                 struct cd_ledger_entry *out, int *replayed,
                 struct cd_error *err)
{
    struct cd_ledger_job j;
    char ref[CD_REF_SZ];
    int rc;

    if (replayed)
        *replayed = 0;
    if (prepare(op, sign, kind, prefix, &j, ref, err) != 0)
        return -1;
    if (op->claim && op->reply)
        return apply_once(b, op, &j, kind, err);
    rc = cd_store_write_keyed(b->store, op->account_id, apply_fn, &j);
    return apply_outcome(&j, rc, kind, out, replayed, err);
}

/* ---- the same without waiting ------------------------------------------ */

int cd_ledger_async_prepare(struct cd_billing *b, struct cd_ledger_async *x,
                            struct cd_error *err)
{
    (void)b;
    x->kind = x->debit ? "usage" : "grant";
    memset(&x->o, 0, sizeof(x->o));
    x->o.j = &x->j;
    x->o.op = &x->op;
    x->o.kind = x->kind;
    return prepare(&x->op, x->debit ? -1 : 1, x->kind,
                   x->debit ? "debit" : "grant", &x->j, x->ref, err);
}

void cd_ledger_async_submit(struct cd_billing *b, struct cd_ledger_async *x)
{
    struct cd_idem_keyed *k = &x->keyed;

    k->claim = x->op.claim && x->op.reply ? x->op.claim : NULL;
    k->effect = once_effect;
    k->effect_arg = &x->o;
    k->fn = apply_fn;
    k->fn_arg = &x->j;
    k->writer_key = x->op.account_id;
    k->done = x->done;
    k->done_arg = x->done_arg;
    cd_idem_keyed_submit(b, k);
}

int cd_ledger_async_result(struct cd_ledger_async *x,
                           struct cd_ledger_entry *out, int *replayed,
                           struct cd_error *err)
{
    if (replayed)
        *replayed = 0;
    if (x->keyed.claim)
        return once_outcome(&x->o, cd_idem_keyed_result(&x->keyed), err);
    return apply_outcome(&x->j, cd_idem_keyed_result(&x->keyed), x->kind, out,
                         replayed, err);
}

int cd_ledger_grant(struct cd_billing *b, const struct cd_ledger_op *op,
                    struct cd_ledger_entry *out, int *replayed,
                    struct cd_error *err)
{
    return apply(b, op, 1, "grant", "grant", out, replayed, err);
}

int cd_ledger_debit(struct cd_billing *b, const struct cd_ledger_op *op,
                    struct cd_ledger_entry *out, int *replayed,
                    struct cd_error *err)
{
    return apply(b, op, -1, "usage", "debit", out, replayed, err);
}

/* ---- reads ------------------------------------------------------------- */

struct balance_job {
    const char *id;
    struct cd_account a;
};

static int balance_fn(struct cd_tx *tx, void *arg)
{
    struct balance_job *j = arg;

    return cd_store_account_get(tx, j->id, &j->a);
}

int cd_ledger_balance(struct cd_billing *b, const char *account_id,
                      int64_t *balance, struct cd_error *err)
{
    struct balance_job j;
    int rc;

    memset(&j, 0, sizeof(j));
    j.id = account_id;
    rc = cd_store_read(b->store, balance_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return internal(err);
    *balance = j.a.balance;
    return 0;
}

struct list_job {
    const char *id;
    int64_t limit, offset;
    cd_ledger_cb cb;
    void *arg;
    int64_t *total;
};

static int list_fn(struct cd_tx *tx, void *arg)
{
    struct list_job *j = arg;

    return cd_store_ledger_list(tx, j->id, j->limit, j->offset, j->cb, j->arg,
                                j->total);
}

int cd_ledger_list(struct cd_billing *b, const char *account_id,
                   int64_t limit, int64_t offset, cd_ledger_cb cb, void *arg,
                   int64_t *total, struct cd_error *err)
{
    struct list_job j = {account_id, limit, offset, cb, arg, total};

    if (cd_store_read(b->store, list_fn, &j) != CD_STORE_OK)
        return internal(err);
    return 0;
}

struct page_job {
    const struct cd_page_query *q;
    cd_ledger_cb cb;
    void *arg;
    int *has_more;
};

static int page_fn(struct cd_tx *tx, void *arg)
{
    struct page_job *j = arg;

    return cd_store_ledger_page(tx, j->q, j->cb, j->arg, j->has_more);
}

int cd_ledger_page(struct cd_billing *b, const struct cd_page_query *q,
                   cd_ledger_cb cb, void *arg, int *has_more,
                   struct cd_error *err)
{
    struct page_job j = {q, cb, arg, has_more};
    int rc = cd_store_read(b->store, page_fn, &j);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after",
                            "starting_after names no ledger entry");
    if (rc != CD_STORE_OK)
        return internal(err);
    return 0;
}

struct txn_page_job {
    const char *id, *after;
    int64_t limit;
    cd_ledger_cb cb;
    void *arg;
    int *has_more;
    int64_t *total;
};

static int txn_page_fn(struct cd_tx *tx, void *arg)
{
    struct txn_page_job *j = arg;

    return cd_store_txn_page(tx, j->id, j->after, j->limit, j->cb, j->arg,
                             j->has_more, j->total);
}

int cd_ledger_txn_page(struct cd_billing *b, const char *account_id,
                       const char *after, int64_t limit, cd_ledger_cb cb,
                       void *arg, int *has_more, int64_t *total,
                       struct cd_error *err)
{
    struct txn_page_job j = {account_id, after,    limit, cb,
                             arg,        has_more, total};
    int rc = cd_store_read(b->store, txn_page_fn, &j);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after",
                            "starting_after names no transaction of this "
                            "account");
    if (rc != CD_STORE_OK)
        return internal(err);
    return 0;
}

struct verify_job {
    struct cd_ledger_check *out;
    cd_mismatch_cb cb;
    void *arg;
    cd_mismatch_cb lot_cb;
    void *lot_arg;
};

static int lot_mismatch(const char *account_id, int64_t balance,
                        int64_t lots_less_debt, void *arg)
{
    struct verify_job *j = arg;

    cd_warn("billing",
            "lot mismatch on %s: balance %lld, lots less debt "
            "%lld",
            account_id, (long long)balance, (long long)lots_less_debt);
    if (j->lot_cb)
        return j->lot_cb(account_id, balance, lots_less_debt, j->lot_arg);
    return 0;
}

static int count_mismatch(const char *account_id, int64_t balance,
                          int64_t sum_entries, void *arg)
{
    struct verify_job *j = arg;

    j->out->mismatches++;
    cd_warn("billing", "ledger mismatch on %s: balance %lld, entries %lld",
            account_id, (long long)balance, (long long)sum_entries);
    if (j->cb)
        return j->cb(account_id, balance, sum_entries, j->arg);
    return 0;
}

static int held_mismatch(const char *account_id, int64_t held,
                         int64_t sum_holds, void *arg)
{
    (void)arg;
    cd_warn("billing", "held mismatch on %s: held %lld, active holds %lld",
            account_id, (long long)held, (long long)sum_holds);
    return 0;
}

static int verify_fn(struct cd_tx *tx, void *arg)
{
    struct verify_job *j = arg;
    int rc = cd_store_ledger_verify(tx, &j->out->accounts,
                                    &j->out->sum_balances,
                                    &j->out->sum_entries, count_mismatch, j);

    if (rc != CD_STORE_OK)
        return rc;
    /* holds: held == sum(active holds) on every account */
    rc = cd_hold_verify_tx(tx, held_mismatch, NULL, &j->out->held_mismatches);
    j->out->mismatches += j->out->held_mismatches;
    if (rc != CD_STORE_OK)
        return rc;
    return cd_lots_verify_tx(tx, lot_mismatch, j, &j->out->lot_mismatches);
}

int cd_ledger_verify(struct cd_billing *b, struct cd_ledger_check *out,
                     cd_mismatch_cb cb, void *arg, struct cd_error *err)
{
    return cd_ledger_verify_lots(b, out, cb, arg, NULL, NULL, err);
}

int cd_ledger_verify_lots(struct cd_billing *b, struct cd_ledger_check *out,
                          cd_mismatch_cb cb, void *arg, cd_mismatch_cb lot_cb,
                          void *lot_arg, struct cd_error *err)
{
    struct verify_job j = {out, cb, arg, lot_cb, lot_arg};

    memset(out, 0, sizeof(*out));
    if (cd_store_read(b->store, verify_fn, &j) != CD_STORE_OK)
        return internal(err);
    return 0;
}
