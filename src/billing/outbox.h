/*
 * outbox.h - events for the application: written to an outbox in the same
 * write job as their effect, numbered per account without gaps, pulled
 * with GET /v1/events or pushed, signed, to the webhook endpoints the
 * operator registers (outbox_send.c); and the balance alerts that turn a
 * ledger change across a threshold into balance.low / balance.recovered.
 */
#ifndef CD_BILLING_OUTBOX_H
#define CD_BILLING_OUTBOX_H

#include <jansson.h>

#include "billing/billing.h"
#include "billing/ledger.h"
#include "store/outbox.h"
#include "util/error.h"

/* Every event type, in the order of docs/API.md "Events". */
#define CD_OUTBOX_TYPES(X)                                                   \
    X("order.completed")                                                     \
    X("payment.failed")                                                      \
    X("credits.granted")                                                     \
    X("credits.debited")                                                     \
    X("credits.expired")                                                     \
    X("hold.captured")                                                       \
    X("hold.released")                                                       \
    X("refund.applied")                                                      \
    X("dispute.opened")                                                      \
    X("dispute.closed")                                                      \
    X("subscription.updated")                                                \
    X("auto_topup.succeeded")                                                \
    X("auto_topup.failed")                                                   \
    X("balance.low")                                                         \
    X("balance.recovered")

#define CD_ALERTS_MAX 10               /* thresholds per account */
#define CD_ENDPOINTS_MAX 16            /* webhook endpoints */
#define CD_REPLAY_MAX 1000             /* events per replay */
#define CD_ROTATE_WINDOW_DEFAULT 86400 /* s the old secret still signs */
#define CD_ROTATE_WINDOW_MAX (7 * 86400)

/* 1 when type is one of CD_OUTBOX_TYPES. */
int cd_outbox_type_known(const char *type);

/*
 * Inside a write job: writes event `type` of the account with data (a JSON
 * object, stolen; NULL: {}), the account's next sequence number (one
 * guarded UPDATE ... RETURNING, gapless with any number of nodes), a new
 * id "evt_...", and one pending delivery per enabled endpoint subscribed
 * to the type. CD_STORE_OK (also when the account is gone: no event) or
 * CD_STORE_ERROR (the job must fail: the effect and its event go
 * together).
 */
int cd_outbox_emit_tx(struct cd_tx *tx, const char *account_id,
                      const char *type, json_t *data);
/* The same with data already rendered: the text of a JSON object (made
 * with util/jsonw.h on the writer's hot paths). */
int cd_outbox_emit_text_tx(struct cd_tx *tx, const char *account_id,
                           const char *type, const char *data);

/* Inside cd_ledger_apply_tx, after the entry e is written: credits.granted
 * (amount > 0), credits.debited (< 0) or credits.expired (kind expiry), and
 * balance.low / balance.recovered for each threshold the change crossed. */
int cd_outbox_ledger_tx(struct cd_tx *tx, const struct cd_ledger_apply *in,
                        const struct cd_ledger_entry *e);

/* order.completed / payment.failed of o: {"order": {...}} (the order's
 * id, kind, status, amounts, credits, item, description, failure). */
int cd_outbox_order_tx(struct cd_tx *tx, const char *type,
                       const struct cd_order *o);
json_t *cd_outbox_order_data(const struct cd_order *o);

/* The Event object of API.md (new reference); NULL on a bad stored row. */
json_t *cd_outbox_event_json(const char *id, const char *account_id,
                             int64_t seq, const char *type, const char *data,
                             int64_t created);

/* "t=<t>,v1=<hex>[,v1=<hex of old>]": Stripe's scheme over "<t>.<body>";
 * old signs too when set and now < old_expires. 0, or -1 (too small). */
int cd_outbox_sign(const char *secret, const char *old, int64_t old_expires,
                   int64_t t, const char *body, size_t len, char *out,
                   size_t outsz);

/* The pull feed: the account's events after seq `after`, at most limit.
 * 0, or -1 with err (500). */
int cd_events_after(struct cd_billing *b, const char *account_id,
                    int64_t after, int64_t limit, cd_event_cb cb, void *arg,
                    struct cd_error *err);

/* Balance alerts: replace (n <= CD_ALERTS_MAX, each 0..CD_AMOUNT_MAX) or
 * read the account's thresholds. */
int cd_alerts_put(struct cd_billing *b, const char *account_id,
                  const int64_t *thresholds, int n, struct cd_error *err);
int cd_alerts_get(struct cd_billing *b, const char *account_id, int64_t *out,
                  int *n, struct cd_error *err);

/* Webhook endpoints (admin). A field NULL (or enabled < 0) on update is
 * left as is. url: http(s)://, at most 1024 bytes; types: "*" or a
 * comma-separated list of known types. */
struct cd_endpoint_in {
    const char *url;
    const char *description;
    const char *event_types;
    int enabled; /* -1: unchanged */
};
int cd_endpoint_create(struct cd_billing *b, const struct cd_endpoint_in *in,
                       struct cd_webhook_endpoint *out, struct cd_error *err);
int cd_endpoint_get(struct cd_billing *b, const char *id,
                    struct cd_webhook_endpoint *out, struct cd_error *err);
int cd_endpoint_update(struct cd_billing *b, const char *id,
                       const struct cd_endpoint_in *in,
                       struct cd_webhook_endpoint *out, struct cd_error *err);
int cd_endpoint_delete(struct cd_billing *b, const char *id,
                       struct cd_error *err);
/* A new secret; the old one signs alongside it for window seconds. */
int cd_endpoint_rotate(struct cd_billing *b, const char *id, int64_t window,
                       struct cd_webhook_endpoint *out, struct cd_error *err);
/* Every endpoint: 0, or -1 with err (500). */
int cd_endpoint_list(struct cd_billing *b, cd_endpoint_cb cb, void *arg,
                     struct cd_error *err);
int cd_deliveries_list(struct cd_billing *b, const char *endpoint_id,
                       int64_t limit, int64_t offset, cd_delivery_cb cb,
                       void *arg, struct cd_error *err);

/* A replay to one endpoint: the listed events (ids, n <= 100), or the
 * account's from_seq..to_seq (to_seq 0: up to from_seq + CD_REPLAY_MAX -
 * 1). *count: deliveries set pending. */
struct cd_replay_in {
    const char *endpoint_id;
    const char *const *event_ids;
    int nids;
    const char *account_id;
    int64_t from_seq, to_seq;
};
int cd_events_replay(struct cd_billing *b, const struct cd_replay_in *in,
                     int64_t *count, struct cd_error *err);

/* The sender (outbox_send.c): a thread under the "events" lease. */
struct cd_outbox_config {
    int64_t poll_ms;         /* between scans */
    int64_t retry_base_ms;   /* first retry delay; doubles to 1 h */
    int64_t retry_window_s;  /* a delivery is retried this long (3 days) */
    int64_t disable_after_s; /* failing this long disables an endpoint */
    int64_t timeout_ms;      /* one attempt's whole HTTP exchange */
};
#define CD_OUTBOX_RETRY_CAP_MS 3600000
#define CD_OUTBOX_BATCH 50
/* Delivered and failed deliveries are kept this long (s), then purged
 * hourly by the sender; events themselves are kept (the pull feed). */
#define CD_OUTBOX_KEEP_S (30 * 86400)
struct cd_outbox_sender;
struct cd_outbox_sender *
cd_outbox_sender_start(struct cd_billing *b,
                       const struct cd_outbox_config *c);
void cd_outbox_sender_stop(struct cd_outbox_sender *s);
/* The delay before attempt attempts + 1 (attempts >= 1). */
int64_t cd_outbox_backoff_ms(int64_t attempts, int64_t base_ms);

#endif
