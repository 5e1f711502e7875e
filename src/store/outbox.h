/*
 * store/outbox.h - the records of the outbox of events (019): events with
 * their per-account sequence, webhook endpoints, deliveries, and the
 * balance alerts (020). Functions run inside a store job (cd_tx), like
 * those of store.h; the same return codes.
 */
#ifndef CD_STORE_OUTBOX_H
#define CD_STORE_OUTBOX_H

#include "store/store.h"

#define CD_OB_TYPE_SZ 48
#define CD_OB_DATA_SZ 4096
#define CD_OB_URL_SZ 1025 /* at most 1024 bytes */
#define CD_OB_TYPES_SZ 1024
#define CD_OB_SECRET_SZ 80
#define CD_OB_TEXT_SZ 256

#define OB_EVENT_COLS "id, account_id, account_seq, type, data, created_at"
#define OB_EP_COLS                                                           \
    "id, url, description, event_types, enabled, secret, old_secret, "       \
    "old_secret_expires_at, failing_since, disabled_reason, created_at, "    \
    "updated_at"
/* An endpoint row subscribed to type expression x. */
#define OB_SUBSCRIBED(x)                                                     \
    "(event_types = '*' OR (',' || event_types || ',') LIKE ('%,' || " x     \
    " || ',%'))"
#define OB_REPLAY_TAIL                                                       \
    " ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = "           \
    "'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, "  \
    "created_at = excluded.created_at, last_error = NULL"

struct cd_event {
    char id[CD_ID_SZ]; /* "evt_..." */
    char account_id[CD_ID_SZ];
    int64_t account_seq;
    char type[CD_OB_TYPE_SZ];
    char data[CD_OB_DATA_SZ]; /* a JSON object */
    int64_t created_at;
};

struct cd_webhook_endpoint {
    char id[CD_ID_SZ]; /* "we_..." */
    char url[CD_OB_URL_SZ];
    char description[CD_OB_TEXT_SZ];
    char event_types[CD_OB_TYPES_SZ]; /* "*" or "a,b,c" */
    int64_t enabled;
    char secret[CD_OB_SECRET_SZ];
    char old_secret[CD_OB_SECRET_SZ]; /* "" = none */
    int64_t old_secret_expires_at;
    int64_t failing_since; /* 0: the last attempt worked */
    char disabled_reason[CD_OB_TEXT_SZ];
    int64_t created_at;
    int64_t updated_at;
};

/* A delivery: the due scan fills the sending fields, the list the state. */
struct cd_delivery {
    int64_t seq;
    char endpoint_id[CD_ID_SZ];
    char event_id[CD_ID_SZ];
    char account_id[CD_ID_SZ];
    int64_t account_seq;
    char status[CD_STATUS_SZ]; /* pending|delivered|failed */
    int64_t attempts;
    int64_t next_attempt_at; /* ms */
    int64_t last_status;     /* HTTP status of the last attempt, 0: none */
    char last_error[CD_OB_TEXT_SZ];
    int64_t created_at; /* s: the retry window starts here */
    int64_t delivered_at;
    /* due scan only */
    char url[CD_OB_URL_SZ];
    char secret[CD_OB_SECRET_SZ];
    char old_secret[CD_OB_SECRET_SZ];
    int64_t old_secret_expires_at;
    char type[CD_OB_TYPE_SZ];
    char data[CD_OB_DATA_SZ];
    int64_t event_created;
};

/* The account's next event number (gapless): NOT_FOUND without account. */
int cd_store_event_seq_next(struct cd_tx *tx, const char *account_id,
                            int64_t *seq);
/* Inserts the event and one pending delivery (due now_ms) per enabled
 * endpoint subscribed to its type. */
int cd_store_outbox_insert(struct cd_tx *tx, const struct cd_event *e,
                           int64_t now_ms);
/* Events of the account with account_seq > after, in order; cb returning
 * nonzero stops. */
typedef int (*cd_event_cb)(const struct cd_event *e, void *arg);
int cd_store_events_after(struct cd_tx *tx, const char *account_id,
                          int64_t after, int64_t limit, cd_event_cb cb,
                          void *arg);

int cd_store_endpoint_insert(struct cd_tx *tx,
                             const struct cd_webhook_endpoint *w);
int cd_store_endpoint_get(struct cd_tx *tx, const char *id,
                          struct cd_webhook_endpoint *out);
/* Rewrites every field of the row w->id (NOT_FOUND: none). */
int cd_store_endpoint_update(struct cd_tx *tx,
                             const struct cd_webhook_endpoint *w);
/* Deletes the endpoint and its deliveries. */
int cd_store_endpoint_delete(struct cd_tx *tx, const char *id);
typedef int (*cd_endpoint_cb)(const struct cd_webhook_endpoint *w, void *arg);
int cd_store_endpoint_list(struct cd_tx *tx, int64_t limit, cd_endpoint_cb cb,
                           void *arg);
/* A failed attempt: starts the run of failures at now unless one runs. */
int cd_store_endpoint_failing(struct cd_tx *tx, const char *id, int64_t now);
/* A delivered attempt: ends the run of failures. */
int cd_store_endpoint_ok(struct cd_tx *tx, const char *id);
/* Disables the endpoint when enabled and failing since before or at
 * since_max; OK when it did, NOT_FOUND otherwise. */
int cd_store_endpoint_disable(struct cd_tx *tx, const char *id,
                              int64_t since_max, const char *reason,
                              int64_t now);

typedef int (*cd_delivery_cb)(const struct cd_delivery *d, void *arg);
int cd_store_deliveries_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                            cd_delivery_cb cb, void *arg);
/* Writes status, attempts, next_attempt_at, last_status, last_error and
 * delivered_at of the row d->seq. */
int cd_store_delivery_update(struct cd_tx *tx, const struct cd_delivery *d);
int cd_store_deliveries_list(struct cd_tx *tx, const char *endpoint_id,
                             int64_t limit, int64_t offset, cd_delivery_cb cb,
                             void *arg);
/* Deletes finished (delivered, failed) deliveries created before. */
int cd_store_deliveries_purge(struct cd_tx *tx, int64_t before);
/* Replays: the event's delivery to the endpoint written or set back to
 * pending, due now_ms; NOT_FOUND when no such event. */
int cd_store_replay_event(struct cd_tx *tx, const char *endpoint_id,
                          const char *event_id, int64_t now_ms, int64_t now);
/* The account's events from_seq..to_seq (at most max) of the types the
 * endpoint subscribes to; *count how many. */
int cd_store_replay_range(struct cd_tx *tx, const char *endpoint_id,
                          const char *account_id, int64_t from_seq,
                          int64_t to_seq, int64_t max, int64_t now_ms,
                          int64_t now, int64_t *count);

/* Balance alerts (020): replaces the account's thresholds. */
int cd_store_alerts_put(struct cd_tx *tx, const char *account_id,
                        const int64_t *thresholds, int n, int64_t now);
/* Up to max thresholds, ascending; *n how many. */
int cd_store_alerts_get(struct cd_tx *tx, const char *account_id,
                        int64_t *out, int max, int *n);
/* The thresholds t with lo < t <= hi, ascending (at most max). */
int cd_store_alerts_crossed(struct cd_tx *tx, const char *account_id,
                            int64_t lo, int64_t hi, int64_t *out, int max,
                            int *n);

#endif
