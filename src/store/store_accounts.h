/*
 * store_accounts.h - the store's accounts and tokens (accounts.c; the purge
 * in jobs.c): records and record functions. Return codes, field sizes and
 * list conventions in store_base.h; callers include store/store.h, which
 * includes this header.
 */
#ifndef CD_STORE_STORE_ACCOUNTS_H
#define CD_STORE_STORE_ACCOUNTS_H

#include <stdint.h>

#include "store/store_base.h"

struct cd_account {
    char id[CD_ID_SZ];
    char email[CD_EMAIL_SZ]; /* stored lower-case; unique; "" for none */
    char password_hash[CD_HASH_SZ]; /* "": no password, cannot log in */
    char stripe_customer_id[CD_SID_SZ];
    int has_saved_payment_method;
    int64_t balance;
    int64_t created_at;
    /* 011: the application's own user id; unique when set, "" for none */
    char external_id[CD_EXTID_SZ];
    /* Read only (never written): the access order that grants the account
     * access, "" for none, and when it was paid (billing/clawback.h). */
    char access_order_id[CD_ID_SZ];
    int64_t access_since;
    /* 012: when the email was verified (email_verify.h); 0: never */
    int64_t email_verified_at;
};

typedef int (*cd_account_cb)(const struct cd_account *a, void *arg);

/* ---- accounts and tokens ---------------------------------------------- */
int cd_store_account_insert(struct cd_tx *tx, const struct cd_account *a);
int cd_store_account_get(struct cd_tx *tx, const char *id,
                         struct cd_account *out);
int cd_store_account_by_email(struct cd_tx *tx, const char *email,
                              struct cd_account *out);
/* The account with this external_id (never an email-less placeholder). */
int cd_store_account_by_external(struct cd_tx *tx, const char *external_id,
                                 struct cd_account *out);
/* cd_store_account_get and _by_external without the password hash and the
 * access (ACCOUNT_AUTH_SEL, as cd_store_token_account): the server key's
 * Creditd-Account. */
int cd_store_account_auth_get(struct cd_tx *tx, const char *id,
                              struct cd_account *out);
int cd_store_account_auth_by_external(struct cd_tx *tx,
                                      const char *external_id,
                                      struct cd_account *out);
int cd_store_account_by_customer(struct cd_tx *tx, const char *customer_id,
                                 struct cd_account *out);
int cd_store_account_set_customer(struct cd_tx *tx, const char *id,
                                  const char *customer_id,
                                  int has_saved_payment_method);
int cd_store_account_set_balance(struct cd_tx *tx, const char *id,
                                 int64_t balance);
int cd_store_account_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_account_cb cb, void *arg, int64_t *total);

/* token_hash: sha256 hex of the token; the token itself is never stored. */
int cd_store_token_insert(struct cd_tx *tx, const char *token_hash,
                          const char *account_id, int64_t created_at,
                          int64_t expires_at);
/* NOT_FOUND when the account is gone; password_hash must not be "". */
int cd_store_account_set_password(struct cd_tx *tx, const char *id,
                                  const char *password_hash);
/* Deletes every token of the account (ends all its sessions). */
int cd_store_token_delete_account(struct cd_tx *tx, const char *account_id);
/* The account of a token that exists and has not expired at now, without
 * its password hash and access (password_hash and access_order_id "",
 * access_since 0: ACCOUNT_AUTH_SEL); cd_store_account_get reads them. */
int cd_store_token_account(struct cd_tx *tx, const char *token_hash,
                           int64_t now, struct cd_account *out);
int cd_store_token_delete(struct cd_tx *tx, const char *token_hash);

/* Deletes tokens and portal links that expired at or before now. */
int cd_store_token_purge(struct cd_tx *tx, int64_t now);

/* Sets email_verified_at once (a verified account stays as it was). */
int cd_store_account_set_verified(struct cd_tx *tx, const char *id,
                                  int64_t now);

#endif
