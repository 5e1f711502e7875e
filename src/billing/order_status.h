/*
 * order_status.h - one order lifecycle: the statuses and kinds of an
 * order (the strings stored and served, API.md), the table of legal
 * status transitions, and what a kind or status means to the rest of
 * billing/. Pure functions, no store.
 *
 * Transitions (a status may always stay what it is):
 *
 *   pending            -> any
 *   completed          -> refunded, partially_refunded, disputed
 *   failed, expired    -> completed (a late payment), refunded,
 *                         partially_refunded, disputed
 *   refunded, partially_refunded, disputed
 *                      -> each other, completed (the facts went away:
 *                         a refund failed, a dispute was won), pending
 *                         (the same, before the payment was seen)
 *
 * So a completed order never goes back to pending, failed or expired,
 * and nothing but a payment or a clawback moves a failed or expired one.
 */
#ifndef CD_BILLING_ORDER_STATUS_H
#define CD_BILLING_ORDER_STATUS_H

#include "billing/billing.h"

enum cd_order_status {
    CD_ORDER_PENDING,
    CD_ORDER_COMPLETED,
    CD_ORDER_FAILED,
    CD_ORDER_EXPIRED,
    CD_ORDER_REFUNDED,
    CD_ORDER_PARTIALLY_REFUNDED,
    CD_ORDER_DISPUTED,
    CD_ORDER_STATUS_COUNT
};

enum cd_order_kind {
    CD_ORDER_ACCESS,
    CD_ORDER_PACKAGE,
    CD_ORDER_TOPUP,
    CD_ORDER_PAYMENT_INTENT,
    CD_ORDER_INVOICE,
    CD_ORDER_SUBSCRIPTION,
    CD_ORDER_KIND_COUNT
};

/* The stored string of a status / kind (static). */
const char *cd_order_status_name(enum cd_order_status s);
const char *cd_order_kind_name(enum cd_order_kind k);

/* The status / kind a stored string names, or -1. */
int cd_order_status_of(const char *name);
int cd_order_kind_of(const char *name);

/* 1 when order o has status s / kind k. */
int cd_order_is(const struct cd_order *o, enum cd_order_status s);
int cd_order_is_kind(const struct cd_order *o, enum cd_order_kind k);

/* 1 when the table above lets an order move from `from` to `to`. */
int cd_order_may_move(enum cd_order_status from, enum cd_order_status to);

/*
 * The one place an order's status changes: sets o->status to `to` when
 * the table allows it from o's status (a status not in the enum, from an
 * older version, may move anywhere) and returns 0; otherwise leaves o as
 * it was, logs an error and returns -1. A new order (status "") may
 * take any status.
 */
int cd_order_set_status(struct cd_order *o, enum cd_order_status to);

/* The ledger kind of a fulfilled order kind (access -> purchase, topup,
 * package, payment_intent -> purchase, invoice -> subscription), or
 * NULL. */
const char *cd_order_ledger_kind(const char *order_kind);

/* 1 when an order's status means a refund or dispute came first (or
 * since): a completion must not credit it. */
int cd_order_after_fulfilment(const char *status);

#endif
