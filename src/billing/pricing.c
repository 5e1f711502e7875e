/*
 * pricing.c - the dynamic access price and discount arithmetic; see
 * pricing.h for the rounding rule.
 */
#include "billing/pricing.h"

#include <string.h>

#include "util/util.h"

int cd_pricing_current_tx(struct cd_billing *b, struct cd_tx *tx,
                          struct cd_pricing *out)
{
    int rc = cd_store_pricing_get(tx, out);

    if (rc == CD_STORE_OK)
        return CD_STORE_OK;
    if (rc == CD_STORE_NOT_FOUND) {
        *out = b->cfg.default_pricing;
        return CD_STORE_OK;
    }
    return CD_STORE_ERROR;
}

struct pricing_read {
    struct cd_billing *b;
    struct cd_pricing *out;
};

static int pricing_read_job(struct cd_tx *tx, void *arg)
{
    struct pricing_read *r = arg;

    return cd_pricing_current_tx(r->b, tx, r->out);
}

int cd_pricing_current(struct cd_billing *b, struct cd_pricing *out,
                       struct cd_error *err)
{
    struct pricing_read r = {b, out};

    if (cd_store_read(b->store, pricing_read_job, &r) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    return 0;
}

int64_t cd_pricing_base_cents(const struct cd_pricing *p)
{
    if (strcmp(p->mode, "rrp") == 0)
        return p->rrp_cents;
    if (strcmp(p->mode, "sale") == 0)
        return p->sale_cents;
    return p->launch_cents;
}

int64_t cd_discount_amount(const struct cd_discount *d, int64_t base_cents)
{
    int64_t off;

    if (!d || base_cents <= 0)
        return 0;
    if (d->percent_off > 0) {
        int64_t pct = d->percent_off > 100 ? 100 : d->percent_off;
        /* base <= 10^12 in practice; guard anyway so the product cannot
         * overflow: round half up = floor((base * pct + 50) / 100). */
        if (base_cents > INT64_MAX / 100 - 1)
            off = base_cents / 100 * pct +
                  ((base_cents % 100) * pct + 50) / 100;
        else
            off = (base_cents * pct + 50) / 100;
    } else if (d->amount_off_cents > 0) {
        off = d->amount_off_cents;
    } else {
        off = 0;
    }
    return off > base_cents ? base_cents : off;
}

const char *cd_discount_problem(const struct cd_discount *d, int64_t now)
{
    if (!d)
        return "unknown_code";
    if (!d->active)
        return "inactive";
    if (d->expires_at > 0 && now >= d->expires_at)
        return "expired";
    if (d->max_uses > 0 && d->times_used >= d->max_uses)
        return "exhausted";
    return NULL;
}

int cd_discount_normalize(char *code)
{
    size_t n;

    if (!code)
        return -1;
    n = strlen(code);
    if (n == 0 || n > 32)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return -1;
        code[i] = c;
    }
    return 0;
}
