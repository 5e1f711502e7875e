/*
 * test_util_jsonw.c - cd_jsonw writes the very bytes jansson's
 * json_dumps(JSON_COMPACT) makes of the same object: every byte below
 * 0x80 alone, quotes, backslashes, slashes, UTF-8 of 2-4 bytes, null and
 * 64-bit integers; refuses what jansson refuses (not UTF-8) and a full
 * buffer, and then writes nothing; nested objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/jsonw.h"

/* jansson's bytes for {"k": s, "n": v, "z": null} */
static char *jansson_of(const char *s, int64_t v)
{
    json_t *o = json_object();
    char *out;

    json_object_set_new(o, "k", json_string(s));
    json_object_set_new(o, "n", json_integer((json_int_t)v));
    json_object_set_new(o, "z", json_null());
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

static void same_as_jansson(const char *s, int64_t v)
{
    char buf[512];
    struct cd_jsonw w;
    char *want = jansson_of(s, v);

    assert_non_null(want);
    cd_jsonw_begin(&w, buf, sizeof(buf));
    cd_jsonw_str(&w, "k", s);
    cd_jsonw_i64(&w, "n", v);
    cd_jsonw_str(&w, "z", NULL);
    assert_int_equal(cd_jsonw_end(&w), 0);
    assert_string_equal(buf, want);
    assert_int_equal(w.len, strlen(want));
    free(want);
}

static void test_every_ascii_byte(void **state)
{
    char s[2] = {0, 0};

    (void)state;
    for (int c = 1; c < 0x80; c++) {
        s[0] = (char)c;
        same_as_jansson(s, c);
    }
    same_as_jansson("", 0);
    same_as_jansson("a \"quoted\" \\ path/to\x7f\t\n", INT64_MAX);
    same_as_jansson("idem:server:acct_x:key-\"1\"", INT64_MIN);
}

static void test_utf8(void **state)
{
    (void)state;
    same_as_jansson(
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", -42);
    same_as_jansson("\xe2\x80\xa8\xe2\x80\xa9", 1); /* U+2028, U+2029 */
}

static void test_refused(void **state)
{
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xc3",             /* cut short */
        "\x80",             /* a lone continuation byte */
        "\xff",
    };
    char buf[64];
    struct cd_jsonw w;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(json_string(bad[i])); /* jansson refuses it too */
        cd_jsonw_begin(&w, buf, sizeof(buf));
        cd_jsonw_str(&w, "k", bad[i]);
        assert_int_equal(cd_jsonw_end(&w), -1);
    }
    /* full: 10 bytes cannot hold {"k":"abcdef"} and its NUL */
    cd_jsonw_begin(&w, buf, 10);
    cd_jsonw_str(&w, "k", "abcdef");
    assert_int_equal(cd_jsonw_end(&w), -1);
    /* exactly enough: 14 bytes and the NUL */
    cd_jsonw_begin(&w, buf, 15);
    cd_jsonw_str(&w, "k", "abcdef");
    assert_int_equal(cd_jsonw_end(&w), 0);
    assert_string_equal(buf, "{\"k\":\"abcdef\"}");
}

/* {"a":1,"hold":{"id":"h","t":null,"in":{"x":-1}},"b":"c"} as jansson
 * writes it; an object left open is closed by cd_jsonw_end. */
static void test_nested(void **state)
{
    char buf[128];
    struct cd_jsonw w;
    json_t *o = json_pack("{sI s{ss sn s{sI}} ss}", "a", (json_int_t)1,
                          "hold", "id", "h", "t", "in", "x", (json_int_t)-1,
                          "b", "c");
    char *want = json_dumps(o, JSON_COMPACT);

    (void)state;
    json_decref(o);
    cd_jsonw_begin(&w, buf, sizeof(buf));
    cd_jsonw_i64(&w, "a", 1);
    cd_jsonw_open(&w, "hold");
    cd_jsonw_str(&w, "id", "h");
    cd_jsonw_str(&w, "t", NULL);
    cd_jsonw_open(&w, "in");
    cd_jsonw_i64(&w, "x", -1);
    cd_jsonw_close(&w);
    cd_jsonw_close(&w);
    cd_jsonw_str(&w, "b", "c");
    assert_int_equal(cd_jsonw_end(&w), 0);
    assert_string_equal(buf, want);
    free(want);
    cd_jsonw_begin(&w, buf, sizeof(buf));
    cd_jsonw_open(&w, "h");
    cd_jsonw_i64(&w, "x", 2);
    assert_int_equal(cd_jsonw_end(&w), 0);
    assert_string_equal(buf, "{\"h\":{\"x\":2}}");
    cd_jsonw_begin(&w, buf, sizeof(buf));
    cd_jsonw_close(&w); /* nothing open */
    assert_int_equal(cd_jsonw_end(&w), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_ascii_byte),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_nested),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
