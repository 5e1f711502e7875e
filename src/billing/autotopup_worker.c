/*
 * autotopup_worker.c - the thread that pays auto top-up attempts; see
 * autotopup.h.
 *
 * Every poll it reads the due open attempts (a read: no write while there
 * is nothing to do), then works through them, taking (renewing) the
 * "autotopup" lease before each: a pending attempt is claimed for its next try and paid through
 * cd_topup_create with its derived order id; an in-flight one is settled
 * from its order (completed: succeeded; failed: declined with the
 * failure Stripe gave), or, when its order never reached Stripe (a crash
 * or an unknown outcome), paid again under the same order - the same
 * Stripe Idempotency-Key - so nothing is charged twice. Once that key may
 * be forgotten (23 h after the order), cd_topup_resume first asks Stripe
 * whether the order was charged and adopts what it finds, or sends it
 * under a new key (topup_lookup.h): still one charge, at any age.
 */
#include "billing/autotopup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/accounts.h"
#include "billing/order_status.h"
#include "billing/orders.h"
#include "billing/topups.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "autotopup"
#define LEASE_NAME "autotopup"
/* Short, and renewed before each attempt: a node killed mid-pass holds
 * up auto top-ups for at most this long. Two nodes overlapping (a pass
 * slower than this) are harmless: a claim is one guarded write, an
 * outcome applies once, and a payment re-sent for the same order sends
 * Stripe the same Idempotency-Key. */
#define LEASE_TTL_S 10
#define BATCH 32

/* Splits an order's failure_reason "<message> (<code>)" (topups.c). */
static void split_failure(const char *reason, char *code, size_t codesz,
                          char *msg, size_t msgsz)
{
    size_t n = strlen(reason);
    const char *open = NULL;

    for (const char *p = reason; *p; p++)
        if (p[0] == ' ' && p[1] == '(')
            open = p;
    code[0] = '\0';
    cd_strlcpy(msg, reason, msgsz);
    if (!open || n < 2 || reason[n - 1] != ')' ||
        (size_t)(reason + n - 1 - (open + 2)) >= codesz)
        return;
    memcpy(code, open + 2, (size_t)(reason + n - 1 - (open + 2)));
    code[reason + n - 1 - (open + 2)] = '\0';
    if ((size_t)(open - reason) < msgsz)
        msg[open - reason] = '\0';
}

/* The next look at an attempt waiting for its webhook: twice the last
 * wait, from CD_AUTOTOPUP_WAIT_S up to CD_AUTOTOPUP_RECHECK_S (a webhook
 * that never comes is left to reconciliation, which completes or fails
 * the order). */
static int64_t waiting(const struct cd_autotopup_attempt *a)
{
    int64_t w = 2 * (a->next_try_at - a->updated_at);

    if (w < CD_AUTOTOPUP_WAIT_S)
        return CD_AUTOTOPUP_WAIT_S;
    return w > CD_AUTOTOPUP_RECHECK_S ? CD_AUTOTOPUP_RECHECK_S : w;
}

/* Settles a from its order o when the order has an outcome: 1 settled,
 * 0 still open, -1 store failure. */
static int settle_from_order(struct cd_billing *b,
                             const struct cd_autotopup_attempt *a,
                             const struct cd_order *o)
{
    char code[CD_DECLINE_CODE_SZ], msg[CD_DESC_SZ];

    if (cd_order_fulfilled(o))
        return cd_autotopup_succeeded(b, a) == 0 ? 1 : -1;
    if (!cd_order_is(o, CD_ORDER_FAILED))
        return 0;
    split_failure(o->failure_reason[0] ? o->failure_reason
                                       : "The payment failed.",
                  code, sizeof(code), msg, sizeof(msg));
    return cd_autotopup_declined(b, a, code[0] ? code : "declined", msg) == 0
               ? 1
               : -1;
}

/* Starts the payment of in-flight attempt a, or, given its order o
 * (never answered), re-sends it: cd_topup_resume asks Stripe first
 * whether it charged once its key may be forgotten (topup_lookup.h). */
static void pay(struct cd_billing *b, const struct cd_autotopup_attempt *a,
                const struct cd_order *sent)
{
    struct cd_topup_result res;
    struct cd_account acct;
    struct cd_order o;
    struct cd_error err;
    int rc;

    cd_error_clear(&err);
    if (cd_account_get(b, a->account_id, &acct, &err) != 0) {
        cd_autotopup_defer(b, a, CD_AUTOTOPUP_RECHECK_S);
        return;
    }
    rc = sent ? cd_topup_resume(b, &acct, sent, &res, &err)
              : cd_topup_create(b, &acct, a->amount_cents, a->order_id, &res,
                                &err);
    if (rc == 0 || strcmp(err.code, "card_declined") == 0) {
        /* the order holds the outcome (and Stripe's reason) */
        if (cd_order_get(b, a->order_id, &o) == CD_STORE_OK &&
            settle_from_order(b, a, &o) != 0)
            return;
        /* a re-send that went through is new: its webhook is due soon,
         * whatever the waits before it */
        cd_autotopup_defer(b, a, sent ? CD_AUTOTOPUP_WAIT_S : waiting(a));
        return;
    }
    if (err.kind == CD_EK_INVALID || err.kind == CD_EK_CONFLICT ||
        err.kind == CD_EK_UNAVAILABLE) {
        /* no saved card, an amount the catalog no longer allows, no
         * Stripe: trying again will not help */
        cd_autotopup_give_up(b, a, err.message);
        return;
    }
    cd_warn(MOD, "%s: auto top-up %s: %s; trying again later", a->account_id,
            a->id, err.message);
    cd_autotopup_defer(b, a, CD_AUTOTOPUP_RECHECK_S);
}

/* An attempt in flight: settled from its order, or paid (again). */
static void look(struct cd_billing *b, const struct cd_autotopup_attempt *a)
{
    struct cd_order o;
    int rc = cd_order_get(b, a->order_id, &o);

    if (rc == CD_STORE_OK) {
        rc = settle_from_order(b, a, &o);
        if (rc != 0)
            return;
        if (o.stripe_payment_intent_id[0]) {
            /* at Stripe: its webhook completes the order */
            cd_autotopup_defer(b, a, waiting(a));
            return;
        }
        pay(b, a, &o); /* its outcome is unknown */
        return;
    }
    if (rc == CD_STORE_NOT_FOUND)
        pay(b, a, NULL); /* never reached Stripe */
}

struct due_job {
    int64_t now;
    struct cd_autotopup_attempt *rows;
    int n;
};

static int due_fn(struct cd_tx *tx, void *arg)
{
    struct due_job *d = arg;

    return cd_store_autotopup_due(tx, d->now, d->rows, BATCH, &d->n);
}

static int run_due(struct cd_billing *b, struct due_job *d,
                   int (*lease)(void *), void *lease_arg)
{
    d->n = 0;
    d->now = cd_now();
    if (cd_store_read(b->store, due_fn, d) != 0)
        return -1;
    if (!d->n)
        return 0;
    for (int i = 0; i < d->n; i++) {
        struct cd_autotopup_attempt a = d->rows[i];

        if (lease && lease(lease_arg) != 1)
            return i;

        if (strcmp(a.state, "pending") == 0) {
            if (cd_autotopup_claim(b, &a) == 1)
                pay(b, &a, NULL);
        } else {
            look(b, &a);
        }
    }
    return d->n;
}

int cd_autotopup_pass(struct cd_billing *b)
{
    struct due_job d;
    int rc;

    d.rows = malloc(BATCH * sizeof(*d.rows));
    if (!d.rows)
        return -1;
    rc = run_due(b, &d, NULL, NULL);
    free(d.rows);
    return rc;
}

/* ---- the thread ----------------------------------------------------------- */

struct cd_autotopup_worker {
    struct cd_billing *b;
    int64_t poll_ms;
    char holder[CD_LEASE_HOLDER_SZ];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stop;
    int held;
    pthread_t thread;
};

struct lease_job {
    const char *holder;
    int64_t now;
    int release, rc;
};

static int lease_fn(struct cd_tx *tx, void *arg)
{
    struct lease_job *l = arg;

    l->rc = l->release ? cd_store_lease_release(tx, LEASE_NAME, l->holder)
                       : cd_store_lease_acquire(tx, LEASE_NAME, l->holder,
                                                l->now, LEASE_TTL_S);
    return l->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

static int take_lease(void *arg)
{
    struct cd_autotopup_worker *w = arg;
    struct lease_job l = {w->holder, cd_now(), 0, 0};

    if (cd_store_write(w->b->store, lease_fn, &l) != 0)
        return -1;
    if (l.rc != CD_STORE_OK && w->held)
        cd_info(MOD, "another node runs auto top-ups now");
    w->held = l.rc == CD_STORE_OK;
    return w->held;
}

static void *worker_main(void *arg)
{
    struct cd_autotopup_worker *w = arg;
    struct due_job d;

    d.rows = malloc(BATCH * sizeof(*d.rows));
    for (;;) {
        struct timespec ts;

        if (d.rows)
            run_due(w->b, &d, take_lease, w);
        pthread_mutex_lock(&w->mu);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(w->poll_ms / 1000);
        ts.tv_nsec += (long)(w->poll_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!w->stop)
            if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
                break;
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        pthread_mutex_unlock(&w->mu);
    }
    free(d.rows);
    if (w->held) {
        struct lease_job l = {w->holder, 0, 1, 0};

        if (cd_store_write(w->b->store, lease_fn, &l) != 0)
            cd_warn(MOD, "could not release the auto top-up lease");
    }
    return NULL;
}

struct cd_autotopup_worker *cd_autotopup_start(struct cd_billing *b,
                                               int64_t poll_ms)
{
    struct cd_autotopup_worker *w;
    pthread_condattr_t ca;

    if (!b || !b->store)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->b = b;
    w->poll_ms = poll_ms > 0 ? poll_ms : 1000;
    cd_random_id("autotopup_", w->holder, sizeof(w->holder));
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void cd_autotopup_stop(struct cd_autotopup_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
