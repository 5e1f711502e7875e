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

void cd_random_id(const char *prefix, char *out, size_t outsz)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[24];
    size_t plen = strlen(prefix), i;

    if (outsz < plen + 25) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    cd_random_bytes(rnd, sizeof(rnd));
    memcpy(out, prefix, plen);
    /* 248 is the largest multiple of 62 below 256: reject above it. */
    for (i = 0; i < sizeof(rnd); i++) {
        while (rnd[i] >= 248)
            cd_random_bytes(&rnd[i], 1);
        out[plen + i] = alphabet[rnd[i] % 62];
    }
    out[plen + sizeof(rnd)] = '\0';
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

void cd_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

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

char *cd_money_display(int64_t minor, const char *currency, char *out,
                       size_t outsz)
{
    const char *sym = NULL;
    uint64_t mag;
    const char *sign = minor < 0 ? "-" : "";

    /* Magnitude without overflow, even for INT64_MIN. */
    mag = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    if (!currency || strcmp(currency, "usd") == 0)
        sym = "$";
    else if (strcmp(currency, "eur") == 0)
        sym = "\xe2\x82\xac";
    else if (strcmp(currency, "gbp") == 0)
        sym = "\xc2\xa3";
    if (sym)
        snprintf(out, outsz, "%s%s%llu.%02llu", sign, sym,
                 (unsigned long long)(mag / 100),
                 (unsigned long long)(mag % 100));
    else
        snprintf(out, outsz, "%s%llu.%02llu %s", sign,
                 (unsigned long long)(mag / 100),
                 (unsigned long long)(mag % 100), currency);
    if (!sym) /* upper-case the ISO code for display */
        for (char *p = out + strlen(out) - strlen(currency); *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 32);
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

int cd_strlcpy(char *out, const char *src, size_t outsz)
{
    size_t n = strlen(src);

    if (outsz == 0)
        return -1;
    if (n >= outsz) {
        memcpy(out, src, outsz - 1);
        out[outsz - 1] = '\0';
        return -1;
    }
    memcpy(out, src, n + 1);
    return 0;
}
