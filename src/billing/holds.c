/*
 * holds.c - holds: create, capture, release, expire; see holds.h.
 */
#include "billing/holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/autotopup.h"
#include "billing/ledger.h"
#include "billing/outbox.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/util.h"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

/* One hold request as one write job: fn decides inside the job; a refusal
 * sets failed and err and returns 0 (writes made so far, such as due
 * holds expired, stand); a store failure returns nonzero (all rolled
 * back). */
static int refuse(struct cd_hold_job *j, enum cd_error_kind kind,
                  const char *code, const char *param, const char *msg)
{
    j->failed = 1;
    cd_error_set(&j->err, kind, code, param, "%s", msg);
    return 0;
}

static int job_fn(struct cd_tx *tx, void *arg)
{
    struct cd_hold_job *j = arg;

    /* A batch re-run (serialization failure) starts afresh. */
    memset(&j->hold, 0, sizeof(j->hold));
    cd_error_clear(&j->err);
    j->failed = 0;
    return j->fn(tx, j);
}

static int once_fn(struct cd_tx *tx, void *arg, struct cd_idem_reply *r)
{
    struct cd_hold_job *j = arg;
    int rc = job_fn(tx, j);

    if (rc != 0)
        return CD_STORE_ERROR;
    j->op->reply(j->op->reply_arg, j->failed ? NULL : &j->hold,
                 j->failed ? &j->err : NULL, r);
    return 0;
}

/* The outcome of a plain job (write: cd_store_write's value). */
static int outcome(const struct cd_hold_job *j, int write,
                   struct cd_hold *out, struct cd_error *err)
{
    if (write != 0)
        return internal(err);
    if (j->failed) {
        *err = j->err;
        return -1;
    }
    if (out)
        *out = j->hold;
    return 0;
}

static int run(struct cd_billing *b, const struct cd_hold_op *op,
               int (*fn)(struct cd_tx *, struct cd_hold_job *),
               struct cd_hold *out, struct cd_error *err)
{
    struct cd_hold_job j;

    memset(&j, 0, sizeof(j));
    j.op = op;
    j.fn = fn;
    if (op->claim && op->reply) {
        op->claim->writer_key = op->account_id;
        return cd_idem_once(b, op->claim, once_fn, &j) != 0 ? internal(err)
                                                            : 0;
    }
    return outcome(&j,
                   cd_store_write_keyed(b->store, op->account_id, job_fn, &j),
                   out, err);
}

/* hold.captured / hold.released / hold.expired-as-released of h:
 * {"hold": {...}} written directly (util/jsonw.h, the bytes json_pack
 * and json_dumps would make), jansson only for what it refuses. */
static int hold_event_tx(struct cd_tx *tx, const struct cd_hold *h,
                         const char *type)
{
    char data[CD_OB_DATA_SZ];
    struct cd_jsonw w;

    cd_jsonw_begin(&w, data, sizeof(data));
    cd_jsonw_open(&w, "hold");
    cd_jsonw_str(&w, "id", h->id);
    cd_jsonw_i64(&w, "amount", h->amount);
    cd_jsonw_i64(&w, "captured", h->captured);
    cd_jsonw_str(&w, "status", h->status);
    cd_jsonw_str(&w, "description", h->description);
    cd_jsonw_str(&w, "transaction_id",
                 h->transaction_id[0] ? h->transaction_id : NULL);
    if (cd_jsonw_end(&w) == 0)
        return cd_outbox_emit_text_tx(tx, h->account_id, type, data);
    return cd_outbox_emit_tx(
        tx, h->account_id, type,
        json_pack("{s{ss sI sI ss ss ss?}}", "hold", "id", h->id, "amount",
                  (json_int_t)h->amount, "captured", (json_int_t)h->captured,
                  "status", h->status, "description", h->description,
                  "transaction_id",
                  h->transaction_id[0] ? h->transaction_id : NULL));
}

int cd_hold_expire_due_tx(struct cd_tx *tx, const char *account_id)
{
    char(*ids)[CD_ID_SZ] = NULL;
    struct cd_hold h;
    int n = 0, rc = 0;

    if (cd_store_hold_expire_account(tx, account_id, cd_now(), &n, &ids) !=
        CD_STORE_OK) {
        free(ids);
        return -1;
    }
    /* Each expired hold gave its credits back: hold.released (status
     * "expired"). */
    for (int i = 0; i < n && rc == 0; i++)
        if (cd_store_hold_get(tx, ids[i], &h) != CD_STORE_OK ||
            hold_event_tx(tx, &h, "hold.released") != CD_STORE_OK)
            rc = -1;
    free(ids);
    return rc == 0 ? n : -1;
}

/* ---- create ------------------------------------------------------------ */

/* Reserves op->amount of the available balance: OK, GUARD (too little
 * available, or no account), ERROR. Due holds are expired first when
 * they are what stands in the way. */
static int reserve(struct cd_tx *tx, const struct cd_hold_op *op)
{
    int rc = cd_store_hold_reserve(tx, op->account_id, op->amount);
    int n;

    if (rc != CD_STORE_GUARD)
        return rc;
    n = cd_hold_expire_due_tx(tx, op->account_id);
    if (n < 0)
        return CD_STORE_ERROR;
    return n > 0 ? cd_store_hold_reserve(tx, op->account_id, op->amount)
                 : CD_STORE_GUARD;
}

static int create_fn(struct cd_tx *tx, struct cd_hold_job *j)
{
    const struct cd_hold_op *op = j->op;
    struct cd_hold *h = &j->hold;
    int64_t bal, held, due;
    int rc;

    if (op->effect_id &&
        (rc = cd_store_hold_get(tx, op->effect_id, h)) != CD_STORE_NOT_FOUND)
        return rc != CD_STORE_OK
                   ? rc
                   : refuse(j, CD_EK_CONFLICT, "idempotency_key_reused", NULL,
                            "this Idempotency-Key made a hold more "
                            "than 24 hours ago");
    rc = reserve(tx, op);
    if (rc == CD_STORE_GUARD) {
        rc = cd_store_hold_totals(tx, op->account_id, cd_now(), &bal, &held,
                                  &due);
        if (rc == CD_STORE_NOT_FOUND)
            return refuse(j, CD_EK_NOT_FOUND, "account_not_found", NULL,
                          "no such account");
        return rc != CD_STORE_OK
                   ? rc
                   : refuse(j, CD_EK_PAYMENT, "insufficient_balance",
                            "amount",
                            "the available balance (balance "
                            "minus holds) is too low for this hold");
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    memset(h, 0, sizeof(*h));
    if (op->effect_id)
        cd_strlcpy(h->id, op->effect_id, sizeof(h->id));
    else
        cd_random_id("hold_", h->id, sizeof(h->id));
    if (cd_strlcpy(h->account_id, op->account_id, sizeof(h->account_id)) ||
        cd_strlcpy(h->description, op->description ? op->description : "",
                   sizeof(h->description)))
        return CD_STORE_ERROR;
    h->amount = op->amount;
    cd_strlcpy(h->status, "active", sizeof(h->status));
    h->created_at = cd_now();
    h->expires_at = h->created_at + op->expires_in;
    if (cd_store_hold_insert(tx, h) != CD_STORE_OK)
        return CD_STORE_ERROR;
    /* A hold lowers the available balance without a ledger entry: it may
     * take it under the auto top-up threshold too. */
    return cd_autotopup_check_tx(tx, h->account_id) == CD_STORE_OK
               ? 0
               : CD_STORE_ERROR;
}

static int check_create(const struct cd_hold_op *op, struct cd_error *err)
{
    if (op->amount < 1 || op->amount > CD_AMOUNT_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount", "amount",
                            "amount must be an integer from 1 to 10^12");
    if (op->expires_in < CD_HOLD_EXPIRES_MIN ||
        op->expires_in > CD_HOLD_EXPIRES_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "expires_in",
                            "expires_in must be an integer "
                            "from 1 to 604800 (seconds)");
    if (op->description && strlen(op->description) > CD_HOLD_DESC_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "description",
                            "description is longer than %d "
                            "bytes",
                            CD_HOLD_DESC_MAX);
    if (!op->account_id || strlen(op->account_id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    return 0;
}

static void log_created(const struct cd_hold_op *op, const struct cd_hold *h)
{
    if (!op->claim)
        cd_info("billing", "hold %s of %lld credits on %s", h->id,
                (long long)op->amount, op->account_id);
}

int cd_hold_create(struct cd_billing *b, const struct cd_hold_op *op,
                   struct cd_hold *out, struct cd_error *err)
{
    if (check_create(op, err) != 0 || run(b, op, create_fn, out, err) != 0)
        return -1;
    log_created(op, out);
    return 0;
}

/* ---- capture and release ----------------------------------------------- */

/* The account's live hold op->hold_id into j->hold, its due holds expired
 * first: 0 (a refusal set, or the hold is active and live), or nonzero on
 * a store failure. *ok says whether to go on. */
static int load_active(struct cd_tx *tx, struct cd_hold_job *j, int *ok)
{
    const struct cd_hold_op *op = j->op;
    int rc;

    *ok = 0;
    if (cd_hold_expire_due_tx(tx, op->account_id) < 0)
        return CD_STORE_ERROR;
    rc = cd_store_hold_get(tx, op->hold_id, &j->hold);
    if (rc == CD_STORE_OK && strcmp(j->hold.account_id, op->account_id) != 0)
        rc = CD_STORE_NOT_FOUND;
    if (rc == CD_STORE_NOT_FOUND)
        return refuse(j, CD_EK_NOT_FOUND, "hold_not_found", NULL,
                      "no such hold");
    if (rc != CD_STORE_OK)
        return rc;
    if (strcmp(j->hold.status, "active") != 0) {
        j->failed = 1;
        cd_error_set(&j->err, CD_EK_CONFLICT, "hold_not_active", NULL,
                     "this hold is %s already", j->hold.status);
        return 0;
    }
    *ok = 1;
    return 0;
}

static int capture_fn(struct cd_tx *tx, struct cd_hold_job *j)
{
    const struct cd_hold_op *op = j->op;
    struct cd_hold *h = &j->hold;
    struct cd_ledger_apply in;
    struct cd_ledger_entry e;
    char ref[CD_REF_SZ];
    int64_t bal, held, due, now = cd_now();
    int ok, rc = load_active(tx, j, &ok);

    if (rc != 0 || !ok)
        return rc;
    if (op->amount > h->amount)
        return refuse(j, CD_EK_INVALID, "capture_exceeds_hold", "amount",
                      "amount is more than the hold holds");
    /* Released, this hold's amount is available again; only a clawback
     * (which may overdraw) can have taken the balance below it. */
    if (cd_store_hold_totals(tx, op->account_id, now, &bal, &held, &due) !=
        CD_STORE_OK)
        return CD_STORE_ERROR;
    if (bal - (held - h->amount) < op->amount)
        return refuse(j, CD_EK_PAYMENT, "insufficient_balance", "amount",
                      "the balance fell below the hold (a refund or "
                      "dispute took credits back)");
    _Static_assert(CD_REF_FITS("hold::capture", CD_ID_SZ - 1),
                   "hold:<id>:capture fits CD_REF_SZ");
    snprintf(ref, sizeof(ref), "hold:%s:capture", h->id);
    memset(&in, 0, sizeof(in));
    in.account_id = op->account_id;
    in.amount = -op->amount;
    in.kind = "usage";
    in.ref = ref;
    in.description = h->description;
    if (cd_store_hold_unreserve(tx, op->account_id, h->amount) !=
            CD_STORE_OK ||
        cd_ledger_apply_tx(tx, &in, &e) != CD_STORE_OK ||
        cd_store_hold_finish(tx, h->id, "captured", op->amount, e.id, now) !=
            CD_STORE_OK)
        return CD_STORE_ERROR; /* checked above: a broken invariant */
    cd_strlcpy(h->status, "captured", sizeof(h->status));
    h->captured = op->amount;
    cd_strlcpy(h->transaction_id, e.id, sizeof(h->transaction_id));
    h->finished_at = now;
    return hold_event_tx(tx, h, "hold.captured") == CD_STORE_OK
               ? 0
               : CD_STORE_ERROR;
}

static int release_fn(struct cd_tx *tx, struct cd_hold_job *j)
{
    struct cd_hold *h = &j->hold;
    int64_t now = cd_now();
    int ok, rc = load_active(tx, j, &ok);

    if (rc != 0 || !ok)
        return rc;
    /* The account's row first, then the hold's, as a capture and a new
     * hold do: two nodes never wait on each other in a circle. */
    if (cd_store_hold_unreserve(tx, h->account_id, h->amount) !=
            CD_STORE_OK ||
        cd_store_hold_finish(tx, h->id, "released", 0, "", now) !=
            CD_STORE_OK)
        return CD_STORE_ERROR;
    cd_strlcpy(h->status, "released", sizeof(h->status));
    h->finished_at = now;
    return hold_event_tx(tx, h, "hold.released") == CD_STORE_OK
               ? 0
               : CD_STORE_ERROR;
}

static int check_target(const struct cd_hold_op *op, struct cd_error *err)
{
    if (!op->hold_id || !*op->hold_id || strlen(op->hold_id) >= CD_ID_SZ ||
        !op->account_id || strlen(op->account_id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "hold_not_found", NULL,
                            "no such hold");
    return 0;
}

static int check_capture(const struct cd_hold_op *op, struct cd_error *err)
{
    if (check_target(op, err) != 0)
        return -1;
    if (op->amount < 1 || op->amount > CD_AMOUNT_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_amount", "amount",
                            "amount must be an integer from 1 to 10^12");
    return 0;
}

int cd_hold_capture(struct cd_billing *b, const struct cd_hold_op *op,
                    struct cd_hold *out, struct cd_error *err)
{
    if (check_capture(op, err) != 0)
        return -1;
    return run(b, op, capture_fn, out, err);
}

int cd_hold_release(struct cd_billing *b, const struct cd_hold_op *op,
                    struct cd_hold *out, struct cd_error *err)
{
    if (check_target(op, err) != 0)
        return -1;
    return run(b, op, release_fn, out, err);
}

/* ---- the same without waiting ------------------------------------------ */

int cd_hold_async_prepare(struct cd_hold_async *x, struct cd_error *err)
{
    int rc;

    memset(&x->j, 0, sizeof(x->j));
    x->j.op = &x->op;
    switch (x->what) {
    case CD_HOLD_CREATE:
        rc = check_create(&x->op, err);
        x->j.fn = create_fn;
        break;
    case CD_HOLD_CAPTURE:
        rc = check_capture(&x->op, err);
        x->j.fn = capture_fn;
        break;
    default:
        rc = check_target(&x->op, err);
        x->j.fn = release_fn;
        break;
    }
    return rc;
}

void cd_hold_async_submit(struct cd_billing *b, struct cd_hold_async *x)
{
    struct cd_idem_keyed *k = &x->keyed;

    k->claim = x->op.claim && x->op.reply ? x->op.claim : NULL;
    k->effect = once_fn;
    k->effect_arg = &x->j;
    k->fn = job_fn;
    k->fn_arg = &x->j;
    k->writer_key = x->op.account_id;
    k->done = x->done;
    k->done_arg = x->done_arg;
    cd_idem_keyed_submit(b, k);
}

int cd_hold_async_result(struct cd_hold_async *x, struct cd_hold *out,
                         struct cd_error *err)
{
    if (x->keyed.claim)
        return cd_idem_keyed_result(&x->keyed) != 0 ? internal(err) : 0;
    if (outcome(&x->j, cd_idem_keyed_result(&x->keyed), out, err) != 0)
        return -1;
    if (x->what == CD_HOLD_CREATE)
        log_created(&x->op, out);
    return 0;
}

/* ---- reads ------------------------------------------------------------- */

const char *cd_hold_status(const struct cd_hold *h, int64_t now)
{
    if (strcmp(h->status, "active") == 0 && h->expires_at <= now)
        return "expired";
    return h->status;
}

struct get_job {
    const char *id;
    struct cd_hold *out;
};

static int get_fn(struct cd_tx *tx, void *arg)
{
    struct get_job *g = arg;

    return cd_store_hold_get(tx, g->id, g->out);
}

int cd_hold_get(struct cd_billing *b, const char *account_id,
                const char *hold_id, struct cd_hold *out,
                struct cd_error *err)
{
    struct get_job g = {hold_id, out};
    int rc;

    if (!hold_id || strlen(hold_id) >= CD_ID_SZ)
        rc = CD_STORE_NOT_FOUND;
    else
        rc = cd_store_read(b->store, get_fn, &g);
    if (rc == CD_STORE_OK && strcmp(out->account_id, account_id) != 0)
        rc = CD_STORE_NOT_FOUND;
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "hold_not_found", NULL,
                            "no such hold");
    return rc == CD_STORE_OK ? 0 : internal(err);
}

struct page_job {
    const char *account_id, *status, *after;
    int64_t limit;
    cd_hold_cb cb;
    void *arg;
    int *has_more;
};

static int page_fn(struct cd_tx *tx, void *arg)
{
    struct page_job *p = arg;

    return cd_store_hold_page(tx, p->account_id, p->status, p->after,
                              p->limit, cd_now(), p->cb, p->arg, p->has_more);
}

int cd_hold_page(struct cd_billing *b, const char *account_id,
                 const char *status, const char *after, int64_t limit,
                 cd_hold_cb cb, void *arg, int *has_more,
                 struct cd_error *err)
{
    struct page_job p = {account_id, status, after, limit, cb, arg, has_more};
    int rc = cd_store_read(b->store, page_fn, &p);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "starting_after",
                            "starting_after names no hold of this account");
    return rc == CD_STORE_OK ? 0 : internal(err);
}

struct totals_job {
    const char *id;
    int64_t balance, held, due;
};

static int totals_fn(struct cd_tx *tx, void *arg)
{
    struct totals_job *t = arg;

    return cd_store_hold_totals(tx, t->id, cd_now(), &t->balance, &t->held,
                                &t->due);
}

int cd_hold_totals(struct cd_billing *b, const char *account_id,
                   int64_t *balance, int64_t *held, struct cd_error *err)
{
    struct totals_job t = {account_id, 0, 0, 0};
    int rc = cd_store_read(b->store, totals_fn, &t);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return internal(err);
    *balance = t.balance;
    *held = t.held - t.due;
    return 0;
}

/* ---- the sweeper and the check ----------------------------------------- */

struct sweep_job {
    int64_t now;
    int n;
};

static int sweep_fn(struct cd_tx *tx, void *arg)
{
    struct sweep_job *s = arg;
    char ids[CD_HOLD_SWEEP_BATCH][CD_ID_SZ];

    s->n = 0;
    if (cd_store_hold_due_accounts(tx, s->now, ids, CD_HOLD_SWEEP_BATCH,
                                   &s->n) != CD_STORE_OK)
        return CD_STORE_ERROR;
    for (int i = 0; i < s->n; i++)
        if (cd_hold_expire_due_tx(tx, ids[i]) < 0)
            return CD_STORE_ERROR;
    return 0;
}

int cd_hold_sweep(struct cd_billing *b, int64_t *expired)
{
    struct sweep_job s;

    *expired = 0;
    do {
        s.now = cd_now();
        s.n = 0;
        if (cd_store_write(b->store, sweep_fn, &s) != 0)
            return -1;
        *expired += s.n;
    } while (s.n == CD_HOLD_SWEEP_BATCH);
    return 0;
}

int cd_hold_verify_tx(struct cd_tx *tx, cd_mismatch_cb cb, void *arg,
                      int64_t *count)
{
    return cd_store_hold_verify(tx, cb, arg, count);
}
