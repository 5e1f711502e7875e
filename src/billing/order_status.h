/*
 * order_status.h - what an order's kind and status mean to the rest of
 * billing/ (pure functions, no store).
 */
#ifndef CD_BILLING_ORDER_STATUS_H
#define CD_BILLING_ORDER_STATUS_H

/* The ledger kind of a fulfilled order kind (access -> purchase, topup,
 * package, payment_intent -> purchase), or NULL. */
const char *cd_order_ledger_kind(const char *order_kind);

/* 1 when an order's status means a refund or dispute came first (or
 * since): a completion must not credit it. */
int cd_order_after_fulfilment(const char *status);

#endif
