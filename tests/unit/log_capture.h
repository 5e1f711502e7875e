/*
 * log_capture.h - what a unit test logs, read back: stderr goes to a
 * temporary file from log_capture_begin, at the log threshold the test
 * asks for, until log_capture_end restores both and hands back what was
 * written (test_billing_subscriptions: a module's name;
 * test_stripe_client: no secret in a line). Static inline, as
 * http_client.h.
 */
#ifndef CD_TEST_LOG_CAPTURE_H
#define CD_TEST_LOG_CAPTURE_H

#include <stdio.h>
#include <unistd.h>

#include "util/log.h"

struct log_capture {
    FILE *tmp;
    int saved;     /* stderr before */
    int threshold; /* cd_log_threshold before */
};

static inline void log_capture_begin(struct log_capture *c, int threshold)
{
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->tmp), 2) >= 0);
    c->threshold = cd_log_threshold;
    cd_log_threshold = threshold;
}

/* stderr and the threshold restored; what was logged in out (at most
 * outsz - 1 bytes, NUL-terminated); its length, > 0 (something was). */
static inline size_t log_capture_end(struct log_capture *c, char *out,
                                     size_t outsz)
{
    ssize_t n;

    cd_log_threshold = c->threshold;
    fflush(stderr);
    assert_true(dup2(c->saved, 2) >= 0);
    close(c->saved);
    n = pread(fileno(c->tmp), out, outsz - 1, 0);
    fclose(c->tmp);
    assert_true(n > 0);
    out[n] = '\0';
    return (size_t)n;
}

#endif
