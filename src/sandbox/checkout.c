/*
 * checkout.c - Checkout Session objects: creating one (line items,
 * modes), its expiry, paying it from the hosted page (payment and
 * subscription mode), and the /v1/checkout/sessions routes.
 */
#include "sandbox/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stripe/client.h"
#include "stripe/form.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define MOD "sandbox"
#define LINE_ITEMS_MAX 100
#define UNIT_AMOUNT_MAX INT64_C(99999999)
#define QUANTITY_MAX INT64_C(999999)
#define SESSION_TOTAL_MAX INT64_C(99999999)
#define URL_MAX 2048

/* ------------------------------------------------------------------ */
/* Checkout sessions                                                   */

void cd_sandbox_session_refresh(struct cd_sandbox *s, json_t *session)
{
    const char *st = json_string_value(json_object_get(session, "status"));
    json_int_t exp = json_integer_value(
        json_object_get(session, "expires_at"));

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
    json_object_foreach_safe(s->sessions, tmp, id, sess)
    {
        const char *st = json_string_value(json_object_get(sess, "status"));
        json_int_t exp = json_integer_value(
            json_object_get(sess, "expires_at"));
        if (st && strcmp(st, "open") == 0 && exp > 0 && now >= exp)
            cd_sandbox_session_expire(s, sess, NULL);
    }
    pthread_mutex_unlock(&s->mu);
}

/* payment_intent_data[metadata] as a new object. */
static json_t *pi_metadata(const json_t *pid)
{
    json_t *m = json_object_get(pid, "metadata");

    return json_is_object(m) ? json_deep_copy(m) : json_object();
}

/*
 * Subscription mode: the card is checked and charged like in payment mode
 * (a declining test card declines here, the session stays open); Checkout
 * always has a customer (the session's, else a new one), attaches the
 * card to it, and starts the subscription with its first, paid invoice
 * (subscriptions.c). The session then names both.
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

    if (cd_sandbox_card_check(card, digits, sizeof(digits), &exp_month,
                              &exp_year, f) ||
        cd_sandbox_card_outcome(digits, 0, f))
        return -1;
    email = card->email && card->email[0] ? card->email
                                          : json_string_value(json_object_get(
                                                session, "customer_email"));
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
    pm = cd_sandbox_pm_new(s, digits, exp_month, exp_year, email, cus_id);
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
    json_object_set(session, "invoice",
                    json_object_get(sub, "latest_invoice"));
    json_object_set_new(session, "customer_details",
                        json_pack("{s:n, s:s?, s:n, s:n, s:s, s:[]}",
                                  "address", "email", email, "name", "phone",
                                  "tax_exempt", "none", "tax_ids"));
    cd_sandbox_emit(s, "checkout.session.completed", session);
    cd_info(MOD, "session %s paid, subscription %s (%s ****%s)", sid,
            json_string_value(json_object_get(sub, "id")),
            cd_sandbox_card_brand(digits), digits + strlen(digits) - 4);
    return 0;
}

/* Who pays a payment-mode session: its customer, else a new one when
 * customer_creation is "always" or the card is to be saved (sfu), else
 * a guest (*cus_id NULL). *email: the payer's, else the customer's. 0, or
 * -1 with f filled. */
static int payer(struct cd_sandbox *s, const json_t *session,
                 const json_t *priv, const char *sfu, const char **email,
                 const char **cus_id, struct cd_sandbox_fail *f)
{
    const char *creation = json_string_value(
        json_object_get(priv, "customer_creation"));
    const char *id = json_string_value(json_object_get(session, "customer"));
    json_t *customer = id ? cd_sandbox_lookup(s, id) : NULL;

    if (customer && !*email)
        *email = json_string_value(json_object_get(customer, "email"));
    if (!customer && creation && (strcmp(creation, "always") == 0 || sfu)) {
        customer = cd_sandbox_customer_create(s, *email, NULL, NULL, NULL);
        if (!customer)
            return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                       "The sandbox is full.");
    }
    *cus_id = customer ? json_string_value(json_object_get(customer, "id"))
                       : NULL;
    return 0;
}

/* Marks a payment-mode session paid by pi, and who paid it. */
static void session_paid(json_t *session, const json_t *pi,
                         const char *cus_id, const char *email)
{
    json_object_set_new(session, "status", json_string("complete"));
    json_object_set_new(session, "payment_status", json_string("paid"));
    json_object_set(session, "payment_intent", json_object_get(pi, "id"));
    if (cus_id)
        json_object_set_new(session, "customer", json_string(cus_id));
    json_object_set_new(session, "customer_details",
                        json_pack("{s:n, s:s?, s:n, s:n, s:s, s:[]}",
                                  "address", "email", email, "name", "phone",
                                  "tax_exempt", "none", "tax_ids"));
}

int cd_sandbox_checkout_pay(struct cd_sandbox *s, json_t *session,
                            const struct cd_sandbox_card *card,
                            struct cd_sandbox_fail *f)
{
    const char *sid = json_string_value(json_object_get(session, "id"));
    json_t *priv = json_object_get(s->priv, sid ? sid : "");
    json_t *pid = json_object_get(priv, "payment_intent_data");
    const char *st, *currency, *email, *sfu, *cus_id = NULL;
    json_t *pm, *pi, *ch;
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
    if (cd_sandbox_card_check(card, digits, sizeof(digits), &exp_month,
                              &exp_year, f) ||
        cd_sandbox_card_outcome(digits, 0, f))
        return -1;

    currency = json_string_value(json_object_get(session, "currency"));
    sfu = json_string_value(json_object_get(pid, "setup_future_usage"));
    email = card->email && card->email[0] ? card->email
                                          : json_string_value(json_object_get(
                                                session, "customer_email"));
    if (payer(s, session, priv, sfu, &email, &cus_id, f))
        return -1;
    attach = sfu && cus_id;

    pm = cd_sandbox_pm_new(s, digits, exp_month, exp_year, email,
                           attach ? cus_id : NULL);
    pi = pm ? cd_sandbox_pi_create(s, amount, currency, cus_id,
                                   pi_metadata(pid), sfu, NULL)
            : NULL;
    if (pi)
        cd_sandbox_emit(s, "payment_intent.created", pi);
    ch = pi ? cd_sandbox_charge_new(s, pi, pm, email, NULL) : NULL;
    if (!ch)
        return cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                   "The sandbox is full.");

    session_paid(session, pi, cus_id, email);
    if (attach)
        cd_sandbox_emit(s, "payment_method.attached", pm);
    cd_sandbox_emit(s, "charge.succeeded", ch);
    cd_sandbox_emit(s, "payment_intent.succeeded", pi);
    cd_sandbox_emit(s, "checkout.session.completed", session);
    cd_info(MOD, "session %s paid (%s ****%s)", sid,
            cd_sandbox_card_brand(digits), digits + strlen(digits) - 4);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Routes                                                             */

/* line_items[i]'s price: its price_data's currency (the same for every
 * item; kept in currency), unit_amount and product_data[name]. 0, or -1
 * with f filled. */
static int line_price(json_t *li, size_t i, char currency[4], int64_t *unit,
                      const char **name, struct cd_sandbox_fail *f)
{
    char param[96];
    const char *cur, *price;
    json_t *pd, *prod;
    int present;

    *unit = 0; /* the outputs are written on every path */
    *name = NULL;
    snprintf(param, sizeof(param), "line_items[%zu]", i);
    if (!json_is_object(li))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid line item.");
    if (cd_sandbox_opt_str(li, "price", param, 255, &price, f))
        return -1;
    if (price) {
        snprintf(param, sizeof(param), "line_items[%zu][price]", i);
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing", param,
                                   "No such price: '%.80s'", price);
    }
    pd = json_object_get(li, "price_data");
    if (!json_is_object(pd)) {
        snprintf(param, sizeof(param), "line_items[%zu][price_data]", i);
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_missing", param,
                                   "You must specify either `price` or "
                                   "`price_data` for each line item.");
    }
    snprintf(param, sizeof(param), "line_items[%zu][price_data][currency]",
             i);
    if (cd_sandbox_opt_currency(pd, param, &cur, f))
        return -1;
    if (!cur)
        return cd_sandbox_missing(f, param);
    if (currency[0] && strcmp(currency, cur) != 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param,
                                   "All line items must have the "
                                   "same currency.");
    memcpy(currency, cur, 4);

    snprintf(param, sizeof(param), "line_items[%zu][price_data][unit_amount]",
             i);
    if (cd_sandbox_opt_int(pd, "unit_amount", param, 0, UNIT_AMOUNT_MAX, unit,
                           &present, f))
        return -1;
    if (!present)
        return cd_sandbox_missing(f, param);

    snprintf(param, sizeof(param),
             "line_items[%zu][price_data][product_data][name]", i);
    prod = json_object_get(pd, "product_data");
    if (json_object_get(pd, "product")) {
        snprintf(param, sizeof(param), "line_items[%zu][price_data][product]",
                 i);
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing", param,
                                   "No such product; the sandbox supports "
                                   "product_data only.");
    }
    if (!json_is_object(prod) ||
        cd_sandbox_opt_str(prod, "name", param, 250, name, f) || !*name)
        return f->status ? -1 : cd_sandbox_missing(f, param);
    return 0;
}

/* price_data[recurring] of line_items[i], allowed in subscription mode
 * only: the Price's recurring object into *out (NULL: a one-time price).
 * 0, or -1 with f filled. */
static int line_recurring(const json_t *pd, size_t i, int subscription,
                          json_t **out, struct cd_sandbox_fail *f)
{
    json_t *rec = json_object_get(pd, "recurring");
    const char *interval;
    int64_t count = 1;
    int present;
    char param[96];

    *out = NULL;
    if (!rec)
        return 0;
    snprintf(param, sizeof(param),
             "line_items[%zu][price_data][recurring][interval]", i);
    if (!json_is_object(rec) ||
        cd_sandbox_opt_str(rec, "interval", param, 16, &interval, f))
        return f->status ? -1
                         : cd_sandbox_fail_set(f, 400, NULL,
                                               "parameter_invalid_string",
                                               param, "Invalid hash.");
    if (!interval)
        return cd_sandbox_missing(f, param);
    if (!cd_sandbox_interval_ok(interval))
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_string", param,
            "Invalid interval: must be one of day, week, month, or year.");
    snprintf(param, sizeof(param),
             "line_items[%zu][price_data][recurring][interval_count]", i);
    if (cd_sandbox_opt_int(rec, "interval_count", param, 1, 12, &count,
                           &present, f))
        return -1;
    if (!subscription) {
        snprintf(param, sizeof(param),
                 "line_items[%zu][price_data][recurring]", i);
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_string", param,
            "You specified `payment` mode but passed a recurring price. "
            "Either switch to `subscription` mode or use only one-time "
            "prices.");
    }
    *out = json_pack("{s:s, s:I, s:n, s:n, s:s}", "interval", interval,
                     "interval_count", (json_int_t)count, "meter",
                     "trial_period_days", "usage_type", "licensed");
    return 0;
}

/* A line item object with its Price (rec: the price's recurring object,
 * stolen; NULL: one-time). New reference. */
static json_t *line_item_json(const char *cur, const char *name, int64_t unit,
                              int64_t qty, json_t *rec, const json_t *pd)
{
    char li_id[64], price_id[64], prod_id[64];
    int64_t sub = unit * qty; /* <= 99999999 * 999999: no overflow */

    cd_sandbox_new_id("li_", li_id, sizeof(li_id));
    cd_sandbox_new_id("price_", price_id, sizeof(price_id));
    cd_sandbox_new_id("prod_", prod_id, sizeof(prod_id));
    return json_pack(
        "{s:s, s:s, s:i, s:I, s:i, s:I, s:s, s:s, "
        "s:{s:s, s:s, s:b, s:s, s:I, s:s, s:b, s:{}, s:s, "
        "s:o, s:I, s:s, s:s}, s:I}",
        "id", li_id, "object", "item", "amount_discount", 0,
        "amount_subtotal", (json_int_t)sub, "amount_tax", 0, "amount_total",
        (json_int_t)sub, "currency", cur, "description", name, "price", "id",
        price_id, "object", "price", "active", 0, "billing_scheme",
        "per_unit", "created", (json_int_t)cd_now(), "currency", cur,
        "livemode", 0, "metadata", "product", prod_id, "recurring",
        rec ? rec : json_null(), "unit_amount", (json_int_t)unit,
        "unit_amount_decimal",
        json_string_value(json_object_get(pd, "unit_amount")), "type",
        rec ? "recurring" : "one_time", "quantity", (json_int_t)qty);
}

/* Validates line_items and builds the line item objects; sets *total
 * and currency. */
static int build_line_items(json_t *items, int subscription, json_t *out,
                            int64_t *total, char currency[4],
                            struct cd_sandbox_fail *f)
{
    size_t i;
    json_t *li;
    char param[96];
    int nrecurring = 0;

    if (!items)
        return cd_sandbox_missing(f, "line_items");
    if (!json_is_array(items) || json_array_size(items) == 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_empty",
                                   "line_items",
                                   "line_items must be a "
                                   "non-empty list.");
    if (json_array_size(items) > LINE_ITEMS_MAX)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   "line_items",
                                   "You may only specify up to "
                                   "100 line items.");
    *total = 0;
    currency[0] = '\0';
    json_array_foreach(items, i, li)
    {
        const char *name;
        int64_t unit, qty;
        int present;
        json_t *rec;

        if (line_price(li, i, currency, &unit, &name, f))
            return -1;
        snprintf(param, sizeof(param), "line_items[%zu][quantity]", i);
        if (cd_sandbox_opt_int(li, "quantity", param, 1, QUANTITY_MAX, &qty,
                               &present, f))
            return -1;
        if (!present)
            return cd_sandbox_missing(f, param);
        if (line_recurring(json_object_get(li, "price_data"), i, subscription,
                           &rec, f))
            return -1;
        nrecurring += rec != NULL;
        *total += unit * qty;
        if (*total > SESSION_TOTAL_MAX) {
            json_decref(rec);
            return cd_sandbox_fail_set(
                f, 400, NULL, "amount_too_large", "line_items",
                "The Checkout Session's "
                "total amount due must be no more than "
                "999,999.99 %s.",
                currency);
        }
        json_array_append_new(
            out, line_item_json(currency, name, unit, qty, rec,
                                json_object_get(li, "price_data")));
    }
    if (subscription && nrecurring == 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_empty",
                                   "line_items",
                                   "You must provide at least "
                                   "one recurring price in `subscription` "
                                   "mode when using prices.");
    if (*total > 0 && *total < 50)
        return cd_sandbox_fail_set(f, 400, NULL, "amount_too_small",
                                   "line_items",
                                   "The Checkout Session's "
                                   "total amount due must add up to at least "
                                   "50 in the smallest currency unit.");
    return 0;
}

/* What POST /v1/checkout/sessions asks for, validated (strings and
 * objects borrowed from the request's parameters). */
struct session_args {
    const char *mode, *success, *cancel, *cus, *creation, *cemail, *crid;
    const char *sfu;
    json_t *sdata, *pid; /* subscription_data, payment_intent_data */
    int subscription;
    int64_t total, expires_at;
    char currency[4];
};

static int session_mode(json_t *p, struct session_args *a,
                        struct cd_sandbox_fail *f)
{
    if (cd_sandbox_opt_str(p, "mode", "mode", 32, &a->mode, f))
        return -1;
    if (!a->mode)
        return cd_sandbox_missing(f, "mode");
    if (strcmp(a->mode, "payment") != 0 &&
        strcmp(a->mode, "subscription") != 0)
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_string", "mode",
            strcmp(a->mode, "setup") == 0
                ? "The sandbox supports mode=payment and mode=subscription "
                  "only."
                : "Invalid mode: must be one of payment, setup, or "
                  "subscription.");
    a->subscription = strcmp(a->mode, "subscription") == 0;
    return 0;
}

/* The URLs, the customer (an existing one, or how to make one) and the
 * session's references. */
static int session_customer(struct cd_sandbox *s, json_t *p,
                            struct session_args *a, struct cd_sandbox_fail *f)
{
    if (cd_sandbox_opt_str(p, "success_url", "success_url", URL_MAX,
                           &a->success, f) ||
        cd_sandbox_check_url(a->success, "success_url", f) ||
        cd_sandbox_opt_str(p, "cancel_url", "cancel_url", URL_MAX, &a->cancel,
                           f) ||
        cd_sandbox_check_url(a->cancel, "cancel_url", f) ||
        cd_sandbox_opt_str(p, "customer", "customer", 255, &a->cus, f) ||
        cd_sandbox_opt_str(p, "customer_creation", "customer_creation", 32,
                           &a->creation, f) ||
        cd_sandbox_opt_str(p, "customer_email", "customer_email", 512,
                           &a->cemail, f) ||
        cd_sandbox_check_email(a->cemail, "customer_email", f) ||
        cd_sandbox_opt_str(p, "client_reference_id", "client_reference_id",
                           200, &a->crid, f) ||
        cd_sandbox_check_metadata(json_object_get(p, "metadata"), "metadata",
                                  f))
        return -1;
    if (a->cus && !json_object_get(s->customers, a->cus))
        return cd_sandbox_fail_set(f, 400, NULL, "resource_missing",
                                   "customer", "No such customer: '%.80s'",
                                   a->cus);
    if (a->creation && strcmp(a->creation, "always") != 0 &&
        strcmp(a->creation, "if_required") != 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "customer_creation",
                                   "Invalid customer_creation: must be one "
                                   "of always or if_required");
    if (a->cus && (a->creation || a->cemail))
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_string",
            a->creation ? "customer_creation" : "customer_email",
            "You may only specify one of these parameters: customer, %s.",
            a->creation ? "customer_creation" : "customer_email");
    if (a->subscription && a->creation)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "customer_creation",
                                   "`customer_creation` "
                                   "can only be used in `payment` and "
                                   "`setup` mode.");
    return 0;
}

/* subscription_data (subscription mode) and payment_intent_data (payment
 * mode). */
static int session_mode_data(json_t *p, struct session_args *a,
                             struct cd_sandbox_fail *f)
{
    a->sdata = json_object_get(p, "subscription_data");
    if (a->sdata && !a->subscription)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "subscription_data",
                                   "You can only pass "
                                   "`subscription_data` in `subscription` "
                                   "mode.");
    if (a->sdata &&
        (!json_is_object(a->sdata) ||
         cd_sandbox_check_metadata(json_object_get(a->sdata, "metadata"),
                                   "subscription_data[metadata]", f)))
        return f->status
                   ? -1
                   : cd_sandbox_fail_set(f, 400, NULL,
                                         "parameter_invalid_string",
                                         "subscription_data", "Invalid hash");
    a->pid = json_object_get(p, "payment_intent_data");
    if (a->pid && a->subscription)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "payment_intent_data",
                                   "You can not pass "
                                   "`payment_intent_data` in `subscription` "
                                   "mode.");
    if (a->pid && !json_is_object(a->pid))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "payment_intent_data", "Invalid hash");
    if (a->pid &&
        (cd_sandbox_opt_str(a->pid, "setup_future_usage",
                            "payment_intent_data[setup_future_usage]", 32,
                            &a->sfu, f) ||
         cd_sandbox_check_metadata(json_object_get(a->pid, "metadata"),
                                   "payment_intent_data[metadata]", f)))
        return -1;
    if (a->sfu && strcmp(a->sfu, "off_session") != 0 &&
        strcmp(a->sfu, "on_session") != 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "payment_intent_data[setup_future_usage]",
                                   "Invalid setup_future_usage: must be one "
                                   "of on_session or off_session");
    return 0;
}

static int session_expiry(json_t *p, struct session_args *a, int64_t now,
                          struct cd_sandbox_fail *f)
{
    int present;

    a->expires_at = now + 24 * 3600;
    if (cd_sandbox_opt_int(p, "expires_at", "expires_at", now + 1800 - 60,
                           now + 24 * 3600 + 60, &a->expires_at, &present, f))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   "expires_at",
                                   "The `expires_at` timestamp "
                                   "must be between 30 minutes and 24 hours "
                                   "from Checkout Session creation.");
    return 0;
}

/* The new session object (new reference, or NULL). */
static json_t *session_json(const struct session_args *a, const char *id,
                            const char *url, const json_t *md, int64_t now)
{
    return json_pack(
        "{s:s, s:s, s:n, s:n, s:I, s:I, s:{s:b, s:n, s:n}, s:n, s:s?, s:s?, "
        "s:n, s:I, s:s, s:s?, s:s?, s:n, s:s?, s:I, s:n, s:b, s:n, s:o, "
        "s:s, s:n, s:n, s:s, s:[s], s:s, s:n, s:s, s:n, s:n, s:s?, "
        "s:{s:i, s:i, s:i}, s:s, s:s}",
        "id", id, "object", "checkout.session", "after_expiration",
        "allow_promotion_codes", "amount_subtotal", (json_int_t)a->total,
        "amount_total", (json_int_t)a->total, "automatic_tax", "enabled", 0,
        "liability", "status", "billing_address_collection", "cancel_url",
        a->cancel, "client_reference_id", a->crid, "client_secret", "created",
        (json_int_t)now, "currency", a->currency, "customer", a->cus,
        "customer_creation", a->creation, "customer_details",
        "customer_email", a->cemail, "expires_at", (json_int_t)a->expires_at,
        "invoice", "livemode", 0, "locale", "metadata",
        cd_sandbox_metadata_copy((json_t *)md), "mode", a->mode,
        "payment_intent", "payment_link", "payment_method_collection",
        "if_required", "payment_method_types", "card", "payment_status",
        "unpaid", "setup_intent", "status", "open", "submit_type",
        "subscription", "success_url", a->success, "total_details",
        "amount_discount", 0, "amount_shipping", 0, "amount_tax", 0,
        "ui_mode", "hosted_page", "url", url);
}

/* What the sandbox keeps of a session beside it (items stolen). */
static json_t *session_priv(const struct session_args *a, json_t *items)
{
    return json_pack(
        "{s:o, s:s?, s:{s:s?, s:o}, s:{s:o}}", "line_items", items,
        "customer_creation", a->creation, "payment_intent_data",
        "setup_future_usage", a->sfu, "metadata",
        cd_sandbox_metadata_copy(a->pid ? json_object_get(a->pid, "metadata")
                                        : NULL),
        "subscription_data", "metadata",
        cd_sandbox_metadata_copy(
            a->sdata ? json_object_get(a->sdata, "metadata") : NULL));
}

void cd_sandbox_h_session_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f = {0};
    struct session_args a = {0};
    json_t *p = cd_sandbox_post_params(r), *items, *sess, *priv;
    int64_t now = cd_now();
    char id[96], url[1024];

    if (!p)
        return;
    items = json_array();
    if (session_mode(p, &a, &f) ||
        build_line_items(json_object_get(p, "line_items"), a.subscription,
                         items, &a.total, a.currency, &f) != 0 ||
        session_customer(s, p, &a, &f) || session_mode_data(p, &a, &f) ||
        session_expiry(p, &a, now, &f)) {
        cd_sandbox_reply_fail(r, &f);
        json_decref(items);
        json_decref(p);
        return;
    }
    cd_sandbox_new_id("cs_test_a1", id, sizeof(id));
    snprintf(url, sizeof(url), "%s/checkout/%s", s->public_url, id);
    sess = session_json(&a, id, url, json_object_get(p, "metadata"), now);
    priv = session_priv(&a, items);
    if (!sess || !priv || cd_sandbox_store(s->sessions, sess) != 0) {
        json_decref(priv);
        cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                "The sandbox could not store the session.");
    } else {
        json_object_set_new(s->priv, id, priv);
        cd_sandbox_reply_render(r, sess, json_object_get(p, "expand"));
    }
    json_decref(p);
}

static json_t *find_session(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *sess = json_object_get(s->sessions, r->params[0]);

    if (!sess) {
        cd_sandbox_reply_errorf(
            r, 404, "invalid_request_error", "resource_missing", "session",
            "No such checkout.session: '%.80s'", r->params[0]);
        return NULL;
    }
    cd_sandbox_session_refresh(s, sess);
    return sess;
}

void cd_sandbox_h_session_get(struct cd_req *r)
{
    json_t *sess = find_session(r), *expand;

    if (!sess)
        return;
    expand = cd_sandbox_query_array(r, "expand");
    cd_sandbox_reply_render(r, sess, expand);
    json_decref(expand);
}

void cd_sandbox_h_session_line_items(struct cd_req *r)
{
    json_t *sess = find_session(r), *out;

    if (!sess)
        return;
    out = cd_sandbox_session_line_items(r->app, sess);
    cd_sandbox_shape(out);
    cd_reply_json(r, 200, out);
}

void cd_sandbox_h_session_expire(struct cd_req *r)
{
    struct cd_sandbox_fail f;
    json_t *sess = find_session(r), *p;

    if (!sess)
        return;
    if (!(p = cd_sandbox_post_params(r)))
        return;
    if (cd_sandbox_session_expire(r->app, sess, &f) != 0)
        cd_sandbox_reply_fail(r, &f);
    else
        cd_sandbox_reply_render(r, sess, json_object_get(p, "expand"));
    json_decref(p);
}

void cd_sandbox_h_session_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {
        {"payment_intent", "customer", "status"},
        {cd_req_query(r, "payment_intent"), cd_req_query(r, "customer"),
         cd_req_query(r, "status")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->sessions,
                          "/v1/checkout/sessions", "checkout.session",
                          cd_sandbox_field_filter_fn, &ff);
}
