/*
 * test_stripe_form.c - Stripe form encoding and decoding. Encodings are
 * compared byte for byte with REFERENCE.md 4.2 and with what the stripe npm
 * package produces (tests/unit/data/form_vectors.json, made by
 * scripts/gen_form_vectors.mjs); decoding is checked for shapes, escapes,
 * bounds and round trips. Runs with tests/unit as working directory.
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

#include "stripe/form.h"

#define VECTORS "data/form_vectors.json"

/* Encodes params and returns a malloc'ed string (caller frees). */
static char *encode(const json_t *params)
{
    struct cd_buf b;

    cd_buf_init(&b, 1 << 20);
    assert_int_equal(cd_form_encode(params, &b), 0);
    return cd_buf_take(&b, NULL);
}

static json_t *decode(const char *s)
{
    return cd_form_decode(s, strlen(s));
}

static void assert_json_eq(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);

    assert_non_null(want);
    if (!got || !json_equal(got, want)) {
        char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
        fail_msg("got %s\nwant %s", g ? g : "NULL", want_text);
    }
    json_decref(want);
}

static void test_reference_example(void **state)
{
    /* The example in shared/stripe/REFERENCE.md 4.2 (node's output). */
    const char *want =
        "mode=payment&success_url=https%3A%2F%2Fexample.com%2Fsuccess%3F"
        "session_id%3D%7BCHECKOUT_SESSION_ID%7D"
        "&line_items[0][price_data][currency]=usd"
        "&line_items[0][price_data][product_data][name]=1000%20credits"
        "&line_items[0][price_data][unit_amount]=1000&line_items[0][quantity]=1"
        "&payment_intent_data[setup_future_usage]=off_session"
        "&metadata[user_id]=42&allow_promotion_codes=true"
        "&expires_at=1767227400&expand[0]=payment_intent&expand[1]=customer";
    json_t *p = json_pack(
        "{s:s, s:s, s:[{s:{s:s, s:{s:s}, s:I}, s:I}], s:{s:s}, s:{s:s},"
        " s:b, s:I, s:[s,s]}",
        "mode", "payment", "success_url",
        "https://example.com/success?session_id={CHECKOUT_SESSION_ID}",
        "line_items", "price_data", "currency", "usd", "product_data", "name",
        "1000 credits", "unit_amount", (json_int_t)1000, "quantity",
        (json_int_t)1, "payment_intent_data", "setup_future_usage",
        "off_session", "metadata", "user_id", "42", "allow_promotion_codes",
        1, "expires_at", (json_int_t)1767227400, "expand", "payment_intent",
        "customer");
    char *got;

    (void)state;
    assert_non_null(p);
    got = encode(p);
    assert_string_equal(got, want);
    free(got);
    json_decref(p);
}

static void test_node_vectors(void **state)
{
    json_error_t jerr;
    json_t *root = json_load_file(VECTORS, 0, &jerr);
    json_t *v;
    size_t i;

    (void)state;
    if (!root)
        fail_msg("cannot load %s: %s", VECTORS, jerr.text);
    assert_true(json_array_size(json_object_get(root, "vectors")) >= 5);
    json_array_foreach(json_object_get(root, "vectors"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *want = json_string_value(json_object_get(v, "encoded"));
        char *got = encode(json_object_get(v, "params"));
        char *again;
        json_t *dec;

        if (strcmp(got, want) != 0)
            fail_msg("%s:\n got  %s\n want %s", name, got, want);
        /* Decoding the SDK's output and encoding it again is stable
         * (every leaf becomes a string, which encodes the same). */
        dec = decode(want);
        if (!dec)
            fail_msg("%s: decode failed", name);
        again = encode(dec);
        if (strcmp(again, want) != 0)
            fail_msg("%s: re-encode\n got  %s\n want %s", name, again, want);
        free(again);
        json_decref(dec);
        free(got);
    }
    json_decref(root);
}

static void test_encode_values(void **state)
{
    json_t *p;
    char *s;
    struct cd_buf b;

    (void)state;
    /* null unsets, empty containers vanish, brackets stay raw. */
    p = json_pack("{s:n, s:{}, s:[], s:s, s:b, s:[i,{s:n}]}", "metadata",
                  "nested", "list", "v", "a[b]&c", "f", 0, "arr", 7, "x");
    s = encode(p);
    assert_string_equal(s,
                        "metadata=&v=a[b]%26c&f=false&arr[0]=7&arr[1][x]=");
    free(s);
    json_decref(p);

    /* Keys are escaped too. */
    p = json_pack("{s:{s:s}}", "meta data", "k=1&é", "x y");
    s = encode(p);
    assert_string_equal(s, "meta%20data[k%3D1%26%C3%A9]=x%20y");
    free(s);
    json_decref(p);

    /* NULL params encode as nothing; non-objects are refused. */
    cd_buf_init(&b, 1024);
    assert_int_equal(cd_form_encode(NULL, &b), 0);
    assert_int_equal(b.len, 0);
    p = json_array();
    assert_int_equal(cd_form_encode(p, &b), -1);
    json_decref(p);

    /* The buffer's cap is honoured. */
    cd_buf_free(&b);
    cd_buf_init(&b, 10);
    p = json_pack("{s:s}", "description", "far too long for ten bytes");
    assert_int_equal(cd_form_encode(p, &b), -1);
    json_decref(p);
    cd_buf_free(&b);
}

static void test_escape(void **state)
{
    struct cd_buf b;

    (void)state;
    cd_buf_init(&b, 1024);
    /* encodeURIComponent('a b&c=d/é[]!*\'()~-_.+%') */
    assert_int_equal(cd_form_escape("a b&c=d/\xc3\xa9[]!*'()~-_.+%", &b), 0);
    assert_string_equal(b.data,
                        "a%20b%26c%3Dd%2F%C3%A9%5B%5D!*'()~-_.%2B%25");
    cd_buf_reset(&b);
    assert_int_equal(cd_form_escape("cs_test_ABC123", &b), 0);
    assert_string_equal(b.data, "cs_test_ABC123");
    assert_int_equal(cd_form_escape(NULL, &b), -1);
    cd_buf_free(&b);
}

static void test_decode_shapes(void **state)
{
    json_t *j;

    (void)state;
    /* form.h's example. */
    j = decode("a[b]=1&c[0]=x&c[1]=y&d[]=z");
    assert_json_eq(j,
                   "{\"a\":{\"b\":\"1\"},\"c\":[\"x\",\"y\"],\"d\":[\"z\"]}");
    json_decref(j);

    /* Arrays of objects, by index and by repeated index. */
    j = decode("line_items[0][price]=p1&line_items[0][quantity]=2"
               "&line_items[1][price]=p2&line_items[1][quantity]=1");
    assert_json_eq(j,
                   "{\"line_items\":[{\"price\":\"p1\",\"quantity\":\"2\"},"
                   "{\"price\":\"p2\",\"quantity\":\"1\"}]}");
    json_decref(j);

    /* "[]" appends; mixed with indices. */
    j = decode("expand[]=customer&expand[]=payment_intent&e[0]=a&e[]=b");
    assert_json_eq(j, "{\"expand\":[\"customer\",\"payment_intent\"],"
                      "\"e\":[\"a\",\"b\"]}");
    json_decref(j);
    j = decode("a[][x]=1&a[][x]=2");
    assert_json_eq(j, "{\"a\":[{\"x\":\"1\"},{\"x\":\"2\"}]}");
    json_decref(j);

    /* Nested arrays. */
    j = decode("m[0][0]=a&m[0][1]=b&m[1][0]=c");
    assert_json_eq(j, "{\"m\":[[\"a\",\"b\"],[\"c\"]]}");
    json_decref(j);

    /* Numeric keys inside an existing object stay keys. */
    j = decode("metadata[a]=1&metadata[7]=2");
    assert_json_eq(j, "{\"metadata\":{\"a\":\"1\",\"7\":\"2\"}}");
    json_decref(j);

    /* '+' is a space, %XX escapes (either case), encoded brackets. */
    j = decode(
        "name=Zo%C3%AB+%c3%9cnicode&url=https%3A%2F%2Fx.test%2F%3Fa%3D1"
        "&meta%5Bk%5D=v&sp+ace=%2B");
    assert_json_eq(j, "{\"name\":\"Zo\xc3\xab \xc3\x9cnicode\","
                      "\"url\":\"https://x.test/?a=1\","
                      "\"meta\":{\"k\":\"v\"},\"sp ace\":\"+\"}");
    json_decref(j);

    /* Empty values, missing '=', empty pairs. */
    j = decode("a=&b&&c=3&");
    assert_json_eq(j, "{\"a\":\"\",\"b\":\"\",\"c\":\"3\"}");
    json_decref(j);
    j = decode("");
    assert_json_eq(j, "{}");
    json_decref(j);
    j = cd_form_decode(NULL, 0);
    assert_json_eq(j, "{}");
    json_decref(j);

    /* Only len bytes are read. */
    j = cd_form_decode("a=1&b=2", 3);
    assert_json_eq(j, "{\"a\":\"1\"}");
    json_decref(j);

    /* A leading zero makes a key, not an index. */
    j = decode("c[01]=x");
    assert_json_eq(j, "{\"c\":{\"01\":\"x\"}}");
    json_decref(j);

    /* '=' inside a value. */
    j = decode("q=a=b");
    assert_json_eq(j, "{\"q\":\"a=b\"}");
    json_decref(j);
}

static void test_decode_rejects(void **state)
{
    static const char *bad[] = {
        "a=%",              /* truncated escape */
        "a=%4",             /* truncated escape */
        "a=%zz",            /* not hex */
        "a%=1",             /* bad escape in the key */
        "a=%00",            /* NUL */
        "a=%FF",            /* not UTF-8 */
        "a=%C3",            /* truncated UTF-8 */
        "=1",               /* empty key */
        "[a]=1",            /* empty base name */
        "a]=1",             /* ']' in the base */
        "a[b=1",            /* unclosed */
        "a[b]c=1",          /* text after ']' */
        "a[b[c]]=1",        /* '[' inside a segment */
        "a=1&a=2",          /* repeated key */
        "a[b]=1&a[b]=2",    /* repeated nested key */
        "a=1&a[b]=2",       /* value, then container */
        "a[b]=1&a=2",       /* container, then value */
        "c[1]=x",           /* index gap */
        "c[1]=y&c[0]=x",    /* out of order */
        "c[0]=x&c[0]=y",    /* repeated index */
        "c[0]=x&c[2]=y",    /* gap */
        "c[0]=x&c[k]=y",    /* key into an array */
        "o[k]=x&o[]=y",     /* append into an object */
        "c[0]=x&c[0][k]=y", /* value, then container, in an array */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = decode(bad[i]);
        if (j) {
            char *s = json_dumps(j, JSON_COMPACT);
            fail_msg("accepted %s as %s", bad[i], s);
        }
    }
    /* A raw NUL inside the given length. */
    assert_null(cd_form_decode("a=1\0b=2", 7));
}

static void test_decode_bounds(void **state)
{
    struct cd_buf b;
    json_t *j;
    int i;

    (void)state;
    cd_buf_init(&b, 1 << 20);

    /* Depth: 8 bracket levels pass, 9 fail. */
    assert_int_equal(cd_buf_appends(&b, "a[b][c][d][e][f][g][h][i]=x"), 0);
    j = decode(b.data);
    assert_json_eq(j, "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":"
                      "{\"h\":{\"i\":\"x\"}}}}}}}}}");
    json_decref(j);
    cd_buf_reset(&b);
    assert_int_equal(cd_buf_appends(&b, "a[b][c][d][e][f][g][h][i][j]=x"), 0);
    assert_null(decode(b.data));
    cd_buf_reset(&b);
    assert_int_equal(cd_buf_appends(&b, "a[0][0][0][0][0][0][0][0]=x"), 0);
    j = decode(b.data);
    assert_json_eq(j, "{\"a\":[[[[[[[[\"x\"]]]]]]]]}");
    json_decref(j);
    cd_buf_reset(&b);
    assert_int_equal(cd_buf_appends(&b, "a[][][][][][][][][]=x"), 0);
    assert_null(decode(b.data));

    /* Pairs: 1000 pass, 1001 fail. */
    cd_buf_reset(&b);
    for (i = 0; i < 1000; i++)
        assert_int_equal(cd_buf_appendf(&b, "%sk[]=%d", i ? "&" : "", i), 0);
    j = decode(b.data);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "k")), 1000);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "k"), 999)),
        "999");
    json_decref(j);
    assert_int_equal(cd_buf_appends(&b, "&k[]=1000"), 0);
    assert_null(decode(b.data));

    /* Indexed arrays up to 1000 elements. */
    cd_buf_reset(&b);
    for (i = 0; i < 1000; i++)
        assert_int_equal(cd_buf_appendf(&b, "%sk[%d]=%d", i ? "&" : "", i, i),
                         0);
    j = decode(b.data);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "k")), 1000);
    json_decref(j);

    /* Key length: 256 decoded bytes pass, 257 fail. */
    cd_buf_reset(&b);
    for (i = 0; i < 256; i++)
        assert_int_equal(cd_buf_append(&b, "k", 1), 0);
    assert_int_equal(cd_buf_appends(&b, "=v"), 0);
    j = decode(b.data);
    assert_non_null(j);
    json_decref(j);
    cd_buf_reset(&b);
    for (i = 0; i < 257; i++)
        assert_int_equal(cd_buf_append(&b, "k", 1), 0);
    assert_int_equal(cd_buf_appends(&b, "=v"), 0);
    assert_null(decode(b.data));
    /* ...counted after decoding: 256 escaped bytes are 768 raw. */
    cd_buf_reset(&b);
    for (i = 0; i < 256; i++)
        assert_int_equal(cd_buf_append(&b, "%41", 3), 0);
    assert_int_equal(cd_buf_appends(&b, "=v"), 0);
    j = decode(b.data);
    assert_non_null(j);
    json_decref(j);

    /* Long values are fine. */
    cd_buf_reset(&b);
    assert_int_equal(cd_buf_appends(&b, "v="), 0);
    for (i = 0; i < 100000; i++)
        assert_int_equal(cd_buf_append(&b, "%41", 3), 0);
    j = decode(b.data);
    assert_non_null(j);
    assert_int_equal(json_string_length(json_object_get(j, "v")), 100000);
    json_decref(j);
    cd_buf_free(&b);
}

/* encode -> decode gives back the same tree when every leaf is a string. */
static void test_roundtrip(void **state)
{
    static const char *trees[] = {
        "{\"mode\":\"payment\",\"success_url\":\"https://e.test/s?id="
        "{CHECKOUT_SESSION_ID}\",\"line_items\":[{\"price_data\":{\"currency\":"
        "\"usd\",\"product_data\":{\"name\":\"1000 credits\"},\"unit_amount\":"
        "\"1000\"},\"quantity\":\"1\"}],\"metadata\":{\"user_id\":\"42\","
        "\"note\":\"a&b=c+d %25 [x] \xc3\xa9 \xf0\x9f\x92\xb3\"},"
        "\"expand\":[\"payment_intent\",\"customer\"]}",
        "{\"a\":[[\"x\",\"y\"],[{\"b\":[\"z\"]}]],\"empty\":\"\"}",
        "{\"metadata\":{\"k\":\"v\",\"12\":\"numeric key after another\"}}",
        "{\"weird key !*'()\":{\"~-_.\":\"\\n\\t\\r\"}}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
        json_error_t jerr;
        json_t *t = json_loads(trees[i], 0, &jerr);
        char *enc;
        json_t *dec;

        if (!t)
            fail_msg("bad test JSON %zu: %s", i, jerr.text);
        enc = encode(t);
        dec = decode(enc);
        if (!dec || !json_equal(t, dec))
            fail_msg("round trip %zu failed: %s", i, enc);
        json_decref(dec);
        json_decref(t);
        free(enc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_example),
        cmocka_unit_test(test_node_vectors),
        cmocka_unit_test(test_encode_values),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_decode_shapes),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_bounds),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
