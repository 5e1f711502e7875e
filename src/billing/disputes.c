/*
 * disputes.c - charge.dispute.created / .updated / .closed; see
 * clawback.h for what a dispute holds back and order_credit.h for the shape
 * every event handler shares.
 *
 * Each dispute is a row (store.h struct cd_dispute) with the amount
 * Stripe disputes - a partial dispute holds only its share - and its last
 * status. A closed status (won, lost, warning_closed, prevented) is
 * final: a late `created` or `updated` never reopens it, so events in any
 * order end the same. A dispute holds money back while it is not won:
 * open and lost alike.
 */
#include "billing/disputes.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "billing/charges.h"
#include "billing/clawback.h"
#include "billing/order_credit.h"
#include "billing/outbox.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "disputes"

/* dispute.opened / dispute.closed of the dispute row d of order o. */
static int dispute_event_tx(struct cd_tx *tx, const struct cd_order *o,
                            const struct cd_dispute *d, const char *type)
{
    return cd_outbox_emit_tx(
        tx, o->account_id, type,
        json_pack("{ss sI ss ss so}", "dispute_id", d->id, "amount_cents",
                  (json_int_t)d->amount_cents, "currency", o->currency,
                  "status", d->status, "order", cd_outbox_order_data(o)));
}

struct dispute_obj {
    char id[CD_SID_SZ];
    char charge[CD_SID_SZ];
    char pi[CD_SID_SZ];
    char status[CD_STATUS_SZ];
    char currency[CD_CUR_SZ]; /* "" when absent */
    int64_t amount;           /* -1: absent, or not in the order's currency */
};

static int closed(const char *status)
{
    return strcmp(status, "won") == 0 || strcmp(status, "lost") == 0 ||
           strcmp(status, "warning_closed") == 0 ||
           strcmp(status, "prevented") == 0;
}

/* Inside the job: the dispute's row, new or moved on (never back from a
 * closed status). */
static int upsert_dispute_tx(struct cd_tx *tx, const struct cd_order *o,
                             const struct dispute_obj *d, int64_t now)
{
    struct cd_dispute row;
    int rc = cd_store_dispute_get(tx, d->id, &row);

    if (rc == CD_STORE_NOT_FOUND) {
        memset(&row, 0, sizeof(row));
        cd_strlcpy(row.id, d->id, sizeof(row.id));
        cd_strlcpy(row.order_id, o->id, sizeof(row.order_id));
        row.amount_cents = d->amount >= 0 ? d->amount : o->amount_cents;
        cd_strlcpy(row.status, d->status, sizeof(row.status));
        row.created_at = row.updated_at = now;
        if (cd_store_dispute_insert(tx, &row) != CD_STORE_OK ||
            dispute_event_tx(tx, o, &row, "dispute.opened") != CD_STORE_OK ||
            (closed(row.status) &&
             dispute_event_tx(tx, o, &row, "dispute.closed") != CD_STORE_OK))
            return CD_STORE_ERROR;
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (strcmp(row.order_id, o->id) != 0 || closed(row.status))
        return CD_STORE_OK;
    if (d->amount >= 0)
        row.amount_cents = d->amount;
    cd_strlcpy(row.status, d->status, sizeof(row.status));
    row.updated_at = now;
    if (cd_store_dispute_update(tx, &row) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return closed(row.status)
               ? dispute_event_tx(tx, o, &row, "dispute.closed")
               : CD_STORE_OK;
}

struct dispute_job {
    const char *event_id;
    const char *type;
    const char *order_id;
    const struct dispute_obj *d;
    const char *status; /* out */
};

static int dispute_job_fn(struct cd_tx *tx, void *arg)
{
    struct dispute_job *j = arg;
    const struct dispute_obj *d = j->d;
    struct dispute_obj dd;
    struct cd_order o;
    struct cd_payment p;
    int64_t now = cd_now();
    int rc, is_new;

    rc = cd_order_event_open_tx(tx, j->event_id, j->type, j->order_id, &o,
                                &j->status);
    if (rc != 0)
        return rc == 1 ? 0 : CD_STORE_ERROR;
    if (d->currency[0] && strcasecmp(d->currency, o.currency) != 0) {
        /* Its amount is in other units: the whole order is held. */
        cd_warn(MOD,
                "event %s: dispute %s is in %s, order %s in %s: the "
                "whole order is held",
                j->event_id ? j->event_id : "-", d->id, d->currency, o.id,
                o.currency);
        dd = *d;
        dd.amount = -1;
        d = &dd;
    }
    if (d->amount > o.amount_cents) {
        cd_error(MOD,
                 "event %s: dispute %s of %" PRId64 " is more than "
                 "order %s (%" PRId64 "): not applied",
                 j->event_id ? j->event_id : "-", d->id, d->amount, o.id,
                 o.amount_cents);
        return 0;
    }
    if (cd_charge_payment_for(tx, &o, d->pi, d->charge, now, &p, &is_new) !=
            CD_STORE_OK ||
        cd_charge_payment_save(tx, &p, is_new) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (!o.stripe_payment_intent_id[0] && d->pi[0])
        cd_strlcpy(o.stripe_payment_intent_id, d->pi,
                   sizeof(o.stripe_payment_intent_id));
    if (upsert_dispute_tx(tx, &o, d, now) != CD_STORE_OK ||
        cd_clawback_settle_tx(tx, &o, "dispute", now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_info(MOD, "order %s: dispute %s %s", o.id, d->id, d->status);
    j->status = CD_WEBHOOK_PROCESSED;
    return 0;
}

int cd_dispute_on_dispute(struct cd_billing *b, const char *event_id,
                          const char *type, const json_t *obj,
                          const char **status_out, struct cd_error *err)
{
    struct dispute_obj d;
    struct dispute_job j;
    const json_t *a = json_object_get(obj, "amount");
    char order_id[CD_ID_SZ];
    int rc;

    *status_out = CD_WEBHOOK_IGNORED;
    memset(&d, 0, sizeof(d));
    cd_stripe_str_or_id(obj, "id", d.id, sizeof(d.id));
    cd_stripe_str_or_id(obj, "charge", d.charge, sizeof(d.charge));
    cd_stripe_str_or_id(obj, "payment_intent", d.pi, sizeof(d.pi));
    cd_stripe_str_or_id(obj, "status", d.status, sizeof(d.status));
    cd_stripe_str_or_id(obj, "currency", d.currency, sizeof(d.currency));
    d.amount = json_is_integer(a) ? json_integer_value(a) : -1;
    if (!d.id[0] || !d.status[0] || (!d.charge[0] && !d.pi[0]) ||
        (json_is_integer(a) && (d.amount < 0 || d.amount > CD_AMOUNT_MAX)))
        return 0;
    rc = cd_charge_locate_order(b, d.charge, d.pi, "", order_id, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        cd_debug(MOD,
                 "event %s: dispute %s is about no order here; not "
                 "recorded",
                 event_id ? event_id : "-", d.id);
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.event_id = event_id;
    j.type = type;
    j.order_id = order_id;
    j.d = &d;
    return cd_order_event_run(b, dispute_job_fn, &j, event_id, type,
                              &j.status, status_out, err);
}
