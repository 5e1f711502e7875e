/*
 * checkout.h - starting a Stripe Checkout for an account (POST /v1/checkout
 * of API.md): price the request (access at the dynamic price less a
 * discount code, a top-up, a credit package, a subscription plan in
 * Checkout's subscription mode), check the redirect URLs,
 * write a pending order, create the session on Stripe outside any
 * transaction with an Idempotency-Key derived from the order id, and
 * remember the session on the order.
 *
 * Nothing here fulfils: credits come only from order_credit.c (webhooks and
 * reconciliation).
 */
#ifndef CD_BILLING_CHECKOUT_H
#define CD_BILLING_CHECKOUT_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_URL_MAX 2048 /* longest success_url / cancel_url we accept */
/* A pending order holds one use of its discount code for this long (a
 * Checkout Session expires after 24 h): max_uses is enforced at checkout
 * as times_used + such pending orders. */

/* What the caller asked for; every string may be NULL (absent). */
struct cd_checkout_req {
    const char *kind;          /* access|topup|package|subscription */
    int64_t amount_cents;      /* topup only; 0 = absent */
    const char *package_id;    /* package only */
    const char *plan_id;       /* subscription only */
    const char *discount_code; /* access and package only */
    const char *success_url;   /* default base_url + "/success?..." */
    const char *cancel_url;    /* default base_url + "/cancel" */
    /* The order's id: derived from the request's Idempotency-Key, so a
     * retry finds the first attempt's order and session; NULL: random. */
    const char *order_id;
};

/* The price of a request, before anything is written. */
struct cd_checkout_quote {
    char kind[CD_KIND_SZ];
    int64_t base_cents;
    int64_t discount_cents;
    int64_t amount_cents;           /* what the customer pays */
    int64_t credits;                /* what the balance receives */
    char discount_code[CD_CODE_SZ]; /* normalised, or "" */
    char item_id[CD_ID_SZ];         /* package id, or "" */
    char description[CD_DESC_SZ];   /* "1,000 credits top-up", ... */
};

struct cd_checkout_result {
    char order_id[CD_ID_SZ];
    char session_id[CD_SID_SZ];
    char checkout_url[CD_URL_MAX + 1];
    int64_t amount_cents;
    int64_t discount_cents;
    int64_t credits;
    char currency[CD_CUR_SZ];
};

/*
 * Prices req (reads pricing and the discount code on a read transaction).
 * A subscription is the plan's price_cents, credits = credits_per_period
 * (granted per paid invoice, not by the checkout), no discount codes.
 * Returns 0, or -1 with err: 400 invalid_kind / invalid_amount /
 * unknown_package / unknown_plan / missing_param /
 * discount_not_applicable / discount_<problem> / amount_below_minimum;
 * 500 on a store failure.
 */
int cd_checkout_quote(struct cd_billing *b, const struct cd_checkout_req *req,
                      struct cd_checkout_quote *out, struct cd_error *err);

/* The catalog plan with this id (borrowed from b->cfg), or NULL. */
const struct cd_plan *cd_checkout_find_plan(const struct cd_billing *b,
                                            const char *id);

/*
 * Whether url is an absolute http(s) URL (no user info, no whitespace or
 * control characters, at most CD_URL_MAX bytes) whose origin - scheme and
 * host compared case-insensitively, default ports normalised - is one of
 * cfg->redirect_origins. 1 if allowed, 0 if not.
 */
int cd_checkout_redirect_allowed(const struct cd_billing_config *cfg,
                                 const char *url);

/*
 * The whole of POST /v1/checkout for account acct (borrowed): 503
 * stripe_not_configured when b->stripe is NULL (nothing written), the
 * quote and URL checks (400, nothing written), then the pending order,
 * the Stripe session ("checkout:<order_id>:create" idempotency key) and
 * the session id on the order. A Stripe failure marks the order failed
 * and returns 502 stripe_error. Returns 0 with *out filled, or -1 with err.
 * A discount code is checked again inside the job that inserts the order
 * (the single writer, so concurrent checkouts cannot race): 400
 * discount_exhausted, nothing written, when its times_used plus its
 * orders still pending from the last CD_CHECKOUT_HOLD_S reach max_uses
 * (and discount_inactive / discount_expired if it changed meanwhile).
 */
int cd_checkout_create(struct cd_billing *b, const struct cd_account *acct,
                       const struct cd_checkout_req *req,
                       struct cd_checkout_result *out, struct cd_error *err);

#endif
