/*
 * card_enrich.c - the card of a paid payment whose charge event never
 * came, asked of Stripe in the background; see card_enrich.h.
 */
#include "billing/card_enrich.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/charges.h"
#include "stripe/client.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "cards"

static const struct cd_metric_def M_ENRICH = {
    "creditd_card_enrich_total",
    "Paid payments without a card whose PaymentIntent the background run "
    "asked Stripe for its latest charge, by result (filled: the card "
    "recorded; no_card: none there, asked later or never; error: Stripe "
    "failed, asked next run).",
    CD_METRIC_COUNTER,
    {"result"},
    NULL,
    0};

/* What one look-up came to. */
enum look { LOOK_FILLED, LOOK_NO_CARD, LOOK_ERROR };

struct due {
    struct cd_payment *rows;
    size_t n, cap;
};

static int collect(const struct cd_payment *p, void *arg)
{
    struct due *d = arg;

    if (d->n >= d->cap)
        return 1;
    d->rows[d->n++] = *p;
    return 0;
}

struct due_read {
    struct due *d;
    int64_t now;
};

static int due_fn(struct cd_tx *tx, void *arg)
{
    struct due_read *r = arg;

    return cd_store_card_enrich_due(tx, r->now - CD_CARD_ENRICH_WINDOW,
                                    r->now - CD_CARD_ENRICH_AGE, r->now,
                                    CD_CARD_ENRICH_MAX_ATTEMPTS,
                                    (int64_t)r->d->cap, collect, r->d);
}

struct tried_job {
    const char *payment_id;
    int64_t now;
    int64_t attempts; /* out */
};

/* One more look-up without a card; the next after a doubled backoff. */
static int tried_fn(struct cd_tx *tx, void *arg)
{
    struct tried_job *j = arg;
    struct cd_card_enrich e;
    int64_t wait = CD_CARD_ENRICH_BACKOFF;
    int rc;

    memset(&e, 0, sizeof(e));
    rc = cd_store_card_enrich_get(tx, j->payment_id, &e);
    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (rc == CD_STORE_NOT_FOUND)
        e.attempts = 0;
    cd_strlcpy(e.payment_id, j->payment_id, sizeof(e.payment_id));
    for (int64_t i = 0; i < e.attempts && i < 16; i++)
        wait *= 2;
    e.attempts++;
    e.tried_at = j->now;
    e.next_try_at = j->now + wait;
    j->attempts = e.attempts;
    return cd_store_card_enrich_put(tx, &e) == CD_STORE_OK ? 0
                                                           : CD_STORE_ERROR;
}

/* A transient failure: unreachable, rate-limited, or Stripe's own. */
static int transient(int http)
{
    return http == 0 || http == 429 || http >= 500;
}

/* GET the PaymentIntent with its latest charge expanded: 0 with *resp
 * (new), 1 Stripe refused it (4xx), -1 transient (logged). */
static int ask(struct cd_billing *b, const char *pi, json_t **resp)
{
    char path[CD_SID_SZ + 32];
    struct cd_error serr;
    json_t *params = json_pack("{s:[s]}", "expand", "latest_charge");
    int http = 0, rc;

    *resp = NULL;
    if (!params)
        return -1;
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    cd_error_clear(&serr);
    rc = cd_stripe_request(b->stripe, "GET", path, params, NULL, resp, &http,
                           &serr);
    json_decref(params);
    if (rc == 0)
        return 0;
    json_decref(*resp);
    *resp = NULL;
    cd_warn(MOD, "payment intent %s: its card could not be asked (%s)", pi,
            serr.message);
    return transient(http) ? -1 : 1;
}

/* The payment's card, asked and recorded as a charge.succeeded would be. */
static enum look look_up(struct cd_billing *b, const struct cd_payment *p)
{
    const char *status = CD_WEBHOOK_IGNORED;
    struct cd_error err;
    json_t *resp, *ch;
    int rc;

    if (!cd_stripe_safe_id(p->stripe_payment_intent_id))
        return LOOK_NO_CARD;
    rc = ask(b, p->stripe_payment_intent_id, &resp);
    if (rc < 0)
        return LOOK_ERROR;
    ch = rc == 0 ? json_object_get(resp, "latest_charge") : NULL;
    cd_error_clear(&err);
    if (json_is_object(ch) && cd_charge_on_charge(b, NULL, "charge.succeeded",
                                                  ch, &status, &err) != 0) {
        json_decref(resp);
        cd_warn(MOD, "payment %s: %s", p->id, err.message);
        return LOOK_ERROR;
    }
    json_decref(resp);
    return strcmp(status, CD_WEBHOOK_PROCESSED) == 0 ? LOOK_FILLED
                                                     : LOOK_NO_CARD;
}

/* One payment: asked, what came of it counted, and the look-up recorded
 * - also when it filled the card, so a row the card did not reach (its
 * charge already another payment's) is still asked a bounded number of
 * times. 0, or -1 to end the run's look-ups (-2: the store failed). */
static int one(struct cd_billing *b, const struct cd_payment *p,
               struct cd_card_enrich_result *out)
{
    struct tried_job t = {p->id, cd_now(), 0};
    enum look l = look_up(b, p);
    const char *result = l == LOOK_FILLED    ? "filled"
                         : l == LOOK_NO_CARD ? "no_card"
                                             : "error";

    out->looked++;
    cd_metrics_add(NULL, &M_ENRICH, 1, result, NULL, NULL);
    if (l == LOOK_ERROR) {
        out->errors++;
        return -1;
    }
    if (l == LOOK_FILLED)
        out->filled++;
    else
        out->no_card++;
    if (cd_store_write(b->store, tried_fn, &t) != 0) {
        cd_error(MOD, "payment %s: the look-up could not be recorded", p->id);
        return -2;
    }
    if (l == LOOK_FILLED)
        cd_info(MOD, "payment %s: card recorded from Stripe", p->id);
    else
        cd_info(MOD, "payment %s: no card at Stripe (look-up %lld of %d)",
                p->id, (long long)t.attempts, CD_CARD_ENRICH_MAX_ATTEMPTS);
    return 0;
}

int cd_card_enrich_run(struct cd_billing *b, int64_t limit,
                       int (*stop)(void *arg), void *arg,
                       struct cd_card_enrich_result *out)
{
    struct due d = {NULL, 0, 0};
    struct due_read r = {&d, cd_now()};
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!b->stripe || limit <= 0)
        return 0;
    d.cap = (size_t)(limit < 1000 ? limit : 1000);
    if (!(d.rows = calloc(d.cap, sizeof(*d.rows))))
        return -1;
    if (cd_store_read(b->store, due_fn, &r) != 0) {
        cd_error(MOD, "listing payments without a card failed");
        free(d.rows);
        return -1;
    }
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        if (stop && stop(arg))
            break;
        rc = one(b, &d.rows[i], out);
    }
    free(d.rows);
    if (out->looked > 0)
        cd_info(MOD,
                "cards asked of Stripe for %lld payment(s): %lld recorded, "
                "%lld without a card, %lld failed",
                (long long)out->looked, (long long)out->filled,
                (long long)out->no_card, (long long)out->errors);
    return rc < -1 ? -1 : 0;
}
