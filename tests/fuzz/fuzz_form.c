/*
 * fuzz_form.c - form decoding and encoding (stripe/form.c), the way the
 * sandbox decodes request bodies from the network. Input: a form body.
 * Decoding must never crash; what it accepts must encode, and the encoding
 * must decode back to the same JSON (a round trip) unless it names a key
 * past the decoder's 256 bytes (a decoded "a[]" is encoded "a[0]", one
 * byte longer per level, so a key near the limit can grow past it);
 * cd_form_escape of the input bytes must never crash either.
 */
#include <jansson.h>

#include "fuzz.h"
#include "stripe/form.h"
#include "util/buf.h"

#define FORM_MAX_KEY 256 /* form.c's CD_FORM_MAX_KEY */

/* The longest key, brackets included, the encoding of v under a key of
 * len bytes writes ("a[b][0]"). */
static size_t longest_key(const json_t *v, size_t len)
{
    size_t most = len, i;
    const char *k;
    json_t *x;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            size_t n = len ? len + strlen(k) + 2 : strlen(k);
            size_t m = longest_key(x, n);
            most = m > most ? m : most;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            char idx[32];
            size_t m = longest_key(
                x, len + (size_t)snprintf(idx, sizeof(idx), "[%zu]", i));
            most = m > most ? m : most;
        }
    }
    return most;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    json_t *j = cd_form_decode(s, size);
    struct cd_buf out;

    cd_buf_init(&out, 1 << 24);
    FUZZ_CHECK(cd_form_escape(s, &out) == 0);
    cd_buf_free(&out);
    if (j) {
        json_t *again;

        FUZZ_CHECK(json_is_object(j));
        cd_buf_init(&out, 1 << 24);
        FUZZ_CHECK(cd_form_encode(j, &out) == 0);
        again = cd_form_decode(out.data ? out.data : "", out.len);
        if (longest_key(j, 0) <= FORM_MAX_KEY &&
            (!again || !json_equal(j, again))) {
            fprintf(stderr, "round trip changed: %.*s\n", (int)out.len,
                    out.data ? out.data : "");
            abort();
        }
        json_decref(again);
        cd_buf_free(&out);
        json_decref(j);
    }
    free(s);
    return 0;
}
