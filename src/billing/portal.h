/*
 * portal.h - buyer portal links: a server creates a short-lived,
 * single-use link for one account (POST /v1/portal_sessions); the web UI
 * redeems it once for a cookie session (POST /v1/auth/portal), the way
 * Stripe's Billing Portal sessions work.
 *
 * A link token is "cdp_" + 64 hex characters (32 random bytes); only its
 * SHA-256 hex is stored (migration 011). Redeeming marks the link used and
 * creates the session token in one write job, so a link logs in once.
 */
#ifndef CD_BILLING_PORTAL_H
#define CD_BILLING_PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_PORTAL_PREFIX "cdp_"
#define CD_PORTAL_TTL 300     /* seconds a link stays valid */
#define CD_PORTAL_URL_SZ 2700 /* base URL + "/portal#" + token */

/*
 * A link for account_id (which exists). return_url may be NULL; else it
 * must be an absolute http(s) URL on an allowed origin (400
 * redirect_not_allowed, param return_url). url (CD_PORTAL_URL_SZ) receives
 * "<base>/portal#cdp_..." - hand it to the caller once, never log it.
 */
int cd_portal_create(struct cd_billing *b, const char *account_id,
                     const char *return_url, char *url, int64_t *expires_at,
                     struct cd_error *err);

/*
 * Redeems a link token: 401 invalid_portal_link when it is unknown,
 * expired or already used. On success *out is the account, token
 * (CD_TOKEN_SZ) a new session token expiring at *token_expires_at, and
 * return_url (CD_URL_MAX + 1) the link's return URL or "".
 */
int cd_portal_redeem(struct cd_billing *b, const char *link_token,
                     struct cd_account *out, char *token,
                     int64_t *token_expires_at, char *return_url,
                     struct cd_error *err);

#endif
