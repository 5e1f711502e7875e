/*
 * ratelimit.c - the buckets behind ratelimit.h: an open-addressed table of
 * (keyed hash, theoretical arrival time) under one mutex. Keys are hashed
 * with SipHash (libsodium's crypto_shorthash) under a random per-process
 * key, so a client cannot aim collisions at someone else's bucket.
 *
 * GCRA: with T = window / limit (the interval between requests at the
 * steady rate) and a tolerance of (limit - 1) * T, a request at `now` may
 * go when tat - now <= tolerance, where tat = max(stored, now); it then
 * stores tat + T. A slot whose stored tat has passed is as good as empty.
 */
#include "api/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "billing/rate_limits.h"
#include "util/util.h"

#define SLOTS 8192 /* power of two */
#define PROBE 8

struct slot {
    uint64_t hash; /* 0: empty */
    int64_t tat;   /* ms; <= now: the bucket is full again */
};

static struct slot table[SLOTS];
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    if (sodium_init() < 0)
        return;
    randombytes_buf(hash_key, sizeof(hash_key));
}

static uint64_t key_hash(const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;

    pthread_once(&once, init);
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), hash_key);
    memcpy(&h, out, sizeof(h));
    return h ? h : 1;
}

/* The slot for h: its own, else a free or full-again one, else the one
 * that refills soonest (taken over: lenient, never stricter). Called with
 * the lock held. */
static struct slot *find(uint64_t h, int64_t now)
{
    struct slot *victim = NULL;

    for (int i = 0; i < PROBE; i++) {
        struct slot *s = &table[(h + (uint64_t)i) & (SLOTS - 1)];

        if (s->hash == h)
            return s;
        if (s->hash == 0 || s->tat <= now) {
            if (!victim || victim->hash != 0)
                victim = s;
        } else if (!victim || (victim->hash != 0 && s->tat < victim->tat)) {
            victim = s;
        }
    }
    victim->hash = h;
    victim->tat = now;
    return victim;
}

/* The slot of h if it has one (lock held). */
static struct slot *lookup(uint64_t h)
{
    for (int i = 0; i < PROBE; i++) {
        struct slot *s = &table[(h + (uint64_t)i) & (SLOTS - 1)];

        if (s->hash == h)
            return s;
    }
    return NULL;
}

enum op { TAKE, PEEK, RAISE };

/* The GCRA step of key at now_ms: TAKE counts a request that may go,
 * PEEK only looks, RAISE makes the bucket wait at least raise_ms more.
 * Returns the ms the request must wait (0: it may go). */
static int64_t bucket(enum op op, const char *key, int64_t limit,
                      int64_t window_s, int64_t now_ms, int64_t raise_ms)
{
    int64_t interval, tolerance, tat, wait = 0;
    uint64_t h;
    struct slot *s;

    if (limit <= 0 || window_s <= 0 || !key)
        return 0;
    interval = window_s * 1000 / limit;
    if (interval < 1)
        interval = 1;
    tolerance = interval * (limit - 1);
    h = key_hash(key);

    pthread_mutex_lock(&lock);
    s = op == PEEK ? lookup(h) : find(h, now_ms);
    tat = !s ? now_ms : s->tat > now_ms ? s->tat : now_ms;
    /* find() always gives a slot; only PEEK's lookup() may not. */
    if (op == RAISE) {
        if (s && now_ms + raise_ms + tolerance > tat)
            s->tat = now_ms + raise_ms + tolerance;
    } else if (tat - now_ms > tolerance) {
        wait = tat - tolerance - now_ms;
    } else if (op == TAKE && s) {
        s->tat = tat + interval;
    }
    pthread_mutex_unlock(&lock);
    return wait;
}

int64_t cd_ratelimit_take(const char *key, int64_t limit, int64_t window_s,
                          int64_t now_ms)
{
    int64_t wait = bucket(TAKE, key, limit, window_s, now_ms, 0);

    return wait > 0 ? (wait + 999) / 1000 : 0;
}

int64_t cd_ratelimit_peek(const char *key, int64_t limit, int64_t window_s,
                          int64_t now_ms)
{
    int64_t wait = bucket(PEEK, key, limit, window_s, now_ms, 0);

    return wait > 0 ? (wait + 999) / 1000 : 0;
}

void cd_ratelimit_raise(const char *key, int64_t limit, int64_t window_s,
                        int64_t now_ms, int64_t wait_ms)
{
    if (wait_ms > 0 && wait_ms <= window_s * 1000)
        bucket(RAISE, key, limit, window_s, now_ms, wait_ms);
}

void cd_ratelimit_clear(void)
{
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof(table));
    pthread_mutex_unlock(&lock);
}

/* ---- the limits of the routes ------------------------------------------- */

void cd_api_reply_limited(struct cd_req *req, int64_t wait_s,
                          const char *what)
{
    char secs[24];

    if (wait_s < 1)
        wait_s = 1;
    snprintf(secs, sizeof(secs), "%lld", (long long)wait_s);
    cd_reply_header(req, "Retry-After", secs);
    cd_reply_errorf(req, CD_EK_RATE, "rate_limited", NULL,
                    "%s; try again in %lld seconds", what, (long long)wait_s);
}

/*
 * Takes one request for `id` from the shared bucket `scope` (in the
 * database, so every node counts it: billing/rate_limits.h); replies 429
 * (or 500 when the store failed) and returns -1 past it.
 *
 * This process's table is a pre-filter that is never stricter than the
 * database: it counts only requests the database let through, and after a
 * refusal it waits as long as the database said. The database's bucket
 * sees every node's requests, so it is always at least as full; a request
 * the table refuses, the database would refuse too - without a write job
 * (bench/limits.mjs: a flood of refused signups costs the writer nothing).
 */
static int take(struct cd_req *req, const char *scope, const char *id,
                int64_t limit, const char *what)
{
    char key[160];
    int64_t wait = 0, now = cd_mono_us() / 1000;
    int rc;

    snprintf(key, sizeof(key), "%s:%s", scope, id);
    wait = cd_ratelimit_peek(key, limit, CD_RL_WINDOW, now);
    if (wait > 0) {
        cd_api_reply_limited(req, wait, what);
        return -1;
    }
    rc = cd_rate_take(cd_api_app(req)->billing, scope, id, limit,
                      CD_RL_WINDOW, &wait);
    if (rc == 0) {
        cd_ratelimit_take(key, limit, CD_RL_WINDOW, now);
        return 0;
    }
    if (rc < 0) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
        return -1;
    }
    cd_ratelimit_raise(key, limit, CD_RL_WINDOW, now, wait);
    cd_api_reply_limited(req, (wait + 999) / 1000, what);
    return -1;
}

int cd_api_limit_auth(struct cd_req *req, const char *what)
{
    char addr[64];

    cd_api_client_address(req, addr, sizeof(addr));
    return take(req, what, addr, cd_api_app(req)->auth_rate_limit,
                "too many requests from this address");
}

int cd_api_limit_payment(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);

    if (ctx->is_server || !ctx->has_account)
        return 0;
    return take(req, "payment", ctx->account.id,
                cd_api_app(req)->checkout_rate_limit,
                "too many checkouts and payments for this account");
}

int cd_api_limit_discount(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    int64_t limit = cd_api_app(req)->discount_rate_limit;
    char addr[64];

    if (ctx->is_server)
        return 0;
    if (ctx->has_account &&
        take(req, "discount-account", ctx->account.id, limit,
             "too many discount codes tried by this account") != 0)
        return -1;
    cd_api_client_address(req, addr, sizeof(addr));
    return take(req, "discount-address", addr, limit,
                "too many discount codes tried from this address");
}
