/*
 * request.c - what the sandbox's /v1 handlers share: reading and
 * validating parameters, replying with an object or a list. Requests are
 * form-encoded (POST body, GET query), replies are Stripe JSON objects,
 * failures Stripe's error shape.
 */
#include "sandbox/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stripe/client.h"
#include "stripe/form.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define LIST_MAX 100

/* ------------------------------------------------------------------ */
/* Parameter helpers                                                   */

/* The request's parameters as a JSON object (new reference): the form
 * body of a POST. NULL after replying 400 for a malformed body. */
json_t *cd_sandbox_post_params(struct cd_req *r)
{
    json_t *p;

    if (r->body_len == 0)
        return json_object();
    p = cd_form_decode(r->body, r->body_len);
    if (!p || !json_is_object(p)) {
        json_decref(p);
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error", NULL, NULL,
                                "Invalid request body: expected "
                                "application/x-www-form-urlencoded "
                                "parameters.");
        return NULL;
    }
    return p;
}

/* expand[] of a GET: "expand[]" (one value) or "expand[0]".."expand[19]"
 * as sent by form encoders. New array. */
json_t *cd_sandbox_query_array(struct cd_req *r, const char *name)
{
    json_t *a = json_array();
    char key[64];
    const char *v;

    snprintf(key, sizeof(key), "%s[]", name);
    if ((v = cd_req_query(r, key)) != NULL)
        json_array_append_new(a, json_string(v));
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "%s[%d]", name, i);
        if ((v = cd_req_query(r, key)) == NULL)
            break;
        json_array_append_new(a, json_string(v));
    }
    return a;
}

/* Optional string parameter of at most max bytes. 0 (out NULL when
 * absent or empty), or -1 with f filled. */
int cd_sandbox_opt_str(json_t *p, const char *key, const char *param,
                       size_t max, const char **out,
                       struct cd_sandbox_fail *f)
{
    json_t *v = json_object_get(p, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param,
                                   "Invalid string: %s must be a "
                                   "string.",
                                   param);
    if (json_string_length(v) > max)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param,
                                   "Invalid string: must be at most "
                                   "%zu characters (%s).",
                                   max, param);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

/* Optional integer parameter in [min, max]. 0 (*present says whether it
 * was there), or -1 with f filled. */
int cd_sandbox_opt_int(json_t *p, const char *key, const char *param,
                       int64_t min, int64_t max, int64_t *out, int *present,
                       struct cd_sandbox_fail *f)
{
    json_t *v = json_object_get(p, key);
    int64_t n;

    *present = 0;
    if (!v)
        return 0;
    if (!json_is_string(v) ||
        cd_parse_int64(json_string_value(v), INT64_MIN, INT64_MAX, &n) != 0)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   param, "Invalid integer: %.40s",
                                   json_is_string(v) ? json_string_value(v)
                                                     : "(not a string)");
    if (n < min)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   param,
                                   "This value must be greater than "
                                   "or equal to %lld.",
                                   (long long)min);
    if (n > max)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_integer",
                                   param,
                                   "This value must be less than or "
                                   "equal to %lld.",
                                   (long long)max);
    *out = n;
    *present = 1;
    return 0;
}

/* The currencies Stripe accepts, lower case (docs.stripe.com/currencies). */
static const char currencies[] =
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif "
    "bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk "
    "djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd "
    "hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd "
    "kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn "
    "myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar "
    "ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs "
    "tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf "
    "yer zar zmw";

/* The optional currency parameter of p: lower-cased in p ("USD" is
 * accepted as Stripe accepts it) and refused unless Stripe supports it.
 * 0 (*out NULL when absent), or -1 with f filled. */
int cd_sandbox_opt_currency(json_t *p, const char *param, const char **out,
                            struct cd_sandbox_fail *f)
{
    const char *cur;
    char low[4];

    if (cd_sandbox_opt_str(p, "currency", param, 32, &cur, f))
        return -1;
    if (!cur)
        return 0;
    cd_strlcpy(low, cur, sizeof(low));
    for (size_t i = 0; low[i]; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    if (strlen(cur) != 3 || strspn(low, "abcdefghijklmnopqrstuvwxyz") != 3 ||
        !strstr(currencies, low))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param,
                                   "Invalid currency: %s. Stripe "
                                   "currently supports these currencies: "
                                   "see https://docs.stripe.com/currencies.",
                                   cur);
    json_object_set_new(p, "currency", json_string(low));
    *out = json_string_value(json_object_get(p, "currency"));
    return 0;
}

int cd_sandbox_missing(struct cd_sandbox_fail *f, const char *param)
{
    return cd_sandbox_fail_set(f, 400, NULL, "parameter_missing", param,
                               "Missing required param: %s.", param);
}

/* Stripe's metadata rules: up to 50 keys of <= 40 characters, string
 * values of <= 500. An empty string unsets (here: empty object). */
int cd_sandbox_check_metadata(json_t *m, const char *param,
                              struct cd_sandbox_fail *f)
{
    const char *k;
    json_t *v;

    if (!m || (json_is_string(m) && json_string_length(m) == 0))
        return 0;
    if (!json_is_object(m))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param, "Invalid hash: %s must be a hash.",
                                   param);
    if (json_object_size(m) > 50)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   param,
                                   "You can specify up to 50 keys in "
                                   "%s.",
                                   param);
    json_object_foreach(m, k, v)
    {
        if (strlen(k) > 40)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", param,
                                       "Metadata keys can have up to 40 "
                                       "characters.");
        if (!json_is_string(v) || json_string_length(v) > 500)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", param,
                                       "Metadata values must be strings of "
                                       "up to 500 characters.");
    }
    return 0;
}

json_t *cd_sandbox_metadata_copy(json_t *m)
{
    return json_is_object(m) ? json_deep_copy(m) : json_object();
}

int cd_sandbox_check_email(const char *e, const char *param,
                           struct cd_sandbox_fail *f)
{
    if (e && (!strchr(e, '@') || strpbrk(e, " \t\r\n<>\"")))
        return cd_sandbox_fail_set(f, 400, NULL, "email_invalid", param,
                                   "Invalid email address: %.80s", e);
    return 0;
}

int cd_sandbox_check_url(const char *u, const char *param,
                         struct cd_sandbox_fail *f)
{
    struct cd_origin o;

    if (!u)
        return 0;
    if (cd_url_parse_origin(u, &o) != 0 || strpbrk(u, " \t\r\n<>\"'\\`"))
        return cd_sandbox_fail_set(f, 400, NULL, "url_invalid", param,
                                   "Not a valid URL");
    return 0;
}

void cd_sandbox_reply_render(struct cd_req *r, const json_t *obj,
                             const json_t *expand)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    json_t *out = cd_sandbox_render(s, obj, expand, &f);

    if (!out)
        cd_sandbox_reply_fail(r, &f);
    else
        cd_reply_json(r, 200, out);
}

/* GET of one object from map by the path's {id}, with expand[]. */
void cd_sandbox_reply_get(struct cd_req *r, json_t *map, const char *noun)
{
    json_t *obj = json_object_get(map, r->params[0]);
    json_t *expand;

    if (!obj) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such %s: '%.80s'", noun, r->params[0]);
        return;
    }
    expand = cd_sandbox_query_array(r, "expand");
    cd_sandbox_reply_render(r, obj, expand);
    json_decref(expand);
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */

/* One page of the objects all[0..n) (oldest first), newest first: up to
 * limit that filt keeps, older than all[anchor] (after), newer than it
 * (before), or from the newest (neither). New array; *has_more set when
 * more were left. */
static json_t *list_page(const json_t **all, size_t n, long anchor, int after,
                         int before, int64_t limit,
                         cd_sandbox_list_filter_fn filt, void *arg,
                         int *has_more)
{
    json_t *data = json_array(), *tmp;
    int64_t count = 0;

    if (!before) {
        for (size_t j = after ? (size_t)anchor : n; j-- > 0;) {
            if (filt && !filt(all[j], arg))
                continue;
            if (count == limit) {
                *has_more = 1;
                break;
            }
            json_array_append_new(data, json_deep_copy(all[j]));
            count++;
        }
        return data;
    }
    /* The page just newer than the anchor, still newest first. */
    tmp = json_array();
    for (size_t j = (size_t)anchor + 1; j < n; j++) {
        if (filt && !filt(all[j], arg))
            continue;
        if (count == limit) {
            *has_more = 1;
            break;
        }
        json_array_append_new(tmp, json_deep_copy(all[j]));
        count++;
    }
    for (size_t j = json_array_size(tmp); j-- > 0;)
        json_array_append(data, json_array_get(tmp, j));
    json_decref(tmp);
    return data;
}

/*
 * A Stripe list of the objects in map (chronological by insertion),
 * newest first, with limit (1..100, default 10), starting_after and
 * ending_before; filt (may be NULL) keeps an object when it returns 1.
 */
void cd_sandbox_reply_list(struct cd_req *r, json_t *map, const char *url,
                           const char *noun, cd_sandbox_list_filter_fn filt,
                           void *arg)
{
    size_t n = json_object_size(map), i = 0;
    const json_t **all = NULL;
    const char *after = cd_req_query(r, "starting_after");
    const char *before = cd_req_query(r, "ending_before");
    const char *lim = cd_req_query(r, "limit");
    const char *k;
    json_t *v, *data;
    int64_t limit = 10;
    long anchor = -1;
    int has_more = 0;

    if (lim && cd_parse_int64(lim, 1, LIST_MAX, &limit) != 0) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_integer", "limit",
                                "Invalid integer: limit must be between 1 "
                                "and 100.");
        return;
    }
    if (after && before) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_invalid_string", "ending_before",
                                "You may only specify one of these "
                                "parameters: ending_before, starting_after.");
        return;
    }
    if (n > 0) {
        all = malloc(n * sizeof(*all));
        if (!all) {
            cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                    "out of memory");
            return;
        }
    }
    json_object_foreach(map, k, v)
    {
        if ((after && strcmp(k, after) == 0) ||
            (before && strcmp(k, before) == 0))
            anchor = (long)i;
        if (i < n) /* always: map holds n */
            all[i++] = v;
    }
    if ((after || before) && anchor < 0) {
        free(all);
        cd_sandbox_reply_errorf(
            r, 400, "invalid_request_error", "resource_missing",
            after ? "starting_after" : "ending_before", "No such %s: '%.80s'",
            noun, after ? after : before);
        return;
    }
    data = list_page(all, n, anchor, after != NULL, before != NULL, limit,
                     filt, arg, &has_more);
    free(all);
    cd_sandbox_shape(data);
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data",
                            data, "has_more", has_more, "url", url));
}

int cd_sandbox_field_filter_fn(const json_t *obj, void *arg)
{
    struct cd_sandbox_field_filter *ff = arg;

    for (int i = 0; i < 3; i++) {
        const char *v;
        if (!ff->field[i] || !ff->want[i])
            continue;
        v = json_string_value(json_object_get(obj, ff->field[i]));
        if (!v || strcmp(v, ff->want[i]) != 0)
            return 0;
    }
    return 1;
}

/* Optional boolean ("true"/"false"; off_session also takes "one_off" and
 * "recurring" as true). 0, or -1 with f filled. */
int cd_sandbox_opt_bool(json_t *p, const char *key, int *out,
                        struct cd_sandbox_fail *f)
{
    const char *v = json_string_value(json_object_get(p, key));

    *out = 0;
    if (!json_object_get(p, key))
        return 0;
    if (v && (strcmp(v, "true") == 0 || strcmp(v, "one_off") == 0 ||
              strcmp(v, "recurring") == 0)) {
        *out = 1;
        return 0;
    }
    if (v && (strcmp(v, "false") == 0 || v[0] == '\0'))
        return 0;
    return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_boolean", key,
                               "Invalid boolean: %.40s", v ? v : "");
}

int cd_sandbox_created_range(struct cd_req *r, int64_t *gt, int64_t *lt)
{
    static const struct {
        const char *key;
        int op; /* 0 eq, 1 gt, 2 gte, 3 lt, 4 lte */
    } cr[] = {{"created", 0},
              {"created[gt]", 1},
              {"created[gte]", 2},
              {"created[lt]", 3},
              {"created[lte]", 4}};
    const char *v;
    int64_t t;

    for (size_t i = 0; i < CD_ARRAY_LEN(cr); i++) {
        if (!(v = cd_req_query(r, cr[i].key)))
            continue;
        if (cd_parse_int64(v, 0, INT64_C(1) << 40, &t) != 0) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_integer", cr[i].key,
                                    "Invalid integer: %.40s", v);
            return -1;
        }
        if (cr[i].op == 0 || cr[i].op == 1 || cr[i].op == 2)
            *gt = cr[i].op == 1 ? t : t - 1;
        if (cr[i].op == 0 || cr[i].op == 3 || cr[i].op == 4)
            *lt = cr[i].op == 3 ? t : t + 1;
    }
    return 0;
}
