/*
 * orders.c - `creditd admin orders list|refund|export`:
 * GET /v1/admin/orders, POST /v1/admin/orders/{id}/refund (confirmed
 * first) and GET /v1/admin/export/orders.csv.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* The filters of the admin lists and exports (API.md "Admin lists and
 * exports"), as options of the same names. */
static const char *const filters[] = {"account", "status", "kind",
                                      "from",    "to",     NULL};

static void order_row(struct cli_table *t, const json_t *o)
{
    static const char *const k[] = {"id",      "account_id", "kind",
                                    "status",  NULL,         NULL,
                                    "credits", "created_at"};
    char cell[8][300];

    for (int i = 0; i < 8; i++)
        if (k[i])
            cd_cli_field(o, k[i], cell[i], sizeof(cell[i]));
    cd_cli_money_field(o, "amount_cents", cell[4], sizeof(cell[4]));
    cd_cli_money_field(o, "discount_cents", cell[5], sizeof(cell[5]));
    cd_cli_table_add(t, (const char *const[]){cell[0], cell[1], cell[2],
                                              cell[3], cell[4], cell[5],
                                              cell[6], cell[7]});
}

static int orders_list(struct cli *c)
{
    static const char *const allowed[] = {"account",        "status", "kind",
                                          "from",           "to",     "limit",
                                          "starting-after", NULL};
    static const char *const heads[] = {"ID",       "ACCOUNT", "KIND",
                                        "STATUS",   ">AMOUNT", ">DISCOUNT",
                                        ">CREDITS", "CREATED"};
    char path[2048] = "/v1/admin/orders";
    struct cli_table t;
    struct cli_reply r;
    const json_t *o;
    size_t i;
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK ||
        (rc = cd_cli_filters_path(c, path, sizeof(path), filters)) != CLI_OK)
        return rc;
    cd_cli_query(path, sizeof(path), "limit", cd_cli_opt(c, "limit"));
    if (cd_cli_query(path, sizeof(path), "starting_after",
                     cd_cli_opt(c, "starting-after")) != 0)
        return cd_cli_usage_error(c, "--starting-after is too long");
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json) {
        cd_cli_table_init(&t, 8, heads);
        json_array_foreach(json_object_get(r.json, "data"), i, o)
            order_row(&t, o);
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static int orders_refund(struct cli *c)
{
    static const char *const allowed[] = {"amount-cents", "idempotency-key",
                                          NULL};
    char path[512], enc[300], question[400], money[48], idem[300];
    struct cli_reply r;
    json_t *body;
    int64_t amount = 0;
    int got, rc = cd_cli_expect(c, 1, 1, allowed);

    if (rc != CLI_OK)
        return rc;
    if ((got = cd_cli_opt_int(c, "amount-cents", 1, INT64_MAX, &amount)) < 0)
        return CLI_USAGE;
    if (cd_cli_escape(c->args[0], enc, sizeof(enc)) != 0)
        return cd_cli_usage_error(c, "the order id is too long");
    snprintf(question, sizeof(question),
             "Refund %s of order %.200s through "
             "Stripe?",
             got ? cd_cli_money(amount, NULL, money, sizeof(money))
                 : "everything left",
             c->args[0]);
    if ((rc = cd_cli_confirm(c, question)) != CLI_OK)
        return rc;
    snprintf(path, sizeof(path), "/v1/admin/orders/%s/refund", enc);
    body = got ? json_pack("{sI}", "amount_cents", (json_int_t)amount)
               : json_object();
    rc = cd_cli_call(c, "POST", path, body, NULL,
                     cd_cli_idempotency_key(c, idem, sizeof(idem)), &r);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    if (!c->json) {
        char id[80], re[80], st[40];

        printf(
            "refund %s of %s: %s, Stripe status %s (the credits come off "
            "the balance when Stripe confirms)\n",
            cd_cli_field(r.json, "refund_id", re, sizeof(re)),
            cd_cli_money_field(r.json, "amount_cents", money, sizeof(money)),
            cd_cli_field(r.json, "order_id", id, sizeof(id)),
            cd_cli_field(r.json, "status", st, sizeof(st)));
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static int orders_export(struct cli *c)
{
    static const char *const allowed[] = {"account", "status", "kind", "from",
                                          "to",      "output", NULL};
    char path[2048] = "/v1/admin/export/orders.csv";
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK ||
        (rc = cd_cli_filters_path(c, path, sizeof(path), filters)) != CLI_OK)
        return rc;
    return cd_cli_stream(c, path);
}

static const struct cli_verb verbs[] = {
    {"list", orders_list,
     "orders list [--account ID] [--status S] [--kind K] [--from T] [--to T] "
     "[--limit N] [--starting-after ORDER_ID]",
     "every account's orders, newest first (amounts in money)"},
    {"refund", orders_refund,
     "orders refund ORDER_ID [--amount-cents N] [--yes] [--idempotency-key K]",
     "refund all that is left, or N cents, through Stripe; asks first unless "
     "--yes (without a terminal it refuses)"},
    {"export", orders_export,
     "orders export [--output FILE] [--account ID] [--status S] [--kind K] "
     "[--from T] [--to T]",
     "the orders as CSV (streamed) to stdout or FILE"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_orders = {
    "orders", "orders: list, refund, export as CSV", verbs};
