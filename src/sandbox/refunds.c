/*
 * refunds.c - Refund objects: refunding a charge and the /v1/refunds
 * routes.
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

/* ------------------------------------------------------------------ */
/* Refunds                                                             */

json_t *cd_sandbox_refund(struct cd_sandbox *s, json_t *charge,
                          int64_t amount, const char *reason,
                          const json_t *metadata, struct cd_sandbox_fail *f)
{
    json_int_t total = json_integer_value(json_object_get(charge, "amount"));
    json_int_t done = json_integer_value(
        json_object_get(charge, "amount_refunded"));
    const char *ch_id = json_string_value(json_object_get(charge, "id"));
    json_t *re, *list;
    char id[64];

    if (done >= total) {
        cd_sandbox_fail_set(f, 400, NULL, "charge_already_refunded", NULL,
                            "Charge %s has already been refunded.", ch_id);
        return NULL;
    }
    if (amount <= 0)
        amount = total - done;
    if (amount > total - done) {
        cd_sandbox_fail_set(f, 400, NULL, "amount_too_large", "amount",
                            "Refund amount (%lld) is greater than unrefunded "
                            "amount on charge (%lld)",
                            (long long)amount, (long long)(total - done));
        return NULL;
    }
    cd_sandbox_new_id("re_", id, sizeof(id));
    re = json_pack(
        "{s:s, s:s, s:I, s:n, s:s, s:I, s:O, s:o, s:O, s:s?, "
        "s:s}",
        "id", id, "object", "refund", "amount", (json_int_t)amount,
        "balance_transaction", "charge", ch_id, "created",
        (json_int_t)cd_now(), "currency", json_object_get(charge, "currency"),
        "metadata", metadata ? json_deep_copy(metadata) : json_object(),
        "payment_intent", json_object_get(charge, "payment_intent"), "reason",
        reason, "status", "succeeded");
    if (!re || cd_sandbox_store(s->refunds, re) != 0) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    done += amount;
    json_object_set_new(charge, "amount_refunded", json_integer(done));
    json_object_set_new(charge, "refunded", json_boolean(done >= total));
    list = json_object_get(charge, "refunds");
    if (json_is_object(list)) {
        json_t *data = json_object_get(list, "data");
        if (json_is_array(data))
            json_array_insert(data, 0, re);
    }
    cd_sandbox_emit(s, "refund.created", re);
    cd_sandbox_emit(s, "charge.refunded", charge);
    return re;
}

/* The charge to refund: ch_id, or pi_id's latest charge; NULL with f
 * set when there is none. */
static json_t *refund_charge(struct cd_sandbox *s, const char *ch_id,
                             const char *pi_id, struct cd_sandbox_fail *f)
{
    json_t *ch, *pi;

    if (ch_id) {
        ch = json_object_get(s->charges, ch_id);
        if (!ch)
            cd_sandbox_fail_set(f, 400, NULL, "resource_missing", "charge",
                                "No such charge: '%.80s'", ch_id);
        return ch;
    }
    pi = json_object_get(s->intents, pi_id);
    if (!pi) {
        cd_sandbox_fail_set(f, 400, NULL, "resource_missing",
                            "payment_intent",
                            "No such payment_intent: '%.80s'", pi_id);
        return NULL;
    }
    ch = json_object_get(
        s->charges,
        json_string_value(json_object_get(pi, "latest_charge"))
            ? json_string_value(json_object_get(pi, "latest_charge"))
            : "");
    if (!ch)
        cd_sandbox_fail_set(f, 400, NULL, "charge_not_found",
                            "payment_intent",
                            "This PaymentIntent does "
                            "not have a successful charge to refund.");
    return ch;
}

void cd_sandbox_h_refund_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *ch_id, *pi_id, *reason;
    json_t *p = cd_sandbox_post_params(r), *ch, *re, *md;
    int64_t amount = 0;
    int present;

    if (!p)
        return;
    if (cd_sandbox_opt_str(p, "charge", "charge", 255, &ch_id, &f) ||
        cd_sandbox_opt_str(p, "payment_intent", "payment_intent", 255, &pi_id,
                           &f) ||
        cd_sandbox_opt_str(p, "reason", "reason", 32, &reason, &f) ||
        cd_sandbox_opt_int(p, "amount", "amount", 1, CD_AMOUNT_MAX, &amount,
                           &present, &f) ||
        cd_sandbox_check_metadata(json_object_get(p, "metadata"), "metadata",
                                  &f))
        goto fail;
    if (reason && strcmp(reason, "duplicate") != 0 &&
        strcmp(reason, "fraudulent") != 0 &&
        strcmp(reason, "requested_by_customer") != 0) {
        cd_sandbox_fail_set(
            &f, 400, NULL, "parameter_invalid_string", "reason",
            "Invalid reason: must be one of "
            "duplicate, fraudulent, or requested_by_customer");
        goto fail;
    }
    if (!ch_id && !pi_id) {
        cd_sandbox_fail_set(&f, 400, NULL, "parameter_missing", "charge",
                            "One of the following params should be provided "
                            "for this request: payment_intent or charge.");
        goto fail;
    }
    ch = refund_charge(s, ch_id, pi_id, &f);
    if (!ch)
        goto fail;
    md = json_object_get(p, "metadata");
    re = cd_sandbox_refund(s, ch, amount, reason,
                           json_is_object(md) ? md : NULL, &f);
    if (!re)
        goto fail;
    cd_sandbox_reply_render(r, re, json_object_get(p, "expand"));
    json_decref(p);
    return;
fail:
    cd_sandbox_reply_fail(r, &f);
    json_decref(p);
}

void cd_sandbox_h_refund_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->refunds, "refund");
}
