/*
 * idempotency.c - the Idempotency-Key protocol and the claim heartbeat;
 * see idempotency.h.
 */
#include "billing/idempotency.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util/log.h"
#include "util/util.h"

#define MOD "idempotency"

struct cd_idem_keeper {
    struct cd_store *store;
    int64_t lease_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC */
    int stop;                   /* under mu */
    struct cd_idem_claim *head; /* claims held now, under mu */
    size_t count;
    pthread_t thread;
};

static int64_t lease_of(const struct cd_idem_keeper *k)
{
    return k ? k->lease_ms : CD_IDEM_LEASE_MS_DEFAULT;
}

/* ---- claiming ---------------------------------------------------------- */

/* A row that exists: replay, conflict, in progress, or take it over. */
static int claim_existing(struct cd_tx *tx, struct cd_idem_claim_job *j,
                          struct cd_idem *cur)
{
    struct cd_idem_claim *c = j->c;
    size_t tlen = strlen(c->token);
    int rc;

    if (strcmp(cur->request_hash, c->request_hash) != 0 &&
        (!c->legacy_hash[0] ||
         strcmp(cur->request_hash, c->legacy_hash) != 0)) {
        c->outcome = CD_IDEM_REUSED;
        return 0;
    }
    if (cur->status != 0) {
        c->outcome = CD_IDEM_REPLAY;
        c->status = cur->status;
        c->body = cur->body; /* handed over */
        c->body_len = cur->body_len;
        cur->body = NULL;
        return 0;
    }
    if (cur->lease_until > j->now_ms) {
        c->outcome = CD_IDEM_IN_PROGRESS;
        return 0;
    }
    rc = cd_store_idem_takeover(tx, c->scope, c->key, c->token, tlen,
                                j->now_ms, j->now_ms + j->lease_ms);
    if (rc == CD_STORE_NOT_FOUND) { /* another request took it first */
        c->outcome = CD_IDEM_IN_PROGRESS;
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    c->outcome = CD_IDEM_CLAIMED;
    c->taken_over = 1;
    return 0;
}

static int claim_fn(struct cd_tx *tx, void *arg)
{
    struct cd_idem_claim_job *j = arg;
    struct cd_idem_claim *c = j->c;
    struct cd_idem cur, row;
    int rc;

    /* A job run again (its batch lost its transaction) starts afresh:
     * the reply an earlier run took over is freed, not leaked. */
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->status = 0;
    c->taken_over = 0;
    c->outcome = CD_IDEM_IN_PROGRESS;
    memset(&cur, 0, sizeof(cur));
    rc = cd_store_idem_get(tx, c->scope, c->key, &cur);
    if (rc == CD_STORE_OK && cur.created_at >= j->now - CD_IDEM_TTL_S) {
        rc = claim_existing(tx, j, &cur);
        free(cur.body);
        return rc;
    }
    free(cur.body);
    if (rc == CD_STORE_OK) { /* older than the TTL: forgotten */
        if (cd_store_idem_delete(tx, c->scope, c->key) != CD_STORE_OK)
            return CD_STORE_ERROR;
    } else if (rc != CD_STORE_NOT_FOUND) {
        return CD_STORE_ERROR;
    }
    memset(&row, 0, sizeof(row));
    cd_strlcpy(row.scope, c->scope, sizeof(row.scope));
    cd_strlcpy(row.key, c->key, sizeof(row.key));
    memcpy(row.request_hash, c->request_hash, sizeof(row.request_hash));
    row.body = c->token;
    row.body_len = strlen(c->token);
    row.created_at = j->now;
    row.lease_until = j->now_ms + j->lease_ms;
    rc = cd_store_idem_insert(tx, &row);
    if (rc == CD_STORE_DUPLICATE) { /* another node claimed it first */
        c->outcome = CD_IDEM_IN_PROGRESS;
        return 0;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    c->outcome = CD_IDEM_CLAIMED;
    return 0;
}

static void keeper_add(struct cd_idem_keeper *k, struct cd_idem_claim *c)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    c->keeper = k;
    c->prev = NULL;
    c->next = k->head;
    if (k->head)
        k->head->prev = c;
    k->head = c;
    k->count++;
    pthread_mutex_unlock(&k->mu);
}

static void keeper_remove(struct cd_idem_claim *c)
{
    struct cd_idem_keeper *k = c->keeper;

    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        k->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    k->count--;
    pthread_mutex_unlock(&k->mu);
    c->keeper = NULL;
    c->prev = c->next = NULL;
}

int cd_idem_begin(struct cd_billing *b, struct cd_idem_claim *c)
{
    struct cd_idem_claim_job j;

    c->outcome = CD_IDEM_IN_PROGRESS;
    c->taken_over = 0;
    c->status = 0;
    c->body = NULL;
    c->body_len = 0;
    c->keeper = NULL;
    c->prev = c->next = NULL;
    cd_random_id("clm_", c->token, sizeof(c->token));
    j.c = c;
    j.now = cd_now();
    j.now_ms = cd_now_ms();
    j.lease_ms = lease_of(b->idem);
    if (cd_store_write(b->store, claim_fn, &j) != 0) {
        free(c->body);
        c->body = NULL;
        return -1;
    }
    if (c->outcome == CD_IDEM_CLAIMED) {
        keeper_add(b->idem, c);
        if (c->taken_over)
            cd_info(MOD, "an earlier attempt of this request stopped "
                         "before its reply was stored; running it again");
    }
    return 0;
}

/* ---- ending ------------------------------------------------------------ */

struct end_job {
    const struct cd_idem_claim *c;
    int status;
    const char *body;
    size_t body_len;
    int lost;
};

static int end_fn(struct cd_tx *tx, void *arg)
{
    struct end_job *j = arg;
    const struct cd_idem_claim *c = j->c;
    size_t tlen = strlen(c->token);
    int rc;

    if (j->status >= 500 || j->status == 429) /* not run, or unknown */
        rc = cd_store_idem_release_claim(tx, c->scope, c->key, c->token,
                                         tlen);
    else
        rc = cd_store_idem_complete_claim(tx, c->scope, c->key, c->token,
                                          tlen, j->status, j->body,
                                          j->body_len);
    if (rc == CD_STORE_NOT_FOUND) {
        j->lost = 1;
        return 0;
    }
    return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

int cd_idem_end(struct cd_billing *b, struct cd_idem_claim *c, int status,
                const char *body, size_t body_len)
{
    struct end_job j = {c, status > 0 ? status : 500, body ? body : "",
                        body ? body_len : 0, 0};
    int rc = cd_store_write(b->store, end_fn, &j);

    /* Off the heartbeat only now: until the write above, the lease must
     * keep running. */
    keeper_remove(c);
    if (rc != 0)
        return -1;
    return j.lost ? 1 : 0;
}

void cd_idem_claim_free(struct cd_idem_claim *c)
{
    if (c->keeper)
        keeper_remove(c);
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
}

/* ---- claim, effect and reply in one job -------------------------------- */

static int once_fn(struct cd_tx *tx, void *arg)
{
    struct cd_idem_once_job *j = arg;
    struct cd_idem_claim *c = j->claim.c;
    struct cd_idem_reply r = {0, NULL, 0};
    int rc = claim_fn(tx, &j->claim);

    if (rc != 0 || c->outcome != CD_IDEM_CLAIMED)
        return rc;
    rc = j->effect(tx, j->arg, &r);
    if (rc != 0 || r.status < 200 || r.status >= 500 || r.status == 429)
        return rc != 0 ? rc : 1; /* not run, or unknown: nothing kept */
    rc = cd_store_idem_complete_claim(
        tx, c->scope, c->key, c->token, strlen(c->token), r.status,
        r.body ? r.body : "", r.body ? r.body_len : 0);
    return rc == CD_STORE_OK ? 0 : CD_STORE_ERROR;
}

/* The claim reset and the job made, for cd_idem_once and its async
 * form. */
static void once_prepare(struct cd_billing *b, struct cd_idem_claim *c,
                         cd_idem_effect_fn effect, void *arg,
                         struct cd_idem_once_job *j)
{
    c->outcome = CD_IDEM_IN_PROGRESS;
    c->done = 0;
    c->taken_over = 0;
    c->status = 0;
    c->body = NULL;
    c->body_len = 0;
    c->keeper = NULL;
    c->prev = c->next = NULL;
    cd_random_id("clm_", c->token, sizeof(c->token));
    memset(j, 0, sizeof(*j));
    j->claim.c = c;
    j->claim.now = cd_now();
    j->claim.now_ms = cd_now_ms();
    j->claim.lease_ms = lease_of(b->idem);
    j->effect = effect;
    j->arg = arg;
    j->rc = CD_STORE_ERROR;
}

int cd_idem_once_result(struct cd_idem_once_job *j)
{
    struct cd_idem_claim *c = j->claim.c;

    if (j->rc != 0) {
        free(c->body);
        c->body = NULL;
        c->body_len = 0;
        return -1;
    }
    c->done = 1;
    if (c->taken_over)
        cd_info(MOD, "an earlier attempt of this request stopped before "
                     "its reply was stored; ran it again");
    return 0;
}

int cd_idem_once(struct cd_billing *b, struct cd_idem_claim *c,
                 cd_idem_effect_fn effect, void *arg)
{
    struct cd_idem_once_job j;

    once_prepare(b, c, effect, arg, &j);
    j.rc = cd_store_write_keyed(b->store, c->writer_key, once_fn, &j);
    return cd_idem_once_result(&j);
}

static void once_done(void *arg, int rc)
{
    struct cd_idem_once_job *j = arg;

    j->rc = rc;
    j->done(j->done_arg);
}

int cd_idem_once_submit(struct cd_billing *b, struct cd_idem_claim *c,
                        cd_idem_effect_fn effect, void *arg,
                        struct cd_idem_once_job *j,
                        void (*done)(void *done_arg), void *done_arg)
{
    once_prepare(b, c, effect, arg, j);
    j->done = done;
    j->done_arg = done_arg;
    j->job.fn = once_fn;
    j->job.arg = j;
    j->job.key = c->writer_key;
    j->job.done = once_done;
    j->job.done_arg = j;
    return cd_store_submit(b->store, &j->job) == 0 ? 0 : -1;
}

/* ---- a keyed write: one job with a claim, a plain one without -------- */

static void keyed_write_done(void *arg, int rc)
{
    struct cd_idem_keyed *k = arg;

    k->write_rc = rc;
    k->done(k->done_arg);
}

static void keyed_once_done(void *arg)
{
    struct cd_idem_keyed *k = arg;

    k->done(k->done_arg);
}

void cd_idem_keyed_submit(struct cd_billing *b, struct cd_idem_keyed *k)
{
    int rc;

    k->write_rc = CD_STORE_ERROR;
    if (k->claim) {
        k->claim->writer_key = k->writer_key;
        rc = cd_idem_once_submit(b, k->claim, k->effect, k->effect_arg,
                                 &k->once, keyed_once_done, k);
    } else {
        memset(&k->job, 0, sizeof(k->job));
        k->job.fn = k->fn;
        k->job.arg = k->fn_arg;
        k->job.key = k->writer_key;
        k->job.done = keyed_write_done;
        k->job.done_arg = k;
        rc = cd_store_submit(b->store, &k->job);
    }
    if (rc != 0) /* closing: the outcome is a store failure */
        k->done(k->done_arg);
}

int cd_idem_keyed_result(struct cd_idem_keyed *k)
{
    if (k->claim)
        return cd_idem_once_result(&k->once);
    return k->write_rc;
}

/* ---- the heartbeat ----------------------------------------------------- */

struct held {
    char scope[CD_IDEM_SCOPE_SZ];
    char key[CD_IDEM_KEY_SZ];
    char token[CD_IDEM_TOKEN_SZ];
};

struct renew_job {
    const struct held *h;
    size_t n;
    int64_t lease_until;
};

static int renew_fn(struct cd_tx *tx, void *arg)
{
    struct renew_job *j = arg;
    size_t i;

    for (i = 0; i < j->n; i++) {
        int rc = cd_store_idem_renew_claim(
            tx, j->h[i].scope, j->h[i].key, j->h[i].token,
            strlen(j->h[i].token), j->lease_until);
        if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    return 0;
}

/* Copies the claims held now (under mu); NULL with *n 0 when none. */
static struct held *snapshot(struct cd_idem_keeper *k, size_t *n)
{
    struct cd_idem_claim *c;
    struct held *h;
    size_t i = 0;

    *n = 0;
    if (k->count == 0)
        return NULL;
    h = calloc(k->count, sizeof(*h));
    if (!h)
        return NULL;
    for (c = k->head; c && i < k->count; c = c->next, i++) {
        cd_strlcpy(h[i].scope, c->scope, sizeof(h[i].scope));
        cd_strlcpy(h[i].key, c->key, sizeof(h[i].key));
        cd_strlcpy(h[i].token, c->token, sizeof(h[i].token));
    }
    *n = i;
    return h;
}

static void renew_all(struct cd_idem_keeper *k)
{
    struct renew_job j;
    struct held *h;
    size_t n;

    pthread_mutex_lock(&k->mu);
    h = snapshot(k, &n);
    pthread_mutex_unlock(&k->mu);
    if (!h)
        return;
    j.h = h;
    j.n = n;
    j.lease_until = cd_now_ms() + k->lease_ms;
    if (cd_store_write(k->store, renew_fn, &j) != 0)
        cd_warn(MOD, "could not renew %zu idempotency claim(s)", n);
    free(h);
}

static void *keeper_main(void *arg)
{
    struct cd_idem_keeper *k = arg;
    struct timespec ts;
    int64_t period_ns = k->lease_ms / 3 * 1000000;

    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(period_ns / 1000000000);
        ts.tv_nsec += (long)(period_ns % 1000000000);
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (!k->stop && pthread_cond_timedwait(&k->cv, &k->mu, &ts) == 0)
            ;
        if (k->stop)
            break;
        pthread_mutex_unlock(&k->mu);
        cd_log_begin_job(); /* one id per heartbeat */
        renew_all(k);
        cd_log_end_job();
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

struct cd_idem_keeper *cd_idem_keeper_start(struct cd_store *s,
                                            int64_t lease_ms)
{
    struct cd_idem_keeper *k;
    pthread_condattr_t ca;

    if (!s)
        return NULL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->store = s;
    k->lease_ms = lease_ms < CD_IDEM_LEASE_MS_MIN   ? CD_IDEM_LEASE_MS_MIN
                  : lease_ms > CD_IDEM_LEASE_MS_MAX ? CD_IDEM_LEASE_MS_MAX
                                                    : lease_ms;
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    return k;
}

void cd_idem_keeper_stop(struct cd_idem_keeper *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* ---- fingerprints ------------------------------------------------------ */

/* sha256 hex of tag + method + " " + path + "\n" + body; -1 out of
 * memory. */
static int hash_request(const char *tag, const char *method, const char *path,
                        const char *body, size_t len, char out[65])
{
    size_t tl = strlen(tag), ml = strlen(method), pl = strlen(path);
    size_t n = tl + ml + 1 + pl + 1 + len;
    char *buf = malloc(n);

    if (!buf)
        return -1;
    memcpy(buf, tag, tl);
    memcpy(buf + tl, method, ml);
    buf[tl + ml] = ' ';
    memcpy(buf + tl + ml + 1, path, pl);
    buf[tl + ml + 1 + pl] = '\n';
    if (len)
        memcpy(buf + tl + ml + pl + 2, body, len);
    cd_sha256_hex(buf, n, out);
    free(buf);
    return 0;
}

int cd_idem_fingerprint(const char *method, const char *path,
                        const char *body, size_t body_len, char out[65],
                        char legacy[65])
{
    json_t *doc = body_len ? json_loadb(body, body_len, JSON_DECODE_ANY, NULL)
                           : NULL;
    char *canon = NULL;
    int rc;

    if (hash_request("", method, path, body, body_len, legacy) != 0) {
        json_decref(doc);
        return -1;
    }
    if (!doc) {
        memcpy(out, legacy, 65);
        return 0;
    }
    canon = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!canon)
        return -1;
    rc = hash_request("json ", method, path, canon, strlen(canon), out);
    free(canon);
    return rc;
}

/* ---- effect ids -------------------------------------------------------- */

void cd_idem_effect_id(const char *scope, const char *key, const char *prefix,
                       char *out, size_t outsz)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char buf[CD_IDEM_SCOPE_SZ + CD_IDEM_KEY_SZ + 2], hex[65];
    size_t plen = strlen(prefix), i;
    int n;

    n = snprintf(buf, sizeof(buf), "%s\n%s", scope, key);
    if (n < 0 || (size_t)n >= sizeof(buf) || outsz < plen + 25) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    cd_sha256_hex(buf, (size_t)n, hex);
    memcpy(out, prefix, plen);
    /* 24 characters from 48 hex digits: each pair (0..255) mod 62. The
     * slight bias is harmless: these are names, not secrets. */
    for (i = 0; i < 24; i++) {
        unsigned v = 0;
        /* NOLINTNEXTLINE(cert-err34-c): hex is a digest in hex */
        sscanf(hex + 2 * i, "%2x", &v);
        out[plen + i] = alphabet[v % 62];
    }
    out[plen + 24] = '\0';
}
