/*
 * cli.h - `creditd admin <noun> <verb>`: the operator's commands, an HTTP
 * client of a running server's /v1/admin/... (and /v1/grants, /v1/debits).
 * It never opens the database: everything goes through the API, so the
 * server's rules (validation, idempotency, the ledger) apply unchanged.
 *
 * Exit codes (CLI_*): 0 done; 1 the API refused (4xx, its error code is
 * printed); 2 usage (bad arguments, no key, a refused confirmation);
 * 3 the server is unreachable or answered 5xx; 4 a check ran and found a
 * problem (`ledger verify` with mismatches).
 *
 * One file per noun (pricing.c, discounts.c, accounts.c, orders.c,
 * payments.c, subscriptions.c, ledger.c, problems.c, reconcile.c,
 * summary.c), admin.c parses options and
 * dispatches, args.c checks a verb's arguments, http.c talks to the
 * server, table.c prints. Calls go downwards only: admin.c -> the nouns
 * -> http.c -> args.c (scripts/cycles.mjs --calls).
 */
#ifndef CD_CLI_H
#define CD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "util/buf.h"

enum {
    CLI_OK = 0,
    CLI_API = 1,
    CLI_USAGE = 2,
    CLI_SERVER = 3,
    CLI_CHECK = 4
};

#define CLI_MAX_OPTS 24
#define CLI_MAX_ARGS 8

struct cd_cli_opt {
    char name[32];     /* without the leading "--" */
    const char *value; /* NULL for a flag */
};

struct cli {
    char url[512]; /* without a trailing '/' */
    char key[512];
    int json; /* --json: print the server's JSON */
    int yes;  /* --yes: no confirmation prompt */
    const char *key_file;
    const char *output; /* --output FILE (exports) */
    const char *idem;   /* --idempotency-key */
    const char *noun, *verb;
    int nargs; /* positional arguments after noun and verb */
    const char *args[CLI_MAX_ARGS];
    int nopts; /* the verb's own options */
    struct cd_cli_opt opts[CLI_MAX_OPTS];
};

/* A verb: its name ("" for a noun run without one), its handler, a usage
 * line and one line of help. */
struct cli_verb {
    const char *name;
    int (*run)(struct cli *c);
    const char *usage;
    const char *help;
};

struct cli_noun {
    const char *name;
    const char *help;
    const struct cli_verb *verbs; /* ends with a NULL name */
};

extern const struct cli_noun cd_cli_pricing, cd_cli_discounts,
    cd_cli_accounts, cd_cli_orders, cd_cli_payments, cd_cli_subscriptions,
    cd_cli_ledger, cd_cli_problems, cd_cli_reconcile, cd_cli_summary;

/* `creditd admin ...` (argv after "admin"); returns the exit code. */
int cd_cli_admin_main(int argc, char **argv);

/* ---- options (args.c) */

/* 1 when s is in the NULL-terminated list. */
int cd_cli_in_list(const char *const *list, const char *s);

/* Every option given must be in the NULL-terminated list `allowed` (the
 * global --output and --idempotency-key too, where they apply), and
 * there must be min..max positional arguments; else a usage message and
 * CLI_USAGE. */
int cd_cli_expect(struct cli *c, int min, int max,
                  const char *const *allowed);
/* The value of --name, or NULL. */
const char *cd_cli_opt(const struct cli *c, const char *name);
int cd_cli_flag(const struct cli *c, const char *name);
/* --name as an integer in lo..hi (0 absent, 1 set, -1 bad: printed). */
int cd_cli_opt_int(const struct cli *c, const char *name, int64_t lo,
                   int64_t hi, int64_t *out);
int cd_cli_parse_int(const char *what, const char *s, int64_t lo, int64_t hi,
                     int64_t *out);
/* Appends the options named (the admin lists' filters: account, status,
 * kind, from, to) to path as query parameters of the same names
 * (http.c, beside cli_query). */
int cd_cli_filters_path(struct cli *c, char *path, size_t pathsz,
                        const char *const *names);
int cd_cli_usage_error(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The Idempotency-Key for this invocation: --idempotency-key, else a new
 * random one; printed on stderr so a retry can reuse it. */
const char *cd_cli_idempotency_key(struct cli *c, char *buf, size_t bufsz);
/* Asks "question [y/N]" on a terminal; without one, or unless answered
 * yes, refuses (CLI_USAGE). --yes skips it. */
int cd_cli_confirm(const struct cli *c, const char *question);

/* ---- HTTP (http.c) */

struct cli_reply {
    long status;
    struct cd_buf body;
    json_t *json; /* the parsed body, or NULL */
};

/* One request. body may be NULL; account sets Creditd-Account; idem sets
 * Idempotency-Key. Returns CLI_OK for a 2xx (reply filled; free it with
 * cd_cli_reply_free), else prints the problem and returns its exit code.
 * With --json the server's body goes to stdout whatever the status. */
int cd_cli_call(struct cli *c, const char *method, const char *path,
                json_t *body, const char *account, const char *idem,
                struct cli_reply *r);
void cd_cli_reply_free(struct cli_reply *r);
/* GET path streamed to --output (written to FILE.part, renamed when
 * complete) or stdout. */
int cd_cli_stream(struct cli *c, const char *path);
/* Appends "&name=value" (URL-encoded; '?' for the first) when value is
 * set. -1 when the path would not fit (path is then left as it was). */
int cd_cli_query(char *path, size_t pathsz, const char *name,
                 const char *value);
/* A path segment, URL-encoded, into out. */
int cd_cli_escape(const char *s, char *out, size_t outsz);

/* ---- tables and values (table.c) */

#define CLI_MAX_COLS 10

/* A column header starting with '>' is right-aligned (numbers, money). */
struct cli_table {
    int ncols, nrows, cap;
    const char *head[CLI_MAX_COLS];
    char **cells; /* nrows * ncols, each malloc'd */
};

void cd_cli_table_init(struct cli_table *t, int ncols,
                       const char *const *head);
/* Adds a row of ncols strings (copied; NULL prints as "-"). */
int cd_cli_table_add(struct cli_table *t, const char *const *row);
void cd_cli_table_print(const struct cli_table *t, FILE *f);
void cd_cli_table_free(struct cli_table *t);

/* A field as text: strings as is, integers in decimal, true/false as
 * yes/no, null or absent as "-". Returns buf. */
const char *cd_cli_field(const json_t *o, const char *key, char *buf,
                         size_t bufsz);
/* Minor units as money: "$12.34" for usd, "-$4.00", "12.34 EUR". */
const char *cd_cli_money(int64_t cents, const char *currency, char *buf,
                         size_t bufsz);
/* An integer field as money (currency from the object's "currency",
 * default usd), "-" when absent. */
const char *cd_cli_money_field(const json_t *o, const char *key, char *buf,
                               size_t bufsz);
/* Prints "key  value" lines for the given keys of o (aligned). */
void cd_cli_print_fields(const json_t *o, const char *const *keys, FILE *f);
/* Prints a list reply's paging line ("3 of 10", or the next page's
 * --starting-after) on stdout. */
void cd_cli_print_paging(const json_t *reply);

#endif
