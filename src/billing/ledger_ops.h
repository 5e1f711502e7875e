/*
 * ledger_ops.h - the ledger operations the API offers directly: grants and
 * debits (server key only), balance, the transaction list and the
 * invariant check. Each grant or debit is one write job around
 * cd_ledger_apply_tx, keyed by a unique ref so a retry never applies twice.
 * With an Idempotency-Key claim (op.claim) that one job also claims the
 * key and stores the reply (cd_idem_once): one transaction, one commit.
 *
 * Functions return 0 or -1 with *err filled; store failures are
 * CD_EK_INTERNAL "internal_error" without SQL text.
 */
#ifndef CD_BILLING_LEDGER_OPS_H
#define CD_BILLING_LEDGER_OPS_H

#include <stddef.h>

#include "billing/billing.h"
#include "billing/idempotency.h"
#include "billing/ledger.h"
#include "util/error.h"

#define CD_LEDGER_DESC_MAX 500
/* How long an Idempotency-Key replays (the idempotency rows' lifetime). */
#define CD_LEDGER_IDEM_TTL_S (24 * 3600)

/* Renders the outcome of a claimed grant or debit - the entry, or err -
 * as the reply the key keeps (status and body, valid until the call
 * returns). Runs inside the write job, on the writer thread. */
typedef void (*cd_ledger_reply_fn)(void *arg,
                                   const struct cd_ledger_entry *entry,
                                   const struct cd_error *err,
                                   struct cd_idem_reply *out);

/* A grant or debit request. amount is positive (1..10^12) for both. */
struct cd_ledger_op {
    const char *account_id;
    int64_t amount;
    const char *description; /* may be NULL; <= CD_LEDGER_DESC_MAX bytes */
    int allow_negative;      /* debits only */
    const struct cd_lot_spec *lot; /* grants: the lot (lots.h); NULL */
    /* With an Idempotency-Key the ref is "idem:<scope>:<key>"; without
     * one (both NULL) it is "debit:<random>" / "grant:<random>". */
    const char *idem_scope;
    const char *idem_key;
    /* The key's claim (scope, key and fingerprint filled), or NULL. With
     * it the claim, the entry and the reply are one write job: the call
     * returns 0 with claim->outcome set - CLAIMED: reply rendered the
     * outcome (even a 402 or 404) and it is stored; otherwise nothing
     * ran and the caller answers the replay or the 409 - or -1 with
     * err 500 (nothing kept). *out and *replayed are then unused. */
    struct cd_idem_claim *claim;
    cd_ledger_reply_fn reply;
    void *reply_arg;
};

/*
 * Adds (grant, kind "grant") or takes (debit, kind "usage") credits.
 * *out is the entry; *replayed is 1 when the ref existed already (the
 * entry is then the original one and nothing was written). Errors: 402
 * insufficient_balance, 400 invalid_amount (past +-2^62 or out of range),
 * 404 account_not_found, 409 idempotency_key_reused (the ref exists for a
 * different account, amount, kind or description, or its entry is older
 * than CD_LEDGER_IDEM_TTL_S: a key reused after its 24 h never replays).
 */
int cd_ledger_grant(struct cd_billing *b, const struct cd_ledger_op *op,
                    struct cd_ledger_entry *out, int *replayed,
                    struct cd_error *err);
int cd_ledger_debit(struct cd_billing *b, const struct cd_ledger_op *op,
                    struct cd_ledger_entry *out, int *replayed,
                    struct cd_error *err);

/*
 * The same without waiting for the commit (store.h cd_store_submit).
 * cd_ledger_async_prepare() checks x->op (a refusal: -1 with err, as
 * cd_ledger_debit/grant would answer) and makes the job;
 * cd_ledger_async_submit() queues it. x->done(x->done_arg) is then called
 * exactly once, on the store's writer thread after the batch's commit
 * (or at once, on the caller's thread, when the store is closing); it
 * only hands x to another thread, which calls cd_ledger_async_result()
 * for the outcome: what cd_ledger_debit/grant would have returned, with
 * the same *out, *replayed and err (and, with op.claim, claim->outcome).
 * x and all op points to (account id, description, idem scope/key,
 * claim) live in the caller's memory until then.
 */
struct cd_ledger_job { /* private to ledger_ops.c */
    struct cd_ledger_apply in;
    struct cd_ledger_entry out;
    int rc;
};
struct cd_ledger_once { /* private to ledger_ops.c */
    struct cd_ledger_job *j;
    const struct cd_ledger_op *op;
    const char *kind;
    struct cd_ledger_entry entry;
    int replayed, failed;
    struct cd_error err;
};
struct cd_ledger_async {
    struct cd_ledger_op op;
    int debit; /* 1 debit, 0 grant */
    void (*done)(void *done_arg);
    void *done_arg;
    /* private to ledger_ops.c */
    const char *kind;
    char ref[CD_REF_SZ];
    struct cd_ledger_job j;
    struct cd_ledger_once o;
    struct cd_idem_keyed keyed;
};
int cd_ledger_async_prepare(struct cd_billing *b, struct cd_ledger_async *x,
                            struct cd_error *err);
void cd_ledger_async_submit(struct cd_billing *b, struct cd_ledger_async *x);
int cd_ledger_async_result(struct cd_ledger_async *x,
                           struct cd_ledger_entry *out, int *replayed,
                           struct cd_error *err);

/* The cached balance of an account; 404 account_not_found. */
int cd_ledger_balance(struct cd_billing *b, const char *account_id,
                      int64_t *balance, struct cd_error *err);

/* Pages through an account's entries, newest first; cb runs inside a
 * read transaction (it must not call the store). */
int cd_ledger_list(struct cd_billing *b, const char *account_id,
                   int64_t limit, int64_t offset, cd_ledger_cb cb, void *arg,
                   int64_t *total, struct cd_error *err);

/* A keyset page of every account's entries (the operator's list and
 * export; cd_page_query in store.h, status ignored): cb per row inside
 * one read transaction, *has_more when rows follow. 0, or -1 with err:
 * 400 invalid_param (starting_after) when that entry does not exist. */
int cd_ledger_page(struct cd_billing *b, const struct cd_page_query *q,
                   cd_ledger_cb cb, void *arg, int *has_more,
                   struct cd_error *err);

/* A keyset page of one account's entries (GET /v1/transactions?
 * starting_after=): newest first after the account's entry after (NULL:
 * from the newest), *has_more when rows follow, *total the account's
 * entries. 0, or -1 with err: 400 invalid_param (starting_after) when
 * after names no entry of this account. */
int cd_ledger_txn_page(struct cd_billing *b, const char *account_id,
                       const char *after, int64_t limit, cd_ledger_cb cb,
                       void *arg, int *has_more, int64_t *total,
                       struct cd_error *err);

struct cd_ledger_check {
    int64_t accounts;
    int64_t sum_balances;
    int64_t sum_entries;
    int64_t mismatches; /* how many accounts disagree */
    /* holds: of those, accounts whose held is not the sum of their
     * active holds (counted in mismatches too) */
    int64_t held_mismatches;
    /* 016: accounts whose balance != sum(remaining lots) - debt (lots.h) */
    int64_t lot_mismatches;
};

/* Checks balance == sum(entries) for every account, on one snapshot; cb
 * (may be NULL) sees each mismatch. */
int cd_ledger_verify(struct cd_billing *b, struct cd_ledger_check *out,
                     cd_mismatch_cb cb, void *arg, struct cd_error *err);
/* The same, and lot_cb (may be NULL) sees each account whose balance is
 * not its lots' remaining credits less its debt (the third figure). */
int cd_ledger_verify_lots(struct cd_billing *b, struct cd_ledger_check *out,
                          cd_mismatch_cb cb, void *arg, cd_mismatch_cb lot_cb,
                          void *lot_arg, struct cd_error *err);

#endif
