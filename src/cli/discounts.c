/*
 * discounts.c - `creditd admin discounts create|list|deactivate`:
 * /v1/admin/discount_codes.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void discount_row(struct cli_table *t, const json_t *d)
{
    char code[64], off[48], used[48], max[32], exp[40], act[8], made[40];
    const json_t *pct = json_object_get(d, "percent_off");

    if (json_is_integer(pct))
        snprintf(off, sizeof(off), "%" JSON_INTEGER_FORMAT "%%",
                 json_integer_value(pct));
    else
        cd_cli_money_field(d, "amount_off_cents", off, sizeof(off));
    cd_cli_field(d, "times_used", used, sizeof(used));
    cd_cli_field(d, "max_uses", max, sizeof(max));
    if (strcmp(max, "-") == 0)
        snprintf(max, sizeof(max), "unlimited");
    cd_cli_table_add(
        t, (const char *const[]){
               cd_cli_field(d, "code", code, sizeof(code)), off, used, max,
               cd_cli_field(d, "expires_at", exp, sizeof(exp)),
               cd_cli_field(d, "active", act, sizeof(act)),
               cd_cli_field(d, "created_at", made, sizeof(made))});
}

static const char *const heads[] = {
    "CODE", ">OFF", ">USED", ">MAX USES", "EXPIRES", "ACTIVE", "CREATED"};

/* One code (create, deactivate) as a one-row table. */
static int print_one(struct cli *c, struct cli_reply *r)
{
    struct cli_table t;

    if (!c->json) {
        cd_cli_table_init(&t, 7, heads);
        discount_row(&t, r->json);
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
    }
    cd_cli_reply_free(r);
    return CLI_OK;
}

static int discounts_create(struct cli *c)
{
    static const char *const allowed[] = {
        "percent-off", "amount-off-cents", "max-uses",
        "expires-at",  "idempotency-key",  NULL};
    static const char *const opts[] = {"percent-off", "amount-off-cents",
                                       "max-uses"};
    static const char *const keys[] = {"percent_off", "amount_off_cents",
                                       "max_uses"};
    struct cli_reply r;
    char idem[300];
    json_t *body;
    int rc = cd_cli_expect(c, 1, 1, allowed);

    if (rc != CLI_OK)
        return rc;
    if (!cd_cli_opt(c, "percent-off") == !cd_cli_opt(c, "amount-off-cents"))
        return cd_cli_usage_error(c, "give exactly one of --percent-off and "
                                     "--amount-off-cents");
    body = json_pack("{ss}", "code", c->args[0]);
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
    if (cd_cli_opt(c, "expires-at"))
        json_object_set_new(body, "expires_at",
                            json_string(cd_cli_opt(c, "expires-at")));
    rc = cd_cli_call(c, "POST", "/v1/admin/discount_codes", body, NULL,
                     cd_cli_idempotency_key(c, idem, sizeof(idem)), &r);
    json_decref(body);
    return rc == CLI_OK ? print_one(c, &r) : rc;
}

static int discounts_list(struct cli *c)
{
    static const char *const allowed[] = {"limit", "offset", NULL};
    char path[512] = "/v1/admin/discount_codes";
    struct cli_table t;
    struct cli_reply r;
    const json_t *d;
    size_t i;
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK)
        return rc;
    cd_cli_query(path, sizeof(path), "limit", cd_cli_opt(c, "limit"));
    cd_cli_query(path, sizeof(path), "offset", cd_cli_opt(c, "offset"));
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json) {
        cd_cli_table_init(&t, 7, heads);
        json_array_foreach(json_object_get(r.json, "data"), i, d)
            discount_row(&t, d);
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static int discounts_deactivate(struct cli *c)
{
    char path[256], code[128], idem[300];
    struct cli_reply r;
    static const char *const allowed[] = {"idempotency-key", NULL};
    int rc = cd_cli_expect(c, 1, 1, allowed);

    if (rc != CLI_OK)
        return rc;
    if (cd_cli_escape(c->args[0], code, sizeof(code)) != 0)
        return cd_cli_usage_error(c, "the code is too long");
    snprintf(path, sizeof(path), "/v1/admin/discount_codes/%s/deactivate",
             code);
    rc = cd_cli_call(c, "POST", path, NULL, NULL,
                     cd_cli_idempotency_key(c, idem, sizeof(idem)), &r);
    return rc == CLI_OK ? print_one(c, &r) : rc;
}

static const struct cli_verb verbs[] = {
    {"create", discounts_create,
     "discounts create CODE (--percent-off N | --amount-off-cents N) "
     "[--max-uses N] [--expires-at RFC3339] [--idempotency-key K]",
     "create a discount code (stored upper-case)"},
    {"list", discounts_list, "discounts list [--limit N] [--offset N]",
     "the codes, newest first, with their uses"},
    {"deactivate", discounts_deactivate,
     "discounts deactivate CODE [--idempotency-key K]",
     "stop a code from being used"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_discounts = {
    "discounts", "discount codes: create, list, deactivate", verbs};
