/*
 * util.h - small pure helpers: time, randomness, hashing, hex, constant-time
 * comparison, bounded number parsing and money display.
 */
#ifndef CD_UTIL_UTIL_H
#define CD_UTIL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define CD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Largest amount accepted in one request (API.md: 1..10^12). */
#define CD_AMOUNT_MAX INT64_C(1000000000000)
/* A balance may never pass +-2^62, so no sum of two can overflow int64. */
#define CD_BALANCE_LIMIT (INT64_C(1) << 62)

/* Clocks and times: time.c. */
/* The injectable clock: cd_now and cd_now_ms run this many seconds ahead
 * of the system clock. Zero unless CREDITD_TEST_CLOCK_OFFSET is set (tests
 * of expiry and leases move time instead of sleeping); every node of one
 * installation must use the same offset. */
void cd_clock_set_offset(int64_t seconds);
void cd_clock_advance(int64_t seconds);
int64_t cd_clock_offset(void);
/* Wall clock, seconds since the epoch (plus the test offset). */
int64_t cd_now(void);
/* Wall clock, milliseconds since the epoch (leases shared between nodes;
 * plus the test offset). */
int64_t cd_now_ms(void);
/* Monotonic clock in microseconds, for durations. */
int64_t cd_mono_us(void);
/* The times creditd reads and writes: 1970-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59Z, the range of a four-digit RFC 3339 year. */
#define CD_TIME_MIN INT64_C(0)
#define CD_TIME_MAX INT64_C(253402300799)
/* "2026-11-21T20:30:00Z": always 20 characters and a NUL in out[21].
 * Any int64 is safe: a time before CD_TIME_MIN formats as
 * 1970-01-01T00:00:00Z and one after CD_TIME_MAX as 9999-12-31T23:59:59Z
 * (clamped, never overflowing out). */
void cd_time_rfc3339(int64_t unix_seconds, char out[21]);
/* Parses an RFC 3339 date-time, strictly: YYYY-MM-DDThh:mm:ss with
 * exactly those digits ('T' or 't'), a real calendar date, ss up to 60
 * (a leap second reads as the next second), optional fractional seconds
 * (dropped), then "Z"/"z" or an offset "+hh:mm"/"-hh:mm" of two digits
 * each, hh <= 23, mm <= 59, and nothing after. Returns 0 and sets *out
 * only when the instant, offset applied, lies in CD_TIME_MIN..CD_TIME_MAX;
 * -1 otherwise, leaving *out alone. */
int cd_time_parse_rfc3339(const char *s, int64_t *out);

/* Fills buf with n bytes from the OS CSPRNG; aborts if it cannot. */
void cd_random_bytes(void *buf, size_t n);
/* prefix + 24 random base62 characters ("ord_3kT..."); out holds >= 64. */
void cd_random_id(const char *prefix, char *out, size_t outsz);
/* A request id: "req_" + 16 random base62 characters (95 bits) + NUL,
 * drawn from the ids' per-thread pool of CSPRNG bytes (cd_random_id's,
 * refilled 512 bytes at a time, each byte wiped once used; a forked child
 * never reuses the parent's unread bytes). */
#define CD_REQUEST_ID_SZ 21
void cd_request_id(char out[CD_REQUEST_ID_SZ]);
/* The same shape, but the first 8 characters are the time in ms (cd_now_ms,
 * base62, most significant first) and 16 (95 bits) are random: ids made
 * later sort after (bytewise) on one clock, so a unique index on them
 * grows at its end instead of writing a random leaf page per row (the
 * ledger's and the outbox's ids; docs/PERFORMANCE.md). */
void cd_ordered_id(const char *prefix, char *out, size_t outsz);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void cd_hex(const void *data, size_t n, char *out);
/* SHA-256 of data as 64 lower-case hex characters + NUL. */
void cd_sha256_hex(const void *data, size_t n, char out[65]);
/* HMAC-SHA256(key, msg) as 64 lower-case hex characters + NUL. */
void cd_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
                        size_t msglen, char out[65]);
/* Constant-time equality of two byte strings of length n. */
int cd_ct_equal(const void *a, const void *b, size_t n);

/* Parses a base-10 integer in [min, max] taking the whole string. */
int cd_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* "$12.34", "-$0.05", "€1.00"; other currencies "12.34 CHF" style when the
 * symbol is unknown (ASCII letters upper-cased). Two minor digits.
 * Safe for any outsz and any currency string: a display that does not fit
 * is cut on a character boundary (cd_utf8_cut); outsz 0 writes nothing.
 * Returns out. */
char *cd_money_display(int64_t minor, const char *currency, char *out,
                       size_t outsz);

/* a + b into *out unless the result would leave [-CD_BALANCE_LIMIT,
 * CD_BALANCE_LIMIT]; returns 0, or -1 leaving *out alone. */
int cd_balance_add(int64_t a, int64_t b, int64_t *out);

/* The length of the longest prefix of s of at most max bytes that does
 * not end inside a multi-byte UTF-8 character: the one place a string is
 * cut to a byte count. Use it for every cut of an outside string, e.g.
 * printf("%.*s", (int)cd_utf8_cut(s, 80), s), or on a buffer snprintf
 * truncated: buf[cd_utf8_cut(buf, len)] = '\0'. A NUL before max ends s.
 * Bytes that are not UTF-8 are left as they are. */
size_t cd_utf8_cut(const char *s, size_t max);

/* Copies at most outsz-1 bytes and always terminates; when src does not
 * fit it is cut on a character boundary (cd_utf8_cut) and -1 returned. */
int cd_strlcpy(char *out, const char *src, size_t outsz);

#endif
