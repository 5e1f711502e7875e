/*
 * portal.c - buyer portal links; see portal.h.
 */
#include "billing/portal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "billing/accounts.h"
#include "billing/checkout.h"
#include "util/util.h"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

struct create_job {
    char hash[65];
    const char *account_id, *return_url;
    int64_t created_at, expires_at;
};

static int create_fn(struct cd_tx *tx, void *arg)
{
    struct create_job *j = arg;

    return cd_store_portal_insert(tx, j->hash, j->account_id, j->return_url,
                                  j->created_at, j->expires_at) == CD_STORE_OK
               ? 0
               : 1;
}

int cd_portal_create(struct cd_billing *b, const char *account_id,
                     const char *return_url, char *url, int64_t *expires_at,
                     struct cd_error *err)
{
    struct create_job j;
    unsigned char raw[32];
    char token[sizeof(CD_PORTAL_PREFIX) + 64];

    if (return_url && *return_url &&
        (strlen(return_url) > CD_URL_MAX ||
         !cd_checkout_redirect_allowed(&b->cfg, return_url)))
        return cd_error_set(err, CD_EK_INVALID, "redirect_not_allowed",
                            "return_url",
                            "return_url must be an absolute http(s) URL on "
                            "an allowed origin.");
    memset(&j, 0, sizeof(j));
    cd_random_bytes(raw, sizeof(raw));
    memcpy(token, CD_PORTAL_PREFIX, sizeof(CD_PORTAL_PREFIX) - 1);
    cd_hex(raw, sizeof(raw), token + sizeof(CD_PORTAL_PREFIX) - 1);
    sodium_memzero(raw, sizeof(raw));
    cd_sha256_hex(token, strlen(token), j.hash);
    j.account_id = account_id;
    j.return_url = return_url;
    j.created_at = cd_now();
    j.expires_at = j.created_at + CD_PORTAL_TTL;
    snprintf(url, CD_PORTAL_URL_SZ, "%s/portal#%s", b->cfg.base_url, token);
    sodium_memzero(token, sizeof(token));
    if (cd_store_write(b->store, create_fn, &j) != 0) {
        sodium_memzero(url, CD_PORTAL_URL_SZ);
        return internal(err);
    }
    *expires_at = j.expires_at;
    return 0;
}

struct redeem_job {
    char link_hash[65], token_hash[65];
    int64_t now, expires_at;
    struct cd_account *out;
    char *return_url;
    int found;
};

static int redeem_fn(struct cd_tx *tx, void *arg)
{
    struct redeem_job *j = arg;
    char account_id[CD_ID_SZ];
    int rc = cd_store_portal_consume(tx, j->link_hash, j->now, account_id,
                                     j->return_url, CD_URL_MAX + 1);

    if (rc == CD_STORE_NOT_FOUND)
        return 0; /* j->found stays 0 */
    if (rc != CD_STORE_OK ||
        cd_store_account_get(tx, account_id, j->out) != CD_STORE_OK ||
        cd_store_token_insert(tx, j->token_hash, account_id, j->now,
                              j->expires_at) != CD_STORE_OK)
        return 1;
    j->found = 1;
    return 0;
}

int cd_portal_redeem(struct cd_billing *b, const char *link_token,
                     struct cd_account *out, char *token,
                     int64_t *token_expires_at, char *return_url,
                     struct cd_error *err)
{
    struct redeem_job j;
    size_t n = link_token ? strlen(link_token) : 0;

    memset(&j, 0, sizeof(j));
    if (n != sizeof(CD_PORTAL_PREFIX) - 1 + 64 ||
        strncmp(link_token, CD_PORTAL_PREFIX, sizeof(CD_PORTAL_PREFIX) - 1) !=
            0)
        goto invalid;
    cd_sha256_hex(link_token, n, j.link_hash);
    j.now = cd_now();
    j.expires_at = cd_account_token_new(b, j.now, token, j.token_hash);
    j.out = out;
    j.return_url = return_url;
    if (cd_store_write(b->store, redeem_fn, &j) != 0) {
        sodium_memzero(token, CD_TOKEN_SZ);
        return internal(err);
    }
    if (!j.found) {
        sodium_memzero(token, CD_TOKEN_SZ);
        goto invalid;
    }
    *token_expires_at = j.expires_at;
    return 0;
invalid:
    return cd_error_set(err, CD_EK_AUTH, "invalid_portal_link", NULL,
                        "this link has expired or was already used; open "
                        "it again from the app you came from");
}
