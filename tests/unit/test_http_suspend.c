/*
 * test_http_suspend.c - answering later, through a real server on
 * loopback: a handler that suspends its request and completes it from
 * another thread (after it returned, or before), in the event-loop mode
 * and in the thread-per-connection mode; a request the app offloads runs
 * on a worker while the event-loop thread keeps answering others; and
 * cd_http_stop with offloaded requests still queued lets them finish.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "http/server.h"
#include "util/util.h"

#include "http_fixture.h"

/* The request a /late handler parked, and what the test tells a blocked
 * /block handler; under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct cd_req *parked;
static int released;          /* /block handlers may return */
static int blocked;           /* /block handlers waiting */
static int block_runs;        /* /block handlers that returned */
static pthread_t loop_thread; /* where the last GET /x ran */
static int offloads; /* requests the server asked offload_posts about */

static void handle_x(struct cd_req *req)
{
    loop_thread = pthread_self();
    cd_reply(req, 200, "text/plain", "x", 1);
}

/* Parks the request for the test to complete. */
static void handle_late(struct cd_req *req)
{
    cd_req_suspend(req);
    pthread_mutex_lock(&mu);
    parked = req;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void *complete_now(void *arg)
{
    struct cd_req *req = arg;

    cd_reply(req, 201, "text/plain", "early", 5);
    cd_req_resume(req);
    return NULL;
}

/* Completes from another thread before it returns. */
static void handle_early(struct cd_req *req)
{
    pthread_t t;

    cd_req_suspend(req);
    assert_int_equal(pthread_create(&t, NULL, complete_now, req), 0);
    pthread_join(t, NULL);
}

/* Blocks (on a worker) until the test releases it. */
static void handle_block(struct cd_req *req)
{
    int on_loop = pthread_equal(pthread_self(), loop_thread);

    pthread_mutex_lock(&mu);
    blocked++;
    pthread_cond_broadcast(&cv);
    while (!released)
        pthread_cond_wait(&cv, &mu);
    block_runs++;
    pthread_mutex_unlock(&mu);
    cd_reply(req, 200, "text/plain", on_loop ? "loop" : "worker",
             on_loop ? 4 : 6);
}

static int offload_posts(const struct cd_req *req)
{
    pthread_mutex_lock(&mu);
    offloads++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return strcmp(req->method, "POST") == 0;
}

static const struct cd_route routes[] = {
    {"GET", "/x", handle_x, 0, 0},
    {"GET", "/late", handle_late, 0, 0},
    {"GET", "/early", handle_early, 0, 0},
    {"POST", "/block", handle_block, 0, 0},
};

static struct cd_http_server *start(unsigned loops)
{
    struct cd_http_config c = {.routes = routes,
                               .nroutes = CD_ARRAY_LEN(routes),
                               .pool_threads = loops,
                               .workers = 2,
                               .offload = offload_posts};
    struct cd_http_server *s = hf_start(&c);

    pthread_mutex_lock(&mu);
    parked = NULL;
    released = blocked = block_runs = offloads = 0;
    pthread_mutex_unlock(&mu);
    return s;
}

static void late_reply(unsigned loops)
{
    struct cd_http_server *s = start(loops);
    char buf[2048];
    struct cd_req *req;
    int fd = hf_send(cd_http_port(s), "GET", "/late");

    pthread_mutex_lock(&mu);
    while (!parked)
        pthread_cond_wait(&cv, &mu);
    req = parked;
    pthread_mutex_unlock(&mu);
    /* Suspended: no reply, and the server answers others meanwhile. */
    hf_assert_silent(fd, 100);
    hf_read_reply(hf_send(cd_http_port(s), "GET", "/x"), buf, sizeof(buf));
    assert_non_null(strstr(buf, "200 OK"));
    hf_assert_silent(fd, 0);
    cd_reply(req, 202, "text/plain", "later", 5);
    cd_req_resume(req);
    hf_read_reply(fd, buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 202"));
    assert_non_null(strstr(buf, "Request-Id: req_"));
    assert_non_null(strstr(buf, "\r\n\r\nlater"));
    cd_http_stop(s);
}

static void test_late_reply_event_loop(void **state)
{
    (void)state;
    late_reply(1);
}

static void test_late_reply_thread_per_connection(void **state)
{
    (void)state;
    late_reply(0);
}

static void test_completion_before_handler_returns(void **state)
{
    char buf[2048];

    (void)state;
    for (unsigned loops = 0; loops <= 2; loops += 2) {
        struct cd_http_server *s = start(loops);

        hf_read_reply(hf_send(cd_http_port(s), "GET", "/early"), buf,
                      sizeof(buf));
        assert_non_null(strstr(buf, "HTTP/1.1 201"));
        assert_non_null(strstr(buf, "\r\n\r\nearly"));
        cd_http_stop(s);
    }
}

/* One event-loop thread: while two offloaded POSTs block their workers,
 * GETs are still answered; the POSTs ran on workers. */
static void test_offload_keeps_loop_free(void **state)
{
    struct cd_http_server *s = start(1);
    char buf[2048];
    int a, b;

    (void)state;
    hf_read_reply(hf_send(cd_http_port(s), "GET", "/x"), buf, sizeof(buf));
    a = hf_send(cd_http_port(s), "POST", "/block");
    b = hf_send(cd_http_port(s), "POST", "/block");
    pthread_mutex_lock(&mu);
    while (blocked < 2)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 3; i++) {
        hf_read_reply(hf_send(cd_http_port(s), "GET", "/x"), buf,
                      sizeof(buf));
        assert_non_null(strstr(buf, "200 OK"));
    }
    hf_assert_silent(a, 0);
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    hf_read_reply(a, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\n\r\nworker"));
    hf_read_reply(b, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\n\r\nworker"));
    cd_http_stop(s);
}

/* Stopping with more offloaded requests than workers: every one still
 * runs (and resumes) before the daemon stops. */
static void test_stop_runs_queued_work(void **state)
{
    struct cd_http_server *s = start(1);
    int fds[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        fds[i] = hf_send(cd_http_port(s), "POST", "/block");
    pthread_mutex_lock(&mu);
    /* both workers busy, all four offloaded: two are queued */
    while (blocked < 2 || offloads < 4)
        pthread_cond_wait(&cv, &mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    cd_http_stop(s);
    assert_int_equal(block_runs, 4);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_reply_event_loop),
        cmocka_unit_test(test_late_reply_thread_per_connection),
        cmocka_unit_test(test_completion_before_handler_returns),
        cmocka_unit_test(test_offload_keeps_loop_free),
        cmocka_unit_test(test_stop_runs_queued_work),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
