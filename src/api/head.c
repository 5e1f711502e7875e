/*
 * head.c - the checks of a request's head, run before any body byte is
 * read (cd_http_config.check_head): creditd's own header fields sent
 * twice (400 duplicate_header, as http/ does for HTTP's: which account,
 * which key, which signature would be ambiguous), the body's
 * Content-Type, then what the route's flags ask for (the webhook's
 * Stripe-Signature, webhook.c).
 *
 * Every route that reads a body reads JSON. A body is read as JSON when
 * its Content-Type is application/json (any case, parameters allowed:
 * "application/json; charset=utf-8", Stripe's) or when there is no
 * Content-Type at all (clients that send none mean JSON); any other type
 * is a 415 unsupported_media_type - text/plain, and
 * application/x-www-form-urlencoded, which curl sends for -d without -H.
 * A request without a body (no Content-Length, or 0, and no
 * Transfer-Encoding) is not looked at.
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/core.h"
#include "util/util.h"

/* 1 when the request has a body: Content-Length above 0, or chunked. */
static int has_body(const struct cd_req *req)
{
    const char *cl = cd_req_header(req, "Content-Length");

    if (cd_req_header(req, "Transfer-Encoding"))
        return 1;
    return cl && strspn(cl, " \t0") != strlen(cl);
}

/* 1 when the Content-Type is the media type application/json: the type
 * (any case, blanks around it) ends at the end or at a ';'. */
static int is_json_type(const char *ct)
{
    static const char json[] = "application/json";

    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
        return 0;
    ct += sizeof(json) - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The body's Content-Type; 0, or 1 after replying 415. */
static int check_media_type(struct cd_req *req)
{
    const char *ct = cd_req_header(req, "Content-Type");

    if (!ct || is_json_type(ct) || !has_body(req))
        return 0;
    cd_reply_errorf(req, CD_EK_UNSUPPORTED_MEDIA, "unsupported_media_type",
                    NULL,
                    "the request body must be JSON sent as Content-Type: "
                    "application/json (curl -d needs -H 'Content-Type: "
                    "application/json')");
    return 1;
}

/* creditd's fields that may come once; HTTP's own are refused by http/. */
static const char *const api_once[] = {"Creditd-Account",  "Creditd-Session",
                                       CD_CSRF_HEADER,     "Idempotency-Key",
                                       "Stripe-Signature", NULL};

int cd_api_check_head(struct cd_req *req)
{
    if (cd_req_refuse_repeated(req, api_once))
        return 1;
    if (check_media_type(req))
        return 1;
    if (req->route->flags & CD_ROUTE_STRIPE_SIGNED)
        return cd_api_webhook_head(req);
    return 0;
}
