/*
 * fuzz_money.c - money parsing and formatting (util/util.c): amounts as
 * requests and settings give them (cd_parse_int64 with the API's bounds),
 * cd_money_display for any amount, currency and buffer size, and
 * cd_balance_add. Input: "<amount>\n<currency>\n<outsz>\n<other amount>".
 * Properties: an accepted amount is in range and prints back to itself;
 * a display never writes past outsz, always ends in a NUL, is a prefix of
 * the full display cut on a character boundary (for a UTF-8 currency), and the full display
 * reads back as the amount; a balance sum stays within its limit.
 */
#include <inttypes.h>
#include <jansson.h>

#include "fuzz.h"
#include "util/util.h"

/* The full display read back: [-]<symbol or nothing><units>.<2 digits>. */
static void check_full(int64_t minor, const char *cur, const char *out)
{
    const char *p = out;
    uint64_t units = 0, mag;
    int digits = 0;

    mag = minor < 0 ? (uint64_t)(-(minor + 1)) + 1 : (uint64_t)minor;
    FUZZ_CHECK((minor < 0) == (*p == '-'));
    if (*p == '-')
        p++;
    while (*p && (*p < '0' || *p > '9'))
        p++; /* the symbol */
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        units = units * 10 + (uint64_t)(*p - '0');
    FUZZ_CHECK(digits > 0 && digits <= 20);
    FUZZ_CHECK(p[0] == '.' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
               p[2] <= '9');
    FUZZ_CHECK(units == mag / 100 &&
               (uint64_t)((p[1] - '0') * 10 + (p[2] - '0')) == mag % 100);
    FUZZ_CHECK(p[3] == '\0' || p[3] == ' ');
    (void)cur;
}

/* Whether s is valid UTF-8 (jansson refuses a string that is not). */
static int utf8(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

static void check_display(int64_t minor, const char *cur, size_t outsz)
{
    char full[512];
    char *out = outsz ? malloc(outsz) : NULL;

    cd_money_display(minor, cur, full, sizeof(full));
    if (strlen(cur) < 200)
        check_full(minor, cur, full);
    if (outsz) {
        memset(out, 'x', outsz);
        FUZZ_CHECK(cd_money_display(minor, cur, out, outsz) == out);
        FUZZ_CHECK(memchr(out, '\0', outsz) != NULL);
        FUZZ_CHECK(strncmp(out, full, strlen(out)) == 0);
        /* Cut: on a character boundary, when there are characters (the
         * currency is UTF-8, as every JSON string is). */
        if (strlen(out) < strlen(full) && utf8(cur))
            FUZZ_CHECK(cd_utf8_cut(out, strlen(out)) == strlen(out));
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *cur = fuzz_split(s);
    char *szs = fuzz_split(cur);
    char *other = fuzz_split(szs);
    int64_t amount = 0, minor = 0, b = 0, sum = 0, outsz = 64;
    char back[32];

    if (cd_parse_int64(s, 1, CD_AMOUNT_MAX, &amount) == 0) {
        FUZZ_CHECK(amount >= 1 && amount <= CD_AMOUNT_MAX);
        snprintf(back, sizeof(back), "%" PRId64, amount);
        FUZZ_CHECK(cd_parse_int64(back, 1, CD_AMOUNT_MAX, &b) == 0 &&
                   b == amount);
    }
    if (cd_parse_int64(s, INT64_MIN, INT64_MAX, &minor) != 0)
        minor = 0;
    if (cd_parse_int64(szs, 0, 256, &outsz) != 0)
        outsz = 64;
    check_display(minor, cur, (size_t)outsz);
    if (cd_parse_int64(other, INT64_MIN, INT64_MAX, &b) == 0 &&
        cd_balance_add(minor, b, &sum) == 0)
        FUZZ_CHECK(sum == minor + b && sum <= CD_BALANCE_LIMIT &&
                   sum >= -CD_BALANCE_LIMIT);
    free(s);
    return 0;
}
