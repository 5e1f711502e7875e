/*
 * test_api_dispatch.c - the API's own layer, through the real server on
 * loopback with the whole route table, cd_api_dispatch, a real store
 * (SQLite in a temp dir; again on PostgreSQL when CD_TEST_PG_URL is set)
 * and real billing:
 *   - authentication by route kind (API.md "Authentication"): none is
 *     401 unauthorized, a bad token 401 invalid_token, the server key
 *     without Creditd-Account on an account route 400 missing_account, an
 *     unknown account 404 account_not_found, an account token on a
 *     server-key route or naming another account 403 forbidden, the
 *     server key on a token route 403 forbidden; the session cookie only
 *     on account and token routes, never as the server key, and with its
 *     CSRF header on a POST (else 403 csrf_failed);
 *   - the route table: every route has a handler, a method and a path,
 *     one auth kind, no method + pattern twice and none shadowed by an
 *     earlier pattern, CD_ROUTE_IDEM_ONE_JOB only with CD_ROUTE_IDEMPOTENT,
 *     idempotency only on POST, the Stripe signature only on a public
 *     POST;
 *   - the shared helpers (api/helpers.c): ?limit= 1..100 and ?offset= >= 0
 *     (400 invalid_param naming it), a body that is not a JSON object
 *     (400 invalid_json), amounts that are not whole numbers in range
 *     (400 invalid_amount naming the field), strings of the wrong type,
 *     too long or with a control byte and booleans of the wrong type (400
 *     invalid_param naming the field).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/core.h"
#include "billing/accounts.h"
#include "util/log.h"
#include "util/util.h"

#include "billing_fixture.h"
#include "http_fixture.h"

#define SERVER_KEY "test-server-key-0123456789"

static int use_pg;
static struct store_target target;
static struct cd_billing bill;
static struct cd_app app;
static struct cd_http_server *srv;
static char owned_id[CD_ID_SZ]; /* an account of POST /v1/accounts */
static char alice_id[CD_ID_SZ], alice_token[CD_TOKEN_SZ];
static char carol_cookie[256], carol_csrf[128]; /* a web session */
static struct tc_reply r;

/* "Name: value\r\n" lines for a request. */
static const char *hdrs(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static const char *hdrs(const char *fmt, ...)
{
    static char buf[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

static void call(const char *method, const char *path, const char *headers,
                 const char *body)
{
    tc_request(cd_http_port(srv), method, path, headers, body, &r);
}

/* The value of name=... in the reply's Set-Cookie headers. */
static void set_cookie(const char *name, char *out, size_t outsz)
{
    const char *p = r.head;
    size_t n = strlen(name);

    out[0] = '\0';
    while ((p = strstr(p, "Set-Cookie: ")) != NULL) {
        p += strlen("Set-Cookie: ");
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, outsz, "%.*s", (int)strcspn(p + n + 1, ";\r"),
                     p + n + 1);
            return;
        }
    }
}

static void signup(const char *email, const char *extra, char *id,
                   char *token)
{
    char body[256];
    json_t *doc;

    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"password\":\"correct horse battery\"}",
             email);
    call("POST", "/v1/auth/signup", extra, body);
    tc_expect(&r, 201, NULL);
    doc = json_loadb(r.body, r.body_len, 0, NULL);
    assert_non_null(doc);
    if (id)
        cd_strlcpy(id,
                   json_string_value(json_object_get(
                       json_object_get(doc, "account"), "id")),
                   CD_ID_SZ);
    if (token)
        cd_strlcpy(token, json_string_value(json_object_get(doc, "token")),
                   CD_TOKEN_SZ);
    json_decref(doc);
}

static void start_server(void)
{
    struct cd_http_config hc;
    size_t n;

    memset(&app, 0, sizeof(app));
    app.billing = &bill;
    cd_strlcpy(app.admin_key, SERVER_KEY, sizeof(app.admin_key));
    cd_strlcpy(app.web_dir, "/nonexistent", sizeof(app.web_dir));
    memset(&hc, 0, sizeof(hc));
    hc.name = "api";
    hc.routes = cd_api_routes(&n);
    hc.nroutes = n;
    hc.app = &app;
    hc.dispatch = cd_api_dispatch;
    hc.check_head = cd_api_check_head;
    hc.pool_threads = 1;
    hc.workers = 2;
    hc.offload = cd_api_offload;
    srv = hf_start(&hc);
}

static int setup(void **state)
{
    struct cd_account a;
    struct cd_error err;

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (cd_accounts_init() != 0 ||
        fx_billing_open(&bill, &target, use_pg, "cd_api_dispatch") != 0)
        return -1;
    if (cd_account_create(&bill, "ext-1", NULL, &a, NULL, &err) != 0)
        return -1;
    cd_strlcpy(owned_id, a.id, sizeof(owned_id));
    start_server();
    signup("alice@example.com", "", alice_id, alice_token);
    signup("carol@example.com", "Creditd-Session: cookie\r\n", NULL, NULL);
    set_cookie(CD_SESSION_COOKIE, carol_cookie, sizeof(carol_cookie));
    set_cookie(CD_CSRF_COOKIE, carol_csrf, sizeof(carol_csrf));
    assert_true(carol_cookie[0] && carol_csrf[0]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_http_stop(srv);
    fx_billing_close(&bill, &target);
    return 0;
}

static void test_public_and_missing_credentials(void **state)
{
    (void)state;
    call("GET", "/healthz", "", NULL);
    tc_expect(&r, 200, NULL);
    call("GET", "/v1/balance", "", NULL);
    tc_expect(&r, 401, "unauthorized");
    call("GET", "/v1/admin/summary", "", NULL);
    tc_expect(&r, 401, "unauthorized");
    call("POST", "/v1/grants", "", "{}");
    tc_expect(&r, 401, "unauthorized");
    call("GET", "/v1/balance", "Authorization: Basic dXNlcjpwdw==\r\n", NULL);
    tc_expect(&r, 401, "unauthorized");
    call("GET", "/v1/balance", "Authorization: Bearer \r\n", NULL);
    tc_expect(&r, 401, "unauthorized");
}

static void test_bad_tokens(void **state)
{
    char big[CD_TOKEN_MAX_LEN + 2];

    (void)state;
    call("GET", "/v1/balance", "Authorization: Bearer cdt_nope\r\n", NULL);
    tc_expect(&r, 401, "invalid_token");
    /* the server key's length, one byte off: a token, unknown */
    call("GET", "/v1/admin/summary",
         "Authorization: Bearer test-server-key-012345678X\r\n", NULL);
    tc_expect(&r, 401, "invalid_token");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    call("GET", "/v1/balance", hdrs("Authorization: Bearer %s\r\n", big),
         NULL);
    tc_expect(&r, 401, "invalid_token");
}

static void test_server_key(void **state)
{
    (void)state;
    call("GET", "/v1/admin/summary",
         "Authorization: Bearer " SERVER_KEY "\r\n", NULL);
    tc_expect(&r, 200, NULL);
    /* the scheme's name is case-insensitive */
    call("GET", "/v1/admin/summary",
         "Authorization: bearer " SERVER_KEY "\r\n", NULL);
    tc_expect(&r, 200, NULL);
    call("GET", "/v1/balance", "Authorization: Bearer " SERVER_KEY "\r\n",
         NULL);
    tc_expect(&r, 400, "missing_account");
    call("GET", "/v1/balance",
         "Authorization: Bearer " SERVER_KEY "\r\nCreditd-Account: \r\n",
         NULL);
    tc_expect(&r, 400, "missing_account");
    call("GET", "/v1/balance",
         "Authorization: Bearer " SERVER_KEY
         "\r\nCreditd-Account: acct_nope\r\n",
         NULL);
    tc_expect(&r, 404, "account_not_found");
    call("GET", "/v1/balance",
         "Authorization: Bearer " SERVER_KEY
         "\r\nCreditd-Account: ext:nope\r\n",
         NULL);
    tc_expect(&r, 404, "account_not_found");
    call("GET", "/v1/balance",
         "Authorization: Bearer " SERVER_KEY
         "\r\nCreditd-Account: ext:ext-1\r\n",
         NULL);
    tc_expect(&r, 200, NULL);
    call("GET", "/v1/account",
         hdrs("Authorization: Bearer %s\r\nCreditd-Account: %s\r\n",
              SERVER_KEY, owned_id),
         NULL);
    tc_expect(&r, 200, NULL);
    assert_non_null(strstr(r.body, owned_id));
    /* a server-account route: the account is named */
    call("POST", "/v1/grants", "Authorization: Bearer " SERVER_KEY "\r\n",
         "{\"amount\":5}");
    tc_expect(&r, 400, "missing_account");
    call("POST", "/v1/grants",
         "Authorization: Bearer " SERVER_KEY
         "\r\nCreditd-Account: ext:ext-1\r\n",
         "{\"amount\":5,\"description\":\"unit\"}");
    tc_expect(&r, 201, NULL);
    /* a token route takes an account token */
    call("POST", "/v1/auth/logout",
         "Authorization: Bearer " SERVER_KEY "\r\n", NULL);
    tc_expect(&r, 403, "forbidden");
}

static void test_account_token(void **state)
{
    char auth[128];

    (void)state;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", alice_token);
    call("GET", "/v1/balance", auth, NULL);
    tc_expect(&r, 200, NULL);
    call("GET", "/v1/admin/summary", auth, NULL);
    tc_expect(&r, 403, "forbidden");
    call("POST", "/v1/grants",
         hdrs("%sCreditd-Account: %s\r\n", auth, alice_id), "{\"amount\":5}");
    tc_expect(&r, 403, "forbidden");
    /* Creditd-Account may name only the token's own account */
    call("GET", "/v1/balance",
         hdrs("%sCreditd-Account: %s\r\n", auth, alice_id), NULL);
    tc_expect(&r, 200, NULL);
    call("GET", "/v1/balance",
         hdrs("%sCreditd-Account: %s\r\n", auth, owned_id), NULL);
    tc_expect(&r, 403, "forbidden");
    call("GET", "/v1/balance", hdrs("%sCreditd-Account: ext:ext-1\r\n", auth),
         NULL);
    tc_expect(&r, 403, "forbidden");
}

/* A token route takes any valid account token: logout ends it. */
static void test_token_route(void **state)
{
    char token[CD_TOKEN_SZ], auth[128];

    (void)state;
    signup("dave@example.com", "", NULL, token);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    call("POST", "/v1/auth/logout", auth, NULL);
    tc_expect(&r, 204, NULL);
    call("GET", "/v1/balance", auth, NULL);
    tc_expect(&r, 401, "invalid_token");
    call("POST", "/v1/auth/logout", auth, NULL);
    tc_expect(&r, 401, "invalid_token");
}

static void test_session_cookie(void **state)
{
    const char *cookie = hdrs("Cookie: x=1; " CD_SESSION_COOKIE "=%s\r\n",
                              carol_cookie);
    char c[512];

    (void)state;
    cd_strlcpy(c, cookie, sizeof(c));
    call("GET", "/v1/balance", c, NULL);
    tc_expect(&r, 200, NULL);
    /* never on a server-key route, and the server key is no cookie */
    call("GET", "/v1/admin/summary", c, NULL);
    tc_expect(&r, 401, "unauthorized");
    call("GET", "/v1/admin/summary",
         "Cookie: " CD_SESSION_COOKIE "=" SERVER_KEY "\r\n", NULL);
    tc_expect(&r, 401, "unauthorized");
    call("GET", "/v1/balance",
         "Cookie: " CD_SESSION_COOKIE "=" SERVER_KEY "\r\n", NULL);
    tc_expect(&r, 401, "invalid_token");
    /* a state-changing method needs the CSRF header */
    call("POST", "/v1/discounts/validate", c, "{\"code\":\"NOPE\"}");
    tc_expect(&r, 403, "csrf_failed");
    call("POST", "/v1/discounts/validate",
         hdrs("%s" CD_CSRF_HEADER ": %064d\r\n", c, 0),
         "{\"code\":\"NOPE\"}");
    tc_expect(&r, 403, "csrf_failed");
    call("POST", "/v1/discounts/validate",
         hdrs("%s" CD_CSRF_HEADER ": %s\r\n", c, carol_csrf),
         "{\"code\":\"NOPE\"}");
    assert_true(r.status != 401 && r.status != 403);
    /* a Bearer credential wins over the cookie */
    call("GET", "/v1/balance",
         hdrs("%sAuthorization: Bearer cdt_nope\r\n", c), NULL);
    tc_expect(&r, 401, "invalid_token");
}

/* Whether pattern a matches every path pattern b matches ("{}" in a
 * takes any segment; "*" the rest). */
static int covers(const char *a, const char *b)
{
    while (*a) {
        if (a[0] == '*' && a[1] == '\0')
            return 1;
        if (a[0] == '{' && a[1] == '}') {
            size_t n = strcspn(b, "/");

            if (n == 0)
                return 0;
            a += 2;
            b += n;
            continue;
        }
        if (*a++ != *b++)
            return 0;
    }
    return *b == '\0';
}

static void check_route(const struct cd_route *rt)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH",
                                          "DELETE"};
    unsigned kind = rt->flags & (CD_ROUTE_ACCOUNT | CD_ROUTE_SERVER_ACCOUNT |
                                 CD_ROUTE_ADMIN | CD_ROUTE_TOKEN);
    int known = 0;

    for (size_t m = 0; m < CD_ARRAY_LEN(methods); m++)
        known |= strcmp(rt->method, methods[m]) == 0;
    if (!known || !rt->handler || rt->pattern[0] != '/' ||
        (kind & (kind - 1)) != 0)
        fail_msg("%s %s: method, handler, path or auth kind", rt->method,
                 rt->pattern);
    if ((rt->flags & CD_ROUTE_IDEM_ONE_JOB) &&
        !(rt->flags & CD_ROUTE_IDEMPOTENT))
        fail_msg("%s %s: IDEM_ONE_JOB without IDEMPOTENT", rt->method,
                 rt->pattern);
    if ((rt->flags & CD_ROUTE_IDEMPOTENT) && strcmp(rt->method, "POST") != 0)
        fail_msg("%s %s: Idempotency-Key is honoured on POST only",
                 rt->method, rt->pattern);
    if ((rt->flags & CD_ROUTE_STRIPE_SIGNED) &&
        (kind != CD_ROUTE_PUBLIC || strcmp(rt->method, "POST") != 0))
        fail_msg("%s %s: a Stripe webhook is a public POST", rt->method,
                 rt->pattern);
    if (rt->flags &
        ~(CD_ROUTE_ACCOUNT | CD_ROUTE_SERVER_ACCOUNT | CD_ROUTE_ADMIN |
          CD_ROUTE_TOKEN | CD_ROUTE_IDEMPOTENT | CD_ROUTE_STRIPE_SIGNED |
          CD_ROUTE_IDEM_ONE_JOB | CD_ROUTE_DEFERS))
        fail_msg("%s %s: unknown flag", rt->method, rt->pattern);
    if ((rt->flags & CD_ROUTE_DEFERS) && strcmp(rt->method, "POST") != 0)
        fail_msg("%s %s: only a POST answers from the commit", rt->method,
                 rt->pattern);
}

static void test_route_table(void **state)
{
    size_t n;
    const struct cd_route *t = cd_api_routes(&n);

    (void)state;
    assert_non_null(t);
    assert_true(n > 50);
    for (size_t i = 0; i < n; i++) {
        check_route(&t[i]);
        /* first match wins: no later route of the same method is
         * reached only through an earlier pattern */
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(t[i].method, t[j].method) == 0 &&
                covers(t[i].pattern, t[j].pattern))
                fail_msg("%s %s repeats or shadows %s", t[i].method,
                         t[i].pattern, t[j].pattern);
    }
    for (size_t i = 0; i < cd_api_routes_metrics_count; i++)
        assert_non_null(cd_api_routes_metrics[i].handler);
}

static void test_paging(void **state)
{
    char auth[128];
    static const char *const bad[] = {
        "limit=0", "limit=101", "limit=-1",   "limit=abc",
        "limit=",  "offset=-1", "offset=1.5", "limit=5&offset=x"};

    (void)state;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", alice_token);
    call("GET", "/v1/transactions?limit=100&offset=0", auth, NULL);
    tc_expect(&r, 200, NULL);
    assert_non_null(strstr(r.body, "\"limit\":100"));
    call("GET", "/v1/transactions?limit=1&offset=1000000000", auth, NULL);
    tc_expect(&r, 200, NULL);
    for (size_t i = 0; i < CD_ARRAY_LEN(bad); i++) {
        char path[64], param[16];

        snprintf(path, sizeof(path), "/v1/transactions?%s", bad[i]);
        call("GET", path, auth, NULL);
        tc_expect(&r, 400, "invalid_param");
        tc_error_field(&r, "param", param, sizeof(param));
        assert_string_equal(param, strstr(bad[i], "offset=x") ||
                                           strncmp(bad[i], "offset", 6) == 0
                                       ? "offset"
                                       : "limit");
    }
    call("GET", "/v1/transactions?offset=1000000001", auth, NULL);
    tc_expect(&r, 400, "invalid_param");
}

/* POST path body (NULL: the reply r already holds) is 400 invalid_param
 * naming param. */
static void expect_param(const char *auth, const char *path, const char *body,
                         const char *param)
{
    char got[32];

    if (body)
        call("POST", path, auth, body);
    tc_expect(&r, 400, "invalid_param");
    assert_string_equal(tc_error_field(&r, "param", got, sizeof(got)), param);
}

/* A grant whose description is n bytes. */
static void long_description(const char *auth, size_t n)
{
    static char body[1024];
    int k = snprintf(body, sizeof(body), "{\"amount\":1,\"description\":\"");

    assert_true(k > 0 && (size_t)k + n + 3 < sizeof(body));
    memset(body + k, 'd', n);
    memcpy(body + k + n, "\"}", 3);
    call("POST", "/v1/grants", auth, body);
}

static void test_bodies(void **state)
{
    const char *auth = "Authorization: Bearer " SERVER_KEY
                       "\r\nCreditd-Account: ext:ext-1\r\n";
    static const char *const not_object[] = {"", "[]", "5", "{",
                                             "{\"a\":1,\"a\":2}"};
    static const char *const bad_amount[] = {
        "{}",
        "{\"amount\":0}",
        "{\"amount\":-5}",
        "{\"amount\":1.5}",
        "{\"amount\":\"5\"}",
        "{\"amount\":1000000000001}",
        "{\"amount\":99999999999999999999}"};
    char param[16];

    (void)state;
    for (size_t i = 0; i < CD_ARRAY_LEN(not_object); i++) {
        call("POST", "/v1/grants", auth, not_object[i]);
        tc_expect(&r, 400, "invalid_json");
    }
    for (size_t i = 0; i < CD_ARRAY_LEN(bad_amount); i++) {
        call("POST", "/v1/grants", auth, bad_amount[i]);
        tc_expect(&r, 400, "invalid_amount");
        assert_string_equal(tc_error_field(&r, "param", param, sizeof(param)),
                            "amount");
    }
    expect_param(auth, "/v1/grants", "{\"amount\":1,\"description\":5}",
                 "description");
    expect_param(auth, "/v1/grants",
                 "{\"amount\":1,\"description\":\"a\\u0001b\"}",
                 "description");
    long_description(auth, 501);
    expect_param(auth, "/v1/grants", NULL, "description");
    long_description(auth, 500);
    tc_expect(&r, 201, NULL);
    expect_param(auth, "/v1/debits",
                 "{\"amount\":1,\"allow_negative\":\"yes\"}",
                 "allow_negative");
    /* a body labelled anything but JSON is refused from the head; JSON
     * with parameters, in any case, or no Content-Type is JSON */
    call("POST", "/v1/grants", hdrs("%sContent-Type: text/plain\r\n", auth),
         "{\"amount\":2}");
    tc_expect(&r, 415, "unsupported_media_type");
    call("POST", "/v1/grants",
         hdrs("%sContent-Type: Application/JSON; charset=utf-8\r\n", auth),
         "{\"amount\":2}");
    tc_expect(&r, 201, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_and_missing_credentials),
        cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_server_key),
        cmocka_unit_test(test_account_token),
        cmocka_unit_test(test_token_route),
        cmocka_unit_test(test_session_cookie),
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_bodies),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, setup,
                                             teardown);

    if (store_target_pg_url()) {
        use_pg = 1;
        failed += cmocka_run_group_tests_name("postgresql", tests, setup,
                                              teardown);
    }
    return failed;
}
