/*
 * state.c - the sandbox's objects and what happens to them: ids, lookup,
 * expansion, events, and the checkout flows (pay with a test card,
 * expire, refund). Every function here runs with s->mu held (the
 * dispatch function in sandbox.c takes it), except cd_sandbox_sweep.
 */
#include "sandbox/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define MOD "sandbox"

void cd_sandbox_new_id(const char *prefix, char *out, size_t outsz)
{
    cd_random_id(prefix, out, outsz);
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

json_t *cd_sandbox_lookup(struct cd_sandbox *s, const char *id)
{
    if (!id)
        return NULL;
    if (has_prefix(id, "cus_"))
        return json_object_get(s->customers, id);
    if (has_prefix(id, "cs_"))
        return json_object_get(s->sessions, id);
    if (has_prefix(id, "pi_"))
        return json_object_get(s->intents, id);
    if (has_prefix(id, "ch_"))
        return json_object_get(s->charges, id);
    if (has_prefix(id, "pm_"))
        return json_object_get(s->pms, id);
    if (has_prefix(id, "re_"))
        return json_object_get(s->refunds, id);
    if (has_prefix(id, "evt_"))
        return json_object_get(s->events, id);
    if (has_prefix(id, "dp_"))
        return json_object_get(s->disputes, id);
    if (has_prefix(id, "sub_"))
        return json_object_get(s->subs, id);
    if (has_prefix(id, "in_"))
        return json_object_get(s->invoices, id);
    return NULL;
}

int cd_sandbox_store(json_t *map, json_t *obj)
{
    const char *id = json_string_value(json_object_get(obj, "id"));

    if (!id || json_object_size(map) >= CD_SANDBOX_OBJECTS_MAX ||
        json_object_set_new(map, id, obj) != 0) {
        if (id)
            cd_warn(MOD, "object store full; dropping %s", id);
        return -1;
    }
    return 0;
}

int cd_sandbox_fail_set(struct cd_sandbox_fail *f, int status,
                        const char *type, const char *code, const char *param,
                        const char *fmt, ...)
{
    va_list ap;

    memset(f, 0, sizeof(*f));
    f->status = status;
    cd_strlcpy(f->type, type ? type : "invalid_request_error",
               sizeof(f->type));
    cd_strlcpy(f->code, code ? code : "", sizeof(f->code));
    cd_strlcpy(f->param, param ? param : "", sizeof(f->param));
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    return -1;
}

json_t *cd_sandbox_fail_json(const struct cd_sandbox_fail *f)
{
    json_t *e = json_object();

    if (f->code[0])
        json_object_set_new(e, "code", json_string(f->code));
    if (f->decline_code[0])
        json_object_set_new(e, "decline_code", json_string(f->decline_code));
    if (f->code[0])
        json_object_set_new(
            e, "doc_url",
            json_sprintf("https://stripe.com/docs/error-codes/%s", f->code));
    json_object_set_new(e, "message", json_string(f->message));
    if (f->param[0])
        json_object_set_new(e, "param", json_string(f->param));
    json_object_set_new(e, "type", json_string(f->type));
    return json_pack("{s:o}", "error", e);
}

void cd_sandbox_reply_fail(struct cd_req *r, const struct cd_sandbox_fail *f)
{
    cd_reply_json(r, f->status, cd_sandbox_fail_json(f));
}

void cd_sandbox_reply_errorf(struct cd_req *r, int status, const char *type,
                             const char *code, const char *param,
                             const char *fmt, ...)
{
    struct cd_sandbox_fail f;
    va_list ap;

    cd_sandbox_fail_set(&f, status, type, code, param, "%s", "");
    va_start(ap, fmt);
    vsnprintf(f.message, sizeof(f.message), fmt, ap);
    va_end(ap);
    cd_sandbox_reply_fail(r, &f);
}

/* ------------------------------------------------------------------ */
/* Expansion                                                           */

static int expand_path(struct cd_sandbox *s, json_t *obj, const char *path,
                       int depth, struct cd_sandbox_fail *f)
{
    char seg[64];
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    json_t *v;

    if (depth >= 4)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "expand", "You cannot expand more than 4 "
                                   "levels of a property.");
    if (n == 0 || n >= sizeof(seg))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "expand", "Invalid expand path.");
    memcpy(seg, path, n);
    seg[n] = '\0';

    if (strcmp(seg, "line_items") == 0 &&
        json_is_string(json_object_get(obj, "object")) &&
        strcmp(json_string_value(json_object_get(obj, "object")),
               "checkout.session") == 0) {
        json_object_set_new(obj, "line_items",
                            cd_sandbox_session_line_items(s, obj));
        return 0;
    }
    v = json_object_get(obj, seg);
    if (!v && !json_object_get(obj, "object"))
        return 0;
    if (!v || !(json_is_string(v) || json_is_null(v) || json_is_object(v)))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "expand",
                                   "This property cannot be expanded (%s).",
                                   seg);
    if (json_is_string(v)) {
        json_t *target = cd_sandbox_lookup(s, json_string_value(v));
        if (!target)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", "expand",
                                       "This property cannot be expanded "
                                       "(%s).", seg);
        v = json_deep_copy(target);
        json_object_set_new(obj, seg, v);
    }
    if (dot && json_is_object(v))
        return expand_path(s, v, dot + 1, depth + 1, f);
    return 0;
}

json_t *cd_sandbox_render(struct cd_sandbox *s, const json_t *obj,
                          const json_t *expand, struct cd_sandbox_fail *f)
{
    json_t *out = json_deep_copy(obj);
    size_t i;
    json_t *e;

    if (!out) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL, "out of memory");
        return NULL;
    }
    if (expand && json_is_array(expand)) {
        if (json_array_size(expand) > 20) {
            json_decref(out);
            cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                "expand", "You may expand at most 20 "
                                "properties.");
            return NULL;
        }
        json_array_foreach(expand, i, e) {
            if (!json_is_string(e) ||
                expand_path(s, out, json_string_value(e), 0, f) != 0) {
                if (!json_is_string(e))
                    cd_sandbox_fail_set(f, 400, NULL,
                                        "parameter_invalid_string", "expand",
                                        "Invalid expand path.");
                json_decref(out);
                return NULL;
            }
        }
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

void cd_sandbox_deliver_event(struct cd_sandbox *s, const json_t *event)
{
    char *body;

    if (!s->webhook_url || !s->dlv)
        return;
    body = json_dumps(event, JSON_COMPACT);
    if (!body)
        return;
    cd_sandbox_deliverer_enqueue(
        s->dlv, json_string_value(json_object_get(event, "id")), body);
    free(body);
}

void cd_sandbox_emit(struct cd_sandbox *s, const char *type,
                     const json_t *obj)
{
    cd_sandbox_emit_prev(s, type, obj, NULL);
}

void cd_sandbox_emit_prev(struct cd_sandbox *s, const char *type,
                          const json_t *obj, const json_t *prev)
{
    char id[64];
    json_t *ev, *snap = json_deep_copy(obj);

    if (!snap)
        return;
    cd_sandbox_new_id("evt_", id, sizeof(id));
    ev = json_pack(
        "{s:s, s:s, s:s, s:I, s:{s:o}, s:b, s:i, s:{s:s?, s:s?}, s:s}", "id",
        id, "object", "event", "api_version", CD_SANDBOX_API_VERSION,
        "created", (json_int_t)cd_now(), "data", "object", snap, "livemode",
        0, "pending_webhooks", s->webhook_url ? 1 : 0, "request", "id",
        s->cur_request_id[0] ? s->cur_request_id : NULL, "idempotency_key",
        s->cur_idem_key, "type", type);
    if (!ev)
        return;
    if (json_is_object(prev) && json_object_size(prev) > 0)
        json_object_set_new(json_object_get(ev, "data"),
                            "previous_attributes", json_deep_copy(prev));
    if (cd_sandbox_store(s->events, ev) != 0)
        return;
    cd_debug(MOD, "event %s %s", id, type);
    cd_sandbox_deliver_event(s, ev);
}

/* ------------------------------------------------------------------ */
/* Customers                                                           */

json_t *cd_sandbox_customer_create(struct cd_sandbox *s, const char *email,
                                   const char *name, const char *description,
                                   const json_t *metadata)
{
    char id[64], prefix[16];
    json_t *c;

    cd_sandbox_new_id("cus_", id, sizeof(id));
    snprintf(prefix, sizeof(prefix), "%.8s", id + 4);
    for (char *p = prefix; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    c = json_pack("{s:s, s:s, s:n, s:i, s:I, s:n, s:n, s:b, s:s?, s:s?, "
                  "s:s, s:{s:n, s:n, s:n, s:n}, s:b, s:o, s:s?, s:i, s:n, "
                  "s:[], s:n, s:s, s:n}",
                  "id", id, "object", "customer", "address", "balance", 0,
                  "created", (json_int_t)cd_now(), "currency",
                  "default_source", "delinquent", 0, "description",
                  description, "email", email, "invoice_prefix", prefix,
                  "invoice_settings", "custom_fields", "default_payment_method",
                  "footer", "rendering_options", "livemode", 0, "metadata",
                  metadata ? json_deep_copy(metadata) : json_object(), "name",
                  name, "next_invoice_sequence", 1, "phone",
                  "preferred_locales", "shipping", "tax_exempt", "none",
                  "test_clock");
    if (!c || cd_sandbox_store(s->customers, c) != 0)
        return NULL;
    cd_sandbox_emit(s, "customer.created", c);
    return c;
}

/* ------------------------------------------------------------------ */
/* Checkout sessions                                                   */

json_t *cd_sandbox_session_line_items(struct cd_sandbox *s,
                                      const json_t *session)
{
    const char *id = json_string_value(json_object_get(session, "id"));
    json_t *priv = json_object_get(s->priv, id ? id : "");
    json_t *items = json_object_get(priv, "line_items");
    char url[128];

    snprintf(url, sizeof(url), "/v1/checkout/sessions/%s/line_items",
             id ? id : "");
    return json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data",
                     items ? json_deep_copy(items) : json_array(), "has_more",
                     0, "url", url);
}

void cd_sandbox_session_refresh(struct cd_sandbox *s, json_t *session)
{
    const char *st = json_string_value(json_object_get(session, "status"));
    json_int_t exp = json_integer_value(json_object_get(session, "expires_at"));

    if (st && strcmp(st, "open") == 0 && exp > 0 && cd_now() >= exp)
        cd_sandbox_session_expire(s, session, NULL);
}

int cd_sandbox_session_expire(struct cd_sandbox *s, json_t *session,
                              struct cd_sandbox_fail *f)
{
    const char *st = json_string_value(json_object_get(session, "status"));
    struct cd_sandbox_fail scratch;

    if (!f)
        f = &scratch;
    if (!st || strcmp(st, "open") != 0)
        return cd_sandbox_fail_set(
            f, 400, NULL, "checkout_session_not_open", NULL,
            "Only Checkout Sessions with a status in [\"open\"] can be "
            "expired. This Checkout Session has a status of \"%s\".",
            st ? st : "unknown");
    json_object_set_new(session, "status", json_string("expired"));
    cd_sandbox_emit(s, "checkout.session.expired", session);
    return 0;
}

void cd_sandbox_sweep(struct cd_sandbox *s)
{
    const char *id;
    json_t *sess;
    void *tmp;
    int64_t now = cd_now();

    pthread_mutex_lock(&s->mu);
    s->cur_request_id[0] = '\0';
    s->cur_idem_key = NULL;
    json_object_foreach_safe(s->sessions, tmp, id, sess) {
        const char *st = json_string_value(json_object_get(sess, "status"));
        json_int_t exp =
            json_integer_value(json_object_get(sess, "expires_at"));
        if (st && strcmp(st, "open") == 0 && exp > 0 && now >= exp)
            cd_sandbox_session_expire(s, sess, NULL);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Test cards                                                          */

struct test_card {
    const char *number;
    const char *code;
    const char *decline_code;
    const char *param;
    const char *message;
};

/* Outcomes from shared/stripe/REFERENCE.md section 5. 4000000000000077
 * declines as an expired card (the checkout page issue asks for that,
 * although real Stripe lets it succeed). */
static const struct test_card test_cards[] = {
    {"4000000000000002", "card_declined", "generic_decline", NULL,
     "Your card was declined."},
    {"4000000000009995", "card_declined", "insufficient_funds", NULL,
     "Your card has insufficient funds."},
    {"4000000000009987", "card_declined", "lost_card", NULL,
     "Your card was declined."},
    {"4000000000009979", "card_declined", "stolen_card", NULL,
     "Your card was declined."},
    {"4000000000000069", "expired_card", "expired_card", "exp_month",
     "Your card has expired."},
    {"4000000000000077", "expired_card", "expired_card", "exp_month",
     "Your card has expired."},
    {"4000000000000127", "incorrect_cvc", "incorrect_cvc", "cvc",
     "Your card's security code is incorrect."},
    {"4000000000000119", "processing_error", "processing_error", NULL,
     "An error occurred while processing your card. Try again in a little "
     "bit."},
    {"4000000000006975", "card_declined", "card_velocity_exceeded", NULL,
     "Your card was declined for making repeated attempts too frequently "
     "or exceeding its amount limit."},
};

static int luhn_ok(const char *d)
{
    size_t n = strlen(d);
    int sum = 0, dbl = 0;

    for (size_t i = n; i-- > 0;) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static const char *card_brand(const char *d)
{
    if (d[0] == '4')
        return "visa";
    if ((d[0] == '5' && d[1] >= '1' && d[1] <= '5') ||
        (d[0] == '2' && d[1] >= '2' && d[1] <= '7'))
        return "mastercard";
    if (d[0] == '3' && (d[1] == '4' || d[1] == '7'))
        return "amex";
    if (has_prefix(d, "6011") || has_prefix(d, "65"))
        return "discover";
    return "unknown";
}

/* Digits of the card number without spaces/dashes into out (>= 20). */
static int card_digits(const char *in, char *out, size_t outsz)
{
    size_t n = 0;

    if (!in)
        return -1;
    for (; *in; in++) {
        if (*in == ' ' || *in == '-' || *in == '+')
            continue;
        if (*in < '0' || *in > '9' || n + 1 >= outsz)
            return -1;
        out[n++] = *in;
    }
    out[n] = '\0';
    return n >= 12 && n <= 19 ? 0 : -1;
}

/* Parses "MM/YY", "MM / YY", "MM/YYYY", "MMYY"; 0 or -1. */
static int parse_exp(const char *in, int *month, int *year)
{
    char d[8];
    size_t n = 0;
    int slash = 0;

    for (; *in; in++) {
        if (*in == ' ' || *in == '+')
            continue;
        if (*in == '/') {
            if (slash++ || n != 2)
                return -1;
            continue;
        }
        if (*in < '0' || *in > '9' || n + 1 >= sizeof(d))
            return -1;
        d[n++] = *in;
    }
    d[n] = '\0';
    if (n != 4 && n != 6)
        return -1;
    *month = (d[0] - '0') * 10 + (d[1] - '0');
    *year = (int)strtol(d + 2, NULL, 10);
    if (n == 4)
        *year += 2000;
    return *month >= 1 && *month <= 12 ? 0 : -1;
}

static int card_fail(struct cd_sandbox_fail *f, const char *code,
                     const char *decline_code, const char *param,
                     const char *msg)
{
    cd_sandbox_fail_set(f, 402, "card_error", code, param, "%s", msg);
    if (decline_code)
        cd_strlcpy(f->decline_code, decline_code, sizeof(f->decline_code));
    return -1;
}

/* Checks what the payer typed (card number, expiry, CVC, email); fills
 * digits. 0, or -1 with f filled. */
static int check_card(const struct cd_sandbox_card *card, char *digits,
                      size_t dsz, int *exp_month, int *exp_year,
                      struct cd_sandbox_fail *f)
{
    if (card->email && card->email[0] &&
        (strlen(card->email) > 512 || !strchr(card->email, '@') ||
         strpbrk(card->email, " <>\"\r\n")))
        return cd_sandbox_fail_set(f, 400, NULL, "email_invalid", "email",
                                   "Your email address is invalid.");
    if (!card->number || !card->number[0])
        return card_fail(f, "incomplete_number", NULL, "number",
                         "Your card number is incomplete.");
    if (card_digits(card->number, digits, dsz) != 0 || !luhn_ok(digits))
        return card_fail(f, "incorrect_number", NULL, "number",
                         "Your card number is incorrect.");
    *exp_month = 12;
    *exp_year = 2034;
    if (card->exp && card->exp[0]) {
        char now_s[21];
        int cy, cm;
        if (parse_exp(card->exp, exp_month, exp_year) != 0)
            return card_fail(f, "invalid_expiry_month", NULL, "exp_month",
                             "Your card's expiration date is invalid.");
        cd_time_rfc3339(cd_now(), now_s);
        cy = (int)strtol(now_s, NULL, 10);
        cm = (int)strtol(now_s + 5, NULL, 10);
        if (*exp_year < cy || (*exp_year == cy && *exp_month < cm))
            return card_fail(f, "invalid_expiry_year", NULL, "exp_year",
                             "Your card's expiration year is in the past.");
        if (*exp_year > cy + 50)
            return card_fail(f, "invalid_expiry_year", NULL, "exp_year",
                             "Your card's expiration year is invalid.");
    }
    if (card->cvc && card->cvc[0]) {
        size_t n = strlen(card->cvc);
        if (n < 3 || n > 4 || strspn(card->cvc, "0123456789") != n)
            return card_fail(f, "invalid_cvc", NULL, "cvc",
                             "Your card's security code is invalid.");
    }
    return 0;
}

/*
 * The outcome of charging the card: 0 (succeeds) or -1 with f filled.
 * Off-session charges also decline 4000000000000341 (attaches, then
 * charges fail) and 4000002760003184 (always needs 3-D Secure), which
 * succeed in the checkout flow so that they can be saved first.
 */
static int card_outcome(const char *digits, int off_session,
                        struct cd_sandbox_fail *f)
{
    for (size_t i = 0; i < CD_ARRAY_LEN(test_cards); i++)
        if (strcmp(digits, test_cards[i].number) == 0)
            return card_fail(f, test_cards[i].code,
                             test_cards[i].decline_code, test_cards[i].param,
                             test_cards[i].message);
    if (off_session && strcmp(digits, "4000000000000341") == 0)
        return card_fail(f, "card_declined", "generic_decline", NULL,
                         "Your card was declined.");
    if (off_session && strcmp(digits, "4000002760003184") == 0)
        return card_fail(f, "authentication_required",
                         "authentication_required", NULL,
                         "Your card was declined. This transaction requires "
                         "authentication.");
    return 0;
}

static json_t *card_json(const char *digits, int exp_month, int exp_year)
{
    const char *brand = card_brand(digits);
    char fp[17];

    /* A stable fingerprint per number, like Stripe's. */
    {
        char h[65];
        cd_sha256_hex(digits, strlen(digits), h);
        memcpy(fp, h, 16);
        fp[16] = '\0';
    }
    return json_pack("{s:s, s:{s:n, s:n, s:n}, s:s, s:s, s:i, s:i, s:s, "
                     "s:s, s:s, s:s}",
                     "brand", brand, "checks", "address_line1_check",
                     "address_postal_code_check", "cvc_check", "country", "US",
                     "display_brand", brand, "exp_month", exp_month,
                     "exp_year", exp_year, "fingerprint", fp, "funding",
                     "credit", "last4", digits + strlen(digits) - 4,
                     "network", brand);
}

/* payment_intent_data[metadata] as a new object. */
static json_t *pi_metadata(const json_t *pid)
{
    json_t *m = json_object_get(pid, "metadata");

    return json_is_object(m) ? json_deep_copy(m) : json_object();
}

static json_t *billing_details(const char *email)
{
    return json_pack("{s:n, s:s?, s:n, s:n}", "address", "email", email,
                     "name", "phone");
}

/* A new stored PaymentMethod for a card (borrowed), its number kept in
 * s->priv for later off-session charges; NULL when full. */
static json_t *pm_new(struct cd_sandbox *s, const char *digits, int exp_month,
                      int exp_year, const char *email, const char *cus_id)
{
    char id[64];
    json_t *pm;

    cd_sandbox_new_id("pm_", id, sizeof(id));
    pm = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s?, s:b, s:{}, s:s}",
                   "id", id, "object", "payment_method", "allow_redisplay",
                   "unspecified", "billing_details", billing_details(email),
                   "card", card_json(digits, exp_month, exp_year), "created",
                   (json_int_t)cd_now(), "customer", cus_id, "livemode", 0,
                   "metadata", "type", "card");
    if (!pm || cd_sandbox_store(s->pms, pm) != 0)
        return NULL;
    json_object_set_new(s->priv, id, json_pack("{s:s}", "number", digits));
    return pm;
}

/* The test card number behind a PaymentMethod id or one of Stripe's test
 * tokens (pm_card_visa, ...); NULL when unknown. */
static const char *pm_number(struct cd_sandbox *s, const char *pm_id)
{
    static const struct {
        const char *token, *number;
    } tokens[] = {
        {"pm_card_visa", "4242424242424242"},
        {"pm_card_mastercard", "5555555555554444"},
        {"pm_card_visa_chargeDeclined", "4000000000000002"},
        {"pm_card_visa_chargeDeclinedInsufficientFunds", "4000000000009995"},
        {"pm_card_visa_chargeDeclinedLostCard", "4000000000009987"},
        {"pm_card_visa_chargeDeclinedStolenCard", "4000000000009979"},
        {"pm_card_chargeDeclinedExpiredCard", "4000000000000069"},
        {"pm_card_chargeDeclinedIncorrectCvc", "4000000000000127"},
        {"pm_card_chargeDeclinedProcessingError", "4000000000000119"},
        {"pm_card_chargeCustomerFail", "4000000000000341"},
        {"pm_card_authenticationRequired", "4000002760003184"},
    };

    for (size_t i = 0; i < CD_ARRAY_LEN(tokens); i++)
        if (strcmp(pm_id, tokens[i].token) == 0)
            return tokens[i].number;
    return json_string_value(
        json_object_get(json_object_get(s->priv, pm_id), "number"));
}

int cd_sandbox_card_outcome(const char *digits, int off_session,
                            struct cd_sandbox_fail *f)
{
    return card_outcome(digits, off_session, f);
}

const char *cd_sandbox_pm_number(struct cd_sandbox *s, const char *pm_id)
{
    return pm_number(s, pm_id);
}

json_t *cd_sandbox_pi_create(struct cd_sandbox *s, int64_t amount,
                             const char *currency, const char *cus_id,
                             json_t *metadata, const char *sfu,
                             const char *description)
{
    char id[64], secret[96], cs[200];
    json_t *pi;

    cd_sandbox_new_id("pi_", id, sizeof(id));
    cd_sandbox_new_id("_secret_", secret, sizeof(secret));
    snprintf(cs, sizeof(cs), "%s%s", id, secret);
    pi = json_pack(
        "{s:s, s:s, s:I, s:i, s:i, s:n, s:n, s:s, s:s, s:s, s:I, s:s, "
        "s:s?, s:s?, s:n, s:n, s:b, s:o, s:n, s:[s], s:n, s:s?, s:s}",
        "id", id, "object", "payment_intent", "amount", (json_int_t)amount,
        "amount_capturable", 0, "amount_received", 0, "canceled_at",
        "cancellation_reason", "capture_method", "automatic", "client_secret",
        cs, "confirmation_method", "automatic", "created",
        (json_int_t)cd_now(), "currency", currency, "customer", cus_id,
        "description", description, "last_payment_error", "latest_charge",
        "livemode", 0, "metadata", metadata ? metadata : json_object(),
        "payment_method", "payment_method_types", "card", "receipt_email",
        "setup_future_usage", sfu, "status", "requires_payment_method");
    if (!pi || cd_sandbox_store(s->intents, pi) != 0)
        return NULL;
    return pi;
}

/* A charge of pi with pm: succeeded when ok, else failed with f's code.
 * Updates pi (latest_charge, status, ...). Borrowed, or NULL when full. */
static json_t *charge_new(struct cd_sandbox *s, json_t *pi, const json_t *pm,
                          const char *email, const struct cd_sandbox_fail *f)
{
    char ch_id[64], txn[64], url[128];
    json_int_t amount = json_integer_value(json_object_get(pi, "amount"));
    int ok = f == NULL;
    json_t *ch;

    cd_sandbox_new_id("ch_", ch_id, sizeof(ch_id));
    cd_sandbox_new_id("txn_", txn, sizeof(txn));
    snprintf(url, sizeof(url), "/v1/charges/%s/refunds", ch_id);
    ch = json_pack(
        "{s:s, s:s, s:I, s:I, s:i, s:s?, s:o, s:b, s:I, s:O, s:O, s:O, "
        "s:b, s:s?, s:s?, s:b, s:o, s:{s:s, s:s?, s:s, s:s, s:s}, s:b, "
        "s:O, s:O, s:{s:O, s:s}, s:s?, s:b, s:{s:s, s:[], s:b, s:s}, s:s}",
        "id", ch_id, "object", "charge", "amount", amount, "amount_captured",
        ok ? amount : 0, "amount_refunded", 0, "balance_transaction",
        ok ? txn : NULL, "billing_details", billing_details(email),
        "captured", ok, "created", (json_int_t)cd_now(), "currency",
        json_object_get(pi, "currency"), "customer",
        json_object_get(pi, "customer"), "description",
        json_object_get(pi, "description"), "disputed", 0, "failure_code",
        ok ? NULL : f->code, "failure_message", ok ? NULL : f->message,
        "livemode", 0, "metadata",
        json_deep_copy(json_object_get(pi, "metadata")), "outcome",
        "network_status", ok ? "approved_by_network" : "declined_by_network",
        "reason", ok ? NULL : (f->decline_code[0] ? f->decline_code : f->code),
        "risk_level", "normal", "seller_message",
        ok ? "Payment complete." : "The bank did not return any further "
                                   "details with this decline.",
        "type", ok ? "authorized" : "issuer_declined", "paid", ok,
        "payment_intent", json_object_get(pi, "id"), "payment_method",
        json_object_get(pm, "id"), "payment_method_details", "card",
        json_object_get(pm, "card"), "type", "card", "receipt_email", email,
        "refunded", 0, "refunds", "object", "list", "data", "has_more", 0,
        "url", url, "status", ok ? "succeeded" : "failed");
    if (!ch || cd_sandbox_store(s->charges, ch) != 0)
        return NULL;
    json_object_set_new(pi, "latest_charge", json_string(ch_id));
    json_object_set(pi, "payment_method", json_object_get(pm, "id"));
    if (ok) {
        json_object_set_new(pi, "status", json_string("succeeded"));
        json_object_set_new(pi, "amount_received", json_integer(amount));
        json_object_set_new(pi, "last_payment_error", json_null());
    } else {
        json_t *ej = cd_sandbox_fail_json(f);
        json_t *err = json_incref(json_object_get(ej, "error"));
        json_decref(ej);
        json_object_set_new(err, "charge", json_string(ch_id));
        json_object_set_new(err, "payment_method", json_deep_copy(pm));
        json_object_set_new(pi, "status",
                            json_string("requires_payment_method"));
        json_object_set_new(pi, "payment_method", json_null());
        json_object_set_new(pi, "last_payment_error", err);
    }
    return ch;
}

int cd_sandbox_pi_confirm(struct cd_sandbox *s, json_t *pi,
                          const char *pm_id, int off_session,
                          struct cd_sandbox_fail *f)
{
    const char *st = json_string_value(json_object_get(pi, "status"));
    const char *cus = json_string_value(json_object_get(pi, "customer"));
    const char *number = pm_id ? pm_number(s, pm_id) : NULL;
    json_t *pm = pm_id ? json_object_get(s->pms, pm_id) : NULL, *ch;
    const char *pm_cus;
    struct cd_sandbox_fail decline;

    if (!st || (strcmp(st, "requires_payment_method") != 0 &&
                strcmp(st, "requires_confirmation") != 0))
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_intent_unexpected_state", NULL,
            "You cannot confirm this PaymentIntent because it has a status "
            "of %s.", st ? st : "unknown");
    if (!pm_id)
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_intent_unexpected_state", "payment_method",
            "You cannot confirm this PaymentIntent because it's missing a "
            "payment method.");
    if (!number)
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing",
                                   "payment_method",
                                   "No such PaymentMethod: '%.80s'", pm_id);
    if (!pm) {
        /* A test token: a fresh PaymentMethod for this payment. */
        pm = pm_new(s, number, 12, 2034, NULL, NULL);
        if (!pm)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
    }
    pm_cus = json_string_value(json_object_get(pm, "customer"));
    if (pm_cus && (!cus || strcmp(pm_cus, cus) != 0))
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_method_not_available", "payment_method",
            "The provided PaymentMethod belongs to customer %s; pass that "
            "customer to use it.", pm_cus);
    if (off_session && cus && !pm_cus)
        return cd_sandbox_fail_set(
            f, 400, NULL, "payment_method_not_available", "payment_method",
            "The provided PaymentMethod was not attached to the Customer "
            "%s.", cus);
    if (card_outcome(number, off_session, &decline) != 0) {
        ch = charge_new(s, pi, pm, NULL, &decline);
        if (!ch)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
        cd_sandbox_emit(s, "charge.failed", ch);
        cd_sandbox_emit(s, "payment_intent.payment_failed", pi);
        *f = decline;
        return -1;
    }
    ch = charge_new(s, pi, pm, NULL, NULL);
    if (!ch)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    cd_sandbox_emit(s, "charge.succeeded", ch);
    cd_sandbox_emit(s, "payment_intent.succeeded", pi);
    return 0;
}

json_t *cd_sandbox_card_attach(struct cd_sandbox *s, const char *cus_id,
                               const struct cd_sandbox_card *card,
                               struct cd_sandbox_fail *f)
{
    char digits[24];
    int exp_month, exp_year;
    json_t *pm;

    if (check_card(card, digits, sizeof(digits), &exp_month, &exp_year, f) ||
        card_outcome(digits, 0, f))
        return NULL;
    pm = pm_new(s, digits, exp_month, exp_year, card->email, cus_id);
    if (!pm) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    cd_sandbox_emit(s, "payment_method.attached", pm);
    return pm;
}

int cd_sandbox_pi_pay_card(struct cd_sandbox *s, json_t *pi,
                           const struct cd_sandbox_card *card,
                           struct cd_sandbox_fail *f)
{
    char digits[24];
    int exp_month, exp_year;
    json_t *pm;

    if (check_card(card, digits, sizeof(digits), &exp_month, &exp_year, f))
        return -1;
    pm = pm_new(s, digits, exp_month, exp_year, card->email, NULL);
    if (!pm)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    return cd_sandbox_pi_confirm(s, pi,
                                 json_string_value(json_object_get(pm, "id")),
                                 0, f);
}

/*
 * Subscription mode: the card is checked and charged like in payment mode
 * (a declining test card declines here, the session stays open); Checkout
 * always has a customer (the session's, else a new one), attaches the
 * card to it, and starts the subscription with its first, paid invoice
 * (subs.c). The session then names both.
 */
static int checkout_pay_subscription(struct cd_sandbox *s, json_t *session,
                                     const struct cd_sandbox_card *card,
                                     struct cd_sandbox_fail *f)
{
    const char *sid = json_string_value(json_object_get(session, "id"));
    const char *email, *cus_id;
    json_t *customer = NULL, *pm, *sub;
    char digits[24];
    int exp_month, exp_year;

    if (check_card(card, digits, sizeof(digits), &exp_month, &exp_year, f) ||
        card_outcome(digits, 0, f))
        return -1;
    email = card->email && card->email[0]
                ? card->email
                : json_string_value(json_object_get(session, "customer_email"));
    cus_id = json_string_value(json_object_get(session, "customer"));
    if (cus_id)
        customer = cd_sandbox_lookup(s, cus_id);
    if (customer && !email)
        email = json_string_value(json_object_get(customer, "email"));
    if (!customer)
        customer = cd_sandbox_customer_create(s, email, NULL, NULL, NULL);
    if (!customer)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    cus_id = json_string_value(json_object_get(customer, "id"));
    pm = pm_new(s, digits, exp_month, exp_year, email, cus_id);
    if (!pm)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");
    cd_sandbox_emit(s, "payment_method.attached", pm);
    sub = cd_sandbox_sub_create(
        s, session, cus_id, json_string_value(json_object_get(pm, "id")), f);
    if (!sub)
        return -1;

    json_object_set_new(session, "status", json_string("complete"));
    json_object_set_new(session, "payment_status", json_string("paid"));
    json_object_set_new(session, "customer", json_string(cus_id));
    json_object_set(session, "subscription", json_object_get(sub, "id"));
    json_object_set(session, "invoice", json_object_get(sub, "latest_invoice"));
    json_object_set_new(
        session, "customer_details",
        json_pack("{s:n, s:s?, s:n, s:n, s:s, s:[]}", "address", "email",
                  email, "name", "phone", "tax_exempt", "none", "tax_ids"));
    cd_sandbox_emit(s, "checkout.session.completed", session);
    cd_info(MOD, "session %s paid, subscription %s (%s ****%s)", sid,
            json_string_value(json_object_get(sub, "id")), card_brand(digits),
            digits + strlen(digits) - 4);
    return 0;
}

int cd_sandbox_checkout_pay(struct cd_sandbox *s, json_t *session,
                            const struct cd_sandbox_card *card,
                            struct cd_sandbox_fail *f)
{
    const char *sid = json_string_value(json_object_get(session, "id"));
    json_t *priv = json_object_get(s->priv, sid ? sid : "");
    json_t *pid = json_object_get(priv, "payment_intent_data");
    const char *st, *currency, *email, *sfu, *creation, *cus_id;
    json_t *customer = NULL, *pm, *pi, *ch;
    json_int_t amount;
    char digits[24];
    int exp_month, exp_year, attach;

    cd_sandbox_session_refresh(s, session);
    st = json_string_value(json_object_get(session, "status"));
    if (!st || strcmp(st, "open") != 0)
        return cd_sandbox_fail_set(
            f, 400, NULL, "checkout_session_not_open", NULL,
            "This Checkout Session is no longer active (status \"%s\").",
            st ? st : "unknown");
    if (json_string_value(json_object_get(session, "mode")) &&
        strcmp(json_string_value(json_object_get(session, "mode")),
               "subscription") == 0)
        return checkout_pay_subscription(s, session, card, f);
    amount = json_integer_value(json_object_get(session, "amount_total"));
    if (amount == 0) {
        /* Nothing to charge: Stripe completes without a PaymentIntent. */
        json_object_set_new(session, "status", json_string("complete"));
        json_object_set_new(session, "payment_status",
                            json_string("no_payment_required"));
        cd_sandbox_emit(s, "checkout.session.completed", session);
        return 0;
    }
    if (check_card(card, digits, sizeof(digits), &exp_month, &exp_year, f) ||
        card_outcome(digits, 0, f))
        return -1;

    currency = json_string_value(json_object_get(session, "currency"));
    sfu = json_string_value(json_object_get(pid, "setup_future_usage"));
    creation = json_string_value(json_object_get(priv, "customer_creation"));
    email = card->email && card->email[0]
                ? card->email
                : json_string_value(json_object_get(session, "customer_email"));

    cus_id = json_string_value(json_object_get(session, "customer"));
    if (cus_id)
        customer = cd_sandbox_lookup(s, cus_id);
    if (customer && !email)
        email = json_string_value(json_object_get(customer, "email"));
    if (!customer && creation &&
        (strcmp(creation, "always") == 0 || sfu)) {
        customer = cd_sandbox_customer_create(s, email, NULL, NULL, NULL);
        if (!customer)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
    }
    cus_id = customer ? json_string_value(json_object_get(customer, "id"))
                      : NULL;
    attach = sfu && cus_id;

    pm = pm_new(s, digits, exp_month, exp_year, email,
                attach ? cus_id : NULL);
    pi = pm ? cd_sandbox_pi_create(s, amount, currency, cus_id,
                                   pi_metadata(pid), sfu, NULL)
            : NULL;
    if (pi)
        cd_sandbox_emit(s, "payment_intent.created", pi);
    ch = pi ? charge_new(s, pi, pm, email, NULL) : NULL;
    if (!ch)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");

    json_object_set_new(session, "status", json_string("complete"));
    json_object_set_new(session, "payment_status", json_string("paid"));
    json_object_set(session, "payment_intent", json_object_get(pi, "id"));
    if (cus_id)
        json_object_set_new(session, "customer", json_string(cus_id));
    json_object_set_new(
        session, "customer_details",
        json_pack("{s:n, s:s?, s:n, s:n, s:s, s:[]}", "address", "email",
                  email, "name", "phone", "tax_exempt", "none", "tax_ids"));

    if (attach)
        cd_sandbox_emit(s, "payment_method.attached", pm);
    cd_sandbox_emit(s, "charge.succeeded", ch);
    cd_sandbox_emit(s, "payment_intent.succeeded", pi);
    cd_sandbox_emit(s, "checkout.session.completed", session);
    cd_info(MOD, "session %s paid (%s ****%s)", sid, card_brand(digits),
            digits + strlen(digits) - 4);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Refunds                                                             */

json_t *cd_sandbox_refund(struct cd_sandbox *s, json_t *charge,
                          int64_t amount, const char *reason,
                          const json_t *metadata, struct cd_sandbox_fail *f)
{
    json_int_t total = json_integer_value(json_object_get(charge, "amount"));
    json_int_t done =
        json_integer_value(json_object_get(charge, "amount_refunded"));
    const char *ch_id = json_string_value(json_object_get(charge, "id"));
    json_t *re, *list;
    char id[64];

    if (done >= total) {
        cd_sandbox_fail_set(f, 400, NULL, "charge_already_refunded", NULL,
                            "Charge %s has already been refunded.", ch_id);
        return NULL;
    }
    if (amount <= 0)
        amount = total - done;
    if (amount > total - done) {
        cd_sandbox_fail_set(f, 400, NULL, "amount_too_large", "amount",
                            "Refund amount (%lld) is greater than unrefunded "
                            "amount on charge (%lld)",
                            (long long)amount, (long long)(total - done));
        return NULL;
    }
    cd_sandbox_new_id("re_", id, sizeof(id));
    re = json_pack("{s:s, s:s, s:I, s:n, s:s, s:I, s:O, s:o, s:O, s:s?, "
                   "s:s}",
                   "id", id, "object", "refund", "amount", (json_int_t)amount,
                   "balance_transaction", "charge", ch_id, "created",
                   (json_int_t)cd_now(), "currency",
                   json_object_get(charge, "currency"), "metadata",
                   metadata ? json_deep_copy(metadata) : json_object(),
                   "payment_intent", json_object_get(charge, "payment_intent"),
                   "reason", reason, "status", "succeeded");
    if (!re || cd_sandbox_store(s->refunds, re) != 0) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    done += amount;
    json_object_set_new(charge, "amount_refunded", json_integer(done));
    json_object_set_new(charge, "refunded", json_boolean(done >= total));
    list = json_object_get(charge, "refunds");
    if (json_is_object(list)) {
        json_t *data = json_object_get(list, "data");
        if (json_is_array(data))
            json_array_insert(data, 0, re);
    }
    cd_sandbox_emit(s, "refund.created", re);
    cd_sandbox_emit(s, "charge.refunded", charge);
    return re;
}

/* ------------------------------------------------------------------ */
/* Disputes                                                            */

/* The newest dispute of a charge (borrowed), or NULL. */
static json_t *charge_dispute(struct cd_sandbox *s, const char *ch_id)
{
    const char *k;
    json_t *d, *found = NULL;

    json_object_foreach(s->disputes, k, d) {
        const char *c = json_string_value(json_object_get(d, "charge"));
        if (c && strcmp(c, ch_id) == 0)
            found = d;
    }
    return found;
}

static int dispute_open(const json_t *d)
{
    const char *st = json_string_value(json_object_get(d, "status"));

    return st && strcmp(st, "won") != 0 && strcmp(st, "lost") != 0 &&
           strcmp(st, "warning_closed") != 0;
}

json_t *cd_sandbox_dispute(struct cd_sandbox *s, json_t *charge,
                           const char *status, struct cd_sandbox_fail *f)
{
    const char *ch_id = json_string_value(json_object_get(charge, "id"));
    const char *ch_st = json_string_value(json_object_get(charge, "status"));
    json_t *d;
    char id[64];
    int64_t now = cd_now();

    if (status && strcmp(status, "won") != 0 && strcmp(status, "lost") != 0) {
        cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                            "status", "status must be won, lost or null.");
        return NULL;
    }
    d = ch_id ? charge_dispute(s, ch_id) : NULL;
    if (!d || !dispute_open(d)) {
        if (!ch_st || strcmp(ch_st, "succeeded") != 0) {
            cd_sandbox_fail_set(f, 400, NULL, "charge_not_disputable", NULL,
                                "Only a succeeded charge can be disputed.");
            return NULL;
        }
        if (d && !status) {
            cd_sandbox_fail_set(f, 400, NULL, "dispute_closed", NULL,
                                "The charge's dispute %s is closed already.",
                                json_string_value(json_object_get(d, "id")));
            return NULL;
        }
        cd_sandbox_new_id("dp_", id, sizeof(id));
        d = json_pack(
            "{s:s, s:s, s:O, s:[], s:s, s:I, s:O, s:{s:n}, "
            "s:{s:I, s:b, s:b, s:i}, s:b, s:b, s:{}, s:O, s:s, s:s}",
            "id", id, "object", "dispute", "amount",
            json_object_get(charge, "amount"), "balance_transactions",
            "charge", ch_id, "created", (json_int_t)now, "currency",
            json_object_get(charge, "currency"), "evidence",
            "uncategorized_text", "evidence_details", "due_by",
            (json_int_t)(now + 7 * 86400), "has_evidence", 0, "past_due", 0,
            "submission_count", 0, "is_charge_refundable", 0, "livemode", 0,
            "metadata", "payment_intent",
            json_object_get(charge, "payment_intent"), "reason", "fraudulent",
            "status", "needs_response");
        if (!d || cd_sandbox_store(s->disputes, d) != 0) {
            cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                "The sandbox is full.");
            return NULL;
        }
        json_object_set_new(charge, "disputed", json_true());
        cd_sandbox_emit(s, "charge.dispute.created", d);
        if (!status)
            return d;
    } else if (!status) {
        cd_sandbox_fail_set(f, 400, NULL, "dispute_open", "status",
                            "The charge's dispute %s is open: pass status "
                            "won or lost to close it.",
                            json_string_value(json_object_get(d, "id")));
        return NULL;
    }
    json_object_set_new(d, "status", json_string(status));
    cd_sandbox_emit(s, "charge.dispute.closed", d);
    return d;
}
