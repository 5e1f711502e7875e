/*
 * rate_limits.h - request-rate limits shared through the database (table
 * rate_limits, migration 021), so that N nodes on one database enforce a
 * cap once, not N times: signup/login/portal requests per client address,
 * payment-creating requests per account, discount guesses per account and
 * per address (src/api/ratelimit.c decides which; this is the counting).
 *
 * Each (scope, key) is a GCRA bucket ("generic cell rate algorithm": a
 * token bucket kept as one time stamp, the same rule as the in-memory
 * table of src/api/ratelimit.h): up to `limit` requests may come at once,
 * then one more every window/limit. A refused request is not counted.
 * One request is one small write job running one guarded upsert, on the
 * wall clock (cd_now_ms(), shared by the nodes within their clock skew).
 * The purge job (billing/jobs.c) deletes buckets that are full again.
 */
#ifndef CD_BILLING_RATE_LIMITS_H
#define CD_BILLING_RATE_LIMITS_H

#include <stdint.h>

#include "billing/billing.h"
#include "store/store.h"

/*
 * Takes one request from bucket (scope, key) against `limit` per window_s
 * seconds. 0 when it may go (counted); 1 when it must wait (*wait_ms: how
 * long, >= 1; not counted); -1 when the store failed (logged). A limit
 * or window <= 0 never limits.
 */
int cd_rate_take(struct cd_billing *b, const char *scope, const char *key,
                 int64_t limit, int64_t window_s, int64_t *wait_ms);

/* Inside the purge's write job: deletes the buckets full again at now_ms.
 * CD_STORE_OK or CD_STORE_ERROR. */
int cd_rate_purge_tx(struct cd_tx *tx, int64_t now_ms);

#endif
