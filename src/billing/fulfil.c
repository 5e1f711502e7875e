/*
 * fulfil.c - Stripe events into effects; see fulfil.h.
 *
 * Shape of every event: (1) verify the signature over the raw bytes, (2)
 * parse and bound what we need from data.object into a plain struct, (3)
 * one write job, never a call to Stripe on the way (the card's last4
 * comes with the charge events, charges.c): record the event id (a duplicate stops
 * here), re-read the order, check it against the event, apply the effects.
 * Event types (and session modes) we do not act on get no job at all: the
 * answer is "ignored" and the id is NOT recorded, so when a later version
 * learns to handle them Stripe's redeliveries and reconciliation still
 * reach it instead of answering "duplicate". payment_intent.* go to
 * topups.c, charge.refunded and charge.dispute.* to refunds.c,
 * customer.subscription.* and invoice.paid to subscriptions.c; the parts
 * they share with Checkout fulfilment (credit an order, record the event)
 * are here, declared in fulfil_int.h.
 * The job's decisions use only what it read inside the transaction, so
 * concurrent deliveries of two events for one session are safe: the
 * ledger's unique ref "order:<id>:fulfil" lets exactly one of them credit.
 */
#include "billing/fulfil.h"
#include "billing/fulfil_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "billing/charges.h"
#include "billing/clawback.h"
#include "billing/ledger.h"
#include "billing/lots.h"
#include "billing/mail.h"
#include "billing/order_open.h"
#include "billing/outbox.h"
#include "billing/orders.h"
#include "billing/problems.h"
#include "stripe/object.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "fulfil"
#define DEFAULT_TOLERANCE 300
#define EVENT_TYPE_MAX 128

enum action {
    ACT_NONE,    /* not handled: no job, nothing recorded ("ignored") */
    ACT_NOTE,    /* record it, remember the session id ("processed") */
    ACT_FULFIL,  /* paid: complete the order and credit */
    ACT_FAIL,    /* async payment failed: pending order -> failed */
    ACT_EXPIRE,  /* session expired: pending order -> expired */
    ACT_SUBSCRIBE, /* subscription mode, paid: order completed, no credit */
};

/* What we use of a Checkout Session, bounded. Empty string: absent. */
struct session {
    char id[CD_SID_SZ];
    char order_id[CD_ID_SZ];     /* metadata.order_id or client_reference_id */
    char meta_account[CD_ID_SZ]; /* metadata.account_id */
    char mode[24];
    char status[24];
    char payment_status[32];
    int has_amount;
    int64_t amount_total;
    char currency[CD_CUR_SZ];
    char pi[CD_SID_SZ];
    char customer[CD_SID_SZ];
};

struct job {
    const char *event_id; /* NULL: record nothing */
    const char *type;
    enum action act;
    const struct session *s;
    const struct cd_paid *c; /* card details from Stripe, maybe empty */
    const char *failure_reason;
    const char *status; /* out */
};

/* ---- small JSON readers -------------------------------------------------- */

#define str_or_id cd_stripe_str_or_id

static void parse_session(const json_t *o, struct session *s)
{
    const json_t *meta = json_object_get(o, "metadata");
    const json_t *amt = json_object_get(o, "amount_total");

    memset(s, 0, sizeof(*s));
    str_or_id(o, "id", s->id, sizeof(s->id));
    if (json_is_object(meta)) {
        str_or_id(meta, "order_id", s->order_id, sizeof(s->order_id));
        str_or_id(meta, "account_id", s->meta_account,
                  sizeof(s->meta_account));
    }
    if (!s->order_id[0])
        str_or_id(o, "client_reference_id", s->order_id,
                  sizeof(s->order_id));
    str_or_id(o, "mode", s->mode, sizeof(s->mode));
    str_or_id(o, "status", s->status, sizeof(s->status));
    str_or_id(o, "payment_status", s->payment_status,
              sizeof(s->payment_status));
    if (json_is_integer(amt)) {
        s->has_amount = 1;
        s->amount_total = json_integer_value(amt);
    }
    str_or_id(o, "currency", s->currency, sizeof(s->currency));
    str_or_id(o, "payment_intent", s->pi, sizeof(s->pi));
    str_or_id(o, "customer", s->customer, sizeof(s->customer));
}

/* Card details of a payment; failures leave c as it was (pi set). */
void cd_fulfil_fetch_card(struct cd_billing *b, const char *pi,
                          struct cd_paid *c)
{
    char path[CD_SID_SZ + 32];
    json_t *params, *resp = NULL, *ch, *last4;
    struct cd_error err;
    const char *sfu;

    if (pi != c->pi)
        cd_strlcpy(c->pi, pi, sizeof(c->pi));
    if (!b->stripe || !pi[0] || !cd_stripe_safe_id(pi))
        return;
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    params = json_pack("{s:[s]}", "expand", "latest_charge");
    if (!params)
        return;
    if (cd_stripe_request(b->stripe, "GET", path, params, NULL, &resp, NULL,
                          &err) != 0) {
        cd_warn(MOD, "payment intent %s: no card details (%s)", pi,
                err.message);
        goto out;
    }
    str_or_id(resp, "customer", c->customer, sizeof(c->customer));
    sfu = json_string_value(json_object_get(resp, "setup_future_usage"));
    if (json_object_get(resp, "setup_future_usage")) {
        c->sfu_known = 1;
        c->sfu_off_session = sfu && strcmp(sfu, "off_session") == 0;
    }
    ch = json_object_get(resp, "latest_charge");
    if (json_is_string(ch)) {
        cd_strlcpy(c->charge, json_string_value(ch), sizeof(c->charge));
    } else if (json_is_object(ch)) {
        str_or_id(ch, "id", c->charge, sizeof(c->charge));
        last4 = json_object_get(
            json_object_get(json_object_get(ch, "payment_method_details"),
                            "card"),
            "last4");
        if (json_is_string(last4) &&
            strlen(json_string_value(last4)) < sizeof(c->last4))
            cd_strlcpy(c->last4, json_string_value(last4), sizeof(c->last4));
    }
out:
    json_decref(params);
    json_decref(resp);
}

/* ---- the write job ------------------------------------------------------- */

const char *cd_fulfil_ledger_kind(const char *order_kind)
{
    if (strcmp(order_kind, "access") == 0)
        return "purchase";
    if (strcmp(order_kind, "topup") == 0)
        return "topup";
    if (strcmp(order_kind, "package") == 0)
        return "package";
    if (strcmp(order_kind, "payment_intent") == 0)
        return "purchase";
    if (strcmp(order_kind, "invoice") == 0)
        return "subscription";
    return NULL;
}

int cd_fulfil_after_fulfilment(const char *status)
{
    return strcmp(status, "refunded") == 0 ||
           strcmp(status, "partially_refunded") == 0 ||
           strcmp(status, "disputed") == 0;
}

int cd_fulfil_record_event_tx(struct cd_tx *tx, const char *event_id,
                              const char *type, const char **status)
{
    int rc;

    if (!event_id)
        return 0;
    rc = cd_store_event_insert(tx, event_id, type ? type : "", cd_now());
    if (rc == CD_STORE_DUPLICATE) {
        *status = CD_FULFIL_DUPLICATE;
        return 1;
    }
    return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

int cd_fulfil_open_order_tx(struct cd_tx *tx, const char *event_id,
                            const char *type, const char *order_id,
                            struct cd_order *o, const char **status)
{
    int rc;

    /* The order first: an event about no order of ours is not recorded
     * (its id stays free for a delivery that finds the order). */
    *status = CD_FULFIL_IGNORED;
    rc = cd_store_order_get(tx, order_id, o);
    if (rc == CD_STORE_NOT_FOUND)
        return 1;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_fulfil_record_event_tx(tx, event_id, type, status);
    if (rc != 0)
        return rc;
    *status = CD_FULFIL_IGNORED;
    return 0;
}

/* The payment row of a fulfilled order: inserted, or a pending/failed one
 * brought up to date. */
static int record_payment(struct cd_tx *tx, const struct cd_order *o,
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
            return CD_STORE_OK;
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

/* A failed payment row (async payment failed); an existing row stays. */
static int record_failed_payment(struct cd_tx *tx, const struct cd_order *o,
                                 const struct session *s, const char *reason,
                                 int64_t now)
{
    struct cd_payment p;
    int rc;

    rc = cd_store_payment_by_order(tx, o->id, &p);
    if (rc == CD_STORE_OK)
        return CD_STORE_OK;
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    cd_order_failed_payment(o, s->pi, NULL, reason, now, &p);
    rc = cd_store_payment_insert(tx, &p);
    return rc == CD_STORE_DUPLICATE ? CD_STORE_OK : rc;
}

/* The customer Stripe used (or created) for this payment, on the account;
 * a card saved for off-session use marks has_saved_payment_method. */
static int save_customer(struct cd_tx *tx, const struct cd_order *o,
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
        cd_warn(MOD, "order %s: customer %s belongs to another account; "
                     "not saved", o->id, cus);
        return CD_STORE_OK;
    }
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_OK : rc;
}

int cd_fulfil_credit_tx(struct cd_tx *tx, struct cd_order *o,
                        const struct cd_paid *paid, const char *event_id,
                        int dirty, int64_t now, const char **status)
{
    struct cd_ledger_apply la;
    struct cd_ledger_entry le;
    struct cd_lot_spec spec;
    const char *lk, *late_kind;
    char ref[CD_REF_SZ];
    int rc, late;

    lk = cd_fulfil_ledger_kind(o->kind);
    if (!lk) {
        cd_warn(MOD, "order %s: kind %s is not fulfilled here", o->id,
                o->kind);
        *status = CD_FULFIL_IGNORED;
        return 0;
    }
    /* Refunded or disputed before the payment was seen: credited all the
     * same, then the clawback takes what those facts say (clawback.h). */
    late = cd_fulfil_after_fulfilment(o->status);
    late_kind = strcmp(o->status, "disputed") == 0 ? "dispute" : "refund";
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
    if (rc == CD_STORE_DUPLICATE) {
        /* Fulfilled before, through another event or reconciliation (or,
         * for an invoice credited before its period had an order, by an
         * older version: the order is completed now). */
        *status = CD_FULFIL_PROCESSED;
        if (strcmp(o->status, "pending") == 0 && !o->completed_at) {
            cd_strlcpy(o->status, "completed", sizeof(o->status));
            o->completed_at = o->updated_at = now;
            dirty = 1;
        }
        return dirty ? cd_store_order_update(tx, o) : 0;
    }
    if (rc == CD_LEDGER_LIMIT || rc == CD_LEDGER_INSUFFICIENT ||
        rc == CD_STORE_NOT_FOUND) {
        /* The ledger refuses this credit for good: answering 500 would
         * only make Stripe retry for days. Record the event, keep the
         * order pending with the reason, and leave it to the operator. */
        const char *why = rc == CD_STORE_NOT_FOUND
                              ? "credit refused: account not found"
                              : "credit refused: balance limit";
        cd_error(MOD,
                 "event %s: order %s paid but not credited (%s): %" PRId64
                 " credits to %s",
                 event_id ? event_id : "-", o->id, why, o->credits,
                 o->account_id);
        cd_strlcpy(o->failure_reason, why, sizeof(o->failure_reason));
        if (paid->pi[0] && !o->stripe_payment_intent_id[0])
            cd_strlcpy(o->stripe_payment_intent_id, paid->pi,
                       sizeof(o->stripe_payment_intent_id));
        o->updated_at = now;
        *status = CD_FULFIL_IGNORED;
        rc = cd_store_order_update(tx, o);
        if (rc != CD_STORE_OK)
            return rc;
        return cd_problem_note_tx(tx, CD_PROBLEM_CREDIT_REFUSED, o, event_id,
                                  "Paid, but %" PRId64 " credits could not "
                                  "be credited to %s: %s.",
                                  o->credits, o->account_id, why);
    }
    if (rc != CD_STORE_OK) {
        cd_error(MOD, "order %s: ledger credit failed (%d)", o->id, rc);
        return CD_STORE_ERROR;
    }

    cd_strlcpy(o->status, "completed", sizeof(o->status));
    o->completed_at = now;
    o->updated_at = now;
    o->failure_reason[0] = '\0';
    if (paid->pi[0])
        cd_strlcpy(o->stripe_payment_intent_id, paid->pi,
                   sizeof(o->stripe_payment_intent_id));
    rc = cd_store_order_update(tx, o);
    if (rc != CD_STORE_OK)
        return rc;
    rc = record_payment(tx, o, paid, now);
    if (rc != CD_STORE_OK)
        return rc;
    rc = save_customer(tx, o, paid);
    if (rc != CD_STORE_OK)
        return rc;
    if (o->discount_code[0]) {
        struct cd_discount d;
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
        if (rc == CD_STORE_ERROR)
            return rc;
    }
    /* The receipt, in this same job: queued exactly when the order is
     * credited, once (dedupe key order:<id>:receipt). */
    rc = cd_mail_receipt_tx(tx, o, le.amount, le.balance_after, now);
    if (rc == CD_STORE_OK)
        rc = cd_outbox_order_tx(tx, "order.completed", o);
    if (rc != CD_STORE_OK)
        return rc;
    if (late && cd_clawback_settle_tx(tx, o, late_kind, now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_info(MOD, "order %s completed: %" PRId64 " credits to %s", o->id,
            o->credits, o->account_id);
    *status = CD_FULFIL_PROCESSED;
    return 0;
}

static int fulfil_tx(struct cd_tx *tx, struct job *j, struct cd_order *o,
                     int dirty, int64_t now)
{
    const struct session *s = j->s;
    struct cd_paid paid = *j->c;

    if (!s->has_amount || s->amount_total != o->amount_cents ||
        strcasecmp(s->currency, o->currency) != 0) {
        j->status = CD_FULFIL_IGNORED;
        return cd_problem_note_tx(
            tx, CD_PROBLEM_AMOUNT_MISMATCH, o, j->event_id,
            "Checkout session %s paid %" PRId64 " %s, but the order is %" PRId64
            " %s: not credited.",
            s->id, s->amount_total, s->currency, o->amount_cents, o->currency);
    }
    if (strcmp(o->kind, "payment_intent") == 0) {
        cd_warn(MOD, "order %s: kind %s is not fulfilled by checkout", o->id,
                o->kind);
        j->status = CD_FULFIL_IGNORED;
        return 0;
    }
    cd_strlcpy(paid.pi, s->pi, sizeof(paid.pi));
    if (s->customer[0])
        cd_strlcpy(paid.customer, s->customer, sizeof(paid.customer));
    return cd_fulfil_credit_tx(tx, o, &paid, j->event_id, dirty, now,
                               &j->status);
}

/*
 * A paid subscription-mode session: the order is completed, the payment
 * recorded (the session's amount) and the customer saved - Checkout
 * attached the card to it for the renewals - but nothing is credited:
 * the first invoice's invoice.paid grants the first period (credits here
 * too would grant it twice). Once completed, a repeat changes nothing.
 */
static int subscribe_tx(struct cd_tx *tx, struct job *j, struct cd_order *o,
                        int dirty, int64_t now)
{
    const struct session *s = j->s;
    struct cd_paid paid = *j->c;
    int rc;

    if (strcmp(o->kind, "subscription") != 0) {
        cd_warn(MOD, "event %s: subscription-mode session %s but order %s "
                     "is kind %s: ignored",
                j->event_id ? j->event_id : "-", s->id, o->id, o->kind);
        j->status = CD_FULFIL_IGNORED;
        return dirty ? cd_store_order_update(tx, o) : 0;
    }
    if (!s->has_amount || s->amount_total != o->amount_cents ||
        strcasecmp(s->currency, o->currency) != 0) {
        cd_error(MOD,
                 "event %s: session %s pays %" PRId64 " %s but order %s is "
                 "%" PRId64 " %s: not completed",
                 j->event_id ? j->event_id : "-", s->id, s->amount_total,
                 s->currency, o->id, o->amount_cents, o->currency);
        j->status = CD_FULFIL_IGNORED;
        return dirty ? cd_store_order_update(tx, o) : 0;
    }
    j->status = CD_FULFIL_PROCESSED;
    if (strcmp(o->status, "pending") != 0 &&
        strcmp(o->status, "failed") != 0 && strcmp(o->status, "expired") != 0)
        return dirty ? cd_store_order_update(tx, o) : 0;
    cd_strlcpy(o->status, "completed", sizeof(o->status));
    o->completed_at = now;
    o->updated_at = now;
    o->failure_reason[0] = '\0';
    rc = cd_store_order_update(tx, o);
    if (rc != CD_STORE_OK)
        return rc;
    cd_strlcpy(paid.pi, s->pi, sizeof(paid.pi));
    if (s->customer[0])
        cd_strlcpy(paid.customer, s->customer, sizeof(paid.customer));
    rc = record_payment(tx, o, &paid, now);
    if (rc != CD_STORE_OK)
        return rc;
    rc = save_customer(tx, o, &paid);
    if (rc == CD_STORE_OK)
        rc = cd_outbox_order_tx(tx, "order.completed", o);
    if (rc != CD_STORE_OK)
        return rc;
    cd_info(MOD, "order %s completed: subscription started for %s (credits "
                 "come with its invoices)",
            o->id, o->account_id);
    return 0;
}

/* The order a session names: metadata.order_id or client_reference_id,
 * else the order holding the session id. */
static int session_order(struct cd_tx *tx, const struct session *s,
                         struct cd_order *o)
{
    int rc = CD_STORE_NOT_FOUND;

    if (s->order_id[0])
        rc = cd_store_order_get(tx, s->order_id, o);
    if (rc == CD_STORE_NOT_FOUND && s->id[0])
        rc = cd_store_order_by_session(tx, s->id, o);
    return rc;
}

/* The session is this order's: 1, else 0 (logged). */
static int session_matches(const struct job *j, const struct cd_order *o)
{
    const struct session *s = j->s;

    if (!s->meta_account[0] || strcmp(s->meta_account, o->account_id) != 0) {
        cd_warn(MOD,
                "event %s: session %s names account %s but order %s is "
                "account %s's: ignored",
                j->event_id ? j->event_id : "-", s->id,
                s->meta_account[0] ? s->meta_account : "(none)", o->id,
                o->account_id);
        return 0;
    }
    if (!s->id[0] ||
        (o->stripe_session_id[0] && strcmp(o->stripe_session_id, s->id) != 0)) {
        cd_warn(MOD, "event %s: session %s does not match order %s's "
                     "session %s: ignored",
                j->event_id ? j->event_id : "-", s->id, o->id,
                o->stripe_session_id);
        return 0;
    }
    return 1;
}

static int job_apply(struct cd_tx *tx, void *arg)
{
    struct job *j = arg;
    const struct session *s = j->s;
    struct cd_order o;
    int64_t now = cd_now();
    int rc, dirty = 0;

    j->status = CD_FULFIL_IGNORED;
    rc = session_order(tx, s, &o);
    if (rc == CD_STORE_NOT_FOUND) {
        /* Not ours: nothing written, the event id not recorded. */
        cd_warn(MOD, "event %s: session %s has no order here: ignored",
                j->event_id ? j->event_id : "-", s->id);
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_fulfil_record_event_tx(tx, j->event_id, j->type, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (!session_matches(j, &o))
        return 0;
    if (!o.stripe_session_id[0]) {
        /* The crash window between creating the session and storing it. */
        cd_strlcpy(o.stripe_session_id, s->id, sizeof(o.stripe_session_id));
        o.updated_at = now;
        dirty = 1;
    }

    switch (j->act) {
    case ACT_NOTE:
        j->status = CD_FULFIL_PROCESSED;
        return dirty ? cd_store_order_update(tx, &o) : 0;
    case ACT_EXPIRE:
        if (strcmp(o.status, "pending") == 0) {
            cd_strlcpy(o.status, "expired", sizeof(o.status));
            o.updated_at = now;
            dirty = 1;
            cd_info(MOD, "order %s expired", o.id);
        }
        j->status = CD_FULFIL_PROCESSED;
        return dirty ? cd_store_order_update(tx, &o) : 0;
    case ACT_FAIL:
        if (strcmp(o.status, "pending") == 0) {
            cd_strlcpy(o.status, "failed", sizeof(o.status));
            cd_strlcpy(o.failure_reason, j->failure_reason,
                       sizeof(o.failure_reason));
            o.updated_at = now;
            rc = cd_store_order_update(tx, &o);
            if (rc != CD_STORE_OK)
                return rc;
            dirty = 0;
            rc = record_failed_payment(tx, &o, s, j->failure_reason, now);
            if (rc == CD_STORE_OK)
                rc = cd_outbox_order_tx(tx, "payment.failed", &o);
            if (rc != CD_STORE_OK)
                return rc;
            cd_info(MOD, "order %s failed: %s", o.id, j->failure_reason);
        }
        j->status = CD_FULFIL_PROCESSED;
        return dirty ? cd_store_order_update(tx, &o) : 0;
    case ACT_FULFIL:
        return fulfil_tx(tx, j, &o, dirty, now);
    case ACT_SUBSCRIBE:
        return subscribe_tx(tx, j, &o, dirty, now);
    case ACT_NONE:
        break;
    }
    return 0;
}

/* ---- entry points -------------------------------------------------------- */

int cd_fulfil_run_job(struct cd_billing *b, cd_store_job_fn fn, void *arg,
                      const char *event_id, const char *type,
                      const char *const *job_status, const char **status_out,
                      struct cd_error *err)
{
    int rc = cd_store_write(b->store, fn, arg);

    if (rc != 0) {
        cd_error(MOD, "event %s (%s): not committed (%d)",
                 event_id ? event_id : "-", type ? type : "-", rc);
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be recorded; retry.");
    }
    cd_debug(MOD, "event %s (%s): %s", event_id ? event_id : "-",
             type ? type : "-", *job_status ? *job_status : "-");
    *status_out = *job_status ? *job_status : CD_FULFIL_IGNORED;
    return 0;
}

static int run_job(struct cd_billing *b, struct job *j, const char **status_out,
                   struct cd_error *err)
{
    return cd_fulfil_run_job(b, job_apply, j, j->event_id, j->type,
                             &j->status, status_out, err);
}

int cd_fulfil_session(struct cd_billing *b, const char *event_id,
                      const char *type, const json_t *session,
                      const char **status_out, struct cd_error *err)
{
    struct session s;
    struct cd_paid c;
    struct job j;
    const char *ps;

    memset(&c, 0, sizeof(c));
    memset(&j, 0, sizeof(j));
    parse_session(session, &s);
    ps = s.payment_status;
    j.event_id = event_id;
    j.s = &s;
    j.c = &c;
    j.act = ACT_NONE;

    if (!type) {
        /* Reconciliation: what the session is now. */
        if (strcmp(s.status, "complete") == 0)
            type = "checkout.session.completed";
        else if (strcmp(s.status, "expired") == 0)
            type = "checkout.session.expired";
        else
            type = "checkout.session.open";
    }
    j.type = type;

    if (strcmp(s.mode, "subscription") == 0) {
        /* Credits come from invoice.paid (subscriptions.c); the session
         * completes the order. */
        if ((strcmp(type, "checkout.session.completed") == 0 ||
             strcmp(type, "checkout.session.async_payment_succeeded") ==
                 0) &&
            (strcmp(ps, "paid") == 0 ||
             strcmp(ps, "no_payment_required") == 0))
            j.act = ACT_SUBSCRIBE;
        else if (strcmp(type, "checkout.session.expired") == 0)
            j.act = ACT_EXPIRE;
    } else if (s.mode[0] && strcmp(s.mode, "payment") != 0) {
        j.act = ACT_NONE; /* setup mode: not ours */
    } else if (strcmp(type, "checkout.session.completed") == 0) {
        if (strcmp(ps, "paid") == 0 || strcmp(ps, "no_payment_required") == 0)
            j.act = ACT_FULFIL;
        else
            j.act = ACT_NOTE; /* unpaid: wait for the async events */
    } else if (strcmp(type, "checkout.session.async_payment_succeeded") ==
               0) {
        j.act = strcmp(ps, "unpaid") == 0 ? ACT_NOTE : ACT_FULFIL;
    } else if (strcmp(type, "checkout.session.async_payment_failed") == 0) {
        j.act = ACT_FAIL;
        j.failure_reason = "The payment failed.";
    } else if (strcmp(type, "checkout.session.expired") == 0) {
        j.act = ACT_EXPIRE;
    }

    if (j.act == ACT_NONE) {
        /* Not ours to act on (another checkout.session.* type, a setup-
         * mode session, an unpaid subscription-mode one): nothing
         * recorded, see the top. */
        cd_debug(MOD, "event %s (%s): not handled, not recorded",
                 event_id ? event_id : "-", type);
        *status_out = CD_FULFIL_IGNORED;
        return 0;
    }

    /* No call to Stripe: the reply depends on the database only. The
     * card's last4 and the charge id come with charge.succeeded /
     * charge.updated (cd_fulfil_charge_card), before or after this. */
    return run_job(b, &j, status_out, err);
}

/* Which handler takes which event type: an exact type, or a prefix. */
typedef int (*event_fn)(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err);

static int charge_refunded(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *obj,
                           const char **status_out, struct cd_error *err)
{
    (void)type;
    return cd_fulfil_charge_refunded(b, event_id, obj, status_out, err);
}

static int invoice_paid(struct cd_billing *b, const char *event_id,
                        const char *type, const json_t *obj,
                        const char **status_out, struct cd_error *err)
{
    (void)type;
    return cd_fulfil_invoice_paid(b, event_id, obj, status_out, err);
}

static const struct {
    const char *type;
    int prefix;
    event_fn fn;
} handlers[] = {
    {"checkout.session.", 1, cd_fulfil_session},
    {"payment_intent.succeeded", 0, cd_fulfil_payment_intent},
    {"payment_intent.payment_failed", 0, cd_fulfil_payment_intent},
    {"charge.refunded", 0, charge_refunded},
    {"charge.succeeded", 0, cd_fulfil_charge_card},
    {"charge.updated", 0, cd_fulfil_charge_card},
    {"refund.created", 0, cd_fulfil_refund},
    {"refund.updated", 0, cd_fulfil_refund},
    {"refund.failed", 0, cd_fulfil_refund},
    {"charge.refund.updated", 0, cd_fulfil_refund},
    {"charge.dispute.created", 0, cd_fulfil_dispute},
    {"charge.dispute.updated", 0, cd_fulfil_dispute},
    {"charge.dispute.closed", 0, cd_fulfil_dispute},
    {"customer.subscription.created", 0, cd_fulfil_subscription},
    {"customer.subscription.updated", 0, cd_fulfil_subscription},
    {"customer.subscription.deleted", 0, cd_fulfil_subscription},
    {"invoice.paid", 0, invoice_paid},
};

int cd_fulfil_event_json(struct cd_billing *b, const json_t *event,
                         const char **status_out, struct cd_error *err)
{
    const char *id, *type;
    const json_t *data, *obj;
    size_t i;

    id = json_string_value(json_object_get(event, "id"));
    type = json_string_value(json_object_get(event, "type"));
    data = json_object_get(event, "data");
    obj = json_object_get(data, "object");
    if (!json_is_object(event) || !id || strncmp(id, "evt_", 4) != 0 ||
        strlen(id) >= CD_SID_SZ || !type || !type[0] ||
        strlen(type) >= EVENT_TYPE_MAX || !json_is_object(obj))
        return cd_error_set(err, CD_EK_INVALID, "invalid_event", NULL,
                            "Not a Stripe event (id, type and data.object "
                            "are required).");

    for (i = 0; i < CD_ARRAY_LEN(handlers); i++)
        if (strcmp(type, handlers[i].type) == 0 ||
            (handlers[i].prefix &&
             strncmp(type, handlers[i].type, strlen(handlers[i].type)) == 0))
            return handlers[i].fn(b, id, type, obj, status_out, err);
    /* Anything else: "ignored" and NOT recorded (no write job), so the
     * id is not burnt for a version that will handle the type. */
    cd_debug(MOD, "event %s (%s): not handled, not recorded", id, type);
    *status_out = CD_FULFIL_IGNORED;
    return 0;
}

/* Guards cfg.webhook_secrets of every cd_billing: SIGHUP replaces them
 * (cd_fulfil_set_webhook_secrets) while webhooks are being verified. */
static pthread_mutex_t secrets_mu = PTHREAD_MUTEX_INITIALIZER;

void cd_fulfil_set_webhook_secrets(struct cd_billing *b, const char *list)
{
    pthread_mutex_lock(&secrets_mu);
    cd_strlcpy(b->cfg.webhook_secrets, list ? list : "",
               sizeof(b->cfg.webhook_secrets));
    pthread_mutex_unlock(&secrets_mu);
}

static void webhook_secrets(struct cd_billing *b, char *out, size_t outsz)
{
    pthread_mutex_lock(&secrets_mu);
    cd_strlcpy(out, b->cfg.webhook_secrets, outsz);
    pthread_mutex_unlock(&secrets_mu);
}

/* cd_fulfil_event without the metric; *type receives the verified
 * event's type (or stays ""). */
static int verify_and_apply(struct cd_billing *b, const char *body,
                            size_t len, const char *sig_header,
                            const char **status_out, char *type,
                            size_t typesz, struct cd_error *err)
{
    enum cd_sig_result sr;
    json_t *event;
    json_error_t jerr;
    int64_t tol = b->cfg.webhook_tolerance > 0 ? b->cfg.webhook_tolerance
                                               : DEFAULT_TOLERANCE;
    char secrets[sizeof(b->cfg.webhook_secrets)];
    int rc;

    *status_out = NULL;
    webhook_secrets(b, secrets, sizeof(secrets));
    if (!secrets[0])
        return cd_error_set(err, CD_EK_UNAVAILABLE,
                            "webhook_secret_not_configured", NULL,
                            "No Stripe webhook secret is configured.");
    sr = cd_stripe_sig_verify(sig_header, body, len, secrets, cd_now(), tol);
    sodium_memzero(secrets, sizeof(secrets));
    switch (sr) {
    case CD_SIG_OK:
        break;
    case CD_SIG_NO_SECRET:
        return cd_error_set(err, CD_EK_UNAVAILABLE,
                            "webhook_secret_not_configured", NULL,
                            "No Stripe webhook secret is configured.");
    case CD_SIG_TIMESTAMP:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        return cd_error_set(err, CD_EK_INVALID, "timestamp_out_of_tolerance",
                            NULL, "%s", cd_stripe_sig_strerror(sr));
    default:
        cd_warn(MOD, "webhook refused: %s", cd_stripe_sig_strerror(sr));
        return cd_error_set(err, CD_EK_INVALID, "invalid_signature", NULL,
                            "%s", cd_stripe_sig_strerror(sr));
    }

    event = json_loadb(body, len, 0, &jerr);
    if (!event)
        return cd_error_set(err, CD_EK_INVALID, "invalid_json", NULL,
                            "The event is not valid JSON.");
    if (json_is_string(json_object_get(event, "type")))
        cd_strlcpy(type, json_string_value(json_object_get(event, "type")),
                   typesz);
    rc = cd_fulfil_event_json(b, event, status_out, err);
    json_decref(event);
    return rc;
}

int cd_fulfil_event(struct cd_billing *b, const char *body, size_t len,
                    const char *sig_header, const char **status_out,
                    struct cd_error *err)
{
    static const struct cd_metric_def events = {
        "creditd_webhook_events_total",
        "Stripe webhook deliveries by event type and outcome "
        "(processed, duplicate, ignored, error).",
        CD_METRIC_COUNTER, {"type", "outcome"}, NULL, 0};
    char type[EVENT_TYPE_MAX] = "";
    int rc = verify_and_apply(b, body, len, sig_header, status_out, type,
                              sizeof(type), err);

    cd_metrics_add(NULL, &events, 1, type[0] ? type : "unknown",
                   rc == 0 && *status_out ? *status_out : "error", NULL);
    return rc;
}
