/*
 * error.c - struct cd_error helpers; see error.h.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error_codes.h"
#include "util/util.h"

static const struct {
    int status;
    const char *type;
} kinds[] = {
#define X(name, status, type) {status, type},
    CD_ERROR_KINDS(X)
#undef X
};

static const struct {
    const char *code;
    enum cd_error_kind kind;
} codes[] = {
#define X(code, kind) {#code, CD_EK_##kind},
    CD_ERROR_CODES(X)
#undef X
};

int cd_error_set(struct cd_error *e, enum cd_error_kind kind,
                 const char *code, const char *param, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!e)
        return -1;
    e->kind = kind;
    e->retry_after = 0;
    cd_strlcpy(e->code, code ? code : "", sizeof(e->code));
    cd_strlcpy(e->param, param ? param : "", sizeof(e->param));
    va_start(ap, fmt);
    n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    /* The message may quote outside text: never end it inside a
     * character the buffer cut. */
    if (n < 0)
        e->message[0] = '\0';
    else if ((size_t)n >= sizeof(e->message))
        e->message[cd_utf8_cut(e->message, sizeof(e->message) - 1)] = '\0';
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

enum cd_error_kind cd_error_code_kind(const char *code,
                                      enum cd_error_kind kind)
{
    if (!code)
        return kind;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].code, code) == 0)
            return codes[i].kind;
    return kind;
}
