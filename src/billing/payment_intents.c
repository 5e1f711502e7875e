/*
 * payment_intents.c - POST /v1/payment_intents: a pending order and a
 * PaymentIntent the caller's page confirms with Stripe.js; see
 * payment_intents.h. The order, the POST and the answer's recording are
 * topups.c's (topups_int.h); its payment_intent.* events too.
 */
#include "billing/payment_intents.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/order_open.h"
#include "billing/pricing.h"
#include "billing/topups_int.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "topups"

static int desc_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* The description of a PaymentIntent order: the caller's, checked, or
 * "<n> credits". 0, or -1 with err. */
static int pi_description(const struct cd_pi_req *req, char *desc,
                          size_t descsz, struct cd_error *err)
{
    if (!req->description) {
        snprintf(desc, descsz, "%" PRId64 " credits", req->amount_cents);
        return 0;
    }
    if (strlen(req->description) >= descsz || !desc_ok(req->description))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "description",
                            "description must be at most %zu characters "
                            "without control characters.",
                            descsz - 1);
    cd_strlcpy(desc, req->description, descsz);
    return 0;
}

static int pi_check(struct cd_billing *b, const struct cd_pi_req *req,
                    struct cd_error *err)
{
    if (!b->stripe)
        return cd_error_set(err, CD_EK_UNAVAILABLE, "stripe_not_configured",
                            NULL, "Stripe is not configured on this server.");
    if (req->currency && strcasecmp(req->currency, b->cfg.currency) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "currency",
                            "currency must be %s.", b->cfg.currency);
    if (req->amount_cents < 1 || req->amount_cents > CD_PI_MAX_CENTS)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "amount_cents",
                            "amount_cents must be from %d to %" PRId64 ".",
                            CD_MIN_CHARGE_CENTS, CD_PI_MAX_CENTS);
    if (req->amount_cents < CD_MIN_CHARGE_CENTS)
        return cd_error_set(
            err, CD_EK_INVALID, "amount_below_minimum", "amount_cents",
            "The smallest charge is %d cents.", CD_MIN_CHARGE_CENTS);
    return 0;
}

int cd_pi_create(struct cd_billing *b, const struct cd_account *acct,
                 const struct cd_pi_req *req, struct cd_pi_result *out,
                 struct cd_error *err)
{
    struct cd_order o;
    char desc[CD_DESC_SZ];
    json_t *params = NULL, *resp = NULL;
    const char *pi_id, *secret;
    int rc, existed = 0, ret = -1;

    memset(out, 0, sizeof(*out));
    if (pi_check(b, req, err) != 0 ||
        pi_description(req, desc, sizeof(desc), err) != 0)
        return -1;
    cd_topup_new_order(&o, req->order_id, acct, "payment_intent",
                       req->amount_cents, req->amount_cents, b->cfg.currency,
                       desc);
    if (cd_order_open(b, &o, NULL, NULL, &existed, err) != 0)
        return -1;

    params = json_pack("{s:I, s:s, s:{s:b}, s:s, s:{s:s, s:s, s:s}}",
                       "amount", (json_int_t)o.amount_cents, "currency",
                       o.currency, "automatic_payment_methods", "enabled", 1,
                       "description", o.description, "metadata", "order_id",
                       o.id, "account_id", acct->id, "kind",
                       "payment_intent");
    if (params && o.stripe_customer_id[0])
        json_object_set_new(params, "customer",
                            json_string(o.stripe_customer_id));
    rc = cd_topup_post_pi(b, &o, params, "payment_intent", 0, &resp, err);
    if (rc > 0) /* not confirmed here, so not expected; still recorded */
        cd_topup_declined(b, &o, resp, err);
    if (rc != 0)
        goto out;
    pi_id = json_string_value(json_object_get(resp, "id"));
    secret = json_string_value(json_object_get(resp, "client_secret"));
    if (!secret || strlen(secret) >= sizeof(out->client_secret)) {
        cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                     "The payment provider sent no client secret.");
        goto out;
    }
    if (cd_topup_record_pi(b, o.id, pi_id, err) != 0)
        goto out;
    cd_strlcpy(out->order_id, o.id, sizeof(out->order_id));
    cd_strlcpy(out->payment_intent_id, pi_id, sizeof(out->payment_intent_id));
    cd_strlcpy(out->client_secret, secret, sizeof(out->client_secret));
    cd_info(MOD, "order %s: payment intent %s for %" PRId64 " %s%s", o.id,
            pi_id, o.amount_cents, o.currency,
            existed ? " (retried request)" : "");
    ret = 0;
out:
    json_decref(params);
    json_decref(resp);
    return ret;
}
