/*
 * discounts.c - discount codes and pricing administration; see discounts.h.
 */
#include "billing/discounts.h"

#include <string.h>

#include "billing/pricing.h"
#include "util/log.h"
#include "util/util.h"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

/* ---- create ------------------------------------------------------------ */

struct create_job {
    struct cd_discount d;
    int rc;
};

static int create_fn(struct cd_tx *tx, void *arg)
{
    struct create_job *j = arg;

    j->rc = cd_store_discount_insert(tx, &j->d);
    return j->rc == CD_STORE_OK ? 0 : 1;
}

int cd_discount_create(struct cd_billing *b, const struct cd_discount_new *in,
                       struct cd_discount *out, struct cd_error *err)
{
    struct create_job j;
    int64_t now = cd_now();
    int rc;

    memset(&j, 0, sizeof(j));
    if (!in->code)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "code",
                            "code is required");
    if (cd_strlcpy(j.d.code, in->code, sizeof(j.d.code)) != 0 ||
        cd_discount_normalize(j.d.code) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "code",
                            "code must be 1-32 characters of A-Z, 0-9, - "
                            "and _");
    if ((in->percent_off != 0) == (in->amount_off_cents != 0))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            in->percent_off ? "amount_off_cents"
                                            : "percent_off",
                            "give exactly one of percent_off and "
                            "amount_off_cents");
    if (in->percent_off != 0 &&
        (in->percent_off < 1 || in->percent_off > 100))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "percent_off", "percent_off must be 1..100");
    if (in->amount_off_cents != 0 &&
        (in->amount_off_cents < 1 || in->amount_off_cents > CD_AMOUNT_MAX))
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount",
                            "amount_off_cents",
                            "amount_off_cents must be 1..10^12");
    if (in->max_uses < 0 || in->max_uses > CD_DISCOUNT_MAX_USES)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "max_uses",
                            "max_uses must be at least 1");
    if (in->expires_at != 0 && in->expires_at <= now)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "expires_at",
                            "expires_at must be in the future");

    j.d.percent_off = in->percent_off;
    j.d.amount_off_cents = in->amount_off_cents;
    j.d.max_uses = in->max_uses;
    j.d.times_used = 0;
    j.d.expires_at = in->expires_at;
    j.d.active = 1;
    j.d.created_at = now;
    rc = cd_store_write(b->store, create_fn, &j);
    if (rc != 0) {
        if (j.rc == CD_STORE_DUPLICATE)
            return cd_error_set(err, CD_EK_CONFLICT, "code_exists", "code",
                                "discount code %s already exists", j.d.code);
        return internal(err);
    }
    if (out)
        *out = j.d;
    cd_info("billing", "discount code %s created", j.d.code);
    return 0;
}

/* ---- list -------------------------------------------------------------- */

struct list_job {
    int64_t limit, offset;
    cd_discount_cb cb;
    void *arg;
    int64_t *total;
};

static int list_fn(struct cd_tx *tx, void *arg)
{
    struct list_job *j = arg;

    return cd_store_discount_list(tx, j->limit, j->offset, j->cb, j->arg,
                                  j->total);
}

int cd_discount_list(struct cd_billing *b, int64_t limit, int64_t offset,
                     cd_discount_cb cb, void *arg, int64_t *total,
                     struct cd_error *err)
{
    struct list_job j = {limit, offset, cb, arg, total};

    if (cd_store_read(b->store, list_fn, &j) != CD_STORE_OK)
        return internal(err);
    return 0;
}

/* ---- deactivate -------------------------------------------------------- */

struct deact_job {
    char code[CD_CODE_SZ];
    struct cd_discount d;
    int rc;
};

static int deact_fn(struct cd_tx *tx, void *arg)
{
    struct deact_job *j = arg;

    j->rc = cd_store_discount_get(tx, j->code, &j->d);
    if (j->rc != CD_STORE_OK)
        return 1;
    if (j->d.active) {
        j->rc = cd_store_discount_set_active(tx, j->code, 0);
        if (j->rc != CD_STORE_OK)
            return 1;
        j->d.active = 0;
    }
    return 0;
}

int cd_discount_deactivate(struct cd_billing *b, const char *code,
                           struct cd_discount *out, struct cd_error *err)
{
    struct deact_job j;

    memset(&j, 0, sizeof(j));
    if (!code || cd_strlcpy(j.code, code, sizeof(j.code)) != 0 ||
        cd_discount_normalize(j.code) != 0)
        return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "code",
                            "no such discount code");
    if (cd_store_write(b->store, deact_fn, &j) != 0) {
        if (j.rc == CD_STORE_NOT_FOUND)
            return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "code",
                                "no such discount code");
        return internal(err);
    }
    if (out)
        *out = j.d;
    cd_info("billing", "discount code %s deactivated", j.code);
    return 0;
}

/* ---- validate ---------------------------------------------------------- */

static const struct cd_package *find_package(const struct cd_billing *b,
                                             const char *id)
{
    for (size_t i = 0; i < b->cfg.npackages; i++)
        if (strcmp(b->cfg.packages[i].id, id) == 0)
            return &b->cfg.packages[i];
    return NULL;
}

int64_t cd_discount_hold_s(const struct cd_billing *b)
{
    return (b->cfg.checkout_expires_s > 0 ? b->cfg.checkout_expires_s
                                          : CD_CHECKOUT_EXPIRES_DEFAULT) +
           CD_CHECKOUT_EXPIRY_GRACE_S;
}

int cd_discount_check_tx(struct cd_tx *tx, const struct cd_billing *b,
                         const char *code, const char *account_id,
                         int64_t now, struct cd_discount *d,
                         const char **problem)
{
    struct cd_discount row;
    int64_t held = 0;
    int rc;

    if (!d)
        d = &row;
    *problem = "unknown_code";
    if (!code || !code[0])
        return CD_STORE_OK;
    rc = cd_store_discount_get(tx, code, d);
    if (rc == CD_STORE_NOT_FOUND)
        return CD_STORE_OK;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    *problem = cd_discount_problem(d, now);
    if (*problem || d->max_uses <= 0)
        return CD_STORE_OK;
    if (cd_store_discount_pending_count(tx, code, now - cd_discount_hold_s(b),
                                        account_id, &held) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (held > 0 && d->times_used >= d->max_uses - held)
        *problem = "exhausted";
    return CD_STORE_OK;
}

struct validate_job {
    struct cd_billing *b;
    char code[CD_CODE_SZ];
    const char *account_id;
    int want_pricing;
    struct cd_pricing pricing;
    struct cd_discount d;
    const char *problem;
};

static int validate_fn(struct cd_tx *tx, void *arg)
{
    struct validate_job *j = arg;

    if (j->want_pricing &&
        cd_pricing_current_tx(j->b, tx, &j->pricing) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return cd_discount_check_tx(tx, j->b, j->code, j->account_id, cd_now(),
                                &j->d, &j->problem);
}

int cd_discount_validate(struct cd_billing *b, const char *code,
                         const char *account_id, const char *kind,
                         const char *package_id,
                         struct cd_discount_quote *out, struct cd_error *err)
{
    struct validate_job j;
    const struct cd_package *pkg = NULL;
    const char *problem;

    memset(&j, 0, sizeof(j));
    memset(out, 0, sizeof(*out));
    j.b = b;
    j.account_id = account_id;
    if (!kind || strcmp(kind, "access") == 0) {
        j.want_pricing = 1;
    } else if (strcmp(kind, "package") == 0) {
        if (!package_id)
            return cd_error_set(err, CD_EK_INVALID, "missing_param",
                                "package_id",
                                "package_id is required for kind package");
        pkg = find_package(b, package_id);
        if (!pkg)
            return cd_error_set(err, CD_EK_INVALID, "unknown_package",
                                "package_id", "no such package");
    } else if (strcmp(kind, "topup") == 0 ||
               strcmp(kind, "subscription") == 0) {
        return cd_error_set(err, CD_EK_INVALID, "discount_not_applicable",
                            "kind",
                            "discount codes apply to access and "
                            "packages only");
    } else {
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "kind",
                            "kind must be access or package");
    }
    /* A code that cannot be normalised cannot exist: unknown_code. */
    if (!code || cd_strlcpy(j.code, code, sizeof(j.code)) != 0 ||
        cd_discount_normalize(j.code) != 0)
        j.code[0] = '\0';
    if (cd_store_read(b->store, validate_fn, &j) != CD_STORE_OK)
        return internal(err);

    out->base_cents = pkg ? pkg->price_cents
                          : cd_pricing_base_cents(&j.pricing);
    problem = j.problem;
    if (problem) {
        out->valid = 0;
        out->discount_cents = 0;
        out->final_cents = out->base_cents;
        out->error = problem;
        return 0;
    }
    out->discount_cents = cd_discount_amount(&j.d, out->base_cents);
    out->final_cents = out->base_cents - out->discount_cents;
    if (out->final_cents < CD_MIN_CHARGE_CENTS) {
        /* A checkout would refuse it (pricing.h). */
        out->valid = 0;
        out->error = "amount_below_minimum";
        return 0;
    }
    out->valid = 1;
    out->error = NULL;
    return 0;
}

/* ---- pricing administration ------------------------------------------- */

struct pricing_job {
    struct cd_billing *b;
    const char *mode;
    int64_t launch, rrp, sale;
    struct cd_pricing p;
};

static int pricing_fn(struct cd_tx *tx, void *arg)
{
    struct pricing_job *j = arg;

    if (cd_pricing_current_tx(j->b, tx, &j->p) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (j->mode)
        cd_strlcpy(j->p.mode, j->mode, sizeof(j->p.mode));
    if (j->launch)
        j->p.launch_cents = j->launch;
    if (j->rrp)
        j->p.rrp_cents = j->rrp;
    if (j->sale)
        j->p.sale_cents = j->sale;
    j->p.updated_at = cd_now();
    return cd_store_pricing_put(tx, &j->p) == CD_STORE_OK ? 0
                                                          : CD_STORE_ERROR;
}

/* A price is charged as it is: at least Stripe's smallest charge (the
 * same floor start-up config applies), so every access checkout works. */
static int check_price(int64_t v, const char *param, struct cd_error *err)
{
    if (v != 0 && (v < CD_MIN_CHARGE_CENTS || v > CD_AMOUNT_MAX))
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount", param,
                            "%s must be an integer from %d to 10^12", param,
                            CD_MIN_CHARGE_CENTS);
    return 0;
}

int cd_pricing_update(struct cd_billing *b, const char *mode,
                      int64_t launch_cents, int64_t rrp_cents,
                      int64_t sale_cents, struct cd_pricing *out,
                      struct cd_error *err)
{
    struct pricing_job j;

    if (mode && strcmp(mode, "launch") != 0 && strcmp(mode, "rrp") != 0 &&
        strcmp(mode, "sale") != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "mode",
                            "mode must be launch, rrp or sale");
    if (check_price(launch_cents, "launch_cents", err) ||
        check_price(rrp_cents, "rrp_cents", err) ||
        check_price(sale_cents, "sale_cents", err))
        return -1;
    memset(&j, 0, sizeof(j));
    j.b = b;
    j.mode = mode;
    j.launch = launch_cents;
    j.rrp = rrp_cents;
    j.sale = sale_cents;
    if (cd_store_write(b->store, pricing_fn, &j) != 0)
        return internal(err);
    if (out)
        *out = j.p;
    cd_info("billing", "pricing set: mode %s launch %lld rrp %lld sale %lld",
            j.p.mode, (long long)j.p.launch_cents, (long long)j.p.rrp_cents,
            (long long)j.p.sale_cents);
    return 0;
}
