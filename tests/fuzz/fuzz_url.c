/*
 * fuzz_url.c - the origin of a URL (util/url.c): settings, redirect URLs
 * of checkout requests and the sandbox's URL check. Input: a URL.
 * Properties: an accepted URL has a host and a port in 1..65535; its
 * normalised origin fits CD_ORIGIN_SZ, parses again to the same origin and
 * normalises to itself; the loopback check never crashes.
 */
#include "fuzz.h"
#include "util/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    struct cd_origin o, o2;
    char out[CD_ORIGIN_SZ], again[CD_ORIGIN_SZ];
    int ok = cd_url_parse_origin(s, &o) == 0;

    FUZZ_CHECK(ok == (cd_url_origin(s, out, sizeof(out)) == 0));
    if (ok) {
        FUZZ_CHECK(o.host[0] && o.port >= 1 && o.port <= 65535);
        (void)cd_origin_is_loopback(&o);
        FUZZ_CHECK(cd_url_parse_origin(out, &o2) == 0);
        FUZZ_CHECK(o2.https == o.https && o2.port == o.port &&
                   strcmp(o2.host, o.host) == 0);
        FUZZ_CHECK(cd_url_origin(out, again, sizeof(again)) == 0 &&
                   strcmp(out, again) == 0);
    }
    free(s);
    return 0;
}
