/*
 * table.c - aligned text tables and value formatting for the CLI.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "util/util.h"

void cd_cli_table_init(struct cli_table *t, int ncols,
                       const char *const *head)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols > CLI_MAX_COLS ? CLI_MAX_COLS : ncols;
    for (int i = 0; i < t->ncols; i++)
        t->head[i] = head[i];
}

int cd_cli_table_add(struct cli_table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, sizeof(char *) * cap * t->ncols);

        if (!cells)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char *s = strdup(row[i] ? row[i] : "-");

        /* A cell is one line: tabs and newlines print as spaces. */
        for (char *p = s; p && *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        t->cells[t->nrows * t->ncols + i] = s;
    }
    t->nrows++;
    return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static int width(const char *s)
{
    int w = 0;

    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void print_cell(FILE *f, const char *s, int w, int right, int last)
{
    int pad = w - width(s);

    if (right)
        fprintf(f, "%*s%s", pad, "", s ? s : "");
    else
        fprintf(f, "%s%*s", s ? s : "", last ? 0 : pad, "");
    if (!last)
        fputs("  ", f);
}

void cd_cli_table_print(const struct cli_table *t, FILE *f)
{
    int w[CLI_MAX_COLS];

    for (int i = 0; i < t->ncols; i++) {
        const char *h = t->head[i] + (t->head[i][0] == '>');

        w[i] = width(h);
        for (int r = 0; r < t->nrows; r++) {
            int cw = width(t->cells[r * t->ncols + i]);

            if (cw > w[i])
                w[i] = cw;
        }
    }
    for (int i = 0; i < t->ncols; i++)
        print_cell(f, t->head[i] + (t->head[i][0] == '>'), w[i],
                   t->head[i][0] == '>', i == t->ncols - 1);
    fputc('\n', f);
    for (int r = 0; r < t->nrows; r++) {
        for (int i = 0; i < t->ncols; i++)
            print_cell(f, t->cells[r * t->ncols + i], w[i],
                       t->head[i][0] == '>', i == t->ncols - 1);
        fputc('\n', f);
    }
    if (t->nrows == 0)
        fprintf(f, "(none)\n");
}

void cd_cli_table_free(struct cli_table *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

const char *cd_cli_field(const json_t *o, const char *key, char *buf,
                         size_t bufsz)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        cd_strlcpy(buf, json_string_value(v), bufsz);
    else if (json_is_integer(v))
        snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_true(v))
        cd_strlcpy(buf, "yes", bufsz);
    else if (json_is_false(v))
        cd_strlcpy(buf, "no", bufsz);
    else
        cd_strlcpy(buf, "-", bufsz);
    return buf;
}

const char *cd_cli_money(int64_t cents, const char *currency, char *buf,
                         size_t bufsz)
{
    uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    const char *sign = cents < 0 ? "-" : "";

    if (!currency || strcasecmp(currency, "usd") == 0) {
        snprintf(buf, bufsz, "%s$%" PRIu64 ".%02" PRIu64, sign, a / 100,
                 a % 100);
    } else {
        char cur[8];
        size_t i;

        for (i = 0; currency[i] && i < sizeof(cur) - 1; i++)
            cur[i] = (char)toupper((unsigned char)currency[i]);
        cur[i] = '\0';
        snprintf(buf, bufsz, "%s%" PRIu64 ".%02" PRIu64 " %s", sign, a / 100,
                 a % 100, cur);
    }
    return buf;
}

const char *cd_cli_money_field(const json_t *o, const char *key, char *buf,
                               size_t bufsz)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return cd_cli_field(o, key, buf, bufsz);
    return cd_cli_money(json_integer_value(v),
                        json_string_value(json_object_get(o, "currency")),
                        buf, bufsz);
}

void cd_cli_print_fields(const json_t *o, const char *const *keys, FILE *f)
{
    int w = 0;
    char buf[512];

    for (int i = 0; keys[i]; i++)
        if ((int)strlen(keys[i]) > w)
            w = (int)strlen(keys[i]);
    for (int i = 0; keys[i]; i++) {
        size_t n = strlen(keys[i]);

        /* A key ending in _cents prints as money. */
        if (n > 6 && strcmp(keys[i] + n - 6, "_cents") == 0)
            cd_cli_money_field(o, keys[i], buf, sizeof(buf));
        else
            cd_cli_field(o, keys[i], buf, sizeof(buf));
        fprintf(f, "%-*s  %s\n", w, keys[i], buf);
    }
}

void cd_cli_print_paging(const json_t *reply)
{
    const json_t *next = json_object_get(reply, "next_starting_after");
    const json_t *total = json_object_get(reply, "total");
    size_t n = json_array_size(json_object_get(reply, "data"));

    if (json_is_string(next))
        printf("(more: --starting-after %s)\n", json_string_value(next));
    else if (json_is_integer(total) &&
             (json_int_t)n < json_integer_value(total))
        printf("(%zu of %" JSON_INTEGER_FORMAT
               "; next page: --offset %" JSON_INTEGER_FORMAT ")\n",
               n, json_integer_value(total),
               json_integer_value(json_object_get(reply, "offset")) +
                   (json_int_t)n);
}
