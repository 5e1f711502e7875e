/*
 * store_mail.h - the store's mail outbox (mail.c): records and record
 * functions. Return codes, field sizes and list conventions in
 * store_base.h; callers include store/store.h, which includes this header.
 */
#ifndef CD_STORE_STORE_MAIL_H
#define CD_STORE_STORE_MAIL_H

#include <stdint.h>

#include "store/store_base.h"

/* ---- mail outbox (005_mail_outbox) ------------------------------------- */
#define CD_MAIL_SUBJECT_SZ 256
#define CD_MAIL_BODY_SZ 4096
#define CD_MAIL_ERROR_SZ 256

/* One mail to send (or sent). Times: next_attempt_at in milliseconds since
 * the epoch, created_at and sent_at in seconds. */
struct cd_mail {
    char id[CD_ID_SZ];          /* "mail_..." */
    char dedupe_key[CD_REF_SZ]; /* unique, e.g. "order:<id>:receipt" */
    char account_id[CD_ID_SZ];  /* "" when none */
    char to_address[CD_EMAIL_SZ];
    char subject[CD_MAIL_SUBJECT_SZ];
    char body_text[CD_MAIL_BODY_SZ];
    char status[CD_STATUS_SZ]; /* queued|sent|failed|skipped */
    int64_t attempts;
    int64_t next_attempt_at; /* ms */
    char last_error[CD_MAIL_ERROR_SZ];
    int64_t created_at;
    int64_t sent_at; /* 0: not sent */
};

typedef int (*cd_mail_cb)(const struct cd_mail *m, void *arg);

/* Replaces the body of mail id (a sent reset link: the token goes). */
int cd_store_mail_redact(struct cd_tx *tx, const char *id, const char *body);

/* DUPLICATE when m->dedupe_key (or m->id) exists; nothing written. */
int cd_store_mail_insert(struct cd_tx *tx, const struct cd_mail *m);
int cd_store_mail_get_by_key(struct cd_tx *tx, const char *dedupe_key,
                             struct cd_mail *out);
/* Queued mail with next_attempt_at <= now_ms, the most overdue first, at
 * most limit rows. */
int cd_store_mail_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                      cd_mail_cb cb, void *arg);
/* Writes the outcome of an attempt (status, attempts, next_attempt_at,
 * last_error, sent_at) to the row m->id while it is still queued:
 * NOT_FOUND when it is not (already finished). */
int cd_store_mail_update(struct cd_tx *tx, const struct cd_mail *m);

#endif
