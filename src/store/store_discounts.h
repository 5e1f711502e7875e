/*
 * store_discounts.h - the store's pricing and discounts (discounts.c):
 * records and record functions. Return codes, field sizes and list
 * conventions in store_base.h; callers include store/store.h, which
 * includes this header.
 */
#ifndef CD_STORE_STORE_DISCOUNTS_H
#define CD_STORE_STORE_DISCOUNTS_H

#include <stdint.h>

#include "store/store_base.h"
#include "store/store_orders.h"

struct cd_discount {
    char code[CD_CODE_SZ];    /* stored upper-case; unique */
    int64_t percent_off;      /* 1..100, or 0 when amount_off_cents is used */
    int64_t amount_off_cents; /* > 0, or 0 when percent_off is used */
    int64_t max_uses;         /* 0: unlimited */
    int64_t times_used;
    int64_t expires_at; /* 0: never */
    int active;
    int64_t created_at;
};

struct cd_pricing {
    char mode[16]; /* launch|rrp|sale */
    int64_t launch_cents;
    int64_t rrp_cents;
    int64_t sale_cents;
    int64_t updated_at;
};

typedef int (*cd_discount_cb)(const struct cd_discount *d, void *arg);

/* ---- pricing and discounts -------------------------------------------- */
int cd_store_pricing_get(struct cd_tx *tx, struct cd_pricing *out);
int cd_store_pricing_put(struct cd_tx *tx, const struct cd_pricing *p);

int cd_store_discount_insert(struct cd_tx *tx, const struct cd_discount *d);
int cd_store_discount_get(struct cd_tx *tx, const char *code,
                          struct cd_discount *out);
int cd_store_discount_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                           cd_discount_cb cb, void *arg, int64_t *total);
int cd_store_discount_set_active(struct cd_tx *tx, const char *code,
                                 int active);
/* Counts one use of code by order_id: DUPLICATE if that order's use was
 * already counted (then times_used is unchanged). */
int cd_store_discount_use(struct cd_tx *tx, const char *code,
                          const char *order_id, int64_t now);

/*
 * How many orders naming discount `code` are still pending and were
 * created at or after `since`, not counting those of account `except`
 * (NULL or "": all) - the uses that may still come (discounts.c).
 */
int cd_store_discount_pending_count(struct cd_tx *tx, const char *code,
                                    int64_t since, const char *except,
                                    int64_t *out);
/* The account's orders naming `code` still pending, created at or after
 * `since` (its open discount holds). */
int cd_store_discount_holds(struct cd_tx *tx, const char *account_id,
                            const char *code, int64_t since, cd_order_cb cb,
                            void *arg);

#endif
