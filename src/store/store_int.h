/*
 * store_int.h - private to store/: the table of every SQL statement (ids
 * here, text in statements.c), the transaction handle that jobs receive,
 * and thin wrappers that reach a statement's backend methods.
 *
 * Every statement is one fixed string in cd_sq_sql[], written once with
 * ?N placeholders for every backend; the backend prepares it (and caches
 * it per connection). Values are always bound, never formatted into SQL.
 */
#ifndef CD_STORE_STORE_INT_H
#define CD_STORE_STORE_INT_H

#include "store/backend.h"
#include "store/store.h"
#include "util/log.h"

enum cd_sq_stmt {
    /* the executor (executor.c) */
    SQ_PING,
    SQ_SCHEMA_VERSION,
    SQ_MIGRATION_RECORD,
    /* records (records.c and its files per noun, records_int.h) */
    SQ_ACCOUNT_INSERT,
    SQ_ACCOUNT_GET,
    SQ_ACCOUNT_BY_EMAIL,
    SQ_ACCOUNT_BY_EXTERNAL,
    SQ_ACCOUNT_AUTH_GET,
    SQ_ACCOUNT_AUTH_BY_EXTERNAL,
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
    SQ_ACCOUNT_ADD_GUARDED,
    SQ_ACCOUNT_ADD_UNDO,
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
    /* 016: lots (store/lots.c) */
    SQ_LOT_INSERT,
    SQ_LOT_GET,
    SQ_LOT_OPEN,
    SQ_LOT_TAKE,
    SQ_LOT_TAKE_FIRST,
    SQ_LOT_EXPIRE,
    SQ_LOT_ROLL,
    SQ_LOT_DRAW_INSERT,
    SQ_LOT_DRAWS,
    SQ_LOT_DEBT_ADD,
    SQ_LOT_DEBT_GET,
    SQ_LOT_DUE,
    SQ_LOT_DUE_ACCT,
    SQ_LOT_PAGE,
    SQ_LOT_KEY,
    SQ_LOT_TOTALS,
    SQ_LOT_NEXT_EXPIRY,
    SQ_LOT_VERIFY,
    SQ_ORDER_INSERT,
    SQ_ORDER_INSERT_RESERVING,
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
    /* 017: holds (holds.c) */
    SQ_HOLD_INSERT,
    SQ_HOLD_GET,
    SQ_HOLD_RESERVE,
    SQ_HOLD_UNRESERVE,
    SQ_HOLD_FINISH,
    SQ_HOLD_EXPIRE_ACCT,
    SQ_HOLD_DUE_ACCOUNTS,
    SQ_HOLD_TOTALS,
    /* GET /v1/balance in one statement (balance.c) */
    SQ_BALANCE_TOTALS,
    SQ_HOLD_KEY,
    SQ_HOLD_PAGE,
    SQ_HOLD_VERIFY,
    /* 010: the admin lists and exports (keyset pages) */
    SQ_ORDER_KEY,
    SQ_ORDER_KEY_ACCT,
    SQ_ORDER_PAGE_ACCT,
    SQ_ORDER_PAGE_STATUS,
    SQ_ORDER_PAGE_KIND,
    SQ_ORDER_PAGE_ALL,
    SQ_LEDGER_KEY,
    SQ_LEDGER_KEY_ACCT,
    SQ_LEDGER_PAGE_ACCT,
    SQ_LEDGER_PAGE_KIND,
    SQ_LEDGER_PAGE_ALL,
    /* 022: the admin lists of payments and subscriptions (admin_pages.c) */
    SQ_PAYMENT_KEY,
    SQ_PAYMENT_KEY_ACCT,
    SQ_PAYMENT_PAGE_ACCT,
    SQ_PAYMENT_PAGE_STATUS,
    SQ_PAYMENT_PAGE_ALL,
    SQ_SUB_KEY,
    SQ_SUB_PAGE_ACCT,
    SQ_SUB_PAGE_STATUS,
    SQ_SUB_PAGE_ALL,
    SQ_REVENUE_SUM,
    SQ_ORDER_STATUS_COUNT,
    SQ_PORTAL_INSERT,
    SQ_PORTAL_CONSUME,
    SQ_PORTAL_PURGE,
    /* 014: card details from charge events */
    SQ_CHARGE_CARD_PUT,
    SQ_CHARGE_CARD_GET,
    SQ_CHARGE_CARD_PURGE,
    /* 018: auto top-up (store/autotopup.c) */
    SQ_AUTOTOPUP_GET,
    SQ_AUTOTOPUP_PUT,
    SQ_AUTOTOPUP_PROBE,
    SQ_AUTOTOPUP_OPEN,
    SQ_AUTOTOPUP_MONTH_SUM,
    SQ_AUTOTOPUP_ATTEMPT_GET,
    SQ_AUTOTOPUP_ATTEMPT_LAST,
    SQ_AUTOTOPUP_ATTEMPT_UPDATE,
    SQ_AUTOTOPUP_CANCEL_PENDING,
    SQ_AUTOTOPUP_DUE,
    /* 019/020: the outbox of events, webhook endpoints, deliveries and
     * balance alerts (store/outbox.c) */
    SQ_OB_SEQ_NEXT,
    SQ_OB_EVENT_INSERT,
    SQ_OB_FANOUT,
    SQ_OB_EVENTS_AFTER,
    SQ_OB_EP_INSERT,
    SQ_OB_EP_GET,
    SQ_OB_EP_LIST,
    SQ_OB_EP_UPDATE,
    SQ_OB_EP_DELETE,
    SQ_OB_EP_DLV_DELETE,
    SQ_OB_EP_FAILING,
    SQ_OB_EP_OK,
    SQ_OB_EP_DISABLE,
    SQ_OB_DUE,
    SQ_OB_DLV_UPDATE,
    SQ_OB_DLV_LIST,
    SQ_OB_DLV_PURGE,
    SQ_OB_REPLAY_ID,
    SQ_OB_REPLAY_RANGE,
    SQ_BA_DELETE,
    SQ_BA_INSERT,
    SQ_BA_LIST,
    SQ_BA_CROSSED,
    /* 021: shared request-rate limits (rate_limits.c) */
    SQ_RATE_TAKE,
    SQ_RATE_GET,
    SQ_RATE_PURGE,
    SQ_RATE_CLAMP,
    /* 027: the PaymentIntent of an invoice (invoice_payments.c) */
    SQ_INVOICE_PAYMENT_PUT,
    SQ_INVOICE_PAYMENT_GET,
    SQ_INVOICE_PAYMENT_PURGE,
    /* 031: cards asked of Stripe for charge events that never came
     * (card_enrich.c) */
    SQ_CARD_ENRICH_DUE,
    SQ_CARD_ENRICH_GET,
    SQ_CARD_ENRICH_PUT,
    SQ__COUNT
};

/* The SQL text of each statement, indexed by enum cd_sq_stmt. */
extern const char *const cd_sq_sql[SQ__COUNT];

/* What a job sees: the connection of its batch (or read) and whether it
 * may write. Owned by the store; valid only during the job. */
struct cd_tx {
    struct cd_db *db;
    int writable;
};

/* 1 when the armed fault (cd_store_fault) is op and its turn has come:
 * then it is disarmed. */
static inline int cd_fault_hit(struct cd_db *c, int op)
{
    if (c->fault_op != op || op == 0)
        return 0;
    if (c->fault_after-- > 0)
        return 0;
    c->fault_op = 0;
    return 1;
}

/* Statement `id` on connection c, ready to bind; NULL on error (logged). */
static inline struct cd_stmt *cd_sq_get(struct cd_db *c, enum cd_sq_stmt id)
{
    int lost = cd_fault_hit(c, CD_FAULT_LOST);

    if (lost || cd_fault_hit(c, CD_FAULT_STATEMENT)) {
        c->retry |= lost; /* as a serialization failure would */
        cd_error("store", "statement %d: injected fault", (int)id);
        return NULL;
    }
    return c->be->prepare(c, (int)id, cd_sq_sql[id]);
}

/* Hands a statement from cd_sq_get() back. NULL is ignored. */
static inline void cd_sq_put(struct cd_db *c, enum cd_sq_stmt id,
                             struct cd_stmt *st)
{
    (void)c;
    (void)id;
    if (st)
        st->be->finish(st);
}

/* Runs a statement that returns no rows (or ignores them); 0 or
 * CD_STORE_ERROR (logged with `what`). */
int cd_sq_exec(struct cd_db *c, enum cd_sq_stmt id, const char *what);

/* Transaction control through the backend (store/migrate.c), logged with
 * `what`: cd_db_txc runs op; cd_db_txo the same unless the armed fault
 * (cd_store_fault) hits op, then a failure without the call;
 * cd_db_tx_begin begins a read or write transaction. 0 or
 * CD_STORE_ERROR. */
int cd_db_txc(struct cd_db *c, int (*op)(struct cd_db *), const char *what);
int cd_db_txo(struct cd_db *c, int op, int (*fn)(struct cd_db *),
              const char *what);
int cd_db_tx_begin(struct cd_db *c, int write, const char *what);
/* Rolls back c's open transaction, if any (logged with `what`). */
void cd_db_rollback_open(struct cd_db *c, const char *what);
/* The highest applied migration on c, or -1; -2 on failure. */
int cd_db_schema_version(struct cd_db *c);
/* Applies every migration this binary knows and the database lacks, under
 * the backend's migration lock; -1 with err set on failure (a newer
 * schema than known included). */
int cd_store_migrate(struct cd_db *c, struct cd_error *err);

static inline int cd_step(struct cd_stmt *st)
{
    return st->be->step(st);
}

static inline int64_t cd_col_i64(struct cd_stmt *st, int i)
{
    return st->be->column_i64(st, i);
}

static inline int cd_bind_i64(struct cd_stmt *st, int i, int64_t v)
{
    return st->be->bind_i64(st, i, v);
}

static inline int cd_bind_null(struct cd_stmt *st, int i)
{
    return st->be->bind_null(st, i);
}

static inline const char *cd_db_errmsg(struct cd_db *c)
{
    return c->be->errmsg(c);
}

#endif
