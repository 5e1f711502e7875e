/*
 * billing_fixture.h - rows the billing unit tests put in a real temp store:
 * an account and a pending order. Included by test_billing_*.c; every
 * function is static inline so a test that uses only some of them builds
 * warning-free. Each helper asserts that its write committed.
 */
#ifndef CD_TEST_BILLING_FIXTURE_H
#define CD_TEST_BILLING_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/util.h"

static inline int fx_job_insert_account(struct cd_tx *tx, void *arg)
{
    return cd_store_account_insert(tx, arg);
}

static inline int fx_job_insert_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_insert(tx, arg);
}

/* A new account (random id, matching lower-case email); its id in id_out
 * (CD_ID_SZ bytes). */
static inline void fx_new_account(struct cd_store *s, char *id_out)
{
    struct cd_account a;

    memset(&a, 0, sizeof(a));
    cd_random_id("acct_", a.id, sizeof(a.id));
    snprintf(a.email, sizeof(a.email), "%.40s@example.com", a.id + 5);
    for (char *p = a.email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(a.password_hash, sizeof(a.password_hash), "x");
    a.created_at = cd_now();
    assert_int_equal(cd_store_write(s, fx_job_insert_account, &a), 0);
    strcpy(id_out, a.id);
}

/* A pending usd order with a fresh id; the caller sets any other field
 * (session, payment intent, discount code) before fx_order_insert. */
static inline void fx_order_init(struct cd_order *o, const char *account,
                                 const char *kind, int64_t amount,
                                 int64_t credits)
{
    memset(o, 0, sizeof(*o));
    cd_random_id("ord_", o->id, sizeof(o->id));
    strcpy(o->account_id, account);
    strcpy(o->kind, kind);
    strcpy(o->status, "pending");
    o->amount_cents = amount;
    o->credits = credits;
    strcpy(o->currency, "usd");
    strcpy(o->description, "unit order");
    o->created_at = o->updated_at = cd_now();
}

static inline void fx_order_insert(struct cd_store *s, struct cd_order *o)
{
    assert_int_equal(cd_store_write(s, fx_job_insert_order, o), 0);
}

#endif
