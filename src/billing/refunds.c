/*
 * refunds.c - admin refunds, charge.refunded and charge.dispute.*; see
 * refunds.h for the rules and fulfil_int.h for the shape every event
 * handler shares.
 *
 * Finding the order of a charge or dispute (a read transaction): the
 * payment row by charge id, else by payment intent, else the order holding
 * the payment intent, else the order in the charge's metadata.order_id.
 * When none answers - the event came before anything else we know of the
 * payment - the PaymentIntent's metadata is asked of Stripe (outside any
 * transaction). An object naming no order here is answered "ignored"
 * without a write; a Stripe failure on that lookup is a 502, so Stripe
 * delivers again.
 */
#include "billing/refunds.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/fulfil.h"
#include "billing/fulfil_int.h"
#include "billing/ledger.h"
#include "billing/stripe_call.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "refunds"

int64_t cd_refund_credits_at(int64_t credits, int64_t level, int64_t amount)
{
    __int128 q;

    if (amount <= 0 || credits <= 0 || level <= 0)
        return 0;
    if (level >= amount)
        return credits;
    q = (__int128)credits * (__int128)level / (__int128)amount;
    return (int64_t)q;
}

/* ---- POST /v1/admin/orders/{id}/refund ------------------------------------ */

struct refund_read {
    const char *order_id;
    struct cd_order o;
    struct cd_payment p;
    int has_payment;
};

static int refund_read_fn(struct cd_tx *tx, void *arg)
{
    struct refund_read *r = arg;
    int rc = cd_store_order_get(tx, r->order_id, &r->o);

    if (rc != CD_STORE_OK)
        return rc;
    rc = cd_store_payment_by_order(tx, r->order_id, &r->p);
    if (rc == CD_STORE_OK)
        r->has_payment = 1;
    else if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    return CD_STORE_OK;
}

int cd_refund_create(struct cd_billing *b, const char *order_id,
                     int64_t amount_cents, struct cd_refund_result *out,
                     struct cd_error *err)
{
    struct refund_read r;
    const char *pi;
    char idem[CD_ID_SZ + 64];
    int64_t before, left;
    json_t *params = NULL, *resp = NULL, *amt;
    struct cd_error serr;
    const char *rid, *rst;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (!order_id || !order_id[0] || strlen(order_id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "order_not_found", NULL,
                            "No such order.");
    memset(&r, 0, sizeof(r));
    r.order_id = order_id;
    rc = cd_store_read(b->store, refund_read_fn, &r);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "order_not_found", NULL,
                            "No such order.");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the order.");
    if (strcmp(r.o.status, "completed") != 0 &&
        strcmp(r.o.status, "partially_refunded") != 0)
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable",
                            NULL,
                            "The order is %s: only completed or partially "
                            "refunded orders can be refunded.",
                            r.o.status);
    pi = r.o.stripe_payment_intent_id[0]
             ? r.o.stripe_payment_intent_id
             : (r.has_payment ? r.p.stripe_payment_intent_id : "");
    if (!pi[0] || !cd_fulfil_safe_id(pi))
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable",
                            NULL, "The order has no Stripe payment to "
                                  "refund.");
    before = r.has_payment ? r.p.amount_refunded_cents : 0;
    left = r.o.amount_cents - before;
    if (left <= 0)
        return cd_error_set(err, CD_EK_CONFLICT, "order_not_refundable",
                            NULL, "The order is refunded in full.");
    if (amount_cents == 0)
        amount_cents = left;
    if (amount_cents < 0 || amount_cents > left)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "amount_cents",
                            "amount_cents is more than what is left to "
                            "refund (%" PRId64 ").",
                            left);

    params = json_pack("{s:s, s:I, s:{s:s}}", "payment_intent", pi, "amount",
                       (json_int_t)amount_cents, "metadata", "order_id",
                       r.o.id);
    snprintf(idem, sizeof(idem), "refund:%s:%" PRId64 ":%" PRId64, r.o.id,
             before, amount_cents);
    if (!params) {
        cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                     "Out of memory.");
        goto out;
    }
    rc = cd_billing_stripe_post(b, "/v1/refunds", params, idem, &resp, &serr);
    if (rc != 0) {
        cd_warn(MOD, "order %s: refund of %" PRId64 " failed: %s", r.o.id,
                amount_cents, serr.message);
        cd_billing_stripe_error(err, &serr);
        goto out;
    }
    rid = json_string_value(json_object_get(resp, "id"));
    rst = json_string_value(json_object_get(resp, "status"));
    amt = json_object_get(resp, "amount");
    if (!rid || strlen(rid) >= sizeof(out->refund_id)) {
        cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "Stripe: the refund has no id.");
        goto out;
    }
    cd_strlcpy(out->order_id, r.o.id, sizeof(out->order_id));
    cd_strlcpy(out->refund_id, rid, sizeof(out->refund_id));
    out->amount_cents = json_is_integer(amt) ? json_integer_value(amt)
                                             : amount_cents;
    cd_strlcpy(out->status, rst && strlen(rst) < sizeof(out->status)
                                ? rst
                                : "pending",
               sizeof(out->status));
    cd_info(MOD, "order %s: refund %s of %" PRId64 " %s (%s)", r.o.id, rid,
            out->amount_cents, r.o.currency, out->status);
    ret = 0;
out:
    json_decref(params);
    json_decref(resp);
    return ret;
}

/* ---- finding the order of a charge or dispute ---------------------------- */

struct locate {
    const char *charge;     /* may be "" */
    const char *pi;         /* may be "" */
    const char *meta_order; /* may be "" */
    char order_id[CD_ID_SZ];
};

/* The order named by meta_order, if its payment intent (when it has one)
 * is pi: metadata is only a hint. */
static int meta_order(struct cd_tx *tx, struct locate *l)
{
    struct cd_order o;
    int rc;

    if (!l->meta_order[0])
        return CD_STORE_NOT_FOUND;
    rc = cd_store_order_get(tx, l->meta_order, &o);
    if (rc != CD_STORE_OK)
        return rc;
    if (o.stripe_payment_intent_id[0] && l->pi[0] &&
        strcmp(o.stripe_payment_intent_id, l->pi) != 0)
        return CD_STORE_NOT_FOUND;
    cd_strlcpy(l->order_id, o.id, sizeof(l->order_id));
    return CD_STORE_OK;
}

static int locate_fn(struct cd_tx *tx, void *arg)
{
    struct locate *l = arg;
    struct cd_payment p;
    struct cd_order o;
    int rc = CD_STORE_NOT_FOUND;

    if (l->charge[0])
        rc = cd_store_payment_by_charge(tx, l->charge, &p);
    if (rc == CD_STORE_NOT_FOUND && l->pi[0])
        rc = cd_store_payment_by_payment_intent(tx, l->pi, &p);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(l->order_id, p.order_id, sizeof(l->order_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (l->pi[0]) {
        rc = cd_store_order_by_payment_intent(tx, l->pi, &o);
        if (rc == CD_STORE_OK) {
            cd_strlcpy(l->order_id, o.id, sizeof(l->order_id));
            return CD_STORE_OK;
        }
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    return meta_order(tx, l);
}

/*
 * Fills order_id (CD_ID_SZ) with the order of this charge / payment
 * intent. 0; 1 when no order here is named; -1 with err (500 store, 502
 * when Stripe could not be asked).
 */
static int locate_order(struct cd_billing *b, const char *charge,
                        const char *pi, const char *meta, char *order_id,
                        struct cd_error *err)
{
    struct locate l = {charge, pi, meta, ""};
    char path[CD_SID_SZ + 32], from_pi[CD_ID_SZ] = "";
    json_t *resp = NULL;
    struct cd_error serr;
    int rc, http = 0;

    rc = cd_store_read(b->store, locate_fn, &l);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(order_id, l.order_id, CD_ID_SZ);
        return 0;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    if (!b->stripe || !pi[0] || !cd_fulfil_safe_id(pi))
        return 1;
    /* Before anything else about this payment: its PaymentIntent says
     * which order it pays (metadata.order_id, set by checkout/topups). */
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    cd_error_clear(&serr);
    rc = cd_stripe_request(b->stripe, "GET", path, NULL, NULL, &resp, &http,
                           &serr);
    if (rc != 0) {
        json_decref(resp);
        if (http == 404)
            return 1;
        cd_warn(MOD, "payment intent %s: %s", pi, serr.message);
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Could not look up the payment: %s",
                            serr.message);
    }
    cd_fulfil_str_or_id(json_object_get(resp, "metadata"), "order_id",
                        from_pi, sizeof(from_pi));
    json_decref(resp);
    if (!from_pi[0])
        return 1;
    l.meta_order = from_pi;
    rc = cd_store_read(b->store, locate_fn, &l);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(order_id, l.order_id, CD_ID_SZ);
        return 0;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    return 1;
}

/* ---- shared pieces of the jobs ------------------------------------------- */

/* The credits the order was given (its fulfilment entry), 0 if never. */
static int credited(struct cd_tx *tx, const struct cd_order *o,
                    int64_t *out)
{
    struct cd_ledger_entry e;
    char ref[CD_REF_SZ];
    int rc;

    snprintf(ref, sizeof(ref), "order:%s:fulfil", o->id);
    rc = cd_store_ledger_by_ref(tx, ref, &e);
    if (rc == CD_STORE_NOT_FOUND) {
        *out = 0;
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    *out = e.amount > 0 ? e.amount : 0;
    return CD_STORE_OK;
}

/* One ledger entry of a refund or dispute; a refusal for good (balance
 * past -2^62, account gone) is logged and skipped, never a 500. */
static int apply_entry(struct cd_tx *tx, const struct cd_order *o,
                       int64_t amount, const char *kind, const char *ref,
                       const char *description)
{
    struct cd_ledger_apply la;
    struct cd_ledger_entry le;
    int rc;

    memset(&la, 0, sizeof(la));
    la.account_id = o->account_id;
    la.amount = amount;
    la.kind = kind;
    la.ref = ref;
    la.order_id = o->id;
    la.description = description;
    la.allow_negative = 1;
    rc = cd_ledger_apply_tx(tx, &la, &le);
    if (rc == CD_STORE_OK) {
        cd_info(MOD, "order %s: %s %" PRId64 " credits (%s)", o->id, kind,
                amount, ref);
        return CD_STORE_OK;
    }
    if (rc == CD_STORE_DUPLICATE)
        return CD_STORE_OK;
    if (rc == CD_LEDGER_LIMIT || rc == CD_STORE_NOT_FOUND ||
        rc == CD_LEDGER_INSUFFICIENT) {
        cd_error(MOD, "order %s: ledger refused %" PRId64 " credits (%s, %d)",
                 o->id, amount, ref, rc);
        return CD_STORE_OK;
    }
    return CD_STORE_ERROR;
}

/* The order's payment row, or a new one (not yet inserted: *is_new). */
static int payment_for(struct cd_tx *tx, const struct cd_order *o,
                       const char *pi, const char *charge, int64_t now,
                       struct cd_payment *p, int *is_new)
{
    int rc = cd_store_payment_by_order(tx, o->id, p);

    *is_new = 0;
    if (rc == CD_STORE_OK) {
        if (!p->stripe_payment_intent_id[0] && pi[0])
            cd_strlcpy(p->stripe_payment_intent_id, pi,
                       sizeof(p->stripe_payment_intent_id));
        if (!p->stripe_charge_id[0] && charge[0])
            cd_strlcpy(p->stripe_charge_id, charge,
                       sizeof(p->stripe_charge_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    /* The payment is older than anything we recorded of it. */
    memset(p, 0, sizeof(*p));
    cd_random_id("pay_", p->id, sizeof(p->id));
    cd_strlcpy(p->order_id, o->id, sizeof(p->order_id));
    cd_strlcpy(p->account_id, o->account_id, sizeof(p->account_id));
    cd_strlcpy(p->status, "succeeded", sizeof(p->status));
    p->amount_cents = o->amount_cents;
    cd_strlcpy(p->currency, o->currency, sizeof(p->currency));
    cd_strlcpy(p->description, o->description, sizeof(p->description));
    cd_strlcpy(p->stripe_payment_intent_id, pi,
               sizeof(p->stripe_payment_intent_id));
    cd_strlcpy(p->stripe_charge_id, charge, sizeof(p->stripe_charge_id));
    p->created_at = now;
    p->paid_at = now;
    *is_new = 1;
    return CD_STORE_OK;
}

static int payment_save(struct cd_tx *tx, const struct cd_payment *p,
                        int is_new)
{
    int rc = is_new ? cd_store_payment_insert(tx, p)
                    : cd_store_payment_update(tx, p);

    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}

/* The status an order has after refunds of `refunded` out of its amount
 * (and no open dispute). */
static const char *refund_status(const struct cd_order *o, int64_t refunded,
                                 int64_t credits)
{
    if (refunded >= o->amount_cents && o->amount_cents > 0)
        return "refunded";
    if (refunded > 0)
        return "partially_refunded";
    return credits > 0 || o->completed_at ? "completed" : "pending";
}

/* ---- charge.refunded ------------------------------------------------------ */

struct charge_obj {
    char id[CD_SID_SZ];
    char pi[CD_SID_SZ];
    char order_id[CD_ID_SZ]; /* metadata.order_id */
    char currency[CD_CUR_SZ];
    int64_t amount;
    int64_t amount_refunded;
};

struct refund_job {
    const char *event_id;
    const char *order_id;
    const struct charge_obj *c;
    const char *status; /* out */
};

static int refund_job_fn(struct cd_tx *tx, void *arg)
{
    struct refund_job *j = arg;
    const struct charge_obj *c = j->c;
    struct cd_order o;
    struct cd_payment p;
    int64_t now = cd_now(), prev, level, credits = 0, off;
    char ref[CD_REF_SZ], desc[CD_DESC_SZ];
    int rc, is_new;

    rc = cd_fulfil_open_order_tx(tx, j->event_id, "charge.refunded",
                                 j->order_id, &o, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (c->amount != o.amount_cents ||
        strcasecmp(c->currency, o.currency) != 0) {
        cd_error(MOD,
                 "event %s: charge %s of %" PRId64 " %s does not match "
                 "order %s (%" PRId64 " %s): refund not applied",
                 j->event_id ? j->event_id : "-", c->id, c->amount,
                 c->currency, o.id, o.amount_cents, o.currency);
        return 0;
    }
    if (payment_for(tx, &o, c->pi, c->id, now, &p, &is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (p.stripe_charge_id[0] && strcmp(p.stripe_charge_id, c->id) != 0) {
        cd_warn(MOD, "event %s: charge %s is not order %s's charge %s: "
                     "ignored",
                j->event_id ? j->event_id : "-", c->id, o.id,
                p.stripe_charge_id);
        return 0;
    }
    prev = p.amount_refunded_cents;
    level = c->amount_refunded;
    if (level <= prev) {
        cd_debug(MOD, "charge %s: refunded %" PRId64 " is not above the "
                      "recorded %" PRId64 ": nothing to do",
                 c->id, level, prev);
        return 0;
    }
    if (credited(tx, &o, &credits) != CD_STORE_OK)
        return CD_STORE_ERROR;
    off = cd_refund_credits_at(credits, level, o.amount_cents) -
          cd_refund_credits_at(credits, prev, o.amount_cents);
    if (off > 0) {
        snprintf(ref, sizeof(ref), "refund:%s:%" PRId64, c->id, level);
        snprintf(desc, sizeof(desc), "Refund: %.400s", o.description);
        if (apply_entry(tx, &o, -off, "refund", ref, desc) != CD_STORE_OK)
            return CD_STORE_ERROR;
    }

    if (strcmp(o.status, "disputed") != 0) {
        cd_strlcpy(o.status,
                   level >= o.amount_cents ? "refunded" : "partially_refunded",
                   sizeof(o.status));
        cd_strlcpy(p.status, o.status, sizeof(p.status));
    }
    if (!o.stripe_payment_intent_id[0] && c->pi[0])
        cd_strlcpy(o.stripe_payment_intent_id, c->pi,
                   sizeof(o.stripe_payment_intent_id));
    o.updated_at = now;
    if (cd_store_order_update(tx, &o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    p.amount_refunded_cents = level;
    p.refunded_at = now;
    if (payment_save(tx, &p, is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_info(MOD, "order %s: %s, %" PRId64 " of %" PRId64 " refunded, %" PRId64
                 " credits taken back",
            o.id, o.status, level, o.amount_cents, off > 0 ? off : 0);
    j->status = CD_FULFIL_PROCESSED;
    return 0;
}

int cd_fulfil_charge_refunded(struct cd_billing *b, const char *event_id,
                              const json_t *obj, const char **status_out,
                              struct cd_error *err)
{
    struct charge_obj c;
    struct refund_job j;
    char order_id[CD_ID_SZ];
    const json_t *a = json_object_get(obj, "amount");
    const json_t *ar = json_object_get(obj, "amount_refunded");
    int rc;

    *status_out = CD_FULFIL_IGNORED;
    memset(&c, 0, sizeof(c));
    cd_fulfil_str_or_id(obj, "id", c.id, sizeof(c.id));
    cd_fulfil_str_or_id(obj, "payment_intent", c.pi, sizeof(c.pi));
    cd_fulfil_str_or_id(obj, "currency", c.currency, sizeof(c.currency));
    cd_fulfil_str_or_id(json_object_get(obj, "metadata"), "order_id",
                        c.order_id, sizeof(c.order_id));
    if (!c.id[0] || !json_is_integer(a) || !json_is_integer(ar))
        return 0; /* not a charge we can read: nothing to do */
    c.amount = json_integer_value(a);
    c.amount_refunded = json_integer_value(ar);
    if (c.amount <= 0 || c.amount > CD_AMOUNT_MAX ||
        c.amount_refunded < 0 || c.amount_refunded > c.amount) {
        cd_warn(MOD, "event %s: charge %s has impossible amounts: ignored",
                event_id ? event_id : "-", c.id);
        return 0;
    }
    rc = locate_order(b, c.id, c.pi, c.order_id, order_id, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        cd_debug(MOD, "event %s: charge %s pays no order here; not recorded",
                 event_id ? event_id : "-", c.id);
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.order_id = order_id;
    j.c = &c;
    return cd_fulfil_run_job(b, refund_job_fn, &j, event_id,
                             "charge.refunded", &j.status, status_out, err);
}

/* ---- charge.dispute.* ----------------------------------------------------- */

struct dispute_obj {
    char id[CD_SID_SZ];
    char charge[CD_SID_SZ];
    char pi[CD_SID_SZ];
    char status[32];
    int closed_won; /* created: Stripe says it is already won */
};

struct dispute_job {
    const char *event_id;
    const char *type;
    const char *order_id;
    const struct dispute_obj *d;
    const char *status; /* out */
};

/* Holds back what is left of the order's credits (once per dispute) and
 * marks order and payment disputed. */
static int hold_tx(struct cd_tx *tx, struct dispute_job *j,
                   struct cd_order *o, int64_t now)
{
    const struct dispute_obj *d = j->d;
    struct cd_payment p;
    int64_t credits = 0, left;
    char ref[CD_REF_SZ], desc[CD_DESC_SZ];
    int is_new;

    if (payment_for(tx, o, d->pi, d->charge, now, &p, &is_new) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (credited(tx, o, &credits) != CD_STORE_OK)
        return CD_STORE_ERROR;
    left = credits - cd_refund_credits_at(credits, p.amount_refunded_cents,
                                          o->amount_cents);
    if (left > 0) {
        snprintf(ref, sizeof(ref), "dispute:%s:hold", d->id);
        snprintf(desc, sizeof(desc), "Disputed: %.400s", o->description);
        if (apply_entry(tx, o, -left, "dispute", ref, desc) != CD_STORE_OK)
            return CD_STORE_ERROR;
    }
    cd_strlcpy(o->status, "disputed", sizeof(o->status));
    if (!o->stripe_payment_intent_id[0] && d->pi[0])
        cd_strlcpy(o->stripe_payment_intent_id, d->pi,
                   sizeof(o->stripe_payment_intent_id));
    o->updated_at = now;
    if (cd_store_order_update(tx, o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_strlcpy(p.status, "disputed", sizeof(p.status));
    if (payment_save(tx, &p, is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->status = CD_FULFIL_PROCESSED;
    return 0;
}

/* A won dispute: the hold comes back (once), the order returns to what its
 * refunds make it. */
static int release_tx(struct cd_tx *tx, struct dispute_job *j,
                      struct cd_order *o, int64_t now)
{
    const struct dispute_obj *d = j->d;
    struct cd_ledger_entry hold;
    struct cd_payment p;
    int64_t credits = 0;
    char ref[CD_REF_SZ], desc[CD_DESC_SZ];
    int rc, is_new;

    snprintf(ref, sizeof(ref), "dispute:%s:hold", d->id);
    rc = cd_store_ledger_by_ref(tx, ref, &hold);
    if (rc == CD_STORE_OK && hold.amount < 0) {
        snprintf(ref, sizeof(ref), "dispute:%s:release", d->id);
        snprintf(desc, sizeof(desc), "Dispute won: %.400s", o->description);
        if (apply_entry(tx, o, -hold.amount, "dispute", ref, desc) !=
            CD_STORE_OK)
            return CD_STORE_ERROR;
    } else if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND) {
        return CD_STORE_ERROR;
    }
    j->status = CD_FULFIL_PROCESSED;
    if (strcmp(o->status, "disputed") != 0)
        return 0;
    if (payment_for(tx, o, d->pi, d->charge, now, &p, &is_new) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (credited(tx, o, &credits) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_strlcpy(o->status, refund_status(o, p.amount_refunded_cents, credits),
               sizeof(o->status));
    o->updated_at = now;
    if (cd_store_order_update(tx, o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_strlcpy(p.status,
               strcmp(o->status, "completed") == 0 ||
                       strcmp(o->status, "pending") == 0
                   ? "succeeded"
                   : o->status,
               sizeof(p.status));
    if (payment_save(tx, &p, is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_info(MOD, "order %s: dispute %s won, back to %s", o->id, d->id,
            o->status);
    return 0;
}

static int dispute_job_fn(struct cd_tx *tx, void *arg)
{
    struct dispute_job *j = arg;
    const struct dispute_obj *d = j->d;
    struct cd_order o;
    int64_t now = cd_now();
    int rc;

    rc = cd_fulfil_open_order_tx(tx, j->event_id, j->type, j->order_id, &o,
                                 &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;

    if (strcmp(j->type, "charge.dispute.created") == 0) {
        if (d->closed_won) {
            /* Stripe already closed it in our favour: nothing to hold. */
            cd_info(MOD, "dispute %s is already won: no hold", d->id);
            return 0;
        }
        cd_info(MOD, "order %s: disputed (%s)", o.id, d->id);
        return hold_tx(tx, j, &o, now);
    }
    /* charge.dispute.closed */
    if (strcmp(d->status, "won") == 0 ||
        strcmp(d->status, "warning_closed") == 0)
        return release_tx(tx, j, &o, now);
    if (strcmp(d->status, "lost") == 0) {
        /* Final. The hold is made now if created never reached us. */
        cd_info(MOD, "order %s: dispute %s lost", o.id, d->id);
        return hold_tx(tx, j, &o, now);
    }
    return 0;
}

int cd_fulfil_dispute(struct cd_billing *b, const char *event_id,
                      const char *type, const json_t *obj,
                      const char **status_out, struct cd_error *err)
{
    struct dispute_obj d;
    struct dispute_job j;
    char order_id[CD_ID_SZ], path[CD_SID_SZ + 32];
    int rc;

    *status_out = CD_FULFIL_IGNORED;
    memset(&d, 0, sizeof(d));
    cd_fulfil_str_or_id(obj, "id", d.id, sizeof(d.id));
    cd_fulfil_str_or_id(obj, "charge", d.charge, sizeof(d.charge));
    cd_fulfil_str_or_id(obj, "payment_intent", d.pi, sizeof(d.pi));
    cd_fulfil_str_or_id(obj, "status", d.status, sizeof(d.status));
    if (!d.id[0] || (!d.charge[0] && !d.pi[0]))
        return 0;
    rc = locate_order(b, d.charge, d.pi, "", order_id, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        cd_debug(MOD, "event %s: dispute %s is about no order here; not "
                      "recorded",
                 event_id ? event_id : "-", d.id);
        return 0;
    }
    if (strcmp(type, "charge.dispute.created") == 0 && b->stripe &&
        cd_fulfil_safe_id(d.id)) {
        /* Events may come in any order: if the dispute is won already,
         * its created event must not hold anything back. */
        json_t *resp = NULL;
        struct cd_error serr;
        const char *st;

        snprintf(path, sizeof(path), "/v1/disputes/%s", d.id);
        if (cd_stripe_request(b->stripe, "GET", path, NULL, NULL, &resp,
                              NULL, &serr) == 0) {
            st = json_string_value(json_object_get(resp, "status"));
            d.closed_won = st && (strcmp(st, "won") == 0 ||
                                  strcmp(st, "warning_closed") == 0);
        }
        json_decref(resp);
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    j.order_id = order_id;
    j.d = &d;
    return cd_fulfil_run_job(b, dispute_job_fn, &j, event_id, type,
                             &j.status, status_out, err);
}
