/*
 * internal.h - what the sandbox's files share (not a public API; see
 * sandbox.h for that).
 *
 * Locking: one mutex (s->mu) guards all state. The dispatch function in
 * sandbox.c takes it around every handler, so handlers and everything
 * they call run with it held and never lock it themselves. The delivery
 * thread has its own queue lock; the lock order is s->mu, then the queue
 * lock, and the delivery thread never holds its queue lock while it takes
 * s->mu.
 */
#ifndef CD_SANDBOX_INTERNAL_H
#define CD_SANDBOX_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "sandbox/sandbox.h"

#define CD_SANDBOX_API_VERSION "2026-07-29.dahlia"
#define CD_SANDBOX_IDEM_MAX 100000      /* remembered Idempotency-Keys */
#define CD_SANDBOX_IDEM_TTL (24 * 3600) /* seconds */
#define CD_SANDBOX_OBJECTS_MAX 1000000  /* per kind, a memory bound */

/* Route flags, read by the dispatch function. */
#define CD_SANDBOX_F_AUTH 1u /* needs an sk_test_ key (the /v1 API) */
#define CD_SANDBOX_F_IDEM 2u /* POST honouring Idempotency-Key */

struct cd_sandbox_idem {
    char *key;     /* owned; NULL: free slot */
    char hash[65]; /* sha256 of method, path and raw body */
    int status;
    char *body; /* owned */
    size_t len;
    int64_t created;
};

struct cd_sandbox_deliverer;

struct cd_sandbox {
    char *listen;
    char *webhook_url;
    char *webhook_secret;
    char *public_url;       /* no trailing '/' */
    char account_name[64];  /* named on the checkout page; "" = none */
    int allow_non_loopback; /* cd_sandbox_config's: public_url's Host too */
    struct cd_http_server *http;
    struct cd_route *routes;
    int port;
    int64_t started; /* cd_now() at start: the webhook endpoint's created */

    pthread_mutex_t mu;
    /* id -> object (new references held by the maps). jansson objects
     * keep insertion order, which the list endpoints rely on. */
    json_t *customers, *sessions, *intents, *charges, *pms, *refunds, *events;
    json_t *disputes;
    json_t *subs, *invoices;  /* subscriptions (sub_...), invoices (in_...) */
    json_t *invoice_payments; /* inpay_... */
    json_t *priv;             /* session id -> sandbox-private session data */
    json_t *delivered;        /* event id -> true once a delivery got a 2xx */

    json_t *idem_index;           /* key -> slot (integer) */
    struct cd_sandbox_idem *idem; /* ring of CD_SANDBOX_IDEM_MAX */
    size_t idem_next;

    /* The request being handled (valid while s->mu is held by dispatch);
     * copied into each event's "request". */
    char cur_request_id[64];
    const char *cur_idem_key;

    struct cd_sandbox_deliverer *dlv;
    /* Test switch: every /v1 request waits this long first, like a slow
     * Stripe (read and written with __atomic builtins). */
    long api_delay_ms;
    long api_waiting; /* requests in that wait now (__atomic) */
    /* Test switch (under mu): enabled_events of the one endpoint GET
     * /v1/webhook_endpoints lists; NULL: ["*"]. */
    json_t *webhook_events;
    /* Test switch (faults.c, under mu): the next fail_count requests of
     * fail_method whose path starts with fail_path answer 500 - before
     * running, or (a POST with fail_after) after running: the effect
     * happened, the answer is lost. */
    char fail_method[8];
    char fail_path[128];
    int fail_count;
    int fail_after;
};

/* ---- faults.c: injected Stripe failures --------------------------------- */

/* Under s->mu, before an API route runs: 1 when the request must fail
 * now (a 500 is replied, nothing runs); else 0, with *after set when the
 * reply must be replaced by a 500 once it ran (cd_sandbox_fault_after). */
int cd_sandbox_fault_before(struct cd_sandbox *s, struct cd_req *r,
                            int *after);
void cd_sandbox_fault_after(struct cd_req *r);
/* POST /_sandbox/config's "fail_next": {"path", "count", "after",
 * "method"}; 0, or
 * -1 after replying 400. {"path","count","after"} for GET (new ref). Both
 * with s->mu held, as every control handler is. */
int cd_sandbox_fault_configure(struct cd_sandbox *s, struct cd_req *r,
                               const json_t *v);
json_t *cd_sandbox_fault_json(struct cd_sandbox *s);

/* A failed card payment or request, in Stripe's error terms. */
struct cd_sandbox_fail {
    int status;    /* 402 card_error, 400, 404 */
    char type[32]; /* "card_error", "invalid_request_error" */
    char code[48];
    char decline_code[48]; /* "" when none */
    char param[96];        /* "" when none */
    char message[512];
};

/* What the payer entered (any field may be NULL). */
struct cd_sandbox_card {
    const char *number;
    const char *exp; /* "MM/YY", "MM / YY", "MM/YYYY" */
    const char *cvc;
    const char *email;
};

/* ---- shapes.c: objects as the pinned version returns them ---- */

/* One object's skeleton (shapes_gen.c, generated from the stripe npm
 * package's types): its "object" value and the JSON of every property
 * that version always returns. */
struct cd_sandbox_shape_src {
    const char *object;
    const char *json;
};
extern const struct cd_sandbox_shape_src cd_sandbox_shape_srcs[];
extern const size_t cd_sandbox_shape_nsrcs;
/* Adds to obj, and to the objects nested in it (by their "object"), every
 * property its skeleton has and it lacks. */
void cd_sandbox_shape(json_t *obj);

/* ---- state.c: ids, lookup, rendering, errors; events.c: emitting;
 * customers.c, checkout.c, payments.c, refunds.c, disputes.c ---- */

/* A new id: prefix + 24 base62 characters. out holds >= 64 bytes. */
void cd_sandbox_new_id(const char *prefix, char *out, size_t outsz);
/* The object with this id, by its prefix; borrowed, or NULL. */
json_t *cd_sandbox_lookup(struct cd_sandbox *s, const char *id);
/* Stores obj (steals) under its "id" in map. 0, or -1 when full. */
int cd_sandbox_store(json_t *map, json_t *obj);
/* A deep copy of obj with the expand[] paths (a JSON array of strings,
 * may be NULL) expanded. New reference, or NULL with f filled (400). */
json_t *cd_sandbox_render(struct cd_sandbox *s, const json_t *obj,
                          const json_t *expand, struct cd_sandbox_fail *f);
/* Stripe's error body {"error":{...}} for f (new reference). */
json_t *cd_sandbox_fail_json(const struct cd_sandbox_fail *f);
/* Fills f; returns -1. */
int cd_sandbox_fail_set(struct cd_sandbox_fail *f, int status,
                        const char *type, const char *code, const char *param,
                        const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Replies with Stripe's error shape. */
void cd_sandbox_reply_fail(struct cd_req *r, const struct cd_sandbox_fail *f);
void cd_sandbox_reply_errorf(struct cd_req *r, int status, const char *type,
                             const char *code, const char *param,
                             const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Records an event over a snapshot of obj (borrowed) and queues its
 * delivery. */
void cd_sandbox_emit(struct cd_sandbox *s, const char *type,
                     const json_t *obj);
/* Like cd_sandbox_emit, with data.previous_attributes = prev (borrowed,
 * copied; NULL or {}: none), as Stripe sends on *.updated events. */
void cd_sandbox_emit_prev(struct cd_sandbox *s, const char *type,
                          const json_t *obj, const json_t *prev);
/* Queues (another) delivery of a recorded event. */
void cd_sandbox_deliver_event(struct cd_sandbox *s, const json_t *event);

/* Creates a customer from already validated fields (borrowed strings,
 * may be NULL; metadata borrowed, may be NULL). Borrowed result, or NULL
 * when the store is full. Emits customer.created. */
json_t *cd_sandbox_customer_create(struct cd_sandbox *s, const char *email,
                                   const char *name, const char *description,
                                   const json_t *metadata);

/* Expires the session if its expires_at has passed (lazily). */
void cd_sandbox_session_refresh(struct cd_sandbox *s, json_t *session);
/* Expires an open session (+ checkout.session.expired). 0, or -1 with f
 * filled (400) when it is not open. */
int cd_sandbox_session_expire(struct cd_sandbox *s, json_t *session,
                              struct cd_sandbox_fail *f);
/* Pays an open session with a test card: 0 on success (the session is
 * complete, objects and events created), -1 with f filled otherwise
 * (402 card_error for a decline; 400 when not open or bad input). */
int cd_sandbox_checkout_pay(struct cd_sandbox *s, json_t *session,
                            const struct cd_sandbox_card *card,
                            struct cd_sandbox_fail *f);
/* A new PaymentIntent in requires_payment_method (borrowed; NULL when
 * full). metadata is stolen (NULL: {}); other strings may be NULL. */
json_t *cd_sandbox_pi_create(struct cd_sandbox *s, int64_t amount,
                             const char *currency, const char *cus_id,
                             json_t *metadata, const char *sfu,
                             const char *description);
/* Confirms pi with a PaymentMethod id or a Stripe test token
 * (pm_card_visa, pm_card_visa_chargeDeclined, ...): 0 when it succeeded
 * (charge + events), else -1 with f filled: 402 card_error after a
 * decline (pi back to requires_payment_method with last_payment_error,
 * charge.failed + payment_intent.payment_failed emitted), 400 for bad
 * state or parameters. */
int cd_sandbox_pi_confirm(struct cd_sandbox *s, json_t *pi, const char *pm_id,
                          int off_session, struct cd_sandbox_fail *f);
/* Pays pi with a card typed by a payer (what Stripe.js would do with the
 * client secret); like cd_sandbox_pi_confirm. */
int cd_sandbox_pi_pay_card(struct cd_sandbox *s, json_t *pi,
                           const struct cd_sandbox_card *card,
                           struct cd_sandbox_fail *f);
/* state.c: the line items list object of a session (new reference). */
json_t *cd_sandbox_session_line_items(struct cd_sandbox *s,
                                      const json_t *session);
/* Refunds amount (<= 0: all that is left) of a charge; returns the new
 * refund (borrowed) or NULL with f filled. Emits refund.created and
 * charge.refunded. */
json_t *cd_sandbox_refund(struct cd_sandbox *s, json_t *charge,
                          int64_t amount, const char *reason,
                          const json_t *metadata, struct cd_sandbox_fail *f);
/* The test dispute switch of one charge: with no open dispute, opens one
 * (needs_response, charge.dispute.created); then, when status is "won" or
 * "lost" (NULL: leave it open), closes it with that status
 * (charge.dispute.closed). Returns the dispute (borrowed) or NULL with f
 * filled (400: bad status, nothing open to close, already refunded). */
json_t *cd_sandbox_dispute(struct cd_sandbox *s, json_t *charge,
                           const char *status, struct cd_sandbox_fail *f);
/* The outcome of charging a test card number: 0 (it succeeds) or -1
 * with f filled (402 card_error). off_session also declines the cards
 * that need the customer (4000000000000341, 4000002760003184). */
int cd_sandbox_card_outcome(const char *digits, int off_session,
                            struct cd_sandbox_fail *f);
/* The test card number behind a PaymentMethod id or a test token
 * (pm_card_visa, ...); NULL when unknown. */
const char *cd_sandbox_pm_number(struct cd_sandbox *s, const char *pm_id);
/* Expires every open session past its expires_at (takes s->mu). */
void cd_sandbox_sweep(struct cd_sandbox *s);

/* ---- invoice_payments.c ---- */

/* Pays inv (amount_due, currency, customer) with pm_id (a PaymentMethod
 * or a test token; NULL: none on file): a PaymentIntent and its charge,
 * succeeded, or failed with decline (payment_intent.created,
 * charge.succeeded|failed, payment_intent.succeeded|payment_failed), and
 * the invoice_payment naming them (paid, or open after a decline).
 * Borrowed, or NULL when the store is full. */
json_t *cd_sandbox_invoice_pay(struct cd_sandbox *s, json_t *inv,
                               const char *pm_id,
                               const struct cd_sandbox_fail *decline);

/* ---- subscriptions.c: subscriptions and invoices ---- */

/* 1 when interval is a recurring price's interval (day|week|month|year). */
int cd_sandbox_interval_ok(const char *interval);
/* start plus count intervals (calendar months and years, the day clamped
 * to the month's end; count < 1 counts as 1). */
int64_t cd_sandbox_period_add(int64_t start, const char *interval,
                              int64_t count);
/* The subscription a paid subscription-mode session starts: its recurring
 * line items, subscription_data[metadata], customer cus_id, default
 * payment method pm_id, status active, the first period from now, and its
 * first invoice (paid, billing_reason subscription_create, the session's
 * amount_total). Emits customer.subscription.created, invoice.paid and
 * invoice.payment_succeeded. Borrowed, or NULL with f filled. */
json_t *cd_sandbox_sub_create(struct cd_sandbox *s, json_t *session,
                              const char *cus_id, const char *pm_id,
                              struct cd_sandbox_fail *f);
/* The next period: a subscription set to cancel at period end ends there
 * (status canceled, customer.subscription.deleted); otherwise the period
 * advances and a new invoice (subscription_cycle) is paid with the
 * default payment method - invoice.paid, invoice.payment_succeeded,
 * status active - or, when card_fails or that card declines off-session,
 * fails: status past_due, invoice.payment_failed. Either way then
 * customer.subscription.updated. Returns sub (borrowed) or NULL with f
 * filled (400 when it has ended). */
json_t *cd_sandbox_sub_renew(struct cd_sandbox *s, json_t *sub,
                             int card_fails, struct cd_sandbox_fail *f);
/* POST /v1/subscriptions/{id}: cancel_at_period_end (cape 1/0; -1 leaves
 * it) and metadata (borrowed, may be NULL; "" values unset). Emits
 * customer.subscription.updated with previous_attributes when something
 * changed. 0, or -1 with f filled (400 for an ended subscription). */
int cd_sandbox_sub_update(struct cd_sandbox *s, json_t *sub, int cape,
                          const json_t *metadata, struct cd_sandbox_fail *f);
/* DELETE /v1/subscriptions/{id}: ends it now (status canceled, canceled_at,
 * ended_at; customer.subscription.deleted). 0, or -1 with f filled (400
 * when it has ended already). */
int cd_sandbox_sub_cancel(struct cd_sandbox *s, json_t *sub,
                          struct cd_sandbox_fail *f);

/* ---- guard.c: what is let in at all ---- */

/* 1 when host ("127.0.0.1", "::1", "localhost"; no port, no brackets)
 * is a loopback address or name. */
int cd_sandbox_is_loopback(const char *host);
/* 1 when the request's Content-Type is application/json (any case,
 * parameters allowed). */
int cd_sandbox_is_json(const struct cd_req *r);
/* params.c: 0 when every parameter of a /v1 request is one its route
 * accepts and the body is not JSON; else replies 400 (parameter_unknown
 * naming the key, or the JSON refusal) and returns -1. */
int cd_sandbox_params_check(struct cd_req *r);
/* Every request's checks, before its route: a loopback Host, no foreign
 * Origin on a state change, JSON only as application/json on a control
 * endpoint. 0 to go on, or -1 after replying 403/400 (guard.c has the
 * rules). */
int cd_sandbox_guard(struct cd_req *r);

/* ---- page.c: the hosted pages' frame (checkout, billing portal) ---- */

#define CD_SANDBOX_PAGE_MAX (256 * 1024)
struct cd_buf;
/* HTML-escapes s (NULL: nothing) onto b. */
void cd_sandbox_html_esc(struct cd_buf *b, const char *s);
/* The page's head, style and the "Test mode" badge; opens <main>. */
void cd_sandbox_page_start(struct cd_buf *b, const char *title);
/* Closes the page and replies with it (strict CSP; form-action 'self'
 * plus the origin of sess's success_url, sess may be NULL); frees b. */
void cd_sandbox_page_finish(struct cd_req *r, struct cd_buf *b, int status,
                            const json_t *sess);

/* ---- cards.c: a card typed on a hosted page, attached ---- */

/* Checks a typed card (number, expiry, CVC) and whether it can be charged
 * (a declining test card is refused, as Stripe's SetupIntent refuses it),
 * then stores it as a PaymentMethod attached to cus_id and emits
 * payment_method.attached. Borrowed, or NULL with f filled. */
json_t *cd_sandbox_card_attach(struct cd_sandbox *s, const char *cus_id,
                               const struct cd_sandbox_card *card,
                               struct cd_sandbox_fail *f);

/* ---- request.c: what the /v1 handlers share ---- */

/* The request's parameters as a JSON object (new reference): the form
 * body of a POST. NULL after replying 400 for a malformed body. */
json_t *cd_sandbox_post_params(struct cd_req *r);
/* expand[] of a GET: "expand[]" (one value) or "expand[0]".."expand[19]"
 * as sent by form encoders. New array. */
json_t *cd_sandbox_query_array(struct cd_req *r, const char *name);
/* Optional string parameter of at most max bytes. 0 (out NULL when
 * absent or empty), or -1 with f filled. */
int cd_sandbox_opt_str(json_t *p, const char *key, const char *param,
                       size_t max, const char **out,
                       struct cd_sandbox_fail *f);
/* Optional integer parameter in [min, max]. 0 (*present says whether it
 * was there), or -1 with f filled. */
int cd_sandbox_opt_int(json_t *p, const char *key, const char *param,
                       int64_t min, int64_t max, int64_t *out, int *present,
                       struct cd_sandbox_fail *f);
/* Optional boolean ("true"/"false"; off_session also takes "one_off" and
 * "recurring" as true). 0, or -1 with f filled. */
int cd_sandbox_opt_bool(json_t *p, const char *key, int *out,
                        struct cd_sandbox_fail *f);
/* The optional currency parameter of p: lower-cased in p ("USD" is
 * accepted as Stripe accepts it) and refused unless Stripe supports it.
 * 0 (*out NULL when absent), or -1 with f filled. */
int cd_sandbox_opt_currency(json_t *p, const char *param, const char **out,
                            struct cd_sandbox_fail *f);
/* parameter_missing for param; returns -1. */
int cd_sandbox_missing(struct cd_sandbox_fail *f, const char *param);
/* Stripe's metadata rules: up to 50 keys of <= 40 characters, string
 * values of <= 500. An empty string unsets (here: empty object). */
int cd_sandbox_check_metadata(json_t *m, const char *param,
                              struct cd_sandbox_fail *f);
/* A copy of metadata m ({} when m is not an object); new reference. */
json_t *cd_sandbox_metadata_copy(json_t *m);
int cd_sandbox_check_email(const char *e, const char *param,
                           struct cd_sandbox_fail *f);
int cd_sandbox_check_url(const char *u, const char *param,
                         struct cd_sandbox_fail *f);
/* Replies 200 with obj rendered with expand (borrowed, may be NULL). */
void cd_sandbox_reply_render(struct cd_req *r, const json_t *obj,
                             const json_t *expand);
/* GET of one object from map by the path's {id}, with expand[]. */
void cd_sandbox_reply_get(struct cd_req *r, json_t *map, const char *noun);

typedef int (*cd_sandbox_list_filter_fn)(const json_t *obj, void *arg);
/* A Stripe list of the objects in map (chronological by insertion),
 * newest first, with limit (1..100, default 10), starting_after and
 * ending_before; filt (may be NULL) keeps an object when it returns 1. */
void cd_sandbox_reply_list(struct cd_req *r, json_t *map, const char *url,
                           const char *noun, cd_sandbox_list_filter_fn filt,
                           void *arg);
/* created, created[gt|gte|lt|lte] of a list GET as exclusive bounds
 * (*gt, *lt left as they are when absent): 0, or -1 after replying 400. */
int cd_sandbox_created_range(struct cd_req *r, int64_t *gt, int64_t *lt);
/* A filter: the object's field equals the query parameter (when given). */
struct cd_sandbox_field_filter {
    const char *field[3];
    const char *want[3];
};
int cd_sandbox_field_filter_fn(const json_t *obj, void *arg);

/* ---- cards.c: test cards and PaymentMethods ---- */

/* Checks what the payer typed (card number, expiry, CVC, email); fills
 * digits. 0, or -1 with f filled. */
int cd_sandbox_card_check(const struct cd_sandbox_card *card, char *digits,
                          size_t dsz, int *exp_month, int *exp_year,
                          struct cd_sandbox_fail *f);
/* Visa, Mastercard, ... of a test card number (Stripe's brand names). */
const char *cd_sandbox_card_brand(const char *digits);
/* A PaymentMethod's or Charge's billing_details (new reference). */
json_t *cd_sandbox_billing_details(const char *email);
/* A new stored PaymentMethod for a card (borrowed), its number kept in
 * s->priv for later off-session charges; NULL when full. */
json_t *cd_sandbox_pm_new(struct cd_sandbox *s, const char *digits,
                          int exp_month, int exp_year, const char *email,
                          const char *cus_id);

/* ---- payments.c ---- */

/* A charge of pi with pm: succeeded when f is NULL, else failed with f's
 * code. Updates pi (latest_charge, status, ...). Borrowed, or NULL when
 * full. */
json_t *cd_sandbox_charge_new(struct cd_sandbox *s, json_t *pi,
                              const json_t *pm, const char *email,
                              const struct cd_sandbox_fail *f);

/* ---- the /v1 route handlers (api.c's table), each in its noun's file */
void cd_sandbox_h_account_get(struct cd_req *r);
void cd_sandbox_h_charge_get(struct cd_req *r);
void cd_sandbox_h_charge_list(struct cd_req *r);
void cd_sandbox_h_customer_create(struct cd_req *r);
void cd_sandbox_h_customer_get(struct cd_req *r);
void cd_sandbox_h_customer_list(struct cd_req *r);
void cd_sandbox_h_customer_pm_list(struct cd_req *r);
void cd_sandbox_h_customer_update(struct cd_req *r);
void cd_sandbox_h_dispute_get(struct cd_req *r);
void cd_sandbox_h_dispute_list(struct cd_req *r);
void cd_sandbox_h_event_get(struct cd_req *r);
void cd_sandbox_h_event_list(struct cd_req *r);
void cd_sandbox_h_intent_confirm(struct cd_req *r);
void cd_sandbox_h_intent_create(struct cd_req *r);
void cd_sandbox_h_intent_get(struct cd_req *r);
void cd_sandbox_h_intent_list(struct cd_req *r);
void cd_sandbox_h_invoice_get(struct cd_req *r);
void cd_sandbox_h_invoice_list(struct cd_req *r);
void cd_sandbox_h_invoice_payment_get(struct cd_req *r);
void cd_sandbox_h_invoice_payment_list(struct cd_req *r);
void cd_sandbox_h_pm_get(struct cd_req *r);
void cd_sandbox_h_pm_list(struct cd_req *r);
void cd_sandbox_h_refund_create(struct cd_req *r);
void cd_sandbox_h_refund_get(struct cd_req *r);
void cd_sandbox_h_session_create(struct cd_req *r);
void cd_sandbox_h_session_expire(struct cd_req *r);
void cd_sandbox_h_session_get(struct cd_req *r);
void cd_sandbox_h_session_line_items(struct cd_req *r);
void cd_sandbox_h_session_list(struct cd_req *r);
void cd_sandbox_h_sub_cancel(struct cd_req *r);
void cd_sandbox_h_sub_get(struct cd_req *r);
void cd_sandbox_h_sub_list(struct cd_req *r);
void cd_sandbox_h_sub_update(struct cd_req *r);
void cd_sandbox_h_webhook_endpoints_list(struct cd_req *r);

/* ---- api.c, page.c, portal.c, control.c: their route tables ---- */
extern const struct cd_route cd_sandbox_api_routes[];
extern const size_t cd_sandbox_api_nroutes;
extern const struct cd_route cd_sandbox_page_routes[];
extern const size_t cd_sandbox_page_nroutes;
extern const struct cd_route cd_sandbox_portal_routes[];
extern const size_t cd_sandbox_portal_nroutes;
extern const struct cd_route cd_sandbox_control_routes[];
extern const size_t cd_sandbox_control_nroutes;

/* ---- deliver.c ---- */

/* on_result is called (without any lock held) after each delivery's final
 * outcome; tick about once a second. Both get arg. */
struct cd_sandbox_deliverer *cd_sandbox_deliverer_start(
    const char *url, const char *secret, long delay_ms,
    void (*tick)(void *arg),
    void (*on_result)(void *arg, const char *evt_id, int ok), void *arg,
    struct cd_error *err);
/* Queues body (copied) for delivery as event evt_id; a no-op without a
 * webhook url. Honours the duplicates switch. */
void cd_sandbox_deliverer_enqueue(struct cd_sandbox_deliverer *d,
                                  const char *evt_id, const char *body);
/* Test switches; a negative value leaves a switch unchanged. */
void cd_sandbox_deliverer_configure(struct cd_sandbox_deliverer *d,
                                    long delay_ms, long jitter_ms,
                                    int duplicates, int shuffle,
                                    int max_attempts);
/* {"webhook_url"?,"delivery_delay_ms","delivery_jitter_ms",
 *  "delivery_attempts","duplicate_deliveries","shuffle",
 *  "pending","attempts","delivered","failed"} (new reference). */
json_t *cd_sandbox_deliverer_stats(struct cd_sandbox_deliverer *d);
void cd_sandbox_deliverer_stop(struct cd_sandbox_deliverer *d);

#endif
