/*
 * store_rate_limits.h - the store's shared request-rate buckets
 * (rate_limits.c): records and record functions. Return codes, field sizes
 * and list conventions in store_base.h; callers include store/store.h,
 * which includes this header.
 */
#ifndef CD_STORE_STORE_RATE_LIMITS_H
#define CD_STORE_STORE_RATE_LIMITS_H

#include <stdint.h>

#include "store/store_base.h"

/*
 * Shared request-rate buckets (table rate_limits, migration 021; the GCRA
 * of src/api/ratelimit.h kept in the database). take: takes one request
 * from bucket (scope, key) at now_ms, where interval_ms is window / limit
 * and tolerance_ms is (limit - 1) x interval_ms, in one guarded upsert:
 * CD_STORE_OK when it may go (counted), CD_STORE_GUARD when it must wait
 * (*wait_ms >= 1; nothing written). purge: deletes the buckets that are
 * full again at now_ms. Both write.
 */
#define CD_RATE_SCOPE_SZ 32
#define CD_RATE_KEY_SZ 160
int cd_store_rate_take(struct cd_tx *tx, const char *scope, const char *key,
                       int64_t now_ms, int64_t interval_ms,
                       int64_t tolerance_ms, int64_t *wait_ms);
int cd_store_rate_purge(struct cd_tx *tx, int64_t now_ms);

#endif
