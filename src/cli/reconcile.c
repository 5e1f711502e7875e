/*
 * reconcile.c - `creditd admin reconcile`: POST /v1/admin/reconcile
 * (catch up with Stripe's events now).
 */
#include "cli/cli.h"

static int reconcile_run(struct cli *c)
{
    static const char *const keys[] = {"events_seen", "events_applied",
                                       "orders_checked", "orders_fixed",
                                       NULL};
    static const char *const allowed[] = {"idempotency-key", NULL};
    struct cli_reply r;
    char idem[300];
    int rc;

    if (c->verb)
        return cd_cli_usage_error(c, "unexpected argument '%.40s'", c->verb);
    if ((rc = cd_cli_expect(c, 0, 0, allowed)) != CLI_OK)
        return rc;
    rc = cd_cli_call(
        c, "POST", "/v1/admin/reconcile", NULL, NULL,
        c->idem ? cd_cli_idempotency_key(c, idem, sizeof(idem)) : NULL, &r);
    if (rc != CLI_OK)
        return rc;
    if (!c->json)
        cd_cli_print_fields(r.json, keys, stdout);
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {"", reconcile_run, "reconcile [--idempotency-key K]",
     "run reconciliation with Stripe now and print what it did"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_reconcile = {
    "reconcile", "catch up with Stripe's events and orders now", verbs};
