/*
 * http_client.h - a minimal HTTP/1.1 client for the unit tests that talk
 * to a real server on loopback (test_http_routes, test_api_dispatch): one
 * request per connection (Connection: close), the whole reply read within
 * 20 s (generous, as http_fixture.h's HF_WAIT_MS), its status, head and
 * body split apart. Every function is static inline so a test that uses
 * only some of them builds warning-free.
 */
#ifndef CD_TEST_HTTP_CLIENT_H
#define CD_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "util/util.h"

struct tc_reply {
    int status;
    char head[8192]; /* status line and headers, NUL-terminated */
    char *body;      /* into raw, after the blank line */
    size_t body_len;
    char raw[65536];
};

static inline int tc_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static inline void tc_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k <= 0)
            return; /* the server may refuse before reading it all */
        p += k;
        n -= (size_t)k;
    }
}

/* Reads until the server closes (20 s at most) and splits the reply. */
static inline void tc_read(int fd, struct tc_reply *r)
{
    size_t got = 0;
    int64_t end = cd_mono_us() + 20000000;
    char *sep;

    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)((end - cd_mono_us()) / 1000);
        ssize_t n;

        assert_true(left > 0 && poll(&p, 1, left) == 1);
        n = recv(fd, r->raw + got, sizeof(r->raw) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        assert_true(got < sizeof(r->raw) - 1);
    }
    close(fd);
    r->raw[got] = '\0';
    assert_int_equal(sscanf(r->raw, "HTTP/1.1 %d", &r->status), 1);
    sep = strstr(r->raw, "\r\n\r\n");
    assert_non_null(sep);
    assert_true((size_t)(sep - r->raw) < sizeof(r->head));
    memcpy(r->head, r->raw, (size_t)(sep - r->raw));
    r->head[sep - r->raw] = '\0';
    r->body = sep + 4;
    r->body_len = got - (size_t)(r->body - r->raw);
}

/* One request: headers is "" or lines each ending "\r\n"; body NULL for
 * none (Content-Length: 0 is still sent). */
static inline void tc_request(int port, const char *method, const char *path,
                              const char *headers, const char *body,
                              struct tc_reply *r)
{
    char head[8192];
    size_t blen = body ? strlen(body) : 0;
    int fd = tc_connect(port), n;

    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 "%sContent-Length: %zu\r\n\r\n",
                 method, path, headers ? headers : "", blen);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    tc_send_all(fd, head, (size_t)n);
    if (blen)
        tc_send_all(fd, body, blen);
    tc_read(fd, r);
}

/* The value of header name in the reply (first one), copied into out;
 * NULL when absent. */
static inline const char *tc_header(const struct tc_reply *r,
                                    const char *name, char *out, size_t outsz)
{
    const char *p = strstr(r->head, "\r\n");
    size_t n = strlen(name);

    while (p && p[2]) {
        const char *line = p + 2, *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);

        if (len > n + 1 && strncasecmp(line, name, n) == 0 &&
            line[n] == ':') {
            const char *v = line + n + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outsz, "%.*s", (int)(len - (size_t)(v - line)), v);
            return out;
        }
        p = eol;
    }
    return NULL;
}

/* error.<key> of a JSON error reply, copied into out ("" when absent). */
static inline const char *tc_error_field(const struct tc_reply *r,
                                         const char *key, char *out,
                                         size_t outsz)
{
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *v = json_object_get(json_object_get(doc, "error"), key);

    snprintf(out, outsz, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(doc);
    return out;
}

/* The reply is want_status with error.code want_code (NULL: any). */
static inline void tc_expect(const struct tc_reply *r, int want_status,
                             const char *want_code)
{
    char code[64];

    tc_error_field(r, "code", code, sizeof(code));
    if (r->status != want_status ||
        (want_code && strcmp(code, want_code) != 0))
        fail_msg("want %d %s, got %d: %.300s", want_status,
                 want_code ? want_code : "", r->status, r->body);
}

#endif
