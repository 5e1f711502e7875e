/*
 * jsonw.c - see jsonw.h. The escaping is jansson 2.x's dump_string with
 * neither JSON_ENSURE_ASCII nor JSON_ESCAPE_SLASH: '"' and '\\' and the
 * control characters below 0x20 are escaped (\b \f \n \r \t by name, the
 * rest as \u00XX), everything else - '/', 0x7F, UTF-8 - is copied.
 */
#include "util/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(struct cd_jsonw *w, const char *s, size_t n)
{
    if (w->err || n >= w->cap - w->len) {
        w->err = 1;
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one
 * jansson accepts (overlong, a surrogate, past U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
    uint32_t cp;

    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3) {
        cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6);
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    } else if (n == 4) {
        cp = ((uint32_t)(s[0] & 0x07) << 18) |
             ((uint32_t)(s[1] & 0x3F) << 12);
        if (cp < 0x10000 || cp > 0x10FFFF)
            return 0;
    }
    return n;
}

static void put_string(struct cd_jsonw *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    char esc[8];

    put(w, "\"", 1);
    while (*s && !w->err) {
        size_t n = utf8_len(s);

        if (n == 0) {
            w->err = 1;
            return;
        }
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            put(w, esc, 2);
        } else if (*s < 0x20) {
            const char *named = *s == '\b'   ? "\\b"
                                : *s == '\f' ? "\\f"
                                : *s == '\n' ? "\\n"
                                : *s == '\r' ? "\\r"
                                : *s == '\t' ? "\\t"
                                             : NULL;

            if (named)
                put(w, named, 2);
            else
                put(w, esc,
                    (size_t)snprintf(esc, sizeof(esc), "\\u%04X", *s));
        } else {
            put(w, (const char *)s, n);
        }
        s += n;
    }
    put(w, "\"", 1);
}

static void put_key(struct cd_jsonw *w, const char *key)
{
    if (w->fields[w->depth]++)
        put(w, ",", 1);
    put_string(w, key);
    put(w, ":", 1);
}

void cd_jsonw_begin(struct cd_jsonw *w, char *out, size_t cap)
{
    w->out = out;
    w->cap = cap;
    w->len = 0;
    w->depth = 0;
    w->fields[0] = 0;
    w->err = cap < 3;
    put(w, "{", 1);
}

void cd_jsonw_open(struct cd_jsonw *w, const char *key)
{
    put_key(w, key);
    put(w, "{", 1);
    if (w->depth + 1 >= CD_JSONW_DEPTH) {
        w->err = 1;
        return;
    }
    w->fields[++w->depth] = 0;
}

void cd_jsonw_close(struct cd_jsonw *w)
{
    if (w->depth == 0) {
        w->err = 1;
        return;
    }
    w->depth--;
    put(w, "}", 1);
}

void cd_jsonw_str(struct cd_jsonw *w, const char *key, const char *s)
{
    put_key(w, key);
    if (s)
        put_string(w, s);
    else
        put(w, "null", 4);
}

void cd_jsonw_i64(struct cd_jsonw *w, const char *key, int64_t v)
{
    char num[24];

    put_key(w, key);
    put(w, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, v));
}

int cd_jsonw_end(struct cd_jsonw *w)
{
    while (w->depth > 0 && !w->err)
        cd_jsonw_close(w);
    put(w, "}", 1);
    if (w->err)
        return -1;
    w->out[w->len] = '\0';
    return 0;
}
