/*
 * portal.c - the sandbox's Billing Portal: POST /v1/billing_portal/sessions
 * (customer, return_url) answers a billing_portal.session whose url is a
 * hosted page here, GET /billing_portal/{bps_id}: the customer's card on
 * file with a form to replace it (test cards; a declining card is
 * refused), each subscription that has not ended with "Cancel
 * subscription" (at period end, as the portal's default configuration
 * does) or "Don't cancel", and a link back to return_url. The page's
 * forms post to /billing_portal/{id}/card|cancel|resume and come back
 * with 303 (so a reload never posts again). A new card becomes the
 * customer's invoice_settings.default_payment_method and every live
 * subscription's default_payment_method (customer.updated and
 * customer.subscription.updated); cancel and resume go through
 * cd_sandbox_sub_update like POST /v1/subscriptions/{id}. Sessions never
 * expire here (Stripe's last five minutes). s->mu is held by dispatch.
 */
#include "sandbox/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stripe/form.h"
#include "util/buf.h"
#include "util/util.h"

#define esc cd_sandbox_html_esc
#define URL_MAX 2048

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The stored portal session of the path's id (sandbox-private), or NULL. */
static json_t *find_session(struct cd_sandbox *s, const char *id)
{
    json_t *ps = json_object_get(s->priv, id ? id : "");

    return strncmp(id ? id : "", "bps_", 4) == 0 ? ps : NULL;
}

/* ---- POST /v1/billing_portal/sessions -------------------------------------- */

static int url_ok(const char *u)
{
    return u && strlen(u) <= URL_MAX &&
           (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

/* Replies with a copy of the session, completed to the pinned version's
 * shape. */
static void reply_session(struct cd_req *r, const json_t *ps)
{
    json_t *out = json_deep_copy(ps);

    cd_sandbox_shape(out);
    cd_reply_json(r, 200, out);
}

static void h_session_create(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *p, *ps;
    const char *cus, *ret;
    char id[64], url[256];

    p = r->body_len ? cd_form_decode(r->body, r->body_len) : json_object();
    if (!json_is_object(p)) {
        json_decref(p);
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error", NULL, NULL,
                                "Invalid request body.");
        return;
    }
    cus = str_of(p, "customer");
    ret = str_of(p, "return_url");
    if (!cus || !cus[0]) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "parameter_missing", "customer",
                                "Missing required param: customer.");
    } else if (!json_object_get(s->customers, cus)) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "resource_missing", "customer",
                                "No such customer: '%.80s'", cus);
    } else if (json_object_get(p, "return_url") && !url_ok(ret)) {
        cd_sandbox_reply_errorf(r, 400, "invalid_request_error",
                                "url_invalid", "return_url",
                                "Not a valid URL");
    } else {
        cd_sandbox_new_id("bps_", id, sizeof(id));
        snprintf(url, sizeof(url), "%s/billing_portal/%s", s->public_url, id);
        ps = json_pack("{s:s, s:s, s:s, s:I, s:s, s:n, s:b, s:n, s:n, "
                       "s:s?, s:s}",
                       "id", id, "object", "billing_portal.session",
                       "configuration", "bpc_sandboxdefault", "created",
                       (json_int_t)cd_now(), "customer", cus, "flow",
                       "livemode", 0, "locale", "on_behalf_of", "return_url",
                       ret, "url", url);
        if (!ps || json_object_set(s->priv, id, ps) != 0)
            cd_sandbox_reply_errorf(r, 500, "api_error", NULL, NULL,
                                    "The sandbox is full.");
        else
            reply_session(r, ps);
        json_decref(ps);
    }
    json_decref(p);
}

/* ---- the page ---------------------------------------------------------------- */

static int sub_live(const json_t *sub)
{
    const char *st = str_of(sub, "status");

    return st && strcmp(st, "canceled") != 0 &&
           strcmp(st, "incomplete_expired") != 0;
}

/* A subscription of cus that has not ended. */
static int owned_live(const json_t *sub, const char *cus)
{
    const char *c = str_of(sub, "customer");

    return sub_live(sub) && c && strcmp(c, cus) == 0;
}

/* The card the customer pays with: the invoice default, else a live
 * subscription's. Borrowed PaymentMethod or NULL. */
static json_t *current_pm(struct cd_sandbox *s, const char *cus)
{
    json_t *c = json_object_get(s->customers, cus), *sub;
    const char *pm = str_of(json_object_get(c, "invoice_settings"),
                            "default_payment_method");
    const char *k;

    if (!pm)
        json_object_foreach(s->subs, k, sub)
        {
            if (owned_live(sub, cus) && str_of(sub, "default_payment_method"))
                pm = str_of(sub, "default_payment_method");
        }
    return pm ? json_object_get(s->pms, pm) : NULL;
}

static void render_card(struct cd_sandbox *s, struct cd_buf *b,
                        const char *id, const char *cus)
{
    json_t *card = json_object_get(current_pm(s, cus), "card");

    cd_buf_appends(b, "<h2>Payment method</h2><p id=\"card-on-file\">");
    if (card) {
        esc(b, str_of(card, "brand"));
        cd_buf_appends(b, " ending in ");
        esc(b, str_of(card, "last4"));
    } else {
        cd_buf_appends(b, "No card on file.");
    }
    cd_buf_appends(b, "</p><form method=\"post\" action=\"/billing_portal/");
    esc(b, id);
    cd_buf_appends(b, "/card\">"
                      "<label for=\"card\">New card number</label>"
                      "<input id=\"card\" name=\"card\" type=\"text\" "
                      "inputmode=\"numeric\" autocomplete=\"cc-number\" "
                      "maxlength=\"32\" required>"
                      "<div class=\"row\"><div>"
                      "<label for=\"exp\">Expiry</label>"
                      "<input id=\"exp\" name=\"exp\" type=\"text\" "
                      "placeholder=\"MM / YY\" maxlength=\"9\"></div><div>"
                      "<label for=\"cvc\">CVC</label>"
                      "<input id=\"cvc\" name=\"cvc\" type=\"text\" "
                      "inputmode=\"numeric\" maxlength=\"4\"></div></div>"
                      "<button type=\"submit\">Update payment method</button>"
                      "</form>");
}

static void render_sub(struct cd_sandbox *s, struct cd_buf *b, const char *id,
                       json_t *sub)
{
    const char *sid = str_of(sub, "id");
    int cape = json_is_true(json_object_get(sub, "cancel_at_period_end"));
    json_t *item = json_array_get(
        json_object_get(json_object_get(sub, "items"), "data"), 0);
    const char *name = str_of(json_object_get(s->priv, sid), "name");
    char when[32] = "";
    time_t end = (time_t)json_integer_value(
        json_object_get(item, "current_period_end"));
    struct tm tm;

    if (end > 0 && gmtime_r(&end, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d", &tm);
    cd_buf_appends(b, "<li><strong>");
    esc(b, name ? name : "Subscription");
    cd_buf_appends(b, "</strong> <span class=\"qty\">");
    esc(b, str_of(sub, "status"));
    cd_buf_appends(b, cape ? ", cancels on " : ", renews on ");
    esc(b, when);
    cd_buf_appends(b,
                   "</span><form method=\"post\" action=\"/billing_portal/");
    esc(b, id);
    cd_buf_appends(b, cape ? "/resume\">" : "/cancel\">");
    cd_buf_appends(b,
                   "<input type=\"hidden\" name=\"subscription\" value=\"");
    esc(b, sid);
    cd_buf_appends(b, cape ? "\"><button type=\"submit\">Don't cancel"
                             "</button></form></li>"
                           : "\"><button type=\"submit\">Cancel "
                             "subscription</button></form></li>");
}

static void render(struct cd_req *r, json_t *ps, int status,
                   const char *error, const char *notice)
{
    struct cd_sandbox *s = r->app;
    const char *id = str_of(ps, "id"), *cus = str_of(ps, "customer");
    const char *ret = str_of(ps, "return_url"), *k;
    struct cd_buf b;
    json_t *sub;
    int n = 0;

    cd_buf_init(&b, CD_SANDBOX_PAGE_MAX);
    cd_sandbox_page_start(&b, "Billing portal - Stripe sandbox");
    cd_buf_appends(&b, "<h1>Manage billing</h1>");
    if (error) {
        cd_buf_appends(&b, "<div role=\"alert\" id=\"error\">");
        esc(&b, error);
        cd_buf_appends(&b, "</div>");
    }
    if (notice) {
        cd_buf_appends(&b, "<p role=\"status\" id=\"notice\">");
        esc(&b, notice);
        cd_buf_appends(&b, "</p>");
    }
    cd_buf_appends(&b, "<h2>Subscriptions</h2><ul class=\"items\" "
                       "aria-label=\"Subscriptions\">");
    json_object_foreach(s->subs, k, sub)
    {
        if (!owned_live(sub, cus))
            continue;
        render_sub(s, &b, id, sub);
        n++;
    }
    cd_buf_appends(&b, n ? "</ul>" : "<li>No active subscription.</li></ul>");
    render_card(s, &b, id, cus);
    if (ret) {
        cd_buf_appends(&b, "<a class=\"cancel\" href=\"");
        esc(&b, ret);
        cd_buf_appends(&b, "\">Return to the site</a>");
    }
    cd_buf_appends(&b, "<div class=\"hint\"><p>Test cards: <code>4242 4242 "
                       "4242 4242</code> works, <code>4000 0000 0000 0002"
                       "</code> is declined.</p></div>");
    cd_sandbox_page_finish(r, &b, status, NULL);
}

static void render_missing(struct cd_req *r)
{
    struct cd_buf b;

    cd_buf_init(&b, CD_SANDBOX_PAGE_MAX);
    cd_sandbox_page_start(&b, "Not found - Stripe sandbox");
    cd_buf_appends(&b, "<h1>Not found</h1><p role=\"status\">There is no "
                       "billing portal session with this id.</p>");
    cd_sandbox_page_finish(r, &b, 404, NULL);
}

static void h_page(struct cd_req *r)
{
    json_t *ps = find_session(r->app, r->params[0]);
    const char *done = cd_req_query(r, "done");
    const char *notice = NULL;

    if (!ps) {
        render_missing(r);
        return;
    }
    if (done && strcmp(done, "card") == 0)
        notice = "Your payment method was updated.";
    else if (done && strcmp(done, "cancel") == 0)
        notice = "Your subscription will be canceled at the end of the "
                 "period.";
    else if (done && strcmp(done, "resume") == 0)
        notice = "Your subscription will renew.";
    render(r, ps, 200, NULL, notice);
}

/* 303 back to the page, saying what was done. */
static void back_to_page(struct cd_req *r, const char *done)
{
    static const char body[] = "Redirecting\n";
    char loc[320];

    snprintf(loc, sizeof(loc), "/billing_portal/%s?done=%s", r->params[0],
             done);
    cd_reply(r, 303, "text/plain; charset=utf-8", body, sizeof(body) - 1);
    cd_reply_header(r, "Location", loc);
    cd_reply_header(r, "Cache-Control", "no-store");
}

/* The form's fields, or NULL after re-rendering the page with 400. */
static json_t *form(struct cd_req *r, json_t *ps)
{
    json_t *p = r->body_len ? cd_form_decode(r->body, r->body_len)
                            : json_object();

    if (!json_is_object(p)) {
        json_decref(p);
        render(r, ps, 400, "The form could not be read. Try again.", NULL);
        return NULL;
    }
    return p;
}

/* The new card: the customer's default and every live subscription's. */
static void use_card(struct cd_sandbox *s, const char *cus, const char *pm)
{
    json_t *c = json_object_get(s->customers, cus), *sub, *prev;
    json_t *is = json_object_get(c, "invoice_settings");
    const char *k;

    prev = json_pack("{s:{s:O}}", "invoice_settings",
                     "default_payment_method",
                     json_object_get(is, "default_payment_method"));
    json_object_set_new(is, "default_payment_method", json_string(pm));
    cd_sandbox_emit_prev(s, "customer.updated", c, prev);
    json_decref(prev);
    json_object_foreach(s->subs, k, sub)
    {
        if (!owned_live(sub, cus))
            continue;
        prev = json_pack("{s:O}", "default_payment_method",
                         json_object_get(sub, "default_payment_method"));
        json_object_set_new(sub, "default_payment_method", json_string(pm));
        cd_sandbox_emit_prev(s, "customer.subscription.updated", sub, prev);
        json_decref(prev);
    }
}

static void h_card(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *ps = find_session(s, r->params[0]), *p, *pm;
    struct cd_sandbox_card card;
    struct cd_sandbox_fail f;

    if (!ps) {
        render_missing(r);
        return;
    }
    if (!(p = form(r, ps)))
        return;
    memset(&card, 0, sizeof(card));
    card.number = str_of(p, "card");
    card.exp = str_of(p, "exp");
    card.cvc = str_of(p, "cvc");
    pm = cd_sandbox_card_attach(s, str_of(ps, "customer"), &card, &f);
    if (!pm) {
        render(r, ps, f.status, f.message, NULL);
    } else {
        use_card(s, str_of(ps, "customer"), str_of(pm, "id"));
        back_to_page(r, "card");
    }
    json_decref(p);
}

static void set_cancel(struct cd_req *r, int cape)
{
    struct cd_sandbox *s = r->app;
    json_t *ps = find_session(s, r->params[0]), *p, *sub;
    struct cd_sandbox_fail f;

    if (!ps) {
        render_missing(r);
        return;
    }
    if (!(p = form(r, ps)))
        return;
    sub = json_object_get(
        s->subs, str_of(p, "subscription") ? str_of(p, "subscription") : "");
    if (!sub || strcmp(str_of(sub, "customer") ? str_of(sub, "customer") : "",
                       str_of(ps, "customer")) != 0)
        render(r, ps, 404, "No such subscription.", NULL);
    else if (cd_sandbox_sub_update(s, sub, cape, NULL, &f) != 0)
        render(r, ps, f.status, f.message, NULL);
    else
        back_to_page(r, cape ? "cancel" : "resume");
    json_decref(p);
}

static void h_cancel(struct cd_req *r)
{
    set_cancel(r, 1);
}

static void h_resume(struct cd_req *r)
{
    set_cancel(r, 0);
}

const struct cd_route cd_sandbox_portal_routes[] = {
    {"POST", "/v1/billing_portal/sessions", h_session_create,
     CD_SANDBOX_F_AUTH | CD_SANDBOX_F_IDEM, 0},
    {"GET", "/billing_portal/{}", h_page, 0, 0},
    {"POST", "/billing_portal/{}/card", h_card, 0, 0},
    {"POST", "/billing_portal/{}/cancel", h_cancel, 0, 0},
    {"POST", "/billing_portal/{}/resume", h_resume, 0, 0},
};
const size_t cd_sandbox_portal_nroutes = CD_ARRAY_LEN(
    cd_sandbox_portal_routes);
