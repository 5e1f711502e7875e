/*
 * order_open.c - the pending order before Stripe is called, and Stripe's
 * answer recorded on it; see order_open.h.
 */
#include "billing/order_open.h"

#include <inttypes.h>
#include <string.h>

#include "billing/discounts.h"
#include "billing/idempotency.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/outbox.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "orders"
/* Returned by the job when the account has too many pending orders, or
 * the retried order is another purchase; distinct from every CD_STORE_*
 * value and guard code. */
#define JOB_TOO_MANY 90
#define JOB_MISMATCH 91

struct open_job {
    struct cd_order *o;
    cd_order_guard_fn guard;
    void *garg;
    int64_t pending_since, max_pending;
    int64_t hold_since; /* discount holds counted from here */
    int existed;
};

/* The retried request's order is the same purchase. */
static int same_purchase(const struct cd_order *have,
                         const struct cd_order *want)
{
    return strcmp(have->account_id, want->account_id) == 0 &&
           strcmp(have->kind, want->kind) == 0 &&
           have->amount_cents == want->amount_cents &&
           have->credits == want->credits &&
           strcmp(have->item_id, want->item_id) == 0 &&
           strcmp(have->discount_code, want->discount_code) == 0 &&
           have->created_at >= want->created_at - CD_IDEM_TTL_S;
}

static int open_fn(struct cd_tx *tx, void *arg)
{
    struct open_job *j = arg;
    struct cd_order have;
    int64_t pending = 0;
    int rc;

    rc = cd_store_order_get(tx, j->o->id, &have);
    if (rc == CD_STORE_OK) {
        if (!same_purchase(&have, j->o))
            return JOB_MISMATCH;
        *j->o = have;
        j->existed = 1;
        return 0;
    }
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    rc = cd_store_order_count_pending(tx, j->o->account_id, j->pending_since,
                                      &pending);
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (pending >= j->max_pending)
        return JOB_TOO_MANY;
    if (j->guard && (rc = j->guard(tx, j->o, j->garg)) != 0)
        return rc;
    if (!j->o->discount_code[0])
        return cd_store_order_insert(tx, j->o);
    /* The reservation of the code's use and the insert: one statement. */
    rc = cd_store_order_insert_reserving(tx, j->o, j->hold_since);
    return rc == CD_STORE_GUARD ? CD_ORDER_DISCOUNT_REFUSED : rc;
}

int cd_order_open(struct cd_billing *b, struct cd_order *o,
                  cd_order_guard_fn guard, void *garg, int *existed,
                  struct cd_error *err)
{
    int64_t expires = b->cfg.checkout_expires_s > 0
                          ? b->cfg.checkout_expires_s
                          : CD_CHECKOUT_EXPIRES_DEFAULT;
    struct open_job j = {o,
                         guard,
                         garg,
                         o->created_at - expires - CD_CHECKOUT_EXPIRY_GRACE_S,
                         b->cfg.max_pending_orders > 0
                             ? b->cfg.max_pending_orders
                             : CD_MAX_PENDING_ORDERS_DEFAULT,
                         o->created_at - cd_discount_hold_s(b),
                         0};
    int rc = cd_store_write(b->store, open_fn, &j);

    *existed = j.existed;
    if (rc == 0)
        return 0;
    if (rc == JOB_MISMATCH)
        return cd_error_set(err, CD_EK_CONFLICT, "idempotency_key_reused",
                            NULL,
                            "This Idempotency-Key was used for another "
                            "purchase, or more than 24 hours ago.");
    if (rc == JOB_TOO_MANY) {
        cd_info(MOD,
                "account %s: %" PRId64 " orders pending, new one "
                "refused",
                o->account_id, j.max_pending);
        cd_error_set(err, CD_EK_RATE, "too_many_pending_orders", NULL,
                     "This account has %" PRId64 " unpaid orders open; pay "
                     "or let one expire first.",
                     j.max_pending);
        err->retry_after = 60;
        return -1;
    }
    if (rc >= CD_ORDER_GUARD_MIN || rc == CD_ORDER_DISCOUNT_REFUSED)
        return rc; /* the guard's, or the reservation's */
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "Could not record the order.");
}

/* ---- Stripe's answer ------------------------------------------------------ */

int cd_stripe_failure_is_final(int http_status)
{
    return http_status >= 400 && http_status < 500 && http_status != 409 &&
           http_status != 429;
}

void cd_order_failed_payment(const struct cd_order *o, const char *pi,
                             const char *charge, const char *reason,
                             int64_t now, struct cd_payment *p)
{
    memset(p, 0, sizeof(*p));
    cd_random_id("pay_", p->id, sizeof(p->id));
    cd_strlcpy(p->order_id, o->id, sizeof(p->order_id));
    cd_strlcpy(p->account_id, o->account_id, sizeof(p->account_id));
    cd_strlcpy(p->status, "failed", sizeof(p->status));
    p->amount_cents = o->amount_cents;
    cd_strlcpy(p->currency, o->currency, sizeof(p->currency));
    cd_strlcpy(p->description, o->description, sizeof(p->description));
    cd_strlcpy(p->failure_reason, reason ? reason : "The payment failed.",
               sizeof(p->failure_reason));
    if (pi && strlen(pi) < sizeof(p->stripe_payment_intent_id))
        cd_strlcpy(p->stripe_payment_intent_id, pi,
                   sizeof(p->stripe_payment_intent_id));
    if (charge && strlen(charge) < sizeof(p->stripe_charge_id))
        cd_strlcpy(p->stripe_charge_id, charge, sizeof(p->stripe_charge_id));
    p->created_at = now;
}

/* A payment was attempted and failed for good: it shows in the history. */
static int insert_failed_payment(struct cd_tx *tx, const struct cd_order *o,
                                 const struct cd_order_outcome *out,
                                 int64_t now)
{
    struct cd_payment pay;
    int rc = cd_store_payment_by_order(tx, o->id, &pay);

    if (rc == CD_STORE_OK)
        return CD_STORE_OK;
    if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    cd_order_failed_payment(o, out->pi, out->charge, out->failure, now, &pay);
    rc = cd_store_payment_insert(tx, &pay);
    return rc == CD_STORE_DUPLICATE ? CD_STORE_OK : rc;
}

struct outcome_job {
    const char *order_id;
    const struct cd_order_outcome *out;
};

static int outcome_fn(struct cd_tx *tx, void *arg)
{
    struct outcome_job *j = arg;
    const struct cd_order_outcome *out = j->out;
    struct cd_order o;
    struct cd_order_patch patch = {.to = CD_ORDER_FAILED, .dirty = 1};
    int64_t now = cd_now();
    int rc, failing;

    rc = cd_store_order_get(tx, j->order_id, &o);
    if (rc != CD_STORE_OK)
        return rc;
    if (out->session_id && out->session_id[0] && !o.stripe_session_id[0])
        patch.session_id = out->session_id;
    if (out->pi && out->pi[0] && !o.stripe_payment_intent_id[0])
        patch.pi = out->pi;
    failing = out->failure && cd_order_is(&o, CD_ORDER_PENDING);
    if (failing)
        patch.failure = out->failure;
    patch.move = failing && out->final;
    rc = cd_order_patch_tx(tx, &o, &patch, now);
    if (rc == CD_STORE_OK && failing && out->final)
        rc = cd_outbox_order_tx(tx, "payment.failed", &o);
    if (rc != CD_STORE_OK || !failing || !out->final || !out->pi ||
        !out->pi[0])
        return rc;
    return insert_failed_payment(tx, &o, out, now);
}

int cd_order_record_outcome(struct cd_billing *b, const char *order_id,
                            const struct cd_order_outcome *out)
{
    struct outcome_job j = {order_id, out};
    int rc = cd_store_write(b->store, outcome_fn, &j);

    if (rc != CD_STORE_OK)
        cd_error(MOD, "order %s: could not record Stripe's answer", order_id);
    return rc;
}
