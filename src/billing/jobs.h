/*
 * jobs.h - the background jobs of `creditd serve` (and demo): one thread
 * that, while the server runs,
 *   - every `interval` seconds takes the "reconcile" lease (holder: this
 *     process's random instance id, ttl 2 x interval) and runs
 *     reconciliation (reconcile.h) - the first run soon after start, to
 *     catch up on what happened while the server was down - and then,
 *     under the same lease, asks Stripe for the cards of payments whose
 *     charge event never came (card_enrich.h);
 *   - every cycle checks the ledger invariant and publishes it as the
 *     gauges creditd_ledger_ok (1/0), creditd_ledger_mismatched_accounts
 *     and creditd_ledger_verified_timestamp_seconds;
 *   - every `purge_interval` seconds (CREDITD_PURGE_INTERVAL, hourly by
 *     default), under the "purge" lease (ttl 2 x purge_interval), deletes
 *     idempotency keys older than 24 h, expired tokens, stale failed-login
 *     counts and ended rate-limit windows.
 * Leases live in the database, so with several nodes one runs each job;
 * the gauge creditd_lease_held{lease} says whether this node holds one.
 * A holder renews its lease every cycle; when it dies, another node takes
 * the lease over at its first cycle after the ttl ran out.
 */
#ifndef CD_BILLING_JOBS_H
#define CD_BILLING_JOBS_H

#include <stdint.h>

#include "billing/billing.h"

#define CD_JOBS_PURGE_INTERVAL 3600 /* the default purge_interval */
#define CD_JOBS_EXPIRY_DEFAULT 60 /* seconds between expiry sweeps (lots.h) */
#define CD_JOBS_IDEM_TTL (24 * 3600)
/* How long a charge event's card waits for its completion (Stripe retries
 * an event for 3 days). */
#define CD_JOBS_CHARGE_CARD_TTL (7 * 24 * 3600)
/* The verify cycle when reconciliation is disabled (interval 0). */
#define CD_JOBS_DEFAULT_CYCLE 300
/* The first reconciliation: this long after start (or interval, if
 * shorter). */
#define CD_JOBS_FIRST_DELAY 10

struct cd_jobs;

/* The gauge creditd_lease_held{lease}: leases.h. */

/*
 * Starts the jobs thread. interval: seconds between reconciliations
 * (0: no reconciliation; verify and purges still run); purge_interval:
 * seconds between purges (>= 1). b is borrowed and must outlive
 * cd_jobs_stop. NULL when the thread cannot start.
 */
struct cd_jobs *cd_jobs_start(struct cd_billing *b, int64_t interval,
                              int64_t purge_interval);

/* Stops the thread (waking it at once; a running reconciliation stops at
 * its next Stripe call), releases the leases it holds and frees. NULL is
 * fine. */
void cd_jobs_stop(struct cd_jobs *j);

#endif
