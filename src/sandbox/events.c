/*
 * events.c - Stripe Event objects: recording one over a snapshot of an
 * object (and queueing its delivery), GET /v1/events and /v1/events/{id}.
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

/* ------------------------------------------------------------------ */
/* Recording                                                          */

void cd_sandbox_deliver_event(struct cd_sandbox *s, const json_t *event)
{
    char *body;

    if (!s->webhook_url || !s->dlv)
        return;
    body = json_dumps(event, JSON_COMPACT);
    if (!body)
        return;
    cd_sandbox_deliverer_enqueue(
        s->dlv, json_string_value(json_object_get(event, "id")), body);
    free(body);
}

void cd_sandbox_emit(struct cd_sandbox *s, const char *type,
                     const json_t *obj)
{
    cd_sandbox_emit_prev(s, type, obj, NULL);
}

void cd_sandbox_emit_prev(struct cd_sandbox *s, const char *type,
                          const json_t *obj, const json_t *prev)
{
    char id[64];
    json_t *ev, *snap = json_deep_copy(obj);

    if (!snap)
        return;
    cd_sandbox_new_id("evt_", id, sizeof(id));
    ev = json_pack(
        "{s:s, s:s, s:s, s:I, s:{s:o}, s:b, s:i, s:{s:s?, s:s?}, s:s}", "id",
        id, "object", "event", "api_version", CD_SANDBOX_API_VERSION,
        "created", (json_int_t)cd_now(), "data", "object", snap, "livemode",
        0, "pending_webhooks", s->webhook_url ? 1 : 0, "request", "id",
        s->cur_request_id[0] ? s->cur_request_id : NULL, "idempotency_key",
        s->cur_idem_key, "type", type);
    if (!ev)
        return;
    if (json_is_object(prev) && json_object_size(prev) > 0)
        json_object_set_new(json_object_get(ev, "data"),
                            "previous_attributes", json_deep_copy(prev));
    if (cd_sandbox_store(s->events, ev) != 0)
        return;
    cd_debug(MOD, "event %s %s", id, type);
    cd_sandbox_deliver_event(s, ev);
}

/* ------------------------------------------------------------------ */
/* Routes                                                             */

struct event_filter {
    struct cd_sandbox *s;
    json_t *types;  /* array of exact types or "prefix.*" */
    int64_t gt, lt; /* exclusive bounds on created */
    int delivery;   /* -1 any, 0 undelivered, 1 delivered */
};

static int type_matches(const char *pat, const char *type)
{
    size_t n = strlen(pat);

    if (n >= 2 && pat[n - 1] == '*' && pat[n - 2] == '.')
        return strncmp(pat, type, n - 1) == 0;
    return strcmp(pat, type) == 0;
}

static int event_filter_fn(const json_t *ev, void *arg)
{
    struct event_filter *ef = arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_int_t created = json_integer_value(json_object_get(ev, "created"));

    if (created <= ef->gt || created >= ef->lt)
        return 0;
    if (json_array_size(ef->types) > 0) {
        size_t i;
        json_t *t;
        int ok = 0;
        json_array_foreach(
            ef->types, i,
            t) if (type && type_matches(json_string_value(t), type)) ok = 1;
        if (!ok)
            return 0;
    }
    if (ef->delivery >= 0) {
        const char *id = json_string_value(json_object_get(ev, "id"));
        int done = json_object_get(ef->s->delivered, id ? id : "") != NULL;
        if (done != ef->delivery)
            return 0;
    }
    return 1;
}

void cd_sandbox_h_event_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct event_filter ef = {s, NULL, INT64_MIN, INT64_MAX, -1};
    const char *v;

    ef.types = cd_sandbox_query_array(r, "types");
    if ((v = cd_req_query(r, "type")) != NULL) {
        if (json_array_size(ef.types) > 0) {
            cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                    "parameter_invalid_string", "type",
                                    "You may only specify one of these "
                                    "parameters: type, types.");
            goto out;
        }
        json_array_append_new(ef.types, json_string(v));
    }
    if (cd_sandbox_created_range(r, &ef.gt, &ef.lt) != 0)
        goto out;
    if ((v = cd_req_query(r, "delivery_success")) != NULL)
        ef.delivery = strcmp(v, "true") == 0 ? 1 : 0;
    cd_sandbox_reply_list(r, s->events, "/v1/events", "event",
                          event_filter_fn, &ef);
out:
    json_decref(ef.types);
}

void cd_sandbox_h_event_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->events, "event");
}
