/*
 * store_idempotency.h - the store's Stripe events and idempotency keys
 * (idempotency.c): records and record functions. Return codes, field sizes
 * and list conventions in store_base.h; callers include store/store.h,
 * which includes this header.
 */
#ifndef CD_STORE_STORE_IDEMPOTENCY_H
#define CD_STORE_STORE_IDEMPOTENCY_H

#include <stdint.h>
#include <stddef.h>

#include "store/store_base.h"

struct cd_idem {
    char scope[CD_IDEM_SCOPE_SZ]; /* "acct_..." or "server" (+ route) */
    char key[CD_IDEM_KEY_SZ];
    char request_hash[65]; /* sha256 hex of method, path and body */
    int status;            /* 0: in progress; else the HTTP status */
    /* status 0: the claim token of the request holding the key (NULL once
     * released); else the stored reply. malloc'd by cd_store_idem_get;
     * free() it. */
    char *body;
    size_t body_len;
    int64_t created_at;
    int64_t lease_until; /* status 0: the claim's lease end, ms; 0: free */
};

/* ---- Stripe events (exactly-once) ------------------------------------- */
/* DUPLICATE when the event id was already recorded. */
int cd_store_event_insert(struct cd_tx *tx, const char *event_id,
                          const char *type, int64_t received_at);

/* ---- idempotency keys -------------------------------------------------- */
/* out->body is malloc'd (or NULL when status is 0); free() it. */
int cd_store_idem_get(struct cd_tx *tx, const char *scope, const char *key,
                      struct cd_idem *out);
/* DUPLICATE when (scope, key) exists. */
int cd_store_idem_insert(struct cd_tx *tx, const struct cd_idem *i);

/*
 * The claim of a request in progress (status 0): its body is the
 * claimer's token (claim, claim_len bytes) and lease_until (ms) says how
 * long it stays the claimer's (billing/idempotency.c renews it while the
 * request runs). Each function touches the row only while it is in
 * progress and, for the owner's three, still holds that token; else
 * NOT_FOUND (the claim was taken over, completed or purged).
 *  - complete: stores status (> 0) and the reply body;
 *  - release: keeps the row in progress but frees it (token NULL, lease
 *    0) for the next request with the key (a 5xx reply);
 *  - renew: sets lease_until (the heartbeat);
 *  - takeover: any request: puts claim in and sets lease_until, only when
 *    the lease has ended (lease_until <= now_ms).
 */
int cd_store_idem_complete_claim(struct cd_tx *tx, const char *scope,
                                 const char *key, const char *claim,
                                 size_t claim_len, int status,
                                 const char *body, size_t body_len);
int cd_store_idem_release_claim(struct cd_tx *tx, const char *scope,
                                const char *key, const char *claim,
                                size_t claim_len);
int cd_store_idem_renew_claim(struct cd_tx *tx, const char *scope,
                              const char *key, const char *claim,
                              size_t claim_len, int64_t lease_until);
int cd_store_idem_takeover(struct cd_tx *tx, const char *scope,
                           const char *key, const char *claim,
                           size_t claim_len, int64_t now_ms,
                           int64_t lease_until);
int cd_store_idem_complete(struct cd_tx *tx, const char *scope,
                           const char *key, int status, const char *body,
                           size_t body_len);
int cd_store_idem_delete(struct cd_tx *tx, const char *scope,
                         const char *key);
/* Deletes keys created before `before`. */
int cd_store_idem_purge(struct cd_tx *tx, int64_t before);

#endif
