/*
 * test_util_log.c - what reaches a log line: every control byte (C0, DEL,
 * C1 and bytes that are not UTF-8) is written as the text \xNN, valid
 * UTF-8 passes, and one call is one line however long the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

/* Runs cd__log(level info, "test", "%s", msg) with stderr sent to a
 * temporary file; returns what was written (free it). */
static char *logged(const char *msg)
{
    FILE *tmp = tmpfile();
    int saved;
    long n;
    char *out;

    assert_non_null(tmp);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    cd__log(CD_LOG_INFO, "test", "%s", msg);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    n = lseek(fileno(tmp), 0, SEEK_END);
    assert_true(n > 0);
    out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    assert_int_equal(pread(fileno(tmp), out, (size_t)n, 0), n);
    fclose(tmp);
    return out;
}

/* The message part of a line: after "<ts> info  test     ". */
static const char *message_of(const char *line)
{
    const char *p = strstr(line, " test ");

    assert_non_null(p);
    p += strlen(" test ");
    while (*p == ' ')
        p++;
    return p;
}

static void test_control_bytes_escaped(void **state)
{
    char *line;

    (void)state;
    line = logged("G\x1b[2J\x1b[31mET\x07 /a\r\nforged line\tx\x7f\x01");
    assert_string_equal(message_of(line),
                        "G\\x1b[2J\\x1b[31mET\\x07 /a\\x0d\\x0aforged "
                        "line\\x09x\\x7f\\x01\n");
    free(line);
}

static void test_utf8_passes_c1_and_invalid_escaped(void **state)
{
    char *line;

    (void)state;
    /* é, €, 😀 pass; U+009B (CSI as UTF-8), a lone 0x9b, a truncated
     * sequence, an overlong '/' and a surrogate are escaped. */
    line = logged("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x9b \x9b "
                  "\xe2\x82 \xc0\xaf \xed\xa0\x80");
    assert_string_equal(message_of(line),
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                        "\\xc2\\x9b \\x9b \\xe2\\x82 \\xc0\\xaf "
                        "\\xed\\xa0\\x80\n");
    free(line);
}

static void test_one_line_when_long(void **state)
{
    char *msg = malloc(10000);
    char *line;

    (void)state;
    assert_non_null(msg);
    memset(msg, '\n', 9999);
    msg[9999] = '\0';
    line = logged(msg);
    assert_non_null(strchr(line, '\n'));
    assert_string_equal(strchr(line, '\n'), "\n"); /* only the last */
    assert_non_null(strstr(line, "\\x0a"));
    free(line);
    free(msg);
}

/* A background run's id: on every line from cd_log_begin_job() to
 * cd_log_end_job(), a fresh one per run, in text and JSON alike. */
static void test_job_id_on_lines(void **state)
{
    char first[48], want[64], *line;

    (void)state;
    line = logged("idle");
    assert_null(strstr(line, "job_id"));
    free(line);

    snprintf(first, sizeof(first), "%s", cd_log_begin_job());
    assert_int_equal(strlen(first), 4 + 24);
    assert_memory_equal(first, "job_", 4);
    line = logged("reconcile: events seen 3");
    snprintf(want, sizeof(want), "events seen 3 job_id=%s\n", first);
    assert_string_equal(message_of(line) + strlen("reconcile: "), want);
    free(line);
    cd_log_json = 1;
    line = logged("in json");
    snprintf(want, sizeof(want), ",\"job_id\":\"%s\"}\n", first);
    assert_non_null(strstr(line, want));
    free(line);
    cd_log_json = 0;
    assert_string_not_equal(cd_log_begin_job(), first);
    cd_log_end_job();
    line = logged("after");
    assert_null(strstr(line, "job_id"));
    free(line);
    cd_log_set_job_id(first);
    assert_string_equal(cd_log_job_id(), first);
    cd_log_set_job_id(NULL);
    assert_string_equal(cd_log_job_id(), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_bytes_escaped),
        cmocka_unit_test(test_utf8_passes_c1_and_invalid_escaped),
        cmocka_unit_test(test_one_line_when_long),
        cmocka_unit_test(test_job_id_on_lines),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
