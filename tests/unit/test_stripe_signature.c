/*
 * test_stripe_signature.c - Stripe-Signature verification against vectors
 * signed by the official stripe npm package (tests/unit/data/
 * sig_vectors.json, made by scripts/gen_sig_vectors.mjs), plus the bounds
 * that only the C side has. Runs with tests/unit as working directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "stripe/signature.h"

#define VECTORS "data/sig_vectors.json"

static const char *SECRET = "whsec_test_unit_secret";
static const char *BODY = "{\"id\":\"evt_1\",\"object\":\"event\"}";
static const int64_t T0 = 1767225600;

static enum cd_sig_result result_of(const char *name)
{
    if (strcmp(name, "ok") == 0)
        return CD_SIG_OK;
    if (strcmp(name, "no_header") == 0)
        return CD_SIG_NO_HEADER;
    if (strcmp(name, "malformed") == 0)
        return CD_SIG_MALFORMED;
    if (strcmp(name, "no_match") == 0)
        return CD_SIG_NO_MATCH;
    if (strcmp(name, "timestamp") == 0)
        return CD_SIG_TIMESTAMP;
    if (strcmp(name, "no_secret") == 0)
        return CD_SIG_NO_SECRET;
    fail_msg("unknown expected result %s", name);
    return CD_SIG_OK;
}

static int load_vectors(void **state)
{
    json_error_t jerr;
    json_t *root = json_load_file(VECTORS, 0, &jerr);

    if (!root) {
        fprintf(stderr, "cannot load %s: %s (line %d)\n", VECTORS, jerr.text,
                jerr.line);
        return -1;
    }
    *state = root;
    return 0;
}

static int free_vectors(void **state)
{
    json_decref(*state);
    return 0;
}

static json_t *find_vector(json_t *root, const char *name)
{
    json_t *list = json_object_get(root, "verify");
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            return v;
    }
    fail_msg("no vector named %s", name);
    return NULL;
}

static enum cd_sig_result run_vector(json_t *v)
{
    json_t *payload = json_object_get(v, "payload");

    return cd_stripe_sig_verify(
        json_string_value(json_object_get(v, "header")),
        json_string_value(payload), json_string_length(payload),
        json_string_value(json_object_get(v, "secrets")),
        json_integer_value(json_object_get(v, "now")),
        json_integer_value(json_object_get(v, "tolerance")));
}

/* Every vector in the file gives its expected result. */
static void test_all_vectors(void **state)
{
    json_t *list = json_object_get(*state, "verify");
    size_t i;
    json_t *v;

    assert_true(json_array_size(list) >= 30);
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        enum cd_sig_result want = result_of(
            json_string_value(json_object_get(v, "expected")));
        enum cd_sig_result got = run_vector(v);

        if (got != want)
            fail_msg("vector %s: got %d (%s), want %d (%s)", name, got,
                     cd_stripe_sig_strerror(got), want,
                     cd_stripe_sig_strerror(want));
    }
}

/* The named cases the brief asks for, checked one by one so that a
 * regenerated file cannot silently drop one. */
static void test_named_vectors(void **state)
{
    static const struct {
        const char *name;
        enum cd_sig_result want;
    } cases[] = {
        {"right_secret", CD_SIG_OK},
        {"wrong_secret", CD_SIG_NO_MATCH},
        {"tampered_body", CD_SIG_NO_MATCH},
        {"stale_timestamp", CD_SIG_TIMESTAMP},
        {"future_timestamp", CD_SIG_TIMESTAMP},
        {"exactly_at_tolerance", CD_SIG_OK},
        {"future_within_tolerance", CD_SIG_OK},
        {"wrong_secret_and_stale", CD_SIG_NO_MATCH},
        {"several_v1_one_matches", CD_SIG_OK},
        {"rotated_signed_with_old", CD_SIG_OK},
        {"rotated_signed_with_new", CD_SIG_OK},
        {"rotated_signed_with_other", CD_SIG_NO_MATCH},
        {"v0_only", CD_SIG_MALFORMED},
        {"empty_header", CD_SIG_NO_HEADER},
        {"no_t", CD_SIG_MALFORMED},
        {"t_not_a_number", CD_SIG_MALFORMED},
        {"no_v1", CD_SIG_MALFORMED},
        {"garbage", CD_SIG_MALFORMED},
        {"space_before_v1", CD_SIG_MALFORMED},
        {"realistic_event", CD_SIG_OK},
        {"realistic_event_reserialized", CD_SIG_NO_MATCH},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum cd_sig_result got = run_vector(
            find_vector(*state, cases[i].name));
        if (got != cases[i].want)
            fail_msg("%s: got %d want %d", cases[i].name, got, cases[i].want);
    }
}

/* tolerance + 1 fails, tolerance passes, on both sides of t. */
static void test_tolerance_edges(void **state)
{
    json_t *v = find_vector(*state, "right_secret");
    json_t *payload = json_object_get(v, "payload");
    const char *h = json_string_value(json_object_get(v, "header"));
    const char *sec = json_string_value(json_object_get(v, "secrets"));
    const char *p = json_string_value(payload);
    size_t n = json_string_length(payload);
    int64_t t = json_integer_value(json_object_get(v, "timestamp"));

    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t + 60, 60),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t + 61, 60),
                     CD_SIG_TIMESTAMP);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t - 60, 60),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t - 61, 60),
                     CD_SIG_TIMESTAMP);
    /* A non-positive tolerance never disables the check: 300 applies. */
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t + 300, 0),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t + 301, 0),
                     CD_SIG_TIMESTAMP);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, t + 301, -5),
                     CD_SIG_TIMESTAMP);
    /* Extreme clocks do not overflow. */
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, INT64_MIN, 300),
                     CD_SIG_TIMESTAMP);
    assert_int_equal(cd_stripe_sig_verify(h, p, n, sec, INT64_MAX, 300),
                     CD_SIG_TIMESTAMP);
}

/* cd_stripe_sig_header writes what the SDK wrote, and verifies. */
static void test_header_matches_sdk(void **state)
{
    json_t *list = json_object_get(*state, "header");
    size_t i;
    json_t *v;

    assert_true(json_array_size(list) >= 3);
    json_array_foreach(list, i, v)
    {
        json_t *payload = json_object_get(v, "payload");
        const char *secret = json_string_value(json_object_get(v, "secret"));
        int64_t t = json_integer_value(json_object_get(v, "timestamp"));
        char out[96];

        assert_int_equal(cd_stripe_sig_header(
                             secret, t, json_string_value(payload),
                             json_string_length(payload), out, sizeof(out)),
                         0);
        assert_string_equal(out,
                            json_string_value(json_object_get(v, "header")));
        assert_int_equal(cd_stripe_sig_verify(out, json_string_value(payload),
                                              json_string_length(payload),
                                              secret, t, 300),
                         CD_SIG_OK);
    }
}

static void test_header_roundtrip(void **state)
{
    char out[96];
    size_t n = strlen(BODY);

    (void)state;
    assert_int_equal(
        cd_stripe_sig_header(SECRET, T0, BODY, n, out, sizeof(out)), 0);
    assert_int_equal(strncmp(out, "t=1767225600,v1=", 16), 0);
    assert_int_equal(strlen(out), 16 + 64);
    assert_int_equal(cd_stripe_sig_verify(out, BODY, n, SECRET, T0 + 5, 300),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(out, BODY, n - 1, SECRET, T0, 300),
                     CD_SIG_NO_MATCH);
    assert_int_equal(
        cd_stripe_sig_verify(out, BODY, n, "whsec_other", T0, 300),
        CD_SIG_NO_MATCH);
    /* Too small a buffer is refused. */
    assert_int_equal(cd_stripe_sig_header(SECRET, T0, BODY, n, out, 40), -1);
    /* An empty body signs too. */
    assert_int_equal(
        cd_stripe_sig_header(SECRET, T0, "", 0, out, sizeof(out)), 0);
    assert_int_equal(cd_stripe_sig_verify(out, "", 0, SECRET, T0, 300),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(out, NULL, 0, SECRET, T0, 300),
                     CD_SIG_OK);
}

static void sign(const char *secret, char out[96])
{
    assert_int_equal(
        cd_stripe_sig_header(secret, T0, BODY, strlen(BODY), out, 96), 0);
}

static void test_secret_list(void **state)
{
    char h[96];
    size_t n = strlen(BODY);

    (void)state;
    sign("whsec_new", h);
    assert_int_equal(
        cd_stripe_sig_verify(h, BODY, n, "whsec_old,whsec_new", T0, 300),
        CD_SIG_OK);
    assert_int_equal(
        cd_stripe_sig_verify(h, BODY, n, " whsec_old , whsec_new ", T0, 300),
        CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(h, BODY, n, "whsec_new,", T0, 300),
                     CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(h, BODY, n, "whsec_old", T0, 300),
                     CD_SIG_NO_MATCH);
    /* No usable secret. */
    assert_int_equal(cd_stripe_sig_verify(h, BODY, n, NULL, T0, 300),
                     CD_SIG_NO_SECRET);
    assert_int_equal(cd_stripe_sig_verify(h, BODY, n, "", T0, 300),
                     CD_SIG_NO_SECRET);
    assert_int_equal(cd_stripe_sig_verify(h, BODY, n, " , ,", T0, 300),
                     CD_SIG_NO_SECRET);
    /* Eight secrets are fine, nine are a configuration error. */
    assert_int_equal(
        cd_stripe_sig_verify(h, BODY, n, "a,b,c,d,e,f,g,whsec_new", T0, 300),
        CD_SIG_OK);
    assert_int_equal(cd_stripe_sig_verify(
                         h, BODY, n, "a,b,c,d,e,f,g,h,whsec_new", T0, 300),
                     CD_SIG_NO_SECRET);
}

static void test_bounds(void **state)
{
    char h[96];
    char *big;
    size_t n = strlen(BODY), i, off;
    const char *v1;

    (void)state;
    sign(SECRET, h);
    v1 = strstr(h, "v1=") + 3;

    assert_int_equal(cd_stripe_sig_verify(NULL, BODY, n, SECRET, T0, 300),
                     CD_SIG_NO_HEADER);

    big = malloc(16384);
    assert_non_null(big);

    /* 16 v1 entries with the match last: accepted. */
    off = (size_t)snprintf(big, 16384, "t=%lld", (long long)T0);
    for (i = 0; i < 15; i++)
        off += (size_t)snprintf(big + off, 16384 - off, ",v1=%064d", 0);
    off += (size_t)snprintf(big + off, 16384 - off, ",v1=%s", v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_OK);
    /* A 17th is too many. */
    snprintf(big + off, 16384 - off, ",v1=%064d", 0);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);

    /* Header longer than 8 KiB, even if it would match. */
    off = (size_t)snprintf(big, 16384, "%s,x=", h);
    memset(big + off, 'a', 8300 - off);
    big[8300] = '\0';
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);
    /* Exactly 8 KiB is still read. */
    big[8192] = '\0';
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_OK);

    /* v1 values of the wrong shape never match. */
    snprintf(big, 16384, "t=%lld,v1=%.63s", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_NO_MATCH);
    snprintf(big, 16384, "t=%lld,v1=%sa", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_NO_MATCH);
    snprintf(big, 16384, "t=%lld,v1=%s ", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_NO_MATCH);

    /* Timestamps: sign, leading zeros, huge values. */
    snprintf(big, 16384, "t=-%lld,v1=%s", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);
    snprintf(big, 16384, "t=+%lld,v1=%s", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);
    snprintf(big, 16384, "t=99999999999999999999,v1=%s", v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);
    snprintf(big, 16384, "t=%lld,t=x,v1=%s", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_MALFORMED);
    /* The SDKs re-render t from the integer: leading zeros still verify. */
    snprintf(big, 16384, "t=0%lld,v1=%s", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_OK);
    /* Unknown keys and items without '=' are ignored. */
    snprintf(big, 16384, "foo,t=%lld,,v9=zz,v1=%s,bar=", (long long)T0, v1);
    assert_int_equal(cd_stripe_sig_verify(big, BODY, n, SECRET, T0, 300),
                     CD_SIG_OK);
    free(big);
}

/* The form check used before the body is read agrees with verify's. */
static void test_check_header(void **state)
{
    static char big[9000];
    const char *v1 =
        "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";
    char h[256];

    (void)state;
    assert_int_equal(cd_stripe_sig_check_header(NULL), CD_SIG_NO_HEADER);
    assert_int_equal(cd_stripe_sig_check_header(""), CD_SIG_NO_HEADER);
    assert_int_equal(cd_stripe_sig_check_header("garbage"), CD_SIG_MALFORMED);
    assert_int_equal(cd_stripe_sig_check_header(v1), CD_SIG_MALFORMED);
    assert_int_equal(cd_stripe_sig_check_header("t=123"), CD_SIG_MALFORMED);
    snprintf(h, sizeof(h), "t=abc,%s", v1);
    assert_int_equal(cd_stripe_sig_check_header(h), CD_SIG_MALFORMED);
    snprintf(h, sizeof(h), "t=1492774577,%s", v1);
    assert_int_equal(cd_stripe_sig_check_header(h), CD_SIG_OK);
    /* A v1 of the wrong form is no match, found with the body: OK here. */
    assert_int_equal(cd_stripe_sig_check_header("t=1,v1=00"), CD_SIG_OK);
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "t=1,v1=00,", 10);
    assert_int_equal(cd_stripe_sig_check_header(big), CD_SIG_MALFORMED);
}

static void test_strerror(void **state)
{
    int r;

    (void)state;
    for (r = CD_SIG_OK; r <= CD_SIG_NO_SECRET; r++) {
        const char *s = cd_stripe_sig_strerror((enum cd_sig_result)r);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
    }
    assert_non_null(
        strstr(cd_stripe_sig_strerror(CD_SIG_TIMESTAMP), "tolerance"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_vectors),
        cmocka_unit_test(test_named_vectors),
        cmocka_unit_test(test_tolerance_edges),
        cmocka_unit_test(test_header_matches_sdk),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_secret_list),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_check_header),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
