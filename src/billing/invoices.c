/*
 * invoices.c - invoice.paid: the period's order of a paid subscription
 * invoice, credited once; see invoices.h, and subscriptions.c for the
 * subscription re-read and upsert it shares (subscriptions_int.h).
 *
 * invoice.paid: the invoice names its subscription
 * (parent.subscription_details.subscription, else the older top-level
 * "subscription"); the account and plan come from our row, else from the
 * subscription re-read at Stripe (its metadata, which our checkout set),
 * which is then stored too. One job records the event id and credits
 * credits_per_period under "invoice:<in_id>": the same invoice seen twice,
 * or through another event id, or through reconciliation, credits once.
 */
#include "billing/invoices.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/charges.h"
#include "billing/checkout.h"
#include "billing/order_credit.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/problems.h"
#include "billing/subscriptions.h"
#include "billing/subscriptions_int.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "invoices"
#define str_or_id cd_stripe_str_or_id

/* ---- invoice.paid ---------------------------------------------------------- */

struct inv_job {
    const char *event_id;
    const char *type;
    const char *invoice_id;
    int64_t amount_paid;
    const char *currency;
    const char *account_id;
    const struct cd_plan *plan;
    const char *plan_currency;
    int64_t period_end;        /* lines.data[0].period.end; 0: unknown */
    int first;                 /* billing_reason subscription_create */
    char meta_order[CD_ID_SZ]; /* the subscription's checkout order; "" */
    char customer[CD_SID_SZ];  /* the invoice's customer; "" */
    char pi[CD_SID_SZ];        /* its PaymentIntent (the card's key); "" */
    int has_row; /* row below was re-read at Stripe: store it too */
    struct cd_subscription row;
    const char *status;
};

/*
 * The first invoice's period is its checkout's order: the order the
 * subscription's metadata names (checkout.c sets it), when it is this
 * account's subscription order for this amount and holds no invoice yet.
 * It takes the invoice id - unique (orders_invoice), so whichever of
 * invoice.paid and checkout.session.completed comes first, the period is
 * that one order, credited once under "invoice:<in_id>", one payment row.
 * 1 taken (*o, to be written), 0 not, CD_STORE_ERROR.
 */
static int checkout_order_tx(struct cd_tx *tx, const struct inv_job *j,
                             int64_t now, struct cd_order *o)
{
    int rc;

    if (!j->first || !j->meta_order[0])
        return 0;
    rc = cd_store_order_get(tx, j->meta_order, o);
    if (rc != CD_STORE_OK)
        return rc == CD_STORE_NOT_FOUND ? 0 : CD_STORE_ERROR;
    if (!cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION) ||
        strcmp(o->account_id, j->account_id) != 0 ||
        o->stripe_invoice_id[0] || o->amount_cents != j->amount_paid ||
        strcasecmp(o->currency, j->currency) != 0 ||
        strcmp(o->item_id, j->plan->id) != 0)
        return 0;
    cd_strlcpy(o->stripe_invoice_id, j->invoice_id,
               sizeof(o->stripe_invoice_id));
    o->updated_at = now;
    return 1;
}

/* The order of this invoice's period: the one made before (a repeat), the
 * checkout's (the first invoice, when take: *dirty), or a new pending one
 * (not yet written: *is_new). */
static int period_order_tx(struct cd_tx *tx, const struct inv_job *j,
                           int take, int64_t now, struct cd_order *o,
                           int *is_new, int *dirty)
{
    int rc = cd_store_order_by_invoice(tx, j->invoice_id, o);

    *is_new = rc == CD_STORE_NOT_FOUND;
    *dirty = 0;
    if (rc != CD_STORE_NOT_FOUND)
        return rc;
    rc = take ? checkout_order_tx(tx, j, now, o) : 0;
    if (rc == 1) {
        *is_new = 0;
        *dirty = 1;
        return CD_STORE_OK;
    }
    if (rc != 0)
        return CD_STORE_ERROR;
    memset(o, 0, sizeof(*o));
    cd_random_id("ord_", o->id, sizeof(o->id));
    cd_strlcpy(o->account_id, j->account_id, sizeof(o->account_id));
    cd_strlcpy(o->kind, "invoice", sizeof(o->kind));
    (void)cd_order_set_status(o, CD_ORDER_PENDING);
    o->amount_cents = j->amount_paid;
    o->credits = j->plan->credits_per_period;
    cd_strlcpy(o->currency, j->currency, sizeof(o->currency));
    cd_strlcpy(o->item_id, j->plan->id, sizeof(o->item_id));
    cd_strlcpy(o->description, j->plan->name, sizeof(o->description));
    cd_strlcpy(o->stripe_invoice_id, j->invoice_id,
               sizeof(o->stripe_invoice_id));
    o->created_at = o->updated_at = now;
    return CD_STORE_OK;
}

/* An invoice whose amount or currency is not its plan's: its order is
 * failed (inserted when new, else through cd_order_patch_tx) and the
 * operator told; nothing is credited. A checkout's order that holds the
 * invoice (checkout_session.c) keeps its status. */
static int mismatch_tx(struct cd_tx *tx, struct inv_job *j,
                       struct cd_order *o, int is_new, int64_t now)
{
    char why[CD_DESC_SZ];
    struct cd_order_patch failed = {
        .move = 1, .to = CD_ORDER_FAILED, .failure = why};
    int rc;

    snprintf(why, sizeof(why),
             "invoice paid %" PRId64 " %s, plan %s costs %" PRId64 " %s: not "
             "credited",
             j->amount_paid, j->currency, j->plan->id, j->plan->price_cents,
             j->plan_currency);
    j->status = CD_WEBHOOK_IGNORED;
    if (is_new) {
        (void)cd_order_patch(o, &failed, now);
        rc = cd_store_order_insert(tx, o);
    } else if (cd_order_is_kind(o, CD_ORDER_INVOICE)) {
        rc = cd_order_patch_tx(tx, o, &failed, now);
    } else {
        rc = CD_STORE_OK;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    return cd_problem_note_tx(tx, CD_PROBLEM_INVOICE_MISMATCH, o, j->event_id,
                              "Invoice %s: %s.", j->invoice_id, why);
}

static int inv_job_fn(struct cd_tx *tx, void *arg)
{
    struct inv_job *j = arg;
    struct cd_order o;
    struct cd_paid paid;
    int64_t now = cd_now();
    int rc, is_new, dirty;
    int mismatch = j->amount_paid != j->plan->price_cents ||
                   strcasecmp(j->currency, j->plan_currency) != 0;

    rc = cd_order_event_record_tx(tx, j->event_id, j->type, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (j->has_row) {
        rc = cd_sub_upsert_tx(tx, &j->row);
        if (rc != CD_STORE_OK)
            return rc;
    }
    if (period_order_tx(tx, j, !mismatch, now, &o, &is_new, &dirty) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (mismatch)
        return mismatch_tx(tx, j, &o, is_new, now);
    if (is_new && cd_store_order_insert(tx, &o) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* The period's credits, once per invoice ("invoice:<in_id>"), with
     * its payment row and receipt, like any purchase. */
    memset(&paid, 0, sizeof(paid));
    paid.period_end = j->period_end; /* the lot's expiry (lots.h) */
    /* the PaymentIntent from invoice_payment.paid when it came first,
     * the card from charge.succeeded, before or after (charges.h) */
    cd_strlcpy(paid.pi, j->pi, sizeof(paid.pi));
    if (cd_charge_invoice_pi_tx(tx, j->invoice_id, paid.pi) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* the checkout's order: its session may not have saved the customer */
    if (cd_order_is_kind(&o, CD_ORDER_SUBSCRIPTION))
        cd_strlcpy(paid.customer, j->customer, sizeof(paid.customer));
    return cd_order_credit_tx(tx, &o, &paid, j->event_id, dirty, now,
                              &j->status);
}

/* What the invoice says besides its amount: its customer, and the order
 * its subscription's metadata names (parent.subscription_details.metadata,
 * else the older top-level subscription_details; else what the re-read
 * copy said, already in j). */
static void invoice_extras(const json_t *invoice, struct inv_job *j)
{
    const json_t *d = json_object_get(json_object_get(invoice, "parent"),
                                      "subscription_details");
    char order[CD_ID_SZ] = "";

    if (!json_is_object(json_object_get(d, "metadata")))
        d = json_object_get(invoice, "subscription_details");
    str_or_id(json_object_get(d, "metadata"), "order_id", order,
              sizeof(order));
    if (order[0])
        cd_strlcpy(j->meta_order, order, sizeof(j->meta_order));
    str_or_id(invoice, "customer", j->customer, sizeof(j->customer));
    if (strncmp(j->customer, "cus_", 4) != 0 ||
        !cd_stripe_safe_id(j->customer))
        j->customer[0] = '\0';
}

/*
 * The account (into l) and plan id of the invoice's subscription sub_id:
 * from its synced row, or else from Stripe's copy (c), kept into j->row.
 * 0, 1 when the invoice is to be ignored, -1 on error (err set).
 */
static int invoice_owner(struct cd_billing *b, const char *event_id,
                         const char *sub_id, struct locate *l,
                         struct sub_copy *c, struct inv_job *j, char *plan_id,
                         size_t plan_idsz, struct cd_error *err)
{
    int rc;

    memset(l, 0, sizeof(*l));
    l->sub_id = sub_id;
    l->meta_account = "";
    l->customer = "";
    rc = cd_sub_locate_account(b, l, err);
    if (rc < 0)
        return -1;
    plan_id[0] = '\0';
    if (rc == CD_STORE_OK && l->has_row && l->row.plan_id[0]) {
        cd_strlcpy(plan_id, l->row.plan_id, plan_idsz);
        return 0;
    }
    /* Not synced yet (invoice.paid may come first): ask Stripe whose
     * subscription it is, and keep that copy. */
    rc = cd_sub_fetch(b, sub_id, c, err);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 1;
    if (!l->has_row) {
        l->meta_account = c->meta_account;
        l->customer = c->customer;
        rc = cd_sub_locate_account(b, l, err);
        if (rc < 0)
            return -1;
        if (rc == CD_STORE_NOT_FOUND) {
            cd_debug(MOD,
                     "event %s: subscription %s is no account's "
                     "here: ignored",
                     event_id ? event_id : "-", sub_id);
            return 1;
        }
    }
    cd_strlcpy(plan_id, c->meta_plan[0] ? c->meta_plan : l->row.plan_id,
               plan_idsz);
    cd_strlcpy(j->meta_order, c->meta_order, sizeof(j->meta_order));
    cd_sub_row_from_copy(c, l->account_id, &j->row, cd_now());
    j->has_row = 1;
    return 0;
}

/* lines.data[0].period.end of an invoice; 0 when absent. */
static int64_t invoice_period_end(const json_t *invoice)
{
    return cd_sub_positive_int(json_object_get(
        json_object_get(
            json_array_get(
                json_object_get(json_object_get(invoice, "lines"), "data"),
                0),
            "period"),
        "end"));
}

int cd_subscription_on_invoice_paid(struct cd_billing *b,
                                    const char *event_id,
                                    const json_t *invoice,
                                    const char **status_out,
                                    struct cd_error *err)
{
    const char *type = "invoice.paid";
    char in_id[CD_SID_SZ], sub_id[CD_SID_SZ], status[32], reason[64];
    char plan_id[CD_ID_SZ], currency[CD_CUR_SZ];
    const struct cd_plan *plan;
    struct sub_copy c;
    struct locate l;
    struct inv_job j;
    int64_t paid;
    int rc;

    *status_out = CD_WEBHOOK_IGNORED;
    str_or_id(invoice, "id", in_id, sizeof(in_id));
    str_or_id(invoice, "status", status, sizeof(status));
    str_or_id(invoice, "billing_reason", reason, sizeof(reason));
    paid = cd_sub_positive_int(json_object_get(invoice, "amount_paid"));
    str_or_id(invoice, "currency", currency, sizeof(currency));
    if (strncmp(in_id, "in_", 3) != 0 || !cd_stripe_safe_id(in_id) ||
        cd_subscription_invoice_sub_id(invoice, sub_id, sizeof(sub_id)) !=
            0 ||
        strncmp(sub_id, "sub_", 4) != 0 || !cd_stripe_safe_id(sub_id)) {
        cd_debug(MOD, "event %s: invoice %s names no subscription: ignored",
                 event_id ? event_id : "-", in_id);
        return 0;
    }
    if (!cd_subscription_invoice_grants(status, reason, paid)) {
        cd_info(MOD,
                "event %s: invoice %s (%s, %s, %" PRId64 " paid) "
                "grants nothing: ignored",
                event_id ? event_id : "-", in_id, status, reason, paid);
        return 0;
    }

    memset(&j, 0, sizeof(j));
    rc = invoice_owner(b, event_id, sub_id, &l, &c, &j, plan_id,
                       sizeof(plan_id), err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    plan = cd_checkout_find_plan(b, plan_id);
    if (!plan || plan->credits_per_period <= 0) {
        /* Not recorded: once the plan is configured again, Stripe's
         * redelivery or reconciliation credits it. */
        cd_error(MOD,
                 "event %s: invoice %s of subscription %s: plan '%s' "
                 "is not in the catalog: not credited",
                 event_id ? event_id : "-", in_id, sub_id, plan_id);
        return 0;
    }

    j.event_id = event_id;
    j.type = type;
    j.invoice_id = in_id;
    j.amount_paid = paid;
    j.currency = currency;
    j.account_id = l.account_id;
    j.plan = plan;
    j.period_end = invoice_period_end(invoice);
    j.plan_currency = b->cfg.currency;
    j.first = strcmp(reason, "subscription_create") == 0;
    invoice_extras(invoice, &j);
    /* from the payload only: no Stripe call before the reply */
    cd_charge_invoice_pi(invoice, j.pi);
    return cd_order_event_run(b, inv_job_fn, &j, event_id, type, &j.status,
                              status_out, err);
}
