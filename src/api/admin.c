/*
 * admin.c - the operator's endpoints (server key): pricing, discount
 * codes, accounts with balances (?email= finds one), and the ledger
 * invariant check. The lists of orders and ledger entries are in
 * admin_lists.c, the CSV exports in export.c.
 */
#include <string.h>

#include "api/core.h"
#include "billing/accounts.h"
#include "billing/discounts.h"
#include "billing/ledger_ops.h"
#include "billing/pricing.h"
#include "util/util.h"

#define CD_VERIFY_MISMATCH_MAX 100

static const char *currency(struct cd_app *app)
{
    return app->billing->cfg.currency[0] ? app->billing->cfg.currency : "usd";
}

/* ---- pricing ----------------------------------------------------------- */

/* Exactly API.md's shape: {"mode","launch_cents","rrp_cents","sale_cents"}. */
static void reply_pricing(struct cd_req *req, const struct cd_pricing *p)
{
    cd_reply_json(req, 200,
                  json_pack("{s:s, s:I, s:I, s:I}", "mode", p->mode,
                            "launch_cents", (json_int_t)p->launch_cents,
                            "rrp_cents", (json_int_t)p->rrp_cents,
                            "sale_cents", (json_int_t)p->sale_cents));
}

void cd_api_admin_pricing_get(struct cd_req *req)
{
    struct cd_pricing p;
    struct cd_error err;

    if (cd_pricing_current(cd_api_app(req)->billing, &p, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    reply_pricing(req, &p);
}

/* An optional price field: absent/null -> 0 (keep), else 1..10^12. */
static int opt_price(struct cd_req *req, json_t *body, const char *key,
                     int64_t *out)
{
    json_t *v = json_object_get(body, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    return cd_api_amount(req, body, key, out);
}

void cd_api_admin_pricing_put(struct cd_req *req)
{
    struct cd_pricing p;
    struct cd_error err;
    const char *mode;
    int64_t launch, rrp, sale;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    if (cd_api_string(req, body, "mode", 16, &mode) != 0 ||
        opt_price(req, body, "launch_cents", &launch) != 0 ||
        opt_price(req, body, "rrp_cents", &rrp) != 0 ||
        opt_price(req, body, "sale_cents", &sale) != 0)
        goto out;
    if (cd_pricing_update(cd_api_app(req)->billing, mode, launch, rrp, sale,
                          &p, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    reply_pricing(req, &p);
out:
    json_decref(body);
}

/* ---- discount codes ---------------------------------------------------- */

json_t *cd_api_discount_json(const struct cd_discount *d)
{
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:I, s:o, s:b, s:o}", "code", d->code,
        "percent_off",
        d->percent_off ? json_integer(d->percent_off) : json_null(),
        "amount_off_cents",
        d->amount_off_cents ? json_integer(d->amount_off_cents) : json_null(),
        "max_uses", d->max_uses ? json_integer(d->max_uses) : json_null(),
        "times_used", (json_int_t)d->times_used, "expires_at",
        cd_api_time(d->expires_at), "active", d->active ? 1 : 0, "created_at",
        cd_api_time(d->created_at));
}

/* An optional integer field: absent/null -> 0; else an integer in
 * [min, max] or 400 invalid_param. */
static int opt_int(struct cd_req *req, json_t *body, const char *key,
                   int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(body, key);

    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be an integer from %lld to %lld", key,
                        (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

void cd_api_admin_discount_create(struct cd_req *req)
{
    struct cd_discount_new in;
    struct cd_discount d;
    struct cd_error err;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    memset(&in, 0, sizeof(in));
    if (cd_api_string_req(req, body, "code", 64, &in.code) != 0 ||
        opt_int(req, body, "percent_off", 1, 100, &in.percent_off) != 0 ||
        cd_api_time_field(req, body, "expires_at", &in.expires_at) != 0 ||
        opt_int(req, body, "max_uses", 1, CD_DISCOUNT_MAX_USES,
                &in.max_uses) != 0)
        goto out;
    if (json_object_get(body, "amount_off_cents") &&
        !json_is_null(json_object_get(body, "amount_off_cents")) &&
        cd_api_amount(req, body, "amount_off_cents", &in.amount_off_cents) !=
            0)
        goto out;
    if (cd_discount_create(cd_api_app(req)->billing, &in, &d, &err) != 0) {
        cd_reply_error(req, &err);
        goto out;
    }
    cd_reply_json(req, 201, cd_api_discount_json(&d));
out:
    json_decref(body);
}

static int discount_cb(const struct cd_discount *d, void *arg)
{
    json_array_append_new(arg, cd_api_discount_json(d));
    return 0;
}

void cd_api_admin_discount_list(struct cd_req *req)
{
    int64_t limit, offset, total = 0;
    struct cd_error err;
    json_t *data;

    if (cd_api_paging(req, 20, &limit, &offset) != 0)
        return;
    data = json_array();
    if (cd_discount_list(cd_api_app(req)->billing, limit, offset, discount_cb,
                         data, &total, &err) != 0) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_list(data, total, limit, offset));
}

void cd_api_admin_discount_deactivate(struct cd_req *req)
{
    struct cd_discount d;
    struct cd_error err;

    if (cd_discount_deactivate(cd_api_app(req)->billing, req->params[0], &d,
                               &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_discount_json(&d));
}

/* ---- accounts ---------------------------------------------------------- */

static json_t *account_with_balance(const struct cd_account *a,
                                    const char *cur)
{
    json_t *j = cd_api_account_json(a);
    char disp[64];

    json_object_set_new(j, "balance", json_integer(a->balance));
    json_object_set_new(
        j, "balance_display",
        json_string(cd_money_display(a->balance, cur, disp, sizeof(disp))));
    return j;
}

struct acct_list {
    json_t *data;
    const char *cur;
};

static int account_cb(const struct cd_account *a, void *arg)
{
    struct acct_list *l = arg;

    json_array_append_new(l->data, account_with_balance(a, l->cur));
    return 0;
}

/* ?email=: the one account with that address (any case), or none. */
static void accounts_by_email(struct cd_req *req, const char *email,
                              int64_t limit, int64_t offset)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_account a;
    struct cd_error err;
    json_t *data = json_array();
    int64_t total = 0;

    if (cd_account_by_email(app->billing, email, &a, &err) == 0) {
        total = 1;
        if (offset == 0)
            json_array_append_new(data,
                                  account_with_balance(&a, currency(app)));
    } else if (err.kind != CD_EK_NOT_FOUND) {
        json_decref(data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_list(data, total, limit, offset));
}

void cd_api_admin_accounts(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    struct acct_list l = {NULL, currency(app)};
    int64_t limit, offset, total = 0;
    struct cd_error err;
    const char *email = cd_req_query(req, "email");

    if (cd_api_paging(req, 20, &limit, &offset) != 0)
        return;
    if (email && strlen(email) >= CD_EMAIL_SZ) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "email",
                        "email is longer than %d bytes", CD_EMAIL_SZ - 1);
        return;
    }
    if (email) {
        accounts_by_email(req, email, limit, offset);
        return;
    }
    l.data = json_array();
    if (cd_account_list(app->billing, limit, offset, account_cb, &l, &total,
                        &err) != 0) {
        json_decref(l.data);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_list(l.data, total, limit, offset));
}

void cd_api_admin_account(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);
    struct cd_account a;
    struct cd_error err;

    if (cd_account_get(app->billing, req->params[0], &a, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, account_with_balance(&a, currency(app)));
}

/* ---- ledger ------------------------------------------------------------ */

static int mismatch_cb(const char *account_id, int64_t balance,
                       int64_t sum_entries, void *arg)
{
    json_t *list = arg;

    if (json_array_size(list) < CD_VERIFY_MISMATCH_MAX)
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I}", "account_id", account_id,
                            "balance", (json_int_t)balance, "sum_entries",
                            (json_int_t)sum_entries));
    return 0;
}

static int lot_mismatch_cb(const char *account_id, int64_t balance,
                           int64_t lots_less_debt, void *arg)
{
    json_t *list = arg;

    if (json_array_size(list) < CD_VERIFY_MISMATCH_MAX)
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I}", "account_id", account_id,
                            "balance", (json_int_t)balance, "lots_less_debt",
                            (json_int_t)lots_less_debt));
    return 0;
}

void cd_api_admin_ledger_verify(struct cd_req *req)
{
    struct cd_ledger_check c;
    struct cd_error err;
    json_t *mism = json_array(), *lots = json_array();

    if (cd_ledger_verify_lots(cd_api_app(req)->billing, &c, mismatch_cb, mism,
                              lot_mismatch_cb, lots, &err) != 0) {
        json_decref(mism);
        json_decref(lots);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(
        req, 200,
        json_pack("{s:b, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o}", "ok",
                  c.mismatches == 0 && c.lot_mismatches == 0 &&
                      c.sum_balances == c.sum_entries,
                  "accounts", (json_int_t)c.accounts, "sum_balances",
                  (json_int_t)c.sum_balances, "sum_entries",
                  (json_int_t)c.sum_entries, "mismatch_count",
                  (json_int_t)c.mismatches, "mismatches", mism,
                  /* holds: accounts whose held is off */
                  "held_mismatch_count", (json_int_t)c.held_mismatches,
                  "lot_mismatch_count", (json_int_t)c.lot_mismatches,
                  "lot_mismatches", lots));
}
