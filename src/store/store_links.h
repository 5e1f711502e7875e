/*
 * store_links.h - the store's portal links and mailed links (links.c; the
 * purge in jobs.c): records and record functions. Return codes, field sizes
 * and list conventions in store_base.h; callers include store/store.h,
 * which includes this header.
 */
#ifndef CD_STORE_STORE_LINKS_H
#define CD_STORE_STORE_LINKS_H

#include <stdint.h>
#include <stddef.h>

#include "store/store_base.h"

/* A portal link (migration 011): token_hash as for tokens; return_url may
 * be NULL or "". */
int cd_store_portal_insert(struct cd_tx *tx, const char *token_hash,
                           const char *account_id, const char *return_url,
                           int64_t created_at, int64_t expires_at);
/* Marks the unused, unexpired link with this hash used at now and reads
 * its account id (CD_ID_SZ) and return URL ("" when none). NOT_FOUND for
 * an unknown, expired or already used link. */
int cd_store_portal_consume(struct cd_tx *tx, const char *token_hash,
                            int64_t now, char *account_id, char *return_url,
                            size_t return_url_sz);

/* ---- links mailed (013): password reset, email verification ----------- */

struct cd_reset {
    char token_hash[65]; /* sha256 hex of the token */
    char purpose[16];    /* reset|verify */
    char account_id[CD_ID_SZ];
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at; /* 0: not used */
};

int cd_store_reset_insert(struct cd_tx *tx, const struct cd_reset *r);
/* Links of this purpose the account got at or after `since`. */
int cd_store_reset_count_since(struct cd_tx *tx, const char *account_id,
                               const char *purpose, int64_t since,
                               int64_t *out);
int cd_store_reset_get(struct cd_tx *tx, const char *token_hash,
                       struct cd_reset *out);
/* Marks every unused link of the account and purpose used at now. */
int cd_store_reset_use_all(struct cd_tx *tx, const char *account_id,
                           const char *purpose, int64_t now);
/* Deletes the links that expired and are over an hour old. */
int cd_store_link_purge(struct cd_tx *tx, int64_t now);

#endif
