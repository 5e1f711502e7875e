/*
 * test_util_url.c - origins of http(s) URLs: what is refused, and the one
 * normal form (scheme and host lower-case, the default port dropped) that
 * the redirect check, the settings and the sandbox all compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/url.h"
#include "util/util.h"

static void test_normal_form(void **state)
{
    static const struct {
        const char *url, *origin;
    } cases[] = {
        {"http://127.0.0.1:8080/ok?session_id={X}", "http://127.0.0.1:8080"},
        {"HTTP://127.0.0.1:8080/x", "http://127.0.0.1:8080"},
        {"Https://Shop.Example.COM", "https://shop.example.com"},
        {"https://shop.example.com:443/done", "https://shop.example.com"},
        {"http://shop.example.com:80", "http://shop.example.com"},
        {"http://shop.example.com:443/", "http://shop.example.com:443"},
        {"https://shop.example.com:80/", "https://shop.example.com:80"},
        {"https://shop.example.com:0443/", "https://shop.example.com"},
        {"https://shop.example.com#frag", "https://shop.example.com"},
        {"https://shop.example.com?q=1", "https://shop.example.com"},
        {"http://[::1]:9000/x", "http://[::1]:9000"},
        {"http://[FE80::1]/", "http://[fe80::1]"},
        {"http://a_b-c.example/", "http://a_b-c.example"},
        {"https://x/caf\xc3\xa9", "https://x"}, /* non-ASCII path is fine */
    };
    char out[CD_ORIGIN_SZ];

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(cases); i++) {
        if (cd_url_origin(cases[i].url, out, sizeof(out)) != 0)
            fail_msg("%s refused", cases[i].url);
        if (strcmp(out, cases[i].origin) != 0)
            fail_msg("%s -> %s, want %s", cases[i].url, out, cases[i].origin);
    }
}

static void test_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "http://",
        "https:///",
        "http:///x",
        "http://?x",
        "http://#x",
        "http://:8080/",
        "ftp://example.com/",
        "javascript:alert(1)",
        "//example.com/x",
        "/relative",
        "http:/example.com",
        "http://user@example.com/",
        "http://127.0.0.1:8080@evil.example.com/x",
        "http://127.0.0.1:8080\\@evil.com/",
        "http://127.0.0.1:8080/a b",
        "http://exa mple.com/",
        "http://example.com/\x7f",
        "http://example.com/\t",
        "http://127.0.0.1:/x",
        "http://127.0.0.1:0/x",
        "http://127.0.0.1:65536/x",
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1:000080/x",
        "http://127.0.0.1:8o/x",
        "http://caf\xc3\xa9.example/",
        "http://exa!mple.com/",
        "http://[]/",
        "http://[::1/",
        "http://[::g]/",
        "http://[::1]x/",
        "http://[::1]:/",
    };
    char out[CD_ORIGIN_SZ];
    struct cd_origin o;

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(bad); i++) {
        memset(out, 'x', sizeof(out));
        if (cd_url_origin(bad[i], out, sizeof(out)) == 0)
            fail_msg("'%s' accepted as %s", bad[i], out);
        assert_int_equal(cd_url_parse_origin(bad[i], &o), -1);
    }
    assert_int_equal(cd_url_parse_origin(NULL, &o), -1);
}

static void test_host_length_and_small_buffers(void **state)
{
    char url[300], out[CD_ORIGIN_SZ];

    (void)state;
    memcpy(url, "https://", 8);
    memset(url + 8, 'h', 255);
    memcpy(url + 8 + 255, ":65535/", 8);
    assert_int_equal(cd_url_origin(url, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), sizeof(out) - 1);
    /* One byte short of the room it needs: refused, out left empty. */
    assert_int_equal(cd_url_origin(url, out, sizeof(out) - 1), -1);
    assert_string_equal(out, "");
    assert_int_equal(cd_url_origin("http://a", out, 0), -1);
    /* A 256-byte host is too long. */
    memset(url + 8, 'h', 256);
    memcpy(url + 8 + 256, "/", 2);
    assert_int_equal(cd_url_origin(url, out, sizeof(out)), -1);
}

static int loopback(const char *url)
{
    struct cd_origin o;

    assert_int_equal(cd_url_parse_origin(url, &o), 0);
    return cd_origin_is_loopback(&o);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(loopback("http://127.0.0.1:12111"));
    assert_true(loopback("http://127.1.2.3/"));
    assert_true(loopback("http://LOCALHOST:1"));
    assert_true(loopback("http://[::1]:9/"));
    assert_false(loopback("http://128.0.0.1/"));
    assert_false(loopback("http://10.0.0.1/"));
    assert_false(loopback("http://api.stripe.com/"));
    assert_false(loopback("http://127.0.0.1.evil.com/"));
    assert_false(loopback("http://localhost.evil.com/"));
    assert_false(loopback("http://[::2]/"));
    assert_false(loopback("http://0.0.0.0/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_form),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_host_length_and_small_buffers),
        cmocka_unit_test(test_loopback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
