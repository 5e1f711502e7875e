/*
 * test_stripe_client.c - the Stripe client against a tiny in-process HTTP
 * server (libmicrohttpd on 127.0.0.1, an ephemeral port) whose paths play
 * scripted scenarios: 500 twice then 200, 429, 409 then 200, a 400 with
 * Stripe's error JSON, 500 with Stripe-Should-Retry: false, a card decline,
 * a slow answer, a huge answer. The server records what it saw (headers,
 * raw URI, body, Idempotency-Key per attempt) so the tests can check the
 * wire format and the retry policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "stripe/client.h"
#include "util/log.h"
#include "util/util.h"

#include "http_fixture.h"
#include "log_capture.h"

#define SK "sk_test_unit_51HxYzSecret"
#define MAX_SEEN 8

/* What the server saw for one path since the last reset. */
struct seen {
    int hits;
    char idem[MAX_SEEN][300];
    char has_idem[MAX_SEEN];
    char method[8];
    char uri[1024];
    char auth[128];
    char version[64];
    char ctype[128];
    char body[4096];
};

static struct {
    pthread_mutex_t mu;
    struct seen s;
} srv = {PTHREAD_MUTEX_INITIALIZER, {0}};

/* Set once a test is done with "/v1/slow": until then it does not answer
 * (HF_WAIT_MS at most). */
static int slow_go;

struct conn {
    char uri[1024];
    char body[4096];
    size_t len;
    int started; /* the first call only announces the headers */
};

static struct MHD_Daemon *daemon_h;
static char base_url[64];

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct conn *cn = calloc(1, sizeof(*cn));

    (void)cls;
    (void)c;
    if (cn)
        snprintf(cn->uri, sizeof(cn->uri), "%s", uri);
    return cn;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *body, const char *should_retry)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Request-Id", "req_unit123");
    if (should_retry)
        MHD_add_response_header(r, "Stripe-Should-Retry", should_retry);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out,
                        size_t outsz)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

    snprintf(out, outsz, "%s", v ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    struct conn *cn = *con_cls;
    const char *idem;
    int hit;

    (void)cls;
    (void)version;
    if (!cn)
        return MHD_NO;
    if (!cn->started) {
        cn->started = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (cn->len + n >= sizeof(cn->body))
            n = sizeof(cn->body) - 1 - cn->len;
        memcpy(cn->body + cn->len, upload_data, n);
        cn->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&srv.mu);
    hit = ++srv.s.hits;
    idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (hit <= MAX_SEEN) {
        snprintf(srv.s.idem[hit - 1], sizeof(srv.s.idem[0]), "%s",
                 idem ? idem : "");
        srv.s.has_idem[hit - 1] = idem != NULL;
    }
    snprintf(srv.s.method, sizeof(srv.s.method), "%s", method);
    snprintf(srv.s.uri, sizeof(srv.s.uri), "%s", cn->uri);
    copy_header(c, "Authorization", srv.s.auth, sizeof(srv.s.auth));
    copy_header(c, "Stripe-Version", srv.s.version, sizeof(srv.s.version));
    copy_header(c, "Content-Type", srv.s.ctype, sizeof(srv.s.ctype));
    cn->body[cn->len] = '\0';
    snprintf(srv.s.body, sizeof(srv.s.body), "%s", cn->body);
    pthread_mutex_unlock(&srv.mu);

    if (strncmp(url, "/v1/flaky", 9) == 0) {
        /* "/v1/flaky" fails twice, "/v1/flaky10" ten times. */
        if (hit <= (strcmp(url, "/v1/flaky10") == 0 ? 10 : 2))
            return reply(c, 500,
                         "{\"error\":{\"type\":\"api_error\","
                         "\"message\":\"Something went wrong\"}}",
                         NULL);
        return reply(c, 200,
                     "{\"id\":\"cs_test_1\",\"object\":"
                     "\"checkout.session\"}",
                     NULL);
    }
    if (strcmp(url, "/v1/always500") == 0)
        return reply(c, 503,
                     "{\"error\":{\"type\":\"api_error\","
                     "\"message\":\"Service unavailable\"}}",
                     NULL);
    if (strcmp(url, "/v1/rate") == 0)
        return reply(c, 429,
                     "{\"error\":{\"type\":\"rate_limit_error\",\"code\":"
                     "\"rate_limit\",\"message\":\"Too many requests\"}}",
                     NULL);
    if (strcmp(url, "/v1/conflict") == 0) {
        if (hit == 1)
            return reply(c, 409,
                         "{\"error\":{\"type\":\"idempotency_error\","
                         "\"message\":\"concurrent request\"}}",
                         NULL);
        return reply(c, 200,
                     "{\"id\":\"pi_1\",\"object\":\"payment_intent\"}", NULL);
    }
    if (strcmp(url, "/v1/bad") == 0)
        return reply(c, 400,
                     "{\"error\":{\"type\":\"invalid_request_error\","
                     "\"code\":\"resource_missing\",\"param\":\"customer\","
                     "\"message\":\"No such customer: 'cus_x'\"}}",
                     NULL);
    if (strcmp(url, "/v1/longmsg") == 0) {
        /* 100 euro signs: 300 bytes, more than the client keeps. */
        char body[512];
        int n = snprintf(body, sizeof(body), "%s",
                         "{\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"");

        for (int i = 0; i < 100; i++)
            n += snprintf(body + n, sizeof(body) - (size_t)n, "\xe2\x82\xac");
        snprintf(body + n, sizeof(body) - (size_t)n, "\"}}");
        return reply(c, 400, body, NULL);
    }
    if (strcmp(url, "/v1/noretry") == 0)
        return reply(c, 500,
                     "{\"error\":{\"type\":\"api_error\",\"message\":"
                     "\"Replayed failure\"}}",
                     "false");
    if (strcmp(url, "/v1/forceretry") == 0) {
        if (hit == 1)
            return reply(c, 400,
                         "{\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"lock timeout\"}}",
                         "true");
        return reply(c, 200, "{\"id\":\"re_1\",\"object\":\"refund\"}", NULL);
    }
    if (strcmp(url, "/v1/decline") == 0)
        return reply(
            c, 402,
            "{\"error\":{\"type\":\"card_error\",\"code\":"
            "\"card_declined\",\"decline_code\":\"insufficient_funds\","
            "\"message\":\"Your card has insufficient funds.\","
            "\"payment_intent\":{\"id\":\"pi_declined\",\"status\":"
            "\"requires_payment_method\"}}}",
            NULL);
    if (strcmp(url, "/v1/notjson") == 0)
        return reply(c, 200, "<html>hello</html>", NULL);
    if (strcmp(url, "/v1/html502") == 0)
        return reply(c, 502, "<html>bad gateway</html>", "false");
    if (strcmp(url, "/v1/huge") == 0) {
        size_t n = 5u * 1024 * 1024;
        char *big = malloc(n);
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (!big)
            return MHD_NO;
        memset(big, ' ', n);
        r = MHD_create_response_from_buffer(n, big, MHD_RESPMEM_MUST_FREE);
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/v1/slow") == 0) {
        for (int64_t end = cd_mono_us() + HF_WAIT_MS * 1000LL;
             !__atomic_load_n(&slow_go, __ATOMIC_SEQ_CST) &&
             cd_mono_us() < end;)
            usleep(5 * 1000);
        return reply(c, 200, "{\"id\":\"slow\"}", NULL);
    }
    return reply(c, 200, "{\"id\":\"ok_1\",\"object\":\"thing\"}", NULL);
}

static void reset_seen(void)
{
    pthread_mutex_lock(&srv.mu);
    memset(&srv.s, 0, sizeof(srv.s));
    pthread_mutex_unlock(&srv.mu);
}

static int hits(void)
{
    int n;

    pthread_mutex_lock(&srv.mu);
    n = srv.s.hits;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

/* Waits (HF_WAIT_MS at most) until the server has seen n requests: a
 * request the client cut (a timeout) may still be in the server's hands
 * when the client gives up, so its hit lands a little later. */
static void wait_hits(int n)
{
    for (int64_t end = cd_mono_us() + HF_WAIT_MS * 1000LL;
         hits() < n && cd_mono_us() < end;)
        usleep(5 * 1000);
}

static int start_server(void **state)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_h = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!daemon_h)
        return -1;
    info = MHD_get_daemon_info(daemon_h, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port)
        return -1;
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u",
             (unsigned)info->port);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_h);
    return 0;
}

static struct cd_stripe_client *client_for(const char *base, int retries,
                                           long timeout_ms)
{
    struct cd_stripe_config cfg = {
        .api_base = base,
        .secret_key = SK,
        .connect_timeout_ms = 1000,
        .timeout_ms = timeout_ms,
        .max_retries = retries,
        .retry_base_ms = 5,
        .retry_max_ms = 20,
    };
    struct cd_stripe_client *c = cd_stripe_client_new(&cfg);

    assert_non_null(c);
    return c;
}

static struct cd_stripe_client *client(void)
{
    reset_seen();
    return client_for(base_url, 2, 5000);
}

static void test_retry_500_then_ok(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *params = json_pack("{s:I, s:s, s:{s:s}, s:[s,s]}", "amount",
                               (json_int_t)1000, "success_url",
                               "https://e.test/ok?id={CHECKOUT_SESSION_ID}",
                               "metadata", "order_id", "ord_1", "expand",
                               "payment_intent", "customer");
    json_t *out = NULL;
    struct cd_error err;
    int status = -1, i;

    (void)state;
    cd_error_clear(&err);
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/flaky", params,
                                       "order:ord_1:create", &out, &status,
                                       &err),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "id")),
                        "cs_test_1");
    assert_int_equal(hits(), 3);
    for (i = 0; i < 3; i++) {
        assert_true(srv.s.has_idem[i]);
        assert_string_equal(srv.s.idem[i], "order:ord_1:create");
    }
    assert_string_equal(srv.s.method, "POST");
    assert_string_equal(srv.s.uri, "/v1/flaky");
    assert_string_equal(srv.s.auth, "Bearer " SK);
    assert_string_equal(srv.s.version, CD_STRIPE_API_VERSION);
    assert_string_equal(srv.s.ctype, "application/x-www-form-urlencoded");
    assert_string_equal(srv.s.body,
                        "amount=1000&success_url=https%3A%2F%2Fe.test%2Fok%3F"
                        "id%3D%7BCHECKOUT_SESSION_ID%7D&metadata[order_id]="
                        "ord_1&expand[0]=payment_intent&expand[1]=customer");
    json_decref(out);
    json_decref(params);
    cd_stripe_client_free(c);
}

static void test_429_not_retried(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/rate", NULL, "k1",
                                       &out, &status, &err),
                     -1);
    assert_int_equal(hits(), 1);
    assert_int_equal(status, 429);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    assert_string_equal(err.message, "Stripe: Too many requests");
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "error"), "type")),
                        "rate_limit_error");
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_409_then_ok(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/conflict", NULL,
                                       "pi:ord_2", &out, &status, &err),
                     0);
    assert_int_equal(hits(), 2);
    assert_int_equal(status, 200);
    assert_string_equal(srv.s.idem[0], "pi:ord_2");
    assert_string_equal(srv.s.idem[1], "pi:ord_2");
    /* An empty POST body is still a form POST. */
    assert_string_equal(srv.s.body, "");
    assert_string_equal(srv.s.ctype, "application/x-www-form-urlencoded");
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_400_message(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/bad", NULL, "k2", &out,
                                       &status, &err),
                     -1);
    assert_int_equal(hits(), 1);
    assert_int_equal(status, 400);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    assert_string_equal(err.message, "Stripe: No such customer: 'cus_x'");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(out, "error"), "param")),
                        "customer");
    json_decref(out);
    cd_stripe_client_free(c);
}

/* Stripe's message is cut to a byte count on a character boundary: the
 * error stays valid UTF-8 (JSON cannot carry half a character). */
static void test_long_message_cut_on_a_character(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL, *js;
    struct cd_error err;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/longmsg", NULL, "k3",
                                       &out, NULL, &err),
                     -1);
    assert_int_equal(strncmp(err.message, "Stripe: \xe2\x82\xac", 11), 0);
    assert_true(strlen(err.message) > 100);
    js = json_string(err.message); /* NULL for invalid UTF-8 */
    assert_non_null(js);
    json_decref(js);
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_should_retry_false(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/noretry", NULL, "k3",
                                       &out, &status, &err),
                     -1);
    assert_int_equal(hits(), 1);
    assert_int_equal(status, 500);
    assert_string_equal(err.message, "Stripe: Replayed failure");
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_should_retry_true(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/forceretry", NULL,
                                       "k4", &out, &status, &err),
                     0);
    assert_int_equal(hits(), 2);
    assert_string_equal(json_string_value(json_object_get(out, "id")),
                        "re_1");
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_retries_exhausted(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/always500", NULL, "k5",
                                       &out, &status, &err),
                     -1);
    assert_int_equal(hits(), 3); /* 1 + max_retries 2 */
    assert_int_equal(status, 503);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.message, "Stripe: Service unavailable");
    json_decref(out);
    cd_stripe_client_free(c);

    /* A negative max_retries means one attempt only. */
    reset_seen();
    c = client_for(base_url, -1, 5000);
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/always500", NULL, "k5",
                                       &out, &status, &err),
                     -1);
    assert_int_equal(hits(), 1);
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_card_decline(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/decline", NULL, "k6",
                                       &out, &status, &err),
                     -1);
    assert_int_equal(hits(), 1);
    assert_int_equal(status, 402);
    assert_int_equal(err.kind, CD_EK_PAYMENT);
    assert_string_equal(err.code, "card_declined");
    assert_string_equal(err.message,
                        "Stripe: Your card has insufficient funds. "
                        "(insufficient_funds)");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(out, "error"), "payment_intent"),
            "id")),
        "pi_declined");
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_get_query(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *params = json_pack("{s:{s:I}, s:[s,s], s:I}", "created", "gte",
                               (json_int_t)1767225600, "types",
                               "invoice.paid", "checkout.session.completed",
                               "limit", (json_int_t)100);
    json_t *out = NULL;
    struct cd_error err;

    (void)state;
    /* An idempotency key on a GET is not sent. */
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/events", params,
                                       "ignored", &out, NULL, &err),
                     0);
    assert_int_equal(hits(), 1);
    assert_string_equal(srv.s.method, "GET");
    assert_string_equal(srv.s.uri,
                        "/v1/events?created[gte]=1767225600&types[0]="
                        "invoice.paid&types[1]=checkout.session.completed"
                        "&limit=100");
    assert_false(srv.s.has_idem[0]);
    assert_string_equal(srv.s.ctype, "");
    assert_string_equal(srv.s.auth, "Bearer " SK);
    assert_string_equal(srv.s.version, CD_STRIPE_API_VERSION);
    json_decref(out);

    /* A path that already has a query gets '&'; no params, no '?'. */
    reset_seen();
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/x?expand[]=a", params,
                                       NULL, &out, NULL, &err),
                     0);
    assert_int_equal(strncmp(srv.s.uri, "/v1/x?expand[]=a&created[gte]=", 30),
                     0);
    json_decref(out);
    reset_seen();
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/customers/cus_1", NULL,
                                       NULL, &out, NULL, &err),
                     0);
    assert_string_equal(srv.s.uri, "/v1/customers/cus_1");
    json_decref(out);
    json_decref(params);
    cd_stripe_client_free(c);
}

static void test_idempotency_key_required(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = (json_t *)1;
    struct cd_error err;
    char key[300];

    (void)state;
    assert_int_equal(
        cd_stripe_request(c, "POST", "/v1/ok", NULL, NULL, &out, NULL, &err),
        -1);
    assert_null(out);
    assert_int_equal(err.kind, CD_EK_INTERNAL);
    assert_int_equal(
        cd_stripe_request(c, "POST", "/v1/ok", NULL, "", &out, NULL, &err),
        -1);
    assert_int_equal(err.kind, CD_EK_INTERNAL);
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/ok", NULL,
                                       "bad\r\nX-Injected: 1", &out, NULL,
                                       &err),
                     -1);
    memset(key, 'k', 256);
    key[256] = '\0';
    assert_int_equal(
        cd_stripe_request(c, "POST", "/v1/ok", NULL, key, &out, NULL, &err),
        -1);
    assert_int_equal(hits(), 0);
    /* 255 characters are allowed. */
    key[255] = '\0';
    assert_int_equal(
        cd_stripe_request(c, "POST", "/v1/ok", NULL, key, &out, NULL, &err),
        0);
    assert_int_equal(hits(), 1);
    assert_string_equal(srv.s.idem[0], key);
    json_decref(out);

    /* Other bad arguments. */
    assert_int_equal(
        cd_stripe_request(c, "PUT", "/v1/ok", NULL, "k", &out, NULL, &err),
        -1);
    assert_int_equal(err.kind, CD_EK_INTERNAL);
    assert_int_equal(
        cd_stripe_request(c, "GET", "v1/ok", NULL, NULL, &out, NULL, &err),
        -1);
    assert_int_equal(
        cd_stripe_request(c, "GET", "/v1/o k", NULL, NULL, &out, NULL, &err),
        -1);
    assert_int_equal(hits(), 1);
    cd_stripe_client_free(c);
}

static void test_bad_responses(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    int status = 0;

    (void)state;
    /* 200 that is not JSON. */
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/notjson", NULL, NULL,
                                       &out, &status, &err),
                     -1);
    assert_null(out);
    assert_int_equal(status, 200);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");

    /* A 502 from a proxy with an HTML body: no JSON out. */
    reset_seen();
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/html502", NULL, NULL,
                                       &out, &status, &err),
                     -1);
    assert_null(out);
    assert_int_equal(status, 502);
    assert_string_equal(err.message, "Stripe: HTTP 502");

    /* More than 4 MiB: refused, not retried. */
    reset_seen();
    assert_int_equal(cd_stripe_request(c, "GET", "/v1/huge", NULL, NULL, &out,
                                       &status, &err),
                     -1);
    assert_null(out);
    assert_int_equal(hits(), 1);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    cd_stripe_client_free(c);
}

static void test_timeout(void **state)
{
    struct cd_stripe_client *c;
    json_t *out = NULL;
    struct cd_error err;
    int status = -1;

    (void)state;
    reset_seen();
    __atomic_store_n(&slow_go, 0, __ATOMIC_SEQ_CST);
    /* 1 s, not less: the server must have read each attempt before the
     * client gives it up, or it never counts it. */
    c = client_for(base_url, 1, 1000);
    /* Cut, not answered: /v1/slow answers only once let go, so -1 with no
     * status is the timeout (no wall-clock bound: a loaded machine
     * stretches any). */
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/slow", NULL, "slow:1",
                                       &out, &status, &err),
                     -1);
    __atomic_store_n(&slow_go, 1, __ATOMIC_SEQ_CST);
    assert_null(out);
    assert_int_equal(status, 0);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    assert_int_equal(strncmp(err.message, "Stripe unreachable: ", 20), 0);
    /* Timeouts are retried, with the same key. The second attempt was cut
     * from the client's side, so its hit is waited on, not read once. */
    wait_hits(2);
    assert_int_equal(hits(), 2);
    assert_string_equal(srv.s.idem[0], "slow:1");
    assert_string_equal(srv.s.idem[1], "slow:1");
    cd_stripe_client_free(c);
}

static void test_connection_refused(void **state)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    struct cd_stripe_client *c;
    json_t *out = NULL;
    struct cd_error err;
    char base[64];
    int fd;

    (void)state;
    /* Find a free port, then close it so nothing listens there. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u/", ntohs(sa.sin_port));

    c = client_for(base, 2, 1000);
    assert_int_equal(
        cd_stripe_request(c, "POST", "/v1/x", NULL, "k", &out, NULL, &err),
        -1);
    assert_null(out);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_int_equal(strncmp(err.message, "Stripe unreachable: ", 20), 0);
    assert_null(strstr(err.message, SK));
    cd_stripe_client_free(c);
}

/* Ten retries with waits capped at 80 ms: each wait is within
 * [base, max] = [40, 80] ms, 400..800 ms in all. Without the cap the
 * waits would double to 10 s and sum to over 20 s even at the lowest
 * jitter, so the upper bound (10 x the capped total, for a loaded
 * machine) still tells capped from uncapped. */
static void test_backoff_timing(void **state)
{
    struct cd_stripe_config cfg = {
        .api_base = base_url,
        .secret_key = SK,
        .max_retries = 10,
        .retry_base_ms = 40,
        .retry_max_ms = 80,
    };
    struct cd_stripe_client *c;
    json_t *out = NULL;
    struct cd_error err;
    int64_t t0, ms;

    (void)state;
    reset_seen();
    c = cd_stripe_client_new(&cfg);
    assert_non_null(c);
    t0 = cd_mono_us();
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/flaky10", NULL, "k",
                                       &out, NULL, &err),
                     0);
    ms = (cd_mono_us() - t0) / 1000;
    assert_true(ms >= 10 * 40);
    assert_true(ms < 10 * 10 * 80);
    assert_int_equal(hits(), 11);
    json_decref(out);
    cd_stripe_client_free(c);
}

/* Debug logging shows each attempt and never the secret key. */
static void test_logs_without_secret(void **state)
{
    struct cd_stripe_client *c = client();
    json_t *out = NULL;
    struct cd_error err;
    struct log_capture cap;
    char buf[8192];

    (void)state;
    log_capture_begin(&cap, CD_LOG_DEBUG);
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/flaky", NULL, "k",
                                       &out, NULL, &err),
                     0);
    json_decref(out);
    assert_int_equal(cd_stripe_request(c, "POST", "/v1/decline", NULL, "k",
                                       &out, NULL, &err),
                     -1);
    log_capture_end(&cap, buf, sizeof(buf));
    assert_non_null(strstr(buf, "POST /v1/flaky -> 500 attempt 1 "));
    assert_non_null(strstr(buf, "POST /v1/flaky -> 500 attempt 2 "));
    assert_non_null(strstr(buf, "POST /v1/flaky -> 200 attempt 3 "));
    assert_non_null(strstr(buf, "req_unit123"));
    assert_null(strstr(buf, SK));
    assert_null(strstr(buf, "sk_test"));
    json_decref(out);
    cd_stripe_client_free(c);
}

static void test_client_new(void **state)
{
    struct cd_stripe_config cfg = {.api_base = "https://api.stripe.com",
                                   .secret_key = SK};
    struct cd_stripe_client *c;

    (void)state;
    c = cd_stripe_client_new(&cfg);
    assert_non_null(c);
    cd_stripe_client_free(c);
    cd_stripe_client_free(NULL);

    cfg.secret_key = NULL;
    assert_null(cd_stripe_client_new(&cfg));
    cfg.secret_key = "";
    assert_null(cd_stripe_client_new(&cfg));
    cfg.secret_key = "sk_test\r\nX: y";
    assert_null(cd_stripe_client_new(&cfg));
    cfg.secret_key = SK;
    cfg.api_base = "ftp://example.com";
    assert_null(cd_stripe_client_new(&cfg));
    cfg.api_base = NULL;
    assert_null(cd_stripe_client_new(&cfg));
    assert_null(cd_stripe_client_new(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_new),
        cmocka_unit_test(test_retry_500_then_ok),
        cmocka_unit_test(test_429_not_retried),
        cmocka_unit_test(test_409_then_ok),
        cmocka_unit_test(test_400_message),
        cmocka_unit_test(test_long_message_cut_on_a_character),
        cmocka_unit_test(test_should_retry_false),
        cmocka_unit_test(test_should_retry_true),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_card_decline),
        cmocka_unit_test(test_get_query),
        cmocka_unit_test(test_idempotency_key_required),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_backoff_timing),
        cmocka_unit_test(test_logs_without_secret),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
