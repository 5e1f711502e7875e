/*
 * reconcile.c - catch-up with Stripe; see reconcile.h.
 *
 * Shape of a run: read the cursor (a read transaction), then for each
 * page of events: one Stripe call (no transaction open), each event
 * through cd_webhook_apply (its own write job), then one small write
 * job storing the cursor. Pending orders likewise: one read for the list,
 * then per order one Stripe call followed by cd_checkout_on_session's job.
 * Events are applied oldest first and the cursor only ever names an event
 * whose effects are committed, so a run that stops half-way (Stripe down,
 * store failure, shutdown) loses nothing: the next run goes on from it.
 */
#include "billing/reconcile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/checkout_session.h"
#include "billing/events.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/topup_lookup.h"
#include "billing/topups.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "reconcile"
#define ABANDON_REASON "checkout was never created"

/* The event types cd_webhook_apply acts on; add a type here when
 * events.c learns it (at most 20: Stripe's limit on types[]). events.c
 * records only these (others answer "ignored" unrecorded), so a type
 * added later is still applied by webhook redelivery or by this. */
static const char *const event_types[] = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice_payment.paid",
};
/* Stripe's GET /v1/events takes at most 20 types[]: full. charge.succeeded
 * and charge.updated (a payment row's card) are not here; docs/OPERATIONS.md
 * asks for them on the endpoint, where nothing lists them. */
_Static_assert(sizeof(event_types) / sizeof(event_types[0]) <= 20,
               "Stripe takes at most 20 types[] on GET /v1/events");

const char *const *cd_reconcile_event_types(size_t *n)
{
    *n = CD_ARRAY_LEN(event_types);
    return event_types;
}

static const struct cd_metric_def M_RUNS = {"creditd_reconcile_runs_total",
                                            "Reconciliation runs by outcome.",
                                            CD_METRIC_COUNTER,
                                            {"outcome"},
                                            NULL,
                                            0};
static const struct cd_metric_def M_APPLIED = {
    "creditd_reconcile_events_applied_total",
    "Stripe events that took effect through reconciliation (the webhook "
    "had not delivered them).",
    CD_METRIC_COUNTER,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_FIXED = {
    "creditd_reconcile_orders_fixed_total",
    "Pending orders that reconciliation moved on (completed, expired or "
    "failed).",
    CD_METRIC_COUNTER,
    {NULL},
    NULL,
    0};

static const struct cd_metric_def M_LAST_RUN = {
    "creditd_reconcile_last_run_timestamp_seconds",
    "Unix time of the last reconciliation run in this process (any "
    "outcome).",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_LAST_OK = {
    "creditd_reconcile_last_success_timestamp_seconds",
    "Unix time of the last reconciliation run in this process that "
    "succeeded.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};

/* One run at a time in this process (the admin route and the background
 * job), so the cursor only moves forward. */
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;

struct run {
    struct cd_billing *b;
    int (*stop)(void *arg);
    void *stop_arg;
    struct cd_reconcile_result *out;
    struct cd_error *err;
    char cursor[CD_KV_VALUE_SZ];
    char saved[CD_KV_VALUE_SZ]; /* the cursor as stored */
};

static int stopping(const struct run *r)
{
    return r->stop && r->stop(r->stop_arg);
}

/* Stripe ids go into URL paths: letters, digits and '_' only. */
static int safe_id(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return n > 0 && n < CD_SID_SZ;
}

static int store_failed(struct run *r, const char *what)
{
    cd_error(MOD, "%s: the store failed", what);
    return cd_error_set(r->err, CD_EK_INTERNAL, "internal_error", NULL,
                        "Reconciliation could not use the database.");
}

static int stripe_failed(struct run *r, const struct cd_error *serr)
{
    return cd_error_set(r->err, CD_EK_UPSTREAM, "stripe_error", NULL, "%s",
                        serr->message[0] ? serr->message
                                         : "Stripe request failed");
}

/* ---- the cursor ------------------------------------------------------- */

struct cursor_job {
    char *value;
    size_t size;
    const char *set;
    int64_t now;
};

static int cursor_read_fn(struct cd_tx *tx, void *arg)
{
    struct cursor_job *j = arg;
    int rc = cd_store_kv_get(tx, CD_RECONCILE_CURSOR_KEY, j->value, j->size);

    if (rc == CD_STORE_NOT_FOUND) {
        j->value[0] = '\0';
        return 0;
    }
    return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

static int cursor_write_fn(struct cd_tx *tx, void *arg)
{
    struct cursor_job *j = arg;

    return cd_store_kv_put(tx, CD_RECONCILE_CURSOR_KEY, j->set, j->now) ==
                   CD_STORE_OK
               ? 0
               : CD_STORE_ERROR;
}

/* Stores r->cursor when it moved. */
static int cursor_save(struct run *r)
{
    struct cursor_job j = {NULL, 0, r->cursor, cd_now()};

    if (!r->cursor[0] || strcmp(r->cursor, r->saved) == 0)
        return 0;
    if (cd_store_write(r->b->store, cursor_write_fn, &j) != 0)
        return store_failed(r, "saving the event cursor");
    cd_strlcpy(r->saved, r->cursor, sizeof(r->saved));
    return 0;
}

/* ---- events ----------------------------------------------------------- */

/*
 * One page of GET /v1/events (newest first); *resp is the list (new
 * reference). anchor_key is "ending_before", "starting_after" or NULL.
 * 0; 1 when Stripe no longer knows the anchor (older than 30 days); -1
 * with r->err.
 */
static int list_events(struct run *r, const char *anchor_key,
                       const char *anchor, json_t **resp)
{
    json_t *params, *types, *body = NULL;
    struct cd_error serr;
    const char *code;
    int rc, status = 0, gone;

    *resp = NULL;
    params = json_pack("{s:i}", "limit", CD_RECONCILE_PAGE_LIMIT);
    types = json_array();
    if (!params || !types) {
        json_decref(params);
        json_decref(types);
        return cd_error_set(r->err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    }
    for (size_t i = 0; i < CD_ARRAY_LEN(event_types); i++)
        json_array_append_new(types, json_string(event_types[i]));
    json_object_set_new(params, "types", types);
    if (anchor_key && anchor)
        json_object_set_new(params, anchor_key, json_string(anchor));
    cd_error_clear(&serr);
    rc = cd_stripe_request(r->b->stripe, "GET", "/v1/events", params, NULL,
                           &body, &status, &serr);
    json_decref(params);
    if (rc != 0) {
        code = json_string_value(
            json_object_get(json_object_get(body, "error"), "code"));
        gone = anchor && (status == 400 || status == 404) && code &&
               strcmp(code, "resource_missing") == 0;
        json_decref(body);
        if (gone)
            return 1;
        cd_warn(MOD, "listing Stripe events failed: %s", serr.message);
        return stripe_failed(r, &serr);
    }
    if (!json_is_array(json_object_get(body, "data"))) {
        json_decref(body);
        return cd_error_set(r->err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Stripe: GET /v1/events did not answer a list.");
    }
    *resp = body;
    return 0;
}

/* Applies the events of data (newest first) oldest first, moving the
 * cursor over each one committed, then stores the cursor. 0 or -1. */
static int apply_events(struct run *r, const json_t *data)
{
    struct cd_error ferr;
    const char *status, *id;
    int rc = 0;

    for (size_t i = json_array_size(data); i-- > 0;) {
        const json_t *ev = json_array_get(data, i);

        id = json_string_value(json_object_get(ev, "id"));
        r->out->events_seen++;
        status = NULL;
        cd_error_clear(&ferr);
        if (cd_webhook_apply(r->b, ev, &status, &ferr) != 0) {
            if (ferr.kind != CD_EK_INVALID) {
                /* Not committed (the store, or a Stripe call the event
                 * needs, failed): the cursor stays before this event and
                 * the next run starts from it. */
                cd_error(MOD,
                         "event %s not applied, reconciliation stops "
                         "before it: %s",
                         id ? id : "-", ferr.message);
                rc = cd_error_set(r->err, ferr.kind, ferr.code, NULL,
                                  "Event %s could not be applied; the next "
                                  "run starts from it.",
                                  id ? id : "-");
                break;
            }
            /* Not an event we can ever read: applying it again cannot
             * help. */
            cd_warn(MOD, "event %s skipped: %s", id ? id : "-", ferr.message);
        } else if (status && strcmp(status, CD_WEBHOOK_PROCESSED) == 0) {
            r->out->events_applied++;
            cd_metrics_add(NULL, &M_APPLIED, 1, NULL, NULL, NULL);
            cd_info(MOD, "event %s applied", id ? id : "-");
        }
        if (id && strlen(id) < sizeof(r->cursor))
            cd_strlcpy(r->cursor, id, sizeof(r->cursor));
    }
    if (cursor_save(r) != 0)
        return -1;
    return rc;
}

/* The id of the last element of data into out; -1 when it has none. */
static int last_id(const json_t *data, char *out, size_t outsz)
{
    const char *id = json_string_value(json_object_get(
        json_array_get(data, json_array_size(data) - 1), "id"));

    if (!id || !id[0] || cd_strlcpy(out, id, outsz) != 0)
        return -1;
    return 0;
}

/*
 * No cursor: reads back from the newest event (at most MAX_PAGES pages),
 * then applies what it read, oldest first. Events older than that are
 * left to the pending-order check.
 */
static int backfill(struct run *r, int pages)
{
    json_t *all = json_array(), *resp = NULL, *data;
    char after[CD_SID_SZ] = "";
    int rc = 0, more = 0;

    if (!all)
        return cd_error_set(r->err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    while (pages < CD_RECONCILE_MAX_PAGES) {
        if (stopping(r))
            goto out;
        rc = list_events(r, after[0] ? "starting_after" : NULL,
                         after[0] ? after : NULL, &resp);
        if (rc == 1) /* the page anchor vanished under us: next run */
            break;
        if (rc != 0)
            goto out;
        pages++;
        data = json_object_get(resp, "data");
        json_array_extend(all, data);
        more = json_is_true(json_object_get(resp, "has_more"));
        if (!more || json_array_size(data) == 0 ||
            last_id(data, after, sizeof(after)) != 0) {
            more = 0;
            break;
        }
        json_decref(resp);
        resp = NULL;
    }
    if (more)
        cd_warn(MOD,
                "first run: only the newest %zu events are checked; "
                "older ones are left to the pending-order check",
                json_array_size(all));
    rc = apply_events(r, all);
out:
    json_decref(resp);
    json_decref(all);
    return rc;
}

static int run_events(struct run *r)
{
    struct cursor_job j = {r->cursor, sizeof(r->cursor), NULL, 0};
    json_t *resp, *data;
    int pages = 0, rc, more;

    if (cd_store_read(r->b->store, cursor_read_fn, &j) != 0)
        return store_failed(r, "reading the event cursor");
    cd_strlcpy(r->saved, r->cursor, sizeof(r->saved));
    if (!r->cursor[0])
        return backfill(r, 0);

    while (pages < CD_RECONCILE_MAX_PAGES) {
        if (stopping(r))
            return 0;
        rc = list_events(r, "ending_before", r->cursor, &resp);
        if (rc == 1) {
            cd_warn(MOD,
                    "Stripe no longer knows event %s (older than 30 "
                    "days?): reading back from the newest event",
                    r->cursor);
            r->cursor[0] = '\0';
            return backfill(r, pages);
        }
        if (rc != 0)
            return -1;
        pages++;
        data = json_object_get(resp, "data");
        more = json_is_true(json_object_get(resp, "has_more")) &&
               json_array_size(data) > 0;
        rc = apply_events(r, data);
        json_decref(resp);
        if (rc != 0)
            return -1;
        if (!more)
            return 0;
    }
    cd_info(MOD, "more events wait after %d pages; the next run goes on",
            pages);
    return 0;
}

/* ---- pending orders --------------------------------------------------- */

struct pending {
    int64_t before;
    struct cd_order *orders;
    size_t n;
};

static int collect_pending(const struct cd_order *o, void *arg)
{
    struct pending *p = arg;

    if (p->n >= CD_RECONCILE_MAX_ORDERS)
        return 1;
    p->orders[p->n++] = *o;
    return 0;
}

static int pending_read_fn(struct cd_tx *tx, void *arg)
{
    struct pending *p = arg;

    return cd_store_order_list_pending(tx, p->before, CD_RECONCILE_MAX_ORDERS,
                                       collect_pending, p);
}

struct abandon_job {
    const char *order_id;
    int64_t now;
    int changed;
};

static int abandon_fn(struct cd_tx *tx, void *arg)
{
    struct abandon_job *j = arg;
    struct cd_order_patch abandoned = {
        .move = 1, .to = CD_ORDER_FAILED, .failure = ABANDON_REASON};
    struct cd_order o;
    int rc;

    j->changed = 0;
    rc = cd_store_order_get(tx, j->order_id, &o);
    if (rc == CD_STORE_NOT_FOUND)
        return 0;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* Decided on what the transaction sees: the checkout may have stored
     * its session since the list was read. */
    if (!cd_order_is(&o, CD_ORDER_PENDING) || o.stripe_session_id[0] ||
        o.stripe_payment_intent_id[0] ||
        o.created_at >= j->now - CD_RECONCILE_ABANDON_AGE)
        return 0;
    rc = cd_order_patch_tx(tx, &o, &abandoned, j->now);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->changed = 1;
    return 0;
}

/* What check_object() asks Stripe about - an order's Checkout session or
 * its own PaymentIntent - and the handler that applies the fresh copy
 * (cd_checkout_on_session, cd_topup_on_payment_intent). */
struct stripe_kind {
    const char *label;    /* in logs: "session", "payment intent" */
    const char *path;     /* GET path before the id */
    const char *applying; /* for store_failed() */
    int (*apply)(struct cd_billing *b, const char *event_id, const char *type,
                 const json_t *obj, const char **status_out,
                 struct cd_error *err);
};

static const struct stripe_kind K_SESSION = {
    "session", "/v1/checkout/sessions/", "applying a session",
    cd_checkout_on_session};
static const struct stripe_kind K_PAYMENT_INTENT = {
    "payment intent", "/v1/payment_intents/", "applying a payment intent",
    cd_topup_on_payment_intent};

/* A pending order's Stripe object `id` of kind k: asks Stripe what it is
 * now and applies it. 0 or -1. */
static int check_object(struct run *r, const struct cd_order *o,
                        const struct stripe_kind *k, const char *id)
{
    char path[CD_SID_SZ + 32];
    struct cd_error serr, ferr;
    struct cd_order now;
    json_t *obj = NULL;
    const char *status = NULL;
    int rc, http = 0;

    if (!safe_id(id)) {
        cd_warn(MOD, "order %s: %s id is not a Stripe id; skipped", o->id,
                k->label);
        return 0;
    }
    snprintf(path, sizeof(path), "%s%s", k->path, id);
    cd_error_clear(&serr);
    rc = cd_stripe_request(r->b->stripe, "GET", path, NULL, NULL, &obj, &http,
                           &serr);
    if (rc != 0) {
        json_decref(obj);
        if (http >= 400 && http < 500) {
            /* Not ours to know (another account's object, deleted):
             * nothing to learn; the order stays as it is. */
            cd_warn(MOD, "order %s: %s %s: %s", o->id, k->label, id,
                    serr.message);
            r->out->orders_checked++;
            return 0;
        }
        return stripe_failed(r, &serr);
    }
    r->out->orders_checked++;
    cd_error_clear(&ferr);
    rc = k->apply(r->b, NULL, NULL, obj, &status, &ferr);
    json_decref(obj);
    if (rc != 0) {
        if (ferr.kind == CD_EK_INTERNAL)
            return store_failed(r, k->applying);
        cd_warn(MOD, "order %s: %s", o->id, ferr.message);
        return 0;
    }
    rc = cd_order_get(r->b, o->id, &now);
    if (rc == CD_STORE_ERROR)
        return store_failed(r, "re-reading an order");
    if (rc == CD_STORE_OK && !cd_order_is(&now, CD_ORDER_PENDING)) {
        r->out->orders_fixed++;
        cd_metrics_add(NULL, &M_FIXED, 1, NULL, NULL, NULL);
        cd_info(MOD, "order %s: %s (%s %s)", o->id, now.status, k->label, id);
    }
    return 0;
}

/* A pending order with a Checkout session: asks Stripe what the session
 * is now and applies it. 0 or -1. */
static int check_session(struct run *r, const struct cd_order *o)
{
    return check_object(r, o, &K_SESSION, o->stripe_session_id);
}

/* A pending order paid through a PaymentIntent of its own (POST
 * /v1/topups, /v1/payment_intents): asks Stripe what the PaymentIntent is
 * now and applies it (succeeded fulfils, canceled fails). 0 or -1. */
static int check_payment_intent(struct run *r, const struct cd_order *o)
{
    return check_object(r, o, &K_PAYMENT_INTENT, o->stripe_payment_intent_id);
}

/* An order with neither a session nor a PaymentIntent whose customer may
 * have been charged all the same (an off-session top-up whose answer was
 * lost, its event not applied yet): its PaymentIntent looked for at
 * Stripe (topup_lookup.h). 1 when it succeeded (applied: completed) or
 * is still processing, so the order is not abandoned; 0 when there is
 * none or it did not go through; -1 (Stripe or the store failed). */
static int charged_after_all(struct run *r, const struct cd_order *o)
{
    struct cd_error serr, ferr;
    const char *status = NULL, *st;
    json_t *pi = NULL;
    int rc;

    if (!o->stripe_customer_id[0] || !safe_id(o->stripe_customer_id))
        return 0;
    cd_error_clear(&serr);
    rc = cd_topup_lookup(r->b, o->stripe_customer_id, o->id, o->created_at,
                         &pi, &serr);
    if (rc != 0)
        return rc < 0 ? stripe_failed(r, &serr) : 0;
    st = json_string_value(json_object_get(pi, "status"));
    rc = st && strcmp(st, "processing") == 0;
    if (st && strcmp(st, "succeeded") == 0) {
        cd_error_clear(&ferr);
        if (cd_topup_on_payment_intent(r->b, NULL, NULL, pi, &status,
                                       &ferr) != 0 &&
            ferr.kind == CD_EK_INTERNAL)
            rc = store_failed(r, "applying a payment intent");
        else
            rc = 1;
    }
    json_decref(pi);
    return rc;
}

/* A pending order with neither a session nor a PaymentIntent for over
 * CD_RECONCILE_ABANDON_AGE: failed, unless Stripe charged it after all.
 * 0 or -1. */
static int abandon(struct run *r, const struct cd_order *o, int64_t now)
{
    struct abandon_job j = {o->id, now, 0};
    struct cd_order after;
    int rc;

    r->out->orders_checked++;
    rc = charged_after_all(r, o);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        if (cd_order_get(r->b, o->id, &after) == CD_STORE_OK &&
            !cd_order_is(&after, CD_ORDER_PENDING)) {
            r->out->orders_fixed++;
            cd_metrics_add(NULL, &M_FIXED, 1, NULL, NULL, NULL);
            cd_info(MOD, "order %s: %s (its payment intent found at Stripe)",
                    o->id, after.status);
        }
        return 0;
    }
    if (cd_store_write(r->b->store, abandon_fn, &j) != 0)
        return store_failed(r, "failing an abandoned order");
    if (j.changed) {
        r->out->orders_fixed++;
        cd_metrics_add(NULL, &M_FIXED, 1, NULL, NULL, NULL);
        cd_info(MOD, "order %s failed: %s", o->id, ABANDON_REASON);
    }
    return 0;
}

static int run_orders(struct run *r)
{
    struct pending p;
    int64_t now = cd_now();
    int rc = 0;

    memset(&p, 0, sizeof(p));
    p.before = now - CD_RECONCILE_PENDING_AGE;
    p.orders = calloc(CD_RECONCILE_MAX_ORDERS, sizeof(*p.orders));
    if (!p.orders)
        return cd_error_set(r->err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Out of memory.");
    if (cd_store_read(r->b->store, pending_read_fn, &p) != 0) {
        rc = store_failed(r, "listing pending orders");
        goto out;
    }
    for (size_t i = 0; i < p.n && rc == 0; i++) {
        const struct cd_order *o = &p.orders[i];

        if (stopping(r))
            break;
        if (o->stripe_session_id[0]) {
            rc = check_session(r, o);
        } else if (o->stripe_payment_intent_id[0]) {
            rc = check_payment_intent(r, o);
        } else if (!o->stripe_payment_intent_id[0] &&
                   o->created_at < now - CD_RECONCILE_ABANDON_AGE) {
            rc = abandon(r, o, now);
        }
    }
out:
    free(p.orders);
    return rc;
}

/* ---- entry points ----------------------------------------------------- */

int cd_reconcile_run_until(struct cd_billing *b, int (*stop)(void *arg),
                           void *arg, struct cd_reconcile_result *out,
                           struct cd_error *err)
{
    struct run r;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    memset(&r, 0, sizeof(r));
    r.b = b;
    r.stop = stop;
    r.stop_arg = arg;
    r.out = out;
    r.err = err;

    pthread_mutex_lock(&run_mu);
    rc = run_events(&r);
    if (rc == 0)
        rc = run_orders(&r);
    pthread_mutex_unlock(&run_mu);

    cd_metrics_add(NULL, &M_RUNS, 1, rc == 0 ? "ok" : "error", NULL, NULL);
    cd_metrics_set(NULL, &M_LAST_RUN, (double)cd_now(), NULL, NULL, NULL);
    if (rc == 0)
        cd_metrics_set(NULL, &M_LAST_OK, (double)cd_now(), NULL, NULL, NULL);
    if (rc == 0)
        cd_info(MOD,
                "events seen %lld, applied %lld; pending orders checked "
                "%lld, fixed %lld",
                (long long)out->events_seen, (long long)out->events_applied,
                (long long)out->orders_checked, (long long)out->orders_fixed);
    return rc == 0 ? 0 : -1;
}

int cd_reconcile_run(struct cd_billing *b, struct cd_reconcile_result *out,
                     struct cd_error *err)
{
    return cd_reconcile_run_until(b, NULL, NULL, out, err);
}
