/*
 * autotopup.c - auto top-up settings, the trigger in the spend's
 * transaction, and the decline policy; see autotopup.h. The worker that
 * pays attempts is autotopup_worker.c.
 */
#include "billing/autotopup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/checkout.h"
#include "billing/idempotency.h"
#include "billing/outbox.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "autotopup"

static const struct cd_metric_def M_AUTOTOPUP = {
    "creditd_autotopup_total",
    "Auto top-up tries by outcome (succeeded; declined: tried again later; "
    "failed: given up, auto top-up turned off; canceled: turned off or the "
    "balance was back before a retry).",
    CD_METRIC_COUNTER,
    {"outcome"},
    NULL,
    0};

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

int64_t cd_autotopup_month(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm))
        return 0;
    return (int64_t)(tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

int cd_autotopup_spend_kind(const char *kind)
{
    return kind && strcmp(kind, "refund") != 0 &&
           strcmp(kind, "dispute") != 0;
}

/* ---- the trigger ------------------------------------------------------- */

int cd_autotopup_check_tx(struct cd_tx *tx, const char *account_id)
{
    struct cd_autotopup_attempt a;
    int64_t threshold, balance;
    int rc;

    rc = cd_store_autotopup_probe(tx, account_id, &threshold, &balance);
    if (rc == CD_STORE_NOT_FOUND)
        return CD_STORE_OK; /* off or never set: the common case */
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (balance >= threshold)
        return CD_STORE_OK;
    memset(&a, 0, sizeof(a));
    cd_random_id("atu_", a.id, sizeof(a.id));
    cd_strlcpy(a.account_id, account_id, sizeof(a.account_id));
    a.created_at = cd_now();
    a.month = cd_autotopup_month(a.created_at);
    /* the statement re-checks everything, the cap and the one open
     * attempt included */
    rc = cd_store_autotopup_open(tx, &a);
    if (rc == CD_STORE_OK)
        cd_info(MOD,
                "%s: balance %" PRId64 " under %" PRId64
                ": auto top-up %s started",
                account_id, balance, threshold, a.id);
    return rc == CD_STORE_OK || rc == CD_STORE_NOT_FOUND ? CD_STORE_OK
                                                         : CD_STORE_ERROR;
}

/* ---- GET / PUT ---------------------------------------------------------- */

struct view_job {
    const char *account_id;
    struct cd_autotopup_view *v;
    const struct cd_autotopup_settings *put; /* PUT: write this first */
    int rc;
};

static int read_view_tx(struct cd_tx *tx, const char *account_id,
                        struct cd_autotopup_view *v)
{
    int rc;

    memset(v, 0, sizeof(*v));
    rc = cd_store_autotopup_get(tx, account_id, &v->s);
    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    v->configured = rc == CD_STORE_OK;
    if (cd_store_autotopup_month_sum(tx, account_id,
                                     cd_autotopup_month(cd_now()),
                                     &v->month_spent_cents) != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_store_autotopup_attempt_last(tx, account_id, &v->last);
    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    v->has_last = rc == CD_STORE_OK;
    return CD_STORE_OK;
}

static int view_fn(struct cd_tx *tx, void *arg)
{
    struct view_job *j = arg;

    if (j->put) {
        if (cd_store_autotopup_put(tx, j->put) != CD_STORE_OK)
            return CD_STORE_ERROR;
        if (!j->put->enabled &&
            cd_store_autotopup_cancel_pending(tx, j->account_id, cd_now()) !=
                CD_STORE_OK)
            return CD_STORE_ERROR;
        if (j->put->enabled &&
            cd_autotopup_check_tx(tx, j->account_id) != CD_STORE_OK)
            return CD_STORE_ERROR;
    }
    return read_view_tx(tx, j->account_id, j->v);
}

int cd_autotopup_get(struct cd_billing *b, const char *account_id,
                     struct cd_autotopup_view *out, struct cd_error *err)
{
    struct view_job j = {account_id, out, NULL, 0};

    if (cd_store_read(b->store, view_fn, &j) != 0)
        return internal(err);
    return 0;
}

/* The merged settings of a PUT, checked. 0 or -1 with err. */
static int merge(struct cd_billing *b, const struct cd_autotopup_req *req,
                 struct cd_autotopup_settings *s, struct cd_error *err)
{
    struct cd_checkout_req cr;
    struct cd_checkout_quote q;

    if (req->threshold)
        s->threshold = req->threshold;
    if (req->amount_cents)
        s->amount_cents = req->amount_cents;
    if (req->monthly_cap_cents)
        s->monthly_cap_cents = req->monthly_cap_cents;
    if (req->enabled &&
        (!req->threshold || !req->amount_cents || !req->monthly_cap_cents))
        return cd_error_set(err, CD_EK_INVALID, "missing_param",
                            !req->threshold      ? "threshold"
                            : !req->amount_cents ? "amount_cents"
                                                 : "monthly_cap_cents",
                            "threshold, amount_cents and monthly_cap_cents "
                            "are required to enable auto top-up");
    if (req->amount_cents) {
        memset(&cr, 0, sizeof(cr));
        cr.kind = "topup";
        cr.amount_cents = req->amount_cents;
        if (cd_checkout_quote(b, &cr, &q, err) != 0)
            return -1;
    }
    if (req->monthly_cap_cents > CD_AUTOTOPUP_CAP_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "monthly_cap_cents",
                            "monthly_cap_cents must be at most %" PRId64,
                            CD_AUTOTOPUP_CAP_MAX);
    if (s->monthly_cap_cents && s->monthly_cap_cents < s->amount_cents)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "monthly_cap_cents",
                            "monthly_cap_cents must be at least "
                            "amount_cents");
    return 0;
}

int cd_autotopup_put(struct cd_billing *b, const struct cd_account *acct,
                     const struct cd_autotopup_req *req,
                     struct cd_autotopup_view *out, struct cd_error *err)
{
    struct cd_autotopup_settings s;
    struct view_job j = {acct->id, out, &s, 0};

    if (cd_autotopup_get(b, acct->id, out, err) != 0)
        return -1;
    s = out->s;
    if (!out->configured) {
        memset(&s, 0, sizeof(s));
        cd_strlcpy(s.account_id, acct->id, sizeof(s.account_id));
    }
    if (merge(b, req, &s, err) != 0)
        return -1;
    if (req->enabled &&
        (!acct->stripe_customer_id[0] || !acct->has_saved_payment_method))
        return cd_error_set(err, CD_EK_CONFLICT, "no_saved_payment_method",
                            NULL,
                            "Auto top-up charges the saved card: "
                            "buy once with Checkout first.");
    if (req->enabled && !s.enabled) { /* turned on (again): a fresh start */
        s.declines = 0;
        s.disabled_reason[0] = '\0';
    }
    s.enabled = req->enabled;
    s.updated_at = cd_now();
    if (cd_store_write(b->store, view_fn, &j) != 0)
        return internal(err);
    cd_info(MOD,
            "%s: auto top-up %s (threshold %" PRId64 ", %" PRId64
            " cents, cap %" PRId64 ")",
            acct->id, s.enabled ? "on" : "off", s.threshold, s.amount_cents,
            s.monthly_cap_cents);
    return 0;
}

/* ---- the outcomes of a try ---------------------------------------------- */

enum outcome { OC_SUCCEEDED, OC_DECLINED, OC_GIVE_UP, OC_DEFER };

struct outcome_job {
    const struct cd_autotopup_attempt *in;
    enum outcome oc;
    const char *code, *message;
    int64_t after_s;
    const char *counted; /* out: the metric's outcome, or NULL */
};

static void set_failure(struct cd_autotopup_settings *s,
                        struct cd_autotopup_attempt *a, const char *code,
                        const char *message, int64_t now)
{
    cd_strlcpy(a->decline_code, code ? code : "", sizeof(a->decline_code));
    cd_strlcpy(a->failure, message ? message : "", sizeof(a->failure));
    cd_strlcpy(s->last_decline_code, a->decline_code,
               sizeof(s->last_decline_code));
    cd_strlcpy(s->last_failure, a->failure, sizeof(s->last_failure));
    s->last_failure_at = now;
}

/* The decline policy on a (in flight) and its settings s. */
static void apply_decline(struct outcome_job *j,
                          struct cd_autotopup_settings *s,
                          struct cd_autotopup_attempt *a, int64_t now)
{
    static const int64_t waits[] = {CD_AUTOTOPUP_RETRY_1_S,
                                    CD_AUTOTOPUP_RETRY_2_S};

    set_failure(s, a, j->code, j->message, now);
    s->declines++;
    if (s->declines >= CD_AUTOTOPUP_MAX_DECLINES ||
        s->declines > (int64_t)CD_ARRAY_LEN(waits)) {
        cd_strlcpy(a->state, "failed", sizeof(a->state));
        s->enabled = 0;
        snprintf(s->disabled_reason, sizeof(s->disabled_reason),
                 "Turned off after %" PRId64 " declines in a row; the last: "
                 "%.300s (%.64s)",
                 s->declines, a->failure, a->decline_code);
    } else {
        cd_strlcpy(a->state, "pending", sizeof(a->state));
        a->next_try_at = now + waits[s->declines - 1];
    }
}

/* auto_topup.succeeded or auto_topup.failed of attempt a (settings s after
 * it: a decline may have turned auto top-up off). */
static int attempt_event_tx(struct cd_tx *tx,
                            const struct cd_autotopup_attempt *a,
                            const struct cd_autotopup_settings *s,
                            int succeeded)
{
    return cd_outbox_emit_tx(
        tx, a->account_id,
        succeeded ? "auto_topup.succeeded" : "auto_topup.failed",
        json_pack("{s{ss ss sI sI ss? ss? ss? sb ss?}}", "auto_topup", "id",
                  a->id, "status", a->state, "amount_cents",
                  (json_int_t)a->amount_cents, "tries", (json_int_t)a->tries,
                  "order_id", a->order_id[0] ? a->order_id : NULL,
                  "decline_code", a->decline_code[0] ? a->decline_code : NULL,
                  "failure", a->failure[0] ? a->failure : NULL, "enabled",
                  s->enabled != 0, "disabled_reason",
                  s->disabled_reason[0] ? s->disabled_reason : NULL));
}
static int outcome_fn(struct cd_tx *tx, void *arg)
{
    struct outcome_job *j = arg;
    struct cd_autotopup_attempt a;
    struct cd_autotopup_settings s;
    int64_t now = cd_now();
    int rc = cd_store_autotopup_attempt_get(tx, j->in->id, &a);

    if (rc == CD_STORE_NOT_FOUND)
        return 0;
    if (rc != CD_STORE_OK ||
        cd_store_autotopup_get(tx, a.account_id, &s) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (strcmp(a.state, "in_flight") != 0 || a.tries != j->in->tries)
        return 0; /* settled already (another pass, another node) */
    a.updated_at = s.updated_at = now;
    if (j->oc == OC_DEFER) {
        a.next_try_at = now + j->after_s;
        return cd_store_autotopup_attempt_update(tx, &a);
    }
    if (j->oc == OC_SUCCEEDED) {
        cd_strlcpy(a.state, "succeeded", sizeof(a.state));
        s.declines = 0;
    } else if (j->oc == OC_DECLINED) {
        apply_decline(j, &s, &a, now);
    } else {
        set_failure(&s, &a, j->code, j->message, now);
        cd_strlcpy(a.state, "failed", sizeof(a.state));
        s.enabled = 0;
        cd_strlcpy(s.disabled_reason, j->message ? j->message : "",
                   sizeof(s.disabled_reason));
    }
    if (cd_store_autotopup_attempt_update(tx, &a) != CD_STORE_OK ||
        cd_store_autotopup_put(tx, &s) != CD_STORE_OK ||
        attempt_event_tx(tx, &a, &s, j->oc == OC_SUCCEEDED) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* A literal, not a.state: a is this job's local, gone once it returns
     * (the metric is counted after the commit). */
    j->counted = strcmp(a.state, "pending") == 0     ? "declined"
                 : strcmp(a.state, "succeeded") == 0 ? "succeeded"
                 : strcmp(a.state, "failed") == 0    ? "failed"
                                                     : "other";
    cd_info(MOD, "%s: auto top-up %s try %" PRId64 ": %s%s%s", a.account_id,
            a.id, a.tries, a.state, s.enabled ? "" : "; auto top-up off: ",
            s.enabled ? "" : s.disabled_reason);
    /* Spent under the threshold again while this one was in flight (no
     * second could start then), or the amount did not reach it: the next
     * starts now, within the cap. */
    if (j->oc == OC_SUCCEEDED)
        return cd_autotopup_check_tx(tx, a.account_id);
    return 0;
}

static int outcome(struct cd_billing *b, const struct cd_autotopup_attempt *a,
                   enum outcome oc, const char *code, const char *message,
                   int64_t after_s)
{
    struct outcome_job j = {a, oc, code, message, after_s, NULL};

    if (cd_store_write(b->store, outcome_fn, &j) != 0)
        return -1;
    if (j.counted)
        cd_metrics_add(NULL, &M_AUTOTOPUP, 1, j.counted, NULL, NULL);
    return 0;
}

int cd_autotopup_succeeded(struct cd_billing *b,
                           const struct cd_autotopup_attempt *a)
{
    return outcome(b, a, OC_SUCCEEDED, NULL, NULL, 0);
}

int cd_autotopup_declined(struct cd_billing *b,
                          const struct cd_autotopup_attempt *a,
                          const char *code, const char *message)
{
    return outcome(b, a, OC_DECLINED, code, message, 0);
}

int cd_autotopup_give_up(struct cd_billing *b,
                         const struct cd_autotopup_attempt *a,
                         const char *reason)
{
    return outcome(b, a, OC_GIVE_UP, "", reason, 0);
}

int cd_autotopup_defer(struct cd_billing *b,
                       const struct cd_autotopup_attempt *a, int64_t after_s)
{
    return outcome(b, a, OC_DEFER, NULL, NULL, after_s);
}

/* ---- claiming a try ----------------------------------------------------- */

struct claim_job {
    struct cd_autotopup_attempt *a;
    int claimed, canceled;
};

static int claim_fn(struct cd_tx *tx, void *arg)
{
    struct claim_job *j = arg;
    struct cd_autotopup_attempt a;
    struct cd_autotopup_settings s;
    int64_t now = cd_now(), threshold, balance;
    char key[CD_ID_SZ + 24];
    int rc = cd_store_autotopup_attempt_get(tx, j->a->id, &a);

    j->claimed = j->canceled = 0;
    if (rc != CD_STORE_OK)
        return rc == CD_STORE_NOT_FOUND ? 0 : CD_STORE_ERROR;
    if (strcmp(a.state, "pending") != 0 || a.next_try_at > now)
        return 0;
    rc = cd_store_autotopup_get(tx, a.account_id, &s);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    rc = cd_store_autotopup_probe(tx, a.account_id, &threshold, &balance);
    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (rc == CD_STORE_NOT_FOUND || (a.tries > 0 && balance >= threshold)) {
        cd_strlcpy(a.state, "canceled", sizeof(a.state));
        a.updated_at = now;
        cd_info(MOD, "%s: auto top-up %s canceled (%s)", a.account_id, a.id,
                rc == CD_STORE_NOT_FOUND ? "turned off" : "balance back");
        j->canceled = 1;
        return cd_store_autotopup_attempt_update(tx, &a);
    }
    a.tries++;
    _Static_assert(sizeof(":") + sizeof(a.id) - 1 + CD_I64_CHARS <=
                       sizeof(key),
                   "<attempt id>:<tries> fits the effect key");
    snprintf(key, sizeof(key), "%s:%" PRId64, a.id, a.tries);
    cd_idem_effect_id("autotopup", key, "ord_", a.order_id,
                      sizeof(a.order_id));
    cd_strlcpy(a.state, "in_flight", sizeof(a.state));
    /* looked at again soon: a crash during the Stripe call is resumed
     * (under the same order, so the same Stripe key) by the next pass */
    a.next_try_at = now + CD_AUTOTOPUP_WAIT_S;
    a.updated_at = now;
    rc = cd_store_autotopup_attempt_update(tx, &a);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    *j->a = a;
    j->claimed = 1;
    return 0;
}

int cd_autotopup_claim(struct cd_billing *b, struct cd_autotopup_attempt *a)
{
    struct claim_job j = {a, 0, 0};

    if (cd_store_write(b->store, claim_fn, &j) != 0)
        return -1;
    if (j.canceled)
        cd_metrics_add(NULL, &M_AUTOTOPUP, 1, "canceled", NULL, NULL);
    return j.claimed;
}
