/*
 * session.c - the web UI's cookie sessions. The session cookie holds an
 * ordinary bearer token (HttpOnly, SameSite=Lax, Secure when
 * CREDITD_BASE_URL is https). Its CSRF token is derived from it -
 * sha256 hex of "csrf:" + token - and sent in a second cookie the UI can
 * read (not HttpOnly); a state-changing request authenticated by the
 * cookie must echo it in the Creditd-CSRF header (dispatch.c checks it in
 * constant time). Another origin can read neither cookie, so it cannot
 * forge the header; Bearer callers never carry the cookie and are not
 * checked.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/core.h"
#include "billing/accounts.h"
#include "util/util.h"

int cd_api_wants_cookie(struct cd_req *req)
{
    const char *h = cd_req_header(req, "Creditd-Session");

    return h && strcasecmp(h, "cookie") == 0;
}

/* The CSRF token of a session token; -1 (out unset) for an over-long one. */
static int csrf_of(const char *token, char out[65])
{
    char buf[8 + CD_TOKEN_MAX_LEN];
    int n = snprintf(buf, sizeof(buf), "csrf:%s", token);

    if (n < 0 || (size_t)n >= sizeof(buf)) {
        sodium_memzero(buf, sizeof(buf));
        return -1;
    }
    cd_sha256_hex(buf, (size_t)n, out);
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

static const char *secure_attr(struct cd_req *req)
{
    const char *base = cd_api_app(req)->billing->cfg.base_url;

    return strncasecmp(base, "https:", 6) == 0 ? "; Secure" : "";
}

void cd_api_session_set(struct cd_req *req, const char *token, int64_t ttl)
{
    char v[256], csrf[65];

    snprintf(v, sizeof(v),
             CD_SESSION_COOKIE "=%s; Path=/; Max-Age=%" PRId64
                               "; HttpOnly; SameSite=Lax%s",
             token, ttl, secure_attr(req));
    cd_reply_header(req, "Set-Cookie", v);
    if (csrf_of(token, csrf) != 0)
        return; /* not a token we issue; no CSRF cookie, so no writes */
    snprintf(v, sizeof(v),
             CD_CSRF_COOKIE "=%s; Path=/; Max-Age=%" PRId64
                            "; SameSite=Lax%s",
             csrf, ttl, secure_attr(req));
    cd_reply_header(req, "Set-Cookie", v);
    sodium_memzero(v, sizeof(v));
}

void cd_api_session_clear(struct cd_req *req)
{
    char v[160];

    snprintf(v, sizeof(v),
             CD_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
                               "SameSite=Lax%s",
             secure_attr(req));
    cd_reply_header(req, "Set-Cookie", v);
    snprintf(v, sizeof(v),
             CD_CSRF_COOKIE "=; Path=/; Max-Age=0; SameSite=Lax%s",
             secure_attr(req));
    cd_reply_header(req, "Set-Cookie", v);
}

int cd_api_session_cookie(struct cd_req *req, char *out, size_t outsz)
{
    const char *h = cd_req_header(req, "Cookie");
    const size_t nl = sizeof(CD_SESSION_COOKIE) - 1;

    while (h && *h) {
        size_t len;

        while (*h == ' ' || *h == ';')
            h++;
        len = strcspn(h, ";");
        if (len > nl && strncmp(h, CD_SESSION_COOKIE, nl) == 0 &&
            h[nl] == '=') {
            size_t vl = len - nl - 1;

            while (vl && h[nl + 1 + vl - 1] == ' ')
                vl--;
            if (vl == 0 || vl >= outsz)
                return -1;
            memcpy(out, h + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        h += len;
    }
    return -1;
}

int cd_api_csrf_ok(struct cd_req *req, const char *token)
{
    const char *got = cd_req_header(req, CD_CSRF_HEADER);
    char want[65];
    int ok;

    if (!got || strlen(got) != 64 || csrf_of(token, want) != 0)
        return 0;
    ok = cd_ct_equal(got, want, 64);
    sodium_memzero(want, sizeof(want));
    return ok;
}
