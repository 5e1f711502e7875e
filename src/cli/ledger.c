/*
 * ledger.c - `creditd admin ledger list|verify|export`:
 * GET /v1/admin/ledger, /v1/admin/ledger/verify and
 * /v1/admin/export/ledger.csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *const filters[] = {"account", "kind", "from", "to", NULL};

static int ledger_list(struct cli *c)
{
    static const char *const allowed[] = {
        "account", "kind", "from", "to", "limit", "starting-after", NULL};
    static const char *const heads[] = {
        "ID",   "ACCOUNT", ">AMOUNT",     ">BALANCE AFTER",
        "KIND", "ORDER",   "DESCRIPTION", "CREATED"};
    static const char *const k[] = {
        "id",   "account_id", "amount",      "balance_after",
        "kind", "order_id",   "description", "created_at"};
    char path[2048] = "/v1/admin/ledger", cell[8][300];
    struct cli_table t;
    struct cli_reply r;
    const json_t *e;
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
        json_array_foreach(json_object_get(r.json, "data"), i, e)
        {
            for (int j = 0; j < 8; j++)
                cd_cli_field(e, k[j], cell[j], sizeof(cell[j]));
            cd_cli_table_add(&t, (const char *const[]){
                                     cell[0], cell[1], cell[2], cell[3],
                                     cell[4], cell[5], cell[6], cell[7]});
        }
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

/* The mismatches of a failed check, one line each. */
static void print_mismatches(const json_t *v)
{
    const json_t *m;
    size_t i;

    json_array_foreach(json_object_get(v, "mismatches"), i, m)
    {
        char *s = json_dumps(m, JSON_COMPACT);

        printf("  mismatch: %s\n", s ? s : "?");
        free(s);
    }
}

static int ledger_verify(struct cli *c)
{
    static const char *const keys[] = {
        "ok",          "accounts",       "sum_balances",
        "sum_entries", "mismatch_count", NULL};
    struct cli_reply r;
    int ok, rc = cd_cli_expect(c, 0, 0, NULL);

    if (rc != CLI_OK || (rc = cd_cli_call(c, "GET", "/v1/admin/ledger/verify",
                                          NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    ok = json_is_true(json_object_get(r.json, "ok"));
    if (!c->json) {
        cd_cli_print_fields(r.json, keys, stdout);
        print_mismatches(r.json);
    }
    if (!ok)
        fprintf(stderr, "creditd admin: the ledger check found mismatches\n");
    cd_cli_reply_free(&r);
    return ok ? CLI_OK : CLI_CHECK;
}

static int ledger_export(struct cli *c)
{
    static const char *const allowed[] = {"account", "kind",   "from",
                                          "to",      "output", NULL};
    char path[2048] = "/v1/admin/export/ledger.csv";
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK ||
        (rc = cd_cli_filters_path(c, path, sizeof(path), filters)) != CLI_OK)
        return rc;
    return cd_cli_stream(c, path);
}

static const struct cli_verb verbs[] = {
    {"list", ledger_list,
     "ledger list [--account ID] [--kind K] [--from T] [--to T] [--limit N] "
     "[--starting-after ENTRY_ID]",
     "every account's ledger entries (credits), newest first"},
    {"verify", ledger_verify, "ledger verify",
     "check the ledger invariant (balances = sum of entries); exit 4 when it "
     "does not hold"},
    {"export", ledger_export,
     "ledger export [--output FILE] [--account ID] [--kind K] [--from T] "
     "[--to T]",
     "the ledger as CSV (streamed) to stdout or FILE (written to FILE.part, "
     "renamed when complete)"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_ledger = {
    "ledger", "the credits ledger: list, verify, export as CSV", verbs};
