/*
 * webhook_endpoints.c - GET /v1/webhook_endpoints: the one endpoint the
 * sandbox delivers to (creditd reads its enabled_events).
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

/* The one endpoint: the sandbox's delivery URL (none when it delivers
 * nowhere) with the webhook_events switch as its enabled_events. */
void cd_sandbox_h_webhook_endpoints_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *data = json_array();
    json_t *ev = s->webhook_events ? json_incref(s->webhook_events)
                                   : json_pack("[s]", "*");

    if (s->webhook_url)
        json_array_append_new(
            data,
            json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:b, s:I}", "id",
                      "we_sandbox", "object", "webhook_endpoint", "url",
                      s->webhook_url, "enabled_events", ev, "status",
                      "enabled", "api_version", CD_STRIPE_API_VERSION,
                      "livemode", 0, "created", (json_int_t)s->started));
    cd_sandbox_shape(data);
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:o, s:b}", "object", "list", "url",
                            "/v1/webhook_endpoints", "data", data, "has_more",
                            0));
    json_decref(ev);
}
