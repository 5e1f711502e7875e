/*
 * problems.c - `creditd admin problems list`: GET /v1/admin/problems,
 * what creditd could not settle by itself.
 */
#include "cli/cli.h"

static int problems_list(struct cli *c)
{
    static const char *const allowed[] = {"limit", "offset", NULL};
    static const char *const heads[] = {
        "ID", "KIND", "ORDER", "ACCOUNT", "EVENT", "DETAIL", "CREATED"};
    static const char *const k[] = {"id",         "kind",     "order_id",
                                    "account_id", "event_id", "detail",
                                    "created_at"};
    char path[512] = "/v1/admin/problems", cell[7][300];
    struct cli_table t;
    struct cli_reply r;
    const json_t *p;
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
        json_array_foreach(json_object_get(r.json, "data"), i, p)
        {
            for (int j = 0; j < 7; j++)
                cd_cli_field(p, k[j], cell[j], sizeof(cell[j]));
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
    {"list", problems_list, "problems list [--limit N] [--offset N]",
     "what creditd could not settle by itself (see docs/OPERATIONS.md)"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_problems = {
    "problems", "what needs the operator: list", verbs};
