/*
 * leases.c - the lease gauge; see leases.h.
 */
#include "billing/leases.h"

#include "util/metrics.h"

static const struct cd_metric_def M_LEASE_HELD = {
    "creditd_lease_held",
    "1 while this node holds the lease of a background job (reconcile, "
    "purge, holds, expiry, mail), else 0; with several nodes at most one "
    "holds each.",
    CD_METRIC_GAUGE,
    {"lease"},
    NULL,
    0};

void cd_lease_held_set(const char *lease, int held)
{
    cd_metrics_set(NULL, &M_LEASE_HELD, held ? 1 : 0, lease, NULL, NULL);
}
