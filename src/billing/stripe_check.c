/*
 * stripe_check.c - see stripe_check.h. Reads only; one GET each.
 */
#include "billing/stripe_check.h"

#include <string.h>

#include "billing/reconcile.h"
#include "util/util.h"

/* 1 when list (enabled_events) holds type or "*". */
static int enabled(const json_t *list, const char *type)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *t = json_string_value(v);

        if (t && (strcmp(t, "*") == 0 || strcmp(t, type) == 0))
            return 1;
    }
    return 0;
}

/* The endpoint of data whose url is url, or NULL. */
static json_t *find_endpoint(json_t *data, const char *url)
{
    size_t i;
    json_t *e;

    json_array_foreach(data, i, e)
    {
        const char *u = json_string_value(json_object_get(e, "url"));

        if (u && strcmp(u, url) == 0)
            return e;
    }
    return NULL;
}

static int check_endpoint(json_t *ep, const char *url, FILE *out)
{
    const char *status = json_string_value(json_object_get(ep, "status"));
    json_t *events = json_object_get(ep, "enabled_events");
    const char *const *types;
    size_t n, missing = 0;

    if (!ep) {
        fprintf(out,
                "FAIL webhook endpoint: none for %s (add one: "
                "docs/OPERATIONS.md, Going live with Stripe)\n",
                url);
        return 1;
    }
    if (!status || strcmp(status, "enabled") != 0) {
        fprintf(out, "FAIL webhook endpoint %s: status %s\n", url,
                status ? status : "unknown");
        return 1;
    }
    types = cd_reconcile_event_types(&n);
    for (size_t i = 0; i < n; i++)
        if (!enabled(events, types[i])) {
            fprintf(out, "FAIL webhook endpoint: event %s is not enabled\n",
                    types[i]);
            missing++;
        }
    if (missing)
        return 1;
    fprintf(out, "ok   webhook endpoint %s: enabled, all %zu event types\n",
            url, n);
    return 0;
}

int cd_stripe_check(struct cd_stripe_client *c, const char *webhook_url,
                    FILE *out)
{
    struct cd_error err;
    json_t *acct = NULL, *list = NULL, *limit = NULL;
    int rc = 2;

    memset(&err, 0, sizeof(err));
    if (cd_stripe_request(c, "GET", "/v1/account", NULL, NULL, &acct, NULL,
                          &err) != 0) {
        fprintf(out, "FAIL secret key: %s\n", err.message);
        goto out;
    }
    fprintf(out, "ok   secret key: account %s\n",
            json_string_value(json_object_get(acct, "id"))
                ? json_string_value(json_object_get(acct, "id"))
                : "?");
    limit = json_pack("{s:s}", "limit", "100");
    if (cd_stripe_request(c, "GET", "/v1/webhook_endpoints", limit, NULL,
                          &list, NULL, &err) != 0) {
        fprintf(out, "FAIL webhook endpoints: %s\n", err.message);
        goto out;
    }
    rc = check_endpoint(
        find_endpoint(json_object_get(list, "data"), webhook_url),
        webhook_url, out);
out:
    json_decref(acct);
    json_decref(list);
    json_decref(limit);
    return rc;
}
