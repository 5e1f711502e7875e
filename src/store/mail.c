/*
 * mail.c - the mail outbox (005); the record functions of store.h for them,
 * with the mapping rules of records.c and its helpers (records_int.h).
 */
#include "store/records_int.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

/* ---- mail outbox (005) -------------------------------------------------- */

int cd_store_mail_insert(struct cd_tx *tx, const struct cd_mail *m)
{
    struct cd_mail *q;
    int rc;

    if (!m || m->status[0])
        return cd_rec_run_write(tx, SQ_MAIL_INSERT, bind_mail, m, 0,
                                "mail insert");
    /* No status yet: a new mail is queued. */
    if (!(q = malloc(sizeof(*q))))
        return CD_STORE_ERROR;
    *q = *m;
    memcpy(q->status, "queued", sizeof("queued"));
    rc = cd_rec_run_write(tx, SQ_MAIL_INSERT, bind_mail, q, 0, "mail insert");
    free(q);
    return rc;
}

int cd_store_mail_get_by_key(struct cd_tx *tx, const char *dedupe_key,
                             struct cd_mail *out)
{
    return cd_rec_get_by_key(tx, SQ_MAIL_GET_BY_KEY, dedupe_key, CD_REF_SZ,
                             read_mail, out, "mail get");
}

int cd_store_mail_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                      cd_mail_cb cb, void *arg)
{
    const char *what = "mail due";
    struct cd_mail *m;
    struct cd_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (cd_rec_check_tx(tx, 0, what) != 0 || !cb || limit < 0)
        return CD_STORE_ERROR;
    m = malloc(sizeof(*m));
    if (!m)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->db, SQ_MAIL_DUE))) {
        free(m);
        return CD_STORE_ERROR;
    }
    cd_bind_i64(st, 1, now_ms);
    cd_bind_i64(st, 2, limit);
    while ((rc = cd_step(st)) == CD_STEP_ROW) {
        if (read_mail(st, m) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(m, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != CD_STEP_ROW && rc != CD_STEP_DONE) {
        cd_error("store", "%s: %s", what, cd_db_errmsg(tx->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->db, SQ_MAIL_DUE, st);
    free(m);
    return ret;
}

int cd_store_mail_update(struct cd_tx *tx, const struct cd_mail *m)
{
    return cd_rec_run_write(tx, SQ_MAIL_UPDATE, bind_mail_update, m, 1,
                            "mail update");
}

int cd_store_mail_redact(struct cd_tx *tx, const char *id, const char *body)
{
    struct two_str_args a = {id, CD_ID_SZ, body, CD_MAIL_BODY_SZ};

    return cd_rec_run_write(tx, SQ_MAIL_REDACT, cd_rec_bind_two_str, &a, 1,
                            "mail redact");
}
