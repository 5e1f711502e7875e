/*
 * store_jobs.h - the store's background jobs' records: problems, settings,
 * leases, login throttle (jobs.c): records and record functions. Return
 * codes, field sizes and list conventions in store_base.h; callers include
 * store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_JOBS_H
#define CD_STORE_STORE_JOBS_H

#include <stdint.h>
#include <stddef.h>

#include "store/store_base.h"

/* ---- problems for the operator (009_problems) -------------------------- */

struct cd_problem {
    char id[CD_ID_SZ];     /* "prb_..." */
    char kind[CD_KIND_SZ]; /* credit_refused|amount_mismatch|... */
    char order_id[CD_ID_SZ];
    char account_id[CD_ID_SZ]; /* "" when unknown */
    char event_id[CD_SID_SZ];  /* the Stripe event that met it, or "" */
    char detail[CD_DESC_SZ];
    int64_t created_at;
};

typedef int (*cd_problem_cb)(const struct cd_problem *p, void *arg);

/* DUPLICATE when (kind, order_id) is recorded already. */
int cd_store_problem_insert(struct cd_tx *tx, const struct cd_problem *p);
/* Newest first, limit/offset paged, *total all of them. */
int cd_store_problem_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_problem_cb cb, void *arg, int64_t *total);

/* ---- background jobs (002_jobs) ---------------------------------------- */
#define CD_KV_KEY_SZ 128
#define CD_KV_VALUE_SZ 1024
#define CD_LEASE_NAME_SZ 64
#define CD_LEASE_HOLDER_SZ 128

/* Key/value settings shared by every node (e.g. the reconciliation's
 * Stripe event cursor). get copies the value into out (outsz bytes);
 * NOT_FOUND when the key is absent. put inserts or replaces. */
int cd_store_kv_get(struct cd_tx *tx, const char *key, char *out,
                    size_t outsz);
int cd_store_kv_put(struct cd_tx *tx, const char *key, const char *value,
                    int64_t now);

/*
 * A named lease, so one node at a time runs a background job. acquire:
 * CD_STORE_OK when the lease was free, expired (expires_at <= now) or
 * already held by holder - it then runs until now + ttl;
 * CD_STORE_DUPLICATE when another holder's lease is still running.
 * release: gives the lease up if holder holds it (else NOT_FOUND).
 */
int cd_store_lease_acquire(struct cd_tx *tx, const char *name,
                           const char *holder, int64_t now, int64_t ttl);
int cd_store_lease_release(struct cd_tx *tx, const char *name,
                           const char *holder);

/* ---- login throttle (008_login_throttle) -------------------------------- */
#define CD_ADDR_SZ 64            /* a client address as text */
#define CD_LOGIN_ANY_ADDRESS "*" /* the row counting every address */

/* Failed logins of one email from one client address (or, with address
 * CD_LOGIN_ANY_ADDRESS, from all of them). Times in ms since the epoch. */
struct cd_login_fail {
    char email[CD_EMAIL_SZ]; /* normalised (lower-case) */
    char address[CD_ADDR_SZ];
    int64_t failures;
    int64_t first_at; /* when this count began */
    int64_t last_at;  /* the latest failure */
};

/* The row of (email, address); NOT_FOUND when there is none. */
int cd_store_login_fail_get(struct cd_tx *tx, const char *email,
                            const char *address, struct cd_login_fail *out);
/* Inserts the row of (f->email, f->address), or replaces it. */
int cd_store_login_fail_put(struct cd_tx *tx, const struct cd_login_fail *f);
/* Deletes the row of (email, address); NOT_FOUND when there is none. */
int cd_store_login_fail_delete(struct cd_tx *tx, const char *email,
                               const char *address);
/* Deletes every row whose last failure is before `before_ms`. */
int cd_store_login_fail_purge(struct cd_tx *tx, int64_t before_ms);

#endif
