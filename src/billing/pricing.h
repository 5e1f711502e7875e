/*
 * pricing.h - the dynamic price of the access product (launch / rrp / sale)
 * and discount-code arithmetic.
 *
 * Rounding rule: a percent discount is base * percent / 100 rounded half
 * up to the cent (2999 at 10 % -> 299.9 -> 300 off -> 2699, "$29.99 - 10 %
 * = $26.99"); a fixed discount takes at most the whole base. A discount
 * never takes a price below CD_MIN_CHARGE_CENTS (Stripe's smallest USD
 * charge): such a checkout is refused with 400 amount_below_minimum.
 * Discounts apply to kind access and package (a package keeps its
 * credits); a top-up refuses a code (400 discount_not_applicable).
 */
#ifndef CD_BILLING_PRICING_H
#define CD_BILLING_PRICING_H

#include "billing/billing.h"
#include "util/error.h"

#define CD_MIN_CHARGE_CENTS 50

/* The pricing in force: the stored row, else the configured defaults.
 * Works on a read or a write tx. CD_STORE_OK or CD_STORE_ERROR. */
int cd_pricing_current_tx(struct cd_billing *b, struct cd_tx *tx,
                          struct cd_pricing *out);
/* Same, on its own read transaction: 0, or -1 with err (500). */
int cd_pricing_current(struct cd_billing *b, struct cd_pricing *out,
                       struct cd_error *err);
/* The price of the current mode. */
int64_t cd_pricing_base_cents(const struct cd_pricing *p);

/* Discount for base_cents (pure; see the rounding rule above). */
int64_t cd_discount_amount(const struct cd_discount *d, int64_t base_cents);

/*
 * Whether a code can be used at now: NULL if so, else "unknown_code"
 * (d is NULL), "inactive", "expired" or "exhausted" (times_used has
 * reached max_uses).
 */
const char *cd_discount_problem(const struct cd_discount *d, int64_t now);

/* Normalises a code in place to upper case; -1 if it is empty, longer than
 * 32, or has characters other than A-Z 0-9 - _. */
int cd_discount_normalize(char *code);

#endif
