/*
 * fuzz_helpers.c - the request-body helpers of api/helpers.c: a JSON body
 * read by cd_api_body (including its "which field is too big" scan back
 * through the raw bytes), then the field checks every handler uses
 * (amount, strings, RFC 3339 times, booleans). Input: a request body.
 * Properties: each helper either succeeds with a value inside its
 * documented bounds or sets a 400 reply; nothing leaks.
 */
#include <jansson.h>

#include "api/api.h"
#include "fuzz.h"
#include "util/util.h"

static const char *const KEYS[] = {
    "amount", "amount_cents", "email", "code", "expires_at", "active", "x"};

static void reset(struct cd_req *r)
{
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = 0;
}

static void fields(struct cd_req *r, json_t *body)
{
    for (size_t i = 0; i < CD_ARRAY_LEN(KEYS); i++) {
        const char *k = KEYS[i], *s = NULL;
        int64_t n = 0;
        int b = 0;

        if (cd_api_amount(r, body, k, &n) == 0)
            FUZZ_CHECK(n >= 1 && n <= CD_AMOUNT_MAX && r->status == 0);
        else
            FUZZ_CHECK(r->status == 400);
        reset(r);
        if (cd_api_string(r, body, k, 64, &s) == 0) {
            FUZZ_CHECK(r->status == 0);
            if (s)
                for (size_t j = 0; s[j]; j++)
                    FUZZ_CHECK((unsigned char)s[j] >= 0x20 && s[j] != 0x7f);
        } else {
            FUZZ_CHECK(r->status == 400 && s == NULL);
        }
        reset(r);
        if (cd_api_string_req(r, body, k, 64, &s) == 0)
            FUZZ_CHECK(s != NULL && strlen(s) <= 64);
        reset(r);
        if (cd_api_time_field(r, body, k, &n) == 0)
            FUZZ_CHECK(n >= 0 && n <= CD_TIME_MAX);
        else
            FUZZ_CHECK(r->status == 400 && n == 0);
        reset(r);
        if (cd_api_bool(r, body, k, 7, &b) == 0)
            FUZZ_CHECK(b == 0 || b == 1 || b == 7);
        reset(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    struct cd_req r;
    json_t *body;

    memset(&r, 0, sizeof(r));
    strcpy(r.id, "req_fuzz");
    r.method = "POST";
    r.path = "/v1/fuzz";
    r.body = s;
    r.body_len = size;
    body = cd_api_body(&r);
    if (body) {
        FUZZ_CHECK(json_is_object(body) && r.status == 0);
        fields(&r, body);
        json_decref(body);
    } else {
        FUZZ_CHECK(r.status == 400 && r.resp_body != NULL);
    }
    reset(&r);
    free(s);
    return 0;
}
