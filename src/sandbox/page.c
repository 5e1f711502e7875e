/*
 * page.c - the sandbox's hosted checkout page (each session's url).
 *
 * GET /checkout/{id} renders a self-contained HTML form (no external
 * resources, strict CSP): the line items, the total, Email, Card number,
 * Expiry and CVC fields with visible labels (in subscription mode, how
 * often the card is billed), a "Pay" button, a "Cancel
 * and go back" link to cancel_url and a hint listing the test cards.
 * POST /checkout/{id}/pay takes the form: success -> 303 to success_url
 * with {CHECKOUT_SESSION_ID} filled in; a decline -> the page again with
 * status 402 and the message in a role="alert" element (the session stays
 * open, so another try works). Everything put into the HTML is escaped.
 * s->mu is held by the dispatch function around each handler.
 */
#include "sandbox/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/form.h"
#include "util/buf.h"
#include "util/util.h"

#define PAGE_MAX CD_SANDBOX_PAGE_MAX
#define esc cd_sandbox_html_esc
#define page_start cd_sandbox_page_start
#define page_finish cd_sandbox_page_finish

void cd_sandbox_html_esc(struct cd_buf *b, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&':
            cd_buf_appends(b, "&amp;");
            break;
        case '<':
            cd_buf_appends(b, "&lt;");
            break;
        case '>':
            cd_buf_appends(b, "&gt;");
            break;
        case '"':
            cd_buf_appends(b, "&quot;");
            break;
        case '\'':
            cd_buf_appends(b, "&#39;");
            break;
        default:
            cd_buf_append(b, s, 1);
            break;
        }
    }
}

/* "$26.99 USD" */
static void money(int64_t minor, const char *currency, char *out,
                  size_t outsz)
{
    char tmp[64], cur[8] = "";

    cd_money_display(minor, currency ? currency : "usd", tmp, sizeof(tmp));
    if (currency && strlen(currency) == 3 &&
        (strcmp(currency, "usd") == 0 || strcmp(currency, "eur") == 0 ||
         strcmp(currency, "gbp") == 0)) {
        for (int i = 0; i < 3; i++)
            cur[i] = (char)(currency[i] - 32);
        cur[3] = '\0';
        snprintf(out, outsz, "%s %s", tmp, cur);
    } else {
        snprintf(out, outsz, "%s", tmp);
    }
}

/* scheme://host[:port] of an http(s) url into out, or -1. */
static int url_origin(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url ? url : "", "://");
    size_t n;

    if (!p ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return -1;
    p += 3;
    n = strcspn(p, "/?#");
    if (n == 0 || (size_t)(p - url) + n + 1 > outsz ||
        strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.-:[]") < n)
        return -1;
    memcpy(out, url, (size_t)(p - url) + n);
    out[(p - url) + n] = '\0';
    return 0;
}

static void page_headers(struct cd_req *r, const json_t *sess)
{
    char csp[256], origin[200];
    const char *succ = json_string_value(
        json_object_get(sess, "success_url"));

    if (!succ)
        snprintf(csp, sizeof(csp), "%s", "'self'");
    else if (url_origin(succ, origin, sizeof(origin)) == 0)
        snprintf(csp, sizeof(csp), "'self' %s", origin);
    else
        snprintf(csp, sizeof(csp), "%s", "*");
    {
        char full[400];
        snprintf(full, sizeof(full),
                 "default-src 'none'; style-src 'unsafe-inline'; "
                 "img-src data:; form-action %s; base-uri 'none'; "
                 "frame-ancestors 'none'",
                 csp);
        cd_reply_header(r, "Content-Security-Policy", full);
    }
    /* Not no-referrer: with it, Chromium sends "Origin: null" on the
     * form's own POST, which guard.c refuses as a foreign origin.
     * same-origin still sends no referrer to success_url or cancel_url. */
    cd_reply_header(r, "Referrer-Policy", "same-origin");
    cd_reply_header(r, "Cache-Control", "no-store");
}

static const char STYLE[] =
    "<style>"
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',"
    "sans-serif;background:#f6f8fa;color:#1a1f36}"
    "main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    ".badge{display:inline-block;font-size:.75rem;font-weight:600;"
    "background:#ffde92;color:#6b4a00;padding:.1rem .5rem;border-radius:4px}"
    ".merchant{margin:.75rem 0 0;font-weight:600;color:#4f566b}"
    "h1{font-size:1.25rem;margin:.75rem 0 .25rem}"
    "h2{font-size:1rem;margin:1.25rem 0 .25rem}"
    ".total{font-size:2rem;font-weight:700;margin:0 0 1rem}"
    "ul.items{list-style:none;padding:0;margin:0 0 1rem;"
    "border-top:1px solid #e3e8ee}"
    "ul.items li{display:flex;justify-content:space-between;gap:1rem;"
    "padding:.5rem 0;border-bottom:1px solid #e3e8ee}"
    "label{display:block;font-weight:600;font-size:.875rem;margin:.75rem 0 "
    ".25rem}"
    "input{width:100%;font:inherit;padding:.5rem .75rem;border:1px solid "
    "#c1c9d2;border-radius:6px}"
    "input:focus{outline:2px solid #635bff;outline-offset:1px}"
    ".row{display:flex;gap:1rem}.row>div{flex:1}"
    "button{width:100%;margin-top:1.25rem;font:inherit;font-weight:600;"
    "padding:.75rem;border:0;border-radius:6px;background:#635bff;"
    "color:#fff;cursor:pointer}"
    "button:focus{outline:2px solid #1a1f36;outline-offset:2px}"
    "[role=alert]{background:#fdecea;color:#a0161b;border:1px solid "
    "#f5c2c0;border-radius:6px;padding:.5rem .75rem;margin:1rem 0 0}"
    ".cancel{display:inline-block;margin-top:1rem;color:#635bff}"
    ".hint{margin-top:1.5rem;font-size:.8125rem;color:#4f566b}"
    ".hint ul{margin:.25rem 0 0;padding-left:1.25rem}"
    "code{font-family:ui-monospace,monospace}"
    "</style>";

void cd_sandbox_page_start(struct cd_buf *b, const char *title)
{
    cd_buf_appends(b, "<!doctype html>\n<html lang=\"en\"><head>"
                      "<meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, "
                      "initial-scale=1\"><title>");
    esc(b, title);
    cd_buf_appends(b, "</title>");
    cd_buf_appends(b, STYLE);
    cd_buf_appends(b, "</head><body><main>"
                      "<p class=\"badge\">Test mode &middot; Stripe sandbox"
                      "</p>");
}

void cd_sandbox_page_finish(struct cd_req *r, struct cd_buf *b, int status,
                            const json_t *sess)
{
    cd_buf_appends(b, "</main></body></html>\n");
    if (!b->data) {
        cd_reply(r, 500, "text/plain; charset=utf-8", "page too large\n", 15);
        return;
    }
    cd_reply(r, status, "text/html; charset=utf-8", b->data, b->len);
    page_headers(r, sess);
    cd_buf_free(b);
}

/* The email to re-fill: the one posted, the session's, or its
 * customer's. */
static const char *form_email(struct cd_sandbox *s, const json_t *sess,
                              const char *email)
{
    if (!email)
        email = json_string_value(json_object_get(sess, "customer_email"));
    if (!email) {
        json_t *c = cd_sandbox_lookup(
            s, json_string_value(json_object_get(sess, "customer")));
        email = json_string_value(json_object_get(c, "email"));
    }
    return email;
}

/* The merchant, the heading (the one item's name), the total amt and a
 * subscription's billing interval. */
static void render_summary(struct cd_buf *b, const struct cd_sandbox *s,
                           const json_t *sess, json_t *items, const char *amt)
{
    if (s->account_name[0]) { /* Stripe names the merchant on top */
        cd_buf_appends(b, "<p class=\"merchant\">");
        esc(b, s->account_name);
        cd_buf_appends(b, "</p>");
    }
    if (json_array_size(items) == 1) {
        cd_buf_appends(b, "<h1>");
        esc(b, json_string_value(
                   json_object_get(json_array_get(items, 0), "description")));
        cd_buf_appends(b, "</h1>");
    } else {
        cd_buf_appends(b, "<h1>Checkout</h1>");
    }
    cd_buf_appends(b, "<p class=\"total\" aria-label=\"Total\">");
    esc(b, amt);
    cd_buf_appends(b, "</p>");
    if (json_string_value(json_object_get(sess, "mode")) &&
        strcmp(json_string_value(json_object_get(sess, "mode")),
               "subscription") == 0) {
        /* A subscription: say how often the card is charged. */
        size_t k;
        json_t *it;
        json_array_foreach(items, k, it)
        {
            const char *iv = json_string_value(json_object_get(
                json_object_get(json_object_get(it, "price"), "recurring"),
                "interval"));
            if (iv) {
                cd_buf_appends(b, "<p class=\"qty\">Subscription, billed "
                                  "every ");
                esc(b, iv);
                cd_buf_appends(b, " until canceled</p>");
                break;
            }
        }
    }
}

/* One item: its quantity when not 1; several: the list of items. */
static void render_items(struct cd_buf *b, json_t *items, const char *cur)
{
    json_t *li;
    size_t i;

    if (json_array_size(items) == 1) {
        /* One item: its name is the heading; just say the quantity. */
        json_int_t q = json_integer_value(
            json_object_get(json_array_get(items, 0), "quantity"));
        json_int_t unit = json_integer_value(json_object_get(
            json_object_get(json_array_get(items, 0), "price"),
            "unit_amount"));
        if (q != 1) {
            char each[96];
            money(unit, cur, each, sizeof(each));
            cd_buf_appendf(b, "<p class=\"qty\">Qty %lld &times; ",
                           (long long)q);
            esc(b, each);
            cd_buf_appends(b, "</p>");
        }
        items = NULL; /* no list */
    }
    if (items)
        cd_buf_appends(b, "<ul class=\"items\" aria-label=\"Items\">");
    json_array_foreach(items, i, li)
    {
        char line[96];
        money(json_integer_value(json_object_get(li, "amount_total")), cur,
              line, sizeof(line));
        cd_buf_appends(b, "<li><span>");
        esc(b, json_string_value(json_object_get(li, "description")));
        if (json_integer_value(json_object_get(li, "quantity")) != 1)
            cd_buf_appendf(b, " &times; %lld",
                           (long long)json_integer_value(
                               json_object_get(li, "quantity")));
        cd_buf_appends(b, "</span><span>");
        esc(b, line);
        cd_buf_appends(b, "</span></li>");
    }
    if (items)
        cd_buf_appends(b, "</ul>");
}

/* The card form posting to /checkout/{sid}/pay, email and exp re-filled. */
static void render_fields(struct cd_buf *b, const char *sid,
                          const char *email, const char *exp)
{
    cd_buf_appends(b, "<form method=\"post\" action=\"/checkout/");
    esc(b, sid);
    cd_buf_appends(b, "/pay\" autocomplete=\"on\">"
                      "<label for=\"email\">Email</label>"
                      "<input id=\"email\" name=\"email\" type=\"email\" "
                      "autocomplete=\"email\" maxlength=\"512\" value=\"");
    esc(b, email);
    cd_buf_appends(b, "\">"
                      "<label for=\"card\">Card number</label>"
                      "<input id=\"card\" name=\"card\" type=\"text\" "
                      "inputmode=\"numeric\" autocomplete=\"cc-number\" "
                      "placeholder=\"1234 1234 1234 1234\" maxlength=\"32\" "
                      "required>"
                      "<div class=\"row\"><div>"
                      "<label for=\"exp\">Expiry</label>"
                      "<input id=\"exp\" name=\"exp\" type=\"text\" "
                      "autocomplete=\"cc-exp\" placeholder=\"MM / YY\" "
                      "maxlength=\"9\" value=\"");
    esc(b, exp);
    cd_buf_appends(b, "\"></div><div>"
                      "<label for=\"cvc\">CVC</label>"
                      "<input id=\"cvc\" name=\"cvc\" type=\"text\" "
                      "inputmode=\"numeric\" autocomplete=\"cc-csc\" "
                      "placeholder=\"CVC\" maxlength=\"4\">"
                      "</div></div>"
                      "<button type=\"submit\">Pay</button></form>");
}

/* The cancel link (when the session has a cancel_url) and the test
 * cards. */
static void render_tail(struct cd_buf *b, const char *cancel)
{
    if (cancel) {
        cd_buf_appends(b, "<a class=\"cancel\" href=\"");
        esc(b, cancel);
        cd_buf_appends(b, "\">Cancel and go back</a>");
    }
    cd_buf_appends(
        b, "<div class=\"hint\"><p>This is a test page: no real card is "
           "charged. Test cards (any future expiry, any CVC):</p><ul>"
           "<li><code>4242 4242 4242 4242</code> succeeds</li>"
           "<li><code>4000 0000 0000 0002</code> is declined</li>"
           "<li><code>4000 0000 0000 9995</code> insufficient funds</li>"
           "<li><code>4000 0000 0000 0077</code> expired card</li>"
           "<li><code>4000 0000 0000 0127</code> incorrect CVC</li>"
           "</ul></div>");
}

/* The checkout form; error (may be NULL) shown in a role="alert" box,
 * email re-filled. */
static void render_form(struct cd_req *r, const json_t *sess, int status,
                        const char *error, const char *email, const char *exp)
{
    struct cd_sandbox *s = r->app;
    const char *sid = json_string_value(json_object_get(sess, "id"));
    const char *cur = json_string_value(json_object_get(sess, "currency"));
    const char *cancel = json_string_value(
        json_object_get(sess, "cancel_url"));
    json_t *priv = json_object_get(s->priv, sid);
    json_t *items = json_object_get(priv, "line_items");
    char amt[96];
    struct cd_buf b;

    email = form_email(s, sess, email);
    cd_buf_init(&b, PAGE_MAX);
    money(json_integer_value(json_object_get(sess, "amount_total")), cur, amt,
          sizeof(amt));
    page_start(&b, "Checkout - Stripe sandbox");
    render_summary(&b, s, sess, items, amt);
    render_items(&b, items, cur);
    if (error) {
        cd_buf_appends(&b, "<div role=\"alert\" id=\"error\">");
        esc(&b, error);
        cd_buf_appends(&b, "</div>");
    }
    render_fields(&b, sid, email, exp);
    render_tail(&b, cancel);
    page_finish(r, &b, status, sess);
}

/* A page for a session that cannot be paid any more. */
static void render_closed(struct cd_req *r, const json_t *sess, int status)
{
    const char *st = json_string_value(json_object_get(sess, "status"));
    const char *url = NULL;
    struct cd_buf b;

    cd_buf_init(&b, PAGE_MAX);
    page_start(&b, "Checkout - Stripe sandbox");
    if (st && strcmp(st, "complete") == 0) {
        cd_buf_appends(&b, "<h1>Payment complete</h1><p role=\"status\">"
                           "This checkout session is complete; it has "
                           "already been paid.</p>");
    } else {
        cd_buf_appends(&b, "<h1>Session expired</h1><p role=\"status\">"
                           "This checkout session has expired. Go back and "
                           "start a new checkout.</p>");
        url = json_string_value(json_object_get(sess, "cancel_url"));
    }
    if (url) {
        cd_buf_appends(&b, "<a class=\"cancel\" href=\"");
        esc(&b, url);
        cd_buf_appends(&b, "\">Go back</a>");
    }
    page_finish(r, &b, status, sess);
}

static void render_missing(struct cd_req *r)
{
    struct cd_buf b;

    cd_buf_init(&b, PAGE_MAX);
    page_start(&b, "Not found - Stripe sandbox");
    cd_buf_appends(&b, "<h1>Not found</h1><p role=\"status\">There is no "
                       "checkout session with this id.</p>");
    page_finish(r, &b, 404, NULL);
}

static void h_page(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    json_t *sess = json_object_get(s->sessions, r->params[0]);
    const char *st;

    if (!sess) {
        render_missing(r);
        return;
    }
    cd_sandbox_session_refresh(s, sess);
    st = json_string_value(json_object_get(sess, "status"));
    if (!st || strcmp(st, "open") != 0)
        render_closed(r, sess, 200);
    else
        render_form(r, sess, 200, NULL, NULL, NULL);
}

/* success_url with every {CHECKOUT_SESSION_ID} replaced; new string. */
static char *success_target(const char *url, const char *sid)
{
    static const char tpl[] = "{CHECKOUT_SESSION_ID}";
    struct cd_buf b;
    const char *p;

    cd_buf_init(&b, 16384);
    while ((p = strstr(url, tpl)) != NULL) {
        cd_buf_append(&b, url, (size_t)(p - url));
        cd_buf_appends(&b, sid);
        url = p + sizeof(tpl) - 1;
    }
    cd_buf_appends(&b, url);
    return cd_buf_take(&b, NULL);
}

static void h_pay(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_fail f;
    struct cd_sandbox_card card;
    json_t *sess = json_object_get(s->sessions, r->params[0]), *p;
    const char *succ, *st;
    char *target;

    if (!sess) {
        render_missing(r);
        return;
    }
    cd_sandbox_session_refresh(s, sess);
    st = json_string_value(json_object_get(sess, "status"));
    if (!st || strcmp(st, "open") != 0) {
        render_closed(r, sess, 400);
        return;
    }
    p = r->body_len ? cd_form_decode(r->body, r->body_len) : json_object();
    if (!json_is_object(p)) {
        json_decref(p);
        render_form(r, sess, 400, "The form could not be read. Try again.",
                    NULL, NULL);
        return;
    }
    card.number = json_string_value(json_object_get(p, "card"));
    card.exp = json_string_value(json_object_get(p, "exp"));
    card.cvc = json_string_value(json_object_get(p, "cvc"));
    card.email = json_string_value(json_object_get(p, "email"));
    if (cd_sandbox_checkout_pay(s, sess, &card, &f) != 0) {
        render_form(r, sess, f.status, f.message, card.email, card.exp);
        json_decref(p);
        return;
    }
    json_decref(p);
    succ = json_string_value(json_object_get(sess, "success_url"));
    target = succ ? success_target(succ, r->params[0]) : NULL;
    if (target && strlen(target) < 500) {
        static const char body[] = "Redirecting\n";
        cd_reply(r, 303, "text/plain; charset=utf-8", body, sizeof(body) - 1);
        cd_reply_header(r, "Location", target);
        cd_reply_header(r, "Cache-Control", "no-store");
    } else {
        struct cd_buf b;
        cd_buf_init(&b, PAGE_MAX);
        page_start(&b, "Payment complete - Stripe sandbox");
        cd_buf_appends(&b, "<h1>Payment complete</h1><p role=\"status\">"
                           "Thank you. Your payment succeeded.</p>");
        if (target) {
            cd_buf_appends(&b, "<a class=\"cancel\" href=\"");
            esc(&b, target);
            cd_buf_appends(&b, "\">Continue</a>");
        }
        page_finish(r, &b, 200, sess);
    }
    free(target);
}

const struct cd_route cd_sandbox_page_routes[] = {
    {"GET", "/checkout/{}", h_page, 0, 0},
    {"POST", "/checkout/{}/pay", h_pay, 0, 0},
};
const size_t cd_sandbox_page_nroutes = CD_ARRAY_LEN(cd_sandbox_page_routes);
