/*
 * records.h - private to store/: the column lists of the record tables
 * (used by the SQL in statements.c) and their descriptors (records.c), so
 * each record's columns, types, struct offsets and sizes are written once
 * and binding and reading rows is generic.
 */
#ifndef CD_STORE_RECORDS_H
#define CD_STORE_RECORDS_H

#include <stddef.h>

#include "store/store_int.h"

#define ACCOUNT_COLS                                                         \
    "id, email, password_hash, stripe_customer_id, "                         \
    "has_saved_payment_method, balance, created_at, external_id"
/* The account's access (billing/clawback.h): its first paid access order
 * whose clawback is not total - refunds and disputes not won took less
 * than all the credits it gave. Sought in orders_access (030): the
 * account's own access orders in this order, no sort. */
#define ACCESS_ORDER(col)                                                    \
    "(SELECT g." col " FROM orders g WHERE g.account_id = accounts.id "      \
    "AND g.kind = 'access' AND g.completed_at > 0 "                          \
    "AND g.clawback_credits < g.credits ORDER BY g.completed_at, g.seq "     \
    "LIMIT 1)"
/* What reads select: an account without an email keeps its id in email
 * (migration 012), read back as NULL; then its access and verification,
 * read past the descriptor's columns (read_account in accounts.c). */
#define ACCOUNT_SEL                                                              \
    "id, NULLIF(email, id), password_hash, stripe_customer_id, "                 \
    "has_saved_payment_method, balance, created_at, external_id, " ACCESS_ORDER( \
        "id") ", " ACCESS_ORDER("completed_at") ", "                             \
                                                "email_verified_at"
/* What authentication selects (SQ_TOKEN_ACCOUNT): ACCOUNT_SEL's columns
 * without the password hash and the access order ("" and 0 in their
 * places): the two correlated subqueries over orders were most of the
 * token lookup's cost (docs/PERFORMANCE.md, "Balance reads, the second
 * pass"). */
#define ACCOUNT_AUTH_SEL                                                     \
    "id, NULLIF(email, id), '', stripe_customer_id, "                        \
    "has_saved_payment_method, balance, created_at, external_id, '', 0, "    \
    "email_verified_at"
#define LEDGER_COLS                                                          \
    "id, account_id, amount, balance_after, kind, ref, order_id, "           \
    "description, created_at, effective_at"
/* 016 (store/lots.c reads them in this order). */
#define LOT_COLS                                                             \
    "id, account_id, entry_id, source, category, amount, remaining, "        \
    "priority, expires_at, order_id, created_at, expired_at, rolled"
#define ORDER_COLS                                                           \
    "id, account_id, kind, status, amount_cents, discount_cents, "           \
    "discount_code, credits, currency, item_id, description, "               \
    "stripe_session_id, stripe_payment_intent_id, failure_reason, "          \
    "created_at, completed_at, updated_at, clawback_credits, clawback_seq, " \
    "refund_level_cents, stripe_invoice_id, stripe_customer_id"
#define PAYMENT_COLS                                                         \
    "id, order_id, account_id, status, amount_cents, "                       \
    "amount_refunded_cents, currency, description, last4, failure_reason, "  \
    "stripe_payment_intent_id, stripe_charge_id, created_at, paid_at, "      \
    "refunded_at"
#define REFUND_COLS                                                          \
    "id, order_id, stripe_refund_id, amount_cents, status, reason, "         \
    "created_at, updated_at"
#define DISPUTE_COLS                                                         \
    "id, order_id, amount_cents, status, created_at, updated_at"
#define PROBLEM_COLS                                                         \
    "id, kind, order_id, account_id, event_id, detail, created_at"
#define DISCOUNT_COLS                                                         \
    "code, percent_off, amount_off_cents, max_uses, times_used, expires_at, " \
    "active, created_at"
#define IDEM_COLS                                                            \
    "scope, key, request_hash, status, body, created_at, lease_until"
#define SUB_COLS                                                             \
    "stripe_subscription_id, account_id, plan_id, status, "                  \
    "current_period_end, cancel_at_period_end, synced_at, created_at, "      \
    "updated_at"
#define MAIL_COLS                                                            \
    "id, dedupe_key, account_id, to_address, subject, body_text, status, "   \
    "attempts, next_attempt_at, last_error, created_at, sent_at"
#define MAIL_UPDATE_COLS                                                     \
    "id, status, attempts, next_attempt_at, last_error, sent_at"
#define PRICING_COLS "mode, launch_cents, rrp_cents, sale_cents, updated_at"
#define LOGIN_FAIL_COLS "email, address, failures, first_at, last_at"
/* 017: a hold (store/holds.c) */
#define HOLD_COLS                                                            \
    "id, account_id, amount, captured, status, description, "                \
    "transaction_id, created_at, expires_at, finished_at"
/* 017: a debit that may not overdraw (lo 0) may spend only what no hold
 * holds: balance + amount >= held. */
#define HOLD_GUARD "AND (?3 != 0 OR balance + ?2 >= held)"
/* 018: auto top-up (store/autotopup.c). */
#define AUTOTOPUP_COLS                                                       \
    "account_id, enabled, threshold, amount_cents, monthly_cap_cents, "      \
    "declines, disabled_reason, last_failure, last_decline_code, "           \
    "last_failure_at, updated_at"
#define ATTEMPT_COLS                                                         \
    "id, account_id, state, amount_cents, month, tries, order_id, "          \
    "next_try_at, decline_code, failure, created_at, updated_at"
#define NEWEST " ORDER BY created_at DESC, seq DESC"
/* 010: the keyset part of a page (see SQ_ORDER_PAGE_ACCT); a parameter
 * a statement does not name (below ?8) is bound and ignored. 024: one
 * upper bound, the row value (?6, ?7) (the smaller of the start row's key
 * and the `to` filter), which both SQLite and PostgreSQL take as the
 * index range's end: a deep page seeks, it does not walk newer rows. */
#define PAGE_TAIL                                                            \
    " AND created_at >= ?4 AND (created_at, seq) < (?6, ?7)" NEWEST          \
    " LIMIT ?8"

/* ---- row readers and keyset pages (records.c) ------------------------ */

struct cd_page_query;
typedef int (*row_reader)(struct cd_stmt *st, void *out);
typedef int (*row_visit)(const void *row, void *ctx);

/* The parameters a page statement names (bit n-1 for ?n, see
 * statements.c): the others are bound as integers, which PostgreSQL can
 * type where a NULL it is never told the type of cannot be. */
#define P(n) (1u << ((n)-1))
#define PAGE_TAIL_P (P(4) | P(6) | P(7) | P(8))

/* One keyset page: key_id reads the (created_at, seq) of the row named
 * by starting_after (a key of at most CD_ID_SZ - 1 bytes), list_id the
 * page (its parameters as in PAGE_TAIL, ?1 account, ?2 status, ?3 kind
 * when named), rd reads a row into row and visit gets it. */
struct page_run {
    enum cd_sq_stmt key_id, list_id;
    unsigned named;
    row_reader rd;
    void *row;
    row_visit visit;
    void *ctx;
    int *has_more;
    const char *what;
};

/* Reads one page: up to q->limit rows to r->visit, *has_more when a row
 * follows them. NOT_FOUND when starting_after names no row. */
int cd_page_run(struct cd_tx *tx, const struct cd_page_query *q,
                const struct page_run *r);

/* ---- one account's keyset pages (keyset.c) -------------------------- */

/* The row id of account_id, by statement key_id (?1 id, ?2 account): OK,
 * with key (when not NULL) its (created_at, seq) from columns 0 and 1;
 * NOT_FOUND when the account has no such row (or id is too long to be
 * one). what names the page in a logged failure. */
int cd_keyset_row(struct cd_tx *tx, enum cd_sq_stmt key_id,
                  const char *account_id, const char *id, int64_t key[2],
                  const char *what);

/* A page of one account's rows with an exact total: the start row, when
 * named, the account's own (key_id as in cd_keyset_row), *total from
 * count (a kept count, LIMIT 0: one row read from accounts). */
struct cd_keyset_page {
    const char *account_id, *starting_after;
    int64_t limit;
    int *has_more;
    int64_t *total;
    enum cd_sq_stmt key_id;
    const char *what;
    int (*count)(struct cd_tx *tx, const char *account_id, int64_t *total);
};

/* The checks and the start of such a page: *has_more 0, *total, q filled
 * in for the page runner; OK, NOT_FOUND (starting_after) or ERROR. */
int cd_keyset_begin(struct cd_tx *tx, const struct cd_keyset_page *p,
                    struct cd_page_query *q);

/* ---- descriptors (rows.c) ------------------------------------------- */

enum cd_col_type {
    CD_COL_STR, /* char[size]: "" binds as NULL, NULL reads as "" */
    CD_COL_I64, /* int64_t */
    CD_COL_INT, /* int */
    CD_COL_FLAG /* int, bound 0/1, read as != 0 */
};

struct cd_col {
    const char *name;
    enum cd_col_type type;
    size_t off, size;
};

/* A record: its columns in the order of its *_COLS list, which is also
 * the order of its ?1..?N in the INSERT and UPDATE statements. */
struct cd_rec {
    const char *name;
    const char *cols_sql; /* the *_COLS text the SQL uses */
    size_t size;
    int ncols;
    const struct cd_col *cols;
};

extern const struct cd_rec cd_rec_account, cd_rec_ledger, cd_rec_order,
    cd_rec_payment, cd_rec_refund, cd_rec_dispute, cd_rec_problem,
    cd_rec_discount, cd_rec_subscription, cd_rec_mail, cd_rec_mail_update,
    cd_rec_login_fail, cd_rec_pricing;
/* Every descriptor above, for checks. */
extern const struct cd_rec *const cd_recs[];
extern const int cd_recs_count;

/* Binds s (NULL or "" as SQL NULL); -1 if it does not fit in a field of
 * sz bytes (with its NUL). The text must outlive the statement's run. */
int cd_bind_str(struct cd_stmt *st, int i, const char *s, size_t sz);
/* Copies text column i into out (NULL reads as ""); -1 if it does not
 * fit. */
int cd_col_str(struct cd_stmt *st, int i, char *out, size_t sz);
/* Binds every column of obj to ?first, ?first+1, ...; -1 if a string
 * does not fit its field. */
int cd_rec_bind(struct cd_stmt *st, const struct cd_rec *r, const void *obj,
                int first);
/* Zeroes obj and reads columns 0..ncols-1 into it; -1 if a stored string
 * does not fit its field. */
int cd_rec_read(struct cd_stmt *st, const struct cd_rec *r, void *obj);
/* 0 when r's column names, joined with ", ", are r->cols_sql. */
int cd_rec_check(const struct cd_rec *r);

#endif
