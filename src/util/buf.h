/*
 * buf.h - a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * The data is always NUL-terminated (the NUL is not counted in len).
 * An append that would pass the cap, or fails to allocate, frees the
 * buffer and returns -1; the buffer is then empty and may be reused.
 */
#ifndef CD_UTIL_BUF_H
#define CD_UTIL_BUF_H

#include <stddef.h>

struct cd_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* the most bytes it may hold */
};

void cd_buf_init(struct cd_buf *b, size_t max);
int cd_buf_append(struct cd_buf *b, const void *data, size_t len);
int cd_buf_appends(struct cd_buf *b, const char *s);
int cd_buf_appendf(struct cd_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cd_buf_reset(struct cd_buf *b); /* len = 0, keeps the memory */
void cd_buf_free(struct cd_buf *b);
/* Hands the data to the caller (free() it); the buffer is left empty. */
char *cd_buf_take(struct cd_buf *b, size_t *len_out);

#endif
