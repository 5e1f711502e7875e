/*
 * routes.c - the whole route table: the core routes (core.c) followed by
 * the checkout routes (checkout.c, orders.c, webhooks.c), joined once into
 * one static array.
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
    size_t n = cd_api_routes_core_count + cd_api_routes_checkout_count;

    table = calloc(n ? n : 1, sizeof(*table));
    if (!table) {
        cd_error("api", "out of memory building the route table");
        return;
    }
    memcpy(table, cd_api_routes_core,
           cd_api_routes_core_count * sizeof(*table));
    memcpy(table + cd_api_routes_core_count, cd_api_routes_checkout,
           cd_api_routes_checkout_count * sizeof(*table));
    table_len = n;
}

const struct cd_route *cd_api_routes(size_t *count)
{
    pthread_once(&table_once, build);
    *count = table ? table_len : 0;
    return table;
}
