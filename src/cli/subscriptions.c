/*
 * subscriptions.c - `creditd admin subscriptions list`:
 * GET /v1/admin/subscriptions.
 */
#include <stdio.h>

#include "cli/cli.h"

static const char *const filters[] = {"account", "status", "from", "to",
                                      NULL};

static int subscriptions_list(struct cli *c)
{
    static const char *const allowed[] = {
        "account", "status", "from", "to", "limit", "starting-after", NULL};
    static const char *const heads[] = {
        "SUBSCRIPTION", "ACCOUNT",       "PLAN",   "STATUS",
        "PERIOD END",   "CANCEL AT END", "CREATED"};
    static const char *const k[] = {"stripe_subscription_id",
                                    "account_id",
                                    "plan_id",
                                    "status",
                                    "current_period_end",
                                    "cancel_at_period_end",
                                    "created_at"};
    char path[2048] = "/v1/admin/subscriptions", cell[7][300];
    struct cli_table t;
    struct cli_reply r;
    const json_t *s;
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
        cd_cli_table_init(&t, 7, heads);
        json_array_foreach(json_object_get(r.json, "data"), i, s)
        {
            for (int j = 0; j < 7; j++)
                cd_cli_field(s, k[j], cell[j], sizeof(cell[j]));
            cd_cli_table_add(
                &t, (const char *const[]){cell[0], cell[1], cell[2], cell[3],
                                          cell[4], cell[5], cell[6]});
        }
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {"list", subscriptions_list,
     "subscriptions list [--account ID] [--status S] [--from T] [--to T] "
     "[--limit N] [--starting-after SUB_ID]",
     "every account's subscriptions as last synced from Stripe, newest "
     "first; S: Stripe's (active, past_due, canceled, ...)"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_subscriptions = {"subscriptions",
                                              "subscriptions: list", verbs};
