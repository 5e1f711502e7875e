/*
 * outbox.c - events for the application (see outbox.h): the emit function
 * every effect calls inside its own write job, the ledger's credits.* and
 * balance.* events, the pull feed, balance alerts, webhook endpoints and
 * replays. The sender is outbox_send.c.
 */
#include "billing/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/signature.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define MOD "outbox"

static const char *const types[] = {
#define T(s) s,
    CD_OUTBOX_TYPES(T)
#undef T
};

int cd_outbox_type_known(const char *type)
{
    for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/* ---- emitting (inside the effect's write job) ------------------------- */

int cd_outbox_emit_text_tx(struct cd_tx *tx, const char *account_id,
                           const char *type, const char *text)
{
    struct cd_event *e = calloc(1, sizeof(*e));
    int rc;

    if (!e || !text || !cd_outbox_type_known(type) ||
        cd_strlcpy(e->data, text, sizeof(e->data)) ||
        cd_strlcpy(e->account_id, account_id ? account_id : "",
                   sizeof(e->account_id)) ||
        cd_strlcpy(e->type, type, sizeof(e->type))) {
        cd_error(MOD, "event %s: cannot be written (type, size or memory)",
                 type ? type : "(none)");
        free(e);
        return CD_STORE_ERROR;
    }
    rc = cd_store_event_seq_next(tx, e->account_id, &e->account_seq);
    if (rc == CD_STORE_OK) {
        cd_ordered_id("evt_", e->id, sizeof(e->id));
        e->created_at = cd_now();
        rc = cd_store_outbox_insert(tx, e, cd_now_ms());
        if (rc == CD_STORE_DUPLICATE)
            rc = CD_STORE_ERROR; /* a sequence number is never reused */
    } else if (rc == CD_STORE_NOT_FOUND) {
        /* No account (gone): nobody to tell; the effect still stands. */
        cd_warn(MOD, "event %s: no account %s, not written", type,
                e->account_id);
        rc = CD_STORE_OK;
    }
    free(e);
    return rc;
}

int cd_outbox_emit_tx(struct cd_tx *tx, const char *account_id,
                      const char *type, json_t *data)
{
    char *text;
    int rc;

    if (!data)
        data = json_object();
    text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    rc = cd_outbox_emit_text_tx(tx, account_id, type, text);
    free(text);
    return rc;
}

static const char *ledger_type(const struct cd_ledger_apply *in)
{
    if (in->kind && strcmp(in->kind, "expiry") == 0)
        return "credits.expired";
    return in->amount > 0 ? "credits.granted" : "credits.debited";
}

/* balance.low / balance.recovered for each threshold between the balance
 * before and after e (a threshold t is "under" when balance < t). */
static int alerts_tx(struct cd_tx *tx, const struct cd_ledger_entry *e)
{
    int64_t before = e->balance_after - e->amount, crossed[CD_ALERTS_MAX];
    int64_t lo = before < e->balance_after ? before : e->balance_after;
    int64_t hi = before < e->balance_after ? e->balance_after : before;
    int n = 0, rc;

    rc = cd_store_alerts_crossed(tx, e->account_id, lo, hi, crossed,
                                 CD_ALERTS_MAX, &n);
    for (int i = 0; rc == CD_STORE_OK && i < n; i++) {
        /* down: emit from the highest threshold to the lowest */
        int64_t t = e->amount < 0 ? crossed[n - 1 - i] : crossed[i];

        rc = cd_outbox_emit_tx(
            tx, e->account_id,
            e->amount < 0 ? "balance.low" : "balance.recovered",
            json_pack("{sI sI sI ss}", "threshold", (json_int_t)t,
                      "balance_before", (json_int_t)before, "balance_after",
                      (json_int_t)e->balance_after, "transaction_id", e->id));
    }
    return rc;
}

/* The credits.* event's data through jansson: only for what cd_jsonw
 * refuses (a description that is not UTF-8: jansson drops the field). */
static json_t *ledger_data_json(const struct cd_ledger_entry *e)
{
    json_t *d = json_pack("{ss sI sI ss ss}", "transaction_id", e->id,
                          "amount", (json_int_t)e->amount, "balance_after",
                          (json_int_t)e->balance_after, "kind", e->kind,
                          "ref", e->ref);

    if (d) {
        json_object_set_new(d, "order_id",
                            e->order_id[0] ? json_string(e->order_id)
                                           : json_null());
        json_object_set_new(d, "description", json_string(e->description));
        if (strcmp(e->kind, "expiry") == 0) { /* when it took effect */
            char at[21];

            cd_time_rfc3339(e->effective_at ? e->effective_at : e->created_at,
                            at);
            json_object_set_new(d, "expired_at", json_string(at));
        }
    }
    return d;
}

/* The same object written directly (util/jsonw.h: the same bytes, no
 * json_t), the expiry's "expired_at" last. 0, or -1 when it does not
 * fit or a string is not UTF-8. */
static int ledger_data(const struct cd_ledger_entry *e, char *out, size_t cap)
{
    struct cd_jsonw w;
    char at[21];

    cd_jsonw_begin(&w, out, cap);
    cd_jsonw_str(&w, "transaction_id", e->id);
    cd_jsonw_i64(&w, "amount", e->amount);
    cd_jsonw_i64(&w, "balance_after", e->balance_after);
    cd_jsonw_str(&w, "kind", e->kind);
    cd_jsonw_str(&w, "ref", e->ref);
    cd_jsonw_str(&w, "order_id", e->order_id[0] ? e->order_id : NULL);
    cd_jsonw_str(&w, "description", e->description);
    if (strcmp(e->kind, "expiry") == 0) { /* when it took effect */
        cd_time_rfc3339(e->effective_at ? e->effective_at : e->created_at,
                        at);
        cd_jsonw_str(&w, "expired_at", at);
    }
    return cd_jsonw_end(&w);
}

int cd_outbox_ledger_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                        const struct cd_ledger_entry *e)
{
    char data[CD_OB_DATA_SZ];
    int rc;

    if (ledger_data(e, data, sizeof(data)) == 0)
        rc = cd_outbox_emit_text_tx(tx, e->account_id, ledger_type(in), data);
    else
        rc = cd_outbox_emit_tx(tx, e->account_id, ledger_type(in),
                               ledger_data_json(e));
    return rc == CD_STORE_OK ? alerts_tx(tx, e) : CD_STORE_ERROR;
}

/* ---- the Event object and its signature --------------------------------- */

json_t *cd_outbox_event_json(const char *id, const char *account_id,
                             int64_t seq, const char *type, const char *data,
                             int64_t created)
{
    json_t *d = json_loads(data, 0, NULL);

    if (!d)
        return NULL;
    return json_pack("{ss ss ss sI ss sI so}", "id", id, "object", "event",
                     "type", type, "sequence", (json_int_t)seq, "account",
                     account_id, "created", (json_int_t)created, "data", d);
}

int cd_outbox_sign(const char *secret, const char *old, int64_t old_expires,
                   int64_t t, const char *body, size_t len, char *out,
                   size_t outsz)
{
    char h2[160];
    const char *v1;
    size_t n;

    if (cd_stripe_sig_header(secret, t, body, len, out, outsz) != 0)
        return -1;
    if (!old || !old[0] || t >= old_expires)
        return 0;
    if (cd_stripe_sig_header(old, t, body, len, h2, sizeof(h2)) != 0 ||
        !(v1 = strstr(h2, ",v1=")))
        return -1;
    n = strlen(out);
    if (n + strlen(v1) + 1 > outsz)
        return -1;
    memcpy(out + n, v1, strlen(v1) + 1);
    return 0;
}

/* ---- the events of other effects ---------------------------------------- */

json_t *cd_outbox_order_data(const struct cd_order *o)
{
    json_t *j = json_pack("{ss ss ss sI ss sI}", "id", o->id, "kind", o->kind,
                          "status", o->status, "amount_cents",
                          (json_int_t)o->amount_cents, "currency",
                          o->currency, "credits", (json_int_t)o->credits);

    if (j) {
        json_object_set_new(j, "item_id",
                            o->item_id[0] ? json_string(o->item_id)
                                          : json_null());
        json_object_set_new(j, "description", json_string(o->description));
        json_object_set_new(j, "failure_reason",
                            o->failure_reason[0]
                                ? json_string(o->failure_reason)
                                : json_null());
    }
    return j;
}

int cd_outbox_order_tx(struct cd_tx *tx, const char *type,
                       const struct cd_order *o)
{
    return cd_outbox_emit_tx(
        tx, o->account_id, type,
        json_pack("{so}", "order", cd_outbox_order_data(o)));
}
