/*
 * records_int.h - internal to the store's record files (records.c and a
 * file per noun: accounts.c, ledger.c, orders.c, ...): the read_X/bind_X
 * of each described record and the helpers of records.c they share.
 * Not for callers outside src/store.
 */
#ifndef CD_STORE_RECORDS_INT_H
#define CD_STORE_RECORDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

/* read_X and bind_X of each described record (rows.c); a record may use
 * only one of the two (clang warns about an unused static inline). */
#define REC_IO(x, rec)                                                       \
    __attribute__((unused)) static inline int read_##x(struct cd_stmt *st,   \
                                                       void *out)            \
    {                                                                        \
        return cd_rec_read(st, &(rec), out);                                 \
    }                                                                        \
    __attribute__((unused)) static inline int bind_##x(struct cd_stmt *st,   \
                                                       const void *arg)      \
    {                                                                        \
        return cd_rec_bind(st, &(rec), arg, 1);                              \
    }
REC_IO(ledger, cd_rec_ledger)
REC_IO(order, cd_rec_order)
REC_IO(payment, cd_rec_payment)
REC_IO(refund, cd_rec_refund)
REC_IO(dispute, cd_rec_dispute)
REC_IO(problem, cd_rec_problem)
REC_IO(pricing, cd_rec_pricing)
REC_IO(discount, cd_rec_discount)
REC_IO(subscription, cd_rec_subscription)
REC_IO(mail, cd_rec_mail)
REC_IO(mail_update, cd_rec_mail_update)
REC_IO(login_fail, cd_rec_login_fail)

/* Counts (when total) and lists rows newest first. acct NULL: the *_ALL
 * statements; else the *_ACCT ones filtered by account. */
struct list_q {
    enum cd_sq_stmt count_id, list_id;
    const char *acct;
    int64_t limit, offset;
    row_reader rd;
    void *row;
    row_visit visit;
    void *ctx;
    int64_t *total;
    const char *what;
};

struct id_i64_args {
    const char *id;
    size_t idsz;
    int64_t v;
};

struct key_args {
    const char *k1;
    size_t sz1;
    const char *k2;
    size_t sz2;
};

struct two_str_args {
    const char *a;
    size_t asz;
    const char *b;
    size_t bsz;
};

int cd_rec_check_tx(struct cd_tx *tx, int write, const char *what);
int cd_rec_step_write(struct cd_db *c, struct cd_stmt *st, const char *what);
int cd_rec_step_change(struct cd_db *c, struct cd_stmt *st, const char *what);
int cd_rec_bind_failed(const char *what);
int cd_rec_fetch_one(struct cd_db *c, enum cd_sq_stmt id, struct cd_stmt *st,
                     row_reader rd, void *out, const char *what);
int cd_rec_get_by_key(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                      size_t keysz, row_reader rd, void *out,
                      const char *what);
int cd_rec_run_write(struct cd_tx *tx, enum cd_sq_stmt id,
                     int (*bind)(struct cd_stmt *st, const void *arg),
                     const void *arg, int change, const char *what);
int cd_rec_list_rows(struct cd_tx *tx, const struct list_q *q);
const char *cd_rec_acct_filter(const char *account_id);
int cd_rec_bind_id_i64(struct cd_stmt *st, const void *arg);
int cd_rec_bind_key(struct cd_stmt *st, const void *arg);
int cd_rec_bind_purge(struct cd_stmt *st, const void *arg);
int cd_rec_count_since(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                       size_t keysz, int64_t since, int64_t *out,
                       const char *what);
int cd_rec_bind_two_str(struct cd_stmt *st, const void *arg);
int cd_rec_has(const char *s);

#endif
