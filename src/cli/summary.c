/*
 * summary.c - `creditd admin summary [--from T] [--to T]`:
 * GET /v1/admin/summary (revenue per currency and orders per status over
 * a window, default the last 30 days).
 */
#include <stdio.h>

#include "cli/cli.h"

static void print_summary(const json_t *s)
{
    static const char *const heads[] = {"CURRENCY", ">PAYMENTS", ">GROSS",
                                        ">REFUNDED", ">NET"};
    char from[64], to[64], cell[5][64];
    struct cli_table t;
    const json_t *r;
    const char *status;
    json_t *n;
    size_t i;

    printf("from %s to %s\n\n", cd_cli_field(s, "from", from, sizeof(from)),
           cd_cli_field(s, "to", to, sizeof(to)));
    cd_cli_table_init(&t, 5, heads);
    json_array_foreach(json_object_get(s, "revenue"), i, r)
    {
        cd_cli_field(r, "currency", cell[0], sizeof(cell[0]));
        cd_cli_field(r, "payments", cell[1], sizeof(cell[1]));
        cd_cli_money_field(r, "gross_cents", cell[2], sizeof(cell[2]));
        cd_cli_money_field(r, "refunded_cents", cell[3], sizeof(cell[3]));
        cd_cli_money_field(r, "net_cents", cell[4], sizeof(cell[4]));
        cd_cli_table_add(&t, (const char *const[]){cell[0], cell[1], cell[2],
                                                   cell[3], cell[4]});
    }
    cd_cli_table_print(&t, stdout);
    cd_cli_table_free(&t);
    printf("\norders by status:");
    json_object_foreach(json_object_get(s, "orders_by_status"), status, n)
        printf(" %s %lld", status, (long long)json_integer_value(n));
    printf("\n");
}

static int summary_run(struct cli *c)
{
    static const char *const filters[] = {"from", "to", NULL};
    char path[512] = "/v1/admin/summary";
    struct cli_reply r;
    int rc;

    if (c->verb)
        return cd_cli_usage_error(c, "unexpected argument '%.40s'", c->verb);
    if ((rc = cd_cli_expect(c, 0, 0, filters)) != CLI_OK ||
        (rc = cd_cli_filters_path(c, path, sizeof(path), filters)) != CLI_OK)
        return rc;
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json)
        print_summary(r.json);
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {"", summary_run, "summary [--from T] [--to T]",
     "revenue (gross, refunded, net) per currency and orders per status "
     "from T (default: 30 days before --to) to T (default: now)"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_summary = {
    "summary", "revenue and orders by status over a window", verbs};
