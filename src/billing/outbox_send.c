/*
 * outbox_send.c - the sender of events to webhook endpoints (outbox.h).
 *
 * Like the mail sender (mail.c): a thread reads due deliveries on a read
 * transaction and only when there are some takes the "events" lease, so
 * one node sends at a time and an idle server writes nothing. Each event
 * is POSTed with libcurl outside any transaction (connect timeout 5 s,
 * whole exchange CREDITD_EVENTS_TIMEOUT_MS, no redirects, http/https only)
 * and its outcome written by its own write job right after: a crash loses
 * at most the outcome of the attempt in flight, which is then sent again
 * (at least once). A 2xx is delivered; anything else is retried with
 * exponential back-off until the retry window (3 days) from the delivery's
 * creation has passed, then failed. Per endpoint and account, a delivery
 * waits while an earlier one is pending (store: the due scan), and within
 * a scan a failed one holds back the later ones of its endpoint and
 * account, so each receiver sees an account's events in sequence order
 * unless one is given up. An endpoint failing without a success for
 * disable_after_s is disabled, logged at warn and recorded as a problem.
 */
#include "billing/outbox.h"

#include <assert.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/problems.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "events"
#define LEASE_EVENTS "events"

static const struct cd_metric_def M_EVENTS = {
    "creditd_event_deliveries_total",
    "Webhook event delivery attempts by outcome (delivered; retry: failed, "
    "tried again later; failed: given up after the retry window).",
    CD_METRIC_COUNTER,
    {"outcome"},
    NULL,
    0};

int64_t cd_outbox_backoff_ms(int64_t attempts, int64_t base_ms)
{
    int64_t d = base_ms > 0 ? base_ms : 30000;

    for (int64_t i = 1; i < attempts && d < CD_OUTBOX_RETRY_CAP_MS; i++)
        d *= 2;
    return d < CD_OUTBOX_RETRY_CAP_MS ? d : CD_OUTBOX_RETRY_CAP_MS;
}

struct cd_outbox_sender {
    struct cd_billing *b;
    struct cd_outbox_config c;
    char holder[CD_LEASE_HOLDER_SZ];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stop;          /* under mu */
    pthread_t thread;
    int held;
    int64_t purged_at; /* the thread's own */
};

static int stopping(struct cd_outbox_sender *s)
{
    int v;

    pthread_mutex_lock(&s->mu);
    v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

struct lease_job {
    const char *holder;
    int64_t now, ttl;
    int release, rc;
};

static int lease_fn(struct cd_tx *tx, void *arg)
{
    struct lease_job *l = arg;

    l->rc = l->release ? cd_store_lease_release(tx, LEASE_EVENTS, l->holder)
                       : cd_store_lease_acquire(tx, LEASE_EVENTS, l->holder,
                                                l->now, l->ttl);
    return l->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

struct due {
    struct cd_delivery *rows;
    int n;
    int64_t now_ms;
};

static int due_cb(const struct cd_delivery *d, void *arg)
{
    struct due *q = arg;

    if (q->n >= CD_OUTBOX_BATCH)
        return 1;
    q->rows[q->n++] = *d;
    return 0;
}

static int due_fn(struct cd_tx *tx, void *arg)
{
    struct due *q = arg;

    return cd_store_deliveries_due(tx, q->now_ms, CD_OUTBOX_BATCH, due_cb, q);
}

/* The outcome of one attempt, and what it does to its endpoint. */
struct outcome {
    struct cd_delivery *d;
    int ok;
    int64_t now, disable_before; /* failing since <= this: disable */
    int disabled;
};

static int outcome_fn(struct cd_tx *tx, void *arg)
{
    struct outcome *o = arg;
    struct cd_order as_order;
    int rc = cd_store_delivery_update(tx, o->d);

    if (rc == CD_STORE_NOT_FOUND) /* its endpoint was deleted meanwhile */
        return 0;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (o->ok)
        return cd_store_endpoint_ok(tx, o->d->endpoint_id) == CD_STORE_ERROR
                   ? CD_STORE_ERROR
                   : 0;
    if (cd_store_endpoint_failing(tx, o->d->endpoint_id, o->now) ==
        CD_STORE_ERROR)
        return CD_STORE_ERROR;
    rc = cd_store_endpoint_disable(tx, o->d->endpoint_id, o->disable_before,
                                   "failing for too long", o->now);
    if (rc == CD_STORE_NOT_FOUND)
        return 0;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    o->disabled = 1;
    /* A problem row keyed by (kind, "<endpoint>:<time>"): the operator's
     * list shows each disabling once. */
    memset(&as_order, 0, sizeof(as_order));
    snprintf(as_order.id, sizeof(as_order.id), "%.40s:%" PRId64,
             o->d->endpoint_id, o->now);
    return cd_problem_note_tx(tx, "endpoint_disabled", &as_order, NULL,
                              "webhook endpoint %s disabled: every delivery "
                              "failed for %" PRId64 " s (last: %s)",
                              o->d->endpoint_id, o->now - o->disable_before,
                              o->d->last_error);
}

static size_t discard_cb(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* POSTs body to the delivery's URL; the HTTP status, or 0 with why set. */
static long post(struct cd_outbox_sender *s, const struct cd_delivery *d,
                 const char *body, size_t len, char *why, size_t whysz)
{
    char sig[400], hdr[480];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    CURLcode cc;
    long code = 0;

    if (!c ||
        cd_outbox_sign(d->secret, d->old_secret, d->old_secret_expires_at,
                       cd_now(), body, len, sig, sizeof(sig)) != 0) {
        cd_strlcpy(why, "cannot sign or no memory", whysz);
        if (c)
            curl_easy_cleanup(c);
        return 0;
    }
    snprintf(hdr, sizeof(hdr), "Creditd-Signature: %s", sig);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: creditd-events/1");
    h = curl_slist_append(h, hdr);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->c.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else /* never the URL: it may carry a token */
        snprintf(why, whysz, "%s", curl_easy_strerror(cc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

/* One attempt and its recorded outcome; 0 when delivered. */
static int deliver(struct cd_outbox_sender *s, struct cd_delivery *d)
{
    char why[CD_OB_TEXT_SZ] = "";
    struct outcome o = {d, 0, cd_now(), 0, 0};
    json_t *ev = cd_outbox_event_json(d->event_id, d->account_id,
                                      d->account_seq, d->type, d->data,
                                      d->event_created);
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    long code = body ? post(s, d, body, strlen(body), why, sizeof(why)) : 0;
    const char *outcome;

    assert(s->held); /* the outcome is written under this node's lease */

    json_decref(ev);
    free(body);
    d->attempts++;
    d->last_status = code;
    o.ok = code >= 200 && code < 300;
    if (!o.ok && !why[0])
        snprintf(why, sizeof(why), code ? "HTTP %ld" : "no event body", code);
    cd_strlcpy(d->last_error, o.ok ? "" : why, sizeof(d->last_error));
    o.disable_before = o.now - s->c.disable_after_s;
    if (o.ok) {
        cd_strlcpy(d->status, "delivered", sizeof(d->status));
        d->delivered_at = o.now;
        outcome = "delivered";
    } else if (o.now - d->created_at >= s->c.retry_window_s) {
        cd_strlcpy(d->status, "failed", sizeof(d->status));
        outcome = "failed";
    } else {
        d->next_attempt_at = cd_now_ms() +
                             cd_outbox_backoff_ms(d->attempts,
                                                  s->c.retry_base_ms);
        outcome = "retry";
    }
    if (cd_store_write(s->b->store, outcome_fn, &o) != 0)
        cd_warn(MOD, "event %s to %s: could not record the outcome (%s)",
                d->event_id, d->endpoint_id, outcome);
    else if (o.disabled)
        cd_warn(MOD,
                "webhook endpoint %s disabled: failing for %" PRId64
                " s or more (last: %s)",
                d->endpoint_id, s->c.disable_after_s, why);
    if (!o.ok)
        cd_info(MOD, "event %s to %s: attempt %" PRId64 " failed (%s)%s",
                d->event_id, d->endpoint_id, d->attempts, why,
                strcmp(outcome, "failed") == 0 ? "; given up" : "");
    cd_metrics_add(NULL, &M_EVENTS, 1, outcome, NULL, NULL);
    return o.ok ? 0 : -1;
}

/* Whether an earlier delivery of this scan to d's endpoint (and account)
 * failed: then d waits, so neither order nor a dead endpoint's timeouts
 * pile up. */
static int held_back(const struct due *q, int upto, const char *failed,
                     const struct cd_delivery *d)
{
    for (int i = 0; i < upto; i++)
        if (failed[i] &&
            strcmp(q->rows[i].endpoint_id, d->endpoint_id) == 0 &&
            (strcmp(q->rows[i].account_id, d->account_id) == 0 ||
             q->rows[i].last_status == 0))
            return 1;
    return 0;
}

static int purge_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_deliveries_purge(tx, *(int64_t *)arg);
}

/* Hourly: finished deliveries older than CD_OUTBOX_KEEP_S go. */
static void purge(struct cd_outbox_sender *s)
{
    int64_t now = cd_now(), before = now - CD_OUTBOX_KEEP_S;

    if (now - s->purged_at < 3600)
        return;
    s->purged_at = now;
    if (cd_store_write(s->b->store, purge_fn, &before) != 0)
        cd_warn(MOD, "could not purge old deliveries");
}

/* One scan; how many were delivered. */
static int cycle(struct cd_outbox_sender *s)
{
    struct due q = {NULL, 0, cd_now_ms()};
    struct lease_job l;
    char failed[CD_OUTBOX_BATCH] = {0};
    int sent = 0;

    q.rows = malloc(CD_OUTBOX_BATCH * sizeof(*q.rows));
    if (!q.rows)
        return 0;
    if (cd_store_read(s->b->store, due_fn, &q) != CD_STORE_OK || !q.n)
        goto out;
    l = (struct lease_job){
        s->holder, cd_now(),
        CD_OUTBOX_BATCH * (s->c.timeout_ms / 1000 + 6) + 300, 0, 0};
    if (cd_store_write(s->b->store, lease_fn, &l) != 0)
        goto out;
    if (l.rc != CD_STORE_OK) {
        if (s->held)
            cd_info(MOD, "another node sends events now");
        s->held = 0;
        goto out;
    }
    s->held = 1;
    for (int i = 0; i < q.n && !stopping(s); i++) {
        if (held_back(&q, i, failed, &q.rows[i]))
            continue;
        if (deliver(s, &q.rows[i]) == 0)
            sent++;
        else
            failed[i] = 1;
    }
out:
    free(q.rows);
    return sent;
}

static void *sender_main(void *arg)
{
    struct cd_outbox_sender *s = arg;

    for (;;) {
        struct timespec ts;
        int sent;

        purge(s);
        sent = cycle(s);

        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        /* Something went out: look again at once (the next of each
         * account's events may be due now). */
        if (!sent) {
            ts.tv_sec += (time_t)(s->c.poll_ms / 1000);
            ts.tv_nsec += (long)(s->c.poll_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            while (!s->stop)
                if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
                    break;
        }
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (s->held) {
        struct lease_job l = {s->holder, 0, 0, 1, 0};

        if (cd_store_write(s->b->store, lease_fn, &l) != 0)
            cd_warn(MOD, "could not release the events lease");
    }
    return NULL;
}

struct cd_outbox_sender *
cd_outbox_sender_start(struct cd_billing *b, const struct cd_outbox_config *c)
{
    struct cd_outbox_sender *s;
    pthread_condattr_t ca;

    if (!b || !b->store || !c)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->b = b;
    s->c = *c;
    if (s->c.poll_ms <= 0)
        s->c.poll_ms = 1000;
    if (s->c.retry_base_ms <= 0)
        s->c.retry_base_ms = 30000;
    if (s->c.retry_window_s <= 0)
        s->c.retry_window_s = 3 * 86400;
    if (s->c.disable_after_s <= 0)
        s->c.disable_after_s = 3 * 86400;
    if (s->c.timeout_ms <= 0)
        s->c.timeout_ms = 10000;
    cd_random_id("events_", s->holder, sizeof(s->holder));
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void cd_outbox_sender_stop(struct cd_outbox_sender *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
