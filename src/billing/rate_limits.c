/*
 * rate_limits.c - the shared request-rate buckets of rate_limits.h: one
 * write job per request around cd_store_rate_take(). The clock is read
 * inside the job, when it runs: takes reach a bucket in the order their
 * jobs run, and a clock read before queueing could put a take behind a
 * later one, refusing a burst's last slot by a few milliseconds.
 */
#include "billing/rate_limits.h"

#include "util/log.h"
#include "util/util.h"

struct take_job {
    const char *scope, *key;
    int64_t now_ms, interval_ms, tolerance_ms;
    int64_t wait_ms; /* out */
    int rc;          /* out */
};

static int take_fn(struct cd_tx *tx, void *arg)
{
    struct take_job *j = arg;

    j->now_ms = cd_now_ms();
    j->rc = cd_store_rate_take(tx, j->scope, j->key, j->now_ms,
                               j->interval_ms, j->tolerance_ms, &j->wait_ms);
    return j->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

int cd_rate_take(struct cd_billing *b, const char *scope, const char *key,
                 int64_t limit, int64_t window_s, int64_t *wait_ms)
{
    struct take_job j = {scope, key, 0, 0, 0, 0, 0};

    if (wait_ms)
        *wait_ms = 0;
    if (limit <= 0 || window_s <= 0)
        return 0;
    if (!b || !b->store || !scope || !key || !wait_ms ||
        window_s > INT64_MAX / 1000)
        return -1;
    j.interval_ms = window_s * 1000 / limit;
    if (j.interval_ms < 1)
        j.interval_ms = 1;
    j.tolerance_ms = j.interval_ms * (limit - 1);
    if (cd_store_write(b->store, take_fn, &j) != 0) {
        cd_error("billing", "rate limit %s: the store failed", scope);
        return -1;
    }
    if (j.rc == CD_STORE_OK)
        return 0;
    *wait_ms = j.wait_ms < 1 ? 1 : j.wait_ms;
    return 1;
}

int cd_rate_purge_tx(struct cd_tx *tx, int64_t now_ms)
{
    return cd_store_rate_purge(tx, now_ms);
}
