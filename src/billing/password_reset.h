/*
 * password_reset.h - password reset by a one-time link mailed through the
 * outbox (mail.h), for accounts that log in with a password.
 *
 * A request for an email queues, in one write job, a reset row (only the
 * token's SHA-256 is stored) and the mail with the link (dedupe key
 * "secret:reset:<hash>", so the sender clears its body once done). It
 * answers the same whatever the email: no account, an account owned by
 * the application (no password), or past CD_RESET_PER_HOUR requests in
 * the last hour all send nothing, in the same kind of write job.
 *
 * A confirm with a live token (unused, within CD_RESET_TTL) sets the new
 * password, marks every open reset of the account used, and deletes every
 * token of the account: all its sessions end. The email counts as verified
 * from then on (the link reached its mailbox).
 */
#ifndef CD_BILLING_PASSWORD_RESET_H
#define CD_BILLING_PASSWORD_RESET_H

#include <stddef.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_RESET_PREFIX "cdr_"
#define CD_RESET_TOKEN_SZ 72 /* "cdr_" + 64 hex + NUL, rounded up */
#define CD_RESET_TTL (30 * 60)
#define CD_RESET_PER_HOUR 3

/* Queues a reset link for this email when it has a password account (see
 * above). 0 whether or not anything was sent; -1 with 400 missing_param /
 * invalid_email for a malformed address, or 500. */
int cd_password_reset_request(struct cd_billing *b, const char *email,
                              struct cd_error *err);

/* Sets a new password with a token from a reset link. 400 weak_password /
 * missing_param / invalid_param for the password; 400
 * invalid_reset_token for a token that is malformed, unknown, used or
 * expired (one answer for all). */
int cd_password_reset_confirm(struct cd_billing *b, const char *token,
                              const char *password, size_t password_len,
                              struct cd_error *err);

#endif
