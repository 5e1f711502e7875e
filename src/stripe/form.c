/*
 * form.c - Stripe's application/x-www-form-urlencoded dialect with bracketed
 * keys, both ways.
 *
 * Encoding reproduces stripe-node's stringifyRequestData byte for byte: keys
 * and values go through encodeURIComponent, then !'()* are escaped as well
 * (as the qs library did) and %5B/%5D are turned back into raw brackets.
 *
 * Decoding is strict and bounded, for the sandbox and for tests: at most
 * CD_FORM_MAX_PAIRS pairs, CD_FORM_MAX_DEPTH bracket levels, keys of at most
 * CD_FORM_MAX_KEY decoded bytes, valid %XX escapes and UTF-8 only, no NUL
 * bytes. "[]" appends to an array; a numeric segment indexes an array and
 * must be the next index or an existing one ("c[0]=x&c[1]=y", and
 * "l[0][a]=1&l[0][b]=2"), except inside an object that already exists,
 * where it is an ordinary key ("metadata[a]=1&metadata[7]=2"). A repeated
 * leaf key, a gap in the indices, or a key used both as a value and as a
 * container makes the whole body invalid.
 */
#include "stripe/form.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CD_FORM_MAX_PAIRS 1000
#define CD_FORM_MAX_DEPTH 8
#define CD_FORM_MAX_KEY 256
#define ENCODE_MAX_DEPTH 32

static const char HEXU[] = "0123456789ABCDEF";

/* encodeURIComponent's unreserved set. */
static int uri_component_raw(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~' || c == '!' || c == '*' || c == '\'' || c == '(' ||
           c == ')';
}

/* stripe-node's encodeQueryValue: brackets raw, !'()* escaped. */
static int query_raw(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~' || c == '[' || c == ']';
}

static int escape_with(const char *s, size_t n, int (*raw)(unsigned char),
                       struct cd_buf *out)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3];

        if (raw(c))
            continue;
        if (i > start && cd_buf_append(out, s + start, i - start) != 0)
            return -1;
        esc[0] = '%';
        esc[1] = HEXU[c >> 4];
        esc[2] = HEXU[c & 15];
        if (cd_buf_append(out, esc, 3) != 0)
            return -1;
        start = i + 1;
    }
    if (n > start && cd_buf_append(out, s + start, n - start) != 0)
        return -1;
    return 0;
}

/* See form.h: exactly encodeURIComponent (brackets are escaped here). */
int cd_form_escape(const char *s, struct cd_buf *out)
{
    if (!s)
        return -1;
    return escape_with(s, strlen(s), uri_component_raw, out);
}

/*
 * Renders d as JavaScript's Number#toString does (shortest round-trip
 * digits; plain notation for 1e-7 < |d| < 1e21, else "1.5e+21" style).
 */
static void format_real(double d, char *buf, size_t sz)
{
    char e[40], digits[20];
    int prec, exp10, n, k = 0;
    const char *p;
    char *o = buf;
    size_t left = sz;

    if (d == 0) {
        snprintf(buf, sz, "0");
        return;
    }
    for (prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e is "-d.ddde+XX": collect the digits without trailing zeros. */
    for (p = e; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && k < (int)sizeof(digits) - 1)
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    exp10 = (int)strtol(p + 1, NULL, 10);
    n = exp10 + 1;
#define PUT(...)                                                             \
    do {                                                                     \
        int w_ = snprintf(o, left, __VA_ARGS__);                             \
        if (w_ < 0 || (size_t)w_ >= left)                                    \
            return;                                                          \
        o += w_;                                                             \
        left -= (size_t)w_;                                                  \
    } while (0)
    if (d < 0)
        PUT("-");
    if (k <= n && n <= 21) {
        PUT("%s%.*s", digits, n - k, "000000000000000000000");
    } else if (0 < n && n <= 21) {
        PUT("%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        PUT("0.%.*s%s", -n, "000000", digits);
    } else {
        PUT("%c", digits[0]);
        if (k > 1)
            PUT(".%s", digits + 1);
        PUT("e%c%d", n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
    }
#undef PUT
}

/* Appends "<key>=<value>" pairs for v under the escaped key in key. */
/* A scalar's text: num holds a number's; *textlen its length. */
static const char *scalar_text(const json_t *v, char *num, size_t numsz,
                               size_t *textlen)
{
    const char *text = NULL;

    *textlen = 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        text = json_string_value(v);
        *textlen = json_string_length(v);
        break;
    case JSON_INTEGER:
        snprintf(num, numsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text = num;
        *textlen = strlen(num);
        break;
    case JSON_REAL:
        format_real(json_real_value(v), num, numsz);
        text = num;
        *textlen = strlen(num);
        break;
    case JSON_TRUE:
        text = "true";
        *textlen = 4;
        break;
    case JSON_FALSE:
        text = "false";
        *textlen = 5;
        break;
    case JSON_NULL:
        text = "";
        *textlen = 0;
        break;
    default:
        break;
    }
    return text;
}

static int encode_value(struct cd_buf *key, const json_t *v,
                        struct cd_buf *out, int *first, int depth)
{
    char num[64];
    const char *text = NULL;
    size_t textlen = 0;
    size_t keylen = key->len;

    if (depth > ENCODE_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        const json_t *sub;

        json_object_foreach((json_t *)v, k, sub)
        {
            if (cd_buf_append(key, "[", 1) != 0 ||
                escape_with(k, strlen(k), query_raw, key) != 0 ||
                cd_buf_append(key, "]", 1) != 0)
                return -1;
            if (encode_value(key, sub, out, first, depth + 1) != 0)
                return -1;
            key->len = keylen;
            key->data[keylen] = '\0';
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        const json_t *sub;

        json_array_foreach(v, i, sub)
        {
            if (cd_buf_appendf(key, "[%zu]", i) != 0)
                return -1;
            if (encode_value(key, sub, out, first, depth + 1) != 0)
                return -1;
            key->len = keylen;
            key->data[keylen] = '\0';
        }
        return 0;
    }
    default:
        text = scalar_text(v, num, sizeof(num), &textlen);
        break;
    }
    if (!*first && cd_buf_append(out, "&", 1) != 0)
        return -1;
    *first = 0;
    if (cd_buf_append(out, key->data, key->len) != 0 ||
        cd_buf_append(out, "=", 1) != 0 ||
        escape_with(text, textlen, query_raw, out) != 0)
        return -1;
    return 0;
}

/*
 * See form.h. params must be a JSON object (NULL encodes as nothing);
 * empty objects and arrays produce no pairs, as in stripe-node.
 */
int cd_form_encode(const json_t *params, struct cd_buf *out)
{
    struct cd_buf key;
    const char *k;
    const json_t *v;
    int first = 1;
    int rc = 0;

    if (!params)
        return 0;
    if (!json_is_object(params))
        return -1;
    cd_buf_init(&key, 64 * 1024);
    json_object_foreach((json_t *)params, k, v)
    {
        cd_buf_reset(&key);
        if (escape_with(k, strlen(k), query_raw, &key) != 0 ||
            cd_buf_append(&key, "", 0) != 0 ||
            encode_value(&key, v, out, &first, 0) != 0) {
            rc = -1;
            break;
        }
    }
    cd_buf_free(&key);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes '+' and %XX from s[0..n) into out (which holds at least max
 * bytes); returns the decoded length, or -1 on a bad escape, a NUL byte,
 * or more than max bytes.
 */
static long url_decode(const char *s, size_t n, char *out, size_t max)
{
    size_t i = 0, o = 0;

    while (i < n) {
        int c;

        if (s[i] == '%') {
            int hi, lo;
            if (n - i < 3)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 3;
        } else if (s[i] == '+') {
            c = ' ';
            i++;
        } else {
            c = (unsigned char)s[i];
            i++;
        }
        if (c == 0 || o >= max)
            return -1;
        out[o++] = (char)c;
    }
    return (long)o;
}

enum seg_kind { SEG_KEY, SEG_INDEX, SEG_APPEND };

struct seg {
    enum seg_kind kind;
    const char *key; /* NUL-terminated, for SEG_KEY (and the index text) */
    size_t index;
};

/* Splits "base[a][0][]" (NUL-terminated, modified in place). */
static int parse_key(char *k, struct seg *segs, size_t *nseg)
{
    char *p = strchr(k, '[');
    size_t n = 0;

    if (p == k)
        return -1; /* empty base name */
    if (strchr(k, ']') && (!p || strchr(k, ']') < p))
        return -1; /* ']' in the base name */
    segs[n].kind = SEG_KEY;
    segs[n].key = k;
    n++;
    while (p) {
        char *close = strchr(p + 1, ']');
        char *s = p + 1;
        size_t len;

        *p = '\0';
        if (!close)
            return -1;
        *close = '\0';
        if (strchr(s, '['))
            return -1;
        if (n > CD_FORM_MAX_DEPTH)
            return -1;
        len = (size_t)(close - s);
        segs[n].key = s;
        if (len == 0) {
            segs[n].kind = SEG_APPEND;
        } else if (len <= 4 && s[0] >= '0' && s[0] <= '9' &&
                   (s[0] != '0' || len == 1) &&
                   strspn(s, "0123456789") == len) {
            segs[n].kind = SEG_INDEX;
            segs[n].index = (size_t)strtoul(s, NULL, 10);
        } else {
            segs[n].kind = SEG_KEY;
        }
        n++;
        if (close[1] == '\0')
            break;
        if (close[1] != '[')
            return -1; /* text after a ']' */
        p = close + 1;
    }
    *nseg = n;
    return 0;
}

/*
 * Resolves the slot named by seg inside container: returns the existing
 * child (borrowed), or NULL with *ok = 1 when the slot is free (the next
 * position of an array, or a missing object key), or NULL with *ok = 0
 * when the slot cannot exist (an index gap, a key into an array).
 */
static json_t *slot_get(json_t *container, const struct seg *seg, int *ok)
{
    *ok = 1;
    if (json_is_object(container)) {
        /* Numeric segments are ordinary keys inside an object; "[]"
         * cannot append to one. */
        if (seg->kind == SEG_APPEND) {
            *ok = 0;
            return NULL;
        }
        return json_object_get(container, seg->key);
    }
    if (seg->kind == SEG_APPEND)
        return NULL;
    if (seg->kind == SEG_INDEX) {
        size_t size = json_array_size(container);
        if (seg->index < size)
            return json_array_get(container, seg->index);
        if (seg->index == size)
            return NULL;
    }
    *ok = 0;
    return NULL;
}

/* Puts v (stolen) into the free slot seg of container. */
static int slot_set(json_t *container, const struct seg *seg, json_t *v)
{
    if (json_is_object(container))
        return json_object_set_new(container, seg->key, v);
    return json_array_append_new(container, v);
}

static int insert(json_t *root, struct seg *segs, size_t nseg,
                  const char *val, size_t vlen)
{
    json_t *cur = root;
    size_t i;
    int ok;

    for (i = 0; i + 1 < nseg; i++) {
        const struct seg *next = &segs[i + 1];
        json_t *child = slot_get(cur, &segs[i], &ok);

        if (!ok)
            return -1;
        if (child) {
            if (json_is_string(child))
                return -1; /* a value used as a container */
            /* An existing object takes any key; an array only indices. */
            if (json_is_array(child) && next->kind == SEG_KEY)
                return -1;
        } else {
            child = next->kind == SEG_KEY ? json_object() : json_array();
            if (!child || slot_set(cur, &segs[i], child) != 0)
                return -1;
        }
        cur = child;
    }
    if (slot_get(cur, &segs[nseg - 1], &ok) || !ok)
        return -1; /* repeated leaf or index gap */
    {
        json_t *s = json_stringn(val, vlen);
        if (!s)
            return -1; /* not UTF-8 */
        if (slot_set(cur, &segs[nseg - 1], s) != 0)
            return -1;
    }
    return 0;
}

/* See form.h. */
json_t *cd_form_decode(const char *body, size_t len)
{
    json_t *root = json_object();
    const char *p = body ? body : ""; /* no arithmetic on NULL */
    const char *end = p + len;
    char *val = NULL;
    size_t pairs = 0;

    if (!root)
        return NULL;
    if (!body && len)
        goto fail;
    if (len && memchr(body, '\0', len))
        goto fail;
    val = malloc(len + 1);
    if (!val)
        goto fail;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        const char *kend = eq ? eq : pend;
        char key[CD_FORM_MAX_KEY + 1];
        struct seg segs[CD_FORM_MAX_DEPTH + 1];
        size_t nseg;
        long klen, vlen = 0;

        if (pend > p) {
            if (++pairs > CD_FORM_MAX_PAIRS)
                goto fail;
            klen = url_decode(p, (size_t)(kend - p), key, CD_FORM_MAX_KEY);
            if (klen <= 0)
                goto fail;
            key[klen] = '\0';
            if (eq) {
                vlen = url_decode(eq + 1, (size_t)(pend - eq - 1), val, len);
                if (vlen < 0)
                    goto fail;
            }
            val[vlen] = '\0';
            if (parse_key(key, segs, &nseg) != 0 ||
                insert(root, segs, nseg, val, (size_t)vlen) != 0)
                goto fail;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    free(val);
    return root;
fail:
    free(val);
    json_decref(root);
    return NULL;
}
