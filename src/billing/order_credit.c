/*
 * order_credit.c - what the Stripe event handlers share; see
 * order_credit.h. Calls downwards only (ledger, lots, clawback, charges'
 * card lookup, mail, outbox, problems); no handler is called from here.
 */
#include "billing/order_credit.h"

#include <inttypes.h>
#include <string.h>

#include "billing/charges.h"
#include "billing/clawback.h"
#include "billing/ledger.h"
#include "billing/lots.h"
#include "billing/mail.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/outbox.h"
#include "billing/problems.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "fulfil"

int cd_order_event_record_tx(struct cd_tx *tx, const char *event_id,
                             const char *type, const char **status)
{
    int rc;

    if (!event_id)
        return 0;
    rc = cd_store_event_insert(tx, event_id, type ? type : "", cd_now());
    if (rc == CD_STORE_DUPLICATE) {
        *status = CD_WEBHOOK_DUPLICATE;
        return 1;
    }
    return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

int cd_order_event_open_tx(struct cd_tx *tx, const char *event_id,
                           const char *type, const char *order_id,
                           struct cd_order *o, const char **status)
{
    int rc;

    /* The order first: an event about no order of ours is not recorded
     * (its id stays free for a delivery that finds the order). */
    *status = CD_WEBHOOK_IGNORED;
    rc = cd_store_order_get(tx, order_id, o);
    if (rc == CD_STORE_NOT_FOUND)
        return 1;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_order_event_record_tx(tx, event_id, type, status);
    if (rc != 0)
        return rc;
    *status = CD_WEBHOOK_IGNORED;
    return 0;
}

/* A paid row keeps what it has and gets what it lacked: a subscription's
 * first period was recorded by its checkout before its invoice named the
 * PaymentIntent (checkout_session.c). */
static int payment_fill_tx(struct cd_tx *tx, struct cd_payment *p,
                           const struct cd_paid *c)
{
    int changed = 0;

    if (!p->stripe_payment_intent_id[0] && c->pi[0]) {
        cd_strlcpy(p->stripe_payment_intent_id, c->pi,
                   sizeof(p->stripe_payment_intent_id));
        changed = 1;
    }
    if (!p->stripe_charge_id[0] && c->charge[0]) {
        cd_strlcpy(p->stripe_charge_id, c->charge,
                   sizeof(p->stripe_charge_id));
        changed = 1;
    }
    if (!p->last4[0] && c->last4[0]) {
        cd_strlcpy(p->last4, c->last4, sizeof(p->last4));
        changed = 1;
    }
    return changed ? cd_store_payment_update(tx, p) : CD_STORE_OK;
}

/* The payment row of a fulfilled order: inserted, or a pending/failed one
 * brought up to date. */
int cd_order_payment_tx(struct cd_tx *tx, const struct cd_order *o,
                        const struct cd_paid *c, int64_t now)
{
    struct cd_payment p;
    struct cd_paid card = *c;
    int rc;

    /* The card, when its charge event came first. */
    if (cd_charge_card_for(tx, &card) != CD_STORE_OK)
        return CD_STORE_ERROR;
    c = &card;
    rc = cd_store_payment_by_order(tx, o->id, &p);
    if (rc == CD_STORE_OK) {
        if (strcmp(p.status, "pending") != 0 &&
            strcmp(p.status, "failed") != 0)
            return payment_fill_tx(tx, &p, c);
    } else if (rc == CD_STORE_NOT_FOUND) {
        memset(&p, 0, sizeof(p));
        cd_random_id("pay_", p.id, sizeof(p.id));
        cd_strlcpy(p.order_id, o->id, sizeof(p.order_id));
        cd_strlcpy(p.account_id, o->account_id, sizeof(p.account_id));
        p.created_at = now;
    } else {
        return CD_STORE_ERROR;
    }
    cd_strlcpy(p.status, "succeeded", sizeof(p.status));
    p.amount_cents = o->amount_cents;
    cd_strlcpy(p.currency, o->currency, sizeof(p.currency));
    cd_strlcpy(p.description, o->description, sizeof(p.description));
    if (c->last4[0])
        cd_strlcpy(p.last4, c->last4, sizeof(p.last4));
    p.failure_reason[0] = '\0';
    if (c->pi[0])
        cd_strlcpy(p.stripe_payment_intent_id, c->pi,
                   sizeof(p.stripe_payment_intent_id));
    if (c->charge[0])
        cd_strlcpy(p.stripe_charge_id, c->charge, sizeof(p.stripe_charge_id));
    p.paid_at = now;
    if (rc == CD_STORE_OK)
        rc = cd_store_payment_update(tx, &p);
    else
        rc = cd_store_payment_insert(tx, &p);
    return rc == CD_STORE_DUPLICATE ? CD_STORE_OK : rc;
}

/* The customer Stripe used (or created) for this payment, on the account;
 * a card saved for off-session use marks has_saved_payment_method. */
int cd_order_save_customer_tx(struct cd_tx *tx, const struct cd_order *o,
                              const struct cd_paid *c)
{
    const char *cus = c->customer;
    struct cd_account a;
    int saved, rc;

    if (!cus[0])
        return CD_STORE_OK;
    /* We always ask for setup_future_usage=off_session in Checkout's
     * payment mode; trust the PaymentIntent when we could read it. */
    saved = c->sfu_known ? c->sfu_off_session : 1;
    rc = cd_store_account_get(tx, o->account_id, &a);
    if (rc != CD_STORE_OK)
        return rc == CD_STORE_NOT_FOUND ? CD_STORE_OK : rc;
    if (strcmp(a.stripe_customer_id, cus) == 0) {
        if (a.has_saved_payment_method || !saved)
            return CD_STORE_OK;
    } else if (a.stripe_customer_id[0] && !saved) {
        /* A payment without a saved card does not replace the customer
         * whose card is saved. */
        return CD_STORE_OK;
    }
    rc = cd_store_account_set_customer(tx, o->account_id, cus, saved);
    if (rc == CD_STORE_DUPLICATE) {
        /* The customer is another account's: keep the credit, not the
         * link (a customer belongs to one account). */
        cd_warn(MOD,
                "order %s: customer %s belongs to another account; "
                "not saved",
                o->id, cus);
        return CD_STORE_OK;
    }
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_OK : rc;
}

/* The ledger refuses this credit for good (rc: the limit, or no such
 * account): answering 500 would only make Stripe retry for days. Record
 * the event, keep the order pending with the reason, and leave it to the
 * operator (a problem). */
static int credit_refused_tx(struct cd_tx *tx, struct cd_order *o,
                             const struct cd_paid *paid, const char *event_id,
                             int rc, int64_t now, const char **status)
{
    const char *why = rc == CD_STORE_NOT_FOUND
                          ? "credit refused: account not found"
                          : "credit refused: balance limit";
    struct cd_order_patch refused = {.failure = why};

    cd_error(MOD,
             "event %s: order %s paid but not credited (%s): %" PRId64
             " credits to %s",
             event_id ? event_id : "-", o->id, why, o->credits,
             o->account_id);
    if (paid->pi[0] && !o->stripe_payment_intent_id[0])
        refused.pi = paid->pi;
    *status = CD_WEBHOOK_IGNORED;
    rc = cd_order_patch_tx(tx, o, &refused, now);
    if (rc != CD_STORE_OK)
        return rc;
    return cd_problem_note_tx(tx, CD_PROBLEM_CREDIT_REFUSED, o, event_id,
                              "Paid, but %" PRId64 " credits could not "
                              "be credited to %s: %s.",
                              o->credits, o->account_id, why);
}

/* The order's discount code counted as used (once per order). */
static int count_discount_tx(struct cd_tx *tx, const struct cd_order *o,
                             int64_t now)
{
    struct cd_discount d;
    int rc;

    /* Checkout refuses a code once its uses plus its pending orders
     * reach max_uses, so this only happens for a payment of an order
     * pending for over 24 h: the buyer paid, so fulfil and count. */
    if (cd_store_discount_get(tx, o->discount_code, &d) == CD_STORE_OK &&
        d.max_uses > 0 && d.times_used >= d.max_uses)
        cd_warn(MOD,
                "order %s: discount code %s was used up (%" PRId64
                " of %" PRId64 ") before this payment; fulfilled and "
                "counted anyway",
                o->id, d.code, d.times_used, d.max_uses);
    rc = cd_store_discount_use(tx, o->discount_code, o->id, now);
    return rc == CD_STORE_ERROR ? rc : CD_STORE_OK;
}

/* The credit was made before, through another event or reconciliation
 * (or, for an invoice credited before its period had an order, by an
 * older version: the order is completed now). */
static int credited_before_tx(struct cd_tx *tx, struct cd_order *o, int dirty,
                              int64_t now, const char **status)
{
    struct cd_order_patch seen = {.dirty = dirty};

    *status = CD_WEBHOOK_PROCESSED;
    if (cd_order_is(o, CD_ORDER_PENDING) && !o->completed_at) {
        seen.move = seen.complete = 1;
        seen.to = CD_ORDER_COMPLETED;
    }
    return cd_order_patch_tx(tx, o, &seen, now);
}

/* The credited order completed, with its payment row, its customer, its
 * discount's use, its receipt and its order.completed event. */
static int complete_tx(struct cd_tx *tx, struct cd_order *o,
                       const struct cd_paid *paid,
                       const struct cd_ledger_entry *le, int64_t now)
{
    struct cd_order_patch done = {.move = 1,
                                  .to = CD_ORDER_COMPLETED,
                                  .failure = "",
                                  .pi = paid->pi[0] ? paid->pi : NULL};
    /* An order completed before (invoice.paid first) keeps its time. */
    int was_completed = cd_order_is(o, CD_ORDER_COMPLETED);
    int rc;

    done.complete = !was_completed;
    rc = cd_order_patch_tx(tx, o, &done, now);
    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_order_payment_tx(tx, o, paid, now);
    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_order_save_customer_tx(tx, o, paid);
    if (rc != CD_STORE_OK)
        return rc;
    if (o->discount_code[0] && count_discount_tx(tx, o, now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* The receipt, in this same job: queued exactly when the order is
     * credited, once (dedupe key order:<id>:receipt). */
    rc = cd_mail_receipt_tx(tx, o, le->amount, le->balance_after, now);
    if (rc == CD_STORE_OK && !was_completed) /* once per order */
        rc = cd_outbox_order_tx(tx, "order.completed", o);
    return rc;
}

int cd_order_credit_tx(struct cd_tx *tx, struct cd_order *o,
                       const struct cd_paid *paid, const char *event_id,
                       int dirty, int64_t now, const char **status)
{
    struct cd_ledger_apply la;
    struct cd_ledger_entry le;
    struct cd_lot_spec spec;
    const char *lk, *late_kind;
    char ref[CD_REF_SZ];
    int rc, late;

    lk = cd_order_ledger_kind(o->kind);
    /* A subscription's checkout order credits only as its first period,
     * once its invoice named it (subscriptions.c). */
    if (!lk && cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION) &&
        o->stripe_invoice_id[0])
        lk = cd_order_ledger_kind("invoice");
    if (!lk) {
        cd_warn(MOD, "order %s: kind %s is not fulfilled here", o->id,
                o->kind);
        *status = CD_WEBHOOK_IGNORED;
        return 0;
    }
    /* Refunded or disputed before the payment was seen: credited all the
     * same, then the clawback takes what those facts say (clawback.h). */
    late = cd_order_after_fulfilment(o->status);
    late_kind = cd_order_is(o, CD_ORDER_DISPUTED) ? "dispute" : "refund";
    cd_clawback_fulfil_ref(o, ref, sizeof(ref));
    memset(&la, 0, sizeof(la));
    la.account_id = o->account_id;
    la.amount = o->credits;
    la.kind = lk;
    la.ref = ref;
    la.order_id = o->id;
    la.description = o->description;
    la.lot = cd_lots_order_spec(o, paid->period_end, now, &spec); /* lots.h */
    rc = cd_ledger_apply_tx(tx, &la, &le);
    if (rc == CD_STORE_DUPLICATE)
        return credited_before_tx(tx, o, dirty, now, status);
    if (rc == CD_LEDGER_LIMIT || rc == CD_LEDGER_INSUFFICIENT ||
        rc == CD_STORE_NOT_FOUND)
        return credit_refused_tx(tx, o, paid, event_id, rc, now, status);
    if (rc != CD_STORE_OK) {
        cd_error(MOD, "order %s: ledger credit failed (%d)", o->id, rc);
        return CD_STORE_ERROR;
    }

    rc = complete_tx(tx, o, paid, &le, now);
    if (rc != CD_STORE_OK)
        return rc;
    if (late && cd_clawback_settle_tx(tx, o, late_kind, now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_info(MOD, "order %s completed: %" PRId64 " credits to %s", o->id,
            o->credits, o->account_id);
    *status = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_order_event_run(struct cd_billing *b, cd_store_job_fn fn, void *arg,
                       const char *event_id, const char *type,
                       const char *const *job_status, const char **status_out,
                       struct cd_error *err)
{
    return cd_order_event_run_keyed(b, NULL, fn, arg, event_id, type,
                                    job_status, status_out, err);
}

int cd_order_event_run_keyed(struct cd_billing *b, const char *key,
                             cd_store_job_fn fn, void *arg,
                             const char *event_id, const char *type,
                             const char *const *job_status,
                             const char **status_out, struct cd_error *err)
{
    return cd_order_event_outcome(
        cd_store_write_keyed(b->store, key, fn, arg), event_id, type,
        job_status, status_out, err);
}

int cd_order_event_outcome(int rc, const char *event_id, const char *type,
                           const char *const *job_status,
                           const char **status_out, struct cd_error *err)
{
    if (rc != 0) {
        cd_error(MOD, "event %s (%s): not committed (%d)",
                 event_id ? event_id : "-", type ? type : "-", rc);
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be recorded; retry.");
    }
    cd_debug(MOD, "event %s (%s): %s", event_id ? event_id : "-",
             type ? type : "-", *job_status ? *job_status : "-");
    *status_out = *job_status ? *job_status : CD_WEBHOOK_IGNORED;
    return 0;
}
