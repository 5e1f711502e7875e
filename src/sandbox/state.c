/*
 * state.c - the sandbox's object store: ids, lookup by prefix, storing,
 * rendering with expand[], and Stripe's error shape.
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

#define MOD "sandbox"

void cd_sandbox_new_id(const char *prefix, char *out, size_t outsz)
{
    cd_random_id(prefix, out, outsz);
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

json_t *cd_sandbox_lookup(struct cd_sandbox *s, const char *id)
{
    if (!id)
        return NULL;
    if (has_prefix(id, "cus_"))
        return json_object_get(s->customers, id);
    if (has_prefix(id, "cs_"))
        return json_object_get(s->sessions, id);
    if (has_prefix(id, "pi_"))
        return json_object_get(s->intents, id);
    if (has_prefix(id, "ch_"))
        return json_object_get(s->charges, id);
    if (has_prefix(id, "pm_"))
        return json_object_get(s->pms, id);
    if (has_prefix(id, "re_"))
        return json_object_get(s->refunds, id);
    if (has_prefix(id, "evt_"))
        return json_object_get(s->events, id);
    if (has_prefix(id, "dp_"))
        return json_object_get(s->disputes, id);
    if (has_prefix(id, "sub_"))
        return json_object_get(s->subs, id);
    if (has_prefix(id, "inpay_"))
        return json_object_get(s->invoice_payments, id);
    if (has_prefix(id, "in_"))
        return json_object_get(s->invoices, id);
    return NULL;
}

int cd_sandbox_store(json_t *map, json_t *obj)
{
    const char *id = json_string_value(json_object_get(obj, "id"));

    cd_sandbox_shape(obj);
    if (!id || json_object_size(map) >= CD_SANDBOX_OBJECTS_MAX ||
        json_object_set_new(map, id, obj) != 0) {
        if (id)
            cd_warn(MOD, "object store full; dropping %s", id);
        return -1;
    }
    return 0;
}

int cd_sandbox_fail_set(struct cd_sandbox_fail *f, int status,
                        const char *type, const char *code, const char *param,
                        const char *fmt, ...)
{
    va_list ap;

    memset(f, 0, sizeof(*f));
    f->status = status;
    cd_strlcpy(f->type, type ? type : "invalid_request_error",
               sizeof(f->type));
    cd_strlcpy(f->code, code ? code : "", sizeof(f->code));
    cd_strlcpy(f->param, param ? param : "", sizeof(f->param));
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    return -1;
}

json_t *cd_sandbox_fail_json(const struct cd_sandbox_fail *f)
{
    json_t *e = json_object();

    if (f->code[0])
        json_object_set_new(e, "code", json_string(f->code));
    if (f->decline_code[0])
        json_object_set_new(e, "decline_code", json_string(f->decline_code));
    if (f->code[0])
        json_object_set_new(
            e, "doc_url",
            json_sprintf("https://stripe.com/docs/error-codes/%s", f->code));
    json_object_set_new(e, "message", json_string(f->message));
    if (f->param[0])
        json_object_set_new(e, "param", json_string(f->param));
    json_object_set_new(e, "type", json_string(f->type));
    return json_pack("{s:o}", "error", e);
}

void cd_sandbox_reply_fail(struct cd_req *r, const struct cd_sandbox_fail *f)
{
    cd_reply_json(r, f->status, cd_sandbox_fail_json(f));
}

void cd_sandbox_reply_errorf(struct cd_req *r, int status, const char *type,
                             const char *code, const char *param,
                             const char *fmt, ...)
{
    struct cd_sandbox_fail f;
    va_list ap;

    cd_sandbox_fail_set(&f, status, type, code, param, "%s", "");
    va_start(ap, fmt);
    vsnprintf(f.message, sizeof(f.message), fmt, ap);
    va_end(ap);
    cd_sandbox_reply_fail(r, &f);
}

/* The line items list object of a session, kept in s->priv when it
 * was created (new reference). */
json_t *cd_sandbox_session_line_items(struct cd_sandbox *s,
                                      const json_t *session)
{
    const char *id = json_string_value(json_object_get(session, "id"));
    json_t *priv = json_object_get(s->priv, id ? id : "");
    json_t *items = json_object_get(priv, "line_items");
    char url[128];

    snprintf(url, sizeof(url), "/v1/checkout/sessions/%s/line_items",
             id ? id : "");
    return json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data",
                     items ? json_deep_copy(items) : json_array(), "has_more",
                     0, "url", url);
}

/* ------------------------------------------------------------------ */
/* Expansion                                                           */

static int expand_path(struct cd_sandbox *s, json_t *obj, const char *path,
                       int depth, struct cd_sandbox_fail *f)
{
    char seg[64];
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    json_t *v;

    if (depth >= 4)
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "expand",
                                   "You cannot expand more than 4 "
                                   "levels of a property.");
    if (n == 0 || n >= sizeof(seg))
        return cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                   "expand", "Invalid expand path.");
    memcpy(seg, path, n);
    seg[n] = '\0';

    if (strcmp(seg, "line_items") == 0 &&
        json_is_string(json_object_get(obj, "object")) &&
        strcmp(json_string_value(json_object_get(obj, "object")),
               "checkout.session") == 0) {
        json_object_set_new(obj, "line_items",
                            cd_sandbox_session_line_items(s, obj));
        return 0;
    }
    v = json_object_get(obj, seg);
    if (!v && !json_object_get(obj, "object"))
        return 0;
    if (!v || !(json_is_string(v) || json_is_null(v) || json_is_object(v)))
        return cd_sandbox_fail_set(
            f, 400, NULL, "parameter_invalid_string", "expand",
            "This property cannot be expanded (%s).", seg);
    if (json_is_string(v)) {
        json_t *target = cd_sandbox_lookup(s, json_string_value(v));
        if (!target)
            return cd_sandbox_fail_set(f, 400, NULL,
                                       "parameter_invalid_string", "expand",
                                       "This property cannot be expanded "
                                       "(%s).",
                                       seg);
        v = json_deep_copy(target);
        json_object_set_new(obj, seg, v);
    }
    if (dot && json_is_object(v))
        return expand_path(s, v, dot + 1, depth + 1, f);
    return 0;
}

json_t *cd_sandbox_render(struct cd_sandbox *s, const json_t *obj,
                          const json_t *expand, struct cd_sandbox_fail *f)
{
    json_t *out = json_deep_copy(obj);
    size_t i;
    json_t *e;

    if (!out) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL, "out of memory");
        return NULL;
    }
    if (expand && json_is_array(expand)) {
        if (json_array_size(expand) > 20) {
            json_decref(out);
            cd_sandbox_fail_set(f, 400, NULL, "parameter_invalid_string",
                                "expand",
                                "You may expand at most 20 "
                                "properties.");
            return NULL;
        }
        json_array_foreach(expand, i, e)
        {
            if (!json_is_string(e) ||
                expand_path(s, out, json_string_value(e), 0, f) != 0) {
                if (!json_is_string(e))
                    cd_sandbox_fail_set(f, 400, NULL,
                                        "parameter_invalid_string", "expand",
                                        "Invalid expand path.");
                json_decref(out);
                return NULL;
            }
        }
    }
    cd_sandbox_shape(out);
    return out;
}
