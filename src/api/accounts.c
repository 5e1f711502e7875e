/*
 * accounts.c - accounts owned by the application (server key):
 * POST /v1/accounts creates one for the app's own user id (external_id),
 * with an optional email and no password; GET /v1/accounts?external_id=
 * finds it. Account endpoints then take "Creditd-Account: ext:<id>"
 * (dispatch.c).
 */
#include <string.h>

#include "api/core.h"
#include "billing/accounts.h"
#include "util/util.h"

/* Generous read bounds: the billing checks answer the precise 400. */
#define EXT_READ_MAX 1024
#define EMAIL_READ_MAX 1024

void cd_api_accounts_create(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *ext, *email;
    char existing[CD_ID_SZ] = "";
    struct cd_account a;
    struct cd_error err;
    json_t *body = cd_api_body(req);

    if (!body)
        return;
    if (cd_api_string_req(req, body, "external_id", EXT_READ_MAX, &ext) !=
            0 ||
        cd_api_string(req, body, "email", EMAIL_READ_MAX, &email) != 0) {
        json_decref(body);
        return;
    }
    if (cd_account_create(b, ext, email, &a, existing, &err) != 0)
        cd_reply_error_with(req, &err, existing[0] ? "account_id" : NULL,
                            existing);
    else
        cd_reply_json(req, 201, cd_api_account_json(&a));
    json_decref(body);
}

void cd_api_accounts_find(struct cd_req *req)
{
    struct cd_billing *b = cd_api_app(req)->billing;
    const char *ext = cd_req_query(req, "external_id");
    struct cd_account a;
    struct cd_error err;

    if (!ext || !*ext) {
        cd_reply_errorf(req, CD_EK_INVALID, "missing_param", "external_id",
                        "?external_id= is required");
        return;
    }
    if (cd_account_by_external(b, ext, &a, &err) != 0) {
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_json(req, 200, cd_api_account_json(&a));
}
