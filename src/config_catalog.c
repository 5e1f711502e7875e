/*
 * config_catalog.c - the catalog setting (CREDITD_CATALOG): its JSON parsed
 * into the billing config's plans and credit unit, and the default catalog;
 * setters of config.c's settings table (config_int.h).
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "billing/idempotency.h"
#include "http/server.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define WHY(...) cd_cfg_why_set(why, whysz, __VA_ARGS__)

/* A JSON string field of a catalog entry into dst. */
static int cat_str(json_t *o, const char *k, char *dst, size_t dstsz)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) && json_string_length(v) > 0 &&
                   cd_strlcpy(dst, json_string_value(v), dstsz) == 0
               ? 0
               : -1;
}

static int cat_int(json_t *o, const char *k, int64_t lo, int64_t hi,
                   int64_t *dst)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return -1;
    *dst = json_integer_value(v);
    return 0;
}

/* A plan's optional "credits_expire" ("never" | "period_end") and
 * "rollover_cap" (lots.h); 0 or -1. */
static int cat_plan_expiry(json_t *it, struct cd_plan *p)
{
    char how[16] = "never";

    p->credits_expire_period_end = 0;
    p->rollover_cap = 0;
    if (json_object_get(it, "credits_expire") &&
        cat_str(it, "credits_expire", how, sizeof(how)) != 0)
        return -1;
    if (strcmp(how, "period_end") == 0)
        p->credits_expire_period_end = 1;
    else if (strcmp(how, "never") != 0)
        return -1;
    if (!json_object_get(it, "rollover_cap"))
        return 0;
    if (!p->credits_expire_period_end)
        return -1;
    return cat_int(it, "rollover_cap", 0, p->credits_per_period,
                   &p->rollover_cap);
}

/* The catalog's optional "credit_unit": {"name", "display"}; 0 or -1. */
static int cat_credit_unit(json_t *root, struct cd_billing_config *b)
{
    json_t *u = json_object_get(root, "credit_unit");
    char name[sizeof(b->credit_name)], display[sizeof(b->credit_display)];

    if (!u)
        return 0;
    if (!json_is_object(u))
        return -1;
    cd_strlcpy(name, b->credit_name, sizeof(name));
    cd_strlcpy(display, b->credit_display, sizeof(display));
    if ((json_object_get(u, "name") &&
         cat_str(u, "name", name, sizeof(name)) != 0) ||
        (json_object_get(u, "display") &&
         cat_str(u, "display", display, sizeof(display)) != 0) ||
        (strcmp(display, "count") != 0 && strcmp(display, "currency") != 0))
        return -1;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return -1;
    cd_strlcpy(b->credit_name, name, sizeof(b->credit_name));
    cd_strlcpy(b->credit_display, display, sizeof(b->credit_display));
    return 0;
}

/* The catalog's "packages" array (arr) into b; 0, or -1 with why set. */
static int cat_packages(struct cd_billing_config *b, const char *v,
                        json_t *arr, char *why, size_t whysz)
{
    json_t *it;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) > CD_CATALOG_MAX) {
        WHY("%s: packages must be an array of at most %d", v, CD_CATALOG_MAX);
        return -1;
    }
    b->npackages = 0;
    json_array_foreach(arr, i, it)
    {
        struct cd_package *p = &b->packages[b->npackages];

        if (cat_str(it, "id", p->id, sizeof(p->id)) ||
            cat_str(it, "name", p->name, sizeof(p->name)) ||
            cat_int(it, "price_cents", 50, CD_AMOUNT_MAX, &p->price_cents) ||
            cat_int(it, "credits", 1, CD_AMOUNT_MAX, &p->credits)) {
            WHY("%s: packages[%zu] needs id, name, price_cents (>= 50) "
                "and credits (>= 1)",
                v, i);
            return -1;
        }
        p->expires_in_days = 0;
        if (json_object_get(it, "expires_in_days") &&
            cat_int(it, "expires_in_days", 1, 3650, &p->expires_in_days)) {
            WHY("%s: packages[%zu].expires_in_days must be 1..3650", v, i);
            return -1;
        }
        b->npackages++;
    }
    return 0;
}

/* The catalog's "plans" array (arr) into b; 0, or -1 with why set. */
static int cat_plans(struct cd_billing_config *b, const char *v, json_t *arr,
                     char *why, size_t whysz)
{
    json_t *it;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) > CD_CATALOG_MAX) {
        WHY("%s: plans must be an array of at most %d", v, CD_CATALOG_MAX);
        return -1;
    }
    b->nplans = 0;
    json_array_foreach(arr, i, it)
    {
        struct cd_plan *p = &b->plans[b->nplans];

        if (cat_str(it, "id", p->id, sizeof(p->id)) ||
            cat_str(it, "name", p->name, sizeof(p->name)) ||
            cat_str(it, "interval", p->interval, sizeof(p->interval)) ||
            (strcmp(p->interval, "day") != 0 &&
             strcmp(p->interval, "week") != 0 &&
             strcmp(p->interval, "month") != 0 &&
             strcmp(p->interval, "year") != 0) ||
            cat_int(it, "price_cents", 50, CD_AMOUNT_MAX, &p->price_cents) ||
            cat_int(it, "credits_per_period", 1, CD_AMOUNT_MAX,
                    &p->credits_per_period)) {
            WHY("%s: plans[%zu] needs id, name, interval "
                "(day|week|month|year), price_cents and "
                "credits_per_period",
                v, i);
            return -1;
        }
        if (cat_plan_expiry(it, p) != 0) {
            WHY("%s: plans[%zu]: credits_expire is \"period_end\" or "
                "\"never\"; rollover_cap (0..credits_per_period) only "
                "with \"period_end\"",
                v, i);
            return -1;
        }
        b->nplans++;
    }
    return 0;
}

/* The catalog's "topup" limits (t) into b; 0, or -1 with why set. */
static int cat_topup(struct cd_billing_config *b, const char *v, json_t *t,
                     char *why, size_t whysz)
{
    if (cat_int(t, "min_cents", 50, CD_AMOUNT_MAX, &b->topup_min_cents) ||
        cat_int(t, "max_cents", 50, CD_AMOUNT_MAX, &b->topup_max_cents) ||
        cat_int(t, "step_cents", 1, CD_AMOUNT_MAX, &b->topup_step_cents) ||
        cat_int(t, "default_cents", 50, CD_AMOUNT_MAX,
                &b->topup_default_cents) ||
        b->topup_min_cents > b->topup_max_cents ||
        b->topup_default_cents < b->topup_min_cents ||
        b->topup_default_cents > b->topup_max_cents) {
        WHY("%s: topup needs min_cents <= default_cents <= max_cents and "
            "step_cents",
            v);
        return -1;
    }
    return 0;
}

int cd_cfg_set_catalog(struct cd_config *c, const char *v, char *why,
                       size_t whysz)
{
    struct cd_billing_config *b = &c->billing;
    json_error_t je;
    json_t *root, *arr, *t;
    int rc = -1;

    if (!*v)
        return 0;
    root = json_load_file(v, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return WHY("cannot read %s: %s (line %d)", v, je.text, je.line);
    if (!json_is_object(root)) {
        WHY("%s: want a JSON object", v);
        goto out;
    }
    arr = json_object_get(root, "packages");
    if (arr && cat_packages(b, v, arr, why, whysz) != 0)
        goto out;
    arr = json_object_get(root, "plans");
    if (arr && cat_plans(b, v, arr, why, whysz) != 0)
        goto out;
    if (cat_credit_unit(root, b) != 0) {
        WHY("%s: credit_unit needs a name (1-31 bytes) and display "
            "\"count\" or \"currency\"",
            v);
        goto out;
    }
    t = json_object_get(root, "topup");
    if (t && cat_topup(b, v, t, why, whysz) != 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Built-in catalog, used unless CREDITD_CATALOG names one. */
void cd_cfg_default_catalog(struct cd_billing_config *b)
{
    static const struct cd_package pk[] = {
        {"starter", "Starter - 1,000 credits", 1000, 1000, 0},
        {"standard", "Standard - 5,500 credits", 5000, 5500, 0},
        {"pro", "Pro - 12,000 credits", 10000, 12000, 0},
    };
    static const struct cd_plan pl[] = {
        {"monthly", "Monthly - 2,500 credits a month", 1999, "month", 2500, 0,
         0},
    };

    memcpy(b->packages, pk, sizeof(pk));
    b->npackages = CD_ARRAY_LEN(pk);
    memcpy(b->plans, pl, sizeof(pl));
    b->nplans = CD_ARRAY_LEN(pl);
    b->topup_min_cents = 1000;
    b->topup_max_cents = 50000;
    b->topup_step_cents = 1000;
    b->topup_default_cents = 2000;
    cd_strlcpy(b->credit_name, "credits", sizeof(b->credit_name));
    cd_strlcpy(b->credit_display, "count", sizeof(b->credit_display));
}
