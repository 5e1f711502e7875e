/*
 * auth.c - POST /v1/auth/signup, /v1/auth/login and /v1/auth/logout, and
 * the links mailed: POST /v1/password_reset, /v1/password_reset/confirm,
 * /v1/email_verification and /v1/email_verification/confirm.
 * Tokens go to the client once, in the reply (and, with "Creditd-Session:
 * cookie", in the web UI's session cookie too: session.c), and are wiped
 * from memory here afterwards; passwords are never logged or echoed.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/core.h"
#include "api/ratelimit.h"
#include "billing/accounts.h"
#include "billing/email_verify.h"
#include "billing/password_reset.h"
#include "util/util.h"

/* Reads {"email","password"}; replies 400 and returns -1 on bad types. */
static int credentials(struct cd_req *req, json_t *body, const char **email,
                       const char **password, size_t *password_len)
{
    json_t *e = json_object_get(body, "email");
    json_t *p = json_object_get(body, "password");

    if (!e || json_is_null(e)) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", "email",
                        "email is required");
        return -1;
    }
    if (!json_is_string(e) || json_string_length(e) > CD_EMAIL_MAX) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_email", "email",
                        "email address is not valid");
        return -1;
    }
    if (!p || json_is_null(p)) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", "password",
                        "password is required");
        return -1;
    }
    if (!json_is_string(p)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "password",
                        "password must be a string");
        return -1;
    }
    *email = json_string_value(e);
    if (strlen(*email) != json_string_length(e)) { /* embedded NUL */
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_email", "email",
                        "email address is not valid");
        return -1;
    }
    *password = json_string_value(p);
    *password_len = json_string_length(p);
    return 0;
}

static void reply_session(struct cd_req *req, int status,
                          const struct cd_account *a, char *token)
{
    if (cd_api_wants_cookie(req))
        cd_api_session_set(req, token,
                           cd_account_token_ttl(cd_api_app(req)->billing));
    cd_reply_json(req, status,
                  json_pack("{s:o, s:s}", "account", cd_api_account_json(a),
                            "token", token));
    sodium_memzero(token, CD_TOKEN_SZ);
}

void cd_api_signup(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    json_t *body;
    const char *email, *password;
    size_t plen;
    struct cd_account a;
    struct cd_error err;
    char token[CD_TOKEN_SZ];

    if (cd_api_limit_auth(req, "signup") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (credentials(req, body, &email, &password, &plen) == 0) {
        if (cd_account_signup(b, email, password, plen, &a, token, &err) != 0)
            cd_reply_error(req, &err);
        else
            reply_session(req, 201, &a, token);
    }
    json_decref(body);
}

void cd_api_login(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    json_t *body;
    const char *email, *password;
    size_t plen;
    struct cd_account a;
    struct cd_error err;
    char token[CD_TOKEN_SZ], addr[64];
    int64_t wait = 0;

    if (cd_api_limit_auth(req, "login") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    cd_api_client_address(req, addr, sizeof(addr));
    if (credentials(req, body, &email, &password, &plen) != 0) {
        /* replied */
    } else if (cd_account_login(b, email, password, plen, addr, &a, token,
                                &wait, &err) == 0) {
        reply_session(req, 200, &a, token);
    } else if (err.kind == CD_EK_RATE) {
        cd_api_reply_limited(req, wait, err.message);
    } else {
        cd_reply_error(req, &err);
    }
    json_decref(body);
}

void cd_api_logout(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    struct cd_error err;

    if (cd_account_logout(cd_api_app(req)->billing, ctx->token_hash, &err) !=
        0) {
        cd_reply_error(req, &err);
        return;
    }
    if (ctx->via_cookie)
        cd_api_session_clear(req);
    cd_reply(req, 204, NULL, NULL, 0);
}

/* Always 202 for a well-formed email: whether an account has it is never
 * told (password_reset.h). */
void cd_api_password_reset(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *email;
    struct cd_error err;
    json_t *body;

    if (cd_api_limit_auth(req, "password_reset") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_string_req(req, body, "email", 1024, &email) != 0) {
        /* replied */
    } else if (cd_password_reset_request(b, email, &err) != 0) {
        cd_reply_error(req, &err);
    } else {
        cd_reply_json(req, 202, json_pack("{s:s}", "status", "accepted"));
    }
    json_decref(body);
}

void cd_api_password_reset_confirm(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *token, *password;
    struct cd_error err;
    json_t *body, *p;

    if (cd_api_limit_auth(req, "password_reset") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    p = json_object_get(body, "password");
    if (cd_api_string_req(req, body, "token", 256, &token) != 0) {
        /* replied */
    } else if (p && !json_is_null(p) && !json_is_string(p)) {
        cd_reply_errorf(req, CD_EK_INVALID, "invalid_param", "password",
                        "password must be a string");
    } else {
        password = p && json_is_string(p) ? json_string_value(p) : NULL;
        if (cd_password_reset_confirm(b, token, password,
                                      password ? json_string_length(p) : 0,
                                      &err) != 0)
            cd_reply_error(req, &err);
        else
            cd_reply(req, 204, NULL, NULL, 0);
    }
    json_decref(body);
}

void cd_api_email_verification(struct cd_req *req)
{
    struct cd_api_ctx *ctx = cd_api_ctx(req);
    struct cd_error err;

    if (cd_email_verify_request(cd_api_app(req)->billing, &ctx->account,
                                &err) != 0)
        cd_reply_error(req, &err);
    else
        cd_reply_json(req, 202, json_pack("{s:s}", "status", "accepted"));
}

void cd_api_email_verification_confirm(struct cd_req *req)
{
    const char *token;
    struct cd_error err;
    json_t *body;

    if (cd_api_limit_auth(req, "email_verification") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (cd_api_string_req(req, body, "token", 256, &token) != 0) {
        /* replied */
    } else if (cd_email_verify_confirm(cd_api_app(req)->billing, token,
                                       &err) != 0) {
        cd_reply_error(req, &err);
    } else {
        cd_reply(req, 204, NULL, NULL, 0);
    }
    json_decref(body);
}
