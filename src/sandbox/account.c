/*
 * account.c - GET /v1/account: the sandbox's one account.
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

/* ------------------------------------------------------------------ */
/* Account and webhook endpoints (what `creditd stripe check` reads)   */

/* The platform account itself, as GET /v1/account answers it (an
 * Account has no livemode); what the sandbox does not model is null. */
void cd_sandbox_h_account_get(struct cd_req *r)
{
    json_t *acct = json_pack(
        "{s:s, s:s, s:b, s:s, s:s, s:b, s:n, s:b, s:s}", "id", "acct_sandbox",
        "object", "account", "charges_enabled", 1, "country", "US",
        "default_currency", "usd", "details_submitted", 1, "email",
        "payouts_enabled", 1, "type", "standard");

    cd_sandbox_shape(acct);
    cd_reply_json(r, 200, acct);
}
