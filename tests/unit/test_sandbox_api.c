/*
 * test_sandbox_api.c - the Stripe sandbox end to end over loopback HTTP:
 * auth, sessions, idempotency, paying with test cards (control endpoint
 * and hosted page), expiry, refunds, event lists, and signed webhook
 * delivery (with retries) to a small receiver started here, whose
 * Stripe-Signature check uses cd_stripe_sig_verify.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "http/server.h"
#include "sandbox/sandbox.h"
#include "stripe/signature.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include "http_fixture.h"

#define SECRET "whsec_sandbox_unit_test"
#define KEY "sk_test_unit1234567890abcd"

/* ---- the webhook receiver ---- */

static pthread_mutex_t rx_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *rx_events; /* received, verified events */
static int rx_bad_sig;    /* deliveries whose signature failed */
static int rx_fail_next;  /* answer 500 to this many deliveries */
static int rx_attempts;
static char rx_user_agent[128];

static void h_hook(struct cd_req *r)
{
    const char *sig = cd_req_header(r, "Stripe-Signature");
    const char *ua = cd_req_header(r, "User-Agent");
    enum cd_sig_result v;

    v = cd_stripe_sig_verify(sig, r->body, r->body_len, SECRET, cd_now(),
                             300);
    pthread_mutex_lock(&rx_mu);
    rx_attempts++;
    if (ua)
        cd_strlcpy(rx_user_agent, ua, sizeof(rx_user_agent));
    if (v != CD_SIG_OK) {
        rx_bad_sig++;
    } else if (rx_fail_next > 0) {
        rx_fail_next--;
        pthread_mutex_unlock(&rx_mu);
        cd_reply(r, 500, "text/plain", "no\n", 3);
        return;
    } else {
        json_t *ev = json_loadb(r->body, r->body_len, 0, NULL);
        if (ev)
            json_array_append_new(rx_events, ev);
    }
    pthread_mutex_unlock(&rx_mu);
    cd_reply(r, 200, "application/json", "{}", 2);
}

static const struct cd_route rx_routes[] = {
    {"POST", "/hook", h_hook, 0, 0},
};

/* Waits up to 20 s (1000 polls 20 ms apart, generous: only a failing run
 * waits it out) for an event of type about object id; returns a new
 * reference to it, or NULL. */
static json_t *rx_wait(const char *type, const char *obj_id)
{
    for (int i = 0; i < 1000; i++) {
        size_t k;
        json_t *ev, *found = NULL;
        pthread_mutex_lock(&rx_mu);
        json_array_foreach(rx_events, k, ev)
        {
            const char *t = json_string_value(json_object_get(ev, "type"));
            const char *id = json_string_value(json_object_get(
                json_object_get(json_object_get(ev, "data"), "object"),
                "id"));
            if (t && id && strcmp(t, type) == 0 && strcmp(id, obj_id) == 0) {
                found = json_incref(ev);
                break;
            }
        }
        pthread_mutex_unlock(&rx_mu);
        if (found)
            return found;
        usleep(20000);
    }
    return NULL;
}

static int rx_count(const char *type, const char *obj_id)
{
    size_t k;
    json_t *ev;
    int n = 0;

    pthread_mutex_lock(&rx_mu);
    json_array_foreach(rx_events, k, ev)
    {
        const char *t = json_string_value(json_object_get(ev, "type"));
        const char *id = json_string_value(json_object_get(
            json_object_get(json_object_get(ev, "data"), "object"), "id"));
        if (t && id && strcmp(t, type) == 0 && strcmp(id, obj_id) == 0)
            n++;
    }
    pthread_mutex_unlock(&rx_mu);
    return n;
}

/* ---- fixture ---- */

struct fx {
    struct cd_http_server *rx;
    struct cd_sandbox *sb;
    char base[64];
};

static struct fx F;

static int setup(void **state)
{
    struct cd_http_config hc;
    struct cd_sandbox_config sc;
    struct cd_error err;
    char hook[128];

    (void)state;
    cd_log_threshold = CD_LOG_WARN;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rx_events = json_array();
    memset(&hc, 0, sizeof(hc));
    hc.name = "rx";
    hc.routes = rx_routes;
    hc.nroutes = 1;
    F.rx = hf_start(&hc);
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hook",
             cd_http_port(F.rx));
    memset(&sc, 0, sizeof(sc));
    sc.listen = "127.0.0.1:0";
    sc.webhook_url = hook;
    sc.webhook_secret = SECRET;
    F.sb = cd_sandbox_start(&sc, &err);
    if (!F.sb) {
        fprintf(stderr, "sandbox: %s\n", err.message);
        return -1;
    }
    snprintf(F.base, sizeof(F.base), "http://127.0.0.1:%d",
             cd_sandbox_port(F.sb));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cd_sandbox_stop(F.sb);
    cd_http_stop(F.rx);
    json_decref(rx_events);
    curl_global_cleanup();
    return 0;
}

/* ---- a small HTTP client ---- */

struct resp {
    long status;
    struct cd_buf body;
    struct cd_buf headers;
    json_t *json;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    return cd_buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

static void resp_free(struct resp *r)
{
    cd_buf_free(&r->body);
    cd_buf_free(&r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* key NULL: no Authorization; idem NULL: no Idempotency-Key. */
static void req(struct resp *out, const char *method, const char *path,
                const char *key, const char *idem, const char *ctype,
                const char *body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char url[2048], line[512];

    memset(out, 0, sizeof(*out));
    cd_buf_init(&out->body, 1 << 20);
    cd_buf_init(&out->headers, 1 << 16);
    snprintf(url, sizeof(url), "%s%s", F.base, path);
    if (key) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", key);
        hd = curl_slist_append(hd, line);
    }
    if (idem) {
        snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
        hd = curl_slist_append(hd, line);
    }
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        hd = curl_slist_append(hd, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    if (out->body.data && out->body.data[0] == '{')
        out->json = json_loadb(out->body.data, out->body.len, 0, NULL);
}

static const char *jstr(json_t *o, const char *path)
{
    char buf[256], *save = NULL, *tok;

    cd_strlcpy(buf, path, sizeof(buf));
    for (tok = strtok_r(buf, ".", &save); tok && o;
         tok = strtok_r(NULL, ".", &save))
        o = json_object_get(o, tok);
    return json_string_value(o);
}

static json_int_t jint(json_t *o, const char *path)
{
    char buf[256], *save = NULL, *tok;

    cd_strlcpy(buf, path, sizeof(buf));
    for (tok = strtok_r(buf, ".", &save); tok && o;
         tok = strtok_r(NULL, ".", &save))
        o = json_object_get(o, tok);
    return json_integer_value(o);
}

#define SESSION_BODY                                                         \
    "mode=payment"                                                           \
    "&line_items[0][price_data][currency]=usd"                               \
    "&line_items[0][price_data][unit_amount]=2699"                           \
    "&line_items[0][price_data][product_data][name]=Credit%20pack%20500"     \
    "&line_items[0][quantity]=1"                                             \
    "&success_url=http%3A%2F%2F127.0.0.1%3A9%2Fok%3Fsession_id%3D%7B"        \
    "CHECKOUT_SESSION_ID%7D"                                                 \
    "&cancel_url=http%3A%2F%2F127.0.0.1%3A9%2Fcancel"                        \
    "&client_reference_id=acct_1"                                            \
    "&customer_creation=always"                                              \
    "&metadata[order_id]=ord_1"                                              \
    "&payment_intent_data[setup_future_usage]=off_session"                   \
    "&payment_intent_data[metadata][order_id]=ord_1"

/* Creates a session; copies its id into id (>= 128 bytes). */
static void new_session(char *id)
{
    struct resp r;

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded", SESSION_BODY);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    cd_strlcpy(id, jstr(r.json, "id"), 128);
    resp_free(&r);
}

/* ---- tests ---- */

static void test_health_and_auth(void **state)
{
    struct resp r;

    (void)state;
    req(&r, "GET", "/_sandbox/health", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    resp_free(&r);

    req(&r, "GET", "/v1/customers", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(jstr(r.json, "error.type"), "invalid_request_error");
    resp_free(&r);

    req(&r, "GET", "/v1/customers", "sk_live_secretsecretsecret9876", NULL,
        NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(jstr(r.json, "error.message"),
                           "Invalid API Key provided: sk_live_****9876"));
    assert_null(strstr(r.body.data, "secretsecret"));
    resp_free(&r);

    req(&r, "GET", "/v1/customers", KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "object"), "list");
    resp_free(&r);

    req(&r, "GET", "/v1/nothing_here", KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(
        strstr(jstr(r.json, "error.message"), "Unrecognized request URL"));
    resp_free(&r);
}

static void test_session_create_and_validation(void **state)
{
    struct resp r;

    (void)state;
    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded", SESSION_BODY);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "object"), "checkout.session");
    assert_true(strncmp(jstr(r.json, "id"), "cs_test_", 8) == 0);
    assert_string_equal(jstr(r.json, "status"), "open");
    assert_string_equal(jstr(r.json, "payment_status"), "unpaid");
    assert_string_equal(jstr(r.json, "currency"), "usd");
    assert_int_equal(jint(r.json, "amount_total"), 2699);
    assert_string_equal(jstr(r.json, "client_reference_id"), "acct_1");
    assert_string_equal(jstr(r.json, "metadata.order_id"), "ord_1");
    assert_true(json_is_null(json_object_get(r.json, "payment_intent")));
    assert_true(json_is_null(json_object_get(r.json, "customer")));
    assert_true(json_is_false(json_object_get(r.json, "livemode")));
    assert_true(strncmp(jstr(r.json, "url"), F.base, strlen(F.base)) == 0);
    assert_non_null(strstr(jstr(r.json, "url"), "/checkout/cs_test_"));
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        "mode=payment&success_url=http%3A%2F%2Fx%2F");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.type"), "invalid_request_error");
    assert_string_equal(jstr(r.json, "error.code"), "parameter_missing");
    assert_string_equal(jstr(r.json, "error.param"), "line_items");
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        "mode=payment&line_items[0][price_data][currency]=usd"
        "&line_items[0][price_data][unit_amount]=abc"
        "&line_items[0][price_data][product_data][name]=x"
        "&line_items[0][quantity]=1");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.param"),
                        "line_items[0][price_data][unit_amount]");
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        "mode=payment&customer=cus_nope&line_items[0][price_data][currency]="
        "usd&line_items[0][price_data][unit_amount]=100"
        "&line_items[0][price_data][product_data][name]=x"
        "&line_items[0][quantity]=1");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.code"), "resource_missing");
    resp_free(&r);

    req(&r, "GET", "/v1/checkout/sessions/cs_test_nope", KEY, NULL, NULL,
        NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(jstr(r.json, "error.code"), "resource_missing");
    resp_free(&r);
}

/* Stripe's strictness: unknown keys (top level, nested, GET query) are
 * 400 parameter_unknown naming the key; a JSON body is refused; a
 * currency is lower-cased and an unknown one refused. */
static void test_strict_params(void **state)
{
    struct resp r;

    (void)state;
    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded", SESSION_BODY "&colour=red");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.type"), "invalid_request_error");
    assert_string_equal(jstr(r.json, "error.code"), "parameter_unknown");
    assert_string_equal(jstr(r.json, "error.param"), "colour");
    assert_string_equal(jstr(r.json, "error.message"),
                        "Received unknown parameter: colour");
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        SESSION_BODY "&line_items[0][pricedata][currency]=usd");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.code"), "parameter_unknown");
    assert_string_equal(jstr(r.json, "error.param"),
                        "line_items[0][pricedata][currency]");
    resp_free(&r);

    req(&r, "GET", "/v1/customers?limit=2&emial=a%40b.c", KEY, NULL, NULL,
        NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.code"), "parameter_unknown");
    assert_string_equal(jstr(r.json, "error.param"), "emial");
    resp_free(&r);

    req(&r, "POST", "/v1/customers", KEY, NULL,
        "application/x-www-form-urlencoded", "metadata[a][b]=1&%FF%0A=2");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.param"), "metadata[a][b]");
    resp_free(&r);

    req(&r, "POST", "/v1/customers", KEY, NULL,
        "application/x-www-form-urlencoded", "email=a%40b.c&%FF%0Ax=2");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.param"), "??x");
    assert_string_equal(jstr(r.json, "error.message"),
                        "Received unknown parameter: ??x");
    resp_free(&r);

    req(&r, "GET", "/v1/events?types[0]=a.b&created[gt]=1&expand[]=data", KEY,
        NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    req(&r, "POST", "/v1/customers", KEY, NULL, "application/json",
        "{\"email\":\"a@b.c\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.type"), "invalid_request_error");
    assert_non_null(strstr(jstr(r.json, "error.message"),
                           "application/x-www-form-urlencoded"));
    resp_free(&r);

    req(&r, "POST", "/v1/customers", KEY, NULL,
        "application/x-www-form-urlencoded",
        "email=a%40b.c&metadata[k]=v&name=A%20B");
    assert_int_equal(r.status, 200);
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        "mode=payment&line_items[0][price_data][currency]=USD"
        "&line_items[0][price_data][unit_amount]=100"
        "&line_items[0][price_data][product_data][name]=x"
        "&line_items[0][quantity]=1");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "currency"), "usd");
    resp_free(&r);

    req(&r, "POST", "/v1/checkout/sessions", KEY, NULL,
        "application/x-www-form-urlencoded",
        "mode=payment&line_items[0][price_data][currency]=xyz"
        "&line_items[0][price_data][unit_amount]=100"
        "&line_items[0][price_data][product_data][name]=x"
        "&line_items[0][quantity]=1");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.param"),
                        "line_items[0][price_data][currency]");
    assert_non_null(
        strstr(jstr(r.json, "error.message"), "Invalid currency: xyz"));
    resp_free(&r);
}

static void test_idempotency(void **state)
{
    struct resp a, b, c;
    char key[64];

    (void)state;
    cd_random_id("idem_", key, sizeof(key));
    req(&a, "POST", "/v1/checkout/sessions", KEY, key,
        "application/x-www-form-urlencoded", SESSION_BODY);
    assert_int_equal(a.status, 200);
    req(&b, "POST", "/v1/checkout/sessions", KEY, key,
        "application/x-www-form-urlencoded", SESSION_BODY);
    assert_int_equal(b.status, 200);
    assert_string_equal(jstr(a.json, "id"), jstr(b.json, "id"));
    assert_non_null(strcasestr(b.headers.data, "Idempotent-Replayed: true"));
    assert_null(strcasestr(a.headers.data, "Idempotent-Replayed"));
    req(&c, "POST", "/v1/checkout/sessions", KEY, key,
        "application/x-www-form-urlencoded", SESSION_BODY "&metadata[x]=y");
    assert_int_equal(c.status, 400);
    assert_string_equal(jstr(c.json, "error.type"), "idempotency_error");
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);

    /* The same key on customers: one customer. */
    cd_random_id("idem_", key, sizeof(key));
    req(&a, "POST", "/v1/customers", KEY, key,
        "application/x-www-form-urlencoded", "email=a%40example.com");
    req(&b, "POST", "/v1/customers", KEY, key,
        "application/x-www-form-urlencoded", "email=a%40example.com");
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "object"), "customer");
    assert_string_equal(jstr(a.json, "email"), "a@example.com");
    assert_string_equal(jstr(a.json, "id"), jstr(b.json, "id"));
    resp_free(&a);
    resp_free(&b);
}

static void test_complete_and_webhook(void **state)
{
    struct resp r;
    char id[128], path[256];
    json_t *ev;
    const char *pi, *cus;

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"card\":\"4242 4242 4242 4242\",\"email\":\"buyer@example.com\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "complete");
    assert_string_equal(jstr(r.json, "payment_status"), "paid");
    pi = jstr(r.json, "payment_intent");
    cus = jstr(r.json, "customer");
    assert_non_null(pi);
    assert_non_null(cus);
    assert_true(strncmp(pi, "pi_", 3) == 0);
    assert_true(strncmp(cus, "cus_", 4) == 0);
    assert_string_equal(jstr(r.json, "customer_details.email"),
                        "buyer@example.com");
    resp_free(&r);

    ev = rx_wait("checkout.session.completed", id);
    assert_non_null(ev);
    assert_string_equal(jstr(ev, "object"), "event");
    assert_true(strncmp(jstr(ev, "id"), "evt_", 4) == 0);
    assert_string_equal(jstr(ev, "data.object.payment_status"), "paid");
    assert_string_equal(jstr(ev, "data.object.metadata.order_id"), "ord_1");
    json_decref(ev);
    pthread_mutex_lock(&rx_mu);
    assert_int_equal(rx_bad_sig, 0);
    assert_string_equal(rx_user_agent,
                        "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    pthread_mutex_unlock(&rx_mu);

    /* Expanded reads. */
    snprintf(path, sizeof(path),
             "/v1/checkout/sessions/%s?expand[]=payment_intent.latest_charge",
             id);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "payment_intent.object"),
                        "payment_intent");
    assert_string_equal(jstr(r.json, "payment_intent.status"), "succeeded");
    assert_int_equal(jint(r.json, "payment_intent.amount"), 2699);
    assert_string_equal(jstr(r.json, "payment_intent.metadata.order_id"),
                        "ord_1");
    assert_string_equal(jstr(r.json, "payment_intent.setup_future_usage"),
                        "off_session");
    assert_string_equal(jstr(r.json, "payment_intent.latest_charge.object"),
                        "charge");
    assert_string_equal(
        jstr(
            r.json,
            "payment_intent.latest_charge.payment_method_details.card.last4"),
        "4242");
    assert_int_equal(
        jint(r.json, "payment_intent.latest_charge.amount_captured"), 2699);
    {
        char pm_path[256];
        const char *pm = jstr(r.json, "payment_intent.payment_method");
        struct resp r2;
        assert_non_null(pm);
        snprintf(pm_path, sizeof(pm_path), "/v1/payment_methods?customer=%s",
                 jstr(r.json, "customer"));
        req(&r2, "GET", pm_path, KEY, NULL, NULL, NULL);
        assert_int_equal(r2.status, 200);
        assert_int_equal(json_array_size(json_object_get(r2.json, "data")),
                         1);
        assert_string_equal(
            jstr(json_array_get(json_object_get(r2.json, "data"), 0), "id"),
            pm);
        resp_free(&r2);
    }
    resp_free(&r);

    snprintf(path, sizeof(path),
             "/v1/checkout/sessions/%s?expand[0]=line_items", id);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(
        jstr(
            json_array_get(json_object_get(
                               json_object_get(r.json, "line_items"), "data"),
                           0),
            "description"),
        "Credit pack 500");
    resp_free(&r);

    /* Paying twice is refused. */
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"card\":\"4242424242424242\"}");
    assert_int_equal(r.status, 400);
    resp_free(&r);

    req(&r, "POST", "/_sandbox/checkout/cs_test_nope/complete", NULL, NULL,
        "application/json", "{\"card\":\"4242424242424242\"}");
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

static void test_declines(void **state)
{
    static const struct {
        const char *card, *code, *decline;
    } cases[] = {
        {"4000000000000002", "card_declined", "generic_decline"},
        {"4000 0000 0000 9995", "card_declined", "insufficient_funds"},
        {"4000000000000069", "expired_card", "expired_card"},
        {"4000000000000077", "expired_card", "expired_card"},
        {"4000000000000127", "incorrect_cvc", "incorrect_cvc"},
        {"4000000000000119", "processing_error", "processing_error"},
        {"4242424242424241", "incorrect_number", NULL},
    };
    struct resp r;
    char id[128], path[256], body[128];

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    for (size_t i = 0; i < CD_ARRAY_LEN(cases); i++) {
        snprintf(body, sizeof(body), "{\"card\":\"%s\"}", cases[i].card);
        req(&r, "POST", path, NULL, NULL, "application/json", body);
        assert_int_equal(r.status, 402);
        assert_string_equal(jstr(r.json, "error.type"), "card_error");
        assert_string_equal(jstr(r.json, "error.code"), cases[i].code);
        if (cases[i].decline)
            assert_string_equal(jstr(r.json, "error.decline_code"),
                                cases[i].decline);
        resp_free(&r);
    }
    /* Still open: a good card now works (form body this time). */
    snprintf(path, sizeof(path), "/v1/checkout/sessions/%s", id);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_string_equal(jstr(r.json, "status"), "open");
    resp_free(&r);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/x-www-form-urlencoded",
        "card=5555+5555+5555+4444");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "complete");
    resp_free(&r);
    {
        json_t *ev = rx_wait("checkout.session.completed", id);
        assert_non_null(ev);
        json_decref(ev);
    }
}

static void test_expire(void **state)
{
    struct resp r;
    char id[128], path[256];
    json_t *ev;

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/v1/checkout/sessions/%s/expire", id);
    req(&r, "POST", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "expired");
    resp_free(&r);
    req(&r, "POST", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.type"), "invalid_request_error");
    resp_free(&r);
    ev = rx_wait("checkout.session.expired", id);
    assert_non_null(ev);
    json_decref(ev);

    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"card\":\"4242424242424242\"}");
    assert_int_equal(r.status, 400);
    resp_free(&r);

    /* Control expire. */
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "expired");
    resp_free(&r);
    snprintf(path, sizeof(path), "/checkout/%s", id);
    req(&r, "GET", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "expired"));
    resp_free(&r);
}

static void test_hosted_page(void **state)
{
    struct resp r;
    char id[128], path[256], want[256];

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/checkout/%s", id);
    req(&r, "GET", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "Credit pack 500"));
    assert_non_null(strstr(r.body.data, "$26.99 USD"));
    assert_non_null(
        strstr(r.body.data, "<label for=\"email\">Email</label>"));
    assert_non_null(
        strstr(r.body.data, "<label for=\"card\">Card number</label>"));
    assert_non_null(strstr(r.body.data, "<label for=\"exp\">Expiry</label>"));
    assert_non_null(strstr(r.body.data, "<label for=\"cvc\">CVC</label>"));
    assert_non_null(strstr(r.body.data, ">Pay</button>"));
    assert_non_null(strstr(r.body.data, "Cancel and go back"));
    assert_non_null(strcasestr(r.headers.data, "Content-Security-Policy: "
                                               "default-src 'none'"));
    resp_free(&r);

    snprintf(path, sizeof(path), "/checkout/%s/pay", id);
    req(&r, "POST", path, NULL, NULL, "application/x-www-form-urlencoded",
        "email=p%40example.com&card=4000+0000+0000+9995&exp=12+%2F+34"
        "&cvc=123");
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body.data, "role=\"alert\""));
    assert_non_null(strstr(r.body.data, "Your card has insufficient funds."));
    assert_non_null(strstr(r.body.data, "p@example.com"));
    resp_free(&r);

    req(&r, "POST", path, NULL, NULL, "application/x-www-form-urlencoded",
        "email=p%40example.com&card=4000+0000+0000+0127&exp=12%2F34&cvc=1");
    assert_int_equal(r.status, 402);
    assert_non_null(strstr(r.body.data, "role=\"alert\""));
    resp_free(&r);

    req(&r, "POST", path, NULL, NULL, "application/x-www-form-urlencoded",
        "email=p%40example.com&card=4242+4242+4242+4242&exp=12+%2F+34"
        "&cvc=123");
    assert_int_equal(r.status, 303);
    snprintf(want, sizeof(want),
             "Location: http://127.0.0.1:9/ok?session_id=%s", id);
    assert_non_null(strcasestr(r.headers.data, want));
    resp_free(&r);

    snprintf(path, sizeof(path), "/checkout/%s", id);
    req(&r, "GET", path, NULL, NULL, NULL, NULL);
    assert_non_null(strstr(r.body.data, "complete"));
    resp_free(&r);

    req(&r, "GET", "/checkout/cs_test_none", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

static void test_events_and_refund(void **state)
{
    struct resp r, r2;
    char id[128], path[256], body[256];
    const char *pi;
    json_t *data;

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"card\":\"4242424242424242\"}");
    assert_int_equal(r.status, 200);
    pi = jstr(r.json, "payment_intent");
    snprintf(body, sizeof(body), "payment_intent=%s&amount=1000", pi);
    req(&r2, "POST", "/v1/refunds", KEY, NULL,
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r2.status, 200);
    assert_string_equal(jstr(r2.json, "object"), "refund");
    assert_int_equal(jint(r2.json, "amount"), 1000);
    assert_string_equal(jstr(r2.json, "status"), "succeeded");
    resp_free(&r2);
    req(&r2, "POST", "/v1/refunds", KEY, NULL,
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r2.status, 200);
    resp_free(&r2);
    /* Only 699 left. */
    req(&r2, "POST", "/v1/refunds", KEY, NULL,
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r2.status, 400);
    resp_free(&r2);
    snprintf(path, sizeof(path),
             "/v1/payment_intents/%s?expand[]=latest_charge", pi);
    req(&r2, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r2.status, 200);
    assert_int_equal(jint(r2.json, "latest_charge.amount_refunded"), 2000);
    resp_free(&r2);
    resp_free(&r);

    /* Newest first, filtered, paginated. */
    req(&r, "GET", "/v1/events?limit=3", KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 3);
    assert_true(json_is_true(json_object_get(r.json, "has_more")));
    assert_string_equal(jstr(json_array_get(data, 0), "type"),
                        "charge.refunded");
    snprintf(path, sizeof(path), "/v1/events?limit=2&starting_after=%s",
             jstr(json_array_get(data, 2), "id"));
    req(&r2, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r2.status, 200);
    assert_int_equal(json_array_size(json_object_get(r2.json, "data")), 2);
    resp_free(&r2);
    req(&r2, "GET", "/v1/events?types[]=checkout.session.completed&limit=100",
        KEY, NULL, NULL, NULL);
    assert_int_equal(r2.status, 200);
    {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r2.json, "data"), i, e)
            assert_string_equal(jstr(e, "type"),
                                "checkout.session.completed");
        assert_true(json_array_size(json_object_get(r2.json, "data")) >= 1);
    }
    resp_free(&r2);
    snprintf(path, sizeof(path), "/v1/events/%s",
             jstr(json_array_get(data, 0), "id"));
    req(&r2, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r2.status, 200);
    assert_string_equal(jstr(r2.json, "type"), "charge.refunded");
    resp_free(&r2);
    resp_free(&r);
}

/* POST /_sandbox/charges/{id}/dispute: open (charge.dispute.created),
 * close won/lost (charge.dispute.closed), GET /v1/disputes/{id}. */
static void test_disputes(void **state)
{
    struct resp r, d;
    char id[128], path[256], ch[128], dp[128], pi[128];
    json_t *ev;

    (void)state;
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"card\":\"4242424242424242\"}");
    assert_int_equal(r.status, 200);
    cd_strlcpy(pi, jstr(r.json, "payment_intent"), sizeof(pi));
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    cd_strlcpy(ch, jstr(r.json, "latest_charge"), sizeof(ch));
    resp_free(&r);

    req(&r, "POST", "/_sandbox/charges/ch_nope/dispute", NULL, NULL,
        "application/json", "{}");
    assert_int_equal(r.status, 404);
    resp_free(&r);
    snprintf(path, sizeof(path), "/_sandbox/charges/%s/dispute", ch);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"status\":\"maybe\"}");
    assert_int_equal(r.status, 400);
    resp_free(&r);

    req(&d, "POST", path, NULL, NULL, "application/json",
        "{\"status\":null}");
    assert_int_equal(d.status, 200);
    assert_string_equal(jstr(d.json, "object"), "dispute");
    assert_string_equal(jstr(d.json, "status"), "needs_response");
    assert_string_equal(jstr(d.json, "charge"), ch);
    assert_string_equal(jstr(d.json, "payment_intent"), pi);
    assert_int_equal(jint(d.json, "amount"), 2699);
    cd_strlcpy(dp, jstr(d.json, "id"), sizeof(dp));
    assert_int_equal(strncmp(dp, "dp_", 3), 0);
    ev = rx_wait("charge.dispute.created", dp);
    assert_non_null(ev);
    json_decref(ev);
    resp_free(&d);
    /* open already: a second open is refused */
    req(&r, "POST", path, NULL, NULL, "application/json", "{}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/charges/%s", ch);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_true(json_is_true(json_object_get(r.json, "disputed")));
    resp_free(&r);

    snprintf(path, sizeof(path), "/_sandbox/charges/%s/dispute", pi);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"status\":\"won\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "id"), dp);
    assert_string_equal(jstr(r.json, "status"), "won");
    ev = rx_wait("charge.dispute.closed", dp);
    assert_non_null(ev);
    json_decref(ev);
    assert_int_equal(rx_count("charge.dispute.created", dp), 1);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/disputes/%s", dp);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "won");
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/disputes?charge=%s", ch);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    resp_free(&r);
    /* closed: reopening without a status is refused; with a status a
     * new dispute is opened and closed at once */
    snprintf(path, sizeof(path), "/_sandbox/charges/%s/dispute", ch);
    req(&r, "POST", path, NULL, NULL, "application/json", "{}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(&r, "POST", path, NULL, NULL, "application/json",
        "{\"status\":\"lost\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "lost");
    assert_true(strcmp(jstr(r.json, "id"), dp) != 0);
    resp_free(&r);
}

static void test_retry_and_switches(void **state)
{
    struct resp r;
    char id[128], path[256];
    json_t *ev;

    (void)state;
    pthread_mutex_lock(&rx_mu);
    rx_fail_next = 2; /* the first two attempts get a 500 */
    pthread_mutex_unlock(&rx_mu);
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    ev = rx_wait("checkout.session.expired", id);
    assert_non_null(ev);
    json_decref(ev);

    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"duplicate_deliveries\":3}");
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "duplicate_deliveries"), 3);
    resp_free(&r);
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, NULL, NULL, NULL);
    resp_free(&r);
    for (int i = 0; i < 1000 && rx_count("checkout.session.expired", id) < 3;
         i++)
        usleep(20000);
    assert_int_equal(rx_count("checkout.session.expired", id), 3);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"duplicate_deliveries\":1,\"shuffle\":false}");
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* delivery_attempts: bounded, reported; with 1, one failed answer gives
 * the delivery up (failed + 1), and the default 12 is back after. */
static void test_delivery_attempts(void **state)
{
    struct resp r;
    char id[128], path[256];
    json_int_t failed;

    (void)state;
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_attempts\":0}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_attempts\":1001}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_attempts\":1}");
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "delivery_attempts"), 1);
    failed = jint(r.json, "failed");
    resp_free(&r);
    pthread_mutex_lock(&rx_mu);
    rx_fail_next = 1;
    pthread_mutex_unlock(&rx_mu);
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    for (int i = 0; i < 1000; i++) {
        req(&r, "GET", "/_sandbox/config", NULL, NULL, NULL, NULL);
        if (jint(r.json, "failed") > failed) {
            resp_free(&r);
            break;
        }
        resp_free(&r);
        usleep(20000);
    }
    req(&r, "GET", "/_sandbox/config", NULL, NULL, NULL, NULL);
    assert_int_equal(jint(r.json, "failed"), failed + 1);
    resp_free(&r);
    assert_int_equal(rx_count("checkout.session.expired", id), 0);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_attempts\":12}");
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "delivery_attempts"), 12);
    resp_free(&r);
}

/* delivery_jitter_ms: bounded, reported, and every copy still arrives. */
static void test_delivery_jitter(void **state)
{
    struct resp r;
    char id[128], path[256];

    (void)state;
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_jitter_ms\":60001}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_jitter_ms\":-1}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_jitter_ms\":300,\"duplicate_deliveries\":2}");
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "delivery_jitter_ms"), 300);
    assert_int_equal(jint(r.json, "duplicate_deliveries"), 2);
    resp_free(&r);
    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/expire", id);
    req(&r, "POST", path, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    for (int i = 0; i < 1000 && rx_count("checkout.session.expired", id) < 2;
         i++)
        usleep(20000);
    assert_int_equal(rx_count("checkout.session.expired", id), 2);
    req(&r, "POST", "/_sandbox/config", NULL, NULL, "application/json",
        "{\"delivery_jitter_ms\":0,\"duplicate_deliveries\":1}");
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "delivery_jitter_ms"), 0);
    resp_free(&r);
}

/* Pays a new session with card; copies the customer and the saved
 * PaymentMethod ids out (>= 128 bytes each). */
static void paid_session(const char *card, char *cus, char *pm)
{
    struct resp r;
    char id[128], path[256], body[128];

    new_session(id);
    snprintf(path, sizeof(path), "/_sandbox/checkout/%s/complete", id);
    snprintf(body, sizeof(body), "{\"card\":\"%s\"}", card);
    req(&r, "POST", path, NULL, NULL, "application/json", body);
    assert_int_equal(r.status, 200);
    cd_strlcpy(cus, jstr(r.json, "customer"), 128);
    resp_free(&r);
    snprintf(path, sizeof(path), "/v1/payment_methods?customer=%s&type=card",
             cus);
    req(&r, "GET", path, KEY, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    cd_strlcpy(pm,
               jstr(json_array_get(json_object_get(r.json, "data"), 0), "id"),
               128);
    resp_free(&r);
}

static void test_off_session(void **state)
{
    struct resp r;
    char cus[128], pm[128], body[512];
    json_t *ev;

    (void)state;
    paid_session("4242424242424242", cus, pm);
    snprintf(body, sizeof(body),
             "amount=1000&currency=usd&customer=%s&payment_method=%s"
             "&confirm=true&off_session=true&metadata[order_id]=ord_top",
             cus, pm);
    req(&r, "POST", "/v1/payment_intents", KEY, "topup-1",
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "succeeded");
    assert_int_equal(jint(r.json, "amount_received"), 1000);
    assert_string_equal(jstr(r.json, "metadata.order_id"), "ord_top");
    ev = rx_wait("payment_intent.succeeded", jstr(r.json, "id"));
    assert_non_null(ev);
    json_decref(ev);
    resp_free(&r);

    /* A card that saves fine but fails off-session. */
    paid_session("4000000000000341", cus, pm);
    snprintf(body, sizeof(body),
             "amount=1000&currency=usd&customer=%s&payment_method=%s"
             "&confirm=true&off_session=true",
             cus, pm);
    req(&r, "POST", "/v1/payment_intents", KEY, "topup-2",
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r.status, 402);
    assert_string_equal(jstr(r.json, "error.type"), "card_error");
    assert_string_equal(jstr(r.json, "error.code"), "card_declined");
    assert_string_equal(jstr(r.json, "error.payment_intent.status"),
                        "requires_payment_method");
    ev = rx_wait("payment_intent.payment_failed",
                 jstr(r.json, "error.payment_intent.id"));
    assert_non_null(ev);
    json_decref(ev);
    resp_free(&r);
    /* The saved 402 replays. */
    req(&r, "POST", "/v1/payment_intents", KEY, "topup-2",
        "application/x-www-form-urlencoded", body);
    assert_int_equal(r.status, 402);
    assert_non_null(strcasestr(r.headers.data, "Idempotent-Replayed: true"));
    resp_free(&r);

    req(&r, "POST", "/v1/payment_intents", KEY, NULL,
        "application/x-www-form-urlencoded",
        "amount=1000&currency=usd&payment_method=pm_card_visa_chargeDeclined"
        "&confirm=true");
    assert_int_equal(r.status, 402);
    assert_string_equal(jstr(r.json, "error.decline_code"),
                        "generic_decline");
    resp_free(&r);

    /* Client-secret flow: create, then pay through the control route. */
    req(&r, "POST", "/v1/payment_intents", KEY, NULL,
        "application/x-www-form-urlencoded", "amount=2500&currency=usd");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "requires_payment_method");
    assert_non_null(strstr(jstr(r.json, "client_secret"), "_secret_"));
    {
        char path[256];
        struct resp r2;
        snprintf(path, sizeof(path), "/_sandbox/payment_intents/%s/confirm",
                 jstr(r.json, "id"));
        req(&r2, "POST", path, NULL, NULL, "application/json",
            "{\"card\":\"4000000000009995\"}");
        assert_int_equal(r2.status, 402);
        resp_free(&r2);
        req(&r2, "POST", path, NULL, NULL, "application/json",
            "{\"card\":\"4242424242424242\"}");
        assert_int_equal(r2.status, 200);
        assert_string_equal(jstr(r2.json, "status"), "succeeded");
        resp_free(&r2);
    }
    resp_free(&r);
}

static void test_loopback_only(void **state)
{
    struct cd_sandbox_config sc;
    struct cd_error err;
    struct cd_sandbox *s;

    (void)state;
    memset(&sc, 0, sizeof(sc));
    sc.listen = "0.0.0.0:0";
    assert_null(cd_sandbox_start(&sc, &err));
    assert_string_equal(err.code, "not_loopback");
    assert_non_null(strstr(err.message, "SANDBOX_ALLOW_NON_LOOPBACK"));
    sc.listen = "192.168.1.1:0";
    assert_null(cd_sandbox_start(&sc, &err));
    /* The override: it listens on any address. */
    sc.listen = "0.0.0.0:0";
    sc.allow_non_loopback = 1;
    s = cd_sandbox_start(&sc, &err);
    assert_non_null(s);
    assert_true(cd_sandbox_port(s) > 0);
    cd_sandbox_stop(s);
    sc.allow_non_loopback = 0;
    sc.listen = "127.0.0.1:0";
    sc.webhook_url = "http://127.0.0.1:1/x";
    assert_null(cd_sandbox_start(&sc, &err)); /* no secret */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_auth),
        cmocka_unit_test(test_session_create_and_validation),
        cmocka_unit_test(test_strict_params),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_complete_and_webhook),
        cmocka_unit_test(test_declines),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_hosted_page),
        cmocka_unit_test(test_events_and_refund),
        cmocka_unit_test(test_disputes),
        cmocka_unit_test(test_retry_and_switches),
        cmocka_unit_test(test_delivery_jitter),
        cmocka_unit_test(test_delivery_attempts),
        cmocka_unit_test(test_off_session),
        cmocka_unit_test(test_loopback_only),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
