/*
 * fuzz_time.c - RFC 3339 times (util/time.c), as requests, Stripe objects
 * and the store give them. Input: a time string; its first 8 bytes are
 * also read as an int64 to format. Properties: an accepted time lies in
 * CD_TIME_MIN..CD_TIME_MAX and its canonical form (cd_time_rfc3339) is 20
 * characters that parse back to the same instant; a refused one leaves
 * *out alone; formatting any int64 gives the clamped instant back.
 */
#include "fuzz.h"
#include "util/util.h"

static void round_trip(int64_t t)
{
    char out[21];
    int64_t back = -1;
    int64_t want = t < CD_TIME_MIN   ? CD_TIME_MIN
                   : t > CD_TIME_MAX ? CD_TIME_MAX
                                     : t;

    cd_time_rfc3339(t, out);
    FUZZ_CHECK(strlen(out) == 20 && out[19] == 'Z');
    FUZZ_CHECK(cd_time_parse_rfc3339(out, &back) == 0 && back == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t t = INT64_C(-42), raw = 0;

    if (cd_time_parse_rfc3339(s, &t) == 0) {
        FUZZ_CHECK(t >= CD_TIME_MIN && t <= CD_TIME_MAX);
        round_trip(t);
    } else {
        FUZZ_CHECK(t == INT64_C(-42));
    }
    memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
    round_trip(raw);
    free(s);
    return 0;
}
