/*
 * util.c - see util.h.
 */
#include "util/util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void cd_random_bytes(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fprintf(stderr, "fatal: no randomness\n");
        abort();
    }
}

/*
 * The ids' random bytes come from a per-thread pool filled from the same
 * CSPRNG (RAND_bytes) 512 bytes at a time, each byte wiped once used:
 * OpenSSL's DRBG costs a fork check, locks and a cipher set-up per call
 * whatever its size, ~20 k instructions, and a keyed debit made three ids
 * on the writer thread, every request one more (docs/PERFORMANCE.md
 * "The writer's CPU per job"), and a request id's ~12 k of ~250 k
 * instructions per balance read ("Balance reads, the second pass"). A
 * forked child forgets the pool (pthread_atfork), so no two processes
 * draw the same bytes.
 */
static _Thread_local struct {
    unsigned char b[512];
    size_t left;
} id_pool;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

/* In a forked child (its only thread is the one that forked). */
static void id_forget(void)
{
    OPENSSL_cleanse(id_pool.b, sizeof(id_pool.b));
    id_pool.left = 0;
}

static void id_init(void)
{
    if (pthread_atfork(NULL, NULL, id_forget) != 0) {
        fprintf(stderr, "fatal: pthread_atfork failed\n");
        abort();
    }
}

static unsigned char id_byte(void)
{
    unsigned char c;

    pthread_once(&id_once, id_init);
    if (id_pool.left == 0) {
        cd_random_bytes(id_pool.b, sizeof(id_pool.b));
        id_pool.left = sizeof(id_pool.b);
    }
    c = id_pool.b[--id_pool.left];
    id_pool.b[id_pool.left] = 0;
    return c;
}

void cd_random_id(const char *prefix, char *out, size_t outsz)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t plen = strlen(prefix), i;
    unsigned char r;

    if (outsz < plen + 25) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    memcpy(out, prefix, plen);
    /* 248 is the largest multiple of 62 below 256: reject above it. */
    for (i = 0; i < 24; i++) {
        while ((r = id_byte()) >= 248)
            ;
        out[plen + i] = alphabet[r % 62];
    }
    out[plen + 24] = '\0';
}

void cd_request_id(char out[CD_REQUEST_ID_SZ])
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    memcpy(out, "req_", 4);
    for (size_t i = 4; i + 1 < CD_REQUEST_ID_SZ; i++) {
        unsigned char c = id_byte();

        while (c >= 248) /* as cd_random_id: no bias */
            c = id_byte();
        out[i] = alphabet[c % 62];
    }
    out[CD_REQUEST_ID_SZ - 1] = '\0';
}

void cd_ordered_id(const char *prefix, char *out, size_t outsz)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    int64_t ms = cd_now_ms();
    uint64_t t = ms > 0 ? (uint64_t)ms : 0;
    size_t plen = strlen(prefix);

    cd_random_id(prefix, out, outsz);
    if (!out[0])
        return;
    /* 62^8 ms is past the year 8000: eight digits never wrap before. */
    for (int i = 7; i >= 0; i--) {
        out[plen + (size_t)i] = alphabet[t % 62];
        t /= 62;
    }
}

void cd_hex(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 fetched once: SHA256() looks the algorithm up on every call,
 * about 1 us of the 0.5 us hash of a token (docs/PERFORMANCE.md). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void cd_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || EVP_Digest(data, n, md, NULL, sha256_md, NULL) != 1)
        SHA256(data, n, md);
    cd_hex(md, sizeof(md), out);
}

void cd_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
                        size_t msglen, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, md, &mdlen);
    cd_hex(md, mdlen, out);
}

int cd_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int cd_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* The symbol shown before the amount, or NULL for "<amount> <CODE>". */
static const char *money_symbol(const char *currency)
{
    if (!currency || strcmp(currency, "usd") == 0)
        return "$";
    if (strcmp(currency, "eur") == 0)
        return "\xe2\x82\xac";
    if (strcmp(currency, "gbp") == 0)
        return "\xc2\xa3";
    return NULL;
}

/* Appends s at out[*at] while a byte and the NUL still fit (ASCII
 * upper-cased when upper is set); returns -1 when s did not fit. */
static int put_str(char *out, size_t outsz, size_t *at, const char *s,
                   int upper)
{
    for (; *s; s++) {
        if (*at + 1 >= outsz)
            return -1;
        out[(*at)++] = upper && *s >= 'a' && *s <= 'z'
                           ? (char)(*s - 'a' + 'A')
                           : *s;
    }
    return 0;
}

char *cd_money_display(int64_t minor, const char *currency, char *out,
                       size_t outsz)
{
    const char *sym = money_symbol(currency);
    char num[64];
    size_t at = 0;
    uint64_t mag;
    int cut;

    if (!out || outsz == 0)
        return out;
    /* Magnitude without overflow, even for INT64_MIN. */
    mag = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    snprintf(num, sizeof(num), "%s%s%llu.%02llu", minor < 0 ? "-" : "",
             sym ? sym : "", (unsigned long long)(mag / 100),
             (unsigned long long)(mag % 100));
    cut = put_str(out, outsz, &at, num, 0);
    if (!sym && !cut) /* the ISO code, upper-cased for display */
        cut = put_str(out, outsz, &at, " ", 0) ||
              put_str(out, outsz, &at, currency, 1);
    if (cut) {
        out[at] = '\0';
        at = cd_utf8_cut(out, at);
    }
    out[at] = '\0';
    return out;
}

int cd_balance_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r) || r > CD_BALANCE_LIMIT ||
        r < -CD_BALANCE_LIMIT)
        return -1;
    *out = r;
    return 0;
}

size_t cd_utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max), lead = n, need;
    unsigned char c;

    /* Back over at most three continuation bytes to the last lead byte. */
    while (lead > 0 && n - lead < 4 &&
           ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || n - lead >= 4)
        return n; /* no lead byte in reach: not UTF-8, left as it is */
    c = (unsigned char)s[lead - 1];
    if (c < 0x80)
        return n;
    need = c >= 0xF8 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return n - (lead - 1) < need ? lead - 1 : n;
}

int cd_strlcpy(char *out, const char *src, size_t outsz)
{
    size_t n = strlen(src);

    if (outsz == 0)
        return -1;
    if (n >= outsz) {
        /* Cut on a character boundary: never half a UTF-8 sequence. */
        n = cd_utf8_cut(src, outsz - 1);
        memcpy(out, src, n);
        out[n] = '\0';
        return -1;
    }
    memcpy(out, src, n + 1);
    return 0;
}
