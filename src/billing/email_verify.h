/*
 * email_verify.h - verifying an account's email by a one-time mailed link,
 * and the purchase gate of CREDITD_REQUIRE_EMAIL_VERIFICATION.
 *
 * A link (token "cdv_" + 64 hex; only its SHA-256 is stored, in
 * email_links with purpose "verify") is queued with its mail in one write
 * job: at signup when verification is required, and on request (at most
 * CD_VERIFY_PER_HOUR an hour). Confirming one sets email_verified_at once
 * and uses every open verify link of the account. The mail's dedupe key
 * starts with CD_MAIL_SECRET_PREFIX, so its body is cleared once sent.
 */
#ifndef CD_BILLING_EMAIL_VERIFY_H
#define CD_BILLING_EMAIL_VERIFY_H

#include <stdint.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_VERIFY_PREFIX "cdv_"
#define CD_VERIFY_TTL (24 * 3600)
#define CD_VERIFY_PER_HOUR 3

/* Inside a write job: queues a verify link for account a (which has an
 * email) at now. CD_STORE_OK or CD_STORE_ERROR. */
int cd_email_verify_queue_tx(struct cd_tx *tx, const char *base_url,
                             const struct cd_account *a, int64_t now);

/* Mails a new link to account a. 409 no_email / email_already_verified;
 * 429 rate_limited past CD_VERIFY_PER_HOUR links an hour. */
int cd_email_verify_request(struct cd_billing *b, const struct cd_account *a,
                            struct cd_error *err);

/* Verifies the email of the link's account. 400 missing_param, or 400
 * invalid_verification_token (malformed, unknown, used or expired). */
int cd_email_verify_confirm(struct cd_billing *b, const char *token,
                            struct cd_error *err);

/* The purchase gate: 0 when account a may buy, else 403
 * email_not_verified - only when b requires verification, for a password
 * account (not one owned by the application) with an unverified email and
 * no paid order yet. */
int cd_email_verify_may_buy(struct cd_billing *b, const struct cd_account *a,
                            struct cd_error *err);

#endif
