/*
 * helpers.c - what every handler shares: reading JSON bodies, amounts,
 * strings, booleans and paging parameters (each replying 400 itself on bad
 * input), and the JSON shapes that several resources return.
 */
#include <string.h>

#include "api/api.h"
#include "util/util.h"

#define CD_API_OFFSET_MAX INT64_C(1000000000)

struct cd_api_ctx *cd_api_ctx(struct cd_req *req)
{
    return req->ctx;
}

struct cd_app *cd_api_app(struct cd_req *req)
{
    return req->app;
}

int cd_api_require_account(struct cd_req *req, struct cd_api_ctx **out)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);

    if (!ctx || !ctx->has_account || !ctx->account.id[0]) {
        cd_reply_errorf(req, CD_EK_AUTH, "unauthenticated", NULL,
                        "An account token (or the server key with "
                        "Creditd-Account) is required.");
        return -1;
    }
    *out = ctx;
    return 0;
}

/*
 * The member name in front of the number that ends at byte pos of body
 * (jansson's position of a "too big" integer): `"name" : <number>` read
 * backwards. Copies it into out and returns 0; -1 when the number is not
 * an object member or the name is not plain [A-Za-z0-9_].
 */
static int number_field(const char *body, size_t len, size_t pos, char *out,
                        size_t outsz)
{
    size_t i = pos < len ? pos : len, end;

    while (i > 0 && (body[i - 1] == '-' || body[i - 1] == '+' ||
                     (body[i - 1] >= '0' && body[i - 1] <= '9')))
        i--;
    while (i > 0 && strchr(" \t\r\n", body[i - 1]) && body[i - 1] != '\0')
        i--;
    if (i == 0 || body[i - 1] != ':')
        return -1;
    i--;
    while (i > 0 && strchr(" \t\r\n", body[i - 1]) && body[i - 1] != '\0')
        i--;
    if (i == 0 || body[i - 1] != '"')
        return -1;
    end = --i;
    while (i > 0 && body[i - 1] != '"') {
        char c = body[i - 1];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return -1;
        i--;
    }
    if (i == 0 || end == i || end - i >= outsz)
        return -1;
    memcpy(out, body + i, end - i);
    out[end - i] = '\0';
    return 0;
}

/* Whether a field holds money: "amount" or any "*_cents". */
static int is_amount_field(const char *name)
{
    size_t n = strlen(name);

    return strcmp(name, "amount") == 0 ||
           (n > 6 && strcmp(name + n - 6, "_cents") == 0);
}

json_t *cd_api_body(struct cd_req *req)
{
    json_error_t jerr;
    json_t *body;

    if (!req->body || req->body_len == 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_json", NULL,
                        "the request body must be a JSON object");
        return NULL;
    }
    body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (!body) {
        /* An integer literal past int64: invalid_amount for an amount
         * field, invalid_param for any other, naming the field when it
         * can be found. */
        char field[64];
        if (strstr(jerr.text, "too big") && jerr.position >= 0 &&
            number_field(req->body, req->body_len, (size_t)jerr.position,
                         field, sizeof(field)) == 0) {
            cd_reply_errorf(req, CD_EK_INVALID,
                            is_amount_field(field) ? "invalid_amount"
                                                   : "invalid_param",
                            field, "%s is out of range", field);
        } else if (strstr(jerr.text, "too big")) {
            cd_reply_errorf(req, CD_EK_INVALID, "invalid_amount", NULL,
                            "a number in the request is out of range");
        } else {
            cd_reply_errorf(req, CD_EK_INVALID, "invalid_json", NULL,
                            "the request body is not valid JSON");
        }
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_json", NULL,
                        "the request body must be a JSON object");
        return NULL;
    }
    return body;
}

int cd_api_amount(struct cd_req *req, json_t *body, const char *key,
                  int64_t *out)
{
    json_t *v = json_object_get(body, key);
    json_int_t n;

    /* json_is_integer: 1.5, 10.0 and 1e3 are reals, refused. */
    if (!v || !json_is_integer(v)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_amount", key,
                        "%s must be an integer from 1 to 10^12", key);
        return -1;
    }
    n = json_integer_value(v);
    if (n < 1 || n > CD_AMOUNT_MAX) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_amount", key,
                        "%s must be an integer from 1 to 10^12", key);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

int cd_api_string(struct cd_req *req, json_t *body, const char *key,
                  size_t max, const char **out)
{
    json_t *v = json_object_get(body, key);
    const char *s;
    size_t n;

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be a string", key);
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n > max) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s is longer than %zu bytes", key, max);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                            "%s contains a control character", key);
            return -1;
        }
    }
    *out = s;
    return 0;
}

int cd_api_string_req(struct cd_req *req, json_t *body, const char *key,
                      size_t max, const char **out)
{
    if (cd_api_string(req, body, key, max, out) != 0)
        return -1;
    if (!*out) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", key,
                        "%s is required", key);
        return -1;
    }
    return 0;
}

int cd_api_time_field(struct cd_req *req, json_t *body, const char *key,
                      int64_t *out)
{
    const char *s;

    *out = 0;
    if (cd_api_string(req, body, key, 64, &s) != 0)
        return -1;
    if (s && (cd_time_parse_rfc3339(s, out) != 0 || *out == 0)) {
        *out = 0;
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be an RFC 3339 time such as "
                        "2030-01-31T12:00:00Z (offset Z or +hh:mm), after "
                        "1970-01-01T00:00:00Z and up to "
                        "9999-12-31T23:59:59Z",
                        key);
        return -1;
    }
    return 0;
}

int cd_api_bool(struct cd_req *req, json_t *body, const char *key, int dflt,
                int *out)
{
    json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", key,
                        "%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int cd_api_paging(struct cd_req *req, int64_t dflt, int64_t *limit,
                  int64_t *offset)
{
    const char *l = cd_req_query(req, "limit");
    const char *o = cd_req_query(req, "offset");

    *limit = dflt;
    *offset = 0;
    if (l && cd_parse_int64(l, 1, 100, limit) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "limit",
                        "limit must be an integer from 1 to 100");
        return -1;
    }
    if (o && cd_parse_int64(o, 0, CD_API_OFFSET_MAX, offset) != 0) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "offset",
                        "offset must be a non-negative integer");
        return -1;
    }
    return 0;
}

int cd_api_starting_after(struct cd_req *req, const char *what,
                          const char **after)
{
    const char *v = cd_req_query(req, "starting_after");
    size_t n = v ? strlen(v) : 0;

    *after = NULL;
    if (!v)
        return 0;
    for (size_t i = 0; i < n && n < CD_ID_SZ; i++)
        if (v[i] <= ' ' || v[i] > '~')
            n = CD_ID_SZ;
    if (n == 0 || n >= CD_ID_SZ) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "starting_after",
                        "starting_after names no %s of this account", what);
        return -1;
    }
    if (cd_req_query(req, "offset")) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "offset",
                        "page with starting_after or with offset, not "
                        "both");
        return -1;
    }
    *after = v;
    return 0;
}

json_t *cd_api_list(json_t *data, int64_t total, int64_t limit,
                    int64_t offset)
{
    return json_pack("{s:o, s:I, s:I, s:I}", "data",
                     data ? data : json_array(), "total", (json_int_t)total,
                     "limit", (json_int_t)limit, "offset",
                     (json_int_t)offset);
}

json_t *cd_api_time(int64_t t)
{
    char buf[21];

    if (t == 0)
        return json_null();
    cd_time_rfc3339(t, buf);
    return json_string(buf);
}

json_t *cd_api_str_or_null(const char *s)
{
    if (!s || !*s)
        return json_null();
    return json_string(s);
}

/* {"granted": false}, or {"granted": true, "since", "order_id"}. */
static json_t *access_json(const struct cd_account *a)
{
    if (!a->access_order_id[0])
        return json_pack("{s:b}", "granted", 0);
    return json_pack("{s:b, s:o, s:s}", "granted", 1, "since",
                     cd_api_time(a->access_since), "order_id",
                     a->access_order_id);
}

json_t *cd_api_account_json(const struct cd_account *a)
{
    return json_pack("{s:s, s:o, s:b, s:o, s:o, s:b, s:o, s:o}", "id", a->id,
                     "email", cd_api_str_or_null(a->email), "email_verified",
                     a->email_verified_at ? 1 : 0, "external_id",
                     cd_api_str_or_null(a->external_id), "stripe_customer_id",
                     cd_api_str_or_null(a->stripe_customer_id),
                     "has_saved_payment_method",
                     a->has_saved_payment_method ? 1 : 0, "created_at",
                     cd_api_time(a->created_at), "access", access_json(a));
}
