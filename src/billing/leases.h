/*
 * leases.h - the gauge creditd_lease_held{lease}: whether this node holds
 * the lease of a background job (jobs.h: reconcile, purge, holds, expiry;
 * mail.h: mail). Below jobs.c and mail.c, so the mail sender does not
 * include the jobs thread (which runs reconciliation, which is above mail).
 */
#ifndef CD_BILLING_LEASES_H
#define CD_BILLING_LEASES_H

/* Sets this node's gauge creditd_lease_held{lease} (1 held, 0 not). */
void cd_lease_held_set(const char *lease, int held);

#endif
