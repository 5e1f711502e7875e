/*
 * accounts.c - `creditd admin accounts list|show|grant|debit`:
 * /v1/admin/accounts, and /v1/grants and /v1/debits with the server key
 * and Creditd-Account (each with an Idempotency-Key).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *const heads[] = {"ID", "EMAIL", ">BALANCE", "SAVED CARD",
                                    "CREATED"};

static void account_row(struct cli_table *t, const json_t *a)
{
    char id[80], email[300], bal[48], card[8], made[40];

    cd_cli_table_add(
        t,
        (const char *const[]){
            cd_cli_field(a, "id", id, sizeof(id)),
            cd_cli_field(a, "email", email, sizeof(email)),
            cd_cli_field(a, "balance", bal, sizeof(bal)),
            cd_cli_field(a, "has_saved_payment_method", card, sizeof(card)),
            cd_cli_field(a, "created_at", made, sizeof(made))});
}

static int accounts_list(struct cli *c)
{
    static const char *const allowed[] = {"email", "limit", "offset", NULL};
    char path[1024] = "/v1/admin/accounts";
    struct cli_table t;
    struct cli_reply r;
    const json_t *a;
    size_t i;
    int rc = cd_cli_expect(c, 0, 0, allowed);

    if (rc != CLI_OK)
        return rc;
    if (cd_cli_query(path, sizeof(path), "email", cd_cli_opt(c, "email")) !=
        0)
        return cd_cli_usage_error(c, "--email is too long");
    cd_cli_query(path, sizeof(path), "limit", cd_cli_opt(c, "limit"));
    cd_cli_query(path, sizeof(path), "offset", cd_cli_opt(c, "offset"));
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json) {
        cd_cli_table_init(&t, 5, heads);
        json_array_foreach(json_object_get(r.json, "data"), i, a)
            account_row(&t, a);
        cd_cli_table_print(&t, stdout);
        cd_cli_table_free(&t);
        cd_cli_print_paging(r.json);
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

/* The account id for an id or an email address (looked up). */
static int resolve(struct cli *c, const char *who, char *id, size_t idsz)
{
    char path[1024] = "/v1/admin/accounts";
    int sj = c->json;
    struct cli_reply r;
    const char *found;
    int rc;

    if (!strchr(who, '@'))
        return snprintf(id, idsz, "%s", who) < (int)idsz
                   ? CLI_OK
                   : cd_cli_usage_error(c, "the account id is too long");
    if (cd_cli_query(path, sizeof(path), "email", who) != 0)
        return cd_cli_usage_error(c, "the email address is too long");
    c->json = 0; /* the lookup is not the answer */
    rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r);
    c->json = sj;
    if (rc != CLI_OK)
        return rc;
    found = json_string_value(json_object_get(
        json_array_get(json_object_get(r.json, "data"), 0), "id"));
    if (!found || snprintf(id, idsz, "%s", found) >= (int)idsz) {
        fprintf(stderr,
                "creditd admin: no account with the email address "
                "%.256s\n",
                who);
        cd_cli_reply_free(&r);
        return CLI_API;
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

/* The account's last entries under its fields (table mode only). */
static int print_recent(struct cli *c, const char *id)
{
    static const char *const h[] = {"ENTRY", ">AMOUNT",     ">BALANCE AFTER",
                                    "KIND",  "DESCRIPTION", "CREATED"};
    static const char *const k[] = {"id",   "amount",      "balance_after",
                                    "kind", "description", "created_at"};
    char path[512] = "/v1/admin/ledger?limit=10", cell[6][300];
    struct cli_table t;
    struct cli_reply r;
    const json_t *e;
    size_t i;
    int rc;

    cd_cli_query(path, sizeof(path), "account", id);
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    printf("\nlast ledger entries:\n");
    cd_cli_table_init(&t, 6, h);
    json_array_foreach(json_object_get(r.json, "data"), i, e)
    {
        for (int j = 0; j < 6; j++)
            cd_cli_field(e, k[j], cell[j], sizeof(cell[j]));
        cd_cli_table_add(&t,
                         (const char *const[]){cell[0], cell[1], cell[2],
                                               cell[3], cell[4], cell[5]});
    }
    cd_cli_table_print(&t, stdout);
    cd_cli_table_free(&t);
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static int accounts_show(struct cli *c)
{
    static const char *const keys[] = {"id",
                                       "email",
                                       "balance",
                                       "balance_display",
                                       "stripe_customer_id",
                                       "has_saved_payment_method",
                                       "created_at",
                                       NULL};
    char id[300], enc[400], path[512];
    struct cli_reply r;
    int rc = cd_cli_expect(c, 1, 1, NULL);

    if (rc != CLI_OK ||
        (rc = resolve(c, c->args[0], id, sizeof(id))) != CLI_OK)
        return rc;
    if (cd_cli_escape(id, enc, sizeof(enc)) != 0)
        return cd_cli_usage_error(c, "the account id is too long");
    snprintf(path, sizeof(path), "/v1/admin/accounts/%s", enc);
    if ((rc = cd_cli_call(c, "GET", path, NULL, NULL, NULL, &r)) != CLI_OK)
        return rc;
    if (!c->json)
        cd_cli_print_fields(r.json, keys, stdout);
    cd_cli_reply_free(&r);
    return c->json ? CLI_OK : print_recent(c, id);
}

/* A grant's lot (--category, --expires-in-days; the server checks the
 * values): 0, or CLI_USAGE when a debit was given one. */
static int lot_options(struct cli *c, int debit, json_t *body)
{
    int64_t days = 0;
    int has = cd_cli_opt_int(c, "expires-in-days", 1, 3650, &days);

    if (has < 0)
        return CLI_USAGE;
    if (debit && (has || cd_cli_opt(c, "category")))
        return cd_cli_usage_error(c,
                                  "--category and --expires-in-days are for "
                                  "grants");
    if (has)
        json_object_set_new(body, "expires_in_days", json_integer(days));
    if (cd_cli_opt(c, "category"))
        json_object_set_new(body, "category",
                            json_string(cd_cli_opt(c, "category")));
    return 0;
}

/* grant and debit: POST path as the account, amount and --reason. */
static int move_credits(struct cli *c, const char *path, const char *done)
{
    static const char *const allowed[] = {"reason",          "allow-negative",
                                          "idempotency-key", "category",
                                          "expires-in-days", NULL};
    char id[300], idem[300];
    struct cli_reply r;
    json_t *body;
    int64_t amount;
    int rc = cd_cli_expect(c, 2, 2, allowed);

    if (rc != CLI_OK)
        return rc;
    if (!strstr(path, "debit") && cd_cli_flag(c, "allow-negative"))
        return cd_cli_usage_error(c, "--allow-negative is for debits");
    if (cd_cli_parse_int("the amount (credits)", c->args[1], 1, INT64_MAX,
                         &amount) != 0)
        return CLI_USAGE;
    if (!cd_cli_opt(c, "reason") || !*cd_cli_opt(c, "reason"))
        return cd_cli_usage_error(c, "--reason TEXT is required (it is the "
                                     "ledger entry's description)");
    if ((rc = resolve(c, c->args[0], id, sizeof(id))) != CLI_OK)
        return rc;
    body = json_pack("{sIss}", "amount", (json_int_t)amount, "description",
                     cd_cli_opt(c, "reason"));
    if (cd_cli_flag(c, "allow-negative"))
        json_object_set_new(body, "allow_negative", json_true());
    if (lot_options(c, strstr(path, "debit") != NULL, body) != 0) {
        json_decref(body);
        return CLI_USAGE;
    }
    rc = cd_cli_call(c, "POST", path, body, id,
                     cd_cli_idempotency_key(c, idem, sizeof(idem)), &r);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    if (!c->json) {
        char txn[80], bal[48];

        printf("%s %lld credits %s %s: transaction %s, balance now %s\n",
               done, (long long)amount, done[0] == 'g' ? "to" : "from", id,
               cd_cli_field(r.json, "transaction_id", txn, sizeof(txn)),
               cd_cli_field(r.json, "balance", bal, sizeof(bal)));
    }
    cd_cli_reply_free(&r);
    return CLI_OK;
}

static int accounts_grant(struct cli *c)
{
    return move_credits(c, "/v1/grants", "granted");
}

static int accounts_debit(struct cli *c)
{
    return move_credits(c, "/v1/debits", "debited");
}

static const struct cli_verb verbs[] = {
    {"list", accounts_list,
     "accounts list [--email ADDRESS] [--limit N] [--offset N]",
     "accounts with their balances (credits); --email finds one"},
    {"show", accounts_show, "accounts show ACCOUNT_ID|EMAIL",
     "one account, its balance and its last ledger entries"},
    {"grant", accounts_grant,
     "accounts grant ACCOUNT_ID|EMAIL CREDITS --reason TEXT "
     "[--category promotional|paid] [--expires-in-days N] "
     "[--idempotency-key K]",
     "give credits (POST /v1/grants; a promotional lot unless --category "
     "paid); prints the Idempotency-Key used"},
    {"debit", accounts_debit,
     "accounts debit ACCOUNT_ID|EMAIL CREDITS --reason TEXT "
     "[--allow-negative] [--idempotency-key K]",
     "take credits (POST /v1/debits); 402 insufficient_balance if short"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_noun cd_cli_accounts = {
    "accounts", "accounts: list, show, grant or debit credits", verbs};
