/*
 * test_sandbox_guard.c - what the sandbox lets in at all (guard.c): a
 * loopback Host on every request, no foreign Origin on a state-changing
 * one, and Content-Type: application/json on a control endpoint's body.
 * Each refusal is checked over loopback HTTP against a real sandbox, and
 * the session it aimed at must still be open afterwards; the requests the
 * sandbox must keep taking (creditd's API calls, its own checkout page's
 * form post, the tests' JSON calls) still work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "sandbox/internal.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#define KEY "sk_test_guard1234567890abcd"
#define JSON "application/json"
#define CARD "{\"card\":\"4242424242424242\"}"

static struct cd_sandbox *SB;
static char BASE[96]; /* http://127.0.0.1:PORT */
static char HOST[64]; /* 127.0.0.1:PORT */
static int HTTP10;    /* the next requests speak HTTP/1.0 */

static int setup(void **state)
{
    struct cd_sandbox_config sc;
    struct cd_error err;

    (void)state;
    cd_log_threshold = CD_LOG_WARN;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&sc, 0, sizeof(sc));
    sc.listen = "127.0.0.1:0";
    SB = cd_sandbox_start(&sc, &err);
    if (!SB) {
        fprintf(stderr, "sandbox: %s\n", err.message);
        return -1;
    }
    snprintf(HOST, sizeof(HOST), "127.0.0.1:%d", cd_sandbox_port(SB));
    snprintf(BASE, sizeof(BASE), "http://%s", HOST);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_sandbox_stop(SB);
    curl_global_cleanup();
    return 0;
}

/* ---- a small HTTP client ---- */

struct resp {
    long status;
    struct cd_buf body;
    json_t *json;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    return cd_buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

static void resp_free(struct resp *r)
{
    cd_buf_free(&r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/*
 * One request to the sandbox. hdrs: NULL-terminated "Name: value" lines
 * (may be NULL); "Host: x" replaces curl's Host. ctype NULL sends no
 * Content-Type at all. body NULL: none.
 */
static void req(struct resp *out, const char *method, const char *path,
                const char *const *hdrs, const char *ctype, const char *body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char url[512], line[256];

    memset(out, 0, sizeof(*out));
    cd_buf_init(&out->body, 1 << 20);
    snprintf(url, sizeof(url), "%s%s", BASE, path);
    for (; hdrs && *hdrs; hdrs++)
        hd = curl_slist_append(hd, *hdrs);
    snprintf(line, sizeof(line), "Content-Type:%s%s", ctype ? " " : "",
             ctype ? ctype : "");
    hd = curl_slist_append(hd, line);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    if (HTTP10)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    if (out->body.data && out->body.data[0] == '{')
        out->json = json_loadb(out->body.data, out->body.len, 0, NULL);
}

static const char *err_code(const struct resp *r)
{
    return json_string_value(
        json_object_get(json_object_get(r->json, "error"), "code"));
}

static const char *const AUTH[] = {"Authorization: Bearer " KEY, NULL};

/* A new open checkout session; its id into id (>= 128 bytes). */
static void new_session(char *id)
{
    struct resp r;

    req(&r, "POST", "/v1/checkout/sessions", AUTH,
        "application/x-www-form-urlencoded",
        "mode=payment&line_items[0][price_data][currency]=usd"
        "&line_items[0][price_data][unit_amount]=1000"
        "&line_items[0][price_data][product_data][name]=Top-up"
        "&line_items[0][quantity]=1"
        "&success_url=http%3A%2F%2F127.0.0.1%3A9%2Fok"
        "&cancel_url=http%3A%2F%2F127.0.0.1%3A9%2Fcancel");
    assert_int_equal(r.status, 200);
    cd_strlcpy(id, json_string_value(json_object_get(r.json, "id")), 128);
    resp_free(&r);
}

/* The session's status as the API reads it (with a good Host). */
static void expect_status(const char *id, const char *want)
{
    struct resp r;
    char path[256];

    snprintf(path, sizeof(path), "/v1/checkout/sessions/%s", id);
    req(&r, "GET", path, AUTH, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")),
                        want);
    resp_free(&r);
}

/* ---- Host ---- */

static void test_foreign_host_refused_everywhere(void **state)
{
    static const char *const hosts[] = {
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "10.0.0.1",
        "0.0.0.0",
        "192.168.1.1:80",
        "[::2]",
        "[::ffff:7f00:1]",
        "::1",
        "[::1",
        "[localhost]",
        "127.0.0.1:99999",
        "127.0.0.1:",
        "127.0.0.1:8x",
        "127.1",
        "0177.0.0.1",
        "localhost.",
        "127.0.0.1:80:80",
        "[::1]x",
    };
    char id[128], path[256], host[128];

    (void)state;
    new_session(id);
    for (size_t i = 0; i < CD_ARRAY_LEN(hosts); i++) {
        const char *h[] = {host, AUTH[0], NULL};
        const char *paths[][3] = {
            {"POST", "/_sandbox/checkout/%s/complete", CARD},
            {"POST", "/checkout/%s/pay", NULL},
            {"POST", "/v1/checkout/sessions/%s/expire", NULL},
            {"GET", "/v1/checkout/sessions/%s", NULL},
            {"GET", "/checkout/%s", NULL},
            {"GET", "/_sandbox/health", NULL},
            {"GET", "/no/such/path", NULL},
        };
        snprintf(host, sizeof(host), "Host: %s", hosts[i]);
        for (size_t k = 0; k < CD_ARRAY_LEN(paths); k++) {
            struct resp r;
            snprintf(path, sizeof(path), paths[k][1], id);
            req(&r, paths[k][0], path, h, JSON, paths[k][2]);
            if (r.status != 403)
                fail_msg("Host '%s' %s %s: %ld %s", hosts[i], paths[k][0],
                         paths[k][1], r.status,
                         r.body.data ? r.body.data : "");
            assert_string_equal(err_code(&r), "host_not_allowed");
            resp_free(&r);
        }
    }
    expect_status(id, "open");
}

/* HTTP/1.0 may leave Host out: no Host is no loopback Host. */
static void test_missing_host_refused(void **state)
{
    static const char *const no_host[] = {"Host:", NULL};
    struct resp r;

    (void)state;
    HTTP10 = 1;
    req(&r, "GET", "/_sandbox/health", no_host, NULL, NULL);
    HTTP10 = 0;
    assert_int_equal(r.status, 403);
    assert_string_equal(err_code(&r), "host_not_allowed");
    resp_free(&r);
}

static void test_loopback_hosts_accepted(void **state)
{
    int port = cd_sandbox_port(SB);
    char hosts[7][64], line[512];
    struct resp r;

    (void)state;
    snprintf(hosts[0], 64, "127.0.0.1:%d", port);
    snprintf(hosts[1], 64, "127.0.0.1");
    snprintf(hosts[2], 64, "127.255.0.9:%d", port);
    snprintf(hosts[3], 64, "localhost:%d", port);
    snprintf(hosts[4], 64, "LocalHost");
    snprintf(hosts[5], 64, "[::1]:%d", port);
    snprintf(hosts[6], 64, "[0:0:0:0:0:0:0:1]");
    for (size_t i = 0; i < 7; i++) {
        const char *h[] = {line, NULL};
        snprintf(line, sizeof(line), "Host: %s", hosts[i]);
        req(&r, "GET", "/_sandbox/health", h, NULL, NULL);
        if (r.status != 200)
            fail_msg("Host '%s': %ld", hosts[i], r.status);
        resp_free(&r);
    }
}

/* ---- Origin ---- */

static void test_foreign_origin_refused(void **state)
{
    char id[128], path[256], other[96], local[96];
    const char *origins[] = {"http://evil.example", "null", other, local,
                             "https://127.0.0.1"};
    struct resp r;

    (void)state;
    snprintf(other, sizeof(other), "http://127.0.0.1:%d",
             cd_sandbox_port(SB) == 9 ? 10 : 9);
    /* Another loopback name is another origin (Host says 127.0.0.1). */
    snprintf(local, sizeof(local), "http://localhost:%d",
             cd_sandbox_port(SB));
    new_session(id);
    for (size_t i = 0; i < CD_ARRAY_LEN(origins); i++) {
        char line[160];
        const char *h[] = {line, AUTH[0], NULL};
        snprintf(line, sizeof(line), "Origin: %s", origins[i]);

        snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
        req(&r, "POST", path, h, JSON, CARD);
        if (r.status != 403)
            fail_msg("Origin '%s': %ld", origins[i], r.status);
        assert_string_equal(err_code(&r), "origin_not_allowed");
        resp_free(&r);

        snprintf(path, sizeof(path), "/checkout/%s/pay", id);
        req(&r, "POST", path, h, "application/x-www-form-urlencoded",
            "card=4242424242424242&exp=12%2F34&cvc=123");
        assert_int_equal(r.status, 403);
        resp_free(&r);

        snprintf(path, sizeof(path), "/v1/checkout/sessions/%s/expire", id);
        req(&r, "POST", path, h, NULL, NULL);
        assert_int_equal(r.status, 403);
        resp_free(&r);

        req(&r, "POST", "/_sandbox/config", h, JSON,
            "{\"api_delay_ms\":60000}");
        assert_int_equal(r.status, 403);
        resp_free(&r);
    }
    expect_status(id, "open");
    req(&r, "GET", "/_sandbox/config", NULL, NULL, NULL);
    assert_int_equal(
        json_integer_value(json_object_get(r.json, "api_delay_ms")), 0);
    resp_free(&r);

    /* A read carries no risk: a foreign Origin may GET. */
    {
        char line[160];
        const char *h[] = {line, NULL};
        snprintf(line, sizeof(line), "Origin: http://evil.example");
        req(&r, "GET", "/_sandbox/health", h, NULL, NULL);
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
}

/* The hosted page posts its form from its own origin: that still pays. */
static void test_own_origin_pays(void **state)
{
    char id[128], path[256], line[160];
    const char *h[] = {line, NULL};
    struct resp r;

    (void)state;
    new_session(id);
    snprintf(line, sizeof(line), "Origin: %s", BASE);
    snprintf(path, sizeof(path), "/checkout/%s/pay", id);
    req(&r, "POST", path, h, "application/x-www-form-urlencoded",
        "email=a%40example.com&card=4242+4242+4242+4242&exp=12+%2F+34"
        "&cvc=123");
    assert_int_equal(r.status, 303);
    resp_free(&r);
    expect_status(id, "complete");

    /* The same through another loopback name, Host and Origin agreeing. */
    {
        char host[96];
        const char *h2[] = {host, line, NULL};
        snprintf(host, sizeof(host), "Host: localhost:%d",
                 cd_sandbox_port(SB));
        snprintf(line, sizeof(line), "Origin: http://localhost:%d",
                 cd_sandbox_port(SB));
        new_session(id);
        snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
        req(&r, "POST", path, h2, JSON, CARD);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        expect_status(id, "complete");
    }
}

/* ---- Content-Type on the control endpoints ---- */

static void test_control_body_types(void **state)
{
    static const char *const refused[][2] = {
        {"text/plain", CARD},
        {"text/plain; charset=utf-8", CARD},
        {"text/plain", "card=4242424242424242"},
        {"application/x-www-form-urlencoded", CARD},
        {"application/x-www-form-urlencoded", " \n" CARD},
        {"multipart/form-data; boundary=x", CARD},
        {"application/jsonx", CARD},
        {"application/json-seq", CARD},
        {NULL, CARD},
        {NULL, "card=4242424242424242"},
    };
    char id[128], path[256];
    struct resp r;

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    for (size_t i = 0; i < CD_ARRAY_LEN(refused); i++) {
        req(&r, "POST", path, NULL, refused[i][0], refused[i][1]);
        if (r.status != 400)
            fail_msg("Content-Type '%s' body '%s': %ld",
                     refused[i][0] ? refused[i][0] : "-", refused[i][1],
                     r.status);
        assert_string_equal(err_code(&r), "invalid_content_type");
        resp_free(&r);
    }
    /* Expire reads no body, yet a text/plain one is refused too. */
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, "text/plain", "{}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    expect_status(id, "open");

    /* JSON (any letter case, with parameters) and no body at all work; a
     * form as a form is test_sandbox_api's test_declines. */
    req(&r, "POST", "/_sandbox/config", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, "Application/JSON ; charset=utf-8", CARD);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    expect_status(id, "complete");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_host_refused_everywhere),
        cmocka_unit_test(test_missing_host_refused),
        cmocka_unit_test(test_loopback_hosts_accepted),
        cmocka_unit_test(test_foreign_origin_refused),
        cmocka_unit_test(test_own_origin_pays),
        cmocka_unit_test(test_control_body_types),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
