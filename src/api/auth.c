/*
 * auth.c - POST /v1/auth/signup, /v1/auth/login and /v1/auth/logout.
 * Tokens go to the client once, in the reply, and are wiped from memory
 * here afterwards; passwords are never logged or echoed.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/core.h"
#include "api/ratelimit.h"
#include "billing/accounts.h"
#include "util/util.h"

static void reply_limited(struct cd_req *req, int64_t wait, const char *what)
{
    char secs[24];

    snprintf(secs, sizeof(secs), "%lld", (long long)wait);
    cd_reply_header(req, "Retry-After", secs);
    cd_reply_errorf(req, CD_EK_RATE, "rate_limited", NULL,
                    "%s; try again in %lld seconds", what, (long long)wait);
}

/* Counts this request against its address's limit for `what` (signup or
 * login); replies 429 and returns -1 past it. */
static int address_limit(struct cd_req *req, const char *what)
{
    struct cd_app *app = cd_api_app(req);
    char ip[64], key[96];
    int64_t wait;

    if (app->auth_rate_limit <= 0)
        return 0;
    cd_req_peer(req, ip, sizeof(ip));
    snprintf(key, sizeof(key), "%s:%s", what, ip);
    wait = cd_ratelimit_hit(key, app->auth_rate_limit, CD_RL_IP_WINDOW,
                            cd_now());
    if (!wait)
        return 0;
    reply_limited(req, wait, "too many requests from this address");
    return -1;
}

/* The failed-login counter's key for an email ("" if it is not valid). */
static void fail_key(const char *email, char *key, size_t keysz)
{
    char norm[CD_EMAIL_SZ];

    if (cd_account_normalize_email(email, norm, sizeof(norm)) != 0)
        norm[0] = '\0';
    snprintf(key, keysz, "loginfail:%s", norm);
}

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

    if (address_limit(req, "signup") != 0)
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
    char token[CD_TOKEN_SZ];

    if (address_limit(req, "login") != 0)
        return;
    body = cd_api_body(req);
    if (!body)
        return;
    if (credentials(req, body, &email, &password, &plen) == 0) {
        char key[CD_EMAIL_SZ + 16];
        int64_t wait;

        /* Online guessing of one account's password is capped whatever
         * addresses it comes from. */
        fail_key(email, key, sizeof(key));
        wait = cd_ratelimit_peek(key, CD_RL_LOGIN_FAILS, CD_RL_LOGIN_WINDOW,
                                 cd_now());
        if (wait) {
            reply_limited(req, wait, "too many failed logins for this email");
        } else if (cd_account_login(b, email, password, plen, &a, token,
                                    &err) != 0) {
            if (err.kind == CD_EK_AUTH)
                cd_ratelimit_hit(key, CD_RL_LOGIN_FAILS, CD_RL_LOGIN_WINDOW,
                                 cd_now());
            cd_reply_error(req, &err);
        } else {
            cd_ratelimit_reset(key);
            reply_session(req, 200, &a, token);
        }
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
    cd_reply(req, 204, NULL, NULL, 0);
}
