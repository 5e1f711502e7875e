/*
 * cards.c - test cards and PaymentMethod objects: Stripe's test card
 * numbers and their outcomes, checking a typed card, storing it as a
 * PaymentMethod, and the /v1/payment_methods routes.
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

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* ------------------------------------------------------------------ */
/* Test cards                                                          */

struct test_card {
    const char *number;
    const char *code;
    const char *decline_code;
    const char *param;
    const char *message;
};

/* Outcomes from shared/stripe/REFERENCE.md section 5. 4000000000000077
 * declines as an expired card (the checkout page issue asks for that,
 * although real Stripe lets it succeed). */
static const struct test_card test_cards[] = {
    {"4000000000000002", "card_declined", "generic_decline", NULL,
     "Your card was declined."},
    {"4000000000009995", "card_declined", "insufficient_funds", NULL,
     "Your card has insufficient funds."},
    {"4000000000009987", "card_declined", "lost_card", NULL,
     "Your card was declined."},
    {"4000000000009979", "card_declined", "stolen_card", NULL,
     "Your card was declined."},
    {"4000000000000069", "expired_card", "expired_card", "exp_month",
     "Your card has expired."},
    {"4000000000000077", "expired_card", "expired_card", "exp_month",
     "Your card has expired."},
    {"4000000000000127", "incorrect_cvc", "incorrect_cvc", "cvc",
     "Your card's security code is incorrect."},
    {"4000000000000119", "processing_error", "processing_error", NULL,
     "An error occurred while processing your card. Try again in a little "
     "bit."},
    {"4000000000006975", "card_declined", "card_velocity_exceeded", NULL,
     "Your card was declined for making repeated attempts too frequently "
     "or exceeding its amount limit."},
};

static int luhn_ok(const char *d)
{
    size_t n = strlen(d);
    int sum = 0, dbl = 0;

    for (size_t i = n; i-- > 0;) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

const char *cd_sandbox_card_brand(const char *d)
{
    if (d[0] == '4')
        return "visa";
    if ((d[0] == '5' && d[1] >= '1' && d[1] <= '5') ||
        (d[0] == '2' && d[1] >= '2' && d[1] <= '7'))
        return "mastercard";
    if (d[0] == '3' && (d[1] == '4' || d[1] == '7'))
        return "amex";
    if (has_prefix(d, "6011") || has_prefix(d, "65"))
        return "discover";
    return "unknown";
}

/* Digits of the card number without spaces/dashes into out (>= 20). */
static int card_digits(const char *in, char *out, size_t outsz)
{
    size_t n = 0;

    if (!in)
        return -1;
    for (; *in; in++) {
        if (*in == ' ' || *in == '-' || *in == '+')
            continue;
        if (*in < '0' || *in > '9' || n + 1 >= outsz)
            return -1;
        out[n++] = *in;
    }
    out[n] = '\0';
    return n >= 12 && n <= 19 ? 0 : -1;
}

/* Parses "MM/YY", "MM / YY", "MM/YYYY", "MMYY"; 0 or -1. */
static int parse_exp(const char *in, int *month, int *year)
{
    char d[8];
    size_t n = 0;
    int slash = 0;

    for (; *in; in++) {
        if (*in == ' ' || *in == '+')
            continue;
        if (*in == '/') {
            if (slash++ || n != 2)
                return -1;
            continue;
        }
        if (*in < '0' || *in > '9' || n + 1 >= sizeof(d))
            return -1;
        d[n++] = *in;
    }
    d[n] = '\0';
    if (n != 4 && n != 6)
        return -1;
    *month = (d[0] - '0') * 10 + (d[1] - '0');
    *year = (int)strtol(d + 2, NULL, 10);
    if (n == 4)
        *year += 2000;
    return *month >= 1 && *month <= 12 ? 0 : -1;
}

static int card_fail(struct cd_sandbox_fail *f, const char *code,
                     const char *decline_code, const char *param,
                     const char *msg)
{
    cd_sandbox_fail_set(f, 402, "card_error", code, param, "%s", msg);
    if (decline_code)
        cd_strlcpy(f->decline_code, decline_code, sizeof(f->decline_code));
    return -1;
}

/* Checks what the payer typed (card number, expiry, CVC, email); fills
 * digits. 0, or -1 with f filled. */
int cd_sandbox_card_check(const struct cd_sandbox_card *card, char *digits,
                          size_t dsz, int *exp_month, int *exp_year,
                          struct cd_sandbox_fail *f)
{
    digits[0] = '\0'; /* the outputs are written on every path */
    *exp_month = 12;
    *exp_year = 2034;
    if (card->email && card->email[0] &&
        (strlen(card->email) > 512 || !strchr(card->email, '@') ||
         strpbrk(card->email, " <>\"\r\n")))
        return cd_sandbox_fail_set(f, 400, NULL, "email_invalid", "email",
                                   "Your email address is invalid.");
    if (!card->number || !card->number[0])
        return card_fail(f, "incomplete_number", NULL, "number",
                         "Your card number is incomplete.");
    if (card_digits(card->number, digits, dsz) != 0 || !luhn_ok(digits))
        return card_fail(f, "incorrect_number", NULL, "number",
                         "Your card number is incorrect.");
    if (card->exp && card->exp[0]) {
        char now_s[21];
        int cy, cm;
        if (parse_exp(card->exp, exp_month, exp_year) != 0)
            return card_fail(f, "invalid_expiry_month", NULL, "exp_month",
                             "Your card's expiration date is invalid.");
        cd_time_rfc3339(cd_now(), now_s);
        cy = (int)strtol(now_s, NULL, 10);
        cm = (int)strtol(now_s + 5, NULL, 10);
        if (*exp_year < cy || (*exp_year == cy && *exp_month < cm))
            return card_fail(f, "invalid_expiry_year", NULL, "exp_year",
                             "Your card's expiration year is in the past.");
        if (*exp_year > cy + 50)
            return card_fail(f, "invalid_expiry_year", NULL, "exp_year",
                             "Your card's expiration year is invalid.");
    }
    if (card->cvc && card->cvc[0]) {
        size_t n = strlen(card->cvc);
        if (n < 3 || n > 4 || strspn(card->cvc, "0123456789") != n)
            return card_fail(f, "invalid_cvc", NULL, "cvc",
                             "Your card's security code is invalid.");
    }
    return 0;
}

/*
 * The outcome of charging the card: 0 (succeeds) or -1 with f filled.
 * Off-session charges also decline 4000000000000341 (attaches, then
 * charges fail) and 4000002760003184 (always needs 3-D Secure), which
 * succeed in the checkout flow so that they can be saved first.
 */
int cd_sandbox_card_outcome(const char *digits, int off_session,
                            struct cd_sandbox_fail *f)
{
    for (size_t i = 0; i < CD_ARRAY_LEN(test_cards); i++)
        if (strcmp(digits, test_cards[i].number) == 0)
            return card_fail(f, test_cards[i].code,
                             test_cards[i].decline_code, test_cards[i].param,
                             test_cards[i].message);
    if (off_session && strcmp(digits, "4000000000000341") == 0)
        return card_fail(f, "card_declined", "generic_decline", NULL,
                         "Your card was declined.");
    if (off_session && strcmp(digits, "4000002760003184") == 0)
        return card_fail(f, "authentication_required",
                         "authentication_required", NULL,
                         "Your card was declined. This transaction requires "
                         "authentication.");
    return 0;
}

static json_t *card_json(const char *digits, int exp_month, int exp_year)
{
    const char *brand = cd_sandbox_card_brand(digits);
    char fp[17];

    /* A stable fingerprint per number, like Stripe's. */
    {
        char h[65];
        cd_sha256_hex(digits, strlen(digits), h);
        memcpy(fp, h, 16);
        fp[16] = '\0';
    }
    /* A PaymentMethod's card names the networks it can run on
     * (card.networks; a charge's card names the one it ran on). */
    return json_pack("{s:s, s:{s:n, s:n, s:n}, s:s, s:s, s:i, s:i, s:s, "
                     "s:s, s:s, s:{s:[s], s:n}}",
                     "brand", brand, "checks", "address_line1_check",
                     "address_postal_code_check", "cvc_check", "country",
                     "US", "display_brand", brand, "exp_month", exp_month,
                     "exp_year", exp_year, "fingerprint", fp, "funding",
                     "credit", "last4", digits + strlen(digits) - 4,
                     "networks", "available", brand, "preferred");
}

json_t *cd_sandbox_billing_details(const char *email)
{
    return json_pack("{s:n, s:s?, s:n, s:n}", "address", "email", email,
                     "name", "phone");
}

/* A new stored PaymentMethod for a card (borrowed), its number kept in
 * s->priv for later off-session charges; NULL when full. */
json_t *cd_sandbox_pm_new(struct cd_sandbox *s, const char *digits,
                          int exp_month, int exp_year, const char *email,
                          const char *cus_id)
{
    char id[64];
    json_t *pm;

    cd_sandbox_new_id("pm_", id, sizeof(id));
    pm = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s?, s:b, s:{}, s:s}",
                   "id", id, "object", "payment_method", "allow_redisplay",
                   "unspecified", "billing_details",
                   cd_sandbox_billing_details(email), "card",
                   card_json(digits, exp_month, exp_year), "created",
                   (json_int_t)cd_now(), "customer", cus_id, "livemode", 0,
                   "metadata", "type", "card");
    if (!pm || cd_sandbox_store(s->pms, pm) != 0)
        return NULL;
    json_object_set_new(s->priv, id, json_pack("{s:s}", "number", digits));
    return pm;
}

/* The test card number behind a PaymentMethod id or one of Stripe's test
 * tokens (pm_card_visa, ...); NULL when unknown. */
const char *cd_sandbox_pm_number(struct cd_sandbox *s, const char *pm_id)
{
    static const struct {
        const char *token, *number;
    } tokens[] = {
        {"pm_card_visa", "4242424242424242"},
        {"pm_card_mastercard", "5555555555554444"},
        {"pm_card_visa_chargeDeclined", "4000000000000002"},
        {"pm_card_visa_chargeDeclinedInsufficientFunds", "4000000000009995"},
        {"pm_card_visa_chargeDeclinedLostCard", "4000000000009987"},
        {"pm_card_visa_chargeDeclinedStolenCard", "4000000000009979"},
        {"pm_card_chargeDeclinedExpiredCard", "4000000000000069"},
        {"pm_card_chargeDeclinedIncorrectCvc", "4000000000000127"},
        {"pm_card_chargeDeclinedProcessingError", "4000000000000119"},
        {"pm_card_chargeCustomerFail", "4000000000000341"},
        {"pm_card_authenticationRequired", "4000002760003184"},
    };

    for (size_t i = 0; i < CD_ARRAY_LEN(tokens); i++)
        if (strcmp(pm_id, tokens[i].token) == 0)
            return tokens[i].number;
    return json_string_value(
        json_object_get(json_object_get(s->priv, pm_id), "number"));
}

json_t *cd_sandbox_card_attach(struct cd_sandbox *s, const char *cus_id,
                               const struct cd_sandbox_card *card,
                               struct cd_sandbox_fail *f)
{
    char digits[24];
    int exp_month, exp_year;
    json_t *pm;

    if (cd_sandbox_card_check(card, digits, sizeof(digits), &exp_month,
                              &exp_year, f) ||
        cd_sandbox_card_outcome(digits, 0, f))
        return NULL;
    pm = cd_sandbox_pm_new(s, digits, exp_month, exp_year, card->email,
                           cus_id);
    if (!pm) {
        cd_sandbox_fail_set(f, 500, "api_error", NULL, NULL,
                            "The sandbox is full.");
        return NULL;
    }
    cd_sandbox_emit(s, "payment_method.attached", pm);
    return pm;
}

void cd_sandbox_h_pm_get(struct cd_req *r)
{
    cd_sandbox_reply_get(r, ((struct cd_sandbox *)r->app)->pms,
                         "PaymentMethod");
}

void cd_sandbox_h_pm_list(struct cd_req *r)
{
    struct cd_sandbox_field_filter ff = {
        {"customer", "type"},
        {cd_req_query(r, "customer"), cd_req_query(r, "type")}};

    cd_sandbox_reply_list(r, ((struct cd_sandbox *)r->app)->pms,
                          "/v1/payment_methods", "PaymentMethod",
                          cd_sandbox_field_filter_fn, &ff);
}

void cd_sandbox_h_customer_pm_list(struct cd_req *r)
{
    struct cd_sandbox *s = r->app;
    struct cd_sandbox_field_filter ff = {
        {"customer", "type"}, {r->params[0], cd_req_query(r, "type")}};
    char url[CD_HTTP_PARAM_MAX + 64];

    if (!json_object_get(s->customers, r->params[0])) {
        cd_sandbox_reply_errorf(r, 404, "invalid_request_error",
                                "resource_missing", "customer",
                                "No such customer: '%.80s'", r->params[0]);
        return;
    }
    snprintf(url, sizeof(url), "/v1/customers/%s/payment_methods",
             r->params[0]);
    cd_sandbox_reply_list(r, s->pms, url, "PaymentMethod",
                          cd_sandbox_field_filter_fn, &ff);
}
