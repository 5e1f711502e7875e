/*
 * charges.c - the order of a Stripe charge, and its payment row; see
 * charges.h.
 */
#include "billing/charges.h"

#include <stdio.h>
#include <string.h>

#include "billing/fulfil_int.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "charges"

struct locate {
    const char *charge;     /* may be "" */
    const char *pi;         /* may be "" */
    const char *meta_order; /* may be "" */
    char order_id[CD_ID_SZ];
};

/* The order named by meta_order, if its payment intent (when it has one)
 * is pi: metadata is only a hint. */
static int meta_order(struct cd_tx *tx, struct locate *l)
{
    struct cd_order o;
    int rc;

    if (!l->meta_order[0])
        return CD_STORE_NOT_FOUND;
    rc = cd_store_order_get(tx, l->meta_order, &o);
    if (rc != CD_STORE_OK)
        return rc;
    if (o.stripe_payment_intent_id[0] && l->pi[0] &&
        strcmp(o.stripe_payment_intent_id, l->pi) != 0)
        return CD_STORE_NOT_FOUND;
    cd_strlcpy(l->order_id, o.id, sizeof(l->order_id));
    return CD_STORE_OK;
}

static int locate_fn(struct cd_tx *tx, void *arg)
{
    struct locate *l = arg;
    struct cd_payment p;
    struct cd_order o;
    int rc = CD_STORE_NOT_FOUND;

    if (l->charge[0])
        rc = cd_store_payment_by_charge(tx, l->charge, &p);
    if (rc == CD_STORE_NOT_FOUND && l->pi[0])
        rc = cd_store_payment_by_payment_intent(tx, l->pi, &p);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(l->order_id, p.order_id, sizeof(l->order_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (l->pi[0]) {
        rc = cd_store_order_by_payment_intent(tx, l->pi, &o);
        if (rc == CD_STORE_OK) {
            cd_strlcpy(l->order_id, o.id, sizeof(l->order_id));
            return CD_STORE_OK;
        }
        if (rc != CD_STORE_NOT_FOUND)
            return CD_STORE_ERROR;
    }
    return meta_order(tx, l);
}

int cd_charge_locate_order(struct cd_billing *b, const char *charge,
                           const char *pi, const char *meta, char *order_id,
                           struct cd_error *err)
{
    struct locate l = {charge, pi, meta, ""};
    char path[CD_SID_SZ + 32], from_pi[CD_ID_SZ] = "";
    json_t *resp = NULL;
    struct cd_error serr;
    int rc, http = 0;

    rc = cd_store_read(b->store, locate_fn, &l);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(order_id, l.order_id, CD_ID_SZ);
        return 0;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    if (!b->stripe || !pi[0] || !cd_fulfil_safe_id(pi))
        return 1;
    /* Before anything else about this payment: its PaymentIntent says
     * which order it pays (metadata.order_id, set by checkout/topups). */
    snprintf(path, sizeof(path), "/v1/payment_intents/%s", pi);
    cd_error_clear(&serr);
    rc = cd_stripe_request(b->stripe, "GET", path, NULL, NULL, &resp, &http,
                           &serr);
    if (rc != 0) {
        json_decref(resp);
        if (http == 404)
            return 1;
        cd_warn(MOD, "payment intent %s: %s", pi, serr.message);
        return cd_error_set(err, CD_EK_UPSTREAM, "stripe_error", NULL,
                            "Could not look up the payment: %s",
                            serr.message);
    }
    cd_fulfil_str_or_id(json_object_get(resp, "metadata"), "order_id",
                        from_pi, sizeof(from_pi));
    json_decref(resp);
    if (!from_pi[0])
        return 1;
    l.meta_order = from_pi;
    rc = cd_store_read(b->store, locate_fn, &l);
    if (rc == CD_STORE_OK) {
        cd_strlcpy(order_id, l.order_id, CD_ID_SZ);
        return 0;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "The event could not be applied; retry.");
    return 1;
}

int cd_charge_payment_for(struct cd_tx *tx, const struct cd_order *o,
                          const char *pi, const char *charge, int64_t now,
                          struct cd_payment *p, int *is_new)
{
    int rc = cd_store_payment_by_order(tx, o->id, p);

    *is_new = 0;
    if (rc == CD_STORE_OK) {
        if (!p->stripe_payment_intent_id[0] && pi[0])
            cd_strlcpy(p->stripe_payment_intent_id, pi,
                       sizeof(p->stripe_payment_intent_id));
        if (!p->stripe_charge_id[0] && charge[0])
            cd_strlcpy(p->stripe_charge_id, charge,
                       sizeof(p->stripe_charge_id));
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    /* The payment is older than anything we recorded of it. */
    memset(p, 0, sizeof(*p));
    cd_random_id("pay_", p->id, sizeof(p->id));
    cd_strlcpy(p->order_id, o->id, sizeof(p->order_id));
    cd_strlcpy(p->account_id, o->account_id, sizeof(p->account_id));
    cd_strlcpy(p->status, "succeeded", sizeof(p->status));
    p->amount_cents = o->amount_cents;
    cd_strlcpy(p->currency, o->currency, sizeof(p->currency));
    cd_strlcpy(p->description, o->description, sizeof(p->description));
    cd_strlcpy(p->stripe_payment_intent_id, pi,
               sizeof(p->stripe_payment_intent_id));
    cd_strlcpy(p->stripe_charge_id, charge, sizeof(p->stripe_charge_id));
    p->created_at = now;
    p->paid_at = now;
    *is_new = 1;
    return CD_STORE_OK;
}

int cd_charge_payment_save(struct cd_tx *tx, const struct cd_payment *p,
                           int is_new)
{
    int rc = is_new ? cd_store_payment_insert(tx, p)
                    : cd_store_payment_update(tx, p);

    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}
