/*
 * pricing.c - `creditd admin pricing get|set`: GET and PUT
 * /v1/admin/pricing (the launch / RRP / sale switch and its prices).
 */
#include <string.h>

#include "cli/cli.h"

static const char *const price_keys[] = {"mode", "launch_cents", "rrp_cents",
                                         "sale_cents", NULL};

static int print_pricing(struct cli *c, struct cli_reply *r)
{
    if (!c->json)
        cd_cli_print_fields(r->json, price_keys, stdout);
    cd_cli_reply_free(r);
    return CLI_OK;
}

static int pricing_get(struct cli *c)
{
    struct cli_reply r;
    int rc = cd_cli_expect(c, 0, 0, NULL);

    if (rc == CLI_OK)
        rc = cd_cli_call(c, "GET", "/v1/admin/pricing", NULL, NULL, NULL, &r);
    return rc == CLI_OK ? print_pricing(c, &r) : rc;
}

static int pricing_set(struct cli *c)
{
    static const char *const allowed[] = {"mode", "launch-cents", "rrp-cents",
                                          "sale-cents", NULL};
    static const char *const opts[] = {"launch-cents", "rrp-cents",
                                       "sale-cents"};
    static const char *const keys[] = {"launch_cents", "rrp_cents",
                                       "sale_cents"};
    struct cli_reply r;
    json_t *body;
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK)
        return rc;
    if (c->nopts == 0)
        return cd_cli_usage_error(
            c, "nothing to set: give --mode and/or a price");
    body = json_object();
    if (cd_cli_opt(c, "mode"))
        json_object_set_new(body, "mode", json_string(cd_cli_opt(c, "mode")));
    for (int i = 0; i < 3; i++) {
        int64_t v;
        int got = cd_cli_opt_int(c, opts[i], 1, INT64_MAX, &v);

        if (got < 0) {
            json_decref(body);
            return CLI_USAGE;
        }
        if (got)
            json_object_set_new(body, keys[i], json_integer(v));
    }
    rc = cd_cli_call(c, "PUT", "/v1/admin/pricing", body, NULL, NULL, &r);
    json_decref(body);
    return rc == CLI_OK ? print_pricing(c, &r) : rc;
}

static const struct cli_verb verbs[] = {
    {"get", pricing_get, "pricing get",
     "the pricing mode and the launch, RRP and sale prices"},
    {"set", pricing_set,
     "pricing set [--mode launch|rrp|sale] [--launch-cents N] "
     "[--rrp-cents N] [--sale-cents N]",
     "switch the mode and/or change prices (in cents); effective at once"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_pricing = {
    "pricing", "the product's price: launch, RRP or sale", verbs};
