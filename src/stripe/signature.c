/*
 * signature.c - verification and creation of Stripe-Signature headers.
 *
 * The header is parsed as stripe-node does (split on ',', then on the first
 * '=', nothing trimmed, the last "t" wins, only "v1" entries kept), with hard
 * bounds on everything an attacker controls: the header length, the number
 * of v1 entries, and the shape of each v1 value (exactly 64 lower-case hex
 * characters; anything else can never match). Every configured secret is
 * compared with every v1 value in constant time; the timestamp is checked
 * only after a signature matched, in both directions.
 */
#include "stripe/signature.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define SIG_HEADER_MAX 8192 /* bytes of Stripe-Signature we look at */
#define SIG_V1_MAX 16       /* v1 entries per header */
#define SIG_SECRETS_MAX 8   /* secrets in the rotation list */
#define SIG_SECRET_LEN_MAX 512
#define SIG_HEX_LEN 64
/* Timestamps beyond this (year 5138) are not plausible. */
#define SIG_T_MAX INT64_C(100000000000)
#define SIG_DEFAULT_TOLERANCE 300

struct sig_parsed {
    int64_t t;
    int have_t;
    size_t nv1;                 /* v1 entries seen (well-formed or not) */
    size_t nvalid;              /* of which 64 lower-case hex */
    const char *v1[SIG_V1_MAX]; /* the well-formed ones, not terminated */
};

struct sig_secret {
    const char *p;
    size_t len;
};

static int is_lower_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

/* Parses a non-empty all-digit timestamp in [0, SIG_T_MAX]. */
static int parse_t(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 12)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > SIG_T_MAX)
        return -1;
    *out = v;
    return 0;
}

/* Splits the header into t and v1 values; 0, or -1 when malformed. */
static int parse_header(const char *h, size_t hlen, struct sig_parsed *p)
{
    const char *item = h;
    const char *end = h + hlen;
    int bad_t = 0;

    memset(p, 0, sizeof(*p));
    while (item <= end) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *iend = comma ? comma : end;
        const char *eq = memchr(item, '=', (size_t)(iend - item));

        if (eq) {
            size_t klen = (size_t)(eq - item);
            const char *v = eq + 1;
            size_t vlen = (size_t)(iend - v);

            if (klen == 1 && item[0] == 't') {
                /* The last t wins, so a bad earlier t is forgiven. */
                if (parse_t(v, vlen, &p->t) == 0) {
                    p->have_t = 1;
                    bad_t = 0;
                } else {
                    bad_t = 1;
                }
            } else if (klen == 2 && item[0] == 'v' && item[1] == '1') {
                if (++p->nv1 > SIG_V1_MAX)
                    return -1;
                if (vlen == SIG_HEX_LEN && is_lower_hex(v, vlen))
                    p->v1[p->nvalid++] = v;
            }
        }
        if (!comma)
            break;
        item = comma + 1;
    }
    if (!p->have_t || bad_t || p->nv1 == 0)
        return -1;
    return 0;
}

/*
 * Splits the comma-separated secret list, trimming blanks around each
 * entry and skipping empty ones. Returns the count (0 when none usable),
 * or -1 when there are too many or one is absurdly long.
 */
static int split_secrets(const char *s, struct sig_secret *out)
{
    int n = 0;

    while (*s) {
        const char *e = strchr(s, ',');
        const char *b = s;
        const char *stop = e ? e : s + strlen(s);

        while (b < stop && (*b == ' ' || *b == '\t'))
            b++;
        while (stop > b && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        if (stop > b) {
            if (n == SIG_SECRETS_MAX ||
                (size_t)(stop - b) > SIG_SECRET_LEN_MAX)
                return -1;
            out[n].p = b;
            out[n].len = (size_t)(stop - b);
            n++;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return n;
}

/* |now - t| > tol without overflow. */
static int outside_tolerance(int64_t now, int64_t t, int64_t tol)
{
    uint64_t diff;

    if (now >= t)
        diff = (uint64_t)now - (uint64_t)t;
    else
        diff = (uint64_t)t - (uint64_t)now;
    return diff > (uint64_t)tol;
}

/*
 * See signature.h. A tolerance <= 0 means the SDKs' default of 300 s:
 * the recency check is never switched off. Fails closed (NO_MATCH) if the
 * signed payload cannot be allocated.
 */
enum cd_sig_result cd_stripe_sig_verify(const char *header, const char *body,
                                        size_t body_len, const char *secrets,
                                        int64_t now, int64_t tolerance)
{
    struct sig_secret sec[SIG_SECRETS_MAX];
    struct sig_parsed p;
    char prefix[32];
    char mac[65];
    char *msg;
    size_t hlen, plen, i;
    int nsec, j, match = 0;

    if (!secrets)
        return CD_SIG_NO_SECRET;
    nsec = split_secrets(secrets, sec);
    if (nsec <= 0)
        return CD_SIG_NO_SECRET;
    if (!header || !*header)
        return CD_SIG_NO_HEADER;
    hlen = strnlen(header, SIG_HEADER_MAX + 1);
    if (hlen > SIG_HEADER_MAX)
        return CD_SIG_MALFORMED;
    if (parse_header(header, hlen, &p) != 0)
        return CD_SIG_MALFORMED;
    if (!body && body_len)
        return CD_SIG_NO_MATCH;
    if (p.nvalid == 0)
        return CD_SIG_NO_MATCH;

    /* The timestamp is re-rendered from the integer, as the SDKs do. */
    plen = (size_t)snprintf(prefix, sizeof(prefix), "%" PRId64 ".", p.t);
    if (body_len > SIZE_MAX - plen - 1)
        return CD_SIG_NO_MATCH;
    msg = malloc(plen + body_len + 1);
    if (!msg)
        return CD_SIG_NO_MATCH;
    memcpy(msg, prefix, plen);
    if (body_len)
        memcpy(msg + plen, body, body_len);

    for (j = 0; j < nsec; j++) {
        cd_hmac_sha256_hex(sec[j].p, sec[j].len, msg, plen + body_len, mac);
        /* No early exit: every pair is compared in constant time. */
        for (i = 0; i < p.nvalid; i++)
            match |= cd_ct_equal(mac, p.v1[i], SIG_HEX_LEN);
    }
    free(msg);
    if (!match)
        return CD_SIG_NO_MATCH;
    if (tolerance <= 0)
        tolerance = SIG_DEFAULT_TOLERANCE;
    if (outside_tolerance(now, p.t, tolerance))
        return CD_SIG_TIMESTAMP;
    return CD_SIG_OK;
}

/* See signature.h: the format checks of cd_stripe_sig_verify alone. */
enum cd_sig_result cd_stripe_sig_check_header(const char *header)
{
    struct sig_parsed p;
    size_t hlen;

    if (!header || !*header)
        return CD_SIG_NO_HEADER;
    hlen = strnlen(header, SIG_HEADER_MAX + 1);
    if (hlen > SIG_HEADER_MAX || parse_header(header, hlen, &p) != 0)
        return CD_SIG_MALFORMED;
    return CD_SIG_OK;
}

/* Static text for each result; never NULL. */
const char *cd_stripe_sig_strerror(enum cd_sig_result r)
{
    switch (r) {
    case CD_SIG_OK:
        return "signature verified";
    case CD_SIG_NO_HEADER:
        return "No stripe-signature header value was provided";
    case CD_SIG_MALFORMED:
        return "Unable to extract timestamp and signatures from header";
    case CD_SIG_NO_MATCH:
        return "No signatures found matching the expected signature for "
               "payload";
    case CD_SIG_TIMESTAMP:
        return "Timestamp outside the tolerance zone";
    case CD_SIG_NO_SECRET:
        return "No webhook signing secret is configured";
    }
    return "unknown signature error";
}

/* See signature.h; signs "<t>.<body>" with the whole secret as the key. */
int cd_stripe_sig_header(const char *secret, int64_t t, const char *body,
                         size_t body_len, char *out, size_t outsz)
{
    char prefix[32];
    char mac[65];
    char *msg;
    size_t plen;
    int n;

    if (!secret || !out || (!body && body_len))
        return -1;
    plen = (size_t)snprintf(prefix, sizeof(prefix), "%" PRId64 ".", t);
    if (body_len > SIZE_MAX - plen - 1)
        return -1;
    msg = malloc(plen + body_len + 1);
    if (!msg)
        return -1;
    memcpy(msg, prefix, plen);
    if (body_len)
        memcpy(msg + plen, body, body_len);
    cd_hmac_sha256_hex(secret, strlen(secret), msg, plen + body_len, mac);
    free(msg);
    n = snprintf(out, outsz, "t=%" PRId64 ",v1=%s", t, mac);
    if (n < 0 || (size_t)n >= outsz)
        return -1;
    return 0;
}
