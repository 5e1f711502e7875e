/*
 * login_throttle.c - the failed-login counts of login_throttle.h: the
 * decision (cd_login_throttle_take, no I/O) and the write jobs around it.
 */
#include "billing/login_throttle.h"

#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/util.h"

int64_t cd_login_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cd_login_backoff_ms(int64_t failures)
{
    int64_t over = failures - CD_LOGIN_FREE_FAILS;

    if (over < 0)
        return 0;
    if (over >= 20) /* 2 s << 20 is far past the cap */
        return CD_LOGIN_BACKOFF_MAX_MS;
    if ((CD_LOGIN_BACKOFF_BASE_MS << over) > CD_LOGIN_BACKOFF_MAX_MS)
        return CD_LOGIN_BACKOFF_MAX_MS;
    return CD_LOGIN_BACKOFF_BASE_MS << over;
}

/* Counts one failure at now in f (a fresh count starts at now). */
static void count_failure(struct cd_login_fail *f, int64_t now_ms)
{
    if (f->failures <= 0) {
        f->failures = 0;
        f->first_at = now_ms;
    }
    f->failures++;
    f->last_at = now_ms;
}

int64_t cd_login_throttle_take(struct cd_login_fail *pair,
                               struct cd_login_fail *all, int64_t now_ms)
{
    int64_t wait, backoff;

    /* Counts that ran out start over. */
    if (pair->failures > 0 && now_ms - pair->last_at >= CD_LOGIN_FORGET_MS)
        pair->failures = 0;
    if (all->failures > 0 &&
        now_ms - all->first_at >= CD_LOGIN_EMAIL_WINDOW_MS)
        all->failures = 0;

    /* Each wait is clamped to its full length, so a wall clock stepped
     * back (or another node's clock ahead) never makes it longer. */
    if (all->failures >= CD_LOGIN_EMAIL_FAILS) {
        wait = all->first_at + CD_LOGIN_EMAIL_WINDOW_MS - now_ms;
        if (wait > CD_LOGIN_EMAIL_WINDOW_MS)
            wait = CD_LOGIN_EMAIL_WINDOW_MS;
        return wait < 1 ? 1 : wait;
    }
    backoff = cd_login_backoff_ms(pair->failures);
    wait = pair->last_at + backoff - now_ms;
    if (backoff > 0 && wait > 0)
        return wait > backoff ? backoff : wait;
    count_failure(pair, now_ms);
    count_failure(all, now_ms);
    return 0;
}

/* ---- the write jobs ---------------------------------------------------- */

/* Reads the row of (email, address) into f, or a zero count when there is
 * none. CD_STORE_OK or CD_STORE_ERROR. */
static int read_row(struct cd_tx *tx, const char *email, const char *address,
                    struct cd_login_fail *f)
{
    int rc = cd_store_login_fail_get(tx, email, address, f);

    if (rc == CD_STORE_NOT_FOUND) {
        memset(f, 0, sizeof(*f));
        if (cd_strlcpy(f->email, email, sizeof(f->email)) != 0 ||
            cd_strlcpy(f->address, address, sizeof(f->address)) != 0)
            return CD_STORE_ERROR;
        return CD_STORE_OK;
    }
    return rc;
}

struct reserve_job {
    const char *email, *address;
    int64_t now_ms;
    int64_t wait_ms; /* out */
    int ceiling;     /* out: refused by the per-email ceiling */
};

static int reserve_fn(struct cd_tx *tx, void *arg)
{
    struct reserve_job *j = arg;
    struct cd_login_fail pair, all;

    if (read_row(tx, j->email, j->address, &pair) != CD_STORE_OK ||
        read_row(tx, j->email, CD_LOGIN_ANY_ADDRESS, &all) != CD_STORE_OK)
        return CD_STORE_ERROR;
    j->wait_ms = cd_login_throttle_take(&pair, &all, j->now_ms);
    if (j->wait_ms > 0) {
        j->ceiling = all.failures >= CD_LOGIN_EMAIL_FAILS;
        return 0; /* refused: nothing written */
    }
    if (cd_store_login_fail_put(tx, &pair) != CD_STORE_OK ||
        cd_store_login_fail_put(tx, &all) != CD_STORE_OK)
        return CD_STORE_ERROR;
    return 0;
}

int cd_login_reserve(struct cd_billing *b, const char *email,
                     const char *address, int64_t *retry_after_s,
                     struct cd_error *err)
{
    struct reserve_job j = {email, address, cd_login_now_ms(), 0, 0};
    int64_t secs;

    if (!email || !email[0] || strlen(email) >= CD_EMAIL_SZ || !address ||
        !address[0] || strlen(address) >= CD_ADDR_SZ ||
        strcmp(address, CD_LOGIN_ANY_ADDRESS) == 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    if (cd_store_write(b->store, reserve_fn, &j) != 0) {
        cd_error("billing", "login throttle: the reservation failed");
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    }
    if (j.wait_ms <= 0)
        return 0;
    secs = (j.wait_ms + 999) / 1000;
    if (retry_after_s)
        *retry_after_s = secs;
    return cd_error_set(err, CD_EK_RATE, "rate_limited", NULL,
                        "too many failed logins for this email%s",
                        j.ceiling ? "" : " from this address");
}

int cd_login_succeeded_tx(struct cd_tx *tx, const char *email,
                          const char *address, int64_t now_ms)
{
    struct cd_login_fail all;
    int rc;

    rc = cd_store_login_fail_delete(tx, email, address);
    if (rc != CD_STORE_OK && rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    rc = cd_store_login_fail_get(tx, email, CD_LOGIN_ANY_ADDRESS, &all);
    if (rc == CD_STORE_NOT_FOUND)
        return CD_STORE_OK;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* The reserved attempt was no failure. A window that ended meanwhile
     * is left for the next reservation to restart. */
    if (all.failures <= 0 ||
        now_ms - all.first_at >= CD_LOGIN_EMAIL_WINDOW_MS)
        return CD_STORE_OK;
    all.failures--;
    return cd_store_login_fail_put(tx, &all) == CD_STORE_OK ? CD_STORE_OK
                                                            : CD_STORE_ERROR;
}

int cd_login_purge_tx(struct cd_tx *tx, int64_t now_ms)
{
    int64_t keep = CD_LOGIN_FORGET_MS > CD_LOGIN_EMAIL_WINDOW_MS
                       ? CD_LOGIN_FORGET_MS
                       : CD_LOGIN_EMAIL_WINDOW_MS;

    return cd_store_login_fail_purge(tx, now_ms - keep);
}
