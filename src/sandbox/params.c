/*
 * params.c - the parameters each sandbox /v1 route accepts, checked as
 * strictly as Stripe checks them, so that code which passes against the
 * sandbox does not fail against Stripe:
 *
 *   - every form key of a POST body and every query argument (any method)
 *     must match one of the route's shapes, else 400 parameter_unknown
 *     naming the full key as sent ("line_items[0][pricedata]");
 *   - a body sent as application/json (or one starting with '{') is
 *     refused with 400: Stripe's v1 API reads only form bodies.
 *
 * A shape is the key with "*" for one non-empty name segment (metadata
 * keys) and "#" for an array index; "expand[]" is literal. Called by the
 * dispatch function in sandbox.c after auth, before the handler.
 */
#include "sandbox/internal.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define KEY_MAX 256

#define EXPAND "expand[]", "expand[#]"
#define LIST "limit", "starting_after", "ending_before", EXPAND
#define METADATA "metadata", "metadata[*]"

struct route_params {
    const char *method;
    const char *pattern;
    const char *const *shapes; /* NULL-terminated */
};

#define SHAPES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct route_params routes[] = {
    {"POST", "/v1/customers",
     SHAPES("email", "name", "description", METADATA,
            "invoice_settings[default_payment_method]", EXPAND)},
    {"GET", "/v1/customers", SHAPES("email", LIST)},
    {"GET", "/v1/customers/{}", SHAPES(EXPAND)},
    {"POST", "/v1/customers/{}",
     SHAPES("email", "name", "description", METADATA,
            "invoice_settings[default_payment_method]", EXPAND)},
    {"GET", "/v1/customers/{}/payment_methods", SHAPES("type", LIST)},
    {"POST", "/v1/checkout/sessions",
     SHAPES("mode", "line_items[#][price]", "line_items[#][quantity]",
            "line_items[#][price_data][currency]",
            "line_items[#][price_data][unit_amount]",
            "line_items[#][price_data][product]",
            "line_items[#][price_data][product_data][name]",
            "line_items[#][price_data][recurring][interval]",
            "line_items[#][price_data][recurring][interval_count]",
            "success_url", "cancel_url", "customer", "customer_creation",
            "customer_email", "client_reference_id", METADATA,
            "subscription_data[metadata]", "subscription_data[metadata][*]",
            "payment_intent_data[setup_future_usage]",
            "payment_intent_data[metadata]",
            "payment_intent_data[metadata][*]", "expires_at", EXPAND)},
    {"GET", "/v1/checkout/sessions",
     SHAPES("payment_intent", "customer", "status", LIST)},
    {"GET", "/v1/checkout/sessions/{}", SHAPES(EXPAND)},
    {"GET", "/v1/checkout/sessions/{}/line_items", SHAPES(LIST)},
    {"POST", "/v1/checkout/sessions/{}/expire", SHAPES(EXPAND)},
    {"POST", "/v1/payment_intents",
     SHAPES("amount", "currency", "customer", "payment_method", "description",
            "setup_future_usage", "confirm", "off_session", METADATA,
            "payment_method_types[]", "payment_method_types[#]",
            "automatic_payment_methods[enabled]", EXPAND)},
    {"POST", "/v1/payment_intents/{}/confirm",
     SHAPES("payment_method", "off_session", EXPAND)},
    {"GET", "/v1/payment_intents",
     SHAPES("customer", "created", "created[gt]", "created[gte]",
            "created[lt]", "created[lte]", LIST)},
    {"GET", "/v1/payment_intents/{}", SHAPES(EXPAND)},
    {"GET", "/v1/charges", SHAPES("payment_intent", "customer", LIST)},
    {"GET", "/v1/charges/{}", SHAPES(EXPAND)},
    {"GET", "/v1/payment_methods", SHAPES("customer", "type", LIST)},
    {"GET", "/v1/payment_methods/{}", SHAPES(EXPAND)},
    {"POST", "/v1/refunds",
     SHAPES("charge", "payment_intent", "reason", "amount", METADATA,
            EXPAND)},
    {"GET", "/v1/refunds/{}", SHAPES(EXPAND)},
    {"GET", "/v1/disputes", SHAPES("charge", "payment_intent", LIST)},
    {"GET", "/v1/disputes/{}", SHAPES(EXPAND)},
    {"GET", "/v1/subscriptions", SHAPES("customer", "status", LIST)},
    {"GET", "/v1/subscriptions/{}", SHAPES(EXPAND)},
    {"POST", "/v1/subscriptions/{}",
     SHAPES("cancel_at_period_end", METADATA, EXPAND)},
    {"DELETE", "/v1/subscriptions/{}", SHAPES(EXPAND)},
    {"GET", "/v1/invoices",
     SHAPES("customer", "subscription", "status", LIST)},
    {"GET", "/v1/invoices/{}", SHAPES(EXPAND)},
    {"GET", "/v1/invoice_payments",
     SHAPES("invoice", "status", "payment[type]", "payment[payment_intent]",
            LIST)},
    {"GET", "/v1/invoice_payments/{}", SHAPES(EXPAND)},
    {"GET", "/v1/events",
     SHAPES("type", "types[]", "types[#]", "created", "created[gt]",
            "created[gte]", "created[lt]", "created[lte]", "delivery_success",
            LIST)},
    {"GET", "/v1/events/{}", SHAPES(EXPAND)},
    {"GET", "/v1/account", SHAPES(EXPAND)},
    {"GET", "/v1/webhook_endpoints", SHAPES(LIST)},
    {"POST", "/v1/billing_portal/sessions",
     SHAPES("customer", "return_url", EXPAND)},
};

/* 1 when key has the shape pat (see the file comment). */
static int shape_matches(const char *pat, const char *key)
{
    while (*pat) {
        size_t n;
        if (*pat == '*') {
            n = strcspn(key, "[]");
        } else if (*pat == '#') {
            n = strspn(key, "0123456789");
            if (n > 4)
                return 0;
        } else {
            if (*pat++ != *key++)
                return 0;
            continue;
        }
        if (n == 0)
            return 0;
        key += n;
        pat++;
    }
    return *key == '\0';
}

static int known(const char *const *shapes, const char *key)
{
    for (; *shapes; shapes++)
        if (shape_matches(*shapes, key))
            return 1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes the n bytes at s into out (at most KEY_MAX bytes kept). */
static void decode_key(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o < KEY_MAX; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                   (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* Replies parameter_unknown naming key: its first 95 bytes, any byte
 * outside printable ASCII shown as '?' (the reply must be valid UTF-8). */
static int reply_unknown(struct cd_req *r, const char *key)
{
    char shown[96];
    size_t i;

    for (i = 0; key[i] && i < sizeof(shown) - 1; i++)
        shown[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
    shown[i] = '\0';
    cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                            "parameter_unknown", shown,
                            "Received unknown parameter: %s", shown);
    return -1;
}

struct query_check {
    const char *const *shapes;
    char bad[KEY_MAX + 1];
};

static int query_one(void *cls, const char *name, const char *value)
{
    struct query_check *q = cls;

    (void)value;
    if (known(q->shapes, name))
        return 0;
    cd_strlcpy(q->bad, name, sizeof(q->bad));
    return 1;
}

/* 1 when the body is JSON: by its Content-Type or by its first byte. */
static int body_is_json(const struct cd_req *r)
{
    size_t lead;

    if (r->body_len == 0)
        return 0;
    if (cd_sandbox_is_json(r))
        return 1;
    lead = strspn(r->body, " \t\r\n");
    return lead < r->body_len && r->body[lead] == '{';
}

static const struct route_params *find_route(const struct cd_route *rt)
{
    for (size_t i = 0; i < CD_ARRAY_LEN(routes); i++)
        if (strcmp(routes[i].method, rt->method) == 0 &&
            strcmp(routes[i].pattern, rt->pattern) == 0)
            return &routes[i];
    return NULL;
}

int cd_sandbox_params_check(struct cd_req *r)
{
    const struct route_params *rp;
    struct query_check q;
    const char *p, *end;

    if (strncmp(r->path, "/v1/", 4) != 0 || !(rp = find_route(r->route)))
        return 0;
    if (body_is_json(r)) {
        cd_sandbox_reply_errorf(
            r, 400, "invalid_request_error", NULL, NULL,
            "Invalid request (check that your POST content type is "
            "application/x-www-form-urlencoded). If you have any "
            "questions, we can help at https://support.stripe.com/.");
        return -1;
    }
    q.shapes = rp->shapes;
    if (cd_req_query_each(r, query_one, &q) != 0)
        return reply_unknown(r, q.bad);
    for (p = r->body, end = r->body + r->body_len; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char key[KEY_MAX + 1];
        decode_key(p, (size_t)((eq ? eq : stop) - p), key);
        if (key[0] && !known(rp->shapes, key))
            return reply_unknown(r, key);
        p = stop + 1;
    }
    return 0;
}
