/*
 * disputes.c - Dispute objects: the test dispute switch of a charge and
 * the /v1/disputes routes.
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
/* Disputes                                                            */

/* The newest dispute of a charge (borrowed), or NULL. */
static json_t *charge_dispute(struct cd_sandbox *s, const char *ch_id)
{
    const char *k;
    json_t *d, *found = NULL;

    json_object_foreach(s->disputes, k, d)
    {
        const char *c = json_string_value(json_object_get(d, "charge"));
        if (c && strcmp(c, ch_id) == 0)
            found = d;
    }
    return found;
}

static int dispute_open(const json_t *d)
{
    const char *st = json_string_value(json_object_get(d, "status"));

    return st && strcmp(st, "won") != 0 && strcmp(st, "lost") != 0 &&
           strcmp(st, "warning_closed") != 0;
}

json_t *cd_sandbox_dispute(struct cd_sandbox *s, json_t *charge,
                           const char *status, struct cd_sandbox_fail *f)
{
    const char *ch_id = json_string_value(json_object_get(charge, "id"));
    const char *ch_st = json_string_value(json_object_get(charge, "status"));
    json_t *d;
    char id[64];
    int64_t now = cd_now();

    if (status && strcmp(status, "won") != 0 && strcmp(status, "lost") != 0) {
        cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                            "status", "status must be won, lost or null.");
        return NULL;
    }
    d = ch_id ? charge_dispute(s, ch_id) : NULL;
    if (!d || !dispute_open(d)) {
        if (!ch_st || strcmp(ch_st, "succeeded") != 0) {
            cd_sandbox_fail_set(f, 400, NULL, "charge_not_disputable", NULL,
                                "Only a succeeded charge can be disputed.");
            return NULL;
        }
        if (d && !status) {
            cd_sandbox_fail_set(f, 400, NULL, "dispute_closed", NULL,
                                "The charge's dispute %s is closed already.",
                                json_string_value(json_object_get(d, "id")));
            return NULL;
        }
        cd_sandbox_new_id("dp_", id, sizeof(id));
        d = json_pack(
            "{s:s, s:s, s:O, s:[], s:s, s:I, s:O, s:{s:n}, "
            "s:{s:I, s:b, s:b, s:i}, s:b, s:b, s:{}, s:O, s:s, s:s}",
            "id", id, "object", "dispute", "amount",
            json_object_get(charge, "amount"), "balance_transactions",
            "charge", ch_id, "created", (json_int_t)now, "currency",
            json_object_get(charge, "currency"), "evidence",
            "uncategorized_text", "evidence_details", "due_by",
            (json_int_t)(now + 7 * 86400), "has_evidence", 0, "past_due", 0,
            "submission_count", 0, "is_charge_refundable", 0, "livemode", 0,
            "metadata", "payment_intent",
            json_object_get(charge, "payment_intent"), "reason", "fraudulent",
            "status", "needs_response");
        if (!d || cd_sandbox_store(s->disputes, d) != 0) {
            cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                                "The sandbox is full.");
            return NULL;
        }
        json_object_set_new(charge, "disputed", json_true());
        cd_sandbox_emit(s, "charge.dispute.created", d);
        if (!status)
            return d;
    } else if (!status) {
        cd_sandbox_fail_set(f, 400, NULL, "dispute_open", "status",
                            "The charge's dispute %s is open: pass status "
                            "won or lost to close it.",
                            json_string_value(json_object_get(d, "id")));
        return NULL;
    }
    json_object_set_new(d, "status", json_string(status));
    cd_sandbox_emit(s, "charge.dispute.closed", d);
    return d;
}

void cd_sandbox_h_dispute_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->disputes,
                         "dispute");
}

void cd_sandbox_h_dispute_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {
        {"charge", "payment_intent"},
        {cd_req_query(r, "charge"), cd_req_query(r, "payment_intent")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->disputes,
                          "/v1/disputes", "dispute",
                          cd_sandbox_field_filter_fn, &ff);
}
