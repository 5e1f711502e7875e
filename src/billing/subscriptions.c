/*
 * subscriptions.c - customer.subscription.created|updated|deleted, the
 * buyer's cancel and resume, and the subscription readers; see
 * subscriptions.h for the rules and order_credit.h for the shape every
 * event handler shares. invoice.paid is in invoices.c, which shares the
 * re-read and the upsert through subscriptions_int.h.
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
 */
#include "billing/subscriptions.h"
#include "billing/subscriptions_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/order_credit.h"
#include "billing/outbox.h"
#include "billing/stripe_call.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "subscriptions"
#define str_or_id cd_stripe_str_or_id

/* ---- pure readers --------------------------------------------------------- */

int64_t cd_sub_positive_int(const json_t *v)
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
        v = cd_sub_positive_int(
            json_object_get(json_array_get(items, 0), "current_period_end"));
    if (v)
        return v;
    return cd_sub_positive_int(json_object_get(sub, "current_period_end"));
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
    c->cancel_at_period_end = json_is_true(
        json_object_get(o, "cancel_at_period_end"));
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
int cd_sub_fetch(struct cd_billing *b, const char *id, struct sub_copy *c,
                 struct cd_error *err)
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
        cd_warn(MOD, "subscription %s: re-read failed: %s", id, serr.message);
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
void cd_sub_row_from_copy(const struct sub_copy *c, const char *account_id,
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
int cd_sub_upsert_tx(struct cd_tx *tx, const struct cd_subscription *row)
{
    struct cd_subscription was;
    int rc = cd_store_subscription_get(tx, row->stripe_subscription_id, &was);
    int same = rc == CD_STORE_OK && strcmp(was.status, row->status) == 0 &&
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
                  (json_int_t)row->current_period_end, "cancel_at_period_end",
                  row->cancel_at_period_end));
}

int cd_sub_locate_account(struct cd_billing *b, struct locate *l,
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
    rc = cd_sub_upsert_tx(tx, &j->row);
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
    rc = cd_sub_locate_account(b, &l, err);
    if (rc < 0)
        return -1;
    if (rc == CD_STORE_NOT_FOUND) {
        cd_debug(MOD,
                 "event %s: subscription %s is no account's here: "
                 "ignored",
                 event_id ? event_id : "-", snap.id);
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }

    /* The state as Stripe holds it now, never the event's snapshot. */
    rc = cd_sub_fetch(b, snap.id, &now_c, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        *status_out = CD_WEBHOOK_IGNORED;
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    cd_sub_row_from_copy(&now_c, l.account_id, &j.row, cd_now());
    return cd_order_event_run(b, sub_job_fn, &j, event_id, type, &j.status,
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

    return cd_sub_upsert_tx(tx, &j->row);
}

/* Stores copy c of account_id's subscription and reads back the current
 * row into *out. */
static int store_copy(struct cd_billing *b, const struct sub_copy *c,
                      const char *account_id, struct cd_subscription *out,
                      struct cd_error *err)
{
    struct store_job j;

    cd_sub_row_from_copy(c, account_id, &j.row, cd_now());
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

    if (cd_sub_fetch(b, row->stripe_subscription_id, &c, err) == 0 &&
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
    cd_info(MOD, "subscription %s of %s: %s at period end", c.id, account_id,
            cancel ? "cancels" : "no longer cancels");
    return store_copy(b, &c, account_id, out, err);
}
