/*
 * billing.h - the domain's shared context: the store, the Stripe client and
 * the deployment's settings (currency, catalog, pricing defaults, redirect
 * origins, webhook secrets). No HTTP and no SQL dialect in billing/.
 *
 * One struct cd_billing lives for the process; every billing function takes
 * it first. It is read-only after start-up (what it points to locks for
 * itself), so threads share it freely.
 */
#ifndef CD_BILLING_BILLING_H
#define CD_BILLING_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "stripe/client.h"

#define CD_CATALOG_MAX 32

/* A Checkout session's life when checkout_expires_s is 0 (s); and how long
 * after its session's expiry a pending order still counts as open, and
 * holds its discount use (the checkout.session.expired event's way here):
 * order_open.c, discounts.c. */
#define CD_CHECKOUT_EXPIRES_DEFAULT 3600
#define CD_CHECKOUT_EXPIRY_GRACE_S 300

struct cd_package {
    char id[CD_ID_SZ];
    char name[128];
    int64_t price_cents;
    int64_t credits;
    int64_t expires_in_days; /* 016: its credits expire (0: never) */
};

struct cd_plan {
    char id[CD_ID_SZ];
    char name[128];
    int64_t price_cents;
    char interval[16]; /* day|week|month|year */
    int64_t credits_per_period;
    /* 016: a period's credits expire at the period's end (else never),
     * all but up to rollover_cap of them, which roll over one period. */
    int credits_expire_period_end;
    int64_t rollover_cap;
};

/* Branding (CREDITD_BRAND_*, CREDITD_SUPPORT_EMAIL): shown by the web UI
 * (GET /v1/config "brand") and named in receipts. "" = not set. */
struct cd_brand {
    char name[64];      /* business name; default "creditd" */
    char logo_url[512]; /* https:// URL or same-origin path */
    char support_email[256];
    char color[8]; /* accent, "#rrggbb" */
};

struct cd_billing_config {
    struct cd_brand brand;
    char currency[CD_CUR_SZ]; /* lower-case ISO code, "usd" */
    char base_url[512];       /* CREDITD_BASE_URL, no trailing '/' */
    /* Allowed redirect origins ("scheme://host[:port]"), the base URL's
     * origin first. */
    char redirect_origins[16][256];
    int nredirect_origins;
    char webhook_secrets[1024]; /* comma-separated; "" = not configured */
    char publishable_key[256];
    int64_t webhook_tolerance;         /* seconds */
    struct cd_pricing default_pricing; /* until an admin PUTs pricing */
    struct cd_package packages[CD_CATALOG_MAX];
    size_t npackages;
    struct cd_plan plans[CD_CATALOG_MAX];
    size_t nplans;
    int64_t topup_min_cents, topup_max_cents, topup_step_cents,
        topup_default_cents;
    /* What a credit is called in the UI ("credits") and how a balance is
     * shown: "count" (13,699 credits) or "currency" (a credit is one minor
     * unit: $136.99). The catalog's "credit_unit"; default credits/count. */
    char credit_name[32];
    char credit_display[16];
    int64_t token_ttl; /* seconds; default 30 days */
    /* A Checkout session expires this long after it is created (Stripe:
     * 30 min .. 24 h); its order, and any discount use it holds, end with
     * it. 0: CD_CHECKOUT_EXPIRES_DEFAULT. */
    int64_t checkout_expires_s;
    /* Most orders one account may have pending (unpaid) at once, counted
     * over the last checkout_expires_s + 5 min; 0: the default. */
    int64_t max_pending_orders;
    /* CREDITD_REQUIRE_EMAIL_VERIFICATION: a password account confirms its
     * email (email_verify.h) before its first purchase. 0: off. */
    int64_t require_email_verification;
    /* CREDITD_EXPIRY_INTERVAL: seconds between sweeps of lots past their
     * expiry (lots.h, jobs.c); 0: the default, 60. */
    int64_t expiry_interval_s;
};

struct cd_idem_keeper; /* idempotency.h */

struct cd_billing {
    struct cd_store *store;
    struct cd_stripe_client *stripe; /* NULL: Stripe not configured */
    struct cd_billing_config cfg;
    /* The heartbeat of this process's Idempotency-Key claims; NULL: no
     * heartbeat (claims keep their first lease). */
    struct cd_idem_keeper *idem;
};

#endif
