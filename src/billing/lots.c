/*
 * lots.c - credit lots, the drawing order, debt and expiry; see lots.h.
 */
#include "billing/lots.h"
#include "billing/order_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/util.h"

#define MOD "lots"
#define BATCH 64

static const struct cd_billing_config *catalog; /* cd_lots_init */

void cd_lots_init(const struct cd_billing_config *cfg)
{
    catalog = cfg;
}

int64_t cd_lots_days(int64_t now, int64_t days)
{
    if (days <= 0)
        return 0;
    if (days > CD_LOT_EXPIRY_DAYS_MAX)
        days = CD_LOT_EXPIRY_DAYS_MAX;
    return now + days * 86400;
}

static int is_expiry(const char *kind)
{
    return strcmp(kind, "expiry") == 0;
}

/* ---- credits: repay debt, then a lot -------------------------------------- */

static const char *source_of(const struct cd_ledger_apply *in)
{
    if (in->lot && in->lot->source)
        return in->lot->source;
    if (strcmp(in->kind, "refund") == 0 || strcmp(in->kind, "dispute") == 0)
        return "refund_reversal";
    return in->kind;
}

static const char *category_of(const struct cd_ledger_apply *in,
                               const char *source)
{
    if (in->lot && in->lot->category)
        return in->lot->category;
    return strcmp(source, "grant") == 0 || strcmp(source, "promotional") == 0
               ? "promotional"
               : "paid";
}

static const struct cd_plan *plan_named(const char *id)
{
    for (size_t i = 0; catalog && i < catalog->nplans; i++)
        if (strcmp(catalog->plans[i].id, id) == 0)
            return &catalog->plans[i];
    return NULL;
}

const struct cd_lot_spec *cd_lots_order_spec(const struct cd_order *o,
                                             int64_t period_end, int64_t now,
                                             struct cd_lot_spec *spec)
{
    const struct cd_plan *plan;

    memset(spec, 0, sizeof(*spec));
    if (!catalog)
        return NULL;
    if (cd_order_is_kind(o, CD_ORDER_PACKAGE)) {
        for (size_t i = 0; i < catalog->npackages; i++)
            if (strcmp(catalog->packages[i].id, o->item_id) == 0)
                spec->expires_at = cd_lots_days(
                    now, catalog->packages[i].expires_in_days);
        return spec->expires_at ? spec : NULL;
    }
    plan = plan_named(o->item_id);
    if (period_end > now && plan && plan->credits_expire_period_end &&
        (cd_order_is_kind(o, CD_ORDER_INVOICE) ||
         cd_order_is_kind(o, CD_ORDER_SUBSCRIPTION))) {
        spec->expires_at = period_end;
        return spec;
    }
    return NULL;
}

/* start plus one plan interval: calendar months (the day clamped to the
 * month's end) as Stripe bills. */
static int64_t interval_after(int64_t start, const char *interval)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    time_t t = (time_t)start;
    struct tm tm;
    int months = strcmp(interval, "year") == 0 ? 12 : 1, days, y;

    if (strcmp(interval, "day") == 0)
        return start + 86400;
    if (strcmp(interval, "week") == 0)
        return start + 7 * 86400;
    if (!gmtime_r(&t, &tm))
        return start + 30 * 86400;
    tm.tm_year += (tm.tm_mon + months) / 12;
    tm.tm_mon = (tm.tm_mon + months) % 12;
    y = tm.tm_year + 1900;
    days = dim[tm.tm_mon] +
           (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (tm.tm_mday > days)
        tm.tm_mday = days;
    return (int64_t)timegm(&tm);
}

static int credit(struct cd_tx *tx, const struct cd_ledger_apply *in,
                  const struct cd_ledger_entry *e)
{
    struct cd_lot l;
    int64_t debt = 0, repay, after;
    int rc = cd_store_lot_debt_get(tx, in->account_id, &debt);

    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    repay = debt < in->amount ? debt : in->amount;
    if (repay > 0 && cd_store_lot_debt_add(tx, in->account_id, -repay,
                                           &after) != CD_STORE_OK)
        return CD_STORE_ERROR;
    memset(&l, 0, sizeof(l));
    cd_random_id("lot_", l.id, sizeof(l.id));
    cd_strlcpy(l.account_id, in->account_id, sizeof(l.account_id));
    cd_strlcpy(l.entry_id, e->id, sizeof(l.entry_id));
    cd_strlcpy(l.source, source_of(in), sizeof(l.source));
    cd_strlcpy(l.category, category_of(in, l.source), sizeof(l.category));
    cd_strlcpy(l.order_id, in->order_id ? in->order_id : "",
               sizeof(l.order_id));
    l.amount = in->amount;
    l.remaining = in->amount - repay;
    l.priority = in->lot && in->lot->priority > 0 ? in->lot->priority
                                                  : CD_LOT_PRIORITY_DEFAULT;
    l.created_at = e->created_at;
    l.expires_at = in->lot && in->lot->expires_at > 0 ? in->lot->expires_at
                                                      : 0;
    if (repay > 0)
        cd_info(MOD, "%s: %" PRId64 " credits of %s repay debt", l.account_id,
                repay, e->id);
    return cd_store_lot_insert(tx, &l) == CD_STORE_OK ? CD_STORE_OK
                                                      : CD_STORE_ERROR;
}

/* ---- debits: draw in order, past the lots a debt -------------------------- */

static int draw_one(struct cd_tx *tx, const struct cd_ledger_entry *e,
                    const struct cd_lot *l, int64_t take)
{
    int rc = cd_store_lot_take(tx, l->id, take);

    if (rc != CD_STORE_OK) {
        /* The guard: another writer drew meanwhile (PostgreSQL answers
         * that with a serialization failure first; see ARCHITECTURE.md). */
        cd_error(MOD, "lot %s: draw of %" PRId64 " refused (%d)", l->id, take,
                 rc);
        return CD_STORE_ERROR;
    }
    return cd_store_lot_draw_insert(tx, e->id, l->id, take) == CD_STORE_OK
               ? CD_STORE_OK
               : CD_STORE_ERROR;
}

static int draw(struct cd_tx *tx, const struct cd_ledger_apply *in,
                const struct cd_ledger_entry *e)
{
    struct cd_lot lots[BATCH];
    int64_t need = -in->amount, after;
    char first[CD_ID_SZ];
    int n, rc;

    /* Most debits fit in the first lot: one statement finds and takes. */
    rc = cd_store_lot_take_first(tx, in->account_id, in->order_id, need,
                                 first);
    if (rc == CD_STORE_OK)
        return cd_store_lot_draw_insert(tx, e->id, first, need) == CD_STORE_OK
                   ? CD_STORE_OK
                   : CD_STORE_ERROR;
    if (rc != CD_STORE_GUARD)
        return CD_STORE_ERROR;
    while (need > 0) {
        if (cd_store_lot_open(tx, in->account_id, in->order_id, lots, BATCH,
                              &n) != CD_STORE_OK)
            return CD_STORE_ERROR;
        for (int i = 0; i < n && need > 0; i++) {
            int64_t take = lots[i].remaining < need ? lots[i].remaining
                                                    : need;

            if (draw_one(tx, e, &lots[i], take) != CD_STORE_OK)
                return CD_STORE_ERROR;
            need -= take;
        }
        if (n < BATCH)
            break;
    }
    if (need == 0)
        return CD_STORE_OK;
    if (!in->allow_negative)
        cd_warn(MOD, "%s: entry %s took %" PRId64 " credits past its lots",
                in->account_id, e->id, need);
    return cd_store_lot_debt_add(tx, in->account_id, need, &after) ==
                   CD_STORE_OK
               ? CD_STORE_OK
               : CD_STORE_ERROR;
}

/* The expiry entry's own lot: all of what is left, once (or, rolling
 * over, all but what rolls). */
static int expire_drawn(struct cd_tx *tx, const struct cd_ledger_apply *in,
                        const struct cd_ledger_entry *e)
{
    const struct cd_lot_spec *s = in->lot;
    int rc = s->roll_to ? cd_store_lot_roll(tx, s->lot_id, -in->amount,
                                            s->left, s->roll_to)
                        : cd_store_lot_expire(tx, s->lot_id, -in->amount,
                                              e->created_at);

    if (rc != CD_STORE_OK) {
        cd_error(MOD, "lot %s: expiry of %" PRId64 " refused (%d)",
                 in->lot->lot_id, -in->amount, rc);
        return CD_STORE_ERROR;
    }
    return cd_store_lot_draw_insert(tx, e->id, in->lot->lot_id,
                                    -in->amount) == CD_STORE_OK
               ? CD_STORE_OK
               : CD_STORE_ERROR;
}

int cd_lots_after_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                     const struct cd_ledger_entry *e)
{
    if (in->amount > 0)
        return credit(tx, in, e);
    if (in->lot && in->lot->lot_id)
        return expire_drawn(tx, in, e);
    return draw(tx, in, e);
}

/* ---- expiry -------------------------------------------------------------- */

/* What of a subscription lot rolls over (its plan's rollover_cap, once)
 * and until when; 0 when nothing does. */
static int64_t rollover(struct cd_tx *tx, const struct cd_lot *l,
                        int64_t *roll_to)
{
    const struct cd_plan *plan;
    struct cd_order o;

    *roll_to = 0;
    if (l->rolled || strcmp(l->source, "subscription") != 0 ||
        !l->order_id[0] ||
        cd_store_order_get(tx, l->order_id, &o) != CD_STORE_OK ||
        !(plan = plan_named(o.item_id)) || plan->rollover_cap <= 0)
        return 0;
    *roll_to = interval_after(l->expires_at, plan->interval);
    return l->remaining < plan->rollover_cap ? l->remaining
                                             : plan->rollover_cap;
}

int cd_lots_expire_tx(struct cd_tx *tx, const struct cd_lot *l, int64_t now)
{
    struct cd_lot_spec spec;
    struct cd_ledger_apply la;
    struct cd_ledger_entry le;
    char ref[CD_REF_SZ], desc[CD_DESC_SZ];
    int64_t roll_to, keep;
    int rc;

    (void)now;
    if (l->remaining <= 0)
        return 0;
    keep = rollover(tx, l, &roll_to);
    if (keep == l->remaining) /* all of it rolls: no entry */
        return cd_store_lot_roll(tx, l->id, 0, l->remaining, roll_to) ==
                       CD_STORE_OK
                   ? 0
                   : CD_STORE_ERROR;
    _Static_assert(CD_REF_FITS("expiry::rolled", CD_ID_SZ - 1),
                   "expiry:<lot id>[:rolled] fits CD_REF_SZ");
    snprintf(ref, sizeof(ref), l->rolled ? "expiry:%s:rolled" : "expiry:%s",
             l->id);
    snprintf(desc, sizeof(desc), "Expired: %s credits (%s)", l->category,
             l->source);
    memset(&spec, 0, sizeof(spec));
    spec.lot_id = l->id;
    spec.roll_to = keep > 0 ? roll_to : 0;
    spec.left = l->remaining;
    memset(&la, 0, sizeof(la));
    la.account_id = l->account_id;
    la.amount = -(l->remaining - keep);
    la.kind = "expiry";
    la.ref = ref;
    la.order_id = l->order_id[0] ? l->order_id : NULL;
    la.description = desc;
    la.allow_negative = 1;
    la.lot = &spec;
    la.effective_at = l->expires_at; /* the moment of expiry (lots.h) */
    rc = cd_ledger_apply_tx(tx, &la, &le);
    if (rc == CD_STORE_OK) {
        cd_info(MOD, "lot %s of %s: %" PRId64 " credits expired (%s)%s",
                l->id, l->account_id, -la.amount, le.id,
                keep > 0 ? ", the rest rolled over" : "");
        return 1; /* credits.expired: written by cd_ledger_apply_tx */
    }
    if (rc == CD_STORE_DUPLICATE)
        return 0;
    cd_error(MOD, "lot %s: expiry entry failed (%d)", l->id, rc);
    return CD_STORE_ERROR;
}

int cd_lots_before_tx(struct cd_tx *tx, const struct cd_ledger_apply *in)
{
    struct cd_lot lots[BATCH];
    int64_t now = cd_now();
    int n;

    if (in->amount >= 0 || is_expiry(in->kind))
        return CD_STORE_OK;
    do {
        if (cd_store_lot_due(tx, in->account_id, now, lots, BATCH, &n) !=
            CD_STORE_OK)
            return CD_STORE_ERROR;
        for (int i = 0; i < n; i++)
            if (cd_lots_expire_tx(tx, &lots[i], now) < 0)
                return CD_STORE_ERROR;
    } while (n == BATCH);
    return CD_STORE_OK;
}

struct sweep_job {
    int64_t now;
    int n, written;
};

static int sweep_fn(struct cd_tx *tx, void *arg)
{
    struct sweep_job *j = arg;
    struct cd_lot lots[BATCH];

    j->written = 0;
    if (cd_store_lot_due(tx, NULL, j->now, lots, BATCH, &j->n) != CD_STORE_OK)
        return CD_STORE_ERROR;
    for (int i = 0; i < j->n; i++) {
        int rc = cd_lots_expire_tx(tx, &lots[i], j->now);

        if (rc < 0)
            return CD_STORE_ERROR;
        j->written += rc;
    }
    return 0;
}

int cd_lots_sweep(struct cd_billing *b, int64_t now, int64_t *n)
{
    struct sweep_job j;

    *n = 0;
    do {
        memset(&j, 0, sizeof(j));
        j.now = now;
        if (cd_store_write(b->store, sweep_fn, &j) != 0)
            return -1;
        *n += j.written;
    } while (j.n == BATCH && j.written > 0);
    return 0;
}

/* ---- reads --------------------------------------------------------------- */

struct totals_job {
    const char *id;
    struct cd_lot_totals *t;
};

static int totals_fn(struct cd_tx *tx, void *arg)
{
    struct totals_job *j = arg;
    int rc = cd_store_lot_debt_get(tx, j->id, &j->t->debt);

    if (rc != CD_STORE_OK)
        return rc;
    return cd_store_lot_totals(tx, j->id, &j->t->paid, &j->t->promotional,
                               &j->t->next_amount, &j->t->next_at);
}

int cd_lots_totals(struct cd_billing *b, const char *account_id,
                   struct cd_lot_totals *out, struct cd_error *err)
{
    struct totals_job j = {account_id, out};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = cd_store_read(b->store, totals_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

struct page_job {
    const char *account_id, *after_id;
    int status;
    int64_t limit, now;
    cd_lot_cb cb;
    void *arg;
    int *has_more;
};

static int page_fn(struct cd_tx *tx, void *arg)
{
    struct page_job *j = arg;

    if (j->after_id && !*j->after_id)
        return CD_STORE_NOT_FOUND; /* names no lot */
    return cd_store_lot_page(tx, j->account_id, j->status, j->now,
                             j->after_id, j->limit, j->cb, j->arg,
                             j->has_more);
}

int cd_lots_page(struct cd_billing *b, const char *account_id, int status,
                 const char *starting_after, int64_t limit, cd_lot_cb cb,
                 void *arg, int *has_more, struct cd_error *err)
{
    struct page_job j = {account_id, starting_after, status,
                         limit,      cd_now(),       cb,
                         arg,        has_more};
    int rc = cd_store_read(b->store, page_fn, &j);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after",
                            "starting_after names no lot of this account");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

struct draws_job {
    const char *const *ids;
    size_t n, i;
    cd_lot_draw_cb cb;
    void *arg;
};

static int draws_one(const char *lot_id, int64_t amount, void *arg)
{
    struct draws_job *j = arg;

    return j->cb(j->i, lot_id, amount, j->arg);
}

static int draws_fn(struct cd_tx *tx, void *arg)
{
    struct draws_job *j = arg;

    for (j->i = 0; j->i < j->n; j->i++)
        if (cd_store_lot_draws(tx, j->ids[j->i], draws_one, j) != CD_STORE_OK)
            return CD_STORE_ERROR;
    return CD_STORE_OK;
}

int cd_lots_draws(struct cd_billing *b, const char *const *ids, size_t n,
                  cd_lot_draw_cb cb, void *arg, struct cd_error *err)
{
    struct draws_job j = {ids, n > CD_LOTS_DRAWS_MAX ? CD_LOTS_DRAWS_MAX : n,
                          0, cb, arg};

    if (j.n == 0 || cd_store_read(b->store, draws_fn, &j) == CD_STORE_OK)
        return 0;
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

int cd_lots_verify_tx(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                      int64_t *n)
{
    return cd_store_lot_verify(tx, cb, arg, n);
}
