/*
 * discounts.h - discount codes (create, list, deactivate, validate) and the
 * operator's side of pricing (changing the mode and prices).
 *
 * Every function returns 0 on success or -1 with *err filled (the kind
 * says which HTTP status api/ answers with). Store failures are
 * CD_EK_INTERNAL "internal_error" and never carry SQL text.
 */
#ifndef CD_BILLING_DISCOUNTS_H
#define CD_BILLING_DISCOUNTS_H

#include "billing/billing.h"
#include "util/error.h"

/* Bounds of a discount code's numbers. */
#define CD_DISCOUNT_MAX_USES INT64_C(1000000000000)

struct cd_discount_new {
    const char *code;         /* normalised to upper case here */
    int64_t percent_off;      /* 1..100, or 0 */
    int64_t amount_off_cents; /* 1..10^12, or 0; exactly one of the two */
    int64_t max_uses;         /* 0: unlimited; else 1..10^12 */
    int64_t expires_at;       /* 0: never; else must be in the future */
};

/*
 * Creates a code. 400 invalid_param / missing_param for bad input, 409
 * code_exists when the code exists. *out (may be NULL) gets the new row.
 */
int cd_discount_create(struct cd_billing *b, const struct cd_discount_new *in,
                       struct cd_discount *out, struct cd_error *err);

/* Pages through all codes, newest first; cb runs inside a read
 * transaction (it must not call the store). */
int cd_discount_list(struct cd_billing *b, int64_t limit, int64_t offset,
                     cd_discount_cb cb, void *arg, int64_t *total,
                     struct cd_error *err);

/* Marks a code inactive; 404 not_found for an unknown code. *out (may be
 * NULL) gets the row as it is now. */
int cd_discount_deactivate(struct cd_billing *b, const char *code,
                           struct cd_discount *out, struct cd_error *err);

/*
 * Holds. A pending order with a code holds one use of it for as long as
 * its Checkout session can be paid (CREDITD_CHECKOUT_EXPIRES) plus a
 * grace for the session's expiry event: cd_discount_hold_s(). A code with
 * max_uses is exhausted for an account when its times_used plus the holds
 * of other accounts reach max_uses - the account's own hold does not
 * count, because its next checkout with the code ends it (checkout.c):
 * one hold per account and code. Validation and checkout both decide by
 * cd_discount_check_tx, so they always agree.
 */
int64_t cd_discount_hold_s(const struct cd_billing *b);

/* Inside a transaction: *problem is NULL when the (normalised) code is
 * usable by account_id at now, else unknown_code, inactive, expired or
 * exhausted. d (may be NULL) receives the code. CD_STORE_OK or
 * CD_STORE_ERROR. */
int cd_discount_check_tx(struct cd_tx *tx, const struct cd_billing *b,
                         const char *code, const char *account_id,
                         int64_t now, struct cd_discount *d,
                         const char **problem);

/* The answer of POST /v1/discounts/validate. */
struct cd_discount_quote {
    int valid;
    int64_t base_cents;
    int64_t discount_cents;
    int64_t final_cents;
    const char *error; /* NULL, or a static string: unknown_code, inactive,
                        * exhausted, expired, amount_below_minimum */
};

/*
 * Quotes a code against a product for account_id: kind NULL or "access"
 * (the current access price) or "package" (package_id required; its
 * price). Other kinds (topup, subscription) are 400
 * discount_not_applicable. An unusable code is not an error: *out says
 * valid = 0 and why, by the same rule as checkout (the holds above).
 */
int cd_discount_validate(struct cd_billing *b, const char *code,
                         const char *account_id, const char *kind,
                         const char *package_id,
                         struct cd_discount_quote *out, struct cd_error *err);

/*
 * Changes pricing and stores it (effective at once). mode NULL keeps the
 * current mode, else "launch" | "rrp" | "sale"; each *_cents 0 keeps the
 * current value, else must be CD_MIN_CHARGE_CENTS (50)..10^12 (400
 * invalid_amount naming the field). *out gets the pricing in force.
 */
int cd_pricing_update(struct cd_billing *b, const char *mode,
                      int64_t launch_cents, int64_t rrp_cents,
                      int64_t sale_cents, struct cd_pricing *out,
                      struct cd_error *err);

#endif
