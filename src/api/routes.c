/*
 * routes.c - the whole route table: the core routes (core.c), the
 * buying routes (checkout.c), the account's orders and payments
 * (orders.c), the subscription and billing portal (subscription.c), the
 * Stripe webhook (webhook.c), the operator's routes (ops.c), holds,
 * auto top-up, outbox and lots, joined once into one static array.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/log.h"

static struct cd_route *table;
static size_t table_len;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build(void)
{
    const struct {
        const struct cd_route *routes;
        size_t n;
    } parts[] = {
        {cd_api_routes_core, cd_api_routes_core_count},
        {cd_api_routes_checkout, cd_api_routes_checkout_count},
        {cd_api_routes_orders, cd_api_routes_orders_count},
        {cd_api_routes_subscription, cd_api_routes_subscription_count},
        {cd_api_routes_webhook, cd_api_routes_webhook_count},
        {cd_api_routes_ops, cd_api_routes_ops_count},
        {cd_api_routes_holds, cd_api_routes_holds_count},
        {cd_api_routes_autotopup, cd_api_routes_autotopup_count},
        {cd_api_routes_outbox, cd_api_routes_outbox_count},
        {cd_api_routes_lots, cd_api_routes_lots_count},
    };
    size_t n = 0, at = 0;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        n += parts[i].n;
    table = calloc(n ? n : 1, sizeof(*table));
    if (!table) {
        cd_error("api", "out of memory building the route table");
        return;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        memcpy(table + at, parts[i].routes, parts[i].n * sizeof(*table));
        at += parts[i].n;
    }
    table_len = n;
}

const struct cd_route *cd_api_routes(size_t *count)
{
    pthread_once(&table_once, build);
    *count = table ? table_len : 0;
    return table;
}
