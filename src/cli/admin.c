/*
 * admin.c - `creditd admin`: options, the server URL and key, help on
 * every level, and dispatch to the nouns (see cli.h); a verb's arguments
 * are checked by args.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"

#define CLI_DEFAULT_URL "http://127.0.0.1:8080" /* CREDITD_LISTEN's default */

static const struct cli_noun *const nouns[] = {
    &cd_cli_pricing,
    &cd_cli_discounts,
    &cd_cli_accounts,
    &cd_cli_orders,
    &cd_cli_payments,
    &cd_cli_subscriptions,
    &cd_cli_ledger,
    &cd_cli_problems,
    &cd_cli_reconcile,
    &cd_cli_summary,
    NULL,
};

/* Options every verb takes; flags have no value. */
static const char *const global_flags[] = {"json", "yes", "help", NULL};
static const char *const global_values[] = {"url", "key-file", "output",
                                            "idempotency-key", NULL};
/* Verb flags (no value); every other verb option takes one. */
static const char *const verb_flags[] = {"allow-negative", NULL};

static void main_help(FILE *f)
{
    fprintf(f, "usage: creditd admin <noun> <verb> [options]\n"
               "\n"
               "Operator commands against a running creditd server (HTTP).\n"
               "\n"
               "nouns:\n");
    for (int i = 0; nouns[i]; i++)
        fprintf(f, "  %-13s %s\n", nouns[i]->name, nouns[i]->help);
    fprintf(
        f,
        "\n"
        "options (any level):\n"
        "  --url URL            the server (CREDITD_URL; default %s)\n"
        "  --key-file FILE      read the server key from FILE (else\n"
        "                       CREDITD_ADMIN_KEY; never on the command line)\n"
        "  --json               print the server's JSON instead of a table\n"
        "  --help               help for this level\n"
        "\n"
        "exit codes: 0 ok, 1 the API refused (4xx; its error code is printed),\n"
        "2 usage or not confirmed, 3 server unreachable or 5xx, 4 a check\n"
        "found a problem (ledger verify).\n"
        "\n"
        "`creditd admin <noun> --help` lists a noun's verbs.\n",
        CLI_DEFAULT_URL);
}

static void noun_help(const struct cli_noun *n, FILE *f)
{
    fprintf(f, "usage: creditd admin %s <verb> [options]\n\n%s\n\nverbs:\n",
            n->name, n->help);
    for (const struct cli_verb *v = n->verbs; v->name; v++)
        fprintf(f, "  creditd admin %s\n      %s\n", v->usage, v->help);
    fprintf(f,
            "\n`creditd admin --help` lists the options every verb takes.\n");
}

static void verb_help(const struct cli_verb *v, FILE *f)
{
    fprintf(f,
            "usage: creditd admin %s\n\n%s\n\n"
            "`creditd admin --help` lists the options every verb takes.\n",
            v->usage, v->help);
}

/* Splits argv into global options, verb options and positionals. */
static int parse_args(struct cli *c, int argc, char **argv, int *help)
{
    const char *pos[CLI_MAX_ARGS + 2];
    int npos = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        char name[64];

        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (npos >= CLI_MAX_ARGS + 2)
                return cd_cli_usage_error(NULL, "too many arguments");
            pos[npos++] = a;
            continue;
        }
        eq = strchr(a + 2, '=');
        if (cd_strlcpy(name, a + 2, sizeof(name)) != 0)
            return cd_cli_usage_error(NULL, "unknown option %.40s", a);
        if (eq) {
            name[eq - (a + 2)] = '\0';
            val = eq + 1;
        }
        if (strcmp(name, "key") == 0 || strcmp(name, "admin-key") == 0)
            return cd_cli_usage_error(NULL,
                                      "the server key is never a command-"
                                      "line argument (others can read it "
                                      "in ps): set CREDITD_ADMIN_KEY or "
                                      "use --key-file FILE");
        if (cd_cli_in_list(global_flags, name) ||
            cd_cli_in_list(verb_flags, name)) {
            if (val)
                return cd_cli_usage_error(NULL, "--%s takes no value", name);
            if (strcmp(name, "json") == 0)
                c->json = 1;
            else if (strcmp(name, "yes") == 0)
                c->yes = 1;
            else if (strcmp(name, "help") == 0)
                *help = 1;
        }
        if (!cd_cli_in_list(global_flags, name) &&
            !cd_cli_in_list(verb_flags, name) && !val) {
            if (i + 1 >= argc)
                return cd_cli_usage_error(NULL, "--%s needs a value", name);
            val = argv[++i];
        }
        if (strcmp(name, "url") == 0)
            cd_strlcpy(c->url, val, sizeof(c->url));
        else if (strcmp(name, "key-file") == 0)
            c->key_file = val;
        else if (strcmp(name, "output") == 0)
            c->output = val;
        else if (strcmp(name, "idempotency-key") == 0)
            c->idem = val;
        if (cd_cli_in_list(global_flags, name) ||
            cd_cli_in_list(global_values, name))
            continue;
        if (c->nopts >= CLI_MAX_OPTS)
            return cd_cli_usage_error(NULL, "too many options");
        if (cd_strlcpy(c->opts[c->nopts].name, name,
                       sizeof(c->opts[c->nopts].name)) != 0)
            return cd_cli_usage_error(NULL, "unknown option --%.40s", name);
        c->opts[c->nopts++].value = val;
    }
    c->noun = npos > 0 ? pos[0] : NULL;
    c->verb = npos > 1 ? pos[1] : NULL;
    for (int i = 2; i < npos; i++)
        c->args[c->nargs++] = pos[i];
    return CLI_OK;
}

/* The key from --key-file (first line, surrounding blanks cut) or
 * CREDITD_ADMIN_KEY. */
static int load_key(struct cli *c)
{
    const char *env = getenv("CREDITD_ADMIN_KEY");
    struct stat st;
    size_t n;

    if (c->key_file) {
        FILE *f = fopen(c->key_file, "r");

        if (!f) {
            fprintf(stderr, "creditd admin: --key-file %s: %s\n", c->key_file,
                    strerror(errno));
            return CLI_USAGE;
        }
        if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
            fprintf(stderr,
                    "creditd admin: warning: --key-file %s can be "
                    "read by other users (chmod 600 it)\n",
                    c->key_file);
        if (!fgets(c->key, sizeof(c->key), f))
            c->key[0] = '\0';
        fclose(f);
    } else if (env) {
        cd_strlcpy(c->key, env, sizeof(c->key));
    }
    n = strlen(c->key);
    while (n > 0 && isspace((unsigned char)c->key[n - 1]))
        c->key[--n] = '\0';
    if (n == 0 || n >= sizeof(c->key) - 1) {
        fprintf(stderr,
                "creditd admin: no server key: set CREDITD_ADMIN_KEY "
                "or use --key-file FILE%s\n",
                c->key_file ? " (the file is empty or its line too long)"
                            : "");
        return CLI_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)c->key[i])) {
            fprintf(stderr, "creditd admin: the server key has a blank or "
                            "control character\n");
            return CLI_USAGE;
        }
    return CLI_OK;
}

static int set_url(struct cli *c)
{
    const char *env = getenv("CREDITD_URL");
    size_t n;

    if (!c->url[0])
        cd_strlcpy(c->url, env && *env ? env : CLI_DEFAULT_URL,
                   sizeof(c->url));
    if (strncmp(c->url, "http://", 7) != 0 &&
        strncmp(c->url, "https://", 8) != 0) {
        fprintf(stderr,
                "creditd admin: the server URL must start with "
                "http:// or https:// (got %.100s)\n",
                c->url);
        return CLI_USAGE;
    }
    n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    return CLI_OK;
}

static const struct cli_verb *find_verb(const struct cli_noun *n,
                                        const char *name)
{
    for (const struct cli_verb *v = n->verbs; v->name; v++)
        if (strcmp(v->name, name ? name : "") == 0)
            return v;
    return NULL;
}

int cd_cli_admin_main(int argc, char **argv)
{
    struct cli c;
    const struct cli_noun *n = NULL;
    const struct cli_verb *v;
    int help = 0, rc;

    memset(&c, 0, sizeof(c));
    if ((rc = parse_args(&c, argc, argv, &help)) != CLI_OK)
        return rc;
    if (!c.noun) {
        main_help(help ? stdout : stderr);
        return help ? CLI_OK : CLI_USAGE;
    }
    for (int i = 0; nouns[i]; i++)
        if (strcmp(nouns[i]->name, c.noun) == 0)
            n = nouns[i];
    if (!n) {
        fprintf(stderr, "creditd admin: unknown noun '%.40s'\n\n", c.noun);
        main_help(stderr);
        return CLI_USAGE;
    }
    v = find_verb(n, c.verb);
    if (!v && c.verb && find_verb(n, NULL)) {
        /* A noun without verbs (reconcile): the word is an argument. */
        v = find_verb(n, NULL);
    }
    if (help) {
        if (v)
            verb_help(v, stdout);
        else
            noun_help(n, stdout);
        return CLI_OK;
    }
    if (!v) {
        if (c.verb)
            fprintf(stderr, "creditd admin: unknown verb '%.40s' for %s\n\n",
                    c.verb, n->name);
        noun_help(n, stderr);
        return CLI_USAGE;
    }
    if ((rc = set_url(&c)) != CLI_OK || (rc = load_key(&c)) != CLI_OK)
        return rc;
    return v->run(&c);
}
