/*
 * signature.h - Stripe webhook signatures (Stripe-Signature header).
 *
 * Scheme (see shared/stripe/REFERENCE.md section 1): header
 * "t=<unix>,v1=<hex>[,v1=<hex>...]" (other schemes such as v0 ignored),
 * v1 = hex(HMAC_SHA256(key = whole "whsec_..." secret bytes,
 *                      msg = "<t>.<raw body>")).
 * Parsing follows stripe-node: split on ',', then on the first '=',
 * no trimming; the last "t" wins.
 */
#ifndef CD_STRIPE_SIGNATURE_H
#define CD_STRIPE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

enum cd_sig_result {
    CD_SIG_OK = 0,
    CD_SIG_NO_HEADER, /* missing or empty header */
    CD_SIG_MALFORMED, /* no t=, bad t, or no v1 entries */
    CD_SIG_NO_MATCH,  /* no v1 matches any secret */
    CD_SIG_TIMESTAMP, /* |now - t| > tolerance */
    CD_SIG_NO_SECRET, /* no secret configured */
};

/*
 * Verifies header over the raw body bytes. secrets is a comma-separated
 * list of endpoint secrets (rotation); any v1 may match any secret, each
 * comparison in constant time. The signature is checked before the time:
 * |now - t| > tolerance (seconds, > 0) fails, in the past or the future;
 * a tolerance <= 0 means 300, never "no check".
 * Bounds: header <= 8 KiB, <= 16 v1 entries (more: MALFORMED), <= 8
 * secrets (more: NO_SECRET); a v1 that is not 64 lower-case hex characters
 * never matches. Blanks around each secret are ignored.
 */
enum cd_sig_result cd_stripe_sig_verify(const char *header, const char *body,
                                        size_t body_len, const char *secrets,
                                        int64_t now, int64_t tolerance);

/* The header's form alone, before the body is read: NO_HEADER (missing or
 * empty), MALFORMED (as cd_stripe_sig_verify would find it), else OK. */
enum cd_sig_result cd_stripe_sig_check_header(const char *header);

/* Human-readable reason, for the 400 message. */
const char *cd_stripe_sig_strerror(enum cd_sig_result r);

/*
 * Writes the header Stripe would send for body signed with secret at
 * timestamp t: "t=<t>,v1=<hex>". out must hold at least 96 bytes.
 * Returns 0, or -1 if out is too small.
 */
int cd_stripe_sig_header(const char *secret, int64_t t, const char *body,
                         size_t body_len, char *out, size_t outsz);

#endif
