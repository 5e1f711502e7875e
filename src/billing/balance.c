/*
 * balance.c - an account's balance summary (balance.h).
 */
#include "billing/balance.h"

#include <string.h>

#include "store/balance.h"
#include "util/util.h"

struct balance_job {
    const char *id;
    int64_t now;
    struct cd_balance_totals t;
};

/* One statement, its own snapshot (cd_store_read_one). */
static int balance_fn(struct cd_tx *tx, void *arg)
{
    struct balance_job *j = arg;

    return cd_store_balance_totals(tx, j->id, j->now, &j->t);
}

int cd_balance_get(struct cd_billing *b, const char *account_id,
                   struct cd_balance *out, struct cd_error *err)
{
    struct balance_job j = {account_id, cd_now(), {0}};
    int rc = cd_store_read_one(b->store, balance_fn, &j);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "internal error");
    out->balance = j.t.balance;
    out->held = j.t.held - j.t.due;
    out->available = j.t.balance - out->held;
    out->debt = j.t.debt;
    out->paid = j.t.paid;
    out->promotional = j.t.promotional;
    out->next_amount = j.t.next_amount;
    out->next_at = j.t.next_at;
    return 0;
}
