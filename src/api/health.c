/*
 * health.c - GET /healthz (the process runs), GET /readyz (the database
 * answers) and GET /v1/config (what the UI needs to show prices and the
 * brand; never a secret).
 */
#include "api/core.h"
#include "billing/pricing.h"

void cd_api_healthz(struct cd_req *req)
{
    cd_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void cd_api_readyz(struct cd_req *req)
{
    struct cd_app *app = cd_api_app(req);

    if (cd_store_ping(app->billing->store) == 0) {
        cd_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
        return;
    }
    cd_reply_errorf(req, CD_EK_UNAVAILABLE, "not_ready", NULL,
                    "the database does not answer");
    cd_reply_header(req, "Retry-After", "1");
}

json_t *cd_api_pricing_json(const struct cd_pricing *p)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I}", "mode", p->mode,
                     "base_cents", (json_int_t)cd_pricing_base_cents(p),
                     "launch_cents", (json_int_t)p->launch_cents, "rrp_cents",
                     (json_int_t)p->rrp_cents, "sale_cents",
                     (json_int_t)p->sale_cents);
}

/* The "brand" object of GET /v1/config; unset values are null. */
static json_t *brand_json(const struct cd_brand *br)
{
    return json_pack("{s:s, s:o, s:o, s:o}", "name",
                     br->name[0] ? br->name : "creditd", "logo_url",
                     cd_api_str_or_null(br->logo_url), "support_email",
                     cd_api_str_or_null(br->support_email), "color",
                     cd_api_str_or_null(br->color));
}

void cd_api_config(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const struct cd_billing_config *c = &b->cfg;
    struct cd_pricing p;
    struct cd_error err;
    json_t *packages, *plans;

    if (cd_pricing_current(b, &p, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    packages = json_array();
    for (size_t i = 0; i < c->npackages; i++)
        json_array_append_new(
            packages,
            json_pack("{s:s, s:s, s:I, s:I, s:o}", "id", c->packages[i].id,
                      "name", c->packages[i].name, "price_cents",
                      (json_int_t)c->packages[i].price_cents, "credits",
                      (json_int_t)c->packages[i].credits, "expires_in_days",
                      c->packages[i].expires_in_days
                          ? json_integer(c->packages[i].expires_in_days)
                          : json_null()));
    plans = json_array();
    for (size_t i = 0; i < c->nplans; i++)
        json_array_append_new(
            plans,
            json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "id",
                      c->plans[i].id, "name", c->plans[i].name, "price_cents",
                      (json_int_t)c->plans[i].price_cents, "interval",
                      c->plans[i].interval, "credits_per_period",
                      (json_int_t)c->plans[i].credits_per_period,
                      "credits_expire",
                      c->plans[i].credits_expire_period_end ? "period_end"
                                                            : "never",
                      "rollover_cap", (json_int_t)c->plans[i].rollover_cap));
    cd_reply_json(
        req, 200,
        json_pack("{s:o, s:s, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}, "
                  "s:{s:s, s:s}, s:o}",
                  "publishable_key", cd_api_str_or_null(c->publishable_key),
                  "currency", c->currency, "price", cd_api_pricing_json(&p),
                  "packages", packages, "plans", plans, "topup", "min_cents",
                  (json_int_t)c->topup_min_cents, "max_cents",
                  (json_int_t)c->topup_max_cents, "step_cents",
                  (json_int_t)c->topup_step_cents, "default_cents",
                  (json_int_t)c->topup_default_cents, "credit_unit", "name",
                  c->credit_name[0] ? c->credit_name : "credits", "display",
                  c->credit_display[0] ? c->credit_display : "count", "brand",
                  brand_json(&c->brand)));
}
