/*
 * ratelimit.c - the counters behind ratelimit.h: an open-addressed table of
 * (keyed hash, window start, count) under one mutex. Keys are hashed with
 * SipHash (libsodium's crypto_shorthash) under a random per-process key, so
 * a client cannot aim collisions at someone else's counter.
 */
#include "api/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define SLOTS 8192 /* power of two */
#define PROBE 8

struct slot {
    uint64_t hash; /* 0: empty */
    int64_t window_start;
    int64_t window_s;
    int64_t count;
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

/* The slot for h: its own, else a free or expired one, else the oldest.
 * Called with the lock held. */
static struct slot *find(uint64_t h, int64_t now, int create)
{
    struct slot *victim = NULL;

    for (int i = 0; i < PROBE; i++) {
        struct slot *s = &table[(h + (uint64_t)i) & (SLOTS - 1)];

        if (s->hash == h)
            return s;
        if (!create)
            continue;
        if (s->hash == 0 || now >= s->window_start + s->window_s) {
            if (!victim || victim->hash != 0)
                victim = s;
        } else if (!victim ||
                   (victim->hash != 0 &&
                    s->window_start < victim->window_start)) {
            victim = s;
        }
    }
    if (victim) {
        memset(victim, 0, sizeof(*victim));
        victim->hash = h;
    }
    return victim;
}

static int64_t hit(const char *key, int64_t limit, int64_t window_s,
                   int64_t now, int count)
{
    uint64_t h = key_hash(key);
    struct slot *s;
    int64_t wait = 0;

    pthread_mutex_lock(&lock);
    s = find(h, now, count);
    if (s) {
        if (s->window_s == 0 || now >= s->window_start + s->window_s) {
            s->window_start = now;
            s->window_s = window_s;
            s->count = 0;
        }
        if (s->count >= limit) {
            wait = s->window_start + s->window_s - now;
            if (wait < 1)
                wait = 1;
        } else if (count) {
            s->count++;
        }
    }
    pthread_mutex_unlock(&lock);
    return wait;
}

int64_t cd_ratelimit_hit(const char *key, int64_t limit, int64_t window_s,
                         int64_t now)
{
    return hit(key, limit, window_s, now, 1);
}

int64_t cd_ratelimit_peek(const char *key, int64_t limit, int64_t window_s,
                          int64_t now)
{
    return hit(key, limit, window_s, now, 0);
}

void cd_ratelimit_reset(const char *key)
{
    uint64_t h = key_hash(key);
    struct slot *s;

    pthread_mutex_lock(&lock);
    s = find(h, 0, 0);
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&lock);
}
