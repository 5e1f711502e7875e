/*
 * core.h - the handlers of the core route table (core.c): health and
 * config, auth, account and credits, discounts, admin. Internal to api/.
 */
#ifndef CD_API_CORE_H
#define CD_API_CORE_H

#include <jansson.h>

#include "api/api.h"

/* idempotent.c: the Idempotency-Key step of a CD_ROUTE_IDEMPOTENT POST
 * with a key (dispatch.c, once authenticated): claims, replays or
 * refuses, and runs the route's handler when the claim is this
 * request's. */
void cd_api_run_idempotent(struct cd_req *req, struct cd_api_ctx *ctx,
                           const char *key);
/* The reply for a claim's outcome when it is not CLAIMED: the replay
 * (Idempotent-Replayed: true) or the 409; nothing for CLAIMED. */
void cd_api_idem_reply_unclaimed(struct cd_req *req, struct cd_idem_claim *c);
/* For a handler about to answer from a completion (cd_req_defer): copies
 * dispatch's prepared one-job claim into own, which the request then owns
 * (its finish replies for every outcome and frees it), and tells dispatch
 * so. Returns own, or NULL when the request has no such claim. */
struct cd_idem_claim *cd_api_idem_take(struct cd_api_ctx *ctx,
                                       struct cd_idem_claim *own);

/* health.c */
void cd_api_healthz(struct cd_req *req);
void cd_api_readyz(struct cd_req *req);
void cd_api_config(struct cd_req *req);

/* auth.c */
void cd_api_signup(struct cd_req *req);
void cd_api_login(struct cd_req *req);
void cd_api_logout(struct cd_req *req);
/* portal.c: POST /v1/portal_sessions (server key + account) and
 * POST /v1/auth/portal (public: redeems a link for a cookie session). */
void cd_api_portal_create(struct cd_req *req);
void cd_api_portal_redeem(struct cd_req *req);

/* session.c: the web UI's cookie sessions. */
#define CD_SESSION_COOKIE "creditd_session"
#define CD_CSRF_COOKIE "creditd_csrf"
#define CD_CSRF_HEADER "Creditd-CSRF"
/* Whether the request asks for a cookie session ("Creditd-Session:
 * cookie" on signup, login and portal redemption). */
int cd_api_wants_cookie(struct cd_req *req);
/* Adds the Set-Cookie headers of a session for token, living ttl s. */
void cd_api_session_set(struct cd_req *req, const char *token, int64_t ttl);
/* Adds the Set-Cookie headers that end the session's cookies. */
void cd_api_session_clear(struct cd_req *req);
/* The session token of the Cookie header into out (outsz), or -1. */
int cd_api_session_cookie(struct cd_req *req, char *out, size_t outsz);
/* Whether the request carries the CSRF header matching token's. */
int cd_api_csrf_ok(struct cd_req *req, const char *token);

void cd_api_password_reset(struct cd_req *req);
void cd_api_password_reset_confirm(struct cd_req *req);
void cd_api_email_verification(struct cd_req *req);
void cd_api_email_verification_confirm(struct cd_req *req);

/* accounts.c */
void cd_api_accounts_create(struct cd_req *req);
void cd_api_accounts_find(struct cd_req *req);

/* credits.c */
void cd_api_account_get(struct cd_req *req);
void cd_api_balance(struct cd_req *req);
void cd_api_transactions(struct cd_req *req);
void cd_api_debit(struct cd_req *req);
void cd_api_grant(struct cd_req *req);
void cd_api_discount_validate(struct cd_req *req);

/* lots.c: GET /v1/lots; the lot fields of a grant (400 answered: -1). */
struct cd_lot_spec;
struct cd_lot;
void cd_api_lots_list(struct cd_req *req);
int cd_api_lot_spec(struct cd_req *req, json_t *body,
                    struct cd_lot_spec *spec);
json_t *cd_api_lot_json(const struct cd_lot *l);

/* admin.c */
void cd_api_admin_pricing_get(struct cd_req *req);
void cd_api_admin_pricing_put(struct cd_req *req);
void cd_api_admin_discount_create(struct cd_req *req);
void cd_api_admin_discount_list(struct cd_req *req);
void cd_api_admin_discount_deactivate(struct cd_req *req);
void cd_api_admin_accounts(struct cd_req *req);
void cd_api_admin_account(struct cd_req *req);
void cd_api_admin_ledger_verify(struct cd_req *req);

/* admin_lists.c */
void cd_api_admin_orders(struct cd_req *req);
void cd_api_admin_ledger(struct cd_req *req);
void cd_api_admin_payments(struct cd_req *req);
void cd_api_admin_subscriptions(struct cd_req *req);
void cd_api_admin_summary(struct cd_req *req);
/* The filters of the admin lists and exports from the query string
 * (account, status - orders only -, kind, from, to); 0, or -1 with a 400
 * reply set. Borrowed strings: valid during the request. */
int cd_api_page_filters(struct cd_req *req, int orders,
                        struct cd_page_query *q);

/* export.c */
void cd_api_admin_export_orders(struct cd_req *req);
void cd_api_admin_export_ledger(struct cd_req *req);
struct cd_buf;
/* Appends s as one CSV cell (RFC 4180 quoting; a leading ' for a cell a
 * spreadsheet would read as a formula); 0, or -1 when out of memory. */
int cd_csv_text(struct cd_buf *b, const char *s);
/* Appends one draw to a ledger row's draws cell: "lot_id:amount", ';'
 * before it when the cell has one already. 0 or -1. */
int cd_csv_draw(struct cd_buf *b, const char *lot_id, int64_t amount);
/* Appends a ledger export row (CRLF ended): the columns of ledger.csv's
 * header, draws the cell cd_csv_draw built ("" for none). 0 or -1. */
int cd_csv_ledger_row(struct cd_buf *b, const struct cd_ledger_entry *e,
                      const char *draws);

/* Shapes shared by handlers (new references). */
json_t *cd_api_txn_json(const struct cd_ledger_entry *e);
/* Fills the "draws" of a list of cd_api_txn_json entries (one read);
 * -1 when it failed (the error replied). */
int cd_api_txn_draws(struct cd_req *req, json_t *data);
json_t *cd_api_discount_json(const struct cd_discount *d);
json_t *cd_api_pricing_json(const struct cd_pricing *p);

#endif
