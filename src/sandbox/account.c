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

void cd_sandbox_h_account_get(struct cd_req *r)
{
    cd_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:b, s:b, s:s, s:b}", "id",
                            "acct_sandbox", "object", "account",
                            "charges_enabled", 1, "payouts_enabled", 1,
                            "default_currency", "usd", "livemode", 0));
}
