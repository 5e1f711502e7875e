/*
 * test_http_routes.c - routing and the checks on a request head
 * (http/server_req.c, http/head.c) and what every reply carries (http/reply.c,
 * send_reply in server.c), through a real server on loopback:
 *   - a route is its method and pattern: HEAD reaches a GET route; a known
 *     path with another method is 405 method_not_allowed with an Allow
 *     header naming the path's methods; an unknown path is 404 not_found,
 *     or the fallback when one is set;
 *   - "{}" captures one non-empty, percent-decoded segment (at most
 *     CD_HTTP_PARAM_MAX - 1 bytes), "*" the rest of the path;
 *   - a control byte in the decoded path (%00 too) is 400 invalid_path;
 *   - a body over the route's cap is 413 body_too_large, at once when the
 *     client waits for 100 Continue; a head over 32 KiB is 431;
 *     Transfer-Encoding other than a lone chunked is 400/501; a field
 *     name that is not a token is 400 invalid_header, one of HTTP's
 *     fields that may come once sent twice 400 duplicate_header (an app
 *     names its own: cd_req_refuse_repeated); cd_req_header_values keeps
 *     every line of a list field, the last max of them;
 *   - every reply has Request-Id (the error's request_id), nosniff and
 *     Cache-Control: no-store unless a success sets its own; the error
 *     body is {"error":{type, code, message, param?, request_id}} and
 *     cd_reply_error_with adds one field; Retry-After from the error.
 * The server does not look at a request's Content-Type: the API reads
 * its body as JSON whatever it is labelled (api/helpers.c cd_api_body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/server.h"
#include "util/log.h"
#include "util/util.h"

#include "http_fixture.h"

static void handle_list(struct cd_req *req)
{
    cd_reply(req, 200, "text/plain", "list", 4);
}

static void handle_create(struct cd_req *req)
{
    char n[32];
    int len = snprintf(n, sizeof(n), "%zu", req->body_len);

    cd_reply(req, 201, "text/plain", n, (size_t)len);
}

/* The captured params, joined by '|'. */
static void handle_params(struct cd_req *req)
{
    char out[4 * CD_HTTP_PARAM_MAX + 8] = "";

    for (int i = 0; i < req->nparams; i++) {
        if (i)
            strcat(out, "|");
        strcat(out, req->params[i]);
    }
    cd_reply(req, 200, "text/plain", out, strlen(out));
}

static void handle_cached(struct cd_req *req)
{
    cd_reply(req, 200, "text/plain", "c", 1);
    cd_reply_header(req, "Cache-Control", "max-age=60");
    cd_reply_header(req, "X-Extra", "yes");
}

static void handle_conflict(struct cd_req *req)
{
    struct cd_error e;

    cd_error_set(&e, CD_EK_CONFLICT, "thing_taken", "name",
                 "that name is taken");
    e.retry_after = 3;
    cd_reply_header(req, "Cache-Control", "max-age=60"); /* dropped */
    cd_reply_error_with(req, &e, "existing_id", "thing_1");
}

/* The X-List lines, the last 2 of them, as "count:first|second". */
static void handle_lines(struct cd_req *req)
{
    static const char *const once[] = {"X-Once", NULL};
    const char *v[2] = {"", ""};
    char out[256];
    int n;

    if (cd_req_refuse_repeated(req, once))
        return;
    n = cd_req_header_values(req, "x-list", v, 2);
    snprintf(out, sizeof(out), "%d:%s|%s", n, v[0], v[1]);
    cd_reply(req, 200, "text/plain", out, strlen(out));
}

static void handle_fallback(struct cd_req *req)
{
    cd_reply(req, 200, "text/plain", "fallback", 8);
}

static const struct cd_route routes[] = {
    {"GET", "/items", handle_list, 0, 0},
    {"POST", "/items", handle_create, 0, 0},
    {"GET", "/items/{}", handle_params, 0, 0},
    {"DELETE", "/items/{}", handle_params, 0, 0},
    {"GET", "/items/{}/parts/{}", handle_params, 0, 0},
    {"GET", "/files/*", handle_list, 0, 0},
    {"POST", "/small", handle_create, 0, 16},
    {"GET", "/cached", handle_cached, 0, 0},
    {"POST", "/conflict", handle_conflict, 0, 0},
    {"GET", "/lines", handle_lines, 0, 0},
};

static struct cd_http_server *start(int with_fallback)
{
    struct cd_http_config c = {.routes = routes,
                               .nroutes = CD_ARRAY_LEN(routes),
                               .pool_threads = 1,
                               .fallback = with_fallback ? handle_fallback
                                                         : NULL};

    return hf_start(&c);
}

static void get(struct cd_http_server *s, const char *method,
                const char *path, struct tc_reply *r)
{
    tc_request(cd_http_port(s), method, path, "", NULL, r);
}

static void expect_body(const struct tc_reply *r, int status,
                        const char *body)
{
    if (r->status != status || r->body_len != strlen(body) ||
        memcmp(r->body, body, r->body_len) != 0)
        fail_msg("want %d \"%s\", got %d \"%.200s\"", status, body, r->status,
                 r->body);
}

static void test_method_and_path(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;
    char allow[128];

    (void)state;
    get(s, "GET", "/items", &r);
    expect_body(&r, 200, "list");
    get(s, "HEAD", "/items", &r);
    expect_body(&r, 200, "");
    get(s, "POST", "/items", &r);
    expect_body(&r, 201, "0");
    get(s, "PUT", "/items", &r);
    tc_expect(&r, 405, "method_not_allowed");
    assert_non_null(tc_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD, POST");
    get(s, "POST", "/items/7", &r);
    tc_expect(&r, 405, "method_not_allowed");
    assert_non_null(tc_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD, DELETE");
    get(s, "GET", "/nope", &r);
    tc_expect(&r, 404, "not_found");
    assert_null(tc_header(&r, "Allow", allow, sizeof(allow)));
    /* exact: no trailing slash, no prefix, no empty segment */
    get(s, "GET", "/items/", &r);
    tc_expect(&r, 404, "not_found");
    get(s, "GET", "/items/7/", &r);
    tc_expect(&r, 404, "not_found");
    get(s, "GET", "/itemsx", &r);
    tc_expect(&r, 404, "not_found");
    get(s, "GET", "/items//parts/1", &r);
    tc_expect(&r, 404, "not_found");
    cd_http_stop(s);
}

static void test_params(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;
    char path[2 * CD_HTTP_PARAM_MAX];

    (void)state;
    get(s, "GET", "/items/a%20b", &r);
    expect_body(&r, 200, "a b");
    get(s, "GET", "/items/x/parts/y", &r);
    expect_body(&r, 200, "x|y");
    get(s, "DELETE", "/items/it%2Fem", &r); /* %2F decodes before routing */
    tc_expect(&r, 404, "not_found");
    get(s, "GET", "/files/a/b/c.js", &r);
    expect_body(&r, 200, "list");
    /* a segment of CD_HTTP_PARAM_MAX - 1 bytes is captured; one more is
     * no match */
    snprintf(path, sizeof(path), "/items/%0*d", CD_HTTP_PARAM_MAX - 1, 0);
    get(s, "GET", path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, CD_HTTP_PARAM_MAX - 1);
    snprintf(path, sizeof(path), "/items/%0*d", CD_HTTP_PARAM_MAX, 0);
    get(s, "GET", path, &r);
    tc_expect(&r, 404, "not_found");
    cd_http_stop(s);
}

static void test_fallback(void **state)
{
    struct cd_http_server *s = start(1);
    static struct tc_reply r;

    (void)state;
    get(s, "GET", "/anything/else", &r);
    expect_body(&r, 200, "fallback");
    /* a known path with another method is still 405 */
    get(s, "PATCH", "/items", &r);
    tc_expect(&r, 405, "method_not_allowed");
    cd_http_stop(s);
}

static void test_control_bytes(void **state)
{
    struct cd_http_server *s = start(1);
    static struct tc_reply r;

    (void)state;
    get(s, "GET", "/items/a%00b", &r);
    tc_expect(&r, 400, "invalid_path");
    get(s, "GET", "/items/a%0Ab", &r);
    tc_expect(&r, 400, "invalid_path");
    get(s, "GET", "/files/x%7F", &r);
    tc_expect(&r, 400, "invalid_path");
    get(s, "GET", "/items/%C3%A9", &r); /* UTF-8 is not a control byte */
    expect_body(&r, 200, "\xc3\xa9");
    cd_http_stop(s);
}

/* raw bytes on one connection; the reply. */
static void raw(struct cd_http_server *s, const char *bytes,
                struct tc_reply *r)
{
    int fd = tc_connect(cd_http_port(s));

    tc_send_all(fd, bytes, strlen(bytes));
    tc_read(fd, r);
}

static void test_body_caps(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;
    static char big[CD_HTTP_API_BODY_MAX + 2];

    (void)state;
    tc_request(cd_http_port(s), "POST", "/small", "", "0123456789abcdef", &r);
    expect_body(&r, 201, "16");
    tc_request(cd_http_port(s), "POST", "/small", "", "0123456789abcdefg",
               &r);
    tc_expect(&r, 413, "body_too_large");
    memset(big, 'x', CD_HTTP_API_BODY_MAX);
    tc_request(cd_http_port(s), "POST", "/items", "", big, &r);
    expect_body(&r, 201, "65536");
    big[CD_HTTP_API_BODY_MAX] = 'x';
    tc_request(cd_http_port(s), "POST", "/items", "", big, &r);
    tc_expect(&r, 413, "body_too_large");
    /* waiting for 100 Continue: refused before any body byte */
    raw(s,
        "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n"
        "Expect: 100-continue\r\n\r\n",
        &r);
    tc_expect(&r, 413, "body_too_large");
    /* chunked bodies count too */
    raw(s,
        "POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "11\r\n0123456789abcdefg\r\n0\r\n\r\n",
        &r);
    tc_expect(&r, 413, "body_too_large");
    raw(s,
        "POST /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n",
        &r);
    expect_body(&r, 201, "3");
    cd_http_stop(s);
}

/* A head past libmicrohttpd's connection memory (32 KiB by default) is
 * refused by libmicrohttpd itself - 431, its own HTML body, not the API's
 * error shape - before any route runs; the server goes on. */
static void test_head_too_large(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;
    static char head[48 * 1024];
    int n;

    (void)state;
    n = snprintf(head, sizeof(head),
                 "GET /items HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\nX-Big: ");
    memset(head + n, 'a', 40 * 1024);
    memcpy(head + n + 40 * 1024, "\r\n\r\n", 5);
    raw(s, head, &r);
    assert_int_equal(r.status, 431);
    get(s, "GET", "/items", &r); /* the server still answers */
    expect_body(&r, 200, "list");
    cd_http_stop(s);
}

static void test_transfer_encoding(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;

    (void)state;
    raw(s,
        "POST /items HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n",
        &r);
    tc_expect(&r, 501, "unsupported_transfer_encoding");
    raw(s,
        "POST /items HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        &r);
    assert_int_equal(r.status, 400);
    raw(s,
        "POST /items HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: gzip\r\n\r\n",
        &r);
    assert_int_equal(r.status, 400);
    cd_http_stop(s);
}

static void test_field_names_and_repeats(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;

    (void)state;
    raw(s, "GET /lines HTTP/1.1\r\nHost: x\r\nX-Bad : 1\r\n\r\n", &r);
    tc_expect(&r, 400, "invalid_header");
    raw(s, "GET /lines HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n", &r);
    tc_expect(&r, 400, "invalid_header");
    raw(s,
        "GET /lines HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\n"
        "authorization: a\r\n\r\n",
        &r);
    tc_expect(&r, 400, "duplicate_header");
    raw(s, "GET /lines HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", &r);
    tc_expect(&r, 400, "duplicate_header");
    /* The app's own field, twice (refused by the handler here: no close
     * of its own, unlike a refusal from check_head). */
    raw(s,
        "GET /lines HTTP/1.1\r\nHost: x\r\nX-Once: 1\r\nX-Once: 1\r\n"
        "Connection: close\r\n\r\n",
        &r);
    tc_expect(&r, 400, "duplicate_header");
    /* A list field: every line, the last 2 kept. */
    raw(s,
        "GET /lines HTTP/1.1\r\nHost: x\r\nX-Once: 1\r\nX-List: a\r\n"
        "X-List: b\r\nx-list: c\r\nConnection: close\r\n\r\n",
        &r);
    expect_body(&r, 200, "3:b|c");
    raw(s,
        "GET /lines HTTP/1.1\r\nHost: x\r\nX-List: a, b\r\n"
        "Connection: close\r\n\r\n",
        &r);
    expect_body(&r, 200, "1:a, b|");
    cd_http_stop(s);
}

static void test_reply_headers_and_error_shape(void **state)
{
    struct cd_http_server *s = start(0);
    static struct tc_reply r;
    char v[128], id[64];
    json_t *doc, *err;

    (void)state;
    get(s, "GET", "/items", &r);
    assert_non_null(tc_header(&r, "Request-Id", id, sizeof(id)));
    assert_int_equal(strlen(id), 4 + 16);
    assert_memory_equal(id, "req_", 4);
    assert_string_equal(tc_header(&r, "Cache-Control", v, sizeof(v)),
                        "no-store");
    assert_string_equal(tc_header(&r, "X-Content-Type-Options", v, sizeof(v)),
                        "nosniff");
    assert_string_equal(tc_header(&r, "Content-Type", v, sizeof(v)),
                        "text/plain");
    /* a success may set its own caching and headers */
    get(s, "GET", "/cached", &r);
    assert_string_equal(tc_header(&r, "Cache-Control", v, sizeof(v)),
                        "max-age=60");
    assert_string_equal(tc_header(&r, "X-Extra", v, sizeof(v)), "yes");
    /* an error never is cached; its shape; its extra field */
    get(s, "POST", "/conflict", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(tc_header(&r, "Cache-Control", v, sizeof(v)),
                        "no-store");
    assert_string_equal(tc_header(&r, "Retry-After", v, sizeof(v)), "3");
    assert_string_equal(tc_header(&r, "Content-Type", v, sizeof(v)),
                        "application/json");
    doc = json_loadb(r.body, r.body_len, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 1);
    err = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(err, "type")),
                        "conflict");
    assert_string_equal(json_string_value(json_object_get(err, "code")),
                        "thing_taken");
    assert_string_equal(json_string_value(json_object_get(err, "param")),
                        "name");
    assert_string_equal(json_string_value(json_object_get(err, "message")),
                        "that name is taken");
    assert_string_equal(
        json_string_value(json_object_get(err, "existing_id")), "thing_1");
    tc_header(&r, "Request-Id", id, sizeof(id));
    assert_string_equal(json_string_value(json_object_get(err, "request_id")),
                        id);
    json_decref(doc);
    cd_http_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_and_path),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_body_caps),
        cmocka_unit_test(test_head_too_large),
        cmocka_unit_test(test_transfer_encoding),
        cmocka_unit_test(test_field_names_and_repeats),
        cmocka_unit_test(test_reply_headers_and_error_shape),
    };

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
