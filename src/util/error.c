/*
 * error.c - struct cd_error helpers; see error.h.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *type;
} kinds[] = {
#define X(name, status, type) {status, type},
    CD_ERROR_KINDS(X)
#undef X
};

int cd_error_set(struct cd_error *e, enum cd_error_kind kind, const char *code,
                 const char *param, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return -1;
    e->kind = kind;
    e->retry_after = 0;
    snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
    snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

void cd_error_clear(struct cd_error *e)
{
    if (e)
        memset(e, 0, sizeof(*e));
}

int cd_error_kind_status(enum cd_error_kind kind)
{
    if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]))
        return 500;
    return kinds[kind].status;
}

const char *cd_error_kind_type(enum cd_error_kind kind)
{
    if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]))
        return "api_error";
    return kinds[kind].type;
}
