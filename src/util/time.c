/*
 * time.c - clocks and RFC 3339 times; see util.h.
 *
 * Dates are converted with the proleptic Gregorian day-count formulas
 * (days since 1970-01-01 <-> year, month, day) rather than gmtime() and
 * timegm(), so the result never depends on time_t or struct tm's int
 * fields, and both directions are exact over the whole range
 * CD_TIME_MIN..CD_TIME_MAX.
 */
#include "util/util.h"

#include <stdatomic.h>
#include <time.h>

/* Seconds added to the wall clock (CREDITD_TEST_CLOCK_OFFSET; 0 in
 * production). Atomic: tests may advance it while threads read it. */
static _Atomic int64_t clock_offset;

void cd_clock_set_offset(int64_t seconds)
{
    atomic_store(&clock_offset, seconds);
}

void cd_clock_advance(int64_t seconds)
{
    atomic_fetch_add(&clock_offset, seconds);
}

int64_t cd_clock_offset(void)
{
    return atomic_load(&clock_offset);
}

int64_t cd_now(void)
{
    return (int64_t)time(NULL) + atomic_load(&clock_offset);
}

int64_t cd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + atomic_load(&clock_offset)) * 1000 +
           ts.tv_nsec / 1000000;
}

int64_t cd_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days from 1970-01-01 to y-m-d (m 1..12); y may be 0..9999. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil for days >= 0. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Writes v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *out, int v, int n)
{
    while (n-- > 0) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void cd_time_rfc3339(int64_t t, char out[21])
{
    int64_t days, secs;
    int y, mo, d;

    if (t < CD_TIME_MIN)
        t = CD_TIME_MIN;
    if (t > CD_TIME_MAX)
        t = CD_TIME_MAX;
    days = t / 86400;
    secs = t % 86400;
    civil_from_days(days, &y, &mo, &d);
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, mo, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, (int)(secs / 3600), 2);
    out[13] = ':';
    put_digits(out + 14, (int)(secs / 60 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (int)(secs % 60), 2);
    out[19] = 'Z';
    out[20] = '\0';
}

/* Exactly n ASCII digits at s into *v; -1 otherwise (stops at a NUL). */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The offset east of UTC in seconds: "Z" or "+hh:mm" / "-hh:mm" with
 * exactly those digits, hh <= 23, mm <= 59, ending the string. */
static int parse_offset(const char *p, int64_t *off)
{
    int hh, mm;

    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *off = 0;
        return 0;
    }
    if ((p[0] != '+' && p[0] != '-') || digits(p + 1, 2, &hh) != 0 ||
        p[3] != ':' || digits(p + 4, 2, &mm) != 0 || p[6] != '\0' ||
        hh > 23 || mm > 59)
        return -1;
    *off = (int64_t)(hh * 3600 + mm * 60) * (p[0] == '+' ? 1 : -1);
    return 0;
}

int cd_time_parse_rfc3339(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    const char *p;
    int64_t off, t;

    if (!s || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60) /* :60, a leap second, is the next second */
        return -1;
    p = s + 19;
    if (*p == '.') { /* fractional seconds: one digit or more, dropped */
        if (p[1] < '0' || p[1] > '9')
            return -1;
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (parse_offset(p, &off) != 0)
        return -1;
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (t < CD_TIME_MIN || t > CD_TIME_MAX)
        return -1;
    *out = t;
    return 0;
}
