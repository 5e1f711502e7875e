/*
 * main.c - the creditd command line:
 *
 *   creditd serve     the server (API, webhook receiver, web UI, background
 *                     jobs: reconciliation, purges, ledger check)
 *   creditd demo      SQLite + server + the Stripe sandbox wired together
 *   creditd sandbox   the Stripe sandbox alone
 *   creditd migrate   apply schema migrations and exit
 *   creditd config check  the settings, and no unknown CREDITD_* name
 *   creditd admin     the operator's commands against a running server
 *                     (src/cli/, an HTTP client; no settings are loaded)
 *   creditd version | help
 *
 * Settings come from config.c's table (environment, flags win), read once
 * at start. main() and the small commands (migrate, backup, stripe check)
 * are here; serve, its signals and the server's start and stop in
 * serve.c, demo and sandbox in demo.c (shared through main_int.h).
 */
#include "main_int.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "billing/accounts.h"
#include "billing/stripe_check.h"
#include "cli/cli.h"
#include "config.h"
#include "store/backup.h"
#include "store/migrations.h"
#include "store/store.h"
#include "stripe/client.h"
#include "util/log.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: creditd <command> [--SETTING=value ...]\n"
        "\n"
        "commands:\n"
        "  serve     run the server (API, webhooks, web UI)\n"
        "  demo      run SQLite + server + the Stripe sandbox together\n"
        "  sandbox   run the Stripe sandbox alone\n"
        "  migrate   apply database migrations and exit\n"
        "  backup <file>  copy CREDITD_DB into a new file (0600), a\n"
        "            consistent snapshot even while a server writes\n"
        "  stripe check  verify STRIPE_SECRET_KEY and the webhook endpoint's\n"
        "            enabled events against STRIPE_API_BASE (exit 0 ok,\n"
        "            1 a check failed, 2 Stripe could not be asked)\n"
        "  config check  check the settings: exit 0 ok, 1 a CREDITD_*\n"
        "            variable that is no setting (a typo?), 2 a bad value\n"
        "  admin     operator commands against a running server\n"
        "            (creditd admin --help)\n"
        "  version   print the version\n"
        "\n");
}

/* An unknown CREDITD_* name (cd_config_unknown_names): a warning in the
 * log, or (cls non-NULL: creditd config check) a line on stderr. Never
 * the value. */
static void unknown_name(void *cls, const char *name, const char *nearest)
{
    char hint[128];

    if (nearest)
        snprintf(hint, sizeof(hint), "did you mean %s?", nearest);
    else
        snprintf(hint, sizeof(hint), "creditd --help lists the settings");
    if (cls)
        fprintf(stderr, "creditd: %s is not a setting creditd knows (%s)\n",
                name, hint);
    else
        cd_warn("config", "%s is not a setting creditd knows: ignored (%s)",
                name, hint);
}

/* creditd config check: the settings loaded (a bad value is exit 2
 * before this), then every CREDITD_* name known. */
static int cmd_config(int argc, char **argv)
{
    int unknown;

    if (argc < 3 || strcmp(argv[2], "check") != 0) {
        fprintf(stderr, "usage: creditd config check\n");
        return 2;
    }
    unknown = cd_config_unknown_names(unknown_name, stderr);
    if (unknown) {
        fprintf(stderr, "creditd: %d unknown CREDITD_* variable(s)\n",
                unknown);
        return 1;
    }
    printf("configuration ok\n");
    return 0;
}

static int cmd_migrate(const struct cd_config *c)
{
    struct cd_store_config sc = {.path = c->db};
    struct cd_error err;
    struct cd_store *st;
    char shown[sizeof(c->db)];

    memset(&err, 0, sizeof(err));
    cd_store_target_display(c->db, shown, sizeof(shown));
    if (cd_server_backup_before_migrate(c) != 0)
        return 1;
    st = cd_store_open(&sc, &err);
    if (!st) {
        fprintf(stderr, "creditd: CREDITD_DB %s: %s\n", shown, err.message);
        return 1;
    }
    printf("%s: schema version %d\n", shown, cd_store_schema_version(st));
    cd_store_close(st);
    return 0;
}

/* creditd stripe check: the key and the webhook endpoint of
 * CREDITD_BASE_URL/v1/webhooks/stripe, against STRIPE_API_BASE. */
static int cmd_stripe(const struct cd_config *c, int argc, char **argv)
{
    struct cd_stripe_config stc = {.api_base = c->stripe_api_base,
                                   .secret_key = c->stripe_secret_key};
    struct cd_stripe_client *sc;
    char url[600];
    int rc;

    if (argc < 3 || strcmp(argv[2], "check") != 0) {
        fprintf(stderr, "usage: creditd stripe check\n");
        return 2;
    }
    if (!c->stripe_secret_key[0]) {
        fprintf(stderr, "creditd stripe check: STRIPE_SECRET_KEY is not "
                        "set\n");
        return 2;
    }
    sc = cd_stripe_client_new(&stc);
    if (!sc) {
        fprintf(stderr, "creditd: cannot create the Stripe client\n");
        return 1;
    }
    snprintf(url, sizeof(url), "%s/v1/webhooks/stripe", c->billing.base_url);
    printf("Stripe API %s\n", c->stripe_api_base);
    rc = cd_stripe_check(sc, url, stdout);
    cd_stripe_client_free(sc);
    return rc;
}

/* creditd backup <file>: the one positional argument after "backup". */
static int cmd_backup(const struct cd_config *c, int argc, char **argv)
{
    const char *dest = NULL;
    char msg[600];

    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0)
            continue;
        if (dest) {
            fprintf(stderr, "usage: creditd backup <file>\n");
            return 2;
        }
        dest = argv[i];
    }
    if (!dest) {
        fprintf(stderr, "usage: creditd backup <file>\n");
        return 2;
    }
    if (cd_store_is_postgres(c->db)) {
        fprintf(stderr, "creditd backup copies SQLite files only; back a "
                        "PostgreSQL database up with pg_dump (see "
                        "docs/OPERATIONS.md)\n");
        return 2;
    }
    if (cd_store_backup(c->db, dest, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "creditd backup: %s\n", msg);
        return 1;
    }
    printf("%s: backup of %s written\n", dest, c->db);
    return 0;
}

int main(int argc, char **argv)
{
    struct cd_config cfg;
    char msg[600];
    const char *cmd = argc > 1 ? argv[1] : "help";
    int rc;

    if (strcmp(cmd, "help") == 0 && argc > 2 &&
        strcmp(argv[2], "--man") == 0) {
        cd_config_print_man(CREDITD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(stdout);
        cd_config_print_help();
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("creditd %s (database schema version %d)\n", CREDITD_VERSION,
               cd_migrations[cd_migrations_count - 1].version);
        return 0;
    }
    if (strcmp(cmd, "admin") == 0) {
        /* An HTTP client: its own options, none of the server's settings. */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = cd_cli_admin_main(argc - 2, argv + 2);
        curl_global_cleanup();
        return rc;
    }
    if (cd_config_load(&cfg, argc - 1, argv + 1, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "creditd: bad configuration: %s\n", msg);
        if (strcmp(cmd, "backup") == 0 && strstr(msg, "PostgreSQL"))
            fprintf(stderr, "creditd backup copies SQLite files only; back "
                            "a PostgreSQL database up with pg_dump (see "
                            "docs/OPERATIONS.md)\n");
        return 2;
    }
    cd_log_threshold = cfg.log_level;
    cd_log_json = cfg.log_json;
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc, argv);
    cd_config_unknown_names(unknown_name, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cd_accounts_init() != 0) {
        fprintf(stderr, "creditd: libsodium failed to initialise\n");
        return 1;
    }
    if (strcmp(cmd, "serve") == 0)
        rc = cd_cmd_serve(&cfg);
    else if (strcmp(cmd, "demo") == 0)
        rc = cd_cmd_demo(&cfg);
    else if (strcmp(cmd, "sandbox") == 0)
        rc = cd_cmd_sandbox(&cfg);
    else if (strcmp(cmd, "migrate") == 0)
        rc = cmd_migrate(&cfg);
    else if (strcmp(cmd, "backup") == 0)
        rc = cmd_backup(&cfg, argc, argv);
    else if (strcmp(cmd, "stripe") == 0)
        rc = cmd_stripe(&cfg, argc, argv);
    else {
        fprintf(stderr, "creditd: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
