/*
 * test_http_server.c - the reply functions of http/server.c, without a
 * socket: a missing body (out of memory) is a 500 internal_error that
 * nothing stores, never an empty success; the error shape carries the
 * request id; a message is kept on one line and valid UTF-8.
 *
 * jansson's allocator is swapped for one that fails on demand, so the
 * out-of-memory paths run for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/server.h"
#include "util/util.h"

#define TEST_ID "req_TestTestTest1234"

static int json_alloc_fails; /* jansson's allocations fail while set */

static void *test_json_malloc(size_t n)
{
    return json_alloc_fails ? NULL : malloc(n);
}

static void test_json_free(void *p)
{
    free(p);
}

static void req_init(struct cd_req *r)
{
    memset(r, 0, sizeof(*r));
    r->method = "POST";
    r->path = "/v1/grants";
    cd_strlcpy(r->id, TEST_ID, sizeof(r->id));
}

static void req_free(struct cd_req *r)
{
    free(r->resp_body);
    r->resp_body = NULL;
}

/* The "error" object of the reply (a new reference), after checking the
 * reply is JSON. */
static json_t *reply_error(const struct cd_req *r)
{
    json_t *doc, *err;

    assert_string_equal(r->content_type, "application/json");
    assert_non_null(r->resp_body);
    doc = json_loadb(r->resp_body, r->resp_len, 0, NULL);
    assert_non_null(doc);
    err = json_object_get(doc, "error");
    assert_non_null(err);
    json_incref(err);
    json_decref(doc);
    return err;
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

static void test_json_null_body_is_500(void **state)
{
    struct cd_req r;
    json_t *err;

    (void)state;
    req_init(&r);
    cd_reply_json(&r, 201, NULL);
    assert_int_equal(r.status, 500);
    err = reply_error(&r);
    assert_string_equal(str_of(err, "type"), "api_error");
    assert_string_equal(str_of(err, "code"), "internal_error");
    assert_string_equal(str_of(err, "request_id"), TEST_ID);
    json_decref(err);
    req_free(&r);
}

static void test_json_dump_out_of_memory_is_500(void **state)
{
    struct cd_req r;
    json_t *body = json_pack("{s:s,s:i}", "transaction_id", "txn_1",
                             "balance", 5);
    json_t *err;

    (void)state;
    assert_non_null(body);
    req_init(&r);
    json_alloc_fails = 1; /* json_dumps, and the error object, fail */
    cd_reply_json(&r, 201, body);
    json_alloc_fails = 0;
    assert_int_equal(r.status, 500);
    err = reply_error(&r);
    assert_string_equal(str_of(err, "code"), "internal_error");
    assert_string_equal(str_of(err, "request_id"), TEST_ID);
    json_decref(err);
    req_free(&r);
}

static void test_error_out_of_memory_is_500(void **state)
{
    struct cd_req r;
    json_t *err;

    (void)state;
    req_init(&r);
    json_alloc_fails = 1;
    cd_reply_errorf(&r, CD_EK_CONFLICT, "email_taken", "email",
                    "this email has an account");
    json_alloc_fails = 0;
    assert_int_equal(r.status, 500);
    err = reply_error(&r);
    assert_string_equal(str_of(err, "code"), "internal_error");
    json_decref(err);
    req_free(&r);
}

static void test_error_shape(void **state)
{
    struct cd_req r;
    json_t *err;

    (void)state;
    req_init(&r);
    cd_reply_errorf(&r, CD_EK_NOT_FOUND, "account_not_found", "account",
                    "no account %s", "acct_1\r\nX-Evil: 1\x1b[2J");
    assert_int_equal(r.status, 404);
    err = reply_error(&r);
    assert_string_equal(str_of(err, "type"), "not_found");
    assert_string_equal(str_of(err, "code"), "account_not_found");
    assert_string_equal(str_of(err, "param"), "account");
    assert_string_equal(str_of(err, "message"),
                        "no account acct_1  X-Evil: 1 [2J");
    assert_string_equal(str_of(err, "request_id"), TEST_ID);
    json_decref(err);
    req_free(&r);
}

static void test_error_invalid_utf8_keeps_message(void **state)
{
    struct cd_req r;
    json_t *err;

    (void)state;
    req_init(&r);
    cd_reply_errorf(&r, CD_EK_INVALID, "invalid_param", "email",
                    "bad email '%s'", "a\xff\xfe@b.c");
    assert_int_equal(r.status, 400);
    err = reply_error(&r);
    assert_string_equal(str_of(err, "message"), "bad email 'a??@b.c'");
    json_decref(err);
    req_free(&r);
}

static void test_error_without_id_has_no_request_id(void **state)
{
    struct cd_req r;
    json_t *err;

    (void)state;
    req_init(&r);
    r.id[0] = '\0';
    cd_reply_errorf(&r, CD_EK_AUTH, "unauthorized", NULL, "no token");
    err = reply_error(&r);
    assert_null(json_object_get(err, "request_id"));
    assert_null(json_object_get(err, "param"));
    json_decref(err);
    req_free(&r);
}

static void test_json_and_plain_replies(void **state)
{
    struct cd_req r;

    (void)state;
    req_init(&r);
    cd_reply_json(&r, 201, json_pack("{s:i}", "balance", 7));
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(r.resp_len, strlen("{\"balance\":7}"));
    assert_memory_equal(r.resp_body, "{\"balance\":7}", r.resp_len);
    /* A later reply replaces (and frees) the earlier one. */
    cd_reply(&r, 204, NULL, NULL, 0);
    assert_int_equal(r.status, 204);
    assert_null(r.resp_body);
    assert_int_equal(r.resp_len, 0);
    assert_string_equal(cd_req_id(&r), TEST_ID);
    req_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_null_body_is_500),
        cmocka_unit_test(test_json_dump_out_of_memory_is_500),
        cmocka_unit_test(test_error_out_of_memory_is_500),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_error_invalid_utf8_keeps_message),
        cmocka_unit_test(test_error_without_id_has_no_request_id),
        cmocka_unit_test(test_json_and_plain_replies),
    };

    json_set_alloc_funcs(test_json_malloc, test_json_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
