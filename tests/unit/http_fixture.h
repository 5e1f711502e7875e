/*
 * http_fixture.h - the HTTP server fixture of the unit tests that run a
 * real server on loopback (test_http_*, test_api_dispatch,
 * test_sandbox_api): the server started on a free port (hf_start), and
 * the raw-socket steps http_client.h's one-shot tc_request cannot take -
 * a request sent and its connection kept (hf_send), read later to the
 * server's close (hf_read_reply), a connection watched for a close
 * (hf_read_until_close) or for silence (hf_assert_silent).
 *
 * HF_WAIT_MS bounds whatever must happen (a reply, a close): generous,
 * since only a failing run waits it out - a loaded machine must not fail
 * a correct server. Every function is static inline, as in
 * http_client.h.
 */
#ifndef CD_TEST_HTTP_FIXTURE_H
#define CD_TEST_HTTP_FIXTURE_H

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "util/util.h"

#include "http_client.h"

#define HF_WAIT_MS 20000

/* Starts c - the routes, the mode and the caps the test set - on a free
 * loopback port, quiet; named "test" unless c names it. */
static inline struct cd_http_server *hf_start(struct cd_http_config *c)
{
    struct cd_error err;
    struct cd_http_server *s;

    if (!c->name)
        c->name = "test";
    c->listen = "127.0.0.1:0";
    c->quiet = 1;
    s = cd_http_start(c, &err);
    if (!s)
        fail_msg("cd_http_start: %s", err.message);
    return s;
}

/* The offload rule of the event-loop tests: POSTs go to the workers. */
static inline int hf_offload_posts(const struct cd_req *req)
{
    return strcmp(req->method, "POST") == 0;
}

/* Sends a whole bodiless request (Connection: close) and returns its
 * connection, for hf_read_reply or hf_read_until_close. */
static inline int hf_send(int port, const char *method, const char *path)
{
    char head[256];
    int fd = tc_connect(port);
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, path);

    assert_true(n > 0 && (size_t)n < sizeof(head));
    assert_int_equal(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/* Reads until the peer closes or ms pass: 1 closed, 0 still open (or out
 * full). What was read goes to out, NUL-terminated. */
static inline int hf_read_until_close(int fd, int ms, char *out, size_t outsz)
{
    int64_t end = cd_mono_us() + (int64_t)ms * 1000;
    size_t got = 0;

    out[0] = '\0';
    for (;;) {
        int left = (int)((end - cd_mono_us()) / 1000);
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        n = recv(fd, out + got, outsz - 1 - got, 0);
        if (n <= 0)
            return 1; /* EOF or a reset */
        got += (size_t)n;
        out[got] = '\0';
        if (got + 1 >= outsz)
            return 0;
    }
}

/* The whole reply, to the server's close (HF_WAIT_MS at most); closes
 * fd. */
static inline void hf_read_reply(int fd, char *out, size_t outsz)
{
    assert_int_equal(hf_read_until_close(fd, HF_WAIT_MS, out, outsz), 1);
    close(fd);
}

/* Nothing arrives on fd within ms (0: nothing has arrived). */
static inline void hf_assert_silent(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};

    assert_int_equal(poll(&p, 1, ms), 0);
}

#endif
