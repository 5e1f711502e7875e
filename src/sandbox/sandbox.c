/*
 * sandbox.c - the Stripe sandbox's life cycle and its dispatch function
 * (API-key auth, Idempotency-Key replay, the state lock).
 *
 * Routes (everything in memory; loopback only). Before any of them,
 * guard.c refuses a Host that is not loopback, a foreign Origin on a
 * state change, and a /_sandbox/ body that is not JSON as
 * application/json (or a form):
 *
 *   Stripe API (Authorization: Bearer sk_test_... or Basic; any sk_test_
 *   key works, anything else -> 401 in Stripe's shape; POSTs honour
 *   Idempotency-Key for 24 h: same key + same method, path and raw body ->
 *   the saved reply with "Idempotent-Replayed: true", same key with other
 *   parameters -> 400 idempotency_error):
 *     POST/GET /v1/customers, GET/POST /v1/customers/{id},
 *     GET /v1/customers/{id}/payment_methods
 *     POST/GET /v1/checkout/sessions (mode=payment, or mode=subscription
 *       with line_items[i][price_data][recurring][interval] and
 *       subscription_data[metadata]; customer_creation and
 *       payment_intent_data are refused in subscription mode, a recurring
 *       price in payment mode), GET /v1/checkout/sessions/{id}
 *       (expand[]=payment_intent, payment_intent.latest_charge, line_items,
 *       customer, subscription, invoice), GET .../{id}/line_items,
 *       POST .../{id}/expire
 *     GET /v1/subscriptions[/{id}] (?customer=, ?status=),
 *     POST /v1/subscriptions/{id} (cancel_at_period_end, metadata ->
 *       customer.subscription.updated), DELETE /v1/subscriptions/{id}
 *       (cancel now -> canceled, customer.subscription.deleted),
 *     GET /v1/invoices[/{id}] (?customer=, ?subscription=, ?status=)
 *     GET /v1/invoice_payments[/{id}] (?invoice=, ?status=,
 *         ?payment[type]=payment_intent&payment[payment_intent]=)
 *     POST /v1/payment_intents (amount, currency, customer,
 *       payment_method = pm_... or a test token such as pm_card_visa,
 *       confirm, off_session, metadata; a decline -> 402 card_error with
 *       error.payment_intent), POST /v1/payment_intents/{id}/confirm,
 *     GET /v1/payment_intents[/{id}] (?customer=, ?created[gte]=, ...),
 *     GET /v1/charges[/{id}],
 *     GET /v1/payment_methods[/{id}], POST /v1/refunds, GET /v1/refunds/{id}
 *     GET /v1/disputes[/{id}] (?charge=, ?payment_intent=)
 *     GET /v1/events (newest first; limit, starting_after, ending_before,
 *       type, types[], created[gt|gte|lt|lte], delivery_success),
 *     GET /v1/events/{id}
 *
 *   Hosted checkout page (each session's url; no auth):
 *     GET /checkout/{id}            the card form
 *     POST /checkout/{id}/pay       form post: email, card, exp, cvc ->
 *                                   303 to success_url, or the page again
 *                                   with the error (402)
 *
 *   Billing portal (portal.c): POST /v1/billing_portal/sessions
 *     (customer, return_url?) -> billing_portal.session whose url is
 *     GET /billing_portal/{bps_id}: the card on file and a form to
 *     replace it (POST .../card), each live subscription with "Cancel
 *     subscription" / "Don't cancel" (POST .../cancel, .../resume, at
 *     period end), a link to return_url; posts answer 303 to the page
 *
 *   Test control (no auth; for tests and scripts):
 *     GET  /_sandbox/health                      {"ok":true}
 *     POST /_sandbox/checkout/{id}/complete      {"card":"4242 4242 4242 4242",
 *          "email"?, "exp"?, "cvc"?} (JSON or form, by Content-Type) ->
 *          200 session,
 *          402 card_error, 404 unknown, 400 not open. In subscription
 *          mode: customer (always), card attached, subscription sub_...
 *          (active) and its paid invoice in_... (subscription_create);
 *          customer.subscription.created, invoice.paid,
 *          invoice.payment_succeeded, checkout.session.completed
 *     POST /_sandbox/checkout/{id}/expire        -> 200 session (+ event)
 *     POST /_sandbox/checkout/{id}/refund        {"amount"?} -> 200 refund
 *          (+ refund.created, charge.refunded)
 *     POST /_sandbox/payment_intents/{id}/confirm {"card", "email"?} pays
 *          a PaymentIntent as Stripe.js would -> 200 PI, 402 card_error
 *     POST /_sandbox/charges/{id}/dispute        {"status":"won"|"lost"|null}
 *          (id: ch_... or pi_...) -> 200 dispute: the first call opens a
 *          dispute dp_... (charge.dispute.created), a call with a status
 *          closes it (charge.dispute.closed, status won/lost)
 *   Off-session charges (confirm + off_session) decline the saved cards
 *   4000000000000341 and 4000002760003184 (authentication_required); in
 *   the checkout flow those succeed, so a test can save one first.
 *     POST /_sandbox/subscriptions/{id}/renew    {"card_fails"?:bool} -> the
 *          next period and a new invoice (subscription_cycle): paid ->
 *          invoice.paid, invoice.payment_succeeded; failing (card_fails,
 *          or the saved card declines off-session) -> invoice open,
 *          status past_due, invoice.payment_failed; then
 *          customer.subscription.updated. Set to cancel at period end: it
 *          ends instead (customer.subscription.deleted). -> 200 the
 *          subscription with latest_invoice expanded; 400 when ended
 *     GET  /_sandbox/config                      switches and delivery stats
 *     POST /_sandbox/config                      {"delivery_delay_ms":N,
 *          "delivery_jitter_ms":N (each delivery + a random 0..N ms),
 *          "delivery_attempts":N (1..1000 before giving up; 12),
 *          "duplicate_deliveries":N (each event N times), "shuffle":bool,
 *          "api_delay_ms":N (every /v1 request waits N ms: a slow Stripe),
 *          "webhook_events":[...] (enabled_events of the endpoint),
 *          "fail_next":{...} (faults.c), "advance_clock_s":N (moves the
 *          sandbox's clock N s ahead: 24 h forgets Idempotency-Keys)}
 *     POST /_sandbox/events/{id}/redeliver       deliver that event again
 *
 * Webhooks: every event is POSTed to webhook_url (when set), signed with
 * webhook_secret exactly as Stripe signs (deliver.c).
 */
#include "sandbox/internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "util/log.h"
#include "util/util.h"

#define MOD "sandbox"

/* ------------------------------------------------------------------ */
/* Auth                                                                */

/* "sk_test_****abcd": the key's prefix and last four, never the rest. */
static void mask_key(const char *key, char *out, size_t outsz)
{
    size_t n = strlen(key), pre = 0, unders = 0;
    char tail[5] = "";

    while (pre < n && pre < 8) {
        if (key[pre] == '_' && ++unders == 2) {
            pre++;
            break;
        }
        pre++;
    }
    if (unders < 2)
        pre = n > 3 ? 3 : 0;
    if (n >= pre + 8)
        memcpy(tail, key + n - 4, 5);
    snprintf(out, outsz, "%.*s****%s", (int)pre, key, tail);
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '*'))
            *p = '?';
}

static int key_ok(const char *k)
{
    size_t n = strlen(k);

    if (n <= 8 || n > 200 || strncmp(k, "sk_test_", 8) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return 0;
    return 1;
}

/* 0 when the request carries a usable sk_test_ key; else replies 401. */
static int check_auth(struct cd_req *r)
{
    const char *h = cd_req_header(r, "Authorization");
    char key[256] = "", masked[64];

    if (!h || !h[0]) {
        cd_sandbox_reply_errorf(
            r, 401, "invalid_request_error", NULL, NULL,
            "You did not provide an API key. You need to provide your API "
            "key in the Authorization header, using Bearer auth (e.g. "
            "'Authorization: Bearer YOUR_SECRET_KEY').");
        return -1;
    }
    key[0] = '\0';
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        cd_strlcpy(key, h, sizeof(key));
    } else if (strncasecmp(h, "Basic ", 6) == 0 && strlen(h + 6) < 340) {
        unsigned char dec[256];
        int n = EVP_DecodeBlock(dec, (const unsigned char *)h + 6,
                                (int)strlen(h + 6));
        if (n > 0) {
            char *colon;
            dec[n < 255 ? n : 255] = '\0';
            colon = strchr((char *)dec, ':');
            if (colon)
                *colon = '\0';
            cd_strlcpy(key, (char *)dec, sizeof(key));
        }
    }
    if (key_ok(key))
        return 0;
    mask_key(key, masked, sizeof(masked));
    cd_sandbox_reply_errorf(r, 401, "invalid_request_error", NULL, NULL,
                            "Invalid API Key provided: %s", masked);
    cd_reply_header(r, "WWW-Authenticate", "Bearer realm=\"Stripe\"");
    return -1;
}

/* ------------------------------------------------------------------ */
/* Idempotency                                                         */

static void idem_hash(const struct cd_req *r, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned int mdlen = 0;

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, r->method, strlen(r->method) + 1);
    EVP_DigestUpdate(ctx, r->path, strlen(r->path) + 1);
    if (r->body_len)
        EVP_DigestUpdate(ctx, r->body, r->body_len);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    cd_hex(md, 32, out);
}

static struct cd_sandbox_idem *idem_find(struct cd_sandbox *s,
                                         const char *key)
{
    json_t *slot = json_object_get(s->idem_index, key);
    struct cd_sandbox_idem *e;

    if (!slot)
        return NULL;
    e = &s->idem[json_integer_value(slot)];
    if (cd_now() - e->created > CD_SANDBOX_IDEM_TTL)
        return NULL;
    return e;
}

static void idem_clear(struct cd_sandbox_idem *e)
{
    free(e->key);
    free(e->body);
    memset(e, 0, sizeof(*e));
}

static void idem_save(struct cd_sandbox *s, const char *key, const char *hash,
                      const struct cd_req *r)
{
    struct cd_sandbox_idem *e;
    json_t *old = json_object_get(s->idem_index, key);
    size_t slot;

    if (old) { /* an expired entry under the same key */
        slot = (size_t)json_integer_value(old);
        json_object_del(s->idem_index, key);
        idem_clear(&s->idem[slot]);
    }
    slot = s->idem_next;
    s->idem_next = (s->idem_next + 1) % CD_SANDBOX_IDEM_MAX;
    e = &s->idem[slot];
    if (e->key) {
        json_object_del(s->idem_index, e->key);
        idem_clear(e);
    }
    e->key = strdup(key);
    e->body = malloc(r->resp_len + 1);
    if (!e->key || !e->body) {
        idem_clear(e);
        return;
    }
    if (r->resp_len)
        memcpy(e->body, r->resp_body, r->resp_len);
    e->body[r->resp_len] = '\0';
    e->len = r->resp_len;
    e->status = r->status;
    e->created = cd_now();
    memcpy(e->hash, hash, 65);
    json_object_set_new(s->idem_index, key, json_integer((json_int_t)slot));
}

/* Stripe saves a result once the endpoint started executing; we save
 * successes, card errors and server errors, not validation failures. */
static int idem_should_save(int status)
{
    return status < 400 || status == 402 || status >= 500;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

/* An API request's key, Idempotency-Key and parameters: 0 when they
 * pass, else -1 with the reply made (*ikey NULL after a bad key). */
static int check_api_request(struct cd_req *r, unsigned flags,
                             const char **ikey)
{
    if (check_auth(r) != 0)
        return -1;
    if (flags & CD_SANDBOX_F_IDEM)
        *ikey = cd_req_header(r, "Idempotency-Key");
    if (*ikey && ((*ikey)[0] == '\0' || strlen(*ikey) > 255)) {
        cd_sandbox_reply_errorf(
            r, 400, "invalid_request_error", NULL, "Idempotency-Key",
            "Invalid Idempotency-Key: it must be 1 to 255 characters.");
        *ikey = NULL;
        return -1;
    }
    if (cd_sandbox_params_check(r) != 0) {
        *ikey = NULL;
        return -1;
    }
    return 0;
}

/* The configured api_delay_ms, slept outside the lock: a slow Stripe,
 * not a stuck one. */
static void api_delay(struct cd_sandbox *s)
{
    long ms = __atomic_load_n(&s->api_delay_ms, __ATOMIC_RELAXED);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    if (ms > 0) {
        __atomic_add_fetch(&s->api_waiting, 1, __ATOMIC_RELAXED);
        nanosleep(&ts, NULL);
        __atomic_sub_fetch(&s->api_waiting, 1, __ATOMIC_RELAXED);
    }
}

/*
 * With s->mu held and the request's hash into hash: 1 when a saved reply
 * under ikey answered it (same request) or the key's reuse was refused
 * (another request), the lock then released; 0 to run the request.
 */
static int idem_replayed(struct cd_req *r, struct cd_sandbox *s,
                         const char *ikey, char hash[65])
{
    struct cd_sandbox_idem *e;

    idem_hash(r, hash);
    e = idem_find(s, ikey);
    if (e && strcmp(e->hash, hash) == 0) {
        cd_reply(r, e->status, "application/json", e->body, e->len);
        cd_reply_header(r, "Idempotent-Replayed", "true");
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    if (e) {
        pthread_mutex_unlock(&s->mu);
        cd_sandbox_reply_errorf(
            r, 400, "idempotency_error", NULL, NULL,
            "Keys for idempotent requests can only be used with the same "
            "parameters they were first used with. Try using a key other "
            "than '%.255s' if you meant to execute a different request.",
            ikey);
        return 1;
    }
    return 0;
}

static void dispatch(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    unsigned flags = r->route->flags;
    const char *ikey = NULL;
    char rid[64] = "", hash[65];
    int fail_after = 0;

    if (cd_sandbox_guard(r) != 0)
        return;
    if (flags & CD_SANDBOX_F_AUTH) {
        cd_sandbox_new_id("req_", rid, sizeof(rid));
        if (check_api_request(r, flags, &ikey) != 0)
            goto headers;
        api_delay(s);
    }

    pthread_mutex_lock(&s->mu);
    if (ikey && idem_replayed(r, s, ikey, hash))
        goto headers;
    if ((flags & CD_SANDBOX_F_AUTH) &&
        cd_sandbox_fault_before(s, r, &fail_after)) {
        pthread_mutex_unlock(&s->mu);
        goto headers;
    }
    cd_strlcpy(s->cur_request_id, rid, sizeof(s->cur_request_id));
    s->cur_idem_key = ikey;
    r->route->handler(r);
    if (fail_after)
        cd_sandbox_fault_after(r);
    if (ikey && idem_should_save(r->status))
        idem_save(s, ikey, hash, r);
    s->cur_request_id[0] = '\0';
    s->cur_idem_key = NULL;
    pthread_mutex_unlock(&s->mu);
headers:
    if (rid[0])
        cd_reply_header(r, "Request-Id", rid);
    if (ikey)
        cd_reply_header(r, "Idempotency-Key", ikey);
}

static void fallback(struct cd_req *r)
{
    if (cd_sandbox_guard(r) != 0)
        return;
    if (strncmp(r->path, "/v1/", 4) == 0)
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", NULL, NULL,
            "Unrecognized request URL (%.10s: %.200s). Please see "
            "https://stripe.com/docs or we can help at "
            "https://support.stripe.com/.",
            r->method, r->path);
    else
        cd_reply(r, 404, "text/plain; charset=utf-8", "Not found\n", 10);
}

/* ------------------------------------------------------------------ */
/* Delivery callbacks                                                  */

static void on_tick(void *arg)
{
    cd_sandbox_sweep(arg);
}

static void on_result(void *arg, const char *evt_id, int ok)
{
    struct cd_sandbox *s = arg;

    if (!ok)
        return;
    pthread_mutex_lock(&s->mu);
    if (json_object_get(s->events, evt_id))
        json_object_set_new(s->delivered, evt_id, json_true());
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

static char *make_public_url(const char *host, int port)
{
    char buf[300];

    if (strchr(host, ':'))
        snprintf(buf, sizeof(buf), "http://[%s]:%d", host, port);
    else
        snprintf(buf, sizeof(buf), "http://%s:%d", host, port);
    return strdup(buf);
}

static void free_all(struct cd_sandbox *s)
{
    if (s->idem) {
        for (size_t i = 0; i < CD_SANDBOX_IDEM_MAX; i++)
            if (s->idem[i].key)
                idem_clear(&s->idem[i]);
        free(s->idem);
    }
    json_decref(s->customers);
    json_decref(s->sessions);
    json_decref(s->intents);
    json_decref(s->charges);
    json_decref(s->pms);
    json_decref(s->refunds);
    json_decref(s->events);
    json_decref(s->webhook_events);
    json_decref(s->disputes);
    json_decref(s->subs);
    json_decref(s->invoices);
    json_decref(s->invoice_payments);
    json_decref(s->priv);
    json_decref(s->delivered);
    json_decref(s->idem_index);
    free(s->routes);
    free(s->listen);
    free(s->webhook_url);
    free(s->webhook_secret);
    free(s->public_url);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* SANDBOX_LISTEN (parsed into host and *port) and the webhook settings. */
static int check_config(const struct cd_sandbox_config *c, char *host,
                        size_t hostsz, int *port, struct cd_error *err)
{
    if (!c || !c->listen ||
        cd_http_parse_listen(c->listen, host, hostsz, port) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_listen",
                            "SANDBOX_LISTEN",
                            "SANDBOX_LISTEN must be host:port");
    if (!cd_sandbox_is_loopback(host) && !c->allow_non_loopback)
        return cd_error_set(err, CD_EK_INVALID, "not_loopback",
                            "SANDBOX_LISTEN",
                            "the sandbox listens on loopback only "
                            "(127.0.0.1, ::1, localhost), not %.100s: "
                            "whoever reaches it can pay, refund and "
                            "dispute (SANDBOX_ALLOW_NON_LOOPBACK=1 "
                            "overrides, for a test network you own)",
                            host);
    if (!cd_sandbox_is_loopback(host))
        cd_warn(
            MOD,
            "SANDBOX_ALLOW_NON_LOOPBACK=1: the sandbox listens on %.100s, "
            "not loopback: whoever reaches it can pay, refund and "
            "dispute",
            host);
    if (c->webhook_url && c->webhook_url[0] &&
        strncmp(c->webhook_url, "http://", 7) != 0 &&
        strncmp(c->webhook_url, "https://", 8) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_webhook_url",
                            "SANDBOX_WEBHOOK_URL",
                            "SANDBOX_WEBHOOK_URL must be an http(s) URL");
    if (c->webhook_url && c->webhook_url[0] &&
        (!c->webhook_secret || !c->webhook_secret[0]))
        return cd_error_set(err, CD_EK_INVALID, "missing_webhook_secret",
                            "SANDBOX_WEBHOOK_SECRET",
                            "SANDBOX_WEBHOOK_SECRET is required with "
                            "SANDBOX_WEBHOOK_URL (the sandbox signs every "
                            "event)");
    if (c->delivery_delay_ms < 0 || c->delivery_delay_ms > 3600 * 1000)
        return cd_error_set(err, CD_EK_INVALID, "invalid_delay",
                            "SANDBOX_WEBHOOK_DELAY_MS",
                            "SANDBOX_WEBHOOK_DELAY_MS must be 0..3600000");
    return 0;
}

/* The settings' copies; the public url without its trailing slashes, or
 * made from host and a fixed port. */
static void copy_settings(struct cd_sandbox *s,
                          const struct cd_sandbox_config *c, const char *host,
                          int port)
{
    s->listen = strdup(c->listen);
    if (c->account_name)
        cd_strlcpy(s->account_name, c->account_name, sizeof(s->account_name));
    s->allow_non_loopback = c->allow_non_loopback;
    if (c->webhook_url && c->webhook_url[0]) {
        s->webhook_url = strdup(c->webhook_url);
        s->webhook_secret = strdup(c->webhook_secret);
    }
    if (c->public_url && c->public_url[0]) {
        size_t len;
        s->public_url = strdup(c->public_url);
        if (s->public_url) {
            len = strlen(s->public_url);
            while (len > 0 && s->public_url[len - 1] == '/')
                s->public_url[--len] = '\0';
        }
    } else if (port != 0) {
        s->public_url = make_public_url(host, port);
    }
}

/* The empty object stores, the idempotency ring and the route table. */
static void new_stores(struct cd_sandbox *s)
{
    s->customers = json_object();
    s->sessions = json_object();
    s->intents = json_object();
    s->charges = json_object();
    s->pms = json_object();
    s->refunds = json_object();
    s->events = json_object();
    s->disputes = json_object();
    s->subs = json_object();
    s->invoices = json_object();
    s->invoice_payments = json_object();
    s->started = cd_now();
    s->priv = json_object();
    s->delivered = json_object();
    s->idem_index = json_object();
    s->idem = calloc(CD_SANDBOX_IDEM_MAX, sizeof(*s->idem));
    s->routes = calloc(cd_sandbox_api_nroutes + cd_sandbox_page_nroutes +
                           cd_sandbox_portal_nroutes +
                           cd_sandbox_control_nroutes,
                       sizeof(*s->routes));
}

/* A new sandbox's state, or NULL (out of memory, err set). */
static struct cd_sandbox *new_state(const struct cd_sandbox_config *c,
                                    const char *host, int port,
                                    struct cd_error *err)
{
    struct cd_sandbox *s = calloc(1, sizeof(*s));

    if (!s) {
        cd_error_set(err, CD_EK_INTERNAL, "oom", NULL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    copy_settings(s, c, host, port);
    new_stores(s);
    if (!s->listen ||
        (c->webhook_url && c->webhook_url[0] &&
         (!s->webhook_url || !s->webhook_secret)) ||
        (port != 0 && !s->public_url) || !s->customers || !s->sessions ||
        !s->intents || !s->charges || !s->pms || !s->refunds || !s->events ||
        !s->disputes || !s->subs || !s->invoices || !s->invoice_payments ||
        !s->priv || !s->delivered || !s->idem_index || !s->idem ||
        !s->routes) {
        cd_error_set(err, CD_EK_INTERNAL, "oom", NULL, "out of memory");
        free_all(s);
        return NULL;
    }
    return s;
}

/* The API, page, portal and control routes, in that order; their count. */
static size_t join_routes(struct cd_sandbox *s)
{
    size_t n = 0;

    memcpy(s->routes + n, cd_sandbox_api_routes,
           cd_sandbox_api_nroutes * sizeof(*s->routes));
    n += cd_sandbox_api_nroutes;
    memcpy(s->routes + n, cd_sandbox_page_routes,
           cd_sandbox_page_nroutes * sizeof(*s->routes));
    n += cd_sandbox_page_nroutes;
    memcpy(s->routes + n, cd_sandbox_portal_routes,
           cd_sandbox_portal_nroutes * sizeof(*s->routes));
    n += cd_sandbox_portal_nroutes;
    memcpy(s->routes + n, cd_sandbox_control_routes,
           cd_sandbox_control_nroutes * sizeof(*s->routes));
    n += cd_sandbox_control_nroutes;
    return n;
}

/* The HTTP server on s->listen with the n routes; -1 with err set. */
static int start_http(struct cd_sandbox *s, size_t n, struct cd_error *err)
{
    struct cd_http_config hc;

    memset(&hc, 0, sizeof(hc));
    hc.name = "sandbox";
    hc.listen = s->listen;
    hc.routes = s->routes;
    hc.nroutes = n;
    hc.app = s;
    hc.dispatch = dispatch;
    hc.fallback = fallback;
    s->http = cd_http_start(&hc, err);
    return s->http ? 0 : -1;
}

struct cd_sandbox *cd_sandbox_start(const struct cd_sandbox_config *c,
                                    struct cd_error *err)
{
    struct cd_sandbox *s;
    char host[256];
    int port = 0;
    size_t n;

    if (check_config(c, host, sizeof(host), &port, err) != 0)
        return NULL;
    s = new_state(c, host, port, err);
    if (!s)
        return NULL;
    n = join_routes(s);

    s->dlv = cd_sandbox_deliverer_start(s->webhook_url, s->webhook_secret,
                                        c->delivery_delay_ms, on_tick,
                                        on_result, s, err);
    if (!s->dlv) {
        free_all(s);
        return NULL;
    }
    if (start_http(s, n, err) != 0) {
        cd_sandbox_deliverer_stop(s->dlv);
        free_all(s);
        return NULL;
    }
    s->port = cd_http_port(s->http);
    if (!s->public_url) {
        /* Port 0: nobody can know the port before this line, so no
         * request can have needed the url yet. */
        pthread_mutex_lock(&s->mu);
        s->public_url = make_public_url(host, s->port);
        pthread_mutex_unlock(&s->mu);
        if (!s->public_url) {
            cd_sandbox_stop(s);
            cd_error_set(err, CD_EK_INTERNAL, "oom", NULL, "out of memory");
            return NULL;
        }
    }
    cd_info(MOD, "Stripe sandbox on %s (port %d), webhooks %s", host, s->port,
            s->webhook_url ? "on" : "off");
    return s;
}

int cd_sandbox_port(const struct cd_sandbox *s)
{
    return s ? s->port : -1;
}

void cd_sandbox_stop(struct cd_sandbox *s)
{
    if (!s)
        return;
    if (s->http)
        cd_http_stop(s->http);
    if (s->dlv)
        cd_sandbox_deliverer_stop(s->dlv);
    free_all(s);
}
