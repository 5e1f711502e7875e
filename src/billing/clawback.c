/*
 * clawback.c - one figure per order for what refunds and disputes take
 * back; see clawback.h.
 */
#include "billing/clawback.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "billing/order_status.h"
#include "billing/ledger.h"
#include "billing/orders.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "clawback"

int64_t cd_clawback_credits_at(int64_t credits, int64_t taken, int64_t paid)
{
    __int128 q;

    if (paid <= 0 || credits <= 0 || taken <= 0)
        return 0;
    if (taken >= paid)
        return credits;
    q = (__int128)credits * (__int128)taken / (__int128)paid;
    return (int64_t)q;
}

void cd_clawback_fulfil_ref(const struct cd_order *o, char *ref, size_t refsz)
{
    _Static_assert(CD_REF_FITS("invoice:", sizeof(o->stripe_invoice_id) - 1),
                   "invoice:<Stripe invoice id> fits CD_REF_SZ");
    _Static_assert(CD_REF_FITS("order::fulfil", sizeof(o->id) - 1),
                   "order:<id>:fulfil fits CD_REF_SZ");
    if (o->stripe_invoice_id[0])
        snprintf(ref, refsz, "invoice:%s", o->stripe_invoice_id);
    else
        snprintf(ref, refsz, "order:%s:fulfil", o->id);
}

/* The order's facts, read in the job. */
struct facts {
    int64_t credited; /* C */
    int64_t refunded; /* R */
    int64_t held;     /* D */
};

static int read_facts(struct cd_tx *tx, const struct cd_order *o,
                      struct facts *f)
{
    struct cd_ledger_entry e;
    struct cd_refund_sums rs;
    char ref[CD_REF_SZ];
    int64_t r;
    int rc;

    memset(f, 0, sizeof(*f));
    cd_clawback_fulfil_ref(o, ref, sizeof(ref));
    rc = cd_store_ledger_by_ref(tx, ref, &e);
    if (rc == CD_STORE_OK)
        f->credited = e.amount > 0 ? e.amount : 0;
    else if (rc != CD_STORE_NOT_FOUND)
        return CD_STORE_ERROR;
    if (cd_store_refund_sums(tx, o->id, &rs) != CD_STORE_OK ||
        cd_store_dispute_held(tx, o->id, &f->held) != CD_STORE_OK)
        return CD_STORE_ERROR;
    r = o->refund_level_cents - rs.failed;
    if (r < rs.live)
        r = rs.live;
    f->refunded = r < 0 ? 0 : r > o->amount_cents ? o->amount_cents : r;
    if (f->held < 0)
        f->held = 0;
    return CD_STORE_OK;
}

static int64_t target(const struct cd_order *o, const struct facts *f)
{
    int64_t taken = f->refunded + f->held; /* each <= A: no overflow */

    return cd_clawback_credits_at(f->credited, taken, o->amount_cents);
}

/* One ledger entry moving the clawback by diff credits (diff > 0 takes).
 * 1 when written, 0 when the ledger refused it for good (logged),
 * CD_STORE_ERROR. */
static int adjust(struct cd_tx *tx, struct cd_order *o, int64_t diff,
                  const char *kind)
{
    struct cd_ledger_apply la;
    struct cd_ledger_entry le;
    char ref[CD_REF_SZ], desc[CD_DESC_SZ];
    int is_refund = strcmp(kind, "refund") == 0;
    int rc;

    _Static_assert(
        CD_REF_FITS("order::clawback:", sizeof(o->id) - 1 + CD_I64_CHARS),
        "order:<id>:clawback:<n> fits CD_REF_SZ");
    snprintf(ref, sizeof(ref), "order:%s:clawback:%" PRId64, o->id,
             o->clawback_seq + 1);
    snprintf(desc, sizeof(desc), "%s: %.400s",
             diff > 0 ? (is_refund ? "Refund" : "Disputed")
                      : (is_refund ? "Refund reversed" : "Dispute won"),
             o->description);
    memset(&la, 0, sizeof(la));
    la.account_id = o->account_id;
    la.amount = -diff;
    la.kind = kind;
    la.ref = ref;
    la.order_id = o->id;
    la.description = desc;
    la.allow_negative = 1;
    rc = cd_ledger_apply_tx(tx, &la, &le);
    if (rc == CD_STORE_OK) {
        cd_info(MOD, "order %s: %" PRId64 " credits %s (%s)", o->id,
                diff > 0 ? diff : -diff, diff > 0 ? "taken back" : "returned",
                ref);
        return 1;
    }
    if (rc == CD_LEDGER_LIMIT || rc == CD_STORE_NOT_FOUND) {
        cd_error(MOD, "order %s: ledger refused %" PRId64 " credits (%s, %d)",
                 o->id, -diff, ref, rc);
        return 0;
    }
    /* DUPLICATE cannot be: clawback_seq moves with each entry. */
    cd_error(MOD, "order %s: clawback entry %s failed (%d)", o->id, ref, rc);
    return CD_STORE_ERROR;
}

/* The status the facts give the order; -1: its own, not in the enum. */
static int order_status(const struct cd_order *o, const struct facts *f)
{
    if (f->held > 0)
        return CD_ORDER_DISPUTED;
    if (f->refunded >= o->amount_cents && o->amount_cents > 0)
        return CD_ORDER_REFUNDED;
    if (f->refunded > 0)
        return CD_ORDER_PARTIALLY_REFUNDED;
    if (f->credited > 0 || o->completed_at)
        return CD_ORDER_COMPLETED;
    /* The facts that came before the payment are gone (a refund failed,
     * a dispute was won): the completion is still to come. */
    return cd_order_after_fulfilment(o->status)
               ? CD_ORDER_PENDING
               : cd_order_status_of(o->status);
}

static int save_payment(struct cd_tx *tx, const struct cd_order *o,
                        const struct facts *f, int64_t now)
{
    struct cd_payment p;
    int rc = cd_store_payment_by_order(tx, o->id, &p);

    if (rc == CD_STORE_NOT_FOUND)
        return CD_STORE_OK;
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    if (strcmp(p.status, "pending") == 0 || strcmp(p.status, "failed") == 0)
        return CD_STORE_OK;
    if (p.amount_refunded_cents != f->refunded)
        p.refunded_at = now;
    p.amount_refunded_cents = f->refunded;
    cd_strlcpy(p.status,
               cd_order_after_fulfilment(o->status) ? o->status : "succeeded",
               sizeof(p.status));
    return cd_store_payment_update(tx, &p) == CD_STORE_OK ? CD_STORE_OK
                                                          : CD_STORE_ERROR;
}

int cd_clawback_settle_tx(struct cd_tx *tx, struct cd_order *o,
                          const char *kind, int64_t now)
{
    struct cd_order_patch settled = {.dirty = 1}; /* stored even as is */
    struct facts f;
    int64_t t, diff;
    int rc, status;

    if (read_facts(tx, o, &f) != CD_STORE_OK)
        return CD_STORE_ERROR;
    t = target(o, &f);
    diff = t - o->clawback_credits;
    if (diff != 0) {
        rc = adjust(tx, o, diff, kind);
        if (rc < 0)
            return CD_STORE_ERROR;
        if (rc > 0) {
            o->clawback_credits = t;
            o->clawback_seq++;
        }
    }
    status = order_status(o, &f);
    if (status >= 0) { /* else an unknown status, kept */
        settled.move = 1;
        settled.to = (enum cd_order_status)status;
    }
    if (cd_order_patch_tx(tx, o, &settled, now) != CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_debug(MOD,
             "order %s: %s; refunded %" PRId64 ", disputed %" PRId64
             " of %" PRId64 "; %" PRId64 " of %" PRId64 " credits taken back",
             o->id, o->status, f.refunded, f.held, o->amount_cents,
             o->clawback_credits, f.credited);
    return save_payment(tx, o, &f, now);
}
