/*
 * accounts.h - accounts, passwords (argon2id via libsodium) and bearer
 * tokens.
 *
 * A token is "cdt_" + 64 hex characters (32 random bytes); only its
 * SHA-256 hex is stored, and it expires after cfg.token_ttl seconds or at
 * logout. Password hashing is slow on purpose and always runs outside any
 * store job, so it never holds up the writer.
 *
 * Functions return 0 or -1 with *err filled; store failures are
 * CD_EK_INTERNAL "internal_error" without SQL text.
 */
#ifndef CD_BILLING_ACCOUNTS_H
#define CD_BILLING_ACCOUNTS_H

#include <stddef.h>

#include "billing/billing.h"
#include "util/error.h"

#define CD_TOKEN_PREFIX "cdt_"
#define CD_TOKEN_SZ 72       /* "cdt_" + 64 hex + NUL, rounded up */
#define CD_TOKEN_MAX_LEN 512 /* longer bearer strings are refused unread */
#define CD_PASSWORD_MIN 8
#define CD_PASSWORD_MAX 1024
#define CD_EMAIL_MAX 254
#define CD_EXTERNAL_ID_MAX 128
#define CD_EXTERNAL_PREFIX "ext:" /* Creditd-Account: ext:<external_id> */
#define CD_DEFAULT_TOKEN_TTL (30 * 24 * 3600)

/* Initialises libsodium and computes the dummy hash that unknown-email
 * logins are verified against (once per process, about 0.1 s; safe to call
 * many times). Call it at start-up so even the first such login takes as
 * long as a real one. 0, or -1 if libsodium cannot start. */
int cd_accounts_init(void);

/* Lower-cases and checks an email address into out (>= CD_EMAIL_SZ):
 * <= 254 bytes, exactly one '@', non-empty local part, a dot inside the
 * domain (not first or last), no spaces or control characters. 0 or -1. */
int cd_account_normalize_email(const char *in, char *out, size_t outsz);

/* Checks a password of len bytes: CD_PASSWORD_MIN..CD_PASSWORD_MAX and no
 * NUL byte. 0, or -1 with 400 weak_password / invalid_param. */
int cd_account_check_password(const char *pw, size_t len,
                              struct cd_error *err);

/* Checks an application's user id: 1..CD_EXTERNAL_ID_MAX bytes of
 * A-Z a-z 0-9 and "_-.:@+|" (case-sensitive, stored as given). 0 or -1. */
int cd_account_check_external_id(const char *s);

/*
 * Creates an account owned by the application (server key): external_id
 * required, email optional (NULL or "": none), no password - it cannot log
 * in. 400 missing_param / invalid_external_id / invalid_email; 409
 * external_id_taken with the existing account's id in existing_id
 * (CD_ID_SZ bytes, may be NULL), 409 email_taken.
 */
int cd_account_create(struct cd_billing *b, const char *external_id,
                      const char *email, struct cd_account *out,
                      char *existing_id, struct cd_error *err);

/* The account with this external_id; 404 account_not_found (also for an
 * id that cannot be valid). */
int cd_account_by_external(struct cd_billing *b, const char *external_id,
                           struct cd_account *out, struct cd_error *err);

/* The account a Creditd-Account value names: "acct_..." or
 * "ext:<external_id>"; 404 account_not_found. Without its access, as
 * cd_account_authenticate. */
int cd_account_resolve(struct cd_billing *b, const char *named,
                       struct cd_account *out, struct cd_error *err);

/* 1 when the Creditd-Account value `named` names account a. */
int cd_account_named(const struct cd_account *a, const char *named);

/* The argon2id hash of a password (already checked) into out
 * (CD_HASH_SZ), under the concurrency gate: slow, never inside a store
 * job. 0, or -1 (out of memory). */
int cd_account_hash_password(const char *pw, size_t len, char *out);

/*
 * Creates an account and its first token. 400 invalid_email /
 * weak_password, 409 email_taken. On success *out is the new account and
 * token (CD_TOKEN_SZ bytes) holds the bearer token - hand it to the user
 * once, never log it.
 */
int cd_account_signup(struct cd_billing *b, const char *email,
                      const char *password, size_t password_len,
                      struct cd_account *out, char *token,
                      struct cd_error *err);

/*
 * Checks email + password and issues a new token. Unknown email and wrong
 * password are the same 401 invalid_credentials, and take about the same
 * time (an unknown email is verified against a dummy hash). An account
 * without a password (cd_account_create) answers as an unknown email.
 *
 * address is the client's address (see cd_ratelimit_address()): before
 * the password is checked, the attempt is reserved against the failed-login
 * counts of login_throttle.h; past them the answer is 429 rate_limited,
 * nothing is checked and *retry_after_s (may be NULL) holds the seconds to
 * wait. A success clears that (email, address)'s failures.
 */
int cd_account_login(struct cd_billing *b, const char *email,
                     const char *password, size_t password_len,
                     const char *address, struct cd_account *out, char *token,
                     int64_t *retry_after_s, struct cd_error *err);

/* Deletes the token with this hash (idempotent). */
int cd_account_logout(struct cd_billing *b, const char *token_hash,
                      struct cd_error *err);

/*
 * The account a bearer token belongs to (read path). token_hash (65 bytes,
 * may be NULL) receives the token's hash. 401 invalid_token for an
 * unknown, expired or logged-out token. The account comes without its
 * access (access_order_id "", access_since 0): cd_account_get reads it.
 */
int cd_account_authenticate(struct cd_billing *b, const char *token,
                            struct cd_account *out, char *token_hash,
                            struct cd_error *err);

/* A new bearer token into token (CD_TOKEN_SZ) and its hash into hash (65)
 * for a session starting at now; returns when it expires. The caller
 * stores it (cd_store_token_insert) and wipes token after use. */
int64_t cd_account_token_new(const struct cd_billing *b, int64_t now,
                             char *token, char *hash);
/* How long a token lives, in seconds (cfg.token_ttl or the default). */
int64_t cd_account_token_ttl(const struct cd_billing *b);

/* One account by id; 404 account_not_found. */
int cd_account_get(struct cd_billing *b, const char *id,
                   struct cd_account *out, struct cd_error *err);

/* The account with this email (normalised first: case does not matter);
 * 404 account_not_found, also for a string that is no email address. */
int cd_account_by_email(struct cd_billing *b, const char *email,
                        struct cd_account *out, struct cd_error *err);

/* Pages through all accounts, newest first; cb runs inside a read
 * transaction (it must not call the store). */
int cd_account_list(struct cd_billing *b, int64_t limit, int64_t offset,
                    cd_account_cb cb, void *arg, int64_t *total,
                    struct cd_error *err);

#endif
