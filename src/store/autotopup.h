/*
 * autotopup.h - the store records of auto top-up (migration 018): one
 * settings row per account and its attempts. Functions run inside a job
 * like those of store.h and return its CD_STORE_* codes.
 */
#ifndef CD_STORE_AUTOTOPUP_H
#define CD_STORE_AUTOTOPUP_H

#include <stdint.h>

#include "store/store.h"

#define CD_DECLINE_CODE_SZ 72

struct cd_autotopup_settings {
    char account_id[CD_ID_SZ];
    int enabled;
    int64_t threshold;         /* credits: a balance below it triggers */
    int64_t amount_cents;      /* one top-up */
    int64_t monthly_cap_cents; /* open + succeeded attempts a UTC month */
    int64_t declines;          /* consecutive declines */
    char disabled_reason[CD_DESC_SZ]; /* "" unless it turned itself off */
    char last_failure[CD_DESC_SZ];
    char last_decline_code[CD_DECLINE_CODE_SZ];
    int64_t last_failure_at;
    int64_t updated_at;
};

/* state: pending | in_flight | succeeded | failed | canceled */
struct cd_autotopup_attempt {
    char id[CD_ID_SZ]; /* "atu_..." */
    char account_id[CD_ID_SZ];
    char state[CD_STATUS_SZ];
    int64_t amount_cents;
    int64_t month;           /* YYYYMM, UTC, of created_at */
    int64_t tries;           /* payments started */
    char order_id[CD_ID_SZ]; /* the current try's order, "" before */
    int64_t next_try_at;
    char decline_code[CD_DECLINE_CODE_SZ];
    char failure[CD_DESC_SZ];
    int64_t created_at;
    int64_t updated_at;
};

/* The account's settings; NOT_FOUND when it never set any. */
int cd_store_autotopup_get(struct cd_tx *tx, const char *account_id,
                           struct cd_autotopup_settings *out);
/* Inserts or replaces the account's settings. */
int cd_store_autotopup_put(struct cd_tx *tx,
                           const struct cd_autotopup_settings *s);
/* Enabled settings with the account's balance (one read); NOT_FOUND when
 * auto top-up is off or unset. */
int cd_store_autotopup_probe(struct cd_tx *tx, const char *account_id,
                             int64_t *threshold, int64_t *balance);
/* Inserts a (pending) attempt only when, in the same statement, the
 * settings are enabled, the balance is below the threshold, the month's
 * open and succeeded attempts plus this one stay within the cap, and no
 * other attempt is open (the unique index). OK when inserted, NOT_FOUND
 * when a guard refused. a->amount_cents is taken from the settings. */
int cd_store_autotopup_open(struct cd_tx *tx, struct cd_autotopup_attempt *a);
/* The sum of amount_cents of the account's open and succeeded attempts in
 * month (YYYYMM). */
int cd_store_autotopup_month_sum(struct cd_tx *tx, const char *account_id,
                                 int64_t month, int64_t *sum);
int cd_store_autotopup_attempt_get(struct cd_tx *tx, const char *id,
                                   struct cd_autotopup_attempt *out);
/* The account's newest attempt; NOT_FOUND when none. */
int cd_store_autotopup_attempt_last(struct cd_tx *tx, const char *account_id,
                                    struct cd_autotopup_attempt *out);
/* Writes state, tries, order_id, next_try_at, decline_code, failure and
 * updated_at of a->id; NOT_FOUND when there is no such attempt. */
int cd_store_autotopup_attempt_update(struct cd_tx *tx,
                                      const struct cd_autotopup_attempt *a);
/* Cancels the account's pending (not in-flight) attempt, if any. */
int cd_store_autotopup_cancel_pending(struct cd_tx *tx,
                                      const char *account_id, int64_t now);
/* Up to max open attempts with next_try_at <= now, soonest first, into
 * out; *n their count. */
int cd_store_autotopup_due(struct cd_tx *tx, int64_t now,
                           struct cd_autotopup_attempt *out, int max, int *n);

#endif
