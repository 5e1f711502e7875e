/*
 * subscriptions.c - customer.subscription.created|updated|deleted and
 * invoice.paid; see subscriptions.h for the rules and order_credit.h for the
 * shape every event handler shares.
 *
 * customer.subscription.*: the event's own snapshot only tells us whose
 * subscription it is (our row, else metadata.account_id, else the account
 * of its customer); a subscription of no account here is "ignored" without
 * a Stripe call or a write. Otherwise the subscription is re-read with GET
 * /v1/subscriptions/{id} (outside any transaction; a failure is 502 so
 * Stripe delivers again) and that copy is upserted in the job that records
 * the event id. The copy carries synced_at, the time its read started, and
 * the store keeps whichever copy was read last: an old event delivered
 * late re-reads the current state, and of two jobs racing to the writer
 * the earlier read never wins.
 *
 * invoice.paid: the invoice names its subscription
 * (parent.subscription_details.subscription, else the older top-level
 * "subscription"); the account and plan come from our row, else from the
 * subscription re-read at Stripe (its metadata, which our checkout set),
 * which is then stored too. One job records the event id and credits
 * credits_per_period under "invoice:<in_id>": the same invoice seen twice,
 * or through another event id, or through reconciliation, credits once.
 */
#include "billing/subscriptions.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "billing/charges.h"
#include "billing/checkout.h"
#include "billing/order_credit.h"
#include "billing/ledger.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/outbox.h"
#include "billing/problems.h"
#include "billing/stripe_call.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "subscriptions"
#define str_or_id cd_stripe_str_or_id

/* ---- pure readers --------------------------------------------------------- */

static int64_t positive_int(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0
               ? (int64_t)json_integer_value(v)
               : 0;
}

int64_t cd_subscription_period_end(const json_t *sub)
{
    const json_t *items = json_object_get(json_object_get(sub, "items"),
                                          "data");
    int64_t v = 0;

    if (json_is_array(items))
        v = positive_int(
            json_object_get(json_array_get(items, 0), "current_period_end"));
    if (v)
        return v;
    return positive_int(json_object_get(sub, "current_period_end"));
}

int cd_subscription_invoice_sub_id(const json_t *invoice, char *out,
                                   size_t outsz)
{
    const json_t *details = json_object_get(
        json_object_get(invoice, "parent"), "subscription_details");

    out[0] = '\0';
    if (json_is_object(details) &&
        str_or_id(details, "subscription", out, outsz) == 0 && out[0])
        return 0;
    if (json_is_object(invoice) &&
        str_or_id(invoice, "subscription", out, outsz) == 0 && out[0])
        return 0;
    out[0] = '\0';
    return -1;
}

int cd_subscription_invoice_grants(const char *status,
                                   const char *billing_reason,
                                   int64_t amount_paid)
{
    if (!status || strcmp(status, "paid") != 0 || amount_paid <= 0 ||
        !billing_reason)
        return 0;
    return strcmp(billing_reason, "subscription_create") == 0 ||
           strcmp(billing_reason, "subscription_cycle") == 0;
}

/* ---- reads ---------------------------------------------------------------- */

struct current_read {
    const char *account_id;
    struct cd_subscription *out;
};

static int current_fn(struct cd_tx *tx, void *arg)
{
    struct current_read *r = arg;

    return cd_store_subscription_latest(tx, r->account_id, r->out);
}

int cd_subscription_current(struct cd_billing *b, const char *account_id,
                            struct cd_subscription *out, struct cd_error *err)
{
    struct current_read r = {account_id, out};
    int rc = CD_STORE_NOT_FOUND;

    memset(out, 0, sizeof(*out));
    if (account_id && account_id[0] && strlen(account_id) < CD_ID_SZ)
        rc = cd_store_read(b->store, current_fn, &r);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "no_subscription", NULL,
                            "This account has no subscription.");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the subscription.");
    return 0;
}

struct page_read {
    const struct cd_page_query *q;
    cd_subscription_cb cb;
    void *arg;
    int *has_more;
};

static int page_fn(struct cd_tx *tx, void *arg)
{
    struct page_read *r = arg;

    return cd_store_subscription_page(tx, r->q, r->cb, r->arg, r->has_more);
}

int cd_subscriptions_page(struct cd_billing *b, const struct cd_page_query *q,
                          cd_subscription_cb cb, void *arg, int *has_more,
                          struct cd_error *err)
{
    struct page_read r = {q, cb, arg, has_more};
    int rc = cd_store_read(b->store, page_fn, &r);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after",
                            "starting_after names no subscription");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

/* Whose subscription: our row first (a subscription never changes
 * account), else metadata.account_id naming an account here, else the
 * account whose Stripe customer it is. */
struct locate {
    const char *sub_id;
    const char *meta_account; /* "" when absent */
    const char *customer;     /* "" when absent */
    int has_row;
    struct cd_subscription row;
    char account_id[CD_ID_SZ];
};

static int locate_fn(struct cd_tx *tx, void *arg)
{
    struct locate *l = arg;
    struct cd_account a;
    int rc;

    rc = cd_store_subscription_get(tx, l->sub_id, &l->row);
    if (rc == CD_STORE_OK) {
        l->has_row = 1;
        cd_strlcpy(l->account_id, l->row.account_id, sizeof(l->account_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (l->meta_account[0]) {
        rc = cd_store_account_get(tx, l->meta_account, &a);
        if (rc == CD_STORE_OK) {
            cd_strlcpy(l->account_id, a.id, sizeof(l->account_id));
            return CD_STORE_OK;
        }
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    if (l->customer[0]) {
        rc = cd_store_account_by_customer(tx, l->customer, &a);
        if (rc == CD_STORE_OK) {
            cd_strlcpy(l->account_id, a.id, sizeof(l->account_id));
            return CD_STORE_OK;
        }
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    return CD_STORE_NOT_FOUND;
}

/* ---- the subscription at Stripe ------------------------------------------- */

/* What we keep of a Subscription, bounded; "" when absent. */
struct sub_copy {
    char id[CD_SID_SZ];
    char status[CD_STATUS_SZ];
    char customer[CD_SID_SZ];
    char meta_account[CD_ID_SZ];
    char meta_plan[CD_ID_SZ];
    char meta_order[CD_ID_SZ]; /* the checkout's order (checkout.c) */
    int64_t period_end;
    int cancel_at_period_end;
    int64_t synced_at; /* when the read started, microseconds */
};

static void parse_sub(const json_t *o, struct sub_copy *c)
{
    const json_t *meta = json_object_get(o, "metadata");

    memset(c, 0, sizeof(*c));
    str_or_id(o, "id", c->id, sizeof(c->id));
    str_or_id(o, "status", c->status, sizeof(c->status));
    str_or_id(o, "customer", c->customer, sizeof(c->customer));
    if (json_is_object(meta)) {
        str_or_id(meta, "account_id", c->meta_account,
                  sizeof(c->meta_account));
        str_or_id(meta, "plan_id", c->meta_plan, sizeof(c->meta_plan));
        str_or_id(meta, "order_id", c->meta_order, sizeof(c->meta_order));
    }
    c->period_end = cd_subscription_period_end(o);
    c->cancel_at_period_end =
        json_is_true(json_object_get(o, "cancel_at_period_end"));
}

static int64_t realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * GET /v1/subscriptions/{id} (never inside a transaction) into *c.
 * 0; 1 when Stripe does not know it (404: retrying cannot help); -1 with
 * err: 503 stripe_not_configured, 502 stripe_error (Stripe failed or
 * answered something that is not this subscription).
 */
static int fetch_sub(struct cd_billing *b, const char *id,
                     struct sub_copy *c, struct cd_error *err)
{
    char path[CD_SID_SZ + 32];
    json_t *resp = NULL;
    struct cd_error serr;
    int http = 0;

    memset(c, 0, sizeof(*c)); /* written on every path, errors too */
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    snprintf(path, sizeof(path), "/v1/subscriptions/%s", id);
    cd_error_clear(&serr);
    c->synced_at = realtime_us();
    if (cd_stripe_request(b->stripe, "GET", path, NULL, NULL, &resp, &http,
                          &serr) != 0) {
        json_decref(resp);
        if (http == 404) {
            cd_warn(MOD, "subscription %s: unknown at Stripe", id);
            return 1;
        }
        cd_warn(MOD, "subscription %s: re-read failed: %s", id,
                serr.message);
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Could not read the subscription at Stripe: %s",
                            serr.message);
    }
    {
        int64_t at = c->synced_at;
        parse_sub(resp, c);
        c->synced_at = at;
    }
    json_decref(resp);
    if (strcmp(c->id, id) != 0 || !c->status[0])
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Stripe answered something that is not "
                            "subscription %s.",
                            id);
    return 0;
}

/* The row to upsert for copy c of account_id; plan: the copy's metadata,
 * else what the row had (the store keeps a stored plan on NULL). */
static void row_from_copy(const struct sub_copy *c, const char *account_id,
                          struct cd_subscription *row, int64_t now)
{
    memset(row, 0, sizeof(*row));
    cd_strlcpy(row->stripe_subscription_id, c->id,
               sizeof(row->stripe_subscription_id));
    cd_strlcpy(row->account_id, account_id, sizeof(row->account_id));
    cd_strlcpy(row->plan_id, c->meta_plan, sizeof(row->plan_id));
    cd_strlcpy(row->status, c->status, sizeof(row->status));
    row->current_period_end = c->period_end;
    row->cancel_at_period_end = c->cancel_at_period_end;
    row->synced_at = c->synced_at;
    row->created_at = now;
    row->updated_at = now;
}

/* Upserts inside a job; a copy older than the stored one is no error. */
static int upsert_tx(struct cd_tx *tx, const struct cd_subscription *row)
{
    struct cd_subscription was;
    int rc = cd_store_subscription_get(tx, row->stripe_subscription_id, &was);
    int same = rc == CD_STORE_OK &&
               strcmp(was.status, row->status) == 0 &&
               strcmp(was.plan_id, row->plan_id) == 0 &&
               was.current_period_end == row->current_period_end &&
               was.cancel_at_period_end == row->cancel_at_period_end;

    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    rc = cd_store_subscription_upsert(tx, row);

    if (rc == CD_STORE_DUPLICATE) {
        cd_debug(MOD, "subscription %s: a later copy is stored; kept",
                 row->stripe_subscription_id);
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_OK)
        return rc;
    cd_info(MOD, "subscription %s of %s: %s, period end %" PRId64 "%s",
            row->stripe_subscription_id, row->account_id, row->status,
            row->current_period_end,
            row->cancel_at_period_end ? ", cancels at period end" : "");
    if (same) /* re-read unchanged: nothing to tell */
        return CD_STORE_OK;
    return cd_outbox_emit_tx(
        tx, row->account_id, "subscription.updated",
        json_pack("{ss ss ss sI sb}", "subscription",
                  row->stripe_subscription_id, "plan_id", row->plan_id,
                  "status", row->status, "current_period_end",
                  (json_int_t)row->current_period_end,
                  "cancel_at_period_end", row->cancel_at_period_end));
}

static int locate_account(struct cd_billing *b, struct locate *l,
                          struct cd_error *err)
{
    int rc = cd_store_read(b->store, locate_fn, l);

    if (rc == CD_STORE_OK || rc == CD_STORE_NOT_FOUND)
        return rc;
    cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                 "The event could not be applied; retry.");
    return -1;
}

/* ---- customer.subscription.created|updated|deleted ------------------------ */

struct sub_job {
    const char *event_id;
    const char *type;
    struct cd_subscription row;
    const char *status;
};

static int sub_job_fn(struct cd_tx *tx, void *arg)
{
    struct sub_job *j = arg;
    int rc;

    rc = cd_order_event_record_tx(tx, j->event_id, j->type, &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    rc = upsert_tx(tx, &j->row);
    if (rc != CD_STORE_OK)
        return rc;
    j->status = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_subscription_on_subscription(struct cd_billing *b,
                                    const char *event_id, const char *type,
                                    const json_t *sub,
                                    const char **status_out,
                                    struct cd_error *err)
{
    struct sub_copy snap, now_c;
    struct locate l;
    struct sub_job j;
    int rc;

    parse_sub(sub, &snap);
    if (strncmp(snap.id, "sub_", 4) != 0 || !cd_stripe_safe_id(snap.id)) {
        cd_warn(MOD, "event %s (%s): no usable subscription id: ignored",
                event_id ? event_id : "-", type);
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }
    memset(&l, 0, sizeof(l));
    l.sub_id = snap.id;
    l.meta_account = snap.meta_account;
    l.customer = snap.customer;
    rc = locate_account(b, &l, err);
    if (rc < 0)
        return -1;
    if (rc == CD_STORE_NOT_FOUND) {
        cd_debug(MOD, "event %s: subscription %s is no account's here: "
                      "ignored",
                 event_id ? event_id : "-", snap.id);
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }

    /* The state as Stripe holds it now, never the event's snapshot. */
    rc = fetch_sub(b, snap.id, &now_c, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    row_from_copy(&now_c, l.account_id, &j.row, cd_now());
    return cd_order_event_run(b, sub_job_fn, &j, event_id, type, &j.status,
                              status_out, err);
}

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
    int64_t period_end; /* lines.data[0].period.end; 0: unknown */
    int first; /* billing_reason subscription_create */
    char meta_order[CD_ID_SZ]; /* the subscription's checkout order; "" */
    char customer[CD_SID_SZ];  /* the invoice's customer; "" */
    char pi[CD_SID_SZ]; /* its PaymentIntent (the card's key); "" */
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
    struct cd_order_patch failed = {.move = 1, .to = CD_ORDER_FAILED,
                                    .failure = why};
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
    return cd_problem_note_tx(tx, CD_PROBLEM_INVOICE_MISMATCH, o,
                              j->event_id, "Invoice %s: %s.", j->invoice_id,
                              why);
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
        rc = upsert_tx(tx, &j->row);
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
                         struct sub_copy *c, struct inv_job *j,
                         char *plan_id, size_t plan_idsz,
                         struct cd_error *err)
{
    int rc;

    memset(l, 0, sizeof(*l));
    l->sub_id = sub_id;
    l->meta_account = "";
    l->customer = "";
    rc = locate_account(b, l, err);
    if (rc < 0)
        return -1;
    plan_id[0] = '\0';
    if (rc == CD_STORE_OK && l->has_row && l->row.plan_id[0]) {
        cd_strlcpy(plan_id, l->row.plan_id, plan_idsz);
        return 0;
    }
    /* Not synced yet (invoice.paid may come first): ask Stripe whose
     * subscription it is, and keep that copy. */
    rc = fetch_sub(b, sub_id, c, err);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 1;
    if (!l->has_row) {
        l->meta_account = c->meta_account;
        l->customer = c->customer;
        rc = locate_account(b, l, err);
        if (rc < 0)
            return -1;
        if (rc == CD_STORE_NOT_FOUND) {
            cd_debug(MOD, "event %s: subscription %s is no account's "
                          "here: ignored",
                     event_id ? event_id : "-", sub_id);
            return 1;
        }
    }
    cd_strlcpy(plan_id, c->meta_plan[0] ? c->meta_plan : l->row.plan_id,
               plan_idsz);
    cd_strlcpy(j->meta_order, c->meta_order, sizeof(j->meta_order));
    row_from_copy(c, l->account_id, &j->row, cd_now());
    j->has_row = 1;
    return 0;
}

/* lines.data[0].period.end of an invoice; 0 when absent. */
static int64_t invoice_period_end(const json_t *invoice)
{
    return positive_int(json_object_get(
        json_object_get(json_array_get(json_object_get(json_object_get(
                                           invoice, "lines"),
                                       "data"),
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
    paid = positive_int(json_object_get(invoice, "amount_paid"));
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
        cd_info(MOD, "event %s: invoice %s (%s, %s, %" PRId64 " paid) "
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
        cd_error(MOD, "event %s: invoice %s of subscription %s: plan '%s' "
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

/* ---- cancel at period end, resume ------------------------------------------ */

static int sub_is_ended(const char *status)
{
    return strcmp(status, "canceled") == 0 ||
           strcmp(status, "incomplete_expired") == 0;
}

static int ended_error(struct cd_error *err, const char *status)
{
    return cd_error_set(err, CD_EK_CONFLICT, "subscription_ended", NULL,
                        "The subscription is %s: it can no longer be "
                        "changed.",
                        status);
}

struct store_job {
    struct cd_subscription row;
};

static int store_job_fn(struct cd_tx *tx, void *arg)
{
    struct store_job *j = arg;

    return upsert_tx(tx, &j->row);
}

/* Stores copy c of account_id's subscription and reads back the current
 * row into *out. */
static int store_copy(struct cd_billing *b, const struct sub_copy *c,
                      const char *account_id, struct cd_subscription *out,
                      struct cd_error *err)
{
    struct store_job j;

    row_from_copy(c, account_id, &j.row, cd_now());
    if (cd_store_write(b->store, store_job_fn, &j) != CD_STORE_OK ||
        cd_subscription_current(b, account_id, out, err) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not store the subscription.");
    return 0;
}

/* Stripe refused the change: re-read the subscription; ended (someone
 * canceled it meanwhile) is 409, anything else the call's 502. */
static int refused(struct cd_billing *b, const struct cd_subscription *row,
                   const struct cd_error *serr, struct cd_subscription *out,
                   struct cd_error *err)
{
    struct sub_copy c;

    if (fetch_sub(b, row->stripe_subscription_id, &c, err) == 0 &&
        store_copy(b, &c, row->account_id, out, err) == 0 &&
        sub_is_ended(out->status))
        return ended_error(err, out->status);
    return cd_billing_stripe_error(err, serr);
}

int cd_subscription_set_cancel(struct cd_billing *b, const char *account_id,
                               int cancel, const char *idem,
                               struct cd_subscription *out,
                               struct cd_error *err)
{
    const char *action = cancel ? "cancel" : "resume";
    char path[CD_SID_SZ + 32], key[CD_SID_SZ + CD_ID_SZ + 96];
    struct cd_subscription row;
    struct cd_error serr;
    struct sub_copy c;
    json_t *params, *resp = NULL;
    int64_t at;
    int rc, http = 0;

    if (cd_subscription_current(b, account_id, &row, err) != 0)
        return -1;
    if (sub_is_ended(row.status))
        return ended_error(err, row.status);
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    snprintf(path, sizeof(path), "/v1/subscriptions/%s",
             row.stripe_subscription_id);
    _Static_assert(sizeof("subscription:resume::") +
                           sizeof(row.stripe_subscription_id) - 1 +
                           CD_I64_CHARS <=
                       sizeof(key),
                   "subscription:<action>:<sub id>:<synced_at> fits");
    assert(!idem || strlen(idem) < CD_ID_SZ); /* an effect id */
    if (idem && idem[0])
        snprintf(key, sizeof(key), "subscription:%s:%s", action, idem);
    else
        snprintf(key, sizeof(key), "subscription:%s:%s:%" PRId64, action,
                 row.stripe_subscription_id, row.synced_at);
    params = json_pack("{s:b}", "cancel_at_period_end", cancel);
    at = realtime_us(); /* the copy's synced_at: when the call started */
    rc = cd_billing_stripe_post(b, path, params, key, &resp, &http, &serr);
    json_decref(params);
    if (rc != 0) {
        json_decref(resp);
        cd_warn(MOD, "subscription %s: %s refused (HTTP %d): %s",
                row.stripe_subscription_id, action, http, serr.message);
        if (http >= 400 && http < 500)
            return refused(b, &row, &serr, out, err);
        return cd_billing_stripe_error(err, &serr);
    }
    parse_sub(resp, &c);
    c.synced_at = at;
    json_decref(resp);
    if (strcmp(c.id, row.stripe_subscription_id) != 0 || !c.status[0])
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Stripe answered something that is not the "
                            "subscription.");
    cd_info(MOD, "subscription %s of %s: %s at period end",
            c.id, account_id, cancel ? "cancels" : "no longer cancels");
    return store_copy(b, &c, account_id, out, err);
}
