/*
 * payments.c - `creditd admin payments list`: GET /v1/admin/payments.
 */
#include <stdio.h>

#include "cli/cli.h"

static const char *const filters[] = {"account", "status", "from", "to",
                                      NULL};

static void payment_row(struct cli_table *t, const json_t *p)
{
    static const char *const k[] = {
        "id", "account_id",           "order_id",  "status", NULL,
        NULL, "payment_method_last4", "created_at"};
    char cell[8][300];

    for (int i = 0; i < 8; i++)
        if (k[i])
            cd_cli_field(p, k[i], cell[i], sizeof(cell[i]));
    cd_cli_money_field(p, "amount_cents", cell[4], sizeof(cell[4]));
    cd_cli_money_field(p, "amount_refunded_cents", cell[5], sizeof(cell[5]));
    cd_cli_table_add(t, (const char *const[]){cell[0], cell[1], cell[2],
                                              cell[3], cell[4], cell[5],
                                              cell[6], cell[7]});
}

static int payments_list(struct cli *c)
{
    static const char *const allowed[] = {
        "account", "status", "from", "to", "limit", "starting-after", NULL};
    static const char *const heads[] = {"ID",     "ACCOUNT", "ORDER",
                                        "STATUS", ">AMOUNT", ">REFUNDED",
                                        "CARD",   "CREATED"};
    char path[2048] = "/v1/admin/payments";
    struct cli_table t;
    struct cli_reply r;
    const json_t *p;
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
        json_array_foreach(json_object_get(r.json, "data"), i, p)
            payment_row(&t, p);
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {"list", payments_list,
     "payments list [--account ID] [--status S] [--from T] [--to T] "
     "[--limit N] [--starting-after PAYMENT_ID]",
     "every account's payments, newest first (amounts in money); S: "
     "succeeded, pending, failed, refunded, partially_refunded, disputed"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_payments = {"payments", "payments: list", verbs};
