/*
 * payments.c - `creditd admin payments list`: GET /v1/admin/payments.
 */
#include <stdio.h>

#include "cli/cli.h"

static const char *const filters[] = {"account", "status", "from", "to",
                                      NULL};

static void payment_row(struct cli_table *t, const json_t *p)
{
    static const char *const k[] = {"id", "account_id", "order_id", "status",
                                    NULL, NULL, "payment_method_last4",
                                    "created_at"};
    char cell[8][300];

    for (int i = 0; i < 8; i++)
        if (k[i])
            cli_field(p, k[i], cell[i], sizeof(cell[i]));
    cli_money_field(p, "amount_cents", cell[4], sizeof(cell[4]));
    cli_money_field(p, "amount_refunded_cents", cell[5], sizeof(cell[5]));
    cli_table_add(t, (const char *const[]){cell[0], cell[1], cell[2], cell[3],
                                           cell[4], cell[5], cell[6],
                                           cell[7]});
}

static int payments_list(struct cli *c)
{
    static const char *const allowed[] = {"account", "status", "from", "to",
                                          "limit", "starting-after", NULL};
    static const char *const heads[] = {"ID",      "ACCOUNT",   "ORDER",
                                        "STATUS",  ">AMOUNT",   ">REFUNDED",
                                        "CARD",    "CREATED"};
    char path[2048] = "/v1/admin/payments";
    struct cli_table t;
    struct cli_reply r;
    const json_t *p;
    size_t i;
    int rc = cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK ||
        (rc = cli_filters_path(c, path, sizeof(path), filters)) != CLI_OK)
        return rc;
    cli_query(path, sizeof(path), "limit", cli_opt(c, "limit"));
    if (cli_query(path, sizeof(path), "starting_after",
                  cli_opt(c, "starting-after")) != 0)
        return cli_usage_error(c, "--starting-after is too long");
    if ((rc = cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json) {
        cli_table_init(&t, 8, heads);
        json_array_foreach(json_object_get(r.json, "data"), i, p)
            payment_row(&t, p);
        cli_table_print(&t, stdout);
        cli_table_free(&t);
        cli_print_paging(r.json);
    }
    cli_reply_free(&r);
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

const struct cli_noun cli_payments = {"payments", "payments: list", verbs};
