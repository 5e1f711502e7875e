/*
 * order_status.c - one order lifecycle; see order_status.h.
 */
#include "billing/order_status.h"

#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define MOD "orders"

static const char *const status_names[CD_ORDER_STATUS_COUNT] = {
    [CD_ORDER_PENDING] = "pending",
    [CD_ORDER_COMPLETED] = "completed",
    [CD_ORDER_FAILED] = "failed",
    [CD_ORDER_EXPIRED] = "expired",
    [CD_ORDER_REFUNDED] = "refunded",
    [CD_ORDER_PARTIALLY_REFUNDED] = "partially_refunded",
    [CD_ORDER_DISPUTED] = "disputed",
};

/* The ledger kind of each order kind (NULL: never credited). */
static const struct {
    const char *name;
    const char *ledger_kind;
} kinds[CD_ORDER_KIND_COUNT] = {
    [CD_ORDER_ACCESS] = {"access", "purchase"},
    [CD_ORDER_PACKAGE] = {"package", "package"},
    [CD_ORDER_TOPUP] = {"topup", "topup"},
    [CD_ORDER_PAYMENT_INTENT] = {"payment_intent", "purchase"},
    [CD_ORDER_INVOICE] = {"invoice", "subscription"},
    [CD_ORDER_SUBSCRIPTION] = {"subscription", NULL},
};

#define BIT(s) (1u << (s))
#define CLAWED                                                               \
    (BIT(CD_ORDER_REFUNDED) | BIT(CD_ORDER_PARTIALLY_REFUNDED) |             \
     BIT(CD_ORDER_DISPUTED))

/* moves[from]: the statuses `from` may become (besides itself). */
static const unsigned moves[CD_ORDER_STATUS_COUNT] = {
    [CD_ORDER_PENDING] = (1u << CD_ORDER_STATUS_COUNT) - 1,
    [CD_ORDER_COMPLETED] = CLAWED,
    [CD_ORDER_FAILED] = BIT(CD_ORDER_COMPLETED) | CLAWED,
    [CD_ORDER_EXPIRED] = BIT(CD_ORDER_COMPLETED) | CLAWED,
    [CD_ORDER_REFUNDED] = BIT(CD_ORDER_PENDING) | BIT(CD_ORDER_COMPLETED) |
                          CLAWED,
    [CD_ORDER_PARTIALLY_REFUNDED] = BIT(CD_ORDER_PENDING) |
                                    BIT(CD_ORDER_COMPLETED) | CLAWED,
    [CD_ORDER_DISPUTED] = BIT(CD_ORDER_PENDING) | BIT(CD_ORDER_COMPLETED) |
                          CLAWED,
};

const char *cd_order_status_name(enum cd_order_status s)
{
    return (unsigned)s < CD_ORDER_STATUS_COUNT ? status_names[s] : "";
}

const char *cd_order_kind_name(enum cd_order_kind k)
{
    return (unsigned)k < CD_ORDER_KIND_COUNT ? kinds[k].name : "";
}

int cd_order_status_of(const char *name)
{
    int i;

    for (i = 0; i < CD_ORDER_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

int cd_order_kind_of(const char *name)
{
    int i;

    for (i = 0; i < CD_ORDER_KIND_COUNT; i++)
        if (strcmp(name, kinds[i].name) == 0)
            return i;
    return -1;
}

int cd_order_is(const struct cd_order *o, enum cd_order_status s)
{
    return strcmp(o->status, cd_order_status_name(s)) == 0;
}

int cd_order_is_kind(const struct cd_order *o, enum cd_order_kind k)
{
    return strcmp(o->kind, cd_order_kind_name(k)) == 0;
}

int cd_order_may_move(enum cd_order_status from, enum cd_order_status to)
{
    if ((unsigned)from >= CD_ORDER_STATUS_COUNT ||
        (unsigned)to >= CD_ORDER_STATUS_COUNT)
        return 0;
    return from == to || (moves[from] & BIT(to)) != 0;
}

int cd_order_set_status(struct cd_order *o, enum cd_order_status to)
{
    int from = cd_order_status_of(o->status);

    if ((unsigned)to >= CD_ORDER_STATUS_COUNT ||
        (from >= 0 && !cd_order_may_move(from, to))) {
        cd_error(MOD, "order %s: %s -> %s refused (not a legal transition)",
                 o->id, o->status, cd_order_status_name(to));
        return -1;
    }
    cd_strlcpy(o->status, cd_order_status_name(to), sizeof(o->status));
    return 0;
}

const char *cd_order_ledger_kind(const char *order_kind)
{
    int k = cd_order_kind_of(order_kind);

    return k < 0 ? NULL : kinds[k].ledger_kind;
}

int cd_order_after_fulfilment(const char *status)
{
    int s = cd_order_status_of(status);

    return s >= 0 && (CLAWED & BIT(s)) != 0;
}
