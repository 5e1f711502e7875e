/*
 * test_http_defer.c - a reply built from a completion (cd_req_defer,
 * cd_req_complete), through a real server on loopback: the handler
 * defers and returns, another thread completes, and finish builds the
 * reply on an HTTP thread - never the completing one - in the event-loop
 * mode (on the loop or on a worker) and in the thread-per-connection
 * mode; a client that went away before the completion still gets its
 * finish run once (its reply dropped, what it owned freed); and
 * cd_http_stop waits for a deferred request to complete, while
 * cd_http_stop_within gives up on one at its bound (a completion that
 * never comes: a stalled database writer) and frees nothing; a handler
 * that hands the rest of its request to a worker (cd_req_offload) gets
 * it run there from the event loop, and in place where it may block
 * already.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/server.h"
#include "util/util.h"

#include "http_fixture.h"

/* The request a handler deferred, and what finish saw; under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct cd_req *parked;
static char *parked_state; /* malloc'd by the handler, freed by finish */
static int finishes;
static pthread_t finish_thread;

static void handle_defer(struct cd_req *req)
{
    char *state = strdup("deferred");

    assert_non_null(state);
    cd_req_defer(req);
    pthread_mutex_lock(&mu);
    parked = req;
    parked_state = state;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void finish(struct cd_req *req, void *arg)
{
    assert_string_equal(arg, "arg");
    pthread_mutex_lock(&mu);
    cd_reply(req, 201, "text/plain", parked_state, strlen(parked_state));
    free(parked_state);
    parked_state = NULL;
    finish_thread = pthread_self();
    finishes++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* cd_req_offload: the handler's thread and the rest's. */
static pthread_t handler_thread, rest_thread;

static void rest(struct cd_req *req, void *arg)
{
    assert_string_equal(arg, "arg");
    rest_thread = pthread_self();
    cd_reply(req, 202, "text/plain", "rest", 4);
}

static void handle_offload(struct cd_req *req)
{
    handler_thread = pthread_self();
    cd_req_offload(req, rest, "arg");
}

static const struct cd_route routes[] = {
    {"GET", "/defer", handle_defer, 0, 0},
    {"POST", "/defer", handle_defer, 0, 0},
    {"GET", "/offload", handle_offload, 0, 0},
    {"POST", "/offload", handle_offload, 0, 0},
};

static struct cd_http_server *start(unsigned loops)
{
    struct cd_http_config c = {.routes = routes,
                               .nroutes = CD_ARRAY_LEN(routes),
                               .pool_threads = loops,
                               .workers = 2,
                               .offload = hf_offload_posts};
    struct cd_http_server *s = hf_start(&c);

    pthread_mutex_lock(&mu);
    parked = NULL;
    finishes = 0;
    pthread_mutex_unlock(&mu);
    return s;
}

static struct cd_req *wait_parked(void)
{
    struct cd_req *req;

    pthread_mutex_lock(&mu);
    while (!parked)
        pthread_cond_wait(&cv, &mu);
    req = parked;
    parked = NULL;
    pthread_mutex_unlock(&mu);
    return req;
}

/* Waits (up to HF_WAIT_MS) for n finishes; returns how many ran. */
static int wait_finishes(int n)
{
    int64_t end = cd_mono_us() + HF_WAIT_MS * 1000LL;
    int got;

    pthread_mutex_lock(&mu);
    while (finishes < n && cd_mono_us() < end) {
        pthread_mutex_unlock(&mu);
        poll(NULL, 0, 5);
        pthread_mutex_lock(&mu);
    }
    got = finishes;
    pthread_mutex_unlock(&mu);
    return got;
}

/* The completing thread: stands for the store's writer. */
static void *complete_thread(void *arg)
{
    cd_req_complete(arg, finish, "arg");
    return NULL;
}

static void complete_from_thread(struct cd_req *req, pthread_t *t)
{
    assert_int_equal(pthread_create(t, NULL, complete_thread, req), 0);
}

static void defer_reply(unsigned loops, const char *method)
{
    struct cd_http_server *s = start(loops);
    char buf[2048];
    int fd = hf_send(cd_http_port(s), method, "/defer");
    struct cd_req *req = wait_parked();
    pthread_t t;

    hf_assert_silent(fd, 50); /* deferred: no reply yet */
    complete_from_thread(req, &t);
    hf_read_reply(fd, buf, sizeof(buf));
    pthread_join(t, NULL);
    assert_non_null(strstr(buf, "HTTP/1.1 201"));
    assert_non_null(strstr(buf, "Request-Id: req_"));
    assert_non_null(strstr(buf, "\r\n\r\ndeferred"));
    pthread_mutex_lock(&mu);
    assert_int_equal(finishes, 1);
    /* finish ran on an HTTP thread, not on the completing one */
    assert_false(pthread_equal(finish_thread, t));
    pthread_mutex_unlock(&mu);
    cd_http_stop(s);
}

static void test_defer_event_loop(void **state)
{
    (void)state;
    defer_reply(1, "GET");
}

static void test_defer_offloaded(void **state)
{
    (void)state;
    defer_reply(2, "POST");
}

static void test_defer_thread_per_connection(void **state)
{
    (void)state;
    defer_reply(0, "GET");
}

/* A handler hands the rest of its request to a worker: on the event
 * loop the rest runs on another thread; on a worker already, or with a
 * thread per connection, right there. The reply is the rest's. */
static void test_offload_rest(void **state)
{
    static const struct {
        unsigned loops;
        const char *method;
        int elsewhere;
    } cases[] = {{1, "GET", 1}, {2, "POST", 0}, {0, "GET", 0}};

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(cases); i++) {
        struct cd_http_server *s = start(cases[i].loops);
        char buf[2048];

        hf_read_reply(hf_send(cd_http_port(s), cases[i].method, "/offload"),
                      buf, sizeof(buf));
        cd_http_stop(s);
        assert_non_null(strstr(buf, "HTTP/1.1 202"));
        assert_non_null(strstr(buf, "\r\n\r\nrest"));
        assert_int_equal(!pthread_equal(handler_thread, rest_thread),
                         cases[i].elsewhere);
    }
}

/* The client closes before the completion: finish still runs, once. */
static void test_defer_client_gone(void **state)
{
    (void)state;
    for (unsigned loops = 0; loops <= 1; loops++) {
        struct cd_http_server *s = start(loops);
        int fd = hf_send(cd_http_port(s), loops ? "POST" : "GET", "/defer");
        struct cd_req *req = wait_parked();
        pthread_t t;

        close(fd);
        complete_from_thread(req, &t);
        pthread_join(t, NULL);
        assert_int_equal(wait_finishes(1), 1);
        cd_http_stop(s);
        pthread_mutex_lock(&mu);
        assert_int_equal(finishes, 1);
        assert_null(parked_state);
        pthread_mutex_unlock(&mu);
    }
}

struct stopper {
    struct cd_http_server *s;
    int stopped;
    int finishes_at_stop;
};

static void *stop_thread(void *arg)
{
    struct stopper *st = arg;

    cd_http_stop(st->s);
    pthread_mutex_lock(&mu);
    st->finishes_at_stop = finishes;
    st->stopped = 1;
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* cd_http_stop with a request deferred: it waits for the completion and
 * its finish (a drain before it - cd_http_drain - waits for the reply to
 * be sent). */
static void test_stop_waits_for_deferred(void **state)
{
    struct stopper st = {0};
    struct cd_req *req;
    pthread_t stopper, t;
    int fd;

    (void)state;
    st.s = start(1);
    fd = hf_send(cd_http_port(st.s), "POST", "/defer");
    req = wait_parked();
    assert_int_equal(pthread_create(&stopper, NULL, stop_thread, &st), 0);
    poll(NULL, 0, 100); /* a check that stop does NOT return meanwhile */
    pthread_mutex_lock(&mu);
    assert_int_equal(st.stopped, 0);
    pthread_mutex_unlock(&mu);
    complete_from_thread(req, &t);
    pthread_join(t, NULL);
    pthread_join(stopper, NULL);
    assert_int_equal(st.finishes_at_stop, 1);
    close(fd);
}

/* A completion that never comes (the store's writer stalled):
 * cd_http_stop_within returns at its bound, says how many it abandoned
 * and frees nothing - the request and its connection are still usable,
 * so a completion arriving later is safe; a later cd_http_stop then
 * stops as usual. */
static void test_stop_within_bound(void **state)
{
    struct cd_http_server *s;
    struct cd_req *req;
    pthread_t t;
    int64_t t0;
    char buf[2048];
    int fd;

    (void)state;
    for (unsigned loops = 0; loops <= 1; loops++) {
        s = start(loops);
        fd = hf_send(cd_http_port(s), loops ? "POST" : "GET", "/defer");
        req = wait_parked();
        t0 = cd_mono_us();
        assert_int_equal(cd_http_stop_within(s, 200), 1);
        assert_true(cd_mono_us() - t0 >= 200 * 1000);
        /* It returned at all, having abandoned the one request; the
         * upper bound only catches a stop that waited on, and is
         * generous for a loaded machine. */
        assert_true(cd_mono_us() - t0 < 20 * 1000000);
        pthread_mutex_lock(&mu);
        assert_int_equal(finishes, 0);
        pthread_mutex_unlock(&mu);
        /* Late, but nothing was freed under it. */
        complete_from_thread(req, &t);
        pthread_join(t, NULL);
        assert_int_equal(wait_finishes(1), 1);
        /* Answered and closed (the request asked for a close) before the
         * stop: no connection of it is left to libmicrohttpd. */
        hf_read_reply(fd, buf, sizeof(buf));
        assert_non_null(strstr(buf, "HTTP/1.1 "));
        cd_http_stop(s);
    }
    /* Nothing deferred: stopped at once, 0 abandoned. */
    s = start(1);
    assert_int_equal(cd_http_stop_within(s, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defer_event_loop),
        cmocka_unit_test(test_defer_offloaded),
        cmocka_unit_test(test_defer_thread_per_connection),
        cmocka_unit_test(test_defer_client_gone),
        cmocka_unit_test(test_offload_rest),
        cmocka_unit_test(test_stop_waits_for_deferred),
        cmocka_unit_test(test_stop_within_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
