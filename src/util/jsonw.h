/*
 * jsonw.h - a small JSON object written straight into a fixed buffer,
 * byte for byte what jansson's json_dumps(JSON_COMPACT) makes of the same
 * object (keys in insertion order, strings escaped as jansson escapes
 * them), without building a json_t: for the few small objects made on the
 * store's writer thread for every job, where jansson's allocations and
 * per-dump loop check cost more than the statements around them
 * (docs/PERFORMANCE.md "The writer's CPU per job").
 *
 * An error (the buffer full, a string that is not UTF-8 - jansson would
 * refuse it too) sticks: every later call does nothing and
 * cd_jsonw_end() answers -1.
 */
#ifndef CD_UTIL_JSONW_H
#define CD_UTIL_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define CD_JSONW_DEPTH 4

struct cd_jsonw {
    char *out;
    size_t cap, len;
    int fields[CD_JSONW_DEPTH]; /* written so far at each open level */
    int depth, err;
};

/* Starts an object ("{") in out[cap]. */
void cd_jsonw_begin(struct cd_jsonw *w, char *out, size_t cap);
/* "key":"s" (escaped); s NULL writes null. */
void cd_jsonw_str(struct cd_jsonw *w, const char *key, const char *s);
/* "key":v */
void cd_jsonw_i64(struct cd_jsonw *w, const char *key, int64_t v);
/* "key":{ - a nested object, up to CD_JSONW_DEPTH levels in all. */
void cd_jsonw_open(struct cd_jsonw *w, const char *key);
/* } of the innermost nested object. */
void cd_jsonw_close(struct cd_jsonw *w);
/* Closes the object (and any left open): 0 with out NUL-terminated (len
 * without the NUL), or -1 after any error. */
int cd_jsonw_end(struct cd_jsonw *w);

#endif
