/*
 * checkout_session.c - the Checkout Session events
 * (checkout.session.completed / .async_payment_succeeded /
 * .async_payment_failed / .expired) into effects; see checkout_session.h.
 *
 * One write job per event, never a call to Stripe on the way (the card's
 * last4 comes with the charge events, charges.c): record the event id (a
 * duplicate stops here), re-read the order, check it against the session,
 * apply the effects; crediting is order_credit.c's. A session (or mode) we
 * do not act on gets no job at all: "ignored", the id NOT recorded.
 * The job's decisions use only what it read inside the transaction, so
 * concurrent deliveries of two events for one session are safe: the
 * ledger's unique ref "order:<id>:fulfil" lets exactly one of them credit.
 */
#include "billing/checkout_session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "billing/order_credit.h"
#include "billing/order_open.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/outbox.h"
#include "billing/problems.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "fulfil"

enum action {
    ACT_NONE,      /* not handled: no job, nothing recorded ("ignored") */
    ACT_NOTE,      /* record it, remember the session id ("processed") */
    ACT_FULFIL,    /* paid: complete the order and credit */
    ACT_FAIL,      /* async payment failed: pending order -> failed */
    ACT_EXPIRE,    /* session expired: pending order -> expired */
    ACT_SUBSCRIBE, /* subscription mode, paid: order completed, no credit */
};

/* What we use of a Checkout Session, bounded. Empty string: absent. */
struct session {
    char id[CD_SID_SZ];
    char order_id[CD_ID_SZ]; /* metadata.order_id or client_reference_id */
    char meta_account[CD_ID_SZ]; /* metadata.account_id */
    char mode[24];
    char status[24];
    char payment_status[32];
    int has_amount;
    int64_t amount_total;
    char currency[CD_CUR_SZ];
    char pi[CD_SID_SZ];
    char customer[CD_SID_SZ];
    char invoice[CD_SID_SZ]; /* subscription mode: its first invoice */
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
        str_or_id(o, "client_reference_id", s->order_id, sizeof(s->order_id));
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
    str_or_id(o, "invoice", s->invoice, sizeof(s->invoice));
    if (strncmp(s->invoice, "in_", 3) != 0 || !cd_stripe_safe_id(s->invoice))
        s->invoice[0] = '\0';
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

static int fulfil_tx(struct cd_tx *tx, struct job *j, struct cd_order *o,
                     int dirty, int64_t now)
{
    const struct session *s = j->s;
    struct cd_paid paid = *j->c;

    if (!s->has_amount || s->amount_total != o->amount_cents ||
        strcasecmp(s->currency, o->currency) != 0) {
        j->status = CD_WEBHOOK_IGNORED;
        return cd_problem_note_tx(
            tx, CD_PROBLEM_AMOUNT_MISMATCH, o, j->event_id,
            "Checkout session %s paid %" PRId64
            " %s, but the order is %" PRId64 " %s: not credited.",
            s->id, s->amount_total, s->currency, o->amount_cents,
            o->currency);
    }
    /* a subscription's order is credited by its invoice only */
    if (cd_order_is_kind(o, CD_ORDER_PAYMENT_INTENT) ||
        cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION)) {
        cd_warn(MOD, "order %s: kind %s is not fulfilled by checkout", o->id,
                o->kind);
        j->status = CD_WEBHOOK_IGNORED;
        return 0;
    }
    cd_strlcpy(paid.pi, s->pi, sizeof(paid.pi));
    if (s->customer[0])
        cd_strlcpy(paid.customer, s->customer, sizeof(paid.customer));
    return cd_order_credit_tx(tx, o, &paid, j->event_id, dirty, now,
                              &j->status);
}

/*
 * The session's first invoice is this order's period (subscriptions.c):
 * the order takes the invoice id (unique), so invoice.paid credits this
 * order. 1 when another order holds it already (an invoice order made
 * before this rule): that order has the period's payment row. 0, 1 or
 * CD_STORE_ERROR.
 */
static int take_invoice_tx(struct cd_tx *tx, const struct session *s,
                           struct cd_order *o, int *dirty)
{
    struct cd_order other;
    int rc;

    if (!s->invoice[0] || o->stripe_invoice_id[0])
        return 0;
    rc = cd_store_order_by_invoice(tx, s->invoice, &other);
    if (rc == CD_STORE_OK)
        return strcmp(other.id, o->id) != 0;
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    cd_strlcpy(o->stripe_invoice_id, s->invoice,
               sizeof(o->stripe_invoice_id));
    *dirty = 1;
    return 0;
}

/*
 * A paid subscription-mode session: the order is completed, the payment
 * recorded (the session's amount) and the customer saved - Checkout
 * attached the card to it for the renewals - but nothing is credited:
 * the first invoice's invoice.paid grants the first period, on this same
 * order (take_invoice_tx). Once completed, a repeat changes nothing; an
 * order that invoice.paid completed first keeps its one payment row.
 */
static int subscribe_tx(struct cd_tx *tx, struct job *j, struct cd_order *o,
                        int dirty, int64_t now)
{
    const struct session *s = j->s;
    struct cd_paid paid = *j->c;
    struct cd_order_patch keep = {.dirty = dirty};
    struct cd_order_patch done = {
        .move = 1, .to = CD_ORDER_COMPLETED, .complete = 1, .failure = ""};
    int rc, elsewhere;

    if (!cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION)) {
        cd_warn(MOD,
                "event %s: subscription-mode session %s but order %s "
                "is kind %s: ignored",
                j->event_id ? j->event_id : "-", s->id, o->id, o->kind);
        j->status = CD_WEBHOOK_IGNORED;
        return cd_order_patch_tx(tx, o, &keep, now);
    }
    if (!s->has_amount || s->amount_total != o->amount_cents ||
        strcasecmp(s->currency, o->currency) != 0) {
        cd_error(MOD,
                 "event %s: session %s pays %" PRId64 " %s but order %s is "
                 "%" PRId64 " %s: not completed",
                 j->event_id ? j->event_id : "-", s->id, s->amount_total,
                 s->currency, o->id, o->amount_cents, o->currency);
        j->status = CD_WEBHOOK_IGNORED;
        return cd_order_patch_tx(tx, o, &keep, now);
    }
    j->status = CD_WEBHOOK_PROCESSED;
    if (!cd_order_is(o, CD_ORDER_PENDING) &&
        !cd_order_is(o, CD_ORDER_FAILED) && !cd_order_is(o, CD_ORDER_EXPIRED))
        return cd_order_patch_tx(tx, o, &keep, now);
    elsewhere = take_invoice_tx(tx, s, o, &dirty);
    if (elsewhere < 0)
        return CD_STORE_ERROR;
    rc = cd_order_patch_tx(tx, o, &done, now);
    if (rc != CD_STORE_OK)
        return rc;
    cd_strlcpy(paid.pi, s->pi, sizeof(paid.pi));
    if (s->customer[0])
        cd_strlcpy(paid.customer, s->customer, sizeof(paid.customer));
    rc = elsewhere ? CD_STORE_OK : cd_order_payment_tx(tx, o, &paid, now);
    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_order_save_customer_tx(tx, o, &paid);
    if (rc == CD_STORE_OK)
        rc = cd_outbox_order_tx(tx, "order.completed", o);
    if (rc != CD_STORE_OK)
        return rc;
    cd_info(MOD,
            "order %s completed: subscription started for %s (credits "
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
    if (!s->id[0] || (o->stripe_session_id[0] &&
                      strcmp(o->stripe_session_id, s->id) != 0)) {
        cd_warn(MOD,
                "event %s: session %s does not match order %s's "
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
    struct cd_order_patch patch = {0};
    int64_t now = cd_now();
    int rc, dirty = 0;

    j->status = CD_WEBHOOK_IGNORED;
    rc = session_order(tx, s, &o);
    if (rc == CD_STORE_NOT_FOUND) {
        /* Not ours: nothing written, the event id not recorded. */
        cd_warn(MOD, "event %s: session %s has no order here: ignored",
                j->event_id ? j->event_id : "-", s->id);
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_order_event_record_tx(tx, j->event_id, j->type, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (!session_matches(j, &o))
        return 0;
    if (!o.stripe_session_id[0]) {
        /* The crash window between creating the session and storing it. */
        struct cd_order_patch fill = {.session_id = s->id};

        dirty = cd_order_patch(&o, &fill, now);
    }
    patch.dirty = dirty;

    switch (j->act) {
    case ACT_NOTE:
        j->status = CD_WEBHOOK_PROCESSED;
        return cd_order_patch_tx(tx, &o, &patch, now);
    case ACT_EXPIRE:
        if (cd_order_is(&o, CD_ORDER_PENDING)) {
            patch.move = 1;
            patch.to = CD_ORDER_EXPIRED;
            cd_info(MOD, "order %s expired", o.id);
        }
        j->status = CD_WEBHOOK_PROCESSED;
        return cd_order_patch_tx(tx, &o, &patch, now);
    case ACT_FAIL:
        if (cd_order_is(&o, CD_ORDER_PENDING)) {
            patch.move = 1;
            patch.to = CD_ORDER_FAILED;
            patch.failure = j->failure_reason;
            rc = cd_order_patch_tx(tx, &o, &patch, now);
            if (rc != CD_STORE_OK)
                return rc;
            memset(&patch, 0, sizeof(patch));
            rc = record_failed_payment(tx, &o, s, j->failure_reason, now);
            if (rc == CD_STORE_OK)
                rc = cd_outbox_order_tx(tx, "payment.failed", &o);
            if (rc != CD_STORE_OK)
                return rc;
            cd_info(MOD, "order %s failed: %s", o.id, j->failure_reason);
        }
        j->status = CD_WEBHOOK_PROCESSED;
        return cd_order_patch_tx(tx, &o, &patch, now);
    case ACT_FULFIL:
        return fulfil_tx(tx, j, &o, dirty, now);
    case ACT_SUBSCRIBE:
        return subscribe_tx(tx, j, &o, dirty, now);
    case ACT_NONE:
        break;
    }
    return 0;
}

/* ---- which action an event takes -------------------------------------- */

enum mode { MODE_PAYMENT, MODE_SUBSCRIPTION };

/* A session's payment_status, as the table reads it. */
#define PS_PAID 1u   /* paid, no_payment_required */
#define PS_UNPAID 2u /* unpaid */
#define PS_OTHER 4u  /* anything else (absent included) */
#define PS_ANY (PS_PAID | PS_UNPAID | PS_OTHER)

/* (mode, event type, payment status) -> action; the first row that
 * matches wins, no row is ACT_NONE (not handled, not recorded). In
 * subscription mode the credits come from invoice.paid (subscriptions.c):
 * the session only completes the order. */
static const struct {
    enum mode mode;
    const char *type;
    unsigned ps;
    enum action act;
} actions[] = {
    {MODE_PAYMENT, "checkout.session.completed", PS_PAID, ACT_FULFIL},
    /* unpaid: wait for the async events */
    {MODE_PAYMENT, "checkout.session.completed", PS_UNPAID | PS_OTHER,
     ACT_NOTE},
    {MODE_PAYMENT, "checkout.session.async_payment_succeeded", PS_UNPAID,
     ACT_NOTE},
    {MODE_PAYMENT, "checkout.session.async_payment_succeeded",
     PS_PAID | PS_OTHER, ACT_FULFIL},
    {MODE_PAYMENT, "checkout.session.async_payment_failed", PS_ANY, ACT_FAIL},
    {MODE_PAYMENT, "checkout.session.expired", PS_ANY, ACT_EXPIRE},
    {MODE_SUBSCRIPTION, "checkout.session.completed", PS_PAID, ACT_SUBSCRIBE},
    {MODE_SUBSCRIPTION, "checkout.session.async_payment_succeeded", PS_PAID,
     ACT_SUBSCRIBE},
    {MODE_SUBSCRIPTION, "checkout.session.expired", PS_ANY, ACT_EXPIRE},
};

static enum action session_action(const struct session *s, const char *type)
{
    const char *ps = s->payment_status;
    unsigned psc;
    enum mode mode;
    size_t i;

    if (strcmp(s->mode, "subscription") == 0)
        mode = MODE_SUBSCRIPTION;
    else if (!s->mode[0] || strcmp(s->mode, "payment") == 0)
        mode = MODE_PAYMENT;
    else
        return ACT_NONE; /* setup mode: not ours */
    if (strcmp(ps, "paid") == 0 || strcmp(ps, "no_payment_required") == 0)
        psc = PS_PAID;
    else if (strcmp(ps, "unpaid") == 0)
        psc = PS_UNPAID;
    else
        psc = PS_OTHER;
    for (i = 0; i < CD_ARRAY_LEN(actions); i++)
        if (actions[i].mode == mode && (actions[i].ps & psc) &&
            strcmp(actions[i].type, type) == 0)
            return actions[i].act;
    return ACT_NONE;
}

/* ---- entry point -------------------------------------------------------- */

/* A prepared event's job and what it points to, in one allocation. */
struct later {
    struct job j;
    struct session s;
    struct cd_paid c;
};

int cd_checkout_prep_session(struct cd_billing *b, const char *event_id,
                             const char *type, const json_t *session,
                             struct cd_event_job *job,
                             const char **status_out, struct cd_error *err)
{
    struct later *l = calloc(1, sizeof(*l));

    (void)b;
    memset(job, 0, sizeof(*job));
    if (!l)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "out of memory");
    parse_session(session, &l->s);
    l->j.event_id = event_id;
    l->j.s = &l->s;
    l->j.c = &l->c;
    if (!type) {
        /* Reconciliation: what the session is now. */
        if (strcmp(l->s.status, "complete") == 0)
            type = "checkout.session.completed";
        else if (strcmp(l->s.status, "expired") == 0)
            type = "checkout.session.expired";
        else
            type = "checkout.session.open";
    }
    l->j.type = type;
    l->j.act = session_action(&l->s, type);
    if (l->j.act == ACT_FAIL)
        l->j.failure_reason = "The payment failed.";
    if (l->j.act == ACT_NONE) {
        /* Not ours to act on (another checkout.session.* type, a setup-
         * mode session, an unpaid subscription-mode one): nothing
         * recorded, see the top. */
        cd_debug(MOD, "event %s (%s): not handled, not recorded",
                 event_id ? event_id : "-", type);
        free(l);
        *status_out = CD_WEBHOOK_IGNORED;
        return 1;
    }
    /* No call to Stripe: the reply depends on the database only. The
     * card's last4 and the charge id come with charge.succeeded /
     * charge.updated (cd_charge_on_charge), before or after this. */
    job->fn = job_apply;
    job->arg = &l->j;
    /* On the writer of the account the session names (metadata), so
     * that it rarely meets another writer's job on the same rows. */
    job->key = l->s.meta_account;
    job->status = &l->j.status;
    job->mem = l;
    return 0;
}

int cd_checkout_on_session(struct cd_billing *b, const char *event_id,
                           const char *type, const json_t *session,
                           const char **status_out, struct cd_error *err)
{
    struct cd_event_job job;
    struct later *l;
    int rc = cd_checkout_prep_session(b, event_id, type, session, &job,
                                      status_out, err);

    if (rc != 0)
        return rc > 0 ? 0 : -1;
    l = job.mem;
    if (!l)
        return -1;
    rc = cd_order_event_run_keyed(b, job.key, job.fn, job.arg, event_id,
                                  l->j.type, job.status, status_out, err);
    free(l);
    return rc;
}
