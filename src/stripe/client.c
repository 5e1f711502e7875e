/*
 * client.c - the Stripe API client on libcurl; see client.h for the contract.
 *
 * One easy handle per cd_stripe_request() call (reused for its retries, so
 * the connection is kept), curl_global_init() once through pthread_once.
 * Retry policy follows stripe-node and stripe-python (REFERENCE.md 4.4):
 * network errors and timeouts, 409 and >= 500 are retried; other statuses,
 * 429 included, are not; "Stripe-Should-Retry: true|false" overrides both.
 * Backoff is min(base * 2^(n-1), max) scaled by a jitter in [0.5, 1.0],
 * never below base, and at least a Retry-After of up to 60 s. Every attempt
 * carries the same Idempotency-Key. The secret key lives only in the
 * Authorization header and is wiped from memory after each call; it is
 * never logged.
 */
#include "stripe/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "stripe/form.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "stripe"
#define RESPONSE_MAX (4u * 1024 * 1024) /* bytes of response body kept */
#define REQUEST_MAX (1u * 1024 * 1024)  /* bytes of form body or query */
#define PATH_MAX_LEN 1024
#define KEY_MAX_LEN 255
#define MAX_RETRIES_CAP 10
#define RETRY_AFTER_MAX_MS 60000L

struct cd_stripe_client {
    char *api_base;
    char *secret_key;
    long connect_timeout_ms;
    long timeout_ms;
    int max_retries;
    long retry_base_ms;
    long retry_max_ms;
};

/* What one attempt learned from the response headers. */
struct resp_meta {
    int should_retry; /* -1 absent, 0 "false", 1 "true" */
    long retry_after_ms;
    char request_id[64];
};

struct sink {
    struct cd_buf body;
    int too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Printable ASCII without spaces, 1..max bytes. */
static int token_ok(const char *s, size_t max, int allow_space)
{
    size_t n;

    if (!s || !*s)
        return 0;
    for (n = 0; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= max || c > 0x7e || c < 0x20 || (c == ' ' && !allow_space))
            return 0;
    }
    return 1;
}

/*
 * New client (copies the strings), or NULL if api_base is not an http(s)
 * URL or secret_key is empty or not a header-safe token. Zero timeouts and
 * backoff values take the defaults of client.h; max_retries 0 means the
 * default 2, a negative value means no retries, at most 10 are made.
 */
struct cd_stripe_client *
cd_stripe_client_new(const struct cd_stripe_config *cfg)
{
    struct cd_stripe_client *c;
    size_t n;

    if (!cfg || !cfg->api_base || !token_ok(cfg->secret_key, 512, 0))
        return NULL;
    if (strncmp(cfg->api_base, "http://", 7) != 0 &&
        strncmp(cfg->api_base, "https://", 8) != 0)
        return NULL;
    if (!token_ok(cfg->api_base, 512, 0))
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->api_base = strdup(cfg->api_base);
    c->secret_key = strdup(cfg->secret_key);
    if (!c->api_base || !c->secret_key) {
        cd_stripe_client_free(c);
        return NULL;
    }
    n = strlen(c->api_base);
    while (n > 0 && c->api_base[n - 1] == '/')
        c->api_base[--n] = '\0';
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0
                                ? cfg->connect_timeout_ms
                                : 5000;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    if (cfg->max_retries == 0)
        c->max_retries = 2;
    else if (cfg->max_retries < 0)
        c->max_retries = 0;
    else
        c->max_retries = cfg->max_retries > MAX_RETRIES_CAP
                             ? MAX_RETRIES_CAP
                             : cfg->max_retries;
    c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 500;
    c->retry_max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 5000;
    if (c->retry_max_ms < c->retry_base_ms)
        c->retry_max_ms = c->retry_base_ms;
    pthread_once(&curl_once, curl_init_once);
    return c;
}

/* Frees the client and wipes the secret key; NULL is fine. */
void cd_stripe_client_free(struct cd_stripe_client *c)
{
    if (!c)
        return;
    if (c->secret_key) {
        OPENSSL_cleanse(c->secret_key, strlen(c->secret_key));
        free(c->secret_key);
    }
    free(c->api_base);
    free(c);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;

    if (cd_buf_append(&s->body, data, n) != 0) {
        s->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Case-insensitive "Name:" match; returns the trimmed value or NULL. */
static const char *header_value(const char *line, size_t len,
                                const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *v, *end = line + len;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    v = line + nl + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
                       end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    struct resp_meta *m = userp;
    size_t len = size * nmemb, vlen;
    const char *v;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say) starts afresh. */
        m->should_retry = -1;
        m->retry_after_ms = 0;
        m->request_id[0] = '\0';
    } else if ((v = header_value(line, len, "Stripe-Should-Retry", &vlen))) {
        if (vlen == 4 && strncasecmp(v, "true", 4) == 0)
            m->should_retry = 1;
        else if (vlen == 5 && strncasecmp(v, "false", 5) == 0)
            m->should_retry = 0;
    } else if ((v = header_value(line, len, "Retry-After", &vlen))) {
        long secs = 0;
        size_t i;

        for (i = 0; i < vlen && i < 6 && v[i] >= '0' && v[i] <= '9'; i++)
            secs = secs * 10 + (v[i] - '0');
        if (i == vlen && vlen > 0)
            m->retry_after_ms = secs * 1000;
    } else if ((v = header_value(line, len, "Request-Id", &vlen))) {
        size_t i, o = 0;

        for (i = 0; i < vlen && o + 1 < sizeof(m->request_id); i++)
            if (v[i] > 0x20 && v[i] < 0x7f)
                m->request_id[o++] = v[i];
        m->request_id[o] = '\0';
    }
    return len;
}

static void sleep_ms(long ms)
{
    struct timespec ts, rem;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
}

/* The wait before retry number n (1-based). */
static long backoff_ms(const struct cd_stripe_client *c, int n,
                       long retry_after_ms)
{
    long d = c->retry_base_ms;
    uint32_t r;
    int i;

    for (i = 1; i < n && d < c->retry_max_ms; i++)
        d *= 2;
    if (d > c->retry_max_ms)
        d = c->retry_max_ms;
    cd_random_bytes(&r, sizeof(r));
    d = (long)((double)d * (0.5 + 0.5 * ((double)r / 4294967295.0)));
    if (d < c->retry_base_ms)
        d = c->retry_base_ms;
    if (retry_after_ms > d && retry_after_ms <= RETRY_AFTER_MAX_MS)
        d = retry_after_ms;
    return d;
}

/* Copies s into out keeping only printable characters (no CR/LF), cut on
 * a character boundary when it does not fit. */
static void clean_text(const char *s, char *out, size_t outsz)
{
    size_t o = 0;

    for (; s && *s && o + 1 < outsz; s++) {
        unsigned char ch = (unsigned char)*s;
        out[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    out[o] = '\0';
    if (s && *s)
        out[cd_utf8_cut(out, o)] = '\0';
}

/* Copies a machine code, keeping [A-Za-z0-9_.-] only. */
static void clean_code(const char *s, char *out, size_t outsz)
{
    size_t o = 0;

    for (; s && *s && o + 1 < outsz; s++) {
        char ch = *s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-')
            out[o++] = ch;
    }
    out[o] = '\0';
}

/* Fills err from Stripe's {"error":{...}} (body may be NULL). */
static void set_stripe_error(int status, const json_t *body,
                             struct cd_error *err)
{
    const json_t *e = json_object_get(body, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *decline = json_string_value(
        json_object_get(e, "decline_code"));
    char text[200], dc[64], cc[64];

    if (msg && *msg)
        clean_text(msg, text, sizeof(text));
    else
        snprintf(text, sizeof(text), "HTTP %d", status);
    clean_code(decline, dc, sizeof(dc));
    if (status == 402 && type && strcmp(type, "card_error") == 0) {
        clean_code(code, cc, sizeof(cc));
        if (!cc[0])
            snprintf(cc, sizeof(cc), "card_declined");
        if (dc[0])
            cd_error_set(err, CD_EK_PAYMENT, cc, NULL, "Stripe: %s (%s)",
                         text, dc);
        else
            cd_error_set(err, CD_EK_PAYMENT, cc, NULL, "Stripe: %s", text);
        return;
    }
    if (dc[0])
        cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "Stripe: %s (%s)", text, dc);
    else
        cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL, "Stripe: %s",
                     text);
}

/* Frees an slist after wiping each entry (one holds the secret key). */
static void free_headers(struct curl_slist *h)
{
    struct curl_slist *p;

    for (p = h; p; p = p->next)
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static struct curl_slist *build_headers(const struct cd_stripe_client *c,
                                        int is_post, const char *idem)
{
    struct curl_slist *h = NULL, *t;
    char line[600];
    int ok = 1;

#define ADD(s)                                                               \
    do {                                                                     \
        if (ok) {                                                            \
            t = curl_slist_append(h, (s));                                   \
            if (t)                                                           \
                h = t;                                                       \
            else                                                             \
                ok = 0;                                                      \
        }                                                                    \
    } while (0)
    snprintf(line, sizeof(line), "Authorization: Bearer %s", c->secret_key);
    ADD(line);
    OPENSSL_cleanse(line, sizeof(line));
    ADD("Stripe-Version: " CD_STRIPE_API_VERSION);
    ADD("Accept: application/json");
    ADD("User-Agent: creditd");
    ADD("Expect:"); /* no 100-continue round trip for larger bodies */
    if (is_post) {
        ADD("Content-Type: application/x-www-form-urlencoded");
        snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
        ADD(line);
    }
#undef ADD
    if (!ok) {
        free_headers(h);
        return NULL;
    }
    return h;
}

static int retryable_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_FAILED_INIT:
        return 0;
    default:
        return 1;
    }
}

/* One logical call in creditd_stripe_requests_total{method,outcome}. */
static void count_call(int is_post, int rc, int status)
{
    static const struct cd_metric_def calls = {
        "creditd_stripe_requests_total",
        "Stripe API calls (after retries) by method and outcome (ok, "
        "http_4xx, http_5xx, network).",
        CD_METRIC_COUNTER,
        {"method", "outcome"},
        NULL,
        0};
    const char *outcome = rc == 0         ? "ok"
                          : status >= 500 ? "http_5xx"
                          : status >= 400 ? "http_4xx"
                          : status > 0    ? "other"
                                          : "network";

    cd_metrics_add(NULL, &calls, 1, is_post ? "POST" : "GET", outcome, NULL);
}

/* One call's state, shared by its attempts. */
struct call {
    struct cd_stripe_client *c;
    const char *method, *path;
    int is_post, status;
    struct cd_buf form, url;
    struct sink sink;
    struct resp_meta meta;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    CURL *h;
    json_t *body;
};

/* What one attempt came to. */
enum verdict { ATTEMPT_DONE, ATTEMPT_FAILED, ATTEMPT_RETRY };

/* The arguments, the method (POST or GET) and libcurl's start-up. */
static int check_request(const struct cd_stripe_client *c, const char *method,
                         const char *path, const char *idempotency_key,
                         json_t **out, int *is_post, struct cd_error *err)
{
    if (!c || !method || !out)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Stripe request: bad arguments");
    if (strcmp(method, "POST") == 0)
        *is_post = 1;
    else if (strcmp(method, "GET") == 0)
        *is_post = 0;
    else
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Stripe request: unsupported method");
    if (!path || path[0] != '/' || !token_ok(path, PATH_MAX_LEN, 0))
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Stripe request: bad path");
    if (*is_post && !token_ok(idempotency_key, KEY_MAX_LEN, 1))
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Stripe POST %s without a valid Idempotency-Key",
                            path);
    if (pthread_once(&curl_once, curl_init_once) != 0 ||
        curl_init_rc != CURLE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "libcurl failed to initialise");
    return 0;
}

/* The base, the path and for a GET the encoded form as its query. */
static int build_url(struct call *k)
{
    if (cd_buf_appendf(&k->url, "%s%s", k->c->api_base, k->path) != 0 ||
        (!k->is_post && k->form.len &&
         cd_buf_appendf(&k->url, "%c%s", strchr(k->path, '?') ? '&' : '?',
                        k->form.data) != 0))
        return -1;
    return 0;
}

/* The headers and the easy handle with every option of the call. */
static int setup_handle(struct call *k, const char *idempotency_key)
{
    CURL *h;

    k->headers = build_headers(k->c, k->is_post, idempotency_key);
    k->h = h = curl_easy_init();
    if (!k->headers || !h)
        return -1;
    curl_easy_setopt(h, CURLOPT_URL, k->url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, k->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, k->c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k->sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &k->meta);
    if (k->is_post) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                         k->form.data ? k->form.data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)k->form.len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    return 0;
}

/* Forgets what the previous attempt received. */
static void reset_attempt(struct call *k)
{
    cd_buf_reset(&k->sink.body);
    k->sink.too_large = 0;
    k->meta.should_retry = -1;
    k->meta.retry_after_ms = 0;
    k->meta.request_id[0] = '\0';
    k->curl_err[0] = '\0';
    json_decref(k->body);
    k->body = NULL;
}

/* One attempt on the wire, logged at debug level; sets k->status. */
static CURLcode perform(struct call *k, int attempt, int64_t t0,
                        int *http_status)
{
    CURLcode cc;
    long code = 0;

    cc = curl_easy_perform(k->h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &code);
    k->status = (int)code;
    if (http_status)
        *http_status = k->status;
    cd_debug(MOD, "%s %s -> %d attempt %d %lld ms%s%s%s%s", k->method,
             k->path, k->status, attempt,
             (long long)((cd_mono_us() - t0) / 1000),
             k->meta.request_id[0] ? " " : "", k->meta.request_id,
             cc != CURLE_OK ? " curl: " : "",
             cc != CURLE_OK ? curl_easy_strerror(cc) : "");
    return cc;
}

/*
 * What the attempt came to: done (*rc set: a 2xx object in *out, or an
 * error no retry can mend), failed for good, or worth another attempt.
 */
static enum verdict judge(struct call *k, CURLcode cc, json_t **out, int *rc,
                          struct cd_error *err)
{
    long code = k->status;
    int retry;

    if (cc != CURLE_OK) {
        if (k->sink.too_large) {
            *rc = cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                               "Stripe response larger than %u bytes",
                               RESPONSE_MAX);
            return ATTEMPT_DONE;
        }
        retry = retryable_curl_error(cc);
    } else {
        if (k->sink.body.len)
            k->body = json_loadb(k->sink.body.data, k->sink.body.len, 0,
                                 NULL);
        if (code >= 200 && code < 300) {
            if (!json_is_object(k->body)) {
                *rc = cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                                   "Stripe: invalid JSON response "
                                   "(HTTP %ld)",
                                   code);
                return ATTEMPT_DONE;
            }
            *out = k->body;
            k->body = NULL;
            *rc = 0;
            return ATTEMPT_DONE;
        }
        if (k->meta.should_retry >= 0)
            retry = k->meta.should_retry;
        else
            retry = code == 409 || code >= 500;
    }
    return retry ? ATTEMPT_RETRY : ATTEMPT_FAILED;
}

/* The last attempt failed: the error (and Stripe's body in *out), logged. */
static int give_up(struct call *k, CURLcode cc, int attempt, json_t **out,
                   struct cd_error *err)
{
    int rc;

    if (cc != CURLE_OK) {
        rc = cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                          "Stripe unreachable: %s",
                          k->curl_err[0] ? k->curl_err
                                         : curl_easy_strerror(cc));
    } else {
        set_stripe_error(k->status, k->body, err);
        rc = -1;
        if (json_is_object(k->body)) {
            *out = k->body;
            k->body = NULL;
        }
    }
    if (k->status >= 400 && k->status < 500)
        cd_info(MOD, "%s %s: HTTP %d", k->method, k->path, k->status);
    else
        cd_warn(MOD, "%s %s failed after %d attempt%s: HTTP %d", k->method,
                k->path, attempt, attempt == 1 ? "" : "s", k->status);
    return rc;
}

/* Attempts until one is done, fails for good or the retries run out. */
static int run_attempts(struct call *k, json_t **out, int *http_status,
                        struct cd_error *err)
{
    int attempt, rc = -1;

    for (attempt = 1;; attempt++) {
        int64_t t0 = cd_mono_us();
        CURLcode cc;
        enum verdict v;

        reset_attempt(k);
        cc = perform(k, attempt, t0, http_status);
        v = judge(k, cc, out, &rc, err);
        if (v == ATTEMPT_DONE)
            return rc;
        if (v == ATTEMPT_FAILED || attempt > k->c->max_retries)
            return give_up(k, cc, attempt, out, err);
        sleep_ms(backoff_ms(k->c, attempt, k->meta.retry_after_ms));
    }
}

/* See client.h. */
int cd_stripe_request(struct cd_stripe_client *c, const char *method,
                      const char *path, const json_t *params,
                      const char *idempotency_key, json_t **out,
                      int *http_status, struct cd_error *err)
{
    struct call k;
    int rc = -1;

    if (out)
        *out = NULL;
    if (http_status)
        *http_status = 0;
    memset(&k, 0, sizeof(k));
    k.c = c;
    k.method = method;
    k.path = path;
    cd_buf_init(&k.form, REQUEST_MAX);
    cd_buf_init(&k.url, REQUEST_MAX + PATH_MAX_LEN + 1024);
    cd_buf_init(&k.sink.body, RESPONSE_MAX);

    rc = check_request(c, method, path, idempotency_key, out, &k.is_post,
                       err);
    if (rc != 0)
        return rc;
    if (params && cd_form_encode(params, &k.form) != 0) {
        cd_buf_free(&k.form);
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Stripe request: parameters cannot be encoded");
    }
    if (build_url(&k) != 0)
        rc = cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                          "Stripe request: URL too long");
    else if (setup_handle(&k, idempotency_key) != 0)
        rc = cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                          "Stripe request: out of memory");
    else
        rc = run_attempts(&k, out, http_status, err);

    count_call(k.is_post, rc, k.status);
    json_decref(k.body);
    if (k.h)
        curl_easy_cleanup(k.h);
    free_headers(k.headers);
    cd_buf_free(&k.form);
    cd_buf_free(&k.url);
    cd_buf_free(&k.sink.body);
    return rc;
}
