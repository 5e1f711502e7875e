/*
 * billing_fixture.h - a real billing on a real store for the unit tests
 * (fx_billing_open/fx_billing_close, on the store of store_target.h:
 * SQLite in a temp dir, or PostgreSQL), and rows they put in it: an
 * account and a pending order. Included by test_billing_*.c and
 * test_api_*.c; every function is static inline so a test that uses only
 * some of them builds warning-free. Each row helper asserts that its
 * write committed.
 */
#ifndef CD_TEST_BILLING_FIXTURE_H
#define CD_TEST_BILLING_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "billing/billing.h"
#include "billing/hooks.h"
#include "store/store.h"
#include "util/util.h"

#include "store_target.h"

/* b zeroed, on a new store (store_target_open), with the settings most
 * tests share: usd, launch pricing 2999 (rrp 4999, sale 2499), tokens
 * living an hour. 0, or -1 (the reason on stderr). */
static inline int fx_billing_open(struct cd_billing *b,
                                  struct store_target *t, int pg,
                                  const char *prefix)
{
    memset(b, 0, sizeof(*b));
    cd_billing_hooks_install(); /* the ledger's effects, as main.c does */
    b->store = store_target_open(t, pg, prefix, 0);
    if (!b->store)
        return -1;
    strcpy(b->cfg.currency, "usd");
    strcpy(b->cfg.default_pricing.mode, "launch");
    b->cfg.default_pricing.launch_cents = 2999;
    b->cfg.default_pricing.rrp_cents = 4999;
    b->cfg.default_pricing.sale_cents = 2499;
    b->cfg.token_ttl = 3600;
    return 0;
}

static inline void fx_billing_close(struct cd_billing *b,
                                    struct store_target *t)
{
    store_target_close(t, b->store);
    b->store = NULL;
}

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
