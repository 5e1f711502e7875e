/*
 * holds.h - holds: authorise, then capture. A hold reserves credits of an
 * account for work of unknown final cost; a capture spends at most the
 * held amount (one ledger debit, ref "hold:<id>:capture", through
 * cd_ledger_apply_tx) and gives the rest back; a release gives it all
 * back; an expired hold releases itself.
 *
 * accounts.held is the sum of the account's active holds, and every
 * statement that spends is guarded by it: a new hold reserves only while
 * balance - held >= amount, a debit that may not overdraw only while
 * balance - amount >= held (store/statements.c). A hold changes status
 * once, by a statement guarded on status = 'active', in the same job as
 * held and the ledger entry - so retries and races (capture vs release vs
 * expiry, on any node) finish it exactly once.
 *
 * Expiry never depends on the sweeper's timing: a due hold shows as
 * "expired" and is left out of held at once (cd_hold_totals), a capture or
 * release of it is 409 hold_not_active, and a debit or hold that a due hold
 * would refuse expires the account's due holds in its own job first
 * (cd_hold_expire_due_tx). The sweeper (cd_hold_sweep, jobs.c) only makes
 * the rows say so.
 *
 * Functions return 0 or -1 with *err (500 internal_error on a store
 * failure, without SQL text).
 */
#ifndef CD_BILLING_HOLDS_H
#define CD_BILLING_HOLDS_H

#include "billing/billing.h"
#include "billing/idempotency.h"
#include "store/holds.h"
#include "util/error.h"

#define CD_HOLD_EXPIRES_MIN 1               /* seconds */
#define CD_HOLD_EXPIRES_MAX (7 * 24 * 3600) /* 7 days */
#define CD_HOLD_EXPIRES_DEFAULT (15 * 60)   /* 15 minutes */
#define CD_HOLD_DESC_MAX 500
/* Accounts whose due holds one sweeper job expires. */
#define CD_HOLD_SWEEP_BATCH 100

/* Renders the outcome of a keyed hold request - the hold, or err - as the
 * reply its Idempotency-Key keeps; runs inside the write job. */
typedef void (*cd_hold_reply_fn)(void *arg, const struct cd_hold *h,
                                 const struct cd_error *err,
                                 struct cd_idem_reply *out);

struct cd_hold_op {
    const char *account_id;
    const char *hold_id;     /* capture, release */
    int64_t amount;          /* create: 1..10^12; capture: 1..held */
    int64_t expires_in;      /* create: seconds, MIN..MAX */
    const char *description; /* create; may be NULL */
    /* create: the id derived from the Idempotency-Key, or NULL (random) */
    const char *effect_id;
    /* With an Idempotency-Key (as cd_ledger_op): claim, effect and reply
     * in one write job; the call returns 0 with claim->outcome set. */
    struct cd_idem_claim *claim;
    cd_hold_reply_fn reply;
    void *reply_arg;
};

/* Errors: 402 insufficient_balance (the available balance is lower),
 * 404 account_not_found, 409 idempotency_key_reused. */
int cd_hold_create(struct cd_billing *b, const struct cd_hold_op *op,
                   struct cd_hold *out, struct cd_error *err);
/* Errors: 404 hold_not_found, 409 hold_not_active (captured, released or
 * expired), 400 capture_exceeds_hold, 402 insufficient_balance (a
 * clawback took the balance below what the hold had reserved). */
int cd_hold_capture(struct cd_billing *b, const struct cd_hold_op *op,
                    struct cd_hold *out, struct cd_error *err);
/* Errors: 404 hold_not_found, 409 hold_not_active. */
int cd_hold_release(struct cd_billing *b, const struct cd_hold_op *op,
                    struct cd_hold *out, struct cd_error *err);

/*
 * The same three without waiting for the commit (store.h
 * cd_store_submit), as cd_ledger_async_* (ledger_ops.h):
 * cd_hold_async_prepare() checks x->op for x->what (a refusal: -1 with
 * err, the same as the blocking call's), cd_hold_async_submit() queues
 * the job, x->done(x->done_arg) is called once on the store's writer
 * thread after the commit (or at once when the store is closing) and
 * only hands x on; that thread calls cd_hold_async_result() for what the
 * blocking call would have returned. x and all op points to live in the
 * caller's memory until then.
 */
enum cd_hold_what { CD_HOLD_CREATE, CD_HOLD_CAPTURE, CD_HOLD_RELEASE };
struct cd_hold_job { /* private to holds.c */
    const struct cd_hold_op *op;
    int (*fn)(struct cd_tx *tx, struct cd_hold_job *j);
    struct cd_hold hold;
    struct cd_error err;
    int failed;
};
struct cd_hold_async {
    struct cd_hold_op op;
    enum cd_hold_what what;
    void (*done)(void *done_arg);
    void *done_arg;
    /* private to holds.c */
    struct cd_hold_job j;
    struct cd_idem_keyed keyed;
};
int cd_hold_async_prepare(struct cd_hold_async *x, struct cd_error *err);
void cd_hold_async_submit(struct cd_billing *b, struct cd_hold_async *x);
int cd_hold_async_result(struct cd_hold_async *x, struct cd_hold *out,
                         struct cd_error *err);

/* The account's hold (404 hold_not_found for another account's). */
int cd_hold_get(struct cd_billing *b, const char *account_id,
                const char *hold_id, struct cd_hold *out,
                struct cd_error *err);
/* A keyset page of the account's holds, newest first (status "" or one of
 * active|captured|released|expired as shown; after a hold id or ""):
 * 400 invalid_param (starting_after) when after names none. */
int cd_hold_page(struct cd_billing *b, const char *account_id,
                 const char *status, const char *after, int64_t limit,
                 cd_hold_cb cb, void *arg, int *has_more,
                 struct cd_error *err);
/* The status a client sees at now: a due active hold is "expired". */
const char *cd_hold_status(const struct cd_hold *h, int64_t now);

/* The account's balance and what its live holds hold (due ones left
 * out): available = balance - held. 404 account_not_found. */
int cd_hold_totals(struct cd_billing *b, const char *account_id,
                   int64_t *balance, int64_t *held, struct cd_error *err);

/* Inside a write job: expires the account's due holds. The count expired
 * (0: none), or -1 on a store failure. */
int cd_hold_expire_due_tx(struct cd_tx *tx, const char *account_id);

/* One sweep: expires the due holds of up to CD_HOLD_SWEEP_BATCH accounts
 * per job until none is left; *expired how many accounts had some.
 * 0, or -1 on a store failure. */
int cd_hold_sweep(struct cd_billing *b, int64_t *expired);

/* Inside a read job: accounts whose held is not the sum of their active
 * holds (cb per mismatch: account, held, sum); *count how many. */
int cd_hold_verify_tx(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                      int64_t *count);

#endif
