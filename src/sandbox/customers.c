/*
 * customers.c - Customer objects and their /v1/customers routes.
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

/* ------------------------------------------------------------------ */
/* Customers                                                           */

json_t *cd_sandbox_customer_create(struct cd_sandbox *s, const char *email,
                                   const char *name, const char *description,
                                   const json_t *metadata)
{
    char id[64], prefix[16];
    json_t *c;

    cd_sandbox_new_id("cus_", id, sizeof(id));
    snprintf(prefix, sizeof(prefix), "%.8s", id + 4);
    for (char *p = prefix; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    c = json_pack(
        "{s:s, s:s, s:n, s:i, s:I, s:n, s:n, s:b, s:s?, s:s?, "
        "s:s, s:{s:n, s:n, s:n, s:n}, s:b, s:o, s:s?, s:i, s:n, "
        "s:[], s:n, s:s, s:n}",
        "id", id, "object", "customer", "address", "balance", 0, "created",
        (json_int_t)cd_now(), "currency", "default_source", "delinquent", 0,
        "description", description, "email", email, "invoice_prefix", prefix,
        "invoice_settings", "custom_fields", "default_payment_method",
        "footer", "rendering_options", "livemode", 0, "metadata",
        metadata ? json_deep_copy(metadata) : json_object(), "name", name,
        "next_invoice_sequence", 1, "phone", "preferred_locales", "shipping",
        "tax_exempt", "none", "test_clock");
    if (!c || cd_sandbox_store(s->customers, c) != 0)
        return NULL;
    cd_sandbox_emit(s, "customer.created", c);
    return c;
}

/* ------------------------------------------------------------------ */
/* Routes                                                             */

static int customer_fields(json_t *p, const char **email, const char **name,
                           const char **desc, struct cd_sandbox_fail *f)
{
    if (cd_sandbox_opt_str(p, "email", "email", 512, email, f) ||
        cd_sandbox_check_email(*email, "email", f) ||
        cd_sandbox_opt_str(p, "name", "name", 256, name, f) ||
        cd_sandbox_opt_str(p, "description", "description", 350, desc, f) ||
        cd_sandbox_check_metadata(json_object_get(p, "metadata"), "metadata",
                                  f))
        return -1;
    return 0;
}

void cd_sandbox_h_customer_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *email, *name, *desc;
    json_t *p = cd_sandbox_post_params(r), *c;

    if (!p)
        return;
    if (customer_fields(p, &email, &name, &desc, &f) != 0) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    c = cd_sandbox_customer_create(
        s, email, name, desc,
        json_is_object(json_object_get(p, "metadata"))
            ? json_object_get(p, "metadata")
            : NULL);
    if (!c) {
        cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                "The sandbox is full.");
        goto out;
    }
    cd_sandbox_reply_render(r, c, json_object_get(p, "expand"));
out:
    json_decref(p);
}

void cd_sandbox_h_customer_update(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    const char *email, *name, *desc, *dpm = NULL;
    json_t *c = json_object_get(s->customers, r->params[0]);
    json_t *p, *md, *is;

    if (!c) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "id",
                                "No such customer: '%.80s'", r->params[0]);
        return;
    }
    if (!(p = cd_sandbox_post_params(r)))
        return;
    is = json_object_get(p, "invoice_settings");
    if (customer_fields(p, &email, &name, &desc, &f) != 0 ||
        (is && cd_sandbox_opt_str(is, "default_payment_method",
                                  "invoice_settings[default_payment_method]",
                                  255, &dpm, &f) != 0)) {
        cd_sandbox_reply_fail(r, &f);
        goto out;
    }
    if (dpm && !json_object_get(s->pms, dpm)) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "resource_missing",
                                "invoice_settings[default_payment_method]",
                                "No such PaymentMethod: '%.80s'", dpm);
        goto out;
    }
    if (json_object_get(p, "email"))
        json_object_set_new(c, "email",
                            email ? json_string(email) : json_null());
    if (json_object_get(p, "name"))
        json_object_set_new(c, "name",
                            name ? json_string(name) : json_null());
    if (json_object_get(p, "description"))
        json_object_set_new(c, "description",
                            desc ? json_string(desc) : json_null());
    md = json_object_get(p, "metadata");
    if (json_is_object(md))
        json_object_update(json_object_get(c, "metadata"), md);
    else if (md)
        json_object_set_new(c, "metadata", json_object());
    if (dpm)
        json_object_set_new(json_object_get(c, "invoice_settings"),
                            "default_payment_method", json_string(dpm));
    cd_sandbox_emit(s, "customer.updated", c);
    cd_sandbox_reply_render(r, c, json_object_get(p, "expand"));
out:
    json_decref(p);
}

void cd_sandbox_h_customer_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->customers,
                         "customer");
}

void cd_sandbox_h_customer_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {{"email"},
                                         {cd_req_query(r, "email")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->customers,
                          "/v1/customers", "customer",
                          cd_sandbox_field_filter_fn, &ff);
}
