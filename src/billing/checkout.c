/*
 * checkout.c - POST /v1/checkout's domain half; see checkout.h.
 *
 * The order of work is what makes it safe: every check that can refuse
 * runs before anything is written; the pending order is committed before
 * Stripe is called (so a session can never exist without its order); the
 * Stripe call runs outside any transaction and carries the idempotency key
 * "checkout:<order_id>:create" (a retry can never make a second session);
 * the session id is stored by a second write. If the process dies between
 * the Stripe call and that write, the webhook finds the order through
 * metadata.order_id / client_reference_id and stores the session id then.
 */
#include "billing/checkout.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/discounts.h"
#include "billing/order_open.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/pricing.h"
#include "billing/stripe_call.h"
#include "stripe/object.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define MOD "checkout"

/* ---- redirect origins ---------------------------------------------------- */

int cd_checkout_redirect_allowed(const struct cd_billing_config *cfg,
                                 const char *url)
{
    char want[CD_ORIGIN_SZ], have[CD_ORIGIN_SZ];
    int i;

    /* One normal form for both sides, the sandbox's check too. */
    if (!url || strlen(url) > CD_URL_MAX ||
        cd_url_origin(url, want, sizeof(want)) != 0)
        return 0;
    for (i = 0; i < cfg->nredirect_origins && i < 16; i++) {
        if (cd_url_origin(cfg->redirect_origins[i], have, sizeof(have)) ==
                0 &&
            strcmp(have, want) == 0)
            return 1;
    }
    return 0;
}

/* ---- pricing a request ------------------------------------------------- */

/* "1,234,567" */
static void fmt_thousands(int64_t v, char *out, size_t outsz)
{
    char digits[32], tmp[48];
    size_t n, i, j = 0;

    snprintf(digits, sizeof(digits), "%" PRId64, v < 0 ? -v : v);
    n = strlen(digits);
    if (v < 0)
        tmp[j++] = '-';
    for (i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            tmp[j++] = ',';
        tmp[j++] = digits[i];
    }
    tmp[j] = '\0';
    snprintf(out, outsz, "%s", tmp);
}

struct discount_read {
    const char *code;
    struct cd_discount d;
};

static int read_discount(struct cd_tx *tx, void *arg)
{
    struct discount_read *r = arg;

    return cd_store_discount_get(tx, r->code, &r->d);
}

static const struct cd_package *find_package(const struct cd_billing *b,
                                             const char *id)
{
    size_t i;

    for (i = 0; i < b->cfg.npackages && i < CD_CATALOG_MAX; i++)
        if (strcmp(b->cfg.packages[i].id, id) == 0)
            return &b->cfg.packages[i];
    return NULL;
}

const struct cd_plan *cd_checkout_find_plan(const struct cd_billing *b,
                                            const char *id)
{
    size_t i;

    if (!id)
        return NULL;
    for (i = 0; i < b->cfg.nplans && i < CD_CATALOG_MAX; i++)
        if (strcmp(b->cfg.plans[i].id, id) == 0)
            return &b->cfg.plans[i];
    return NULL;
}

/* 400 discount_<problem> with the buyer-facing message; -1. */
static int discount_error(struct cd_error *err, const char *problem)
{
    char ecode[64];
    const char *msg = "The discount code cannot be used.";

    if (strcmp(problem, "unknown_code") == 0)
        msg = "Unknown discount code.";
    else if (strcmp(problem, "inactive") == 0)
        msg = "This discount code is no longer active.";
    else if (strcmp(problem, "expired") == 0)
        msg = "This discount code has expired.";
    else if (strcmp(problem, "exhausted") == 0)
        msg = "This discount code has been used up.";
    snprintf(ecode, sizeof(ecode), "discount_%.40s", problem);
    return cd_error_set(err, CD_EK_INVALID, ecode, "discount_code", "%s",
                        msg);
}

/* Applies req->discount_code (if any) to q->base_cents. */
static int apply_discount(struct cd_billing *b,
                          const struct cd_checkout_req *req,
                          struct cd_checkout_quote *q, struct cd_error *err)
{
    struct discount_read dr;
    const char *problem;
    char code[CD_CODE_SZ];
    int rc;

    q->discount_cents = 0;
    if (req->discount_code && req->discount_code[0]) {
        if (strlen(req->discount_code) >= sizeof(code))
            return cd_error_set(err, CD_EK_INVALID, "discount_unknown_code",
                                "discount_code", "Unknown discount code.");
        cd_strlcpy(code, req->discount_code, sizeof(code));
        if (cd_discount_normalize(code) != 0)
            return cd_error_set(err, CD_EK_INVALID, "discount_unknown_code",
                                "discount_code", "Unknown discount code.");
        memset(&dr, 0, sizeof(dr));
        dr.code = code;
        rc = cd_store_read(b->store, read_discount, &dr);
        if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
            return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                                "Could not read the discount code.");
        /* A fast answer from the read snapshot; the binding check is in
         * the job inserting the order (job_order_insert). */
        problem = cd_discount_problem(rc == CD_STORE_OK ? &dr.d : NULL,
                                      cd_now());
        if (problem)
            return discount_error(err, problem);
        q->discount_cents = cd_discount_amount(&dr.d, q->base_cents);
        if (q->discount_cents < 0)
            q->discount_cents = 0;
        if (q->discount_cents > q->base_cents)
            q->discount_cents = q->base_cents;
        cd_strlcpy(q->discount_code, dr.d.code[0] ? dr.d.code : code,
                   sizeof(q->discount_code));
    }
    q->amount_cents = q->base_cents - q->discount_cents;
    if (q->amount_cents < CD_MIN_CHARGE_CENTS)
        return cd_error_set(err, CD_EK_INVALID, "amount_below_minimum",
                            req->discount_code ? "discount_code" : NULL,
                            "The price after the discount is below the "
                            "smallest charge (%d cents).",
                            CD_MIN_CHARGE_CENTS);
    return 0;
}

/* A top-up of req->amount_cents within the catalog's limits. */
static int quote_topup(struct cd_billing *b,
                       const struct cd_checkout_req *req,
                       struct cd_checkout_quote *q, int has_code,
                       struct cd_error *err)
{
    const struct cd_billing_config *c = &b->cfg;
    int64_t a = req->amount_cents;
    char n[48];

    if (a <= 0 || a > CD_AMOUNT_MAX || a < c->topup_min_cents ||
        a > c->topup_max_cents ||
        (c->topup_step_cents > 0 && a % c->topup_step_cents != 0))
        return cd_error_set(
            err, CD_EK_INVALID, "invalid_amount", "amount_cents",
            "amount_cents must be between %" PRId64 " and %" PRId64
            " in steps of %" PRId64 ".",
            c->topup_min_cents, c->topup_max_cents, c->topup_step_cents);
    if (has_code)
        return cd_error_set(err, CD_EK_INVALID, "discount_not_applicable",
                            "discount_code",
                            "Discount codes do not apply to top-ups.");
    q->base_cents = a;
    q->amount_cents = a;
    q->credits = a;
    fmt_thousands(a, n, sizeof(n));
    snprintf(q->description, sizeof(q->description), "%s credits top-up", n);
    return 0;
}

/* The package req->package_id, discounted. */
static int quote_package(struct cd_billing *b,
                         const struct cd_checkout_req *req,
                         struct cd_checkout_quote *q, struct cd_error *err)
{
    const struct cd_package *p;

    if (!req->package_id || !req->package_id[0])
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "package_id",
                            "package_id is required.");
    p = find_package(b, req->package_id);
    if (!p)
        return cd_error_set(err, CD_EK_INVALID, "unknown_package",
                            "package_id", "Unknown package.");
    q->base_cents = p->price_cents;
    q->credits = p->credits;
    cd_strlcpy(q->item_id, p->id, sizeof(q->item_id));
    snprintf(q->description, sizeof(q->description), "%s", p->name);
    return apply_discount(b, req, q, err);
}

/* The plan's price each period; its credits come with each paid invoice
 * (subscriptions.c), the order only records the checkout. */
static int quote_subscription(struct cd_billing *b,
                              const struct cd_checkout_req *req,
                              struct cd_checkout_quote *q, int has_code,
                              struct cd_error *err)
{
    const struct cd_plan *pl;

    if (!req->plan_id || !req->plan_id[0])
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "plan_id",
                            "plan_id is required.");
    pl = cd_checkout_find_plan(b, req->plan_id);
    if (!pl)
        return cd_error_set(err, CD_EK_INVALID, "unknown_plan", "plan_id",
                            "Unknown plan.");
    if (has_code)
        return cd_error_set(err, CD_EK_INVALID, "discount_not_applicable",
                            "discount_code",
                            "Discount codes do not apply to "
                            "subscriptions.");
    if (pl->price_cents < CD_MIN_CHARGE_CENTS ||
        pl->price_cents > CD_AMOUNT_MAX || pl->credits_per_period <= 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The plan is not configured correctly.");
    q->base_cents = pl->price_cents;
    q->amount_cents = pl->price_cents;
    q->credits = pl->credits_per_period;
    cd_strlcpy(q->item_id, pl->id, sizeof(q->item_id));
    snprintf(q->description, sizeof(q->description), "%s", pl->name);
    return 0;
}

/* Access at the current price, discounted; as many credits as paid. */
static int quote_access(struct cd_billing *b,
                        const struct cd_checkout_req *req,
                        struct cd_checkout_quote *q, struct cd_error *err)
{
    struct cd_pricing pr;

    if (cd_pricing_current(b, &pr, err) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the pricing.");
    q->base_cents = cd_pricing_base_cents(&pr);
    if (q->base_cents <= 0 || q->base_cents > CD_AMOUNT_MAX)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The access price is not configured.");
    snprintf(q->description, sizeof(q->description), "Access");
    if (apply_discount(b, req, q, err) != 0)
        return -1;
    q->credits = q->amount_cents;
    return 0;
}

int cd_checkout_quote(struct cd_billing *b, const struct cd_checkout_req *req,
                      struct cd_checkout_quote *q, struct cd_error *err)
{
    const char *kind = req->kind;
    int has_code = req->discount_code && req->discount_code[0];

    memset(q, 0, sizeof(*q));
    if (!kind)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "kind",
                            "kind is required (access, topup, package or "
                            "subscription).");
    if (strcmp(kind, "access") != 0 && strcmp(kind, "topup") != 0 &&
        strcmp(kind, "package") != 0 && strcmp(kind, "subscription") != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_kind", "kind",
                            "kind must be access, topup, package or "
                            "subscription.");
    cd_strlcpy(q->kind, kind, sizeof(q->kind));

    if (strcmp(kind, "topup") == 0)
        return quote_topup(b, req, q, has_code, err);
    if (strcmp(kind, "package") == 0)
        return quote_package(b, req, q, err);
    if (strcmp(kind, "subscription") == 0)
        return quote_subscription(b, req, q, has_code, err);
    return quote_access(b, req, q, err);
}

/* ---- the discount guard --------------------------------------------------- */

/* Returned by discount_guard when the code cannot be used (problem in the
 * job's arg). */
#define JOB_DISCOUNT_REFUSED CD_ORDER_GUARD_MIN
#define MAX_REPLACED 8

struct guard_arg {
    const struct cd_billing *b;
    const char *problem; /* out: why the code was refused */
    /* out: the account's earlier holds of the code, ended here; their
     * sessions are expired at Stripe after the commit */
    char replaced[MAX_REPLACED][CD_SID_SZ];
    char replaced_order[MAX_REPLACED][CD_ID_SZ];
    int nreplaced;
    struct cd_tx *tx;
    int64_t now;
    int failed;
};

/* An earlier pending order of the account with the same code: ended, so
 * the account holds one use at most. */
static int end_hold(const struct cd_order *held, void *arg)
{
    struct guard_arg *g = arg;
    struct cd_order o = *held;
    struct cd_order_patch ended = {
        .move = 1,
        .to = CD_ORDER_EXPIRED,
        .failure = "replaced by a newer checkout with the same discount "
                   "code"};

    if (cd_order_patch_tx(g->tx, &o, &ended, g->now) != CD_STORE_OK) {
        g->failed = 1;
        return 1;
    }
    if (o.stripe_session_id[0] && g->nreplaced < MAX_REPLACED) {
        cd_strlcpy(g->replaced[g->nreplaced], o.stripe_session_id, CD_SID_SZ);
        cd_strlcpy(g->replaced_order[g->nreplaced], o.id, CD_ID_SZ);
        g->nreplaced++;
    }
    cd_info(MOD, "order %s: discount hold of %s replaced", o.id,
            o.discount_code);
    return 0;
}

/* In the job inserting a new order with a discount code: the code is
 * checked again in this transaction (discounts.h: its uses and other
 * accounts' holds), so N checkouts racing for the last use of a code
 * cannot all pass; then the account's own earlier holds of the code end. */
static int discount_guard(struct cd_tx *tx, const struct cd_order *o,
                          void *arg)
{
    struct guard_arg *g = arg;

    if (!o->discount_code[0])
        return 0;
    if (cd_discount_check_tx(tx, g->b, o->discount_code, o->account_id,
                             o->created_at, NULL, &g->problem) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (g->problem)
        return JOB_DISCOUNT_REFUSED;
    g->tx = tx;
    g->now = o->created_at;
    if (cd_store_discount_holds(tx, o->account_id, o->discount_code,
                                o->created_at - cd_discount_hold_s(g->b),
                                end_hold, g) != CD_STORE_OK ||
        g->failed)
        return CD_STORE_ERROR;
    return 0;
}

/* The replaced holds' sessions, expired at Stripe (best effort: if one was
 * paid meanwhile, its completion still credits and counts the use). */
static void expire_replaced(struct cd_billing *b, const struct guard_arg *g)
{
    char path[CD_SID_SZ + 48], idem[CD_ID_SZ + 16];
    json_t *resp = NULL, *params;
    struct cd_error serr;
    int i;

    for (i = 0; i < g->nreplaced; i++) {
        if (!cd_stripe_safe_id(g->replaced[i]))
            continue;
        snprintf(path, sizeof(path), "/v1/checkout/sessions/%s/expire",
                 g->replaced[i]);
        _Static_assert(sizeof("checkout::expire") +
                               sizeof(g->replaced_order[i]) - 1 <=
                           sizeof(idem),
                       "checkout:<order id>:expire fits its Stripe key");
        snprintf(idem, sizeof(idem), "checkout:%s:expire",
                 g->replaced_order[i]);
        params = json_object();
        if (cd_billing_stripe_post(b, path, params, idem, &resp, NULL,
                                   &serr) != 0)
            cd_warn(MOD, "session %s: could not expire it: %s",
                    g->replaced[i], serr.message);
        json_decref(params);
        json_decref(resp);
        resp = NULL;
    }
}

/* ---- the Stripe session ------------------------------------------------ */

/* The session ends (checkout.session.expired) this long after its order
 * was made - from the order's time, so a retry sends the same value. */
static json_int_t session_expires_at(const struct cd_billing *b,
                                     const struct cd_order *o)
{
    return (json_int_t)(o->created_at + (b->cfg.checkout_expires_s > 0
                                             ? b->cfg.checkout_expires_s
                                             : CD_CHECKOUT_EXPIRES_DEFAULT));
}

/*
 * Subscription mode: one recurring line item at the plan's price and
 * interval, the account/order/plan in subscription_data[metadata] (that is
 * what the subscription and its invoices carry; the session's own metadata
 * stays on the session). No customer_creation (Checkout always creates a
 * customer in this mode; Stripe refuses the parameter) and no
 * payment_intent_data (refused in this mode too).
 */
static json_t *subscription_params(const struct cd_account *acct,
                                   const struct cd_order *o,
                                   const struct cd_plan *pl,
                                   const char *success_url,
                                   const char *cancel_url)
{
    json_t *p, *meta, *smeta;

    meta = json_pack("{s:s, s:s, s:s, s:s}", "account_id", acct->id,
                     "order_id", o->id, "kind", o->kind, "plan_id", pl->id);
    smeta = json_pack("{s:s, s:s, s:s}", "account_id", acct->id, "order_id",
                      o->id, "plan_id", pl->id);
    if (!meta || !smeta) {
        json_decref(meta);
        json_decref(smeta);
        return NULL;
    }
    p = json_pack(
        "{s:s, s:[{s:{s:s, s:I, s:{s:s}, s:{s:s}}, s:i}], s:s, s:s, s:s, "
        "s:o, s:{s:o}}",
        "mode", "subscription", "line_items", "price_data", "currency",
        o->currency, "unit_amount", (json_int_t)o->amount_cents,
        "product_data", "name", o->description, "recurring", "interval",
        pl->interval, "quantity", 1, "success_url", success_url, "cancel_url",
        cancel_url, "client_reference_id", o->id, "metadata", meta,
        "subscription_data", "metadata", smeta);
    if (!p)
        return NULL;
    if (o->stripe_customer_id[0])
        json_object_set_new(p, "customer",
                            json_string(o->stripe_customer_id));
    return p;
}

static json_t *session_params(struct cd_billing *b,
                              const struct cd_account *acct,
                              const struct cd_order *o,
                              const char *success_url, const char *cancel_url)
{
    json_t *p, *meta, *pimeta;

    if (cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION)) {
        const struct cd_plan *pl = cd_checkout_find_plan(b, o->item_id);
        p = pl ? subscription_params(acct, o, pl, success_url, cancel_url)
               : NULL;
        if (p)
            json_object_set_new(p, "expires_at",
                                json_integer(session_expires_at(b, o)));
        return p;
    }

    meta = json_pack("{s:s, s:s, s:s}", "account_id", acct->id, "order_id",
                     o->id, "kind", o->kind);
    pimeta = json_pack("{s:s, s:s, s:s}", "order_id", o->id, "account_id",
                       acct->id, "kind", o->kind);
    if (!meta || !pimeta) {
        json_decref(meta);
        json_decref(pimeta);
        return NULL;
    }
    p = json_pack(
        "{s:s, s:[{s:{s:s, s:I, s:{s:s}}, s:i}], s:s, s:s, s:s, s:o,"
        " s:{s:s, s:o}}",
        "mode", "payment", "line_items", "price_data", "currency",
        o->currency, "unit_amount", (json_int_t)o->amount_cents,
        "product_data", "name", o->description, "quantity", 1, "success_url",
        success_url, "cancel_url", cancel_url, "client_reference_id", o->id,
        "metadata", meta, "payment_intent_data", "setup_future_usage",
        "off_session", "metadata", pimeta);
    if (!p)
        return NULL;
    if (o->stripe_customer_id[0])
        json_object_set_new(p, "customer",
                            json_string(o->stripe_customer_id));
    else
        json_object_set_new(p, "customer_creation", json_string("always"));
    json_object_set_new(p, "expires_at",
                        json_integer(session_expires_at(b, o)));
    return p;
}

/* Copies a string member of o into out; 0, or -1 if absent/too long. */
static int get_str(const json_t *o, const char *key, char *out, size_t outsz)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (!s || !*s)
        return -1;
    return cd_strlcpy(out, s, outsz);
}

/* The redirect URLs of the session: given ones must be on an allowed
 * origin, else the deployment's pages. 0, or -1 with err. */
static int redirect_urls(struct cd_billing *b,
                         const struct cd_checkout_req *req, char *success,
                         char *cancel, size_t sz, struct cd_error *err)
{
    if (req->success_url) {
        if (strlen(req->success_url) > CD_URL_MAX ||
            !cd_checkout_redirect_allowed(&b->cfg, req->success_url))
            return cd_error_set(err, CD_EK_INVALID, "redirect_not_allowed",
                                "success_url",
                                "success_url must be an absolute http(s) URL "
                                "on an allowed origin.");
        cd_strlcpy(success, req->success_url, sz);
    } else {
        snprintf(success, sz, "%s/success?session_id={CHECKOUT_SESSION_ID}",
                 b->cfg.base_url);
    }
    if (req->cancel_url) {
        if (strlen(req->cancel_url) > CD_URL_MAX ||
            !cd_checkout_redirect_allowed(&b->cfg, req->cancel_url))
            return cd_error_set(err, CD_EK_INVALID, "redirect_not_allowed",
                                "cancel_url",
                                "cancel_url must be an absolute http(s) URL "
                                "on an allowed origin.");
        cd_strlcpy(cancel, req->cancel_url, sz);
    } else {
        snprintf(cancel, sz, "%s/cancel", b->cfg.base_url);
    }
    return 0;
}

static void order_from_quote(struct cd_billing *b,
                             const struct cd_account *acct,
                             const struct cd_checkout_req *req,
                             const struct cd_checkout_quote *q,
                             struct cd_order *o)
{
    memset(o, 0, sizeof(*o));
    if (req->order_id && req->order_id[0])
        cd_strlcpy(o->id, req->order_id, sizeof(o->id));
    else
        cd_random_id("ord_", o->id, sizeof(o->id));
    cd_strlcpy(o->account_id, acct->id, sizeof(o->account_id));
    cd_strlcpy(o->kind, q->kind, sizeof(o->kind));
    (void)cd_order_set_status(o, CD_ORDER_PENDING);
    o->amount_cents = q->amount_cents;
    o->discount_cents = q->discount_cents;
    cd_strlcpy(o->discount_code, q->discount_code, sizeof(o->discount_code));
    o->credits = q->credits;
    cd_strlcpy(o->currency, b->cfg.currency, sizeof(o->currency));
    cd_strlcpy(o->item_id, q->item_id, sizeof(o->item_id));
    cd_strlcpy(o->description, q->description, sizeof(o->description));
    /* the customer the session names, kept with the order: a retry after
     * the account saved one sends what the first attempt sent */
    cd_strlcpy(o->stripe_customer_id, acct->stripe_customer_id,
               sizeof(o->stripe_customer_id));
    o->created_at = o->updated_at = cd_now();
}

/* The Stripe session of order o, outside any transaction, recorded on the
 * order. The Stripe Idempotency-Key and every parameter depend only on
 * the order (its customer included, fixed when it was written), so a
 * retry of the request (same order) gets the same session back. 0, or -1
 * with err. */
static int open_session(struct cd_billing *b, const struct cd_account *acct,
                        const struct cd_order *o, const char *success_url,
                        const char *cancel_url,
                        struct cd_checkout_result *out, struct cd_error *err)
{
    struct cd_order_outcome oc;
    char idem[CD_ID_SZ + 32];
    json_t *params, *resp = NULL;
    struct cd_error serr;
    int rc, http = 0;

    params = session_params(b, acct, o, success_url, cancel_url);
    _Static_assert(sizeof("checkout::create") + sizeof(o->id) - 1 <=
                       sizeof(idem),
                   "checkout:<order id>:create fits its Stripe key");
    snprintf(idem, sizeof(idem), "checkout:%s:create", o->id);
    rc = cd_billing_stripe_post(b, "/v1/checkout/sessions", params, idem,
                                &resp, &http, &serr);
    if (rc == 0 &&
        (get_str(resp, "id", out->session_id, sizeof(out->session_id)) != 0 ||
         get_str(resp, "url", out->checkout_url, sizeof(out->checkout_url)) !=
             0)) {
        cd_error_set(&serr, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "Stripe: the checkout session has no id or url.");
        rc = -1;
    }
    json_decref(params);
    json_decref(resp);
    memset(&oc, 0, sizeof(oc));
    if (rc != 0) {
        cd_warn(MOD, "order %s: creating the Stripe session failed: %s",
                o->id, serr.message);
        oc.failure = serr.message[0] ? serr.message : "Stripe request failed";
        oc.final = cd_stripe_failure_is_final(http);
        cd_order_record_outcome(b, o->id, &oc);
        return cd_billing_stripe_error(err, &serr);
    }
    oc.session_id = out->session_id;
    if (cd_order_record_outcome(b, o->id, &oc) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not record the checkout session.");
    return 0;
}

int cd_checkout_create(struct cd_billing *b, const struct cd_account *acct,
                       const struct cd_checkout_req *req,
                       struct cd_checkout_result *out, struct cd_error *err)
{
    struct cd_checkout_quote q;
    struct cd_order o;
    struct guard_arg g;
    char success_url[CD_URL_MAX + 64], cancel_url[CD_URL_MAX + 64];
    int rc, existed = 0;

    memset(out, 0, sizeof(*out));
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (redirect_urls(b, req, success_url, cancel_url, sizeof(success_url),
                      err) != 0 ||
        cd_checkout_quote(b, req, &q, err) != 0)
        return -1;

    /* (1) the pending order (or the first attempt's, on a retry) */
    order_from_quote(b, acct, req, &q, &o);
    memset(&g, 0, sizeof(g));
    g.b = b;
    rc = cd_order_open(b, &o, discount_guard, &g, &existed, err);
    if (rc == JOB_DISCOUNT_REFUSED && g.problem) {
        cd_info(MOD, "checkout refused: discount code %s is %s",
                o.discount_code, g.problem);
        return discount_error(err, g.problem);
    }
    if (rc == CD_ORDER_DISCOUNT_REFUSED) {
        /* The guard saw a use left; the reservation found none (taken
         * meanwhile on a shared database). */
        cd_info(MOD,
                "checkout refused: discount code %s reservation "
                "refused",
                o.discount_code);
        return discount_error(err, "exhausted");
    }
    if (rc != 0)
        return -1;
    if (existed)
        cd_info(MOD, "order %s: retried request, same session asked again",
                o.id);

    /* (2) the Stripe session, outside any transaction; then the sessions
     * of the holds it replaced end */
    rc = open_session(b, acct, &o, success_url, cancel_url, out, err);
    expire_replaced(b, &g);
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    cd_strlcpy(out->order_id, o.id, sizeof(out->order_id));
    out->amount_cents = o.amount_cents;
    out->discount_cents = o.discount_cents;
    out->credits = o.credits;
    cd_strlcpy(out->currency, o.currency, sizeof(out->currency));
    cd_info(MOD, "order %s: session %s for %" PRId64 " %s", o.id,
            out->session_id, o.amount_cents, o.currency);
    return 0;
}
