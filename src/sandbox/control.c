/*
 * control.c - the sandbox's test-only control endpoints under /_sandbox/
 * (listed atop sandbox.c): pay, expire or refund a session without a
 * browser, open and close a dispute on a charge, renew a subscription
 * (paid or failing), flip the delivery test switches, redeliver an event.
 * No auth: the sandbox listens on loopback only, and guard.c refuses a
 * foreign Host or Origin and a body that is neither JSON sent as
 * application/json nor a form. s->mu is held by the dispatch function
 * around each handler.
 */
#include "sandbox/internal.h"

#include <string.h>

#include "stripe/form.h"
#include "util/util.h"

/* The body as an object, read as its Content-Type says (cd_sandbox_guard
 * let in only JSON as application/json and form parameters as
 * application/x-www-form-urlencoded); {} when there is none.
 * New reference, or NULL after replying 400. */
static json_t *body_params(struct cd_req *r)
{
    const char *p = r->body;
    size_t n = r->body_len;
    json_t *j;

    while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
        n--;
    }
    if (n == 0)
        return json_object();
    if (cd_sandbox_is_json(r))
        j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
    else
        j = cd_form_decode(p, n);
    if (!json_is_object(j)) {
        json_decref(j);
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error", NULL, NULL,
                                "Invalid body: expected a JSON object or "
                                "form parameters.");
        return NULL;
    }
    return j;
}

static const char *str_field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *control_session(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *sess = json_object_get(s->sessions, r->params[0]);

    if (!sess)
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "session",
            "No such checkout.session: '%.80s'", r->params[0]);
    return sess;
}

static void reply_obj(struct cd_req *r, const json_t *obj)
{
    json_t *out = json_deep_copy(obj);

    cd_sandbox_shape(out);
    cd_reply_json(r, 200, out);
}

static void h_health(struct cd_req *r)
{
    cd_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void h_complete(struct cd_req *r)
{
    struct cd_sandbox_fail f;
    struct cd_sandbox_card card;
    json_t *sess = control_session(r), *p;

    if (!sess || !(p = body_params(r)))
        return;
    card.number = str_field(p, "card");
    if (!card.number)
        card.number = str_field(p, "number");
    card.exp = str_field(p, "exp");
    card.cvc = str_field(p, "cvc");
    card.email = str_field(p, "email");
    if (!card.number)
        card.number = "4242424242424242";
    if (cd_sandbox_checkout_pay(r->app, sess, &card, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_obj(r, sess);
    json_decref(p);
}

static void h_expire(struct cd_req *r)
{
    struct cd_sandbox_fail f;
    json_t *sess = control_session(r);

    if (!sess)
        return;
    cd_sandbox_session_refresh(r->app, sess);
    if (str_field(sess, "status") &&
        strcmp(str_field(sess, "status"), "expired") == 0) {
        /* Already expired (maybe just now, lazily): that is what the
         * caller wanted. */
        reply_obj(r, sess);
        return;
    }
    if (cd_sandbox_session_expire(r->app, sess, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_obj(r, sess);
}

static void h_refund(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    json_t *sess = control_session(r), *p, *pi, *ch, *re, *a;
    int64_t amount = 0;

    if (!sess || !(p = body_params(r)))
        return;
    a = json_object_get(p, "amount");
    if (json_is_integer(a))
        amount = json_integer_value(a);
    else if (json_is_string(a) && cd_parse_int64(json_string_value(a), 1,
                                                 CD_AMOUNT_MAX, &amount) != 0)
        amount = -1;
    if (a && amount <= 0) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_integer", "amount",
                                "amount must be a positive integer");
        goto out;
    }
    pi = json_object_get(s->intents, str_field(sess, "payment_intent")
                                         ? str_field(sess, "payment_intent")
                                         : "");
    ch = json_object_get(s->charges, pi && str_field(pi, "latest_charge")
                                         ? str_field(pi, "latest_charge")
                                         : "");
    if (!ch) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "charge_not_found", NULL,
                                "This Checkout Session has no charge to "
                                "refund.");
        goto out;
    }
    re = cd_sandbox_refund(s, ch, amount, str_field(p, "reason"), NULL, &f);
    if (!re)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_obj(r, re);
out:
    json_decref(p);
}

static void h_pi_confirm(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    struct cd_sandbox_card card;
    json_t *pi = json_object_get(s->intents, r->params[0]), *p;

    if (!pi) {
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "intent",
            "No such payment_intent: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = body_params(r)))
        return;
    card.number = str_field(p, "card");
    if (!card.number)
        card.number = "4242424242424242";
    card.exp = str_field(p, "exp");
    card.cvc = str_field(p, "cvc");
    card.email = str_field(p, "email");
    if (cd_sandbox_pi_pay_card(s, pi, &card, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_obj(r, pi);
    json_decref(p);
}

static void h_dispute(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    json_t *ch = json_object_get(s->charges, r->params[0]), *p, *d, *st;
    const char *status = NULL;

    if (!ch) {
        /* A PaymentIntent id stands for its latest charge. */
        json_t *pi = json_object_get(s->intents, r->params[0]);
        const char *lc = json_string_value(
            json_object_get(pi, "latest_charge"));
        ch = lc ? json_object_get(s->charges, lc) : NULL;
    }
    if (!ch) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "charge",
                                "No such charge: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = body_params(r)))
        return;
    st = json_object_get(p, "status");
    if (st && !json_is_null(st)) {
        if (!json_is_string(st)) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_string", "status",
                                    "status must be won, lost or null.");
            goto out;
        }
        status = json_string_value(st);
    }
    d = cd_sandbox_dispute(s, ch, status, &f);
    if (!d)
        cd_sandbox_reply_fail(r, &f);
    else
        reply_obj(r, d);
out:
    json_decref(p);
}

/* POST /_sandbox/subscriptions/{id}/renew {"card_fails"?: bool}: the
 * next period (subscriptions.c); replies the subscription with
 * latest_invoice expanded. */
static void h_sub_renew(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    json_t *sub = json_object_get(s->subs, r->params[0]), *p, *cf, *out;
    int fails = 0;

    if (!sub) {
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "id",
            "No such subscription: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = body_params(r)))
        return;
    cf = json_object_get(p, "card_fails");
    if (cf && !json_is_boolean(cf) &&
        !(json_is_string(cf) &&
          (strcmp(json_string_value(cf), "true") == 0 ||
           strcmp(json_string_value(cf), "false") == 0))) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_boolean", "card_fails",
                                "card_fails must be true or false");
        goto out;
    }
    fails = json_is_true(cf) || (json_is_string(cf) &&
                                 strcmp(json_string_value(cf), "true") == 0);
    if (!cd_sandbox_sub_renew(s, sub, fails, &f)) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    out = json_deep_copy(sub);
    if (out) {
        json_t *inv = cd_sandbox_lookup(s,
                                        str_field(sub, "latest_invoice")
                                            ? str_field(sub, "latest_invoice")
                                            : "");
        if (inv)
            json_object_set_new(out, "latest_invoice", json_deep_copy(inv));
        cd_sandbox_shape(out);
    }
    cd_reply_json(r, 200, out);
out:
    json_decref(p);
}

static void h_config_get(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *o = cd_sandbox_deliverer_stats(s->dlv);

    json_object_set_new(
        o, "api_delay_ms",
        json_integer(__atomic_load_n(&s->api_delay_ms, __ATOMIC_RELAXED)));
    json_object_set_new(
        o, "api_waiting",
        json_integer(__atomic_load_n(&s->api_waiting, __ATOMIC_RELAXED)));
    json_object_set_new(o, "fail_next", cd_sandbox_fault_json(s));
    json_object_set_new(o, "clock_offset_s",
                        json_integer((json_int_t)cd_clock_offset()));
    cd_reply_json(r, 200, o);
}

/* The integer switch name of p in lo..hi into *out (left as it is when
 * absent): 0, or -1 after replying 400. */
static int int_switch(struct cd_req *r, const json_t *p, const char *name,
                      long lo, long hi, long *out)
{
    const json_t *v = json_object_get(p, name);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_integer", name,
                                "%s must be %ld..%ld", name, lo, hi);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static void h_config_set(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *p = body_params(r), *v;
    long delay = -1, jitter = -1, dups = -1, api_delay = -1, tries = -1;
    long advance = 0;
    int shuffle = -1;

    if (!p)
        return;
    if (int_switch(r, p, "delivery_delay_ms", 0, 3600 * 1000, &delay) != 0 ||
        int_switch(r, p, "delivery_jitter_ms", 0, 60000, &jitter) != 0 ||
        int_switch(r, p, "duplicate_deliveries", 1, 10, &dups) != 0 ||
        int_switch(r, p, "delivery_attempts", 1, 1000, &tries) != 0)
        goto out;
    if ((v = json_object_get(p, "shuffle")) != NULL) {
        if (!json_is_boolean(v)) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_boolean", "shuffle",
                                    "shuffle must be true or false");
            goto out;
        }
        shuffle = json_is_true(v);
    }
    if (int_switch(r, p, "api_delay_ms", 0, 60000, &api_delay) != 0 ||
        int_switch(r, p, "advance_clock_s", 0, 366L * 86400, &advance) != 0)
        goto out;
    /* the sandbox's clock only (its own process): objects' created,
     * expiries, and the 24 h an Idempotency-Key is remembered */
    cd_clock_advance(advance);
    if (api_delay >= 0)
        __atomic_store_n(&s->api_delay_ms, api_delay, __ATOMIC_RELAXED);
    if ((v = json_object_get(p, "webhook_events")) != NULL) {
        size_t i;
        json_t *t;

        json_array_foreach(v, i, t) if (!json_is_string(t)) break;
        if (!json_is_array(v) || i < json_array_size(v)) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_array",
                                    "webhook_events",
                                    "webhook_events must be an array of "
                                    "event types");
            goto out;
        }
        json_decref(s->webhook_events);
        s->webhook_events = json_deep_copy(v);
    }
    if ((v = json_object_get(p, "fail_next")) != NULL &&
        cd_sandbox_fault_configure(s, r, v) != 0)
        goto out;
    cd_sandbox_deliverer_configure(s->dlv, delay, jitter, (int)dups, shuffle,
                                   (int)tries);
    h_config_get(r);
out:
    json_decref(p);
}

static void h_redeliver(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *ev = json_object_get(s->events, r->params[0]);

    if (!ev) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such event: '%.80s'", r->params[0]);
        return;
    }
    if (!s->webhook_url) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "no_webhook_url", NULL,
                                "No webhook url is configured.");
        return;
    }
    cd_sandbox_deliver_event(s, ev);
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:b}", "id", r->params[0], "queued", 1));
}

const struct cd_route cd_sandbox_control_routes[] = {
    {"GET", "/_sandbox/health", h_health, 0, 0},
    {"POST", "/_sandbox/checkout/{}/complete", h_complete, 0, 0},
    {"POST", "/_sandbox/checkout/{}/expire", h_expire, 0, 0},
    {"POST", "/_sandbox/checkout/{}/refund", h_refund, 0, 0},
    {"POST", "/_sandbox/payment_intents/{}/confirm", h_pi_confirm, 0, 0},
    {"POST", "/_sandbox/charges/{}/dispute", h_dispute, 0, 0},
    {"POST", "/_sandbox/subscriptions/{}/renew", h_sub_renew, 0, 0},
    {"GET", "/_sandbox/config", h_config_get, 0, 0},
    {"POST", "/_sandbox/config", h_config_set, 0, 0},
    {"POST", "/_sandbox/events/{}/redeliver", h_redeliver, 0, 0},
};
const size_t cd_sandbox_control_nroutes = CD_ARRAY_LEN(
    cd_sandbox_control_routes);
