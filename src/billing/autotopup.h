/*
 * autotopup.h - auto top-up: per account {"enabled", "threshold",
 * "amount_cents", "monthly_cap_cents"}; when a spend takes the balance
 * under the threshold, exactly one off-session top-up of the saved card.
 *
 *  - The trigger, cd_autotopup_check_tx, runs in the transaction of the
 *    spend (cd_ledger_apply_tx calls it after every negative entry but a
 *    refund's or dispute's clawback) and inserts at most one attempt, by
 *    one guarded statement: enabled, balance under the threshold, the
 *    month's open + succeeded attempts plus this one within the cap, and
 *    no other open attempt (a partial unique index) - so concurrent
 *    debits, nodes and retries start one, never one per debit.
 *  - The worker (a thread under the "autotopup" lease) pays it through
 *    the top-up path of topups.c with an order id derived from the
 *    attempt id and try number ("autotopup", "<atu_id>:<try>"), so a
 *    crash mid-call re-sends Stripe the same Idempotency-Key and never
 *    charges twice. payment_intent.succeeded credits the order as for any
 *    top-up; the worker then marks the attempt succeeded and, if the
 *    balance is still under the threshold (spent meanwhile, or the amount
 *    does not reach it), starts the next at once, within the cap.
 *  - A decline records Stripe's decline code and message and retries the
 *    same attempt (a new order) after 1 h, then 6 h; the 3rd decline in a
 *    row turns auto top-up off with a reason (disabled_reason). A retry
 *    whose balance is back at the threshold, or whose setting was turned
 *    off, is canceled.
 */
#ifndef CD_BILLING_AUTOTOPUP_H
#define CD_BILLING_AUTOTOPUP_H

#include <stdint.h>

#include "billing/billing.h"
#include "store/autotopup.h"
#include "util/error.h"

#define CD_AUTOTOPUP_MAX_DECLINES 3
/* The wait after the n-th decline in a row (n < MAX_DECLINES). */
#define CD_AUTOTOPUP_RETRY_1_S 3600
#define CD_AUTOTOPUP_RETRY_2_S (6 * 3600)
/* A claimed attempt is looked at again after CD_AUTOTOPUP_WAIT_S (so a
 * crash mid-call resumes soon); one waiting for its webhook after twice
 * its last wait, up to CD_AUTOTOPUP_RECHECK_S; an unknown Stripe outcome
 * is re-sent, under the same key, after CD_AUTOTOPUP_RECHECK_S. */
#define CD_AUTOTOPUP_WAIT_S 2
#define CD_AUTOTOPUP_RECHECK_S 60
#define CD_AUTOTOPUP_CAP_MAX INT64_C(100000000000) /* $1e9 */

/* Inside the spend's write job: starts (inserts) the one attempt when the
 * guards allow. CD_STORE_OK whether or not one started; CD_STORE_ERROR. */
int cd_autotopup_check_tx(struct cd_tx *tx, const char *account_id);
/* Whether a negative ledger entry of this kind may trigger (not a
 * clawback: "refund", "dispute"). */
int cd_autotopup_spend_kind(const char *kind);

/* What GET /v1/auto_topup shows. */
struct cd_autotopup_view {
    int configured; /* a settings row exists */
    struct cd_autotopup_settings s;
    int64_t month_spent_cents; /* open + succeeded this UTC month */
    int has_last;
    struct cd_autotopup_attempt last;
};

int cd_autotopup_get(struct cd_billing *b, const char *account_id,
                     struct cd_autotopup_view *out, struct cd_error *err);

/* PUT /v1/auto_topup. Enabling needs all three amounts; disabling keeps
 * the stored ones for any that is absent (0). */
struct cd_autotopup_req {
    int enabled;
    int64_t threshold;         /* 1..10^12 credits, 0 = absent */
    int64_t amount_cents;      /* the catalog's top-up rules, 0 = absent */
    int64_t monthly_cap_cents; /* amount_cents..CAP_MAX, 0 = absent */
};

/*
 * Stores the settings (enabling resets the decline count and reason;
 * disabling cancels a pending attempt). When enabled and the balance is
 * already under the threshold, the attempt starts in the same job.
 * 0 with *out, or -1 with err: 400 missing_param, invalid_amount (param
 * names the field), invalid_param (cap below amount); 409
 * no_saved_payment_method (enabling without a saved card); 500.
 */
int cd_autotopup_put(struct cd_billing *b, const struct cd_account *acct,
                     const struct cd_autotopup_req *req,
                     struct cd_autotopup_view *out, struct cd_error *err);

/* ---- the steps of the worker (autotopup_worker.c), public for tests ---- */

/* YYYYMM (UTC) of unix time t. */
int64_t cd_autotopup_month(int64_t t);

/* Claims a due pending attempt for its next try: in_flight, tries + 1,
 * its order id derived. 1 claimed (*a updated), 0 not (gone, not due,
 * or canceled because the setting is off or the balance recovered),
 * -1 store failure. */
int cd_autotopup_claim(struct cd_billing *b, struct cd_autotopup_attempt *a);
/* The in-flight attempt's try ended: succeeded, or declined with Stripe's
 * code and message (the policy above), or given up at once (turns auto
 * top-up off with reason). Idempotent: an attempt no longer in flight at
 * try a->tries is left alone. 0, or -1 store failure. */
int cd_autotopup_succeeded(struct cd_billing *b,
                           const struct cd_autotopup_attempt *a);
int cd_autotopup_declined(struct cd_billing *b,
                          const struct cd_autotopup_attempt *a,
                          const char *code, const char *message);
int cd_autotopup_give_up(struct cd_billing *b,
                         const struct cd_autotopup_attempt *a,
                         const char *reason);
/* Moves an in-flight attempt's next look to now + after_s. */
int cd_autotopup_defer(struct cd_billing *b,
                       const struct cd_autotopup_attempt *a, int64_t after_s);

/* One pass over the due attempts (the worker runs it under its lease):
 * claims and pays pending ones, settles in-flight ones from their order.
 * Returns how many it looked at, or -1. */
int cd_autotopup_pass(struct cd_billing *b);

struct cd_autotopup_worker;
/* The thread: every poll_ms, under the "autotopup" lease, a pass. */
struct cd_autotopup_worker *cd_autotopup_start(struct cd_billing *b,
                                               int64_t poll_ms);
void cd_autotopup_stop(struct cd_autotopup_worker *w);

#endif
