/*
 * invoice_payments.c - InvoicePayment objects: the PaymentIntent and
 * charge that pay (or fail to pay) a subscription's invoice, the
 * invoice_payment linking them, and GET /v1/invoice_payments (creditd
 * finds the invoice a renewal's charge paid with it), and its
 * invoice_payment.paid event.
 */
#include "sandbox/internal.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* The invoice's payment by pm_id (a PaymentMethod or a test token;
 * NULL: none on file), declined with decline (NULL: it succeeds). */
static json_t *pay_with(struct cd_sandbox *s, json_t *inv, const char *pm_id,
                        const struct cd_sandbox_fail *decline)
{
    const char *reason = json_string_value(
        json_object_get(inv, "billing_reason"));
    json_t *pm = pm_id ? json_object_get(s->pms, pm_id) : NULL;
    json_t *pi, *ch;

    pi = cd_sandbox_pi_create(
        s, json_integer_value(json_object_get(inv, "amount_due")),
        json_string_value(json_object_get(inv, "currency")),
        json_string_value(json_object_get(inv, "customer")), NULL, NULL,
        reason && strcmp(reason, "subscription_create") == 0
            ? "Subscription creation"
            : "Subscription update");
    if (!pi)
        return NULL;
    cd_sandbox_emit(s, "payment_intent.created", pi);
    ch = cd_sandbox_charge_new(s, pi, pm, NULL, decline);
    if (!ch)
        return NULL;
    if (!pm && pm_id)
        json_object_set_new(pi, "payment_method", json_string(pm_id));
    cd_sandbox_emit(s, decline ? "charge.failed" : "charge.succeeded", ch);
    cd_sandbox_emit(s,
                    decline ? "payment_intent.payment_failed"
                            : "payment_intent.succeeded",
                    pi);
    return pi;
}

json_t *cd_sandbox_invoice_pay(struct cd_sandbox *s, json_t *inv,
                               const char *pm_id,
                               const struct cd_sandbox_fail *decline)
{
    json_t *pi = pay_with(s, inv, pm_id, decline), *ip;
    json_int_t now = (json_int_t)cd_now();
    char id[64];

    if (!pi)
        return NULL;
    cd_sandbox_new_id("inpay_", id, sizeof(id));
    ip = json_pack(
        "{s:s, s:s, s:o, s:O, s:I, s:O, s:O, s:b, s:b, s:{s:s, s:O}, s:s, "
        "s:{s:n, s:o}}",
        "id", id, "object", "invoice_payment", "amount_paid",
        decline ? json_null()
                : json_incref(json_object_get(inv, "amount_due")),
        "amount_requested", json_object_get(inv, "amount_due"), "created",
        now, "currency", json_object_get(inv, "currency"), "invoice",
        json_object_get(inv, "id"), "is_default", 1, "livemode", 0, "payment",
        "type", "payment_intent", "payment_intent", json_object_get(pi, "id"),
        "status", decline ? "open" : "paid", "status_transitions",
        "canceled_at", "paid_at", decline ? json_null() : json_integer(now));
    if (!ip || cd_sandbox_store(s->invoice_payments, ip) != 0)
        return NULL;
    if (!decline) /* as Stripe: the invoice's payment names its intent */
        cd_sandbox_emit(s, "invoice_payment.paid", ip);
    return ip;
}

/* ------------------------------------------------------------------ */
/* Routes                                                             */

void cd_sandbox_h_invoice_payment_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->invoice_payments,
                         "invoice_payment");
}

struct ip_filter {
    const char *invoice, *status, *type, *pi;
};

static int ip_filter_fn(const json_t *ip, void *arg)
{
    const struct ip_filter *f = arg;
    const json_t *pay = json_object_get(ip, "payment");
    const char *v;

#define MISMATCH(want, obj, key)                                             \
    ((want) && (!(v = json_string_value(json_object_get(obj, key))) ||       \
                strcmp(v, want) != 0))
    if (MISMATCH(f->invoice, ip, "invoice") ||
        MISMATCH(f->status, ip, "status") || MISMATCH(f->type, pay, "type") ||
        MISMATCH(f->pi, pay, "payment_intent"))
        return 0;
#undef MISMATCH
    return 1;
}

void cd_sandbox_h_invoice_payment_list(struct cd_req *r)
{
    struct ip_filter f = {cd_req_query(r, "invoice"),
                          cd_req_query(r, "status"),
                          cd_req_query(r, "payment[type]"),
                          cd_req_query(r, "payment[payment_intent]")};

    if (f.pi && !f.type) {
        cd_sandbox_reply_errorf(r, 400, NULL, "parameter_missing",
                                "payment[type]",
                                "Missing required param: payment[type].");
        return;
    }
    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->invoice_payments,
                          "/v1/invoice_payments", "invoice_payment",
                          ip_filter_fn, &f);
}
