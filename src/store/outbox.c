/*
 * store/outbox.c - the records of store/outbox.h: events, webhook
 * endpoints, deliveries (019) and balance alerts (020), on any backend,
 * with the mapping rules of records.c ("" binds NULL, NULL reads "",
 * too long is CD_STORE_ERROR, a unique key is CD_STORE_DUPLICATE).
 */
#include "store/outbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "util/log.h"
#include "util/util.h"

/* A statement of this job's connection; NULL when there is no usable
 * transaction (a write in a read one) or it cannot be prepared. */
static struct cd_stmt *ob_get(struct cd_tx *tx, enum cd_sq_stmt id, int write,
                              const char *what)
{
    if (!tx || !tx->db || (write && !tx->writable)) {
        cd_error("store", "%s: no (write) transaction", what);
        return NULL;
    }
    return cd_sq_get(tx->db, id);
}

/* Steps a write: OK, DUPLICATE, ERROR; NOT_FOUND when change and no row
 * was touched. Puts st back. */
static int ob_write(struct cd_tx *tx, enum cd_sq_stmt id, struct cd_stmt *st,
                    int bad, int change, const char *what)
{
    int rc = CD_STORE_ERROR;

    if (bad) {
        cd_error("store", "%s: value too long for its field", what);
    } else {
        int s = cd_step(st);

        if (s == CD_STEP_DONE || s == CD_STEP_ROW)
            rc = change && tx->db->be->changes(tx->db) == 0
                     ? CD_STORE_NOT_FOUND
                     : CD_STORE_OK;
        else if (tx->db->be->error_class(tx->db) == CD_DBE_UNIQUE)
            rc = CD_STORE_DUPLICATE;
        else
            cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
    }
    cd_sq_put(tx->db, id, st);
    return rc;
}

/* Steps a read to its end, calling row(st, arg) per row (nonzero: stop;
 * -1: a value did not fit). Puts st back. */
static int ob_rows(struct cd_tx *tx, enum cd_sq_stmt id, struct cd_stmt *st,
                   int bad, int (*row)(struct cd_stmt *, void *), void *arg,
                   const char *what)
{
    int s = CD_STEP_DONE, rc = CD_STORE_OK;

    if (bad) {
        cd_error("store", "%s: value too long for its field", what);
        rc = CD_STORE_ERROR;
    }
    while (rc == CD_STORE_OK && (s = cd_step(st)) == CD_STEP_ROW) {
        int r = row(st, arg);

        if (r < 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            rc = CD_STORE_ERROR;
        } else if (r > 0) {
            break;
        }
    }
    if (rc == CD_STORE_OK && s != CD_STEP_ROW && s != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        rc = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, id, st);
    return rc;
}

/* ---- events ------------------------------------------------------------ */

int cd_store_event_seq_next(struct cd_tx *tx, const char *account_id,
                            int64_t *seq)
{
    const char *what = "event seq";
    struct cd_stmt *st = ob_get(tx, SQ_OB_SEQ_NEXT, 1, what);
    int s, rc;

    if (!st)
        return CD_STORE_ERROR;
    if (cd_bind_str(st, 1, account_id, CD_ID_SZ) != 0) {
        cd_sq_put(tx->db, SQ_OB_SEQ_NEXT, st);
        return CD_STORE_ERROR;
    }
    s = cd_step(st);
    if (s == CD_STEP_ROW) {
        *seq = cd_col_i64(st, 0);
        rc = CD_STORE_OK;
    } else if (s == CD_STEP_DONE) {
        rc = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        rc = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_OB_SEQ_NEXT, st);
    return rc;
}

int cd_store_outbox_insert(struct cd_tx *tx, const struct cd_event *e,
                           int64_t now_ms)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EVENT_INSERT, 1, "event insert");
    int bad, rc;

    if (!st)
        return CD_STORE_ERROR;
    bad = cd_bind_str(st, 1, e->id, CD_ID_SZ) |
          cd_bind_str(st, 2, e->account_id, CD_ID_SZ) |
          cd_bind_i64(st, 3, e->account_seq) |
          cd_bind_str(st, 4, e->type, CD_OB_TYPE_SZ) |
          cd_bind_str(st, 5, e->data, CD_OB_DATA_SZ) |
          cd_bind_i64(st, 6, e->created_at);
    rc = ob_write(tx, SQ_OB_EVENT_INSERT, st, bad, 0, "event insert");
    if (rc != CD_STORE_OK)
        return rc;
    if (!(st = ob_get(tx, SQ_OB_FANOUT, 1, "event fan-out")))
        return CD_STORE_ERROR;
    bad = cd_bind_str(st, 1, e->id, CD_ID_SZ) |
          cd_bind_str(st, 2, e->account_id, CD_ID_SZ) |
          cd_bind_i64(st, 3, e->account_seq) |
          cd_bind_str(st, 4, e->type, CD_OB_TYPE_SZ) |
          cd_bind_i64(st, 5, now_ms) | cd_bind_i64(st, 6, e->created_at);
    return ob_write(tx, SQ_OB_FANOUT, st, bad, 0, "event fan-out");
}

static int read_event(struct cd_stmt *st, struct cd_event *e)
{
    int bad = cd_col_str(st, 0, e->id, sizeof(e->id)) |
              cd_col_str(st, 1, e->account_id, sizeof(e->account_id)) |
              cd_col_str(st, 3, e->type, sizeof(e->type)) |
              cd_col_str(st, 4, e->data, sizeof(e->data));

    e->account_seq = cd_col_i64(st, 2);
    e->created_at = cd_col_i64(st, 5);
    return bad ? -1 : 0;
}

struct event_visit {
    struct cd_event row;
    cd_event_cb cb;
    void *arg;
};

static int event_row(struct cd_stmt *st, void *arg)
{
    struct event_visit *v = arg;

    if (read_event(st, &v->row) != 0)
        return -1;
    return v->cb(&v->row, v->arg) ? 1 : 0;
}

int cd_store_events_after(struct cd_tx *tx, const char *account_id,
                          int64_t after, int64_t limit, cd_event_cb cb,
                          void *arg)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EVENTS_AFTER, 0, "events after");
    struct event_visit v;
    int bad;

    if (!st)
        return CD_STORE_ERROR;
    v.cb = cb;
    v.arg = arg;
    bad = cd_bind_str(st, 1, account_id, CD_ID_SZ) |
          cd_bind_i64(st, 2, after) | cd_bind_i64(st, 3, limit);
    return ob_rows(tx, SQ_OB_EVENTS_AFTER, st, bad, event_row, &v,
                   "events after");
}

/* ---- endpoints --------------------------------------------------------- */

static int bind_endpoint(struct cd_stmt *st,
                         const struct cd_webhook_endpoint *w)
{
    return cd_bind_str(st, 1, w->id, CD_ID_SZ) |
           cd_bind_str(st, 2, w->url, CD_OB_URL_SZ) |
           cd_bind_str(st, 3, w->description, CD_OB_TEXT_SZ) |
           cd_bind_str(st, 4, w->event_types, CD_OB_TYPES_SZ) |
           cd_bind_i64(st, 5, w->enabled) |
           cd_bind_str(st, 6, w->secret, CD_OB_SECRET_SZ) |
           cd_bind_str(st, 7, w->old_secret, CD_OB_SECRET_SZ) |
           cd_bind_i64(st, 8, w->old_secret_expires_at) |
           cd_bind_i64(st, 9, w->failing_since) |
           cd_bind_str(st, 10, w->disabled_reason, CD_OB_TEXT_SZ) |
           cd_bind_i64(st, 11, w->created_at) |
           cd_bind_i64(st, 12, w->updated_at);
}

static int read_endpoint(struct cd_stmt *st, void *arg)
{
    struct cd_webhook_endpoint *w = arg;
    int bad = cd_col_str(st, 0, w->id, sizeof(w->id)) |
              cd_col_str(st, 1, w->url, sizeof(w->url)) |
              cd_col_str(st, 2, w->description, sizeof(w->description)) |
              cd_col_str(st, 3, w->event_types, sizeof(w->event_types)) |
              cd_col_str(st, 5, w->secret, sizeof(w->secret)) |
              cd_col_str(st, 6, w->old_secret, sizeof(w->old_secret)) |
              cd_col_str(st, 9, w->disabled_reason,
                         sizeof(w->disabled_reason));

    w->enabled = cd_col_i64(st, 4);
    w->old_secret_expires_at = cd_col_i64(st, 7);
    w->failing_since = cd_col_i64(st, 8);
    w->created_at = cd_col_i64(st, 10);
    w->updated_at = cd_col_i64(st, 11);
    return bad ? -1 : 0;
}

int cd_store_endpoint_insert(struct cd_tx *tx,
                             const struct cd_webhook_endpoint *w)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_INSERT, 1, "endpoint insert");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_INSERT, st, bind_endpoint(st, w), 0,
                    "endpoint insert");
}

int cd_store_endpoint_update(struct cd_tx *tx,
                             const struct cd_webhook_endpoint *w)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_UPDATE, 1, "endpoint update");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_UPDATE, st, bind_endpoint(st, w), 1,
                    "endpoint update");
}

static int first_row(struct cd_stmt *st, void *arg)
{
    struct {
        int (*rd)(struct cd_stmt *, void *);
        void *out;
        int found;
    } *f = arg;

    if (f->rd(st, f->out) != 0)
        return -1;
    f->found = 1;
    return 1;
}

int cd_store_endpoint_get(struct cd_tx *tx, const char *id,
                          struct cd_webhook_endpoint *out)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_GET, 0, "endpoint get");
    struct {
        int (*rd)(struct cd_stmt *, void *);
        void *out;
        int found;
    } f = {read_endpoint, out, 0};
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = ob_rows(tx, SQ_OB_EP_GET, st, cd_bind_str(st, 1, id, CD_ID_SZ),
                 first_row, &f, "endpoint get");
    return rc == CD_STORE_OK && !f.found ? CD_STORE_NOT_FOUND : rc;
}

struct ep_visit {
    struct cd_webhook_endpoint row;
    cd_endpoint_cb cb;
    void *arg;
};

static int endpoint_row(struct cd_stmt *st, void *arg)
{
    struct ep_visit *v = arg;

    if (read_endpoint(st, &v->row) != 0)
        return -1;
    return v->cb(&v->row, v->arg) ? 1 : 0;
}

int cd_store_endpoint_list(struct cd_tx *tx, int64_t limit, cd_endpoint_cb cb,
                           void *arg)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_LIST, 0, "endpoint list");
    struct ep_visit v;

    if (!st)
        return CD_STORE_ERROR;
    v.cb = cb;
    v.arg = arg;
    return ob_rows(tx, SQ_OB_EP_LIST, st, cd_bind_i64(st, 1, limit),
                   endpoint_row, &v, "endpoint list");
}

int cd_store_endpoint_delete(struct cd_tx *tx, const char *id)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_DLV_DELETE, 1, "endpoint del");
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = ob_write(tx, SQ_OB_EP_DLV_DELETE, st,
                  cd_bind_str(st, 1, id, CD_ID_SZ), 0, "endpoint del");
    if (rc != CD_STORE_OK)
        return rc;
    if (!(st = ob_get(tx, SQ_OB_EP_DELETE, 1, "endpoint delete")))
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_DELETE, st, cd_bind_str(st, 1, id, CD_ID_SZ),
                    1, "endpoint delete");
}

int cd_store_endpoint_failing(struct cd_tx *tx, const char *id, int64_t now)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_FAILING, 1, "endpoint failing");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_FAILING, st,
                    cd_bind_str(st, 1, id, CD_ID_SZ) |
                        cd_bind_i64(st, 2, now),
                    0, "endpoint failing");
}

int cd_store_endpoint_ok(struct cd_tx *tx, const char *id)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_OK, 1, "endpoint ok");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_OK, st, cd_bind_str(st, 1, id, CD_ID_SZ), 0,
                    "endpoint ok");
}

int cd_store_endpoint_disable(struct cd_tx *tx, const char *id,
                              int64_t since_max, const char *reason,
                              int64_t now)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_EP_DISABLE, 1, "endpoint disable");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_EP_DISABLE, st,
                    cd_bind_str(st, 1, id, CD_ID_SZ) |
                        cd_bind_i64(st, 2, since_max) |
                        cd_bind_str(st, 3, reason, CD_OB_TEXT_SZ) |
                        cd_bind_i64(st, 4, now),
                    1, "endpoint disable");
}

/* ---- deliveries -------------------------------------------------------- */

struct dlv_visit {
    struct cd_delivery row;
    cd_delivery_cb cb;
    void *arg;
};

static int due_row(struct cd_stmt *st, void *arg)
{
    struct dlv_visit *v = arg;
    struct cd_delivery *d = &v->row;
    int bad;

    memset(d, 0, sizeof(*d));
    d->seq = cd_col_i64(st, 0);
    bad = cd_col_str(st, 1, d->endpoint_id, sizeof(d->endpoint_id)) |
          cd_col_str(st, 2, d->event_id, sizeof(d->event_id)) |
          cd_col_str(st, 3, d->account_id, sizeof(d->account_id)) |
          cd_col_str(st, 7, d->url, sizeof(d->url)) |
          cd_col_str(st, 8, d->secret, sizeof(d->secret)) |
          cd_col_str(st, 9, d->old_secret, sizeof(d->old_secret)) |
          cd_col_str(st, 11, d->type, sizeof(d->type)) |
          cd_col_str(st, 12, d->data, sizeof(d->data));
    d->account_seq = cd_col_i64(st, 4);
    d->attempts = cd_col_i64(st, 5);
    d->created_at = cd_col_i64(st, 6);
    d->old_secret_expires_at = cd_col_i64(st, 10);
    d->event_created = cd_col_i64(st, 13);
    cd_strlcpy(d->status, "pending", sizeof(d->status));
    if (bad)
        return -1;
    return v->cb(d, v->arg) ? 1 : 0;
}

int cd_store_deliveries_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                            cd_delivery_cb cb, void *arg)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_DUE, 0, "deliveries due");
    struct dlv_visit *v;
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    v = malloc(sizeof(*v));
    if (!v) {
        cd_sq_put(tx->db, SQ_OB_DUE, st);
        return CD_STORE_ERROR;
    }
    v->cb = cb;
    v->arg = arg;
    rc = ob_rows(tx, SQ_OB_DUE, st,
                 cd_bind_i64(st, 1, now_ms) | cd_bind_i64(st, 2, limit),
                 due_row, v, "deliveries due");
    free(v);
    return rc;
}

int cd_store_delivery_update(struct cd_tx *tx, const struct cd_delivery *d)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_DLV_UPDATE, 1, "delivery update");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_DLV_UPDATE, st,
                    cd_bind_i64(st, 1, d->seq) |
                        cd_bind_str(st, 2, d->status, CD_STATUS_SZ) |
                        cd_bind_i64(st, 3, d->attempts) |
                        cd_bind_i64(st, 4, d->next_attempt_at) |
                        cd_bind_i64(st, 5, d->last_status) |
                        cd_bind_str(st, 6, d->last_error, CD_OB_TEXT_SZ) |
                        cd_bind_i64(st, 7, d->delivered_at),
                    1, "delivery update");
}

static int list_row(struct cd_stmt *st, void *arg)
{
    struct dlv_visit *v = arg;
    struct cd_delivery *d = &v->row;
    int bad;

    memset(d, 0, sizeof(*d));
    d->seq = cd_col_i64(st, 0);
    bad = cd_col_str(st, 1, d->event_id, sizeof(d->event_id)) |
          cd_col_str(st, 2, d->account_id, sizeof(d->account_id)) |
          cd_col_str(st, 4, d->type, sizeof(d->type)) |
          cd_col_str(st, 5, d->status, sizeof(d->status)) |
          cd_col_str(st, 9, d->last_error, sizeof(d->last_error));
    d->account_seq = cd_col_i64(st, 3);
    d->attempts = cd_col_i64(st, 6);
    d->next_attempt_at = cd_col_i64(st, 7);
    d->last_status = cd_col_i64(st, 8);
    d->created_at = cd_col_i64(st, 10);
    d->delivered_at = cd_col_i64(st, 11);
    if (bad)
        return -1;
    return v->cb(d, v->arg) ? 1 : 0;
}

int cd_store_deliveries_list(struct cd_tx *tx, const char *endpoint_id,
                             int64_t limit, int64_t offset, cd_delivery_cb cb,
                             void *arg)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_DLV_LIST, 0, "deliveries list");
    struct dlv_visit *v;
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    v = malloc(sizeof(*v));
    if (!v) {
        cd_sq_put(tx->db, SQ_OB_DLV_LIST, st);
        return CD_STORE_ERROR;
    }
    v->cb = cb;
    v->arg = arg;
    rc = ob_rows(tx, SQ_OB_DLV_LIST, st,
                 cd_bind_str(st, 1, endpoint_id, CD_ID_SZ) |
                     cd_bind_i64(st, 2, limit) | cd_bind_i64(st, 3, offset),
                 list_row, v, "deliveries list");
    free(v);
    return rc;
}

int cd_store_deliveries_purge(struct cd_tx *tx, int64_t before)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_DLV_PURGE, 1, "deliveries purge");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_DLV_PURGE, st, cd_bind_i64(st, 1, before), 0,
                    "deliveries purge");
}

int cd_store_replay_event(struct cd_tx *tx, const char *endpoint_id,
                          const char *event_id, int64_t now_ms, int64_t now)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_REPLAY_ID, 1, "replay event");

    if (!st)
        return CD_STORE_ERROR;
    return ob_write(tx, SQ_OB_REPLAY_ID, st,
                    cd_bind_str(st, 1, endpoint_id, CD_ID_SZ) |
                        cd_bind_str(st, 2, event_id, CD_ID_SZ) |
                        cd_bind_i64(st, 3, now_ms) | cd_bind_i64(st, 4, now),
                    1, "replay event");
}

int cd_store_replay_range(struct cd_tx *tx, const char *endpoint_id,
                          const char *account_id, int64_t from_seq,
                          int64_t to_seq, int64_t max, int64_t now_ms,
                          int64_t now, int64_t *count)
{
    struct cd_stmt *st = ob_get(tx, SQ_OB_REPLAY_RANGE, 1, "replay range");
    int rc;

    *count = 0;
    if (!st)
        return CD_STORE_ERROR;
    rc = ob_write(tx, SQ_OB_REPLAY_RANGE, st,
                  cd_bind_str(st, 1, endpoint_id, CD_ID_SZ) |
                      cd_bind_str(st, 2, account_id, CD_ID_SZ) |
                      cd_bind_i64(st, 3, now_ms) | cd_bind_i64(st, 4, now) |
                      cd_bind_i64(st, 5, from_seq) |
                      cd_bind_i64(st, 6, to_seq) | cd_bind_i64(st, 7, max),
                  0, "replay range");
    if (rc == CD_STORE_OK)
        *count = tx->db->be->changes(tx->db);
    return rc;
}

/* ---- balance alerts (020) --------------------------------------------- */

int cd_store_alerts_put(struct cd_tx *tx, const char *account_id,
                        const int64_t *thresholds, int n, int64_t now)
{
    struct cd_stmt *st = ob_get(tx, SQ_BA_DELETE, 1, "alerts delete");
    int rc;

    if (!st)
        return CD_STORE_ERROR;
    rc = ob_write(tx, SQ_BA_DELETE, st,
                  cd_bind_str(st, 1, account_id, CD_ID_SZ), 0,
                  "alerts delete");
    for (int i = 0; rc == CD_STORE_OK && i < n; i++) {
        if (!(st = ob_get(tx, SQ_BA_INSERT, 1, "alert insert")))
            return CD_STORE_ERROR;
        rc = ob_write(tx, SQ_BA_INSERT, st,
                      cd_bind_str(st, 1, account_id, CD_ID_SZ) |
                          cd_bind_i64(st, 2, thresholds[i]) |
                          cd_bind_i64(st, 3, now),
                      0, "alert insert");
        if (rc == CD_STORE_DUPLICATE) /* the same threshold twice */
            rc = CD_STORE_OK;
    }
    return rc;
}

struct thr_out {
    int64_t *out;
    int max, n;
};

static int thr_row(struct cd_stmt *st, void *arg)
{
    struct thr_out *t = arg;

    if (t->n >= t->max)
        return 1;
    t->out[t->n++] = cd_col_i64(st, 0);
    return 0;
}

int cd_store_alerts_get(struct cd_tx *tx, const char *account_id,
                        int64_t *out, int max, int *n)
{
    struct cd_stmt *st = ob_get(tx, SQ_BA_LIST, 0, "alerts list");
    struct thr_out t = {out, max, 0};
    int rc;

    *n = 0;
    if (!st)
        return CD_STORE_ERROR;
    rc = ob_rows(tx, SQ_BA_LIST, st, cd_bind_str(st, 1, account_id, CD_ID_SZ),
                 thr_row, &t, "alerts list");
    *n = t.n;
    return rc;
}

int cd_store_alerts_crossed(struct cd_tx *tx, const char *account_id,
                            int64_t lo, int64_t hi, int64_t *out, int max,
                            int *n)
{
    struct cd_stmt *st = ob_get(tx, SQ_BA_CROSSED, 0, "alerts crossed");
    struct thr_out t = {out, max, 0};
    int rc;

    *n = 0;
    if (!st)
        return CD_STORE_ERROR;
    rc = ob_rows(tx, SQ_BA_CROSSED, st,
                 cd_bind_str(st, 1, account_id, CD_ID_SZ) |
                     cd_bind_i64(st, 2, lo) | cd_bind_i64(st, 3, hi),
                 thr_row, &t, "alerts crossed");
    *n = t.n;
    return rc;
}
