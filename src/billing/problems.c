/*
 * problems.c - the operator's list of what creditd could not settle on
 * its own; see problems.h.
 */
#include "billing/problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

static const struct cd_metric_def M_PROBLEMS = {
    "creditd_problems_total",
    "Orders recorded for the operator (GET /v1/admin/problems) by kind: "
    "credit_refused, amount_mismatch, invoice_mismatch.",
    CD_METRIC_COUNTER,
    {"kind"},
    NULL,
    0};

int cd_problem_note_tx(struct cd_tx *tx, const char *kind,
                       const struct cd_order *o, const char *event_id,
                       const char *fmt, ...)
{
    struct cd_problem p;
    va_list ap;
    int rc;

    memset(&p, 0, sizeof(p));
    cd_random_id("prb_", p.id, sizeof(p.id));
    cd_strlcpy(p.kind, kind, sizeof(p.kind));
    cd_strlcpy(p.order_id, o->id, sizeof(p.order_id));
    cd_strlcpy(p.account_id, o->account_id, sizeof(p.account_id));
    if (event_id)
        cd_strlcpy(p.event_id, event_id, sizeof(p.event_id));
    va_start(ap, fmt);
    vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
    va_end(ap);
    p.detail[cd_utf8_cut(p.detail, strlen(p.detail))] = '\0';
    p.created_at = cd_now();
    rc = cd_store_problem_insert(tx, &p);
    if (rc == CD_STORE_DUPLICATE)
        return CD_STORE_OK;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_error("problems", "order %s needs the operator (%s): %s", o->id, kind,
             p.detail);
    cd_metrics_add(NULL, &M_PROBLEMS, 1, kind, NULL, NULL);
    return CD_STORE_OK;
}

struct list_args {
    int64_t limit, offset;
    cd_problem_cb cb;
    void *arg;
    int64_t *total;
};

static int list_fn(struct cd_tx *tx, void *arg)
{
    struct list_args *a = arg;

    return cd_store_problem_list(tx, a->limit, a->offset, a->cb, a->arg,
                                 a->total);
}

int cd_problems_list(struct cd_billing *b, int64_t limit, int64_t offset,
                     cd_problem_cb cb, void *arg, int64_t *total,
                     struct cd_error *err)
{
    struct list_args a = {limit, offset, cb, arg, total};

    if (cd_store_read(b->store, list_fn, &a) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "Could not read the problems.");
    return 0;
}
