/*
 * billing_portal.c - the Stripe Billing Portal session of an account; see
 * billing_portal.h.
 */
#include "billing/billing_portal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "billing/checkout.h"
#include "billing/stripe_call.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "billing_portal"

/* Stripe's url: an absolute http(s) URL that fits. */
static int copy_url(const json_t *resp, char *url, size_t urlsz)
{
    const char *u = json_string_value(json_object_get(resp, "url"));

    if (!u || strlen(u) >= urlsz ||
        (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return -1;
    cd_strlcpy(url, u, urlsz);
    return 0;
}

int cd_billing_portal_create(struct cd_billing *b, const struct cd_account *a,
                             const char *return_url, const char *idem,
                             char *url, size_t urlsz, struct cd_error *err)
{
    char ret[CD_URL_MAX + 1], key[CD_ID_SZ + 64], rnd[CD_ID_SZ];
    json_t *params, *resp = NULL;
    struct cd_error serr;
    int rc, http = 0;

    url[0] = '\0';
    if (return_url && *return_url) {
        if (strlen(return_url) > CD_URL_MAX ||
            !cd_checkout_redirect_allowed(&b->cfg, return_url))
            return cd_error_set(err, CD_EK_INVALID, "redirect_not_allowed",
                                "return_url",
                                "return_url must be an absolute http(s) URL "
                                "on an allowed origin.");
        cd_strlcpy(ret, return_url, sizeof(ret));
    } else {
        snprintf(ret, sizeof(ret), "%s/dashboard", b->cfg.base_url);
    }
    if (!a->stripe_customer_id[0])
        return cd_error_set(err, CD_EK_CONFLICT, "no_stripe_customer", NULL,
                            "This account has no Stripe customer yet: it "
                            "has never paid through Stripe.");
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (!idem || !idem[0]) {
        cd_random_id("bpr_", rnd, sizeof(rnd));
        idem = rnd;
    }
    _Static_assert(sizeof("billing_portal:") + CD_ID_SZ - 1 <= sizeof(key),
                   "billing_portal:<effect id> fits its Stripe key");
    assert(strlen(idem) < CD_ID_SZ); /* an effect id or bpr_<random> */
    snprintf(key, sizeof(key), "billing_portal:%s", idem);
    params = json_pack("{s:s, s:s}", "customer", a->stripe_customer_id,
                       "return_url", ret);
    rc = cd_billing_stripe_post(b, "/v1/billing_portal/sessions", params, key,
                                &resp, &http, &serr);
    json_decref(params);
    if (rc != 0) {
        json_decref(resp);
        cd_warn(MOD,
                "account %s: billing portal session refused (HTTP %d): "
                "%s",
                a->id, http, serr.message);
        return cd_billing_stripe_error(err, &serr);
    }
    rc = copy_url(resp, url, urlsz);
    json_decref(resp);
    if (rc != 0)
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "The payment provider answered without a "
                            "usable portal URL.");
    cd_info(MOD, "account %s: billing portal session created", a->id);
    return 0;
}
