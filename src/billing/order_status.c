/*
 * order_status.c - what an order's kind and status mean; see
 * order_status.h.
 */
#include "billing/order_status.h"

#include <string.h>

const char *cd_order_ledger_kind(const char *order_kind)
{
    if (strcmp(order_kind, "access") == 0)
        return "purchase";
    if (strcmp(order_kind, "topup") == 0)
        return "topup";
    if (strcmp(order_kind, "package") == 0)
        return "package";
    if (strcmp(order_kind, "payment_intent") == 0)
        return "purchase";
    if (strcmp(order_kind, "invoice") == 0)
        return "subscription";
    return NULL;
}

int cd_order_after_fulfilment(const char *status)
{
    return strcmp(status, "refunded") == 0 ||
           strcmp(status, "partially_refunded") == 0 ||
           strcmp(status, "disputed") == 0;
}
