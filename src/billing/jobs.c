/*
 * jobs.c - the background jobs thread; see jobs.h.
 *
 * The thread sleeps on a condition variable (CLOCK_MONOTONIC, so a wall
 * clock step neither fires nor starves a job) until the next job is due
 * or cd_jobs_stop() wakes it. A lease is taken in its own small write
 * job before the work, renewed after it and by the next cycle; Stripe is
 * only called by reconciliation and the card look-ups after it, outside
 * any transaction. On stop the thread
 * gives its leases back, so another node takes over without waiting for
 * them to expire.
 */
#include "billing/jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/card_enrich.h"
#include "billing/holds.h"
#include "billing/leases.h"
#include "billing/ledger_ops.h"
#include "billing/login_throttle.h"
#include "billing/lots.h"
#include "billing/rate_limits.h"
#include "billing/reconcile.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "jobs"
#define LEASE_RECONCILE "reconcile"
#define LEASE_PURGE "purge"
#define LEASE_HOLDS "holds"
#define LEASE_EXPIRY "expiry"

static const struct cd_metric_def M_JOBS = {
    "creditd_jobs_runs_total",
    "Background job runs by job and outcome (skipped: another node holds "
    "the lease).",
    CD_METRIC_COUNTER,
    {"job", "outcome"},
    NULL,
    0};
static const struct cd_metric_def M_LEDGER_OK = {
    "creditd_ledger_ok",
    "1 when the last ledger check found every balance equal to the sum of "
    "its entries, else 0.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_LEDGER_MISMATCH = {
    "creditd_ledger_mismatched_accounts",
    "Accounts whose balance differed from the sum of their entries at the "
    "last ledger check.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_LEDGER_BALANCES = {
    "creditd_ledger_sum_balances",
    "Sum of all account balances (credits) at the last ledger check.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_LEDGER_ENTRIES = {
    "creditd_ledger_sum_entries",
    "Sum of all ledger entries (credits) at the last ledger check.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};
static const struct cd_metric_def M_LEDGER_AT = {
    "creditd_ledger_verified_timestamp_seconds",
    "Unix time of the last ledger check.",
    CD_METRIC_GAUGE,
    {NULL},
    NULL,
    0};

static const struct cd_metric_def M_HOLDS_EXPIRED = {
    "creditd_holds_expired_accounts_total",
    "Accounts whose due holds the hold sweeper expired.",
    CD_METRIC_COUNTER,
    {NULL},
    NULL,
    0};

struct cd_jobs {
    struct cd_billing *b;
    int64_t interval, purge_interval;
    char holder[CD_LEASE_HOLDER_SZ];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stop;          /* under mu */
    pthread_t thread;
    /* the thread's own */
    int held_reconcile, held_purge, held_holds, held_expiry;
};

static int64_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static int should_stop(void *arg)
{
    struct cd_jobs *j = arg;
    int s;

    pthread_mutex_lock(&j->mu);
    s = j->stop;
    pthread_mutex_unlock(&j->mu);
    return s;
}

/* ---- leases ------------------------------------------------------------ */

struct lease_job {
    const char *name, *holder;
    int64_t now, ttl;
    int release;
    int rc;
};

static int lease_fn(struct cd_tx *tx, void *arg)
{
    struct lease_job *l = arg;

    if (l->release)
        l->rc = cd_store_lease_release(tx, l->name, l->holder);
    else
        l->rc = cd_store_lease_acquire(tx, l->name, l->holder, l->now,
                                       l->ttl);
    return l->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

/* 1 when this process holds the lease now, 0 when another does, -1 on a
 * store failure. */
static int lease_take(struct cd_jobs *j, const char *name, int64_t ttl)
{
    struct lease_job l = {name, j->holder, cd_now(), ttl, 0, 0};

    int held;

    if (cd_store_write(j->b->store, lease_fn, &l) != 0)
        return -1;
    held = l.rc == CD_STORE_OK;
    cd_lease_held_set(name, held);
    return held;
}

static void lease_give(struct cd_jobs *j, const char *name)
{
    struct lease_job l = {name, j->holder, 0, 0, 1, 0};

    if (cd_store_write(j->b->store, lease_fn, &l) != 0)
        cd_warn(MOD, "could not release the %s lease", name);
    cd_lease_held_set(name, 0);
}

/* ---- the jobs ---------------------------------------------------------- */

/* After a reconciliation, under its lease: the cards of payments whose
 * charge event never came (card_enrich.h). */
static void do_card_enrich(struct cd_jobs *j)
{
    struct cd_card_enrich_result res;

    if (should_stop(j))
        return;
    if (cd_card_enrich_run(j->b, CD_CARD_ENRICH_LIMIT, should_stop, j,
                           &res) != 0)
        cd_warn(MOD, "asking Stripe for missing cards failed");
}

static void do_reconcile(struct cd_jobs *j)
{
    struct cd_reconcile_result res;
    struct cd_error err;
    int held;

    if (!j->b->stripe)
        return;
    held = lease_take(j, LEASE_RECONCILE, 2 * j->interval);
    if (held < 0) {
        cd_metrics_add(NULL, &M_JOBS, 1, "reconcile", "error", NULL);
        return;
    }
    if (!held) {
        if (j->held_reconcile)
            cd_info(MOD, "another node runs reconciliation now");
        j->held_reconcile = 0;
        cd_metrics_add(NULL, &M_JOBS, 1, "reconcile", "skipped", NULL);
        return;
    }
    j->held_reconcile = 1;
    cd_error_clear(&err);
    if (cd_reconcile_run_until(j->b, should_stop, j, &res, &err) != 0) {
        cd_warn(MOD, "reconciliation failed: %s", err.message);
        cd_metrics_add(NULL, &M_JOBS, 1, "reconcile", "error", NULL);
    } else {
        cd_metrics_add(NULL, &M_JOBS, 1, "reconcile", "ok", NULL);
    }
    do_card_enrich(j);
    /* Renewed after the run too, so a run as long as the interval (Stripe
     * slow) does not let the lease lapse before the next cycle. */
    if (!should_stop(j) &&
        lease_take(j, LEASE_RECONCILE, 2 * j->interval) == 0)
        j->held_reconcile = 0;
}

static void do_verify(struct cd_jobs *j)
{
    struct cd_ledger_check chk;
    struct cd_error err;

    cd_error_clear(&err);
    if (cd_ledger_verify(j->b, &chk, NULL, NULL, &err) != 0) {
        cd_warn(MOD, "ledger check failed: %s", err.message);
        cd_metrics_add(NULL, &M_JOBS, 1, "verify", "error", NULL);
        return;
    }
    if (chk.mismatches > 0 || chk.sum_balances != chk.sum_entries)
        cd_error(MOD,
                 "ledger check: %lld account(s) disagree with their "
                 "entries",
                 (long long)chk.mismatches);
    if (chk.lot_mismatches > 0)
        cd_error(MOD,
                 "ledger check: %lld account(s) disagree with their "
                 "lots",
                 (long long)chk.lot_mismatches);
    cd_metrics_set(NULL, &M_LEDGER_OK,
                   chk.mismatches == 0 && chk.lot_mismatches == 0 &&
                       chk.sum_balances == chk.sum_entries,
                   NULL, NULL, NULL);
    cd_metrics_set(NULL, &M_LEDGER_MISMATCH, (double)chk.mismatches, NULL,
                   NULL, NULL);
    cd_metrics_set(NULL, &M_LEDGER_BALANCES, (double)chk.sum_balances, NULL,
                   NULL, NULL);
    cd_metrics_set(NULL, &M_LEDGER_ENTRIES, (double)chk.sum_entries, NULL,
                   NULL, NULL);
    cd_metrics_set(NULL, &M_LEDGER_AT, (double)cd_now(), NULL, NULL, NULL);
    cd_metrics_add(NULL, &M_JOBS, 1, "verify", "ok", NULL);
}

struct purge_job {
    int64_t now;
};

static int purge_fn(struct cd_tx *tx, void *arg)
{
    struct purge_job *p = arg;

    if (cd_store_idem_purge(tx, p->now - CD_JOBS_IDEM_TTL) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_store_token_purge(tx, p->now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_login_purge_tx(tx, p->now * 1000) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_rate_purge_tx(tx, cd_now_ms()) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_store_link_purge(tx, p->now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_store_charge_card_purge(tx, p->now - CD_JOBS_CHARGE_CARD_TTL) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (cd_store_invoice_payment_purge(
            tx, p->now - CD_JOBS_CHARGE_CARD_TTL) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return 0;
}

static void do_purge(struct cd_jobs *j)
{
    struct purge_job p = {cd_now()};
    int held = lease_take(j, LEASE_PURGE, 2 * j->purge_interval);

    if (held <= 0) {
        j->held_purge = 0;
        cd_metrics_add(NULL, &M_JOBS, 1, "purge",
                       held < 0 ? "error" : "skipped", NULL);
        return;
    }
    j->held_purge = 1;
    if (cd_store_write(j->b->store, purge_fn, &p) != 0) {
        cd_warn(MOD, "purging old idempotency keys, tokens, failed-login "
                     "counts, rate-limit buckets and email links failed");
        cd_metrics_add(NULL, &M_JOBS, 1, "purge", "error", NULL);
        return;
    }
    cd_debug(MOD, "purged idempotency keys older than 24 h, expired tokens, "
                  "stale failed-login counts and old email links");
    cd_metrics_add(NULL, &M_JOBS, 1, "purge", "ok", NULL);
}

/* holds: due holds expire (their rows say so; availability never waited
 * for this), under the "holds" lease. */
static void do_hold_sweep(struct cd_jobs *j)
{
    int64_t n = 0;
    int held = lease_take(j, LEASE_HOLDS, 2 * CD_JOBS_DEFAULT_CYCLE);

    j->held_holds = held > 0;
    if (held <= 0) {
        cd_metrics_add(NULL, &M_JOBS, 1, "holds",
                       held < 0 ? "error" : "skipped", NULL);
        return;
    }
    if (cd_hold_sweep(j->b, &n) != 0) {
        cd_warn(MOD, "expiring due holds failed");
        cd_metrics_add(NULL, &M_JOBS, 1, "holds", "error", NULL);
        return;
    }
    if (n > 0)
        cd_info(MOD, "expired the due holds of %lld account(s)",
                (long long)n);
    cd_metrics_add(NULL, &M_HOLDS_EXPIRED, (double)n, NULL, NULL, NULL);
    cd_metrics_add(NULL, &M_JOBS, 1, "holds", "ok", NULL);
}

/* The expiry sweep (lots.h): every lot past its expires_at with credits
 * left gets its one expiry entry. Under its own lease, so one node
 * sweeps; the entry's unique ref keeps it once even if two ever did. */
static void do_expiry(struct cd_jobs *j, int64_t every)
{
    int64_t n = 0;
    int held = lease_take(j, LEASE_EXPIRY, 2 * every + 5);

    if (held <= 0) {
        j->held_expiry = 0;
        cd_metrics_add(NULL, &M_JOBS, 1, "expiry",
                       held < 0 ? "error" : "skipped", NULL);
        return;
    }
    j->held_expiry = 1;
    if (cd_lots_sweep(j->b, cd_now(), &n) != 0) {
        cd_warn(MOD, "the expiry sweep failed");
        cd_metrics_add(NULL, &M_JOBS, 1, "expiry", "error", NULL);
        return;
    }
    if (n > 0)
        cd_info(MOD, "expired %lld lot(s)", (long long)n);
    cd_metrics_add(NULL, &M_JOBS, 1, "expiry", "ok", NULL);
}

/* ---- the thread -------------------------------------------------------- */

/* One run of a job under a log id of its own (job_...), so its lines -
 * and those of the Stripe calls it makes - grep together. */
static void run_job(struct cd_jobs *j, void (*fn)(struct cd_jobs *j))
{
    cd_log_begin_job();
    fn(j);
    cd_log_end_job();
}

/* Sleeps until the monotonic second `until` or a stop; 1 when stopping. */
static int sleep_until(struct cd_jobs *j, int64_t until)
{
    struct timespec ts;
    int s;

    pthread_mutex_lock(&j->mu);
    while (!j->stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((int64_t)ts.tv_sec >= until)
            break;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = 0;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    s = j->stop;
    pthread_mutex_unlock(&j->mu);
    return s;
}

static void *jobs_main(void *arg)
{
    struct cd_jobs *j = arg;
    int64_t cycle = j->interval > 0 ? j->interval : CD_JOBS_DEFAULT_CYCLE;
    int64_t start = mono_s();
    int64_t next_cycle = start + (cycle < CD_JOBS_FIRST_DELAY
                                      ? cycle
                                      : CD_JOBS_FIRST_DELAY);
    int64_t next_purge = next_cycle;
    int64_t every = j->b->cfg.expiry_interval_s > 0
                        ? j->b->cfg.expiry_interval_s
                        : CD_JOBS_EXPIRY_DEFAULT;
    int64_t next_expiry = start + every;

    run_job(j, do_hold_sweep);
    run_job(j, do_verify);
    for (;;) {
        int64_t now, next = next_cycle < next_purge ? next_cycle : next_purge;

        if (sleep_until(j, next < next_expiry ? next : next_expiry))
            break;
        now = mono_s();
        if (now >= next_expiry) {
            cd_log_begin_job(); /* as run_job does */
            do_expiry(j, every);
            cd_log_end_job();
            next_expiry = mono_s() + every;
        }
        if (now >= next_cycle) {
            if (j->interval > 0)
                run_job(j, do_reconcile);
            if (should_stop(j))
                break;
            run_job(j, do_hold_sweep);
            run_job(j, do_verify);
            next_cycle = mono_s() + cycle;
        }
        if (now >= next_purge) {
            run_job(j, do_purge);
            next_purge = mono_s() + j->purge_interval;
        }
    }
    cd_log_begin_job();
    if (j->held_reconcile)
        lease_give(j, LEASE_RECONCILE);
    if (j->held_purge)
        lease_give(j, LEASE_PURGE);
    if (j->held_holds)
        lease_give(j, LEASE_HOLDS);
    if (j->held_expiry)
        lease_give(j, LEASE_EXPIRY);
    cd_log_end_job();
    return NULL;
}

struct cd_jobs *cd_jobs_start(struct cd_billing *b, int64_t interval,
                              int64_t purge_interval)
{
    struct cd_jobs *j;
    pthread_condattr_t ca;

    if (!b || !b->store || interval < 0 || purge_interval < 1)
        return NULL;
    j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->b = b;
    j->interval = interval;
    j->purge_interval = purge_interval;
    cd_random_id("node_", j->holder, sizeof(j->holder));
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&j->thread, NULL, jobs_main, j) != 0) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return NULL;
    }
    if (interval > 0 && !b->stripe)
        cd_info(MOD, "reconciliation off: Stripe is not configured");
    else if (interval > 0)
        cd_info(MOD, "reconciliation every %lld s (instance %s)",
                (long long)interval, j->holder);
    else
        cd_info(MOD, "reconciliation disabled (CREDITD_RECONCILE_INTERVAL "
                     "is 0)");
    return j;
}

void cd_jobs_stop(struct cd_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
