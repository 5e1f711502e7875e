/*
 * fuzz_signature.c - the Stripe-Signature header (stripe/signature.c).
 * Input: "<header>\n<secrets>\n<body>". Verifying must never crash or
 * read out of bounds whatever the header, secret list or body; a header
 * signed by cd_stripe_sig_header over the same body must always verify,
 * with a fixed secret in a rotation list and with the fuzzed secret itself
 * (one without a comma or blanks at its ends).
 */
#include "fuzz.h"
#include "stripe/signature.h"

#define NOW INT64_C(1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *secrets = fuzz_split(s);
    char *body = fuzz_split(secrets);
    size_t body_len = size - (size_t)(body - s);
    enum cd_sig_result r;
    char hdr[128];

    r = cd_stripe_sig_verify(s, body, body_len, secrets, NOW, 300);
    FUZZ_CHECK(r >= CD_SIG_OK && r <= CD_SIG_NO_SECRET);
    FUZZ_CHECK(cd_stripe_sig_strerror(r) != NULL);
    /* The header as Stripe writes it, for the fuzzed body. */
    FUZZ_CHECK(cd_stripe_sig_header("whsec_fuzz_secret_0123", NOW, body,
                                    body_len, hdr, sizeof(hdr)) == 0);
    FUZZ_CHECK(cd_stripe_sig_verify(hdr, body, body_len,
                                    "whsec_other_secret_000,"
                                    "whsec_fuzz_secret_0123",
                                    NOW + 10, 300) == CD_SIG_OK);
    /* ... and the fuzzed header against the fuzzed secrets, signed. */
    if (secrets[0] && strlen(secrets) < 64 && !strchr(secrets, ',') &&
        cd_stripe_sig_header(secrets, NOW, body, body_len, hdr,
                             sizeof(hdr)) == 0) {
        size_t n = strlen(secrets);
        int trimmed = !strchr(" \t", secrets[0]) &&
                      !strchr(" \t", secrets[n - 1]);

        r = cd_stripe_sig_verify(hdr, body, body_len, secrets, NOW, 300);
        FUZZ_CHECK(!trimmed || r == CD_SIG_OK);
    }
    free(s);
    return 0;
}
