/*
 * balance.h - an account's balance as GET /v1/balance shows it, read in
 * one read transaction by one statement (store/balance.h): the balance,
 * what live holds keep (a hold past its expires_at counts as released at
 * once, as in cd_hold_totals), what is available, the debt, the credits
 * left by category and the next expiry (as in cd_lots_totals).
 */
#ifndef CD_BILLING_BALANCE_H
#define CD_BILLING_BALANCE_H

#include "billing/billing.h"

struct cd_balance {
    int64_t balance;
    int64_t held;      /* live holds: not yet captured, released, expired */
    int64_t available; /* balance - held */
    int64_t debt;
    int64_t paid, promotional;    /* credits left by category */
    int64_t next_amount, next_at; /* next_at 0: nothing expires */
};

/* 0, or -1 with err: 404 account_not_found, 500 internal_error. */
int cd_balance_get(struct cd_billing *b, const char *account_id,
                   struct cd_balance *out, struct cd_error *err);

#endif
