/*
 * test_util_utf8.c - cutting strings to a byte count on a character
 * boundary: cd_utf8_cut itself, and the copies that cut outside text with
 * it (cd_strlcpy, cd_error_set's message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"
#include "util/util.h"

/* e-acute (2 bytes), euro (3 bytes), an emoji (4 bytes). */
#define E2 "\xc3\xa9"
#define E3 "\xe2\x82\xac"
#define E4 "\xf0\x9f\x98\x80"

/* Whether s is well-formed UTF-8 (no sequence cut short). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;

        if (*p >= 0x80 && *p < 0xc0)
            return 0;
        p++;
        while (n-- > 0)
            if ((*p++ & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

static void test_cut(void **state)
{
    (void)state;
    assert_int_equal(cd_utf8_cut("abcdef", 3), 3);
    assert_int_equal(cd_utf8_cut("abc", 10), 3);
    assert_int_equal(cd_utf8_cut("", 10), 0);
    assert_int_equal(cd_utf8_cut("abc", 0), 0);
    /* "a" + e-acute: 1 byte of it would be half a character. */
    assert_int_equal(cd_utf8_cut("a" E2 "b", 2), 1);
    assert_int_equal(cd_utf8_cut("a" E2 "b", 3), 3);
    assert_int_equal(cd_utf8_cut("a" E3 "b", 2), 1);
    assert_int_equal(cd_utf8_cut("a" E3 "b", 3), 1);
    assert_int_equal(cd_utf8_cut("a" E3 "b", 4), 4);
    assert_int_equal(cd_utf8_cut(E4 E4, 4), 4);
    assert_int_equal(cd_utf8_cut(E4 E4, 5), 4);
    assert_int_equal(cd_utf8_cut(E4 E4, 7), 4);
    assert_int_equal(cd_utf8_cut(E4 E4, 8), 8);
    assert_int_equal(cd_utf8_cut(E4, 3), 0);
    /* Not UTF-8: stray continuation bytes are not "a character". */
    assert_int_equal(cd_utf8_cut("\x80\x80\x80\x80\x80", 5), 5);
    assert_int_equal(cd_utf8_cut("ab\xff", 3), 3);
}

/* Every cut of a mixed string is a valid prefix, and as long as it can be. */
static void test_cut_every_length(void **state)
{
    static const char s[] = "x" E2 E3 E4 "y" E4 E3 E2;
    char buf[sizeof(s)];

    (void)state;
    for (size_t max = 0; max < sizeof(s); max++) {
        size_t n = cd_utf8_cut(s, max);

        assert_true(n <= max);
        assert_true(n + 4 > max);
        memcpy(buf, s, n);
        buf[n] = '\0';
        assert_true(utf8_ok(buf));
    }
}

static void test_strlcpy_cuts_on_a_boundary(void **state)
{
    char out[7];

    (void)state;
    memset(out, 'z', sizeof(out));
    assert_int_equal(cd_strlcpy(out, "abcd" E2, sizeof(out)), 0);
    assert_string_equal(out, "abcd" E2);
    assert_int_equal(cd_strlcpy(out, "abcde" E2, sizeof(out)), -1);
    assert_string_equal(out, "abcde");
    assert_int_equal(cd_strlcpy(out, "abcd" E3, sizeof(out)), -1);
    assert_string_equal(out, "abcd");
    assert_int_equal(cd_strlcpy(out, "abc" E4, sizeof(out)), -1);
    assert_string_equal(out, "abc");
    assert_int_equal(cd_strlcpy(out, "ab" E4 "c", sizeof(out)), -1);
    assert_string_equal(out, "ab" E4);
    assert_int_equal(cd_strlcpy(out, "abcdefgh", sizeof(out)), -1);
    assert_string_equal(out, "abcdef");
}

/* A message with outside text cut by the buffer stays valid UTF-8 (a JSON
 * reply could not carry it otherwise). */
static void test_error_message_cut(void **state)
{
    struct cd_error e;
    char text[400];

    (void)state;
    for (size_t i = 0; i + 3 < sizeof(text); i += 3)
        memcpy(text + i, E3, 3);
    text[sizeof(text) / 3 * 3 - 3] = '\0';
    for (int pre = 0; pre < 4; pre++) {
        cd_error_set(&e, CD_EK_UPSTREAM, "stripe_error", NULL, "%.*s%s", pre,
                     "abc", text);
        assert_true(strlen(e.message) + 4 > sizeof(e.message));
        assert_true(utf8_ok(e.message));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_cut_every_length),
        cmocka_unit_test(test_strlcpy_cuts_on_a_boundary),
        cmocka_unit_test(test_error_message_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
