/*
 * deliver.c - webhook delivery: one background thread, a queue, libcurl.
 *
 * Each attempt POSTs the event's exact JSON bytes with a fresh
 * Stripe-Signature (new timestamp per attempt, as Stripe does). Any 2xx is
 * success; anything else (3xx included, network errors, timeouts) is
 * retried with exponential backoff, 200 ms doubling up to 10 s, at most
 * DELIVERY_ATTEMPTS attempts (about a minute; a switch sets another
 * count, so a test whose server is often down can wait longer, as
 * Stripe's three days would). Test switches: a delay before the first
 * attempt, a random extra delay per delivery (jitter: the copies of one
 * event arrive apart), N deliveries of each event, and a random order
 * among the deliveries that are due. The thread also calls a tick
 * function about once a second (the sandbox expires sessions there).
 */
#include "sandbox/internal.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stripe/signature.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "sandbox"
#define DELIVERY_ATTEMPTS 12
#define BACKOFF_FIRST_US 200000
#define BACKOFF_MAX_US 10000000
#define QUEUE_MAX 100000
#define SHUFFLE_WINDOW_US 100000 /* lets a burst gather before shuffling */
#define USER_AGENT "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

struct item {
    struct item *next;
    char *evt_id;
    char *body;
    size_t len;
    int attempts;
    int64_t due_us; /* monotonic */
};

struct cd_sandbox_deliverer {
    char *url; /* NULL: deliver nothing */
    char *secret;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int stop;

    struct item *head, *tail;
    size_t pending;
    long delay_ms;
    long jitter_ms; /* each delivery's first attempt: + 0..jitter_ms */
    int duplicates;
    int shuffle;
    int max_attempts; /* per delivery, then given up */
    uint64_t attempts, delivered, failed, dropped;

    void (*tick)(void *arg);
    void (*on_result)(void *arg, const char *evt_id, int ok);
    void *arg;
};

static void item_free(struct item *it)
{
    if (!it)
        return;
    free(it->evt_id);
    free(it->body);
    free(it);
}

static void append(struct cd_sandbox_deliverer *d, struct item *it)
{
    it->next = NULL;
    if (d->tail)
        d->tail->next = it;
    else
        d->head = it;
    d->tail = it;
}

/* Unlinks and returns a due item (the oldest, or a random one when
 * shuffling), or NULL; *next_due gets the earliest due time otherwise. */
static struct item *pick(struct cd_sandbox_deliverer *d, int64_t now,
                         int64_t *next_due)
{
    struct item *it, *prev = NULL, *chosen = NULL, *chosen_prev = NULL;
    size_t ready = 0, want = 0;

    *next_due = INT64_MAX;
    for (it = d->head; it; it = it->next) {
        if (it->due_us <= now)
            ready++;
        else if (it->due_us < *next_due)
            *next_due = it->due_us;
    }
    if (ready == 0)
        return NULL;
    if (d->shuffle && ready > 1) {
        uint32_t rnd;
        cd_random_bytes(&rnd, sizeof(rnd));
        want = rnd % ready;
    }
    for (it = d->head; it; prev = it, it = it->next) {
        if (it->due_us > now)
            continue;
        if (want-- == 0) {
            chosen = it;
            chosen_prev = prev;
            break;
        }
    }
    if (chosen_prev)
        chosen_prev->next = chosen->next;
    else
        d->head = chosen->next;
    if (d->tail == chosen)
        d->tail = chosen_prev;
    chosen->next = NULL;
    return chosen;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static int progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
                    curl_off_t e)
{
    struct cd_sandbox_deliverer *d = ud;

    (void)a;
    (void)b;
    (void)c;
    (void)e;
    return atomic_load(&d->stop) ? 1 : 0;
}

/* One attempt; returns the HTTP status (0: no answer). */
static long post_once(struct cd_sandbox_deliverer *d, CURL *h,
                      const struct item *it)
{
    struct curl_slist *hdrs = NULL;
    char sig[160], sighdr[192];
    long status = 0;
    CURLcode rc;

    if (cd_stripe_sig_header(d->secret, cd_now(), it->body, it->len, sig,
                             sizeof(sig)) != 0)
        return 0;
    snprintf(sighdr, sizeof(sighdr), "Stripe-Signature: %s", sig);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json; "
                                   "charset=utf-8");
    hdrs = curl_slist_append(hdrs, sighdr);
    hdrs = curl_slist_append(hdrs, "Cache-Control: no-cache");
    hdrs = curl_slist_append(hdrs, "Accept: */*; q=0.5, application/xml");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (!hdrs)
        return 0;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, d->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, d);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        cd_debug(MOD, "webhook %s: %s", it->evt_id, curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    return status;
}

static int64_t backoff_us(int attempts)
{
    int64_t us = BACKOFF_FIRST_US;

    for (int i = 1; i < attempts && us < BACKOFF_MAX_US; i++)
        us *= 2;
    return us < BACKOFF_MAX_US ? us : BACKOFF_MAX_US;
}

static void wait_until(struct cd_sandbox_deliverer *d, int64_t when_us)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(when_us / 1000000);
    ts.tv_nsec = (long)(when_us % 1000000) * 1000;
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void *run(void *arg)
{
    struct cd_sandbox_deliverer *d = arg;
    CURL *h = d->url ? curl_easy_init() : NULL;
    int64_t next_tick = cd_mono_us() + 1000000;

    pthread_mutex_lock(&d->mu);
    while (!atomic_load(&d->stop)) {
        int64_t now = cd_mono_us(), next_due;
        struct item *it;
        long status;
        int done, ok;

        if (now >= next_tick) {
            next_tick = now + 1000000;
            pthread_mutex_unlock(&d->mu);
            if (d->tick)
                d->tick(d->arg);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        it = h ? pick(d, now, &next_due) : NULL;
        if (!it) {
            if (!h)
                next_due = INT64_MAX;
            wait_until(d, next_due < next_tick ? next_due : next_tick);
            continue;
        }
        d->attempts++;
        pthread_mutex_unlock(&d->mu);
        status = post_once(d, h, it);
        pthread_mutex_lock(&d->mu);
        it->attempts++;
        ok = status >= 200 && status < 300;
        done = ok || it->attempts >= d->max_attempts || atomic_load(&d->stop);
        if (!done) {
            cd_debug(MOD, "webhook %s: attempt %d got %ld, retrying",
                     it->evt_id, it->attempts, status);
            it->due_us = cd_mono_us() + backoff_us(it->attempts);
            append(d, it);
            continue;
        }
        d->pending--;
        if (ok)
            d->delivered++;
        else
            d->failed++;
        pthread_mutex_unlock(&d->mu);
        if (ok)
            cd_debug(MOD, "webhook %s delivered (%ld)", it->evt_id, status);
        else
            cd_warn(MOD, "webhook %s: giving up after %d attempts (last %ld)",
                    it->evt_id, it->attempts, status);
        if (d->on_result)
            d->on_result(d->arg, it->evt_id, ok);
        item_free(it);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    if (h)
        curl_easy_cleanup(h);
    return NULL;
}

struct cd_sandbox_deliverer *cd_sandbox_deliverer_start(
    const char *url, const char *secret, long delay_ms,
    void (*tick)(void *arg),
    void (*on_result)(void *arg, const char *evt_id, int ok), void *arg,
    struct cd_error *err)
{
    struct cd_sandbox_deliverer *d = calloc(1, sizeof(*d));
    pthread_condattr_t ca;

    if (!d) {
        cd_error_set(err, CD_EK_INTERNAL, "oom", NULL, "out of memory");
        return NULL;
    }
    if (url) {
        d->url = strdup(url);
        d->secret = strdup(secret ? secret : "");
        if (!d->url || !d->secret) {
            free(d->url);
            free(d->secret);
            free(d);
            cd_error_set(err, CD_EK_INTERNAL, "oom", NULL, "out of memory");
            return NULL;
        }
    }
    d->delay_ms = delay_ms;
    d->duplicates = 1;
    d->max_attempts = DELIVERY_ATTEMPTS;
    d->tick = tick;
    d->on_result = on_result;
    d->arg = arg;
    atomic_init(&d->stop, 0);
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&d->thread, NULL, run, d) != 0) {
        curl_global_cleanup();
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d->url);
        free(d->secret);
        free(d);
        cd_error_set(err, CD_EK_INTERNAL, "thread", NULL,
                     "cannot start the webhook delivery thread");
        return NULL;
    }
    return d;
}

/* A random extra delay in 0..jitter_ms (as microseconds); under d->mu. */
static int64_t jitter_us(const struct cd_sandbox_deliverer *d)
{
    uint32_t rnd;

    if (d->jitter_ms <= 0)
        return 0;
    cd_random_bytes(&rnd, sizeof(rnd));
    return (int64_t)(rnd % ((uint32_t)d->jitter_ms + 1)) * 1000;
}

void cd_sandbox_deliverer_enqueue(struct cd_sandbox_deliverer *d,
                                  const char *evt_id, const char *body)
{
    int64_t due;
    int n;

    if (!d || !d->url || !evt_id || !body)
        return;
    pthread_mutex_lock(&d->mu);
    due = cd_mono_us() + (int64_t)d->delay_ms * 1000 +
          (d->shuffle ? SHUFFLE_WINDOW_US : 0);
    n = d->duplicates;
    for (int i = 0; i < n; i++) {
        struct item *it;
        if (d->pending >= QUEUE_MAX) {
            d->dropped++;
            cd_warn(MOD, "webhook queue full; dropping %s", evt_id);
            break;
        }
        it = calloc(1, sizeof(*it));
        if (!it || !(it->evt_id = strdup(evt_id)) ||
            !(it->body = strdup(body))) {
            item_free(it);
            d->dropped++;
            break;
        }
        it->len = strlen(body);
        it->due_us = due + jitter_us(d);
        append(d, it);
        d->pending++;
    }
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void cd_sandbox_deliverer_configure(struct cd_sandbox_deliverer *d,
                                    long delay_ms, long jitter_ms,
                                    int duplicates, int shuffle,
                                    int max_attempts)
{
    pthread_mutex_lock(&d->mu);
    if (delay_ms >= 0)
        d->delay_ms = delay_ms;
    if (jitter_ms >= 0)
        d->jitter_ms = jitter_ms;
    if (duplicates >= 1)
        d->duplicates = duplicates;
    if (shuffle >= 0)
        d->shuffle = shuffle ? 1 : 0;
    if (max_attempts >= 1)
        d->max_attempts = max_attempts;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

json_t *cd_sandbox_deliverer_stats(struct cd_sandbox_deliverer *d)
{
    json_t *j;

    pthread_mutex_lock(&d->mu);
    j = json_pack(
        "{s:b, s:I, s:I, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:I}", "webhooks",
        d->url != NULL, "delivery_delay_ms", (json_int_t)d->delay_ms,
        "delivery_jitter_ms", (json_int_t)d->jitter_ms, "delivery_attempts",
        d->max_attempts, "duplicate_deliveries", d->duplicates, "shuffle",
        d->shuffle, "pending", (json_int_t)d->pending, "attempts",
        (json_int_t)d->attempts, "delivered", (json_int_t)d->delivered,
        "failed", (json_int_t)d->failed, "dropped", (json_int_t)d->dropped);
    pthread_mutex_unlock(&d->mu);
    return j;
}

void cd_sandbox_deliverer_stop(struct cd_sandbox_deliverer *d)
{
    struct item *it, *next;

    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    atomic_store(&d->stop, 1);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    for (it = d->head; it; it = next) {
        next = it->next;
        item_free(it);
    }
    curl_global_cleanup();
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->url);
    free(d->secret);
    free(d);
}
