/*
 * sqlite_int.h - private to the SQLite backend (sqlite.c, sqlite_records.c):
 * the connection with its prepared-statement cache, the transaction handle
 * that jobs receive, and the table of every SQL statement the backend runs.
 *
 * Every statement is one fixed string in cd_sq_sql[] (sqlite_records.c),
 * prepared once per connection with sqlite3_prepare_v3 and reused; values
 * are always bound, never formatted into SQL.
 */
#ifndef CD_STORE_SQLITE_INT_H
#define CD_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

enum cd_sq_stmt {
    /* transaction control (sqlite.c) */
    SQ_BEGIN,
    SQ_BEGIN_IMMEDIATE,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    SQ_PING,
    SQ_SCHEMA_VERSION,
    SQ_MIGRATION_RECORD,
    /* records (sqlite_records.c) */
    SQ_ACCOUNT_INSERT,
    SQ_ACCOUNT_GET,
    SQ_ACCOUNT_BY_EMAIL,
    SQ_ACCOUNT_BY_EXTERNAL,
    SQ_ACCOUNT_BY_CUSTOMER,
    SQ_ACCOUNT_SET_CUSTOMER,
    SQ_ACCOUNT_SET_BALANCE,
    SQ_ACCOUNT_SET_PASSWORD,
    SQ_TOKEN_DELETE_ACCOUNT,
    SQ_RESET_INSERT,
    SQ_RESET_COUNT_SINCE,
    SQ_RESET_GET,
    SQ_RESET_USE_ALL,
    SQ_ACCOUNT_SET_VERIFIED,
    SQ_LINK_PURGE,
    SQ_ORDER_COUNT_PAID,
    SQ_MAIL_REDACT,
    SQ_ACCOUNT_COUNT,
    SQ_ACCOUNT_LIST,
    SQ_TOKEN_INSERT,
    SQ_TOKEN_ACCOUNT,
    SQ_TOKEN_DELETE,
    SQ_LEDGER_INSERT,
    SQ_LEDGER_BY_REF,
    SQ_LEDGER_COUNT_ACCT,
    SQ_LEDGER_LIST_ACCT,
    SQ_LEDGER_COUNT_ALL,
    SQ_LEDGER_LIST_ALL,
    SQ_VERIFY_ACCOUNTS,
    SQ_VERIFY_ENTRIES,
    SQ_VERIFY_MISMATCH,
    SQ_ORDER_INSERT,
    SQ_ORDER_UPDATE,
    SQ_ORDER_GET,
    SQ_ORDER_BY_SESSION,
    SQ_ORDER_BY_PI,
    SQ_ORDER_BY_INVOICE,
    SQ_ORDER_COUNT_ACCT,
    SQ_ORDER_LIST_ACCT,
    SQ_ORDER_COUNT_ALL,
    SQ_ORDER_LIST_ALL,
    SQ_ORDER_LIST_PENDING,
    SQ_ORDER_COUNT_PENDING,
    SQ_PAYMENT_INSERT,
    SQ_PAYMENT_UPDATE,
    SQ_PAYMENT_GET,
    SQ_PAYMENT_BY_ORDER,
    SQ_PAYMENT_BY_CHARGE,
    SQ_PAYMENT_BY_PI,
    SQ_PAYMENT_COUNT_ACCT,
    SQ_PAYMENT_LIST_ACCT,
    SQ_PAYMENT_COUNT_ALL,
    SQ_PAYMENT_LIST_ALL,
    SQ_REFUND_INSERT,
    SQ_REFUND_UPDATE,
    SQ_REFUND_GET,
    SQ_REFUND_BY_STRIPE,
    SQ_REFUND_SUMS,
    SQ_DISPUTE_INSERT,
    SQ_DISPUTE_UPDATE,
    SQ_DISPUTE_GET,
    SQ_DISPUTE_HELD,
    SQ_PROBLEM_INSERT,
    SQ_PROBLEM_COUNT,
    SQ_PROBLEM_LIST,
    SQ_PRICING_GET,
    SQ_PRICING_PUT,
    SQ_DISCOUNT_INSERT,
    SQ_DISCOUNT_GET,
    SQ_DISCOUNT_COUNT,
    SQ_DISCOUNT_LIST,
    SQ_DISCOUNT_SET_ACTIVE,
    SQ_DISCOUNT_USE,
    SQ_EVENT_INSERT,
    SQ_IDEM_GET,
    SQ_IDEM_INSERT,
    SQ_IDEM_COMPLETE,
    SQ_IDEM_DELETE,
    SQ_IDEM_PURGE,
    SQ_TOKEN_PURGE,
    SQ_KV_GET,
    SQ_KV_PUT,
    SQ_LEASE_ACQUIRE,
    SQ_LEASE_RELEASE,
    SQ_DISCOUNT_PENDING_COUNT,
    SQ_DISCOUNT_HOLDS,
    SQ_IDEM_COMPLETE_CLAIM,
    SQ_IDEM_RELEASE_CLAIM,
    SQ_IDEM_RENEW_CLAIM,
    SQ_IDEM_TAKEOVER,
    SQ_SUB_UPSERT,
    SQ_SUB_GET,
    SQ_SUB_LATEST,
    SQ_MAIL_INSERT,
    SQ_MAIL_GET_BY_KEY,
    SQ_MAIL_DUE,
    SQ_MAIL_UPDATE,
    SQ_LOGIN_FAIL_GET,
    SQ_LOGIN_FAIL_PUT,
    SQ_LOGIN_FAIL_DELETE,
    SQ_LOGIN_FAIL_PURGE,
    /* 010: the admin lists and exports (keyset pages) */
    SQ_ORDER_KEY,
    SQ_ORDER_PAGE_ACCT,
    SQ_ORDER_PAGE_STATUS,
    SQ_ORDER_PAGE_KIND,
    SQ_ORDER_PAGE_ALL,
    SQ_LEDGER_KEY,
    SQ_LEDGER_PAGE_ACCT,
    SQ_LEDGER_PAGE_KIND,
    SQ_LEDGER_PAGE_ALL,
    SQ_PORTAL_INSERT,
    SQ_PORTAL_CONSUME,
    SQ_PORTAL_PURGE,
    /* 014: card details from charge events */
    SQ_CHARGE_CARD_PUT,
    SQ_CHARGE_CARD_GET,
    SQ_CHARGE_CARD_PURGE,
    SQ__COUNT
};

/* The SQL text of each statement, indexed by enum cd_sq_stmt. */
extern const char *const cd_sq_sql[SQ__COUNT];

/* One SQLite connection and its lazily prepared statements. */
struct cd_conn {
    sqlite3 *db;
    int writable;
    sqlite3_stmt *stmts[SQ__COUNT];
};

/* What a job sees: the connection of its batch (or read) and whether it
 * may write. Owned by the store; valid only during the job. */
struct cd_tx {
    struct cd_conn *conn;
    int writable;
};

/* The cached statement `id` of the connection, reset and ready to bind;
 * when the cached one is still running (a list callback calling the same
 * function), a fresh one that cd_sq_put() finalizes. NULL on error
 * (logged). */
sqlite3_stmt *cd_sq_get(struct cd_conn *c, enum cd_sq_stmt id);
/* Hands a statement from cd_sq_get() back: reset and bindings cleared, or
 * finalized when it was not the cached one. NULL is ignored. */
void cd_sq_put(struct cd_conn *c, enum cd_sq_stmt id, sqlite3_stmt *st);
/* Runs a statement that returns no rows; 0 or CD_STORE_ERROR (logged
 * with `what`). */
int cd_sq_exec(struct cd_conn *c, enum cd_sq_stmt id, const char *what);
/* Finalizes every cached statement of c. */
void cd_sq_finalize_all(struct cd_conn *c);

#endif
