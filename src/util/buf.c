/*
 * buf.c - growable capped buffer; see buf.h for the contract.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cd_buf_init(struct cd_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void cd_buf_free(struct cd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cd_buf_reset(struct cd_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(struct cd_buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (need > b->max || need + 1 < need) {
        cd_buf_free(b);
        return -1;
    }
    if (b->data && need + 1 <= b->cap) /* no data means no capacity */
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (!p) {
        cd_buf_free(b);
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int cd_buf_append(struct cd_buf *b, const void *data, size_t len)
{
    if (len > b->max || grow(b, b->len + len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int cd_buf_appends(struct cd_buf *b, const char *s)
{
    return cd_buf_append(b, s, strlen(s));
}

int cd_buf_appendf(struct cd_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, b->len + (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *cd_buf_take(struct cd_buf *b, size_t *len_out)
{
    char *p = b->data;

    if (!p && cd_buf_append(b, "", 0) == 0)
        p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
