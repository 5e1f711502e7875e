/*
 * sqlite_records.c - the record functions of store.h on SQLite: the SQL
 * text of every statement (cd_sq_sql[]) and the code that binds structs to
 * parameters and reads rows back into structs.
 *
 * Mapping rules, the same for every table:
 *  - an empty (or NULL) input string is bound as SQL NULL, and a NULL
 *    column reads back as "" - so optional Stripe ids never collide in
 *    UNIQUE columns, and required columns (NOT NULL) refuse "";
 *  - an input string that does not fit its struct field, or a stored
 *    string that does not fit the caller's field, is CD_STORE_ERROR;
 *  - a UNIQUE or PRIMARY KEY violation is CD_STORE_DUPLICATE (not logged),
 *    an UPDATE/DELETE/lookup that touches no row is CD_STORE_NOT_FOUND;
 *  - lists are newest first: ORDER BY created_at DESC, seq DESC.
 * Errors are logged with sqlite3_errmsg, never with bound values.
 */
#include "store/sqlite_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define ACCOUNT_COLS                                                          \
    "id, email, password_hash, stripe_customer_id, "                          \
    "has_saved_payment_method, balance, created_at, external_id"
/* The account's access (billing/clawback.h): its first paid access order
 * whose clawback is not total - refunds and disputes not won took less
 * than all the credits it gave. */
#define ACCESS_ORDER(col)                                                     \
    "(SELECT g." col " FROM orders g WHERE g.account_id = accounts.id "       \
    "AND g.kind = 'access' AND g.completed_at > 0 "                           \
    "AND g.clawback_credits < g.credits ORDER BY g.completed_at, g.seq "      \
    "LIMIT 1)"
/* What reads select: an account without an email keeps its id in email
 * (migration 012), read back as NULL; then its access. */
#define ACCOUNT_SEL                                                           \
    "id, NULLIF(email, id), password_hash, stripe_customer_id, "              \
    "has_saved_payment_method, balance, created_at, external_id, "            \
    ACCESS_ORDER("id") ", " ACCESS_ORDER("completed_at") ", "                 \
    "email_verified_at"
#define LEDGER_COLS                                                           \
    "id, account_id, amount, balance_after, kind, ref, order_id, "            \
    "description, created_at"
#define ORDER_COLS                                                            \
    "id, account_id, kind, status, amount_cents, discount_cents, "            \
    "discount_code, credits, currency, item_id, description, "                \
    "stripe_session_id, stripe_payment_intent_id, failure_reason, "           \
    "created_at, completed_at, updated_at, clawback_credits, clawback_seq, "  \
    "refund_level_cents, stripe_invoice_id, stripe_customer_id"
#define PAYMENT_COLS                                                          \
    "id, order_id, account_id, status, amount_cents, "                        \
    "amount_refunded_cents, currency, description, last4, failure_reason, "   \
    "stripe_payment_intent_id, stripe_charge_id, created_at, paid_at, "       \
    "refunded_at"
#define REFUND_COLS                                                           \
    "id, order_id, stripe_refund_id, amount_cents, status, reason, "          \
    "created_at, updated_at"
#define DISPUTE_COLS                                                          \
    "id, order_id, amount_cents, status, created_at, updated_at"
#define PROBLEM_COLS                                                          \
    "id, kind, order_id, account_id, event_id, detail, created_at"
#define DISCOUNT_COLS                                                         \
    "code, percent_off, amount_off_cents, max_uses, times_used, expires_at, " \
    "active, created_at"
#define IDEM_COLS                                                             \
    "scope, key, request_hash, status, body, created_at, lease_until"
#define SUB_COLS                                                              \
    "stripe_subscription_id, account_id, plan_id, status, "                   \
    "current_period_end, cancel_at_period_end, synced_at, created_at, "       \
    "updated_at"
#define MAIL_COLS                                                             \
    "id, dedupe_key, account_id, to_address, subject, body_text, status, "    \
    "attempts, next_attempt_at, last_error, created_at, sent_at"
#define LOGIN_FAIL_COLS "email, address, failures, first_at, last_at"
#define NEWEST " ORDER BY created_at DESC, seq DESC"
/* 010: the keyset part of a page (see SQ_ORDER_PAGE_ACCT); a parameter
 * a statement does not name (below ?8) is bound and ignored. */
#define PAGE_TAIL                                                             \
    " AND created_at >= ?4 AND created_at < ?5 AND created_at <= ?6 "         \
    "AND (created_at < ?6 OR seq < ?7)" NEWEST " LIMIT ?8"

const char *const cd_sq_sql[SQ__COUNT] = {
    [SQ_BEGIN] = "BEGIN",
    [SQ_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT j",
    [SQ_RELEASE] = "RELEASE j",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO j",
    [SQ_PING] = "SELECT 1",
    [SQ_SCHEMA_VERSION] =
        "SELECT COALESCE(MAX(version), -1) FROM schema_migrations",
    [SQ_MIGRATION_RECORD] = "INSERT INTO schema_migrations "
                            "(version, name, applied_at) VALUES (?1, ?2, ?3)",

    [SQ_ACCOUNT_INSERT] = "INSERT INTO accounts (" ACCOUNT_COLS
                          ") VALUES (?1, COALESCE(?2, ?1), ?3, ?4, ?5, ?6, "
                          "?7, ?8)",
    [SQ_ACCOUNT_GET] = "SELECT " ACCOUNT_SEL " FROM accounts WHERE id = ?1",
    [SQ_ACCOUNT_BY_EMAIL] = "SELECT " ACCOUNT_SEL
                            " FROM accounts WHERE email = ?1 AND email != id",
    [SQ_ACCOUNT_BY_EXTERNAL] =
        "SELECT " ACCOUNT_SEL " FROM accounts WHERE external_id = ?1",
    [SQ_ACCOUNT_BY_CUSTOMER] =
        "SELECT " ACCOUNT_SEL " FROM accounts WHERE stripe_customer_id = ?1",
    [SQ_ACCOUNT_SET_CUSTOMER] =
        "UPDATE accounts SET stripe_customer_id = ?2, "
        "has_saved_payment_method = ?3 WHERE id = ?1",
    [SQ_ACCOUNT_SET_BALANCE] = "UPDATE accounts SET balance = ?2 WHERE id = ?1",
    [SQ_ACCOUNT_SET_PASSWORD] =
        "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
    [SQ_TOKEN_DELETE_ACCOUNT] = "DELETE FROM tokens WHERE account_id = ?1",
    /* 012: links mailed (password reset, email verification). */
    [SQ_RESET_INSERT] = "INSERT INTO email_links (token_hash, "
                        "account_id, created_at, expires_at, purpose) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Index email_links_account (account_id, created_at). */
    [SQ_RESET_COUNT_SINCE] = "SELECT COUNT(*) FROM email_links WHERE "
                             "account_id = ?1 AND created_at >= ?2 AND "
                             "purpose = ?3",
    [SQ_RESET_GET] = "SELECT account_id, created_at, expires_at, used_at, "
                     "purpose FROM email_links WHERE token_hash = ?1",
    [SQ_RESET_USE_ALL] = "UPDATE email_links SET used_at = ?2 WHERE "
                         "account_id = ?1 AND used_at = 0 AND purpose = ?3",
    [SQ_ACCOUNT_SET_VERIFIED] = "UPDATE accounts SET email_verified_at = ?2 "
                                "WHERE id = ?1 AND email_verified_at = 0",
    /* Index orders_account (account_id, created_at). */
    [SQ_ORDER_COUNT_PAID] = "SELECT COUNT(*) FROM orders WHERE "
                            "account_id = ?1 AND completed_at >= ?2",
    [SQ_MAIL_REDACT] = "UPDATE mail_outbox SET body_text = ?2 WHERE id = ?1",
    [SQ_ACCOUNT_COUNT] = "SELECT COUNT(*) FROM accounts",
    [SQ_ACCOUNT_LIST] = "SELECT " ACCOUNT_SEL " FROM accounts" NEWEST
                        " LIMIT ?1 OFFSET ?2",

    [SQ_TOKEN_INSERT] = "INSERT INTO tokens (token_hash, account_id, "
                        "created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    [SQ_TOKEN_ACCOUNT] =
        "SELECT " ACCOUNT_SEL " FROM accounts WHERE id = "
        "(SELECT account_id FROM tokens WHERE token_hash = ?1 "
        "AND expires_at > ?2)",
    [SQ_TOKEN_DELETE] = "DELETE FROM tokens WHERE token_hash = ?1",
    [SQ_PORTAL_INSERT] = "INSERT INTO portal_sessions (token_hash, "
                         "account_id, return_url, created_at, expires_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
    /* All of an UPDATE ... RETURNING's changes happen on its first step. */
    [SQ_PORTAL_CONSUME] = "UPDATE portal_sessions SET used_at = ?2 "
                          "WHERE token_hash = ?1 AND used_at = 0 "
                          "AND expires_at > ?2 "
                          "RETURNING account_id, return_url",
    [SQ_PORTAL_PURGE] = "DELETE FROM portal_sessions WHERE expires_at <= ?1",

    [SQ_LEDGER_INSERT] = "INSERT INTO ledger (" LEDGER_COLS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQ_LEDGER_BY_REF] = "SELECT " LEDGER_COLS " FROM ledger WHERE ref = ?1",
    [SQ_LEDGER_COUNT_ACCT] = "SELECT COUNT(*) FROM ledger WHERE account_id = ?1",
    [SQ_LEDGER_LIST_ACCT] = "SELECT " LEDGER_COLS
                            " FROM ledger WHERE account_id = ?1" NEWEST
                            " LIMIT ?2 OFFSET ?3",
    [SQ_LEDGER_COUNT_ALL] = "SELECT COUNT(*) FROM ledger",
    [SQ_LEDGER_LIST_ALL] = "SELECT " LEDGER_COLS " FROM ledger" NEWEST
                           " LIMIT ?1 OFFSET ?2",
    [SQ_VERIFY_ACCOUNTS] =
        "SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM accounts",
    [SQ_VERIFY_ENTRIES] = "SELECT COALESCE(SUM(amount), 0) FROM ledger",
    [SQ_VERIFY_MISMATCH] =
        "SELECT a.id, a.balance, COALESCE(l.total, 0) FROM accounts a "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger "
        "GROUP BY account_id) l ON l.account_id = a.id "
        "WHERE a.balance != COALESCE(l.total, 0) ORDER BY a.seq",

    [SQ_ORDER_INSERT] = "INSERT INTO orders (" ORDER_COLS
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                        "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
                        "?21, ?22)",
    [SQ_ORDER_UPDATE] =
        "UPDATE orders SET kind = ?3, status = ?4, "
        "amount_cents = ?5, discount_cents = ?6, discount_code = ?7, "
        "credits = ?8, currency = ?9, item_id = ?10, description = ?11, "
        "stripe_session_id = ?12, stripe_payment_intent_id = ?13, "
        "failure_reason = ?14, created_at = ?15, completed_at = ?16, "
        "updated_at = ?17, clawback_credits = ?18, clawback_seq = ?19, "
        "refund_level_cents = ?20, stripe_invoice_id = ?21, "
        "stripe_customer_id = ?22 WHERE id = ?1 AND account_id = ?2",
    [SQ_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [SQ_ORDER_BY_SESSION] =
        "SELECT " ORDER_COLS " FROM orders WHERE stripe_session_id = ?1",
    [SQ_ORDER_BY_PI] = "SELECT " ORDER_COLS
                       " FROM orders WHERE stripe_payment_intent_id = ?1"
                       NEWEST " LIMIT 1",
    [SQ_ORDER_BY_INVOICE] =
        "SELECT " ORDER_COLS " FROM orders WHERE stripe_invoice_id = ?1",
    [SQ_ORDER_COUNT_ACCT] = "SELECT COUNT(*) FROM orders WHERE account_id = ?1",
    [SQ_ORDER_LIST_ACCT] = "SELECT " ORDER_COLS
                           " FROM orders WHERE account_id = ?1" NEWEST
                           " LIMIT ?2 OFFSET ?3",
    [SQ_ORDER_COUNT_ALL] = "SELECT COUNT(*) FROM orders",
    [SQ_ORDER_LIST_ALL] = "SELECT " ORDER_COLS " FROM orders" NEWEST
                          " LIMIT ?1 OFFSET ?2",
    /* Index orders_account (account_id, created_at). */
    [SQ_ORDER_COUNT_PENDING] =
        "SELECT COUNT(*) FROM orders WHERE account_id = ?1 "
        "AND created_at >= ?2 AND status = 'pending'",
    [SQ_ORDER_LIST_PENDING] =
        "SELECT " ORDER_COLS " FROM orders WHERE status = 'pending' "
        "AND created_at < ?1 ORDER BY created_at ASC, seq ASC LIMIT ?2",

    [SQ_PAYMENT_INSERT] = "INSERT INTO payments (" PAYMENT_COLS
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                          "?10, ?11, ?12, ?13, ?14, ?15)",
    [SQ_PAYMENT_UPDATE] =
        "UPDATE payments SET status = ?4, "
        "amount_cents = ?5, amount_refunded_cents = ?6, currency = ?7, "
        "description = ?8, last4 = ?9, failure_reason = ?10, "
        "stripe_payment_intent_id = ?11, stripe_charge_id = ?12, "
        "created_at = ?13, paid_at = ?14, refunded_at = ?15 WHERE id = ?1 "
        "AND order_id = ?2 AND account_id = ?3",
    [SQ_PAYMENT_GET] = "SELECT " PAYMENT_COLS " FROM payments WHERE id = ?1",
    [SQ_PAYMENT_BY_ORDER] =
        "SELECT " PAYMENT_COLS " FROM payments WHERE order_id = ?1",
    [SQ_PAYMENT_BY_CHARGE] = "SELECT " PAYMENT_COLS
                             " FROM payments WHERE stripe_charge_id = ?1"
                             NEWEST " LIMIT 1",
    [SQ_PAYMENT_BY_PI] = "SELECT " PAYMENT_COLS
                         " FROM payments WHERE stripe_payment_intent_id = ?1"
                         NEWEST " LIMIT 1",
    [SQ_PAYMENT_COUNT_ACCT] =
        "SELECT COUNT(*) FROM payments WHERE account_id = ?1",
    [SQ_PAYMENT_LIST_ACCT] = "SELECT " PAYMENT_COLS
                             " FROM payments WHERE account_id = ?1" NEWEST
                             " LIMIT ?2 OFFSET ?3",
    [SQ_PAYMENT_COUNT_ALL] = "SELECT COUNT(*) FROM payments",
    [SQ_PAYMENT_LIST_ALL] = "SELECT " PAYMENT_COLS " FROM payments" NEWEST
                            " LIMIT ?1 OFFSET ?2",

    [SQ_REFUND_INSERT] = "INSERT INTO refunds (" REFUND_COLS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* The whole row but its id and order. */
    [SQ_REFUND_UPDATE] =
        "UPDATE refunds SET stripe_refund_id = ?3, amount_cents = ?4, "
        "status = ?5, reason = ?6, created_at = ?7, updated_at = ?8 "
        "WHERE id = ?1 AND order_id = ?2",
    [SQ_REFUND_GET] = "SELECT " REFUND_COLS " FROM refunds WHERE id = ?1",
    [SQ_REFUND_BY_STRIPE] =
        "SELECT " REFUND_COLS " FROM refunds WHERE stripe_refund_id = ?1",
    [SQ_REFUND_SUMS] =
        "SELECT COALESCE(SUM(CASE WHEN stripe_refund_id IS NOT NULL AND "
        "status IN ('pending', 'requires_action', 'succeeded') THEN "
        "amount_cents END), 0), COALESCE(SUM(CASE WHEN stripe_refund_id IS "
        "NOT NULL AND status IN ('failed', 'canceled') THEN amount_cents "
        "END), 0), COALESCE(SUM(CASE WHEN status NOT IN ('failed', "
        "'canceled') THEN amount_cents END), 0) FROM refunds "
        "WHERE order_id = ?1",
    [SQ_DISPUTE_INSERT] = "INSERT INTO disputes (" DISPUTE_COLS
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_DISPUTE_UPDATE] =
        "UPDATE disputes SET amount_cents = ?3, status = ?4, created_at = ?5, "
        "updated_at = ?6 WHERE id = ?1 AND order_id = ?2",
    [SQ_DISPUTE_GET] = "SELECT " DISPUTE_COLS " FROM disputes WHERE id = ?1",
    [SQ_DISPUTE_HELD] =
        "SELECT COALESCE(SUM(amount_cents), 0) FROM disputes "
        "WHERE order_id = ?1 AND status NOT IN ('won', 'warning_closed', "
        "'prevented')",

    [SQ_PROBLEM_INSERT] = "INSERT INTO problems (" PROBLEM_COLS
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQ_PROBLEM_COUNT] = "SELECT COUNT(*) FROM problems",
    [SQ_PROBLEM_LIST] = "SELECT " PROBLEM_COLS " FROM problems" NEWEST
                        " LIMIT ?1 OFFSET ?2",

    [SQ_PRICING_GET] = "SELECT mode, launch_cents, rrp_cents, sale_cents, "
                       "updated_at FROM pricing WHERE id = 1",
    [SQ_PRICING_PUT] =
        "INSERT INTO pricing (id, mode, launch_cents, rrp_cents, sale_cents, "
        "updated_at) VALUES (1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO "
        "UPDATE SET mode = excluded.mode, launch_cents = excluded.launch_cents, "
        "rrp_cents = excluded.rrp_cents, sale_cents = excluded.sale_cents, "
        "updated_at = excluded.updated_at",

    [SQ_DISCOUNT_INSERT] = "INSERT INTO discount_codes (" DISCOUNT_COLS
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQ_DISCOUNT_GET] =
        "SELECT " DISCOUNT_COLS " FROM discount_codes WHERE code = ?1",
    [SQ_DISCOUNT_COUNT] = "SELECT COUNT(*) FROM discount_codes",
    [SQ_DISCOUNT_LIST] = "SELECT " DISCOUNT_COLS " FROM discount_codes" NEWEST
                         " LIMIT ?1 OFFSET ?2",
    [SQ_DISCOUNT_SET_ACTIVE] =
        "UPDATE discount_codes SET active = ?2 WHERE code = ?1",
    /* The trigger discount_uses_count adds one to times_used. */
    [SQ_DISCOUNT_USE] = "INSERT INTO discount_uses (order_id, code, used_at) "
                        "SELECT ?2, code, ?3 FROM discount_codes "
                        "WHERE code = ?1",

    [SQ_CHARGE_CARD_PUT] =
        "INSERT INTO charge_cards (payment_intent, charge, last4, created_at) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (payment_intent) DO UPDATE SET "
        "charge = excluded.charge, "
        "last4 = COALESCE(excluded.last4, charge_cards.last4)",
    [SQ_CHARGE_CARD_GET] =
        "SELECT payment_intent, charge, last4, created_at FROM charge_cards "
        "WHERE payment_intent = ?1",
    [SQ_CHARGE_CARD_PURGE] = "DELETE FROM charge_cards WHERE created_at < ?1",
    [SQ_EVENT_INSERT] = "INSERT INTO stripe_events (id, type, received_at) "
                        "VALUES (?1, ?2, ?3)",

    [SQ_IDEM_GET] = "SELECT " IDEM_COLS
                    " FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
    [SQ_IDEM_INSERT] = "INSERT INTO idempotency_keys (" IDEM_COLS
                       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQ_IDEM_COMPLETE] = "UPDATE idempotency_keys SET status = ?3, body = ?4 "
                         "WHERE scope = ?1 AND key = ?2",
    [SQ_IDEM_DELETE] =
        "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
    [SQ_IDEM_PURGE] = "DELETE FROM idempotency_keys WHERE created_at < ?1",

    [SQ_TOKEN_PURGE] = "DELETE FROM tokens WHERE expires_at <= ?1",
    /* An email link is kept while it may be used and for the hour it
     * counts against its account's links. */
    [SQ_LINK_PURGE] = "DELETE FROM email_links WHERE expires_at <= ?1 AND "
                      "created_at <= ?1 - 3600",
    [SQ_KV_GET] = "SELECT value FROM settings WHERE key = ?1",
    [SQ_KV_PUT] = "INSERT INTO settings (key, value, updated_at) "
                  "VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
                  "value = excluded.value, updated_at = excluded.updated_at",
    /* Taken when free, expired or already ours; no row changes (so
     * NOT_FOUND below) while another holder's lease runs. */
    [SQ_LEASE_ACQUIRE] =
        "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3",
    [SQ_LEASE_RELEASE] = "DELETE FROM leases WHERE name = ?1 AND holder = ?2",

    /* Index orders_discount_pending (003). */
    [SQ_DISCOUNT_PENDING_COUNT] =
        "SELECT COUNT(*) FROM orders WHERE discount_code = ?1 "
        "AND status = 'pending' AND created_at >= ?2 "
        "AND (?3 IS NULL OR account_id != ?3)",
    /* Index orders_account (account_id, created_at). */
    [SQ_DISCOUNT_HOLDS] =
        "SELECT " ORDER_COLS " FROM orders WHERE account_id = ?1 "
        "AND created_at >= ?3 AND discount_code = ?2 AND status = 'pending'",
    /* Only the claim's owner, and only while it is in progress. */
    [SQ_IDEM_COMPLETE_CLAIM] =
        "UPDATE idempotency_keys SET status = ?3, body = ?4, lease_until = 0 "
        "WHERE scope = ?1 AND key = ?2 AND status = 0 AND body = ?5",
    /* 006: released (a 5xx): still in progress, free for the next try. */
    [SQ_IDEM_RELEASE_CLAIM] =
        "UPDATE idempotency_keys SET body = NULL, lease_until = 0 "
        "WHERE scope = ?1 AND key = ?2 AND status = 0 AND body = ?3",
    /* ?4: the new lease end; the owner renews, anyone takes an expired
     * one (?5 = now, ms) over. */
    [SQ_IDEM_RENEW_CLAIM] =
        "UPDATE idempotency_keys SET lease_until = ?4 "
        "WHERE scope = ?1 AND key = ?2 AND status = 0 AND body = ?3",
    [SQ_IDEM_TAKEOVER] =
        "UPDATE idempotency_keys SET body = ?3, lease_until = ?4 "
        "WHERE scope = ?1 AND key = ?2 AND status = 0 AND lease_until <= ?5",

    /* 004: a copy read from Stripe earlier than the stored one changes
     * nothing (no row touched: DUPLICATE). */
    [SQ_SUB_UPSERT] =
        "INSERT INTO subscriptions (" SUB_COLS ") VALUES (?1, ?2, ?3, ?4, "
        "?5, ?6, ?7, ?8, ?9) ON CONFLICT (stripe_subscription_id) DO UPDATE "
        "SET plan_id = COALESCE(excluded.plan_id, subscriptions.plan_id), "
        "status = excluded.status, "
        "current_period_end = excluded.current_period_end, "
        "cancel_at_period_end = excluded.cancel_at_period_end, "
        "synced_at = excluded.synced_at, updated_at = excluded.updated_at "
        "WHERE excluded.synced_at >= subscriptions.synced_at",
    [SQ_SUB_GET] = "SELECT " SUB_COLS
                   " FROM subscriptions WHERE stripe_subscription_id = ?1",
    [SQ_SUB_LATEST] = "SELECT " SUB_COLS
                      " FROM subscriptions WHERE account_id = ?1" NEWEST
                      " LIMIT 1",
    [SQ_MAIL_INSERT] = "INSERT INTO mail_outbox (" MAIL_COLS ") VALUES (?1, "
                       "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [SQ_MAIL_GET_BY_KEY] = "SELECT " MAIL_COLS
                           " FROM mail_outbox WHERE dedupe_key = ?1",
    [SQ_MAIL_DUE] = "SELECT " MAIL_COLS " FROM mail_outbox WHERE status = "
                    "'queued' AND next_attempt_at <= ?1 ORDER BY "
                    "next_attempt_at, seq LIMIT ?2",
    [SQ_MAIL_UPDATE] = "UPDATE mail_outbox SET status = ?2, attempts = ?3, "
                       "next_attempt_at = ?4, last_error = ?5, sent_at = ?6 "
                       "WHERE id = ?1 AND status = 'queued'",

    /* 010: failed logins per (email, address). */
    [SQ_LOGIN_FAIL_GET] = "SELECT " LOGIN_FAIL_COLS " FROM login_failures "
                          "WHERE email = ?1 AND address = ?2",
    [SQ_LOGIN_FAIL_PUT] =
        "INSERT INTO login_failures (" LOGIN_FAIL_COLS ") VALUES (?1, ?2, "
        "?3, ?4, ?5) ON CONFLICT (email, address) DO UPDATE SET "
        "failures = excluded.failures, first_at = excluded.first_at, "
        "last_at = excluded.last_at",
    [SQ_LOGIN_FAIL_DELETE] =
        "DELETE FROM login_failures WHERE email = ?1 AND address = ?2",
    [SQ_LOGIN_FAIL_PURGE] = "DELETE FROM login_failures WHERE last_at < ?1",

    /* 010: keyset pages of every account's orders and ledger, newest
     * first. Parameters, the same in each: ?1 account, ?2 status, ?3
     * kind (NULL: any), ?4 <= created_at < ?5, ?6/?7 the (created_at,
     * seq) of the row the page starts after, ?8 the row count. Each
     * statement reads one index (the first filter set among account,
     * status, kind - else created_at), see 010_admin_lists.sql;
     * test_store_pages checks the plans. */
    [SQ_ORDER_KEY] = "SELECT created_at, seq FROM orders WHERE id = ?1",
    [SQ_ORDER_PAGE_ACCT] = "SELECT " ORDER_COLS " FROM orders WHERE "
                           "account_id = ?1 AND (?2 IS NULL OR status = ?2) "
                           "AND (?3 IS NULL OR kind = ?3)" PAGE_TAIL,
    [SQ_ORDER_PAGE_STATUS] = "SELECT " ORDER_COLS " FROM orders WHERE "
                             "status = ?2 AND (?3 IS NULL OR kind = ?3)"
                             PAGE_TAIL,
    [SQ_ORDER_PAGE_KIND] =
        "SELECT " ORDER_COLS " FROM orders WHERE kind = ?3" PAGE_TAIL,
    [SQ_ORDER_PAGE_ALL] =
        "SELECT " ORDER_COLS " FROM orders WHERE 1" PAGE_TAIL,
    [SQ_LEDGER_KEY] = "SELECT created_at, seq FROM ledger WHERE id = ?1",
    [SQ_LEDGER_PAGE_ACCT] = "SELECT " LEDGER_COLS " FROM ledger WHERE "
                            "account_id = ?1 AND (?3 IS NULL OR kind = ?3)"
                            PAGE_TAIL,
    [SQ_LEDGER_PAGE_KIND] =
        "SELECT " LEDGER_COLS " FROM ledger WHERE kind = ?3" PAGE_TAIL,
    [SQ_LEDGER_PAGE_ALL] =
        "SELECT " LEDGER_COLS " FROM ledger WHERE 1" PAGE_TAIL,
};

/* ---- helpers -------------------------------------------------------- */

static int check_tx(struct cd_tx *tx, int write, const char *what)
{
    if (!tx || !tx->conn) {
        cd_error("store", "%s: no transaction", what);
        return -1;
    }
    if (write && !tx->writable) {
        cd_error("store", "%s: write in a read transaction", what);
        return -1;
    }
    return 0;
}

/* Binds s (NULL or "" as SQL NULL); -1 if it does not fit in a field of
 * sz bytes (with its NUL). The text must outlive the statement's run. */
static int bind_str(sqlite3_stmt *st, int i, const char *s, size_t sz)
{
    size_t n;

    if (!s || !s[0])
        return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
    n = strnlen(s, sz);
    if (n >= sz)
        return -1;
    return sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC) == SQLITE_OK
               ? 0
               : -1;
}

static int bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

/* Copies text column i into out (NULL reads as ""); -1 if it does not
 * fit. */
static int col_str(sqlite3_stmt *st, int i, char *out, size_t sz)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n;

    if (!t) {
        out[0] = '\0';
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : -1;
    }
    n = (size_t)sqlite3_column_bytes(st, i);
    if (n >= sz) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

/* Steps a statement that writes: OK, DUPLICATE on a unique key, ERROR. */
static int step_write(struct cd_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int x;

    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return CD_STORE_OK;
    x = sqlite3_extended_errcode(c->db);
    if (x == SQLITE_CONSTRAINT_UNIQUE || x == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CD_STORE_DUPLICATE;
    cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
    return CD_STORE_ERROR;
}

/* Like step_write, then NOT_FOUND when no row was touched. */
static int step_change(struct cd_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = step_write(c, st, what);

    if (rc == CD_STORE_OK && sqlite3_changes(c->db) == 0)
        return CD_STORE_NOT_FOUND;
    return rc;
}

static int bind_failed(const char *what)
{
    cd_error("store", "%s: value too long for its field", what);
    return CD_STORE_ERROR;
}

typedef int (*row_reader)(sqlite3_stmt *st, void *out);

/* Runs a prepared lookup whose parameters are bound: reads the first row
 * into out. OK, NOT_FOUND or ERROR. Puts st back. */
static int fetch_one(struct cd_conn *c, enum cd_sq_stmt id, sqlite3_stmt *st,
                     row_reader rd, void *out, const char *what)
{
    int rc = sqlite3_step(st);
    int ret;

    if (rc == SQLITE_ROW) {
        ret = rd(st, out) == 0 ? CD_STORE_OK : CD_STORE_ERROR;
        if (ret != CD_STORE_OK)
            cd_error("store", "%s: stored value longer than its field", what);
    } else if (rc == SQLITE_DONE) {
        ret = CD_STORE_NOT_FOUND;
    } else {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

/* A lookup by one string key of field size keysz. */
static int get_by_key(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                      size_t keysz, row_reader rd, void *out,
                      const char *what)
{
    sqlite3_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, id)))
        return CD_STORE_ERROR;
    if (bind_str(st, 1, key, keysz) != 0) {
        cd_sq_put(tx->conn, id, st);
        return bind_failed(what);
    }
    return fetch_one(tx->conn, id, st, rd, out, what);
}

/* Binds, runs and puts back a write statement: bind(st, arg) fills the
 * parameters (-1 when a value does not fit). change: NOT_FOUND on no
 * row touched. */
static int run_write(struct cd_tx *tx, enum cd_sq_stmt id,
                     int (*bind)(sqlite3_stmt *st, const void *arg),
                     const void *arg, int change, const char *what)
{
    sqlite3_stmt *st;
    int rc;

    if (check_tx(tx, 1, what) != 0 || !arg)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, id)))
        return CD_STORE_ERROR;
    if (bind(st, arg) != 0) {
        cd_sq_put(tx->conn, id, st);
        return bind_failed(what);
    }
    rc = change ? step_change(tx->conn, st, what)
                : step_write(tx->conn, st, what);
    cd_sq_put(tx->conn, id, st);
    return rc;
}

/* Counts (when total) and lists rows newest first. acct NULL: the *_ALL
 * statements; else the *_ACCT ones filtered by account. */
typedef int (*row_visit)(const void *row, void *ctx);

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

static int list_rows(struct cd_tx *tx, const struct list_q *q)
{
    struct cd_conn *c;
    sqlite3_stmt *st;
    int p = 1, rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, q->what) != 0)
        return CD_STORE_ERROR;
    c = tx->conn;
    if (q->total) {
        if (!(st = cd_sq_get(c, q->count_id)))
            return CD_STORE_ERROR;
        if (q->acct && bind_str(st, 1, q->acct, CD_ID_SZ) != 0) {
            cd_sq_put(c, q->count_id, st);
            return bind_failed(q->what);
        }
        if (sqlite3_step(st) == SQLITE_ROW) {
            *q->total = sqlite3_column_int64(st, 0);
        } else {
            cd_error("store", "%s: count: %s", q->what, sqlite3_errmsg(c->db));
            ret = CD_STORE_ERROR;
        }
        cd_sq_put(c, q->count_id, st);
        if (ret != CD_STORE_OK)
            return ret;
    }
    if (!(st = cd_sq_get(c, q->list_id)))
        return CD_STORE_ERROR;
    if (q->acct && bind_str(st, p++, q->acct, CD_ID_SZ) != 0) {
        cd_sq_put(c, q->list_id, st);
        return bind_failed(q->what);
    }
    bind_i64(st, p++, q->limit < 0 ? -1 : q->limit);
    bind_i64(st, p, q->offset < 0 ? 0 : q->offset);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (q->rd(st, q->row) != 0) {
            cd_error("store", "%s: stored value longer than its field",
                     q->what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (q->visit(q->row, q->ctx) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", q->what, sqlite3_errmsg(c->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, q->list_id, st);
    return ret;
}

/* "" and NULL both mean "every account" for the list functions. */
static const char *acct_filter(const char *account_id)
{
    return account_id && account_id[0] ? account_id : NULL;
}

/* ---- accounts and tokens -------------------------------------------- */

static int read_account(sqlite3_stmt *st, void *out)
{
    struct cd_account *a = out;
    int bad = 0;

    memset(a, 0, sizeof(*a));
    bad |= col_str(st, 0, a->id, sizeof(a->id));
    bad |= col_str(st, 1, a->email, sizeof(a->email));
    bad |= col_str(st, 2, a->password_hash, sizeof(a->password_hash));
    bad |= col_str(st, 3, a->stripe_customer_id, sizeof(a->stripe_customer_id));
    a->has_saved_payment_method = sqlite3_column_int(st, 4);
    a->balance = sqlite3_column_int64(st, 5);
    a->created_at = sqlite3_column_int64(st, 6);
    bad |= col_str(st, 7, a->external_id, sizeof(a->external_id));
    bad |= col_str(st, 8, a->access_order_id, sizeof(a->access_order_id));
    a->access_since = sqlite3_column_int64(st, 9);
    a->email_verified_at = sqlite3_column_int64(st, 10);
    return bad;
}

static int bind_account(sqlite3_stmt *st, const void *arg)
{
    const struct cd_account *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->id, sizeof(a->id));
    bad |= bind_str(st, 2, a->email, sizeof(a->email));
    bad |= bind_str(st, 3, a->password_hash, sizeof(a->password_hash));
    bad |= bind_str(st, 4, a->stripe_customer_id, sizeof(a->stripe_customer_id));
    bad |= bind_i64(st, 5, a->has_saved_payment_method ? 1 : 0);
    bad |= bind_i64(st, 6, a->balance);
    bad |= bind_i64(st, 7, a->created_at);
    bad |= bind_str(st, 8, a->external_id, sizeof(a->external_id));
    return bad;
}

int cd_store_account_insert(struct cd_tx *tx, const struct cd_account *a)
{
    return run_write(tx, SQ_ACCOUNT_INSERT, bind_account, a, 0,
                     "account insert");
}

int cd_store_account_get(struct cd_tx *tx, const char *id,
                         struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_GET, id, CD_ID_SZ, read_account, out,
                      "account get");
}

int cd_store_account_by_email(struct cd_tx *tx, const char *email,
                              struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_EMAIL, email, CD_EMAIL_SZ,
                      read_account, out, "account by email");
}

int cd_store_account_by_external(struct cd_tx *tx, const char *external_id,
                                 struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_EXTERNAL, external_id, CD_EXTID_SZ,
                      read_account, out, "account by external id");
}

int cd_store_account_by_customer(struct cd_tx *tx, const char *customer_id,
                                 struct cd_account *out)
{
    return get_by_key(tx, SQ_ACCOUNT_BY_CUSTOMER, customer_id, CD_SID_SZ,
                      read_account, out, "account by customer");
}

struct set_customer_args {
    const char *id, *customer_id;
    int saved;
};

static int bind_set_customer(sqlite3_stmt *st, const void *arg)
{
    const struct set_customer_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->id, CD_ID_SZ);
    bad |= bind_str(st, 2, a->customer_id, CD_SID_SZ);
    bad |= bind_i64(st, 3, a->saved ? 1 : 0);
    return bad;
}

int cd_store_account_set_customer(struct cd_tx *tx, const char *id,
                                  const char *customer_id,
                                  int has_saved_payment_method)
{
    struct set_customer_args a = {id, customer_id, has_saved_payment_method};

    return run_write(tx, SQ_ACCOUNT_SET_CUSTOMER, bind_set_customer, &a, 1,
                     "account set customer");
}

struct id_i64_args {
    const char *id;
    size_t idsz;
    int64_t v;
};

static int bind_id_i64(sqlite3_stmt *st, const void *arg)
{
    const struct id_i64_args *a = arg;

    return bind_str(st, 1, a->id, a->idsz) | bind_i64(st, 2, a->v);
}

int cd_store_account_set_balance(struct cd_tx *tx, const char *id,
                                 int64_t balance)
{
    struct id_i64_args a = {id, CD_ID_SZ, balance};

    return run_write(tx, SQ_ACCOUNT_SET_BALANCE, bind_id_i64, &a, 1,
                     "account set balance");
}

struct account_visit {
    cd_account_cb cb;
    void *arg;
};

static int visit_account(const void *row, void *ctx)
{
    struct account_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_account_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_account_cb cb, void *arg, int64_t *total)
{
    struct cd_account row;
    struct account_visit v = {cb, arg};
    struct list_q q = {SQ_ACCOUNT_COUNT, SQ_ACCOUNT_LIST, NULL, limit, offset,
                       read_account, &row, visit_account, &v, total,
                       "account list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

struct token_args {
    const char *hash, *account_id;
    int64_t created_at, expires_at;
};

static int bind_token(sqlite3_stmt *st, const void *arg)
{
    const struct token_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->hash, 65);
    bad |= bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= bind_i64(st, 3, a->created_at);
    bad |= bind_i64(st, 4, a->expires_at);
    return bad;
}

int cd_store_token_insert(struct cd_tx *tx, const char *token_hash,
                          const char *account_id, int64_t created_at,
                          int64_t expires_at)
{
    struct token_args a = {token_hash, account_id, created_at, expires_at};

    return run_write(tx, SQ_TOKEN_INSERT, bind_token, &a, 0, "token insert");
}

int cd_store_token_account(struct cd_tx *tx, const char *token_hash,
                           int64_t now, struct cd_account *out)
{
    const char *what = "token account";
    sqlite3_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_TOKEN_ACCOUNT)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, token_hash, 65) | bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->conn, SQ_TOKEN_ACCOUNT, st);
        return bind_failed(what);
    }
    return fetch_one(tx->conn, SQ_TOKEN_ACCOUNT, st, read_account, out, what);
}

struct portal_args {
    const char *hash, *account_id, *return_url;
    int64_t created_at, expires_at;
};

static int bind_portal(sqlite3_stmt *st, const void *arg)
{
    const struct portal_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->hash, 65);
    bad |= bind_str(st, 2, a->account_id, CD_ID_SZ);
    bad |= bind_str(st, 3, a->return_url, 2049) /* CD_URL_MAX + 1 */;
    bad |= bind_i64(st, 4, a->created_at);
    bad |= bind_i64(st, 5, a->expires_at);
    return bad;
}

int cd_store_portal_insert(struct cd_tx *tx, const char *token_hash,
                           const char *account_id, const char *return_url,
                           int64_t created_at, int64_t expires_at)
{
    struct portal_args a = {token_hash, account_id, return_url, created_at,
                            expires_at};

    return run_write(tx, SQ_PORTAL_INSERT, bind_portal, &a, 0,
                     "portal session insert");
}

struct portal_row {
    char *account_id, *return_url;
    size_t return_url_sz;
};

static int read_portal(sqlite3_stmt *st, void *out)
{
    struct portal_row *r = out;

    return col_str(st, 0, r->account_id, CD_ID_SZ) |
           col_str(st, 1, r->return_url, r->return_url_sz);
}

int cd_store_portal_consume(struct cd_tx *tx, const char *token_hash,
                            int64_t now, char *account_id, char *return_url,
                            size_t return_url_sz)
{
    const char *what = "portal session consume";
    struct portal_row r = {account_id, return_url, return_url_sz};
    sqlite3_stmt *st;

    if (check_tx(tx, 1, what) != 0 || !account_id || !return_url)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_PORTAL_CONSUME)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, token_hash, 65) | bind_i64(st, 2, now)) != 0) {
        cd_sq_put(tx->conn, SQ_PORTAL_CONSUME, st);
        return bind_failed(what);
    }
    return fetch_one(tx->conn, SQ_PORTAL_CONSUME, st, read_portal, &r, what);
}

struct key_args {
    const char *k1;
    size_t sz1;
    const char *k2;
    size_t sz2;
};

static int bind_key(sqlite3_stmt *st, const void *arg)
{
    const struct key_args *a = arg;
    int bad = bind_str(st, 1, a->k1, a->sz1);

    if (a->k2)
        bad |= bind_str(st, 2, a->k2, a->sz2);
    return bad;
}

int cd_store_token_delete(struct cd_tx *tx, const char *token_hash)
{
    struct key_args a = {token_hash, 65, NULL, 0};

    return run_write(tx, SQ_TOKEN_DELETE, bind_key, &a, 1, "token delete");
}

struct two_str_args {
    const char *a;
    size_t asz;
    const char *b;
    size_t bsz;
};

static int bind_two_str(sqlite3_stmt *st, const void *arg)
{
    const struct two_str_args *x = arg;

    return bind_str(st, 1, x->a, x->asz) | bind_str(st, 2, x->b, x->bsz);
}

int cd_store_account_set_password(struct cd_tx *tx, const char *id,
                                  const char *password_hash)
{
    struct two_str_args a = {id, CD_ID_SZ, password_hash, CD_HASH_SZ};

    if (!password_hash || !password_hash[0])
        return CD_STORE_ERROR;
    return run_write(tx, SQ_ACCOUNT_SET_PASSWORD, bind_two_str, &a, 1,
                     "account set password");
}

int cd_store_token_delete_account(struct cd_tx *tx, const char *account_id)
{
    struct key_args a = {account_id, CD_ID_SZ, NULL, 0};

    return run_write(tx, SQ_TOKEN_DELETE_ACCOUNT, bind_key, &a, 0,
                     "token delete account");
}

/* ---- links mailed: password reset, email verification (013) ---------- */

static int count_since(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                       size_t keysz, int64_t since, int64_t *out,
                       const char *what);

static int bind_link(sqlite3_stmt *st, const void *arg)
{
    const struct cd_reset *r = arg;
    int bad = 0;

    bad |= bind_str(st, 1, r->token_hash, sizeof(r->token_hash));
    bad |= bind_str(st, 2, r->account_id, sizeof(r->account_id));
    bad |= bind_i64(st, 3, r->created_at);
    bad |= bind_i64(st, 4, r->expires_at);
    bad |= bind_str(st, 5, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_insert(struct cd_tx *tx, const struct cd_reset *r)
{
    return run_write(tx, SQ_RESET_INSERT, bind_link, r, 0, "link insert");
}

int cd_store_reset_count_since(struct cd_tx *tx, const char *account_id,
                               const char *purpose, int64_t since,
                               int64_t *out)
{
    const char *what = "link count";
    sqlite3_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->conn, SQ_RESET_COUNT_SINCE)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, account_id, CD_ID_SZ) | bind_i64(st, 2, since) |
         bind_str(st, 3, purpose, 16)) != 0) {
        cd_sq_put(tx->conn, SQ_RESET_COUNT_SINCE, st);
        return bind_failed(what);
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, SQ_RESET_COUNT_SINCE, st);
    return ret;
}

int cd_store_account_set_verified(struct cd_tx *tx, const char *id,
                                  int64_t now)
{
    struct id_i64_args a = {id, CD_ID_SZ, now};

    return run_write(tx, SQ_ACCOUNT_SET_VERIFIED, bind_id_i64, &a, 0,
                     "account set verified");
}

int cd_store_order_count_paid(struct cd_tx *tx, const char *account_id,
                              int64_t *out)
{
    return count_since(tx, SQ_ORDER_COUNT_PAID, account_id, CD_ID_SZ, 1, out,
                       "order paid count");
}

static int read_reset(sqlite3_stmt *st, void *out)
{
    struct cd_reset *r = out;
    int bad = 0;

    bad |= col_str(st, 0, r->account_id, sizeof(r->account_id));
    r->created_at = sqlite3_column_int64(st, 1);
    r->expires_at = sqlite3_column_int64(st, 2);
    r->used_at = sqlite3_column_int64(st, 3);
    bad |= col_str(st, 4, r->purpose, sizeof(r->purpose));
    return bad;
}

int cd_store_reset_get(struct cd_tx *tx, const char *token_hash,
                       struct cd_reset *out)
{
    memset(out, 0, sizeof(*out));
    if (!token_hash || strnlen(token_hash, sizeof(out->token_hash)) >=
                           sizeof(out->token_hash))
        return CD_STORE_NOT_FOUND;
    memcpy(out->token_hash, token_hash, strlen(token_hash) + 1);
    return get_by_key(tx, SQ_RESET_GET, token_hash, sizeof(out->token_hash),
                      read_reset, out, "reset get");
}

struct use_all_args {
    const char *account_id, *purpose;
    int64_t now;
};

static int bind_use_all(sqlite3_stmt *st, const void *arg)
{
    const struct use_all_args *a = arg;

    return bind_str(st, 1, a->account_id, CD_ID_SZ) |
           bind_i64(st, 2, a->now) | bind_str(st, 3, a->purpose, 16);
}

int cd_store_reset_use_all(struct cd_tx *tx, const char *account_id,
                           const char *purpose, int64_t now)
{
    struct use_all_args a = {account_id, purpose, now};

    return run_write(tx, SQ_RESET_USE_ALL, bind_use_all, &a, 0,
                     "link use all");
}

int cd_store_mail_redact(struct cd_tx *tx, const char *id, const char *body)
{
    struct two_str_args a = {id, CD_ID_SZ, body, CD_MAIL_BODY_SZ};

    return run_write(tx, SQ_MAIL_REDACT, bind_two_str, &a, 1, "mail redact");
}

/* ---- ledger --------------------------------------------------------- */

static int read_ledger(sqlite3_stmt *st, void *out)
{
    struct cd_ledger_entry *e = out;
    int bad = 0;

    memset(e, 0, sizeof(*e));
    bad |= col_str(st, 0, e->id, sizeof(e->id));
    bad |= col_str(st, 1, e->account_id, sizeof(e->account_id));
    e->amount = sqlite3_column_int64(st, 2);
    e->balance_after = sqlite3_column_int64(st, 3);
    bad |= col_str(st, 4, e->kind, sizeof(e->kind));
    bad |= col_str(st, 5, e->ref, sizeof(e->ref));
    bad |= col_str(st, 6, e->order_id, sizeof(e->order_id));
    bad |= col_str(st, 7, e->description, sizeof(e->description));
    e->created_at = sqlite3_column_int64(st, 8);
    return bad;
}

static int bind_ledger(sqlite3_stmt *st, const void *arg)
{
    const struct cd_ledger_entry *e = arg;
    int bad = 0;

    bad |= bind_str(st, 1, e->id, sizeof(e->id));
    bad |= bind_str(st, 2, e->account_id, sizeof(e->account_id));
    bad |= bind_i64(st, 3, e->amount);
    bad |= bind_i64(st, 4, e->balance_after);
    bad |= bind_str(st, 5, e->kind, sizeof(e->kind));
    bad |= bind_str(st, 6, e->ref, sizeof(e->ref));
    bad |= bind_str(st, 7, e->order_id, sizeof(e->order_id));
    bad |= bind_str(st, 8, e->description, sizeof(e->description));
    bad |= bind_i64(st, 9, e->created_at);
    return bad;
}

int cd_store_ledger_insert(struct cd_tx *tx, const struct cd_ledger_entry *e)
{
    return run_write(tx, SQ_LEDGER_INSERT, bind_ledger, e, 0,
                     "ledger insert");
}

int cd_store_ledger_by_ref(struct cd_tx *tx, const char *ref,
                           struct cd_ledger_entry *out)
{
    return get_by_key(tx, SQ_LEDGER_BY_REF, ref, CD_REF_SZ, read_ledger, out,
                      "ledger by ref");
}

struct ledger_visit {
    cd_ledger_cb cb;
    void *arg;
};

static int visit_ledger(const void *row, void *ctx)
{
    struct ledger_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_ledger_list(struct cd_tx *tx, const char *account_id,
                         int64_t limit, int64_t offset, cd_ledger_cb cb,
                         void *arg, int64_t *total)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_LEDGER_COUNT_ACCT : SQ_LEDGER_COUNT_ALL,
                       acct ? SQ_LEDGER_LIST_ACCT : SQ_LEDGER_LIST_ALL,
                       acct, limit, offset, read_ledger, &row, visit_ledger,
                       &v, total, "ledger list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

/* One-row aggregate query into up to two int64 columns. */
static int aggregate(struct cd_conn *c, enum cd_sq_stmt id, int64_t *a,
                     int64_t *b, const char *what)
{
    sqlite3_stmt *st = cd_sq_get(c, id);
    int ret = CD_STORE_OK;

    if (!st)
        return CD_STORE_ERROR;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (a)
            *a = sqlite3_column_int64(st, 0);
        if (b)
            *b = sqlite3_column_int64(st, 1);
    } else {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, id, st);
    return ret;
}

int cd_store_ledger_verify(struct cd_tx *tx, int64_t *accounts,
                           int64_t *sum_balances, int64_t *sum_entries,
                           cd_mismatch_cb cb, void *arg)
{
    const char *what = "ledger verify";
    struct cd_conn *c;
    sqlite3_stmt *st;
    int64_t n = 0, sb = 0, se = 0;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0)
        return CD_STORE_ERROR;
    c = tx->conn;
    if (aggregate(c, SQ_VERIFY_ACCOUNTS, &n, &sb, what) != 0 ||
        aggregate(c, SQ_VERIFY_ENTRIES, &se, NULL, what) != 0)
        return CD_STORE_ERROR;
    if (accounts)
        *accounts = n;
    if (sum_balances)
        *sum_balances = sb;
    if (sum_entries)
        *sum_entries = se;
    if (!(st = cd_sq_get(c, SQ_VERIFY_MISMATCH)))
        return CD_STORE_ERROR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);

        if (cb && cb(id ? id : "", sqlite3_column_int64(st, 1),
                     sqlite3_column_int64(st, 2), arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_VERIFY_MISMATCH, st);
    return ret;
}

/* ---- orders ----------------------------------------------------------- */

static int read_order(sqlite3_stmt *st, void *out)
{
    struct cd_order *o = out;
    int bad = 0;

    memset(o, 0, sizeof(*o));
    bad |= col_str(st, 0, o->id, sizeof(o->id));
    bad |= col_str(st, 1, o->account_id, sizeof(o->account_id));
    bad |= col_str(st, 2, o->kind, sizeof(o->kind));
    bad |= col_str(st, 3, o->status, sizeof(o->status));
    o->amount_cents = sqlite3_column_int64(st, 4);
    o->discount_cents = sqlite3_column_int64(st, 5);
    bad |= col_str(st, 6, o->discount_code, sizeof(o->discount_code));
    o->credits = sqlite3_column_int64(st, 7);
    bad |= col_str(st, 8, o->currency, sizeof(o->currency));
    bad |= col_str(st, 9, o->item_id, sizeof(o->item_id));
    bad |= col_str(st, 10, o->description, sizeof(o->description));
    bad |= col_str(st, 11, o->stripe_session_id, sizeof(o->stripe_session_id));
    bad |= col_str(st, 12, o->stripe_payment_intent_id,
                   sizeof(o->stripe_payment_intent_id));
    bad |= col_str(st, 13, o->failure_reason, sizeof(o->failure_reason));
    o->created_at = sqlite3_column_int64(st, 14);
    o->completed_at = sqlite3_column_int64(st, 15);
    o->updated_at = sqlite3_column_int64(st, 16);
    o->clawback_credits = sqlite3_column_int64(st, 17);
    o->clawback_seq = sqlite3_column_int64(st, 18);
    o->refund_level_cents = sqlite3_column_int64(st, 19);
    bad |= col_str(st, 20, o->stripe_invoice_id,
                   sizeof(o->stripe_invoice_id));
    bad |= col_str(st, 21, o->stripe_customer_id,
                   sizeof(o->stripe_customer_id));
    return bad;
}

static int bind_order(sqlite3_stmt *st, const void *arg)
{
    const struct cd_order *o = arg;
    int bad = 0;

    bad |= bind_str(st, 1, o->id, sizeof(o->id));
    bad |= bind_str(st, 2, o->account_id, sizeof(o->account_id));
    bad |= bind_str(st, 3, o->kind, sizeof(o->kind));
    bad |= bind_str(st, 4, o->status, sizeof(o->status));
    bad |= bind_i64(st, 5, o->amount_cents);
    bad |= bind_i64(st, 6, o->discount_cents);
    bad |= bind_str(st, 7, o->discount_code, sizeof(o->discount_code));
    bad |= bind_i64(st, 8, o->credits);
    bad |= bind_str(st, 9, o->currency, sizeof(o->currency));
    bad |= bind_str(st, 10, o->item_id, sizeof(o->item_id));
    bad |= bind_str(st, 11, o->description, sizeof(o->description));
    bad |= bind_str(st, 12, o->stripe_session_id, sizeof(o->stripe_session_id));
    bad |= bind_str(st, 13, o->stripe_payment_intent_id,
                    sizeof(o->stripe_payment_intent_id));
    bad |= bind_str(st, 14, o->failure_reason, sizeof(o->failure_reason));
    bad |= bind_i64(st, 15, o->created_at);
    bad |= bind_i64(st, 16, o->completed_at);
    bad |= bind_i64(st, 17, o->updated_at);
    bad |= bind_i64(st, 18, o->clawback_credits);
    bad |= bind_i64(st, 19, o->clawback_seq);
    bad |= bind_i64(st, 20, o->refund_level_cents);
    bad |= bind_str(st, 21, o->stripe_invoice_id,
                    sizeof(o->stripe_invoice_id));
    bad |= bind_str(st, 22, o->stripe_customer_id,
                    sizeof(o->stripe_customer_id));
    return bad;
}

int cd_store_order_insert(struct cd_tx *tx, const struct cd_order *o)
{
    return run_write(tx, SQ_ORDER_INSERT, bind_order, o, 0, "order insert");
}

int cd_store_order_update(struct cd_tx *tx, const struct cd_order *o)
{
    return run_write(tx, SQ_ORDER_UPDATE, bind_order, o, 1, "order update");
}

int cd_store_order_get(struct cd_tx *tx, const char *id, struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_GET, id, CD_ID_SZ, read_order, out,
                      "order get");
}

int cd_store_order_by_session(struct cd_tx *tx, const char *session_id,
                              struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_SESSION, session_id, CD_SID_SZ,
                      read_order, out, "order by session");
}

int cd_store_order_by_payment_intent(struct cd_tx *tx, const char *pi,
                                     struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_PI, pi, CD_SID_SZ, read_order, out,
                      "order by payment intent");
}

int cd_store_order_by_invoice(struct cd_tx *tx, const char *invoice_id,
                              struct cd_order *out)
{
    return get_by_key(tx, SQ_ORDER_BY_INVOICE, invoice_id, CD_SID_SZ,
                      read_order, out, "order by invoice");
}

struct order_visit {
    cd_order_cb cb;
    void *arg;
};

static int visit_order(const void *row, void *ctx)
{
    struct order_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_order_list(struct cd_tx *tx, const char *account_id,
                        int64_t limit, int64_t offset, cd_order_cb cb,
                        void *arg, int64_t *total)
{
    struct cd_order row;
    struct order_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_ORDER_COUNT_ACCT : SQ_ORDER_COUNT_ALL,
                       acct ? SQ_ORDER_LIST_ACCT : SQ_ORDER_LIST_ALL,
                       acct, limit, offset, read_order, &row, visit_order,
                       &v, total, "order list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

int cd_store_order_list_pending(struct cd_tx *tx, int64_t before,
                                int64_t limit, cd_order_cb cb, void *arg)
{
    const char *what = "order list pending";
    struct cd_order row;
    struct cd_conn *c;
    sqlite3_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    c = tx->conn;
    if (!(st = cd_sq_get(c, SQ_ORDER_LIST_PENDING)))
        return CD_STORE_ERROR;
    bind_i64(st, 1, before);
    bind_i64(st, 2, limit < 0 ? -1 : limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_order(st, &row) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&row, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(c->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(c, SQ_ORDER_LIST_PENDING, st);
    return ret;
}

/* ---- payments --------------------------------------------------------- */

static int read_payment(sqlite3_stmt *st, void *out)
{
    struct cd_payment *p = out;
    int bad = 0;

    memset(p, 0, sizeof(*p));
    bad |= col_str(st, 0, p->id, sizeof(p->id));
    bad |= col_str(st, 1, p->order_id, sizeof(p->order_id));
    bad |= col_str(st, 2, p->account_id, sizeof(p->account_id));
    bad |= col_str(st, 3, p->status, sizeof(p->status));
    p->amount_cents = sqlite3_column_int64(st, 4);
    p->amount_refunded_cents = sqlite3_column_int64(st, 5);
    bad |= col_str(st, 6, p->currency, sizeof(p->currency));
    bad |= col_str(st, 7, p->description, sizeof(p->description));
    bad |= col_str(st, 8, p->last4, sizeof(p->last4));
    bad |= col_str(st, 9, p->failure_reason, sizeof(p->failure_reason));
    bad |= col_str(st, 10, p->stripe_payment_intent_id,
                   sizeof(p->stripe_payment_intent_id));
    bad |= col_str(st, 11, p->stripe_charge_id, sizeof(p->stripe_charge_id));
    p->created_at = sqlite3_column_int64(st, 12);
    p->paid_at = sqlite3_column_int64(st, 13);
    p->refunded_at = sqlite3_column_int64(st, 14);
    return bad;
}

static int bind_payment(sqlite3_stmt *st, const void *arg)
{
    const struct cd_payment *p = arg;
    int bad = 0;

    bad |= bind_str(st, 1, p->id, sizeof(p->id));
    bad |= bind_str(st, 2, p->order_id, sizeof(p->order_id));
    bad |= bind_str(st, 3, p->account_id, sizeof(p->account_id));
    bad |= bind_str(st, 4, p->status, sizeof(p->status));
    bad |= bind_i64(st, 5, p->amount_cents);
    bad |= bind_i64(st, 6, p->amount_refunded_cents);
    bad |= bind_str(st, 7, p->currency, sizeof(p->currency));
    bad |= bind_str(st, 8, p->description, sizeof(p->description));
    bad |= bind_str(st, 9, p->last4, sizeof(p->last4));
    bad |= bind_str(st, 10, p->failure_reason, sizeof(p->failure_reason));
    bad |= bind_str(st, 11, p->stripe_payment_intent_id,
                    sizeof(p->stripe_payment_intent_id));
    bad |= bind_str(st, 12, p->stripe_charge_id, sizeof(p->stripe_charge_id));
    bad |= bind_i64(st, 13, p->created_at);
    bad |= bind_i64(st, 14, p->paid_at);
    bad |= bind_i64(st, 15, p->refunded_at);
    return bad;
}

int cd_store_payment_insert(struct cd_tx *tx, const struct cd_payment *p)
{
    return run_write(tx, SQ_PAYMENT_INSERT, bind_payment, p, 0,
                     "payment insert");
}

int cd_store_payment_update(struct cd_tx *tx, const struct cd_payment *p)
{
    return run_write(tx, SQ_PAYMENT_UPDATE, bind_payment, p, 1,
                     "payment update");
}

int cd_store_payment_get(struct cd_tx *tx, const char *id,
                         struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_GET, id, CD_ID_SZ, read_payment, out,
                      "payment get");
}

int cd_store_payment_by_order(struct cd_tx *tx, const char *order_id,
                              struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_ORDER, order_id, CD_ID_SZ,
                      read_payment, out, "payment by order");
}

int cd_store_payment_by_charge(struct cd_tx *tx, const char *charge_id,
                               struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_CHARGE, charge_id, CD_SID_SZ,
                      read_payment, out, "payment by charge");
}

int cd_store_payment_by_payment_intent(struct cd_tx *tx, const char *pi,
                                       struct cd_payment *out)
{
    return get_by_key(tx, SQ_PAYMENT_BY_PI, pi, CD_SID_SZ, read_payment, out,
                      "payment by payment intent");
}

struct payment_visit {
    cd_payment_cb cb;
    void *arg;
};

static int visit_payment(const void *row, void *ctx)
{
    struct payment_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_payment_list(struct cd_tx *tx, const char *account_id,
                          int64_t limit, int64_t offset, cd_payment_cb cb,
                          void *arg, int64_t *total)
{
    struct cd_payment row;
    struct payment_visit v = {cb, arg};
    const char *acct = acct_filter(account_id);
    struct list_q q = {acct ? SQ_PAYMENT_COUNT_ACCT : SQ_PAYMENT_COUNT_ALL,
                       acct ? SQ_PAYMENT_LIST_ACCT : SQ_PAYMENT_LIST_ALL,
                       acct, limit, offset, read_payment, &row, visit_payment,
                       &v, total, "payment list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

/* ---- refunds and disputes (007) ---------------------------------------- */

static int read_refund(sqlite3_stmt *st, void *out)
{
    struct cd_refund *r = out;
    int bad = 0;

    memset(r, 0, sizeof(*r));
    bad |= col_str(st, 0, r->id, sizeof(r->id));
    bad |= col_str(st, 1, r->order_id, sizeof(r->order_id));
    bad |= col_str(st, 2, r->stripe_refund_id, sizeof(r->stripe_refund_id));
    r->amount_cents = sqlite3_column_int64(st, 3);
    bad |= col_str(st, 4, r->status, sizeof(r->status));
    bad |= col_str(st, 5, r->reason, sizeof(r->reason));
    r->created_at = sqlite3_column_int64(st, 6);
    r->updated_at = sqlite3_column_int64(st, 7);
    return bad;
}

static int bind_refund(sqlite3_stmt *st, const void *arg)
{
    const struct cd_refund *r = arg;
    int bad = 0;

    bad |= bind_str(st, 1, r->id, sizeof(r->id));
    bad |= bind_str(st, 2, r->order_id, sizeof(r->order_id));
    bad |= bind_str(st, 3, r->stripe_refund_id, sizeof(r->stripe_refund_id));
    bad |= bind_i64(st, 4, r->amount_cents);
    bad |= bind_str(st, 5, r->status, sizeof(r->status));
    bad |= bind_str(st, 6, r->reason, sizeof(r->reason));
    bad |= bind_i64(st, 7, r->created_at);
    bad |= bind_i64(st, 8, r->updated_at);
    return bad;
}

int cd_store_refund_insert(struct cd_tx *tx, const struct cd_refund *r)
{
    return run_write(tx, SQ_REFUND_INSERT, bind_refund, r, 0,
                     "refund insert");
}

int cd_store_refund_update(struct cd_tx *tx, const struct cd_refund *r)
{
    return run_write(tx, SQ_REFUND_UPDATE, bind_refund, r, 1,
                     "refund update");
}

int cd_store_refund_get(struct cd_tx *tx, const char *id,
                        struct cd_refund *out)
{
    return get_by_key(tx, SQ_REFUND_GET, id, CD_ID_SZ, read_refund, out,
                      "refund get");
}

int cd_store_refund_by_stripe(struct cd_tx *tx, const char *stripe_id,
                              struct cd_refund *out)
{
    return get_by_key(tx, SQ_REFUND_BY_STRIPE, stripe_id, CD_SID_SZ,
                      read_refund, out, "refund by stripe id");
}

static int read_refund_sums(sqlite3_stmt *st, void *out)
{
    struct cd_refund_sums *r = out;

    r->live = sqlite3_column_int64(st, 0);
    r->failed = sqlite3_column_int64(st, 1);
    r->reserved = sqlite3_column_int64(st, 2);
    return 0;
}

int cd_store_refund_sums(struct cd_tx *tx, const char *order_id,
                         struct cd_refund_sums *out)
{
    memset(out, 0, sizeof(*out));
    return get_by_key(tx, SQ_REFUND_SUMS, order_id, CD_ID_SZ,
                      read_refund_sums, out, "refund sums");
}

static int read_dispute(sqlite3_stmt *st, void *out)
{
    struct cd_dispute *d = out;
    int bad = 0;

    memset(d, 0, sizeof(*d));
    bad |= col_str(st, 0, d->id, sizeof(d->id));
    bad |= col_str(st, 1, d->order_id, sizeof(d->order_id));
    d->amount_cents = sqlite3_column_int64(st, 2);
    bad |= col_str(st, 3, d->status, sizeof(d->status));
    d->created_at = sqlite3_column_int64(st, 4);
    d->updated_at = sqlite3_column_int64(st, 5);
    return bad;
}

static int bind_dispute(sqlite3_stmt *st, const void *arg)
{
    const struct cd_dispute *d = arg;
    int bad = 0;

    bad |= bind_str(st, 1, d->id, sizeof(d->id));
    bad |= bind_str(st, 2, d->order_id, sizeof(d->order_id));
    bad |= bind_i64(st, 3, d->amount_cents);
    bad |= bind_str(st, 4, d->status, sizeof(d->status));
    bad |= bind_i64(st, 5, d->created_at);
    bad |= bind_i64(st, 6, d->updated_at);
    return bad;
}

int cd_store_dispute_insert(struct cd_tx *tx, const struct cd_dispute *d)
{
    return run_write(tx, SQ_DISPUTE_INSERT, bind_dispute, d, 0,
                     "dispute insert");
}

int cd_store_dispute_update(struct cd_tx *tx, const struct cd_dispute *d)
{
    return run_write(tx, SQ_DISPUTE_UPDATE, bind_dispute, d, 1,
                     "dispute update");
}

int cd_store_dispute_get(struct cd_tx *tx, const char *id,
                         struct cd_dispute *out)
{
    return get_by_key(tx, SQ_DISPUTE_GET, id, CD_SID_SZ, read_dispute, out,
                      "dispute get");
}

static int read_i64(sqlite3_stmt *st, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(st, 0);
    return 0;
}

int cd_store_dispute_held(struct cd_tx *tx, const char *order_id,
                          int64_t *out)
{
    *out = 0;
    return get_by_key(tx, SQ_DISPUTE_HELD, order_id, CD_ID_SZ, read_i64, out,
                      "dispute held");
}

/* ---- problems (009) ----------------------------------------------------- */

static int read_problem(sqlite3_stmt *st, void *out)
{
    struct cd_problem *p = out;
    int bad = 0;

    memset(p, 0, sizeof(*p));
    bad |= col_str(st, 0, p->id, sizeof(p->id));
    bad |= col_str(st, 1, p->kind, sizeof(p->kind));
    bad |= col_str(st, 2, p->order_id, sizeof(p->order_id));
    bad |= col_str(st, 3, p->account_id, sizeof(p->account_id));
    bad |= col_str(st, 4, p->event_id, sizeof(p->event_id));
    bad |= col_str(st, 5, p->detail, sizeof(p->detail));
    p->created_at = sqlite3_column_int64(st, 6);
    return bad;
}

static int bind_problem(sqlite3_stmt *st, const void *arg)
{
    const struct cd_problem *p = arg;
    int bad = 0;

    bad |= bind_str(st, 1, p->id, sizeof(p->id));
    bad |= bind_str(st, 2, p->kind, sizeof(p->kind));
    bad |= bind_str(st, 3, p->order_id, sizeof(p->order_id));
    bad |= bind_str(st, 4, p->account_id, sizeof(p->account_id));
    bad |= bind_str(st, 5, p->event_id, sizeof(p->event_id));
    bad |= bind_str(st, 6, p->detail, sizeof(p->detail));
    bad |= bind_i64(st, 7, p->created_at);
    return bad;
}

int cd_store_problem_insert(struct cd_tx *tx, const struct cd_problem *p)
{
    return run_write(tx, SQ_PROBLEM_INSERT, bind_problem, p, 0,
                     "problem insert");
}

struct problem_visit {
    cd_problem_cb cb;
    void *arg;
};

static int visit_problem(const void *row, void *ctx)
{
    struct problem_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_problem_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                          cd_problem_cb cb, void *arg, int64_t *total)
{
    struct cd_problem row;
    struct problem_visit v = {cb, arg};
    struct list_q q = {SQ_PROBLEM_COUNT, SQ_PROBLEM_LIST, NULL, limit,
                       offset, read_problem, &row, visit_problem, &v, total,
                       "problem list"};

    return list_rows(tx, &q);
}

/* ---- pricing and discounts -------------------------------------------- */

static int read_pricing(sqlite3_stmt *st, void *out)
{
    struct cd_pricing *p = out;
    int bad;

    memset(p, 0, sizeof(*p));
    bad = col_str(st, 0, p->mode, sizeof(p->mode));
    p->launch_cents = sqlite3_column_int64(st, 1);
    p->rrp_cents = sqlite3_column_int64(st, 2);
    p->sale_cents = sqlite3_column_int64(st, 3);
    p->updated_at = sqlite3_column_int64(st, 4);
    return bad;
}

static int bind_pricing(sqlite3_stmt *st, const void *arg)
{
    const struct cd_pricing *p = arg;
    int bad = 0;

    bad |= bind_str(st, 1, p->mode, sizeof(p->mode));
    bad |= bind_i64(st, 2, p->launch_cents);
    bad |= bind_i64(st, 3, p->rrp_cents);
    bad |= bind_i64(st, 4, p->sale_cents);
    bad |= bind_i64(st, 5, p->updated_at);
    return bad;
}

int cd_store_pricing_get(struct cd_tx *tx, struct cd_pricing *out)
{
    const char *what = "pricing get";
    sqlite3_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_PRICING_GET)))
        return CD_STORE_ERROR;
    return fetch_one(tx->conn, SQ_PRICING_GET, st, read_pricing, out, what);
}

int cd_store_pricing_put(struct cd_tx *tx, const struct cd_pricing *p)
{
    return run_write(tx, SQ_PRICING_PUT, bind_pricing, p, 0, "pricing put");
}

static int read_discount(sqlite3_stmt *st, void *out)
{
    struct cd_discount *d = out;
    int bad;

    memset(d, 0, sizeof(*d));
    bad = col_str(st, 0, d->code, sizeof(d->code));
    d->percent_off = sqlite3_column_int64(st, 1);
    d->amount_off_cents = sqlite3_column_int64(st, 2);
    d->max_uses = sqlite3_column_int64(st, 3);
    d->times_used = sqlite3_column_int64(st, 4);
    d->expires_at = sqlite3_column_int64(st, 5);
    d->active = sqlite3_column_int(st, 6);
    d->created_at = sqlite3_column_int64(st, 7);
    return bad;
}

static int bind_discount(sqlite3_stmt *st, const void *arg)
{
    const struct cd_discount *d = arg;
    int bad = 0;

    bad |= bind_str(st, 1, d->code, sizeof(d->code));
    bad |= bind_i64(st, 2, d->percent_off);
    bad |= bind_i64(st, 3, d->amount_off_cents);
    bad |= bind_i64(st, 4, d->max_uses);
    bad |= bind_i64(st, 5, d->times_used);
    bad |= bind_i64(st, 6, d->expires_at);
    bad |= bind_i64(st, 7, d->active ? 1 : 0);
    bad |= bind_i64(st, 8, d->created_at);
    return bad;
}

int cd_store_discount_insert(struct cd_tx *tx, const struct cd_discount *d)
{
    return run_write(tx, SQ_DISCOUNT_INSERT, bind_discount, d, 0,
                     "discount insert");
}

int cd_store_discount_get(struct cd_tx *tx, const char *code,
                          struct cd_discount *out)
{
    return get_by_key(tx, SQ_DISCOUNT_GET, code, CD_CODE_SZ, read_discount,
                      out, "discount get");
}

struct discount_visit {
    cd_discount_cb cb;
    void *arg;
};

static int visit_discount(const void *row, void *ctx)
{
    struct discount_visit *v = ctx;

    return v->cb(row, v->arg);
}

int cd_store_discount_list(struct cd_tx *tx, int64_t limit, int64_t offset,
                           cd_discount_cb cb, void *arg, int64_t *total)
{
    struct cd_discount row;
    struct discount_visit v = {cb, arg};
    struct list_q q = {SQ_DISCOUNT_COUNT, SQ_DISCOUNT_LIST, NULL, limit,
                       offset, read_discount, &row, visit_discount, &v,
                       total, "discount list"};

    if (!cb)
        return CD_STORE_ERROR;
    return list_rows(tx, &q);
}

int cd_store_discount_set_active(struct cd_tx *tx, const char *code,
                                 int active)
{
    struct id_i64_args a = {code, CD_CODE_SZ, active ? 1 : 0};

    return run_write(tx, SQ_DISCOUNT_SET_ACTIVE, bind_id_i64, &a, 1,
                     "discount set active");
}

struct discount_use_args {
    const char *code, *order_id;
    int64_t now;
};

static int bind_discount_use(sqlite3_stmt *st, const void *arg)
{
    const struct discount_use_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->code, CD_CODE_SZ);
    bad |= bind_str(st, 2, a->order_id, CD_ID_SZ);
    bad |= bind_i64(st, 3, a->now);
    return bad;
}

int cd_store_discount_use(struct cd_tx *tx, const char *code,
                          const char *order_id, int64_t now)
{
    struct discount_use_args a = {code, order_id, now};

    /* One INSERT ... SELECT: no row when the code does not exist
     * (NOT_FOUND), a PRIMARY KEY clash when this order's use was already
     * counted (DUPLICATE); the trigger counts the use otherwise. */
    return run_write(tx, SQ_DISCOUNT_USE, bind_discount_use, &a, 1,
                     "discount use");
}

/* ---- Stripe events ---------------------------------------------------- */

struct event_args {
    const char *id, *type;
    int64_t at;
};

static int bind_event(sqlite3_stmt *st, const void *arg)
{
    const struct event_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->id, CD_SID_SZ);
    bad |= bind_str(st, 2, a->type, CD_SID_SZ);
    bad |= bind_i64(st, 3, a->at);
    return bad;
}

int cd_store_event_insert(struct cd_tx *tx, const char *event_id,
                          const char *type, int64_t received_at)
{
    struct event_args a = {event_id, type, received_at};

    return run_write(tx, SQ_EVENT_INSERT, bind_event, &a, 0, "event insert");
}

/* ---- card details from charge events ---------------------------------- */

static int bind_charge_card(sqlite3_stmt *st, const void *arg)
{
    const struct cd_charge_card *c = arg;
    int bad = 0;

    bad |= bind_str(st, 1, c->payment_intent, sizeof(c->payment_intent));
    bad |= bind_str(st, 2, c->charge, sizeof(c->charge));
    bad |= bind_str(st, 3, c->last4, sizeof(c->last4));
    bad |= bind_i64(st, 4, c->created_at);
    return bad;
}

static int read_charge_card(sqlite3_stmt *st, void *out)
{
    struct cd_charge_card *c = out;
    int bad = 0;

    bad |= col_str(st, 0, c->payment_intent, sizeof(c->payment_intent));
    bad |= col_str(st, 1, c->charge, sizeof(c->charge));
    bad |= col_str(st, 2, c->last4, sizeof(c->last4));
    c->created_at = sqlite3_column_int64(st, 3);
    return bad;
}

int cd_store_charge_card_put(struct cd_tx *tx, const struct cd_charge_card *c)
{
    if (!c->payment_intent[0] || !c->charge[0])
        return CD_STORE_ERROR;
    return run_write(tx, SQ_CHARGE_CARD_PUT, bind_charge_card, c, 0,
                     "charge card put");
}

int cd_store_charge_card_get(struct cd_tx *tx, const char *payment_intent,
                             struct cd_charge_card *out)
{
    return get_by_key(tx, SQ_CHARGE_CARD_GET, payment_intent, CD_SID_SZ,
                      read_charge_card, out, "charge card get");
}

/* ---- idempotency keys ------------------------------------------------- */

static int bind_blob(sqlite3_stmt *st, int i, const char *body, size_t len)
{
    if (!body)
        return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
    if (len > INT_MAX)
        return -1;
    /* A zero-length blob, not NULL, when body is "" of length 0. */
    return sqlite3_bind_blob(st, i, body, (int)len, SQLITE_STATIC) ==
                   SQLITE_OK
               ? 0
               : -1;
}

static int read_idem(sqlite3_stmt *st, void *out)
{
    struct cd_idem *i = out;
    const void *b;
    size_t n;
    int bad = 0;

    memset(i, 0, sizeof(*i));
    bad |= col_str(st, 0, i->scope, sizeof(i->scope));
    bad |= col_str(st, 1, i->key, sizeof(i->key));
    bad |= col_str(st, 2, i->request_hash, sizeof(i->request_hash));
    i->status = sqlite3_column_int(st, 3);
    i->created_at = sqlite3_column_int64(st, 5);
    i->lease_until = sqlite3_column_int64(st, 6);
    if (bad)
        return -1;
    b = sqlite3_column_blob(st, 4);
    n = (size_t)sqlite3_column_bytes(st, 4);
    if (!b && i->status == 0)
        return 0;
    /* NUL-terminated for convenience; body_len excludes the NUL. */
    i->body = malloc(n + 1);
    if (!i->body)
        return -1;
    if (n)
        memcpy(i->body, b, n);
    i->body[n] = '\0';
    i->body_len = n;
    return 0;
}

int cd_store_idem_get(struct cd_tx *tx, const char *scope, const char *key,
                      struct cd_idem *out)
{
    const char *what = "idem get";
    sqlite3_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out)
        return CD_STORE_ERROR;
    out->body = NULL;
    out->body_len = 0;
    if (!(st = cd_sq_get(tx->conn, SQ_IDEM_GET)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, scope, CD_IDEM_SCOPE_SZ) |
         bind_str(st, 2, key, CD_IDEM_KEY_SZ)) != 0) {
        cd_sq_put(tx->conn, SQ_IDEM_GET, st);
        return bind_failed(what);
    }
    return fetch_one(tx->conn, SQ_IDEM_GET, st, read_idem, out, what);
}

static int bind_idem(sqlite3_stmt *st, const void *arg)
{
    const struct cd_idem *i = arg;
    int bad = 0;

    bad |= bind_str(st, 1, i->scope, sizeof(i->scope));
    bad |= bind_str(st, 2, i->key, sizeof(i->key));
    bad |= bind_str(st, 3, i->request_hash, sizeof(i->request_hash));
    bad |= bind_i64(st, 4, i->status);
    bad |= bind_blob(st, 5, i->body, i->body_len);
    bad |= bind_i64(st, 6, i->created_at);
    bad |= bind_i64(st, 7, i->lease_until);
    return bad;
}

int cd_store_idem_insert(struct cd_tx *tx, const struct cd_idem *i)
{
    return run_write(tx, SQ_IDEM_INSERT, bind_idem, i, 0, "idem insert");
}

struct idem_complete_args {
    const char *scope, *key;
    int status;
    const char *body;
    size_t len;
};

static int bind_idem_complete(sqlite3_stmt *st, const void *arg)
{
    const struct idem_complete_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    return bad;
}

int cd_store_idem_complete(struct cd_tx *tx, const char *scope,
                           const char *key, int status, const char *body,
                           size_t body_len)
{
    struct idem_complete_args a = {scope, key, status, body, body_len};

    return run_write(tx, SQ_IDEM_COMPLETE, bind_idem_complete, &a, 1,
                     "idem complete");
}

int cd_store_idem_delete(struct cd_tx *tx, const char *scope, const char *key)
{
    struct key_args a = {scope, CD_IDEM_SCOPE_SZ, key, CD_IDEM_KEY_SZ};

    return run_write(tx, SQ_IDEM_DELETE, bind_key, &a, 1, "idem delete");
}

static int bind_purge(sqlite3_stmt *st, const void *arg)
{
    return bind_i64(st, 1, *(const int64_t *)arg);
}

int cd_store_idem_purge(struct cd_tx *tx, int64_t before)
{
    return run_write(tx, SQ_IDEM_PURGE, bind_purge, &before, 0, "idem purge");
}

/* ---- background jobs: tokens purge, settings, leases ------------------ */

int cd_store_charge_card_purge(struct cd_tx *tx, int64_t before)
{
    return run_write(tx, SQ_CHARGE_CARD_PURGE, bind_purge, &before, 0,
                     "charge card purge");
}

int cd_store_token_purge(struct cd_tx *tx, int64_t now)
{
    int rc = run_write(tx, SQ_TOKEN_PURGE, bind_purge, &now, 0,
                       "token purge");

    if (rc != CD_STORE_OK)
        return rc;
    return run_write(tx, SQ_PORTAL_PURGE, bind_purge, &now, 0,
                     "portal session purge");
}

int cd_store_link_purge(struct cd_tx *tx, int64_t now)
{
    return run_write(tx, SQ_LINK_PURGE, bind_purge, &now, 0, "link purge");
}

struct kv_read {
    char *out;
    size_t outsz;
};

static int read_kv(sqlite3_stmt *st, void *out)
{
    struct kv_read *r = out;

    return col_str(st, 0, r->out, r->outsz);
}

int cd_store_kv_get(struct cd_tx *tx, const char *key, char *out,
                    size_t outsz)
{
    struct kv_read r = {out, outsz};

    if (!out || outsz == 0)
        return CD_STORE_ERROR;
    out[0] = '\0';
    return get_by_key(tx, SQ_KV_GET, key, CD_KV_KEY_SZ, read_kv, &r,
                      "kv get");
}

struct kv_args {
    const char *key, *value;
    int64_t now;
};

static int bind_kv(sqlite3_stmt *st, const void *arg)
{
    const struct kv_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->key, CD_KV_KEY_SZ);
    bad |= bind_str(st, 2, a->value, CD_KV_VALUE_SZ);
    bad |= bind_i64(st, 3, a->now);
    return bad;
}

int cd_store_kv_put(struct cd_tx *tx, const char *key, const char *value,
                    int64_t now)
{
    struct kv_args a = {key, value, now};

    return run_write(tx, SQ_KV_PUT, bind_kv, &a, 0, "kv put");
}

struct lease_args {
    const char *name, *holder;
    int64_t now, until;
};

static int bind_lease(sqlite3_stmt *st, const void *arg)
{
    const struct lease_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->name, CD_LEASE_NAME_SZ);
    bad |= bind_str(st, 2, a->holder, CD_LEASE_HOLDER_SZ);
    bad |= bind_i64(st, 3, a->now);
    bad |= bind_i64(st, 4, a->until);
    return bad;
}

int cd_store_lease_acquire(struct cd_tx *tx, const char *name,
                           const char *holder, int64_t now, int64_t ttl)
{
    struct lease_args a = {name, holder, now, 0};
    int rc;

    if (ttl <= 0 || now > INT64_MAX - ttl) {
        cd_error("store", "lease acquire: bad ttl");
        return CD_STORE_ERROR;
    }
    a.until = now + ttl;
    rc = run_write(tx, SQ_LEASE_ACQUIRE, bind_lease, &a, 1, "lease acquire");
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_lease_release(struct cd_tx *tx, const char *name,
                           const char *holder)
{
    struct key_args a = {name, CD_LEASE_NAME_SZ, holder, CD_LEASE_HOLDER_SZ};

    return run_write(tx, SQ_LEASE_RELEASE, bind_key, &a, 1, "lease release");
}

/* ---- appended: pending discount uses, owned idempotency claims -------- */

/* One COUNT(*) whose parameters are a string key (?1, field size keysz)
 * and a time (?2). */
static int count_since(struct cd_tx *tx, enum cd_sq_stmt id, const char *key,
                       size_t keysz, int64_t since, int64_t *out,
                       const char *what)
{
    sqlite3_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out || !key || !key[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->conn, id)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, key, keysz) | bind_i64(st, 2, since)) != 0) {
        cd_sq_put(tx->conn, id, st);
        return bind_failed(what);
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, id, st);
    return ret;
}

int cd_store_discount_pending_count(struct cd_tx *tx, const char *code,
                                    int64_t since, const char *except,
                                    int64_t *out)
{
    const char *what = "discount pending count";
    sqlite3_stmt *st;
    int ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !out || !code || !code[0])
        return CD_STORE_ERROR;
    *out = 0;
    if (!(st = cd_sq_get(tx->conn, SQ_DISCOUNT_PENDING_COUNT)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, code, CD_CODE_SZ) | bind_i64(st, 2, since) |
         bind_str(st, 3, except, CD_ID_SZ)) != 0) {
        cd_sq_put(tx->conn, SQ_DISCOUNT_PENDING_COUNT, st);
        return bind_failed(what);
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, SQ_DISCOUNT_PENDING_COUNT, st);
    return ret;
}

int cd_store_discount_holds(struct cd_tx *tx, const char *account_id,
                            const char *code, int64_t since, cd_order_cb cb,
                            void *arg)
{
    const char *what = "discount holds";
    struct cd_order o;
    sqlite3_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_DISCOUNT_HOLDS)))
        return CD_STORE_ERROR;
    if ((bind_str(st, 1, account_id, CD_ID_SZ) |
         bind_str(st, 2, code, CD_CODE_SZ) | bind_i64(st, 3, since)) != 0) {
        cd_sq_put(tx->conn, SQ_DISCOUNT_HOLDS, st);
        return bind_failed(what);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_order(st, &o) != 0) {
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(&o, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, SQ_DISCOUNT_HOLDS, st);
    return ret;
}

int cd_store_order_count_pending(struct cd_tx *tx, const char *account_id,
                                 int64_t since, int64_t *out)
{
    return count_since(tx, SQ_ORDER_COUNT_PENDING, account_id, CD_ID_SZ,
                       since, out, "order pending count");
}

struct idem_claim_args {
    const char *scope, *key;
    const char *claim;
    size_t claim_len;
    int status;
    const char *body;
    size_t len;
    int64_t lease_until, now_ms;
};

static int bind_idem_complete_claim(sqlite3_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;
    int bad = 0;

    bad |= bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= bind_i64(st, 3, a->status);
    bad |= bind_blob(st, 4, a->body, a->len);
    bad |= bind_blob(st, 5, a->claim, a->claim_len);
    return bad;
}

/* ?1 scope, ?2 key, ?3 claim; then ?4 lease_until and ?5 now (ms) for
 * the statements that take them. */
static int bind_idem_owner(sqlite3_stmt *st, const struct idem_claim_args *a)
{
    int bad = 0;

    bad |= bind_str(st, 1, a->scope, CD_IDEM_SCOPE_SZ);
    bad |= bind_str(st, 2, a->key, CD_IDEM_KEY_SZ);
    bad |= bind_blob(st, 3, a->claim, a->claim_len);
    return bad;
}

static int bind_idem_release(sqlite3_stmt *st, const void *arg)
{
    return bind_idem_owner(st, arg);
}

static int bind_idem_renew(sqlite3_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | bind_i64(st, 4, a->lease_until);
}

static int bind_idem_takeover(sqlite3_stmt *st, const void *arg)
{
    const struct idem_claim_args *a = arg;

    return bind_idem_owner(st, a) | bind_i64(st, 4, a->lease_until) |
           bind_i64(st, 5, a->now_ms);
}

int cd_store_idem_complete_claim(struct cd_tx *tx, const char *scope,
                                 const char *key, const char *claim,
                                 size_t claim_len, int status,
                                 const char *body, size_t body_len)
{
    struct idem_claim_args a = {scope, key,   claim, claim_len,
                                status, body, body_len, 0, 0};

    if (!claim || claim_len == 0 || status <= 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_COMPLETE_CLAIM, bind_idem_complete_claim,
                     &a, 1, "idem complete claim");
}

int cd_store_idem_release_claim(struct cd_tx *tx, const char *scope,
                                const char *key, const char *claim,
                                size_t claim_len)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                0,     0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_RELEASE_CLAIM, bind_idem_release, &a, 1,
                     "idem release claim");
}

int cd_store_idem_renew_claim(struct cd_tx *tx, const char *scope,
                              const char *key, const char *claim,
                              size_t claim_len, int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                lease_until, 0};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_RENEW_CLAIM, bind_idem_renew, &a, 1,
                     "idem renew claim");
}

int cd_store_idem_takeover(struct cd_tx *tx, const char *scope,
                           const char *key, const char *claim,
                           size_t claim_len, int64_t now_ms,
                           int64_t lease_until)
{
    struct idem_claim_args a = {scope, key, claim, claim_len, 0, NULL, 0,
                                lease_until, now_ms};

    if (!claim || claim_len == 0)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_IDEM_TAKEOVER, bind_idem_takeover, &a, 1,
                     "idem takeover");
}

/* ---- subscriptions (004) ------------------------------------------------ */

static int read_subscription(sqlite3_stmt *st, void *out)
{
    struct cd_subscription *s = out;
    int bad = 0;

    memset(s, 0, sizeof(*s));
    bad |= col_str(st, 0, s->stripe_subscription_id,
                   sizeof(s->stripe_subscription_id));
    bad |= col_str(st, 1, s->account_id, sizeof(s->account_id));
    bad |= col_str(st, 2, s->plan_id, sizeof(s->plan_id));
    bad |= col_str(st, 3, s->status, sizeof(s->status));
    s->current_period_end = sqlite3_column_int64(st, 4);
    s->cancel_at_period_end = sqlite3_column_int(st, 5) != 0;
    s->synced_at = sqlite3_column_int64(st, 6);
    s->created_at = sqlite3_column_int64(st, 7);
    s->updated_at = sqlite3_column_int64(st, 8);
    return bad;
}

static int bind_subscription(sqlite3_stmt *st, const void *arg)
{
    const struct cd_subscription *s = arg;
    int bad = 0;

    bad |= bind_str(st, 1, s->stripe_subscription_id,
                    sizeof(s->stripe_subscription_id));
    bad |= bind_str(st, 2, s->account_id, sizeof(s->account_id));
    bad |= bind_str(st, 3, s->plan_id, sizeof(s->plan_id));
    bad |= bind_str(st, 4, s->status, sizeof(s->status));
    bad |= bind_i64(st, 5, s->current_period_end);
    bad |= bind_i64(st, 6, s->cancel_at_period_end ? 1 : 0);
    bad |= bind_i64(st, 7, s->synced_at);
    bad |= bind_i64(st, 8, s->created_at);
    bad |= bind_i64(st, 9, s->updated_at);
    return bad;
}

int cd_store_subscription_upsert(struct cd_tx *tx,
                                 const struct cd_subscription *s)
{
    int rc = run_write(tx, SQ_SUB_UPSERT, bind_subscription, s, 1,
                       "subscription upsert");

    /* No row touched: the stored copy is newer. */
    return rc == CD_STORE_NOT_FOUND ? CD_STORE_DUPLICATE : rc;
}

int cd_store_subscription_get(struct cd_tx *tx, const char *stripe_id,
                              struct cd_subscription *out)
{
    return get_by_key(tx, SQ_SUB_GET, stripe_id, CD_SID_SZ, read_subscription,
                      out, "subscription get");
}

int cd_store_subscription_latest(struct cd_tx *tx, const char *account_id,
                                 struct cd_subscription *out)
{
    return get_by_key(tx, SQ_SUB_LATEST, account_id, CD_ID_SZ,
                      read_subscription, out, "subscription latest");
}

/* ---- mail outbox (005) -------------------------------------------------- */

static int read_mail(sqlite3_stmt *st, void *out)
{
    struct cd_mail *m = out;
    int bad = 0;

    memset(m, 0, sizeof(*m));
    bad |= col_str(st, 0, m->id, sizeof(m->id));
    bad |= col_str(st, 1, m->dedupe_key, sizeof(m->dedupe_key));
    bad |= col_str(st, 2, m->account_id, sizeof(m->account_id));
    bad |= col_str(st, 3, m->to_address, sizeof(m->to_address));
    bad |= col_str(st, 4, m->subject, sizeof(m->subject));
    bad |= col_str(st, 5, m->body_text, sizeof(m->body_text));
    bad |= col_str(st, 6, m->status, sizeof(m->status));
    m->attempts = sqlite3_column_int64(st, 7);
    m->next_attempt_at = sqlite3_column_int64(st, 8);
    bad |= col_str(st, 9, m->last_error, sizeof(m->last_error));
    m->created_at = sqlite3_column_int64(st, 10);
    m->sent_at = sqlite3_column_int64(st, 11);
    return bad;
}

static int bind_mail(sqlite3_stmt *st, const void *arg)
{
    const struct cd_mail *m = arg;
    int bad = 0;

    bad |= bind_str(st, 1, m->id, sizeof(m->id));
    bad |= bind_str(st, 2, m->dedupe_key, sizeof(m->dedupe_key));
    bad |= bind_str(st, 3, m->account_id, sizeof(m->account_id));
    bad |= bind_str(st, 4, m->to_address, sizeof(m->to_address));
    bad |= bind_str(st, 5, m->subject, sizeof(m->subject));
    bad |= bind_str(st, 6, m->body_text, sizeof(m->body_text));
    bad |= bind_str(st, 7, m->status[0] ? m->status : "queued",
                    sizeof(m->status));
    bad |= bind_i64(st, 8, m->attempts);
    bad |= bind_i64(st, 9, m->next_attempt_at);
    bad |= bind_str(st, 10, m->last_error, sizeof(m->last_error));
    bad |= bind_i64(st, 11, m->created_at);
    bad |= bind_i64(st, 12, m->sent_at);
    return bad;
}

static int bind_mail_update(sqlite3_stmt *st, const void *arg)
{
    const struct cd_mail *m = arg;
    int bad = 0;

    bad |= bind_str(st, 1, m->id, sizeof(m->id));
    bad |= bind_str(st, 2, m->status, sizeof(m->status));
    bad |= bind_i64(st, 3, m->attempts);
    bad |= bind_i64(st, 4, m->next_attempt_at);
    bad |= bind_str(st, 5, m->last_error, sizeof(m->last_error));
    bad |= bind_i64(st, 6, m->sent_at);
    return bad;
}

int cd_store_mail_insert(struct cd_tx *tx, const struct cd_mail *m)
{
    return run_write(tx, SQ_MAIL_INSERT, bind_mail, m, 0, "mail insert");
}

int cd_store_mail_get_by_key(struct cd_tx *tx, const char *dedupe_key,
                             struct cd_mail *out)
{
    return get_by_key(tx, SQ_MAIL_GET_BY_KEY, dedupe_key, CD_REF_SZ,
                      read_mail, out, "mail get");
}

int cd_store_mail_due(struct cd_tx *tx, int64_t now_ms, int64_t limit,
                      cd_mail_cb cb, void *arg)
{
    const char *what = "mail due";
    struct cd_mail *m;
    sqlite3_stmt *st;
    int rc, ret = CD_STORE_OK;

    if (check_tx(tx, 0, what) != 0 || !cb || limit < 0)
        return CD_STORE_ERROR;
    m = malloc(sizeof(*m));
    if (!m)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_MAIL_DUE))) {
        free(m);
        return CD_STORE_ERROR;
    }
    bind_i64(st, 1, now_ms);
    bind_i64(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_mail(st, m) != 0) {
            cd_error("store", "%s: stored value longer than its field", what);
            ret = CD_STORE_ERROR;
            break;
        }
        if (cb(m, arg) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, SQ_MAIL_DUE, st);
    free(m);
    return ret;
}

int cd_store_mail_update(struct cd_tx *tx, const struct cd_mail *m)
{
    return run_write(tx, SQ_MAIL_UPDATE, bind_mail_update, m, 1,
                     "mail update");
}

/* ---- login throttle (008) ----------------------------------------------- */

static int read_login_fail(sqlite3_stmt *st, void *out)
{
    struct cd_login_fail *f = out;
    int bad = 0;

    memset(f, 0, sizeof(*f));
    bad |= col_str(st, 0, f->email, sizeof(f->email));
    bad |= col_str(st, 1, f->address, sizeof(f->address));
    f->failures = sqlite3_column_int64(st, 2);
    f->first_at = sqlite3_column_int64(st, 3);
    f->last_at = sqlite3_column_int64(st, 4);
    return bad;
}

static int bind_login_fail(sqlite3_stmt *st, const void *arg)
{
    const struct cd_login_fail *f = arg;
    int bad = 0;

    bad |= bind_str(st, 1, f->email, sizeof(f->email));
    bad |= bind_str(st, 2, f->address, sizeof(f->address));
    bad |= bind_i64(st, 3, f->failures);
    bad |= bind_i64(st, 4, f->first_at);
    bad |= bind_i64(st, 5, f->last_at);
    return bad;
}

int cd_store_login_fail_get(struct cd_tx *tx, const char *email,
                            const char *address, struct cd_login_fail *out)
{
    const char *what = "login fail get";
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};
    sqlite3_stmt *st;

    if (check_tx(tx, 0, what) != 0 || !out || !email || !address)
        return CD_STORE_ERROR;
    if (!(st = cd_sq_get(tx->conn, SQ_LOGIN_FAIL_GET)))
        return CD_STORE_ERROR;
    if (bind_key(st, &a) != 0) {
        cd_sq_put(tx->conn, SQ_LOGIN_FAIL_GET, st);
        return bind_failed(what);
    }
    return fetch_one(tx->conn, SQ_LOGIN_FAIL_GET, st, read_login_fail, out,
                     what);
}

int cd_store_login_fail_put(struct cd_tx *tx, const struct cd_login_fail *f)
{
    return run_write(tx, SQ_LOGIN_FAIL_PUT, bind_login_fail, f, 0,
                     "login fail put");
}

int cd_store_login_fail_delete(struct cd_tx *tx, const char *email,
                               const char *address)
{
    struct key_args a = {email, CD_EMAIL_SZ, address, CD_ADDR_SZ};

    if (!email || !address)
        return CD_STORE_ERROR;
    return run_write(tx, SQ_LOGIN_FAIL_DELETE, bind_key, &a, 1,
                     "login fail delete");
}

int cd_store_login_fail_purge(struct cd_tx *tx, int64_t before_ms)
{
    return run_write(tx, SQ_LOGIN_FAIL_PURGE, bind_purge, &before_ms, 0,
                     "login fail purge");
}

/* ---- keyset pages of every account's orders and ledger (010) ----------- */

struct page_run {
    enum cd_sq_stmt key_id, list_id;
    row_reader rd;
    void *row;
    row_visit visit;
    void *ctx;
    int *has_more;
    const char *what;
};

static int read_page_key(sqlite3_stmt *st, void *out)
{
    int64_t *key = out;

    key[0] = sqlite3_column_int64(st, 0);
    key[1] = sqlite3_column_int64(st, 1);
    return 0;
}

/* key: the (created_at, seq) of the row q->starting_after, or the top of
 * the table when there is none; NOT_FOUND when that row does not exist. */
static int page_start(struct cd_tx *tx, const struct cd_page_query *q,
                      const struct page_run *r, int64_t key[2])
{
    key[0] = INT64_MAX;
    key[1] = INT64_MAX;
    if (!q->starting_after || !q->starting_after[0])
        return CD_STORE_OK;
    return get_by_key(tx, r->key_id, q->starting_after, CD_ID_SZ,
                      read_page_key, key, r->what);
}

static int bind_page(sqlite3_stmt *st, const struct cd_page_query *q,
                     const int64_t key[2])
{
    int bad = 0;

    bad |= bind_str(st, 1, q->account_id, CD_ID_SZ);
    bad |= bind_str(st, 2, q->status, CD_STATUS_SZ);
    bad |= bind_str(st, 3, q->kind, CD_KIND_SZ);
    bad |= bind_i64(st, 4, q->from ? q->from : INT64_MIN);
    bad |= bind_i64(st, 5, q->to ? q->to : INT64_MAX);
    bad |= bind_i64(st, 6, key[0]);
    bad |= bind_i64(st, 7, key[1]);
    bad |= bind_i64(st, 8, q->limit + 1); /* one more: is there a next? */
    return bad;
}

/* Reads one page: up to q->limit rows to r->visit, *has_more when a row
 * follows them. */
static int run_page(struct cd_tx *tx, const struct cd_page_query *q,
                    const struct page_run *r)
{
    int64_t key[2], n = 0;
    sqlite3_stmt *st;
    int rc, ret;

    *r->has_more = 0;
    if (check_tx(tx, 0, r->what) != 0 || q->limit < 1 ||
        q->limit > CD_PAGE_MAX)
        return CD_STORE_ERROR;
    if ((ret = page_start(tx, q, r, key)) != CD_STORE_OK)
        return ret;
    if (!(st = cd_sq_get(tx->conn, r->list_id)))
        return CD_STORE_ERROR;
    if (bind_page(st, q, key) != 0) {
        cd_sq_put(tx->conn, r->list_id, st);
        return bind_failed(r->what);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == q->limit) {
            *r->has_more = 1;
            break;
        }
        if (r->rd(st, r->row) != 0) {
            cd_error("store", "%s: stored value longer than its field",
                     r->what);
            ret = CD_STORE_ERROR;
            break;
        }
        n++;
        if (r->visit(r->row, r->ctx) != 0)
            break;
    }
    if (ret == CD_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cd_error("store", "%s: %s", r->what, sqlite3_errmsg(tx->conn->db));
        ret = CD_STORE_ERROR;
    }
    cd_sq_put(tx->conn, r->list_id, st);
    return ret;
}

static int has(const char *s)
{
    return s && s[0];
}

int cd_store_order_page(struct cd_tx *tx, const struct cd_page_query *q,
                        cd_order_cb cb, void *arg, int *has_more)
{
    struct cd_order row;
    struct order_visit v = {cb, arg};
    struct page_run r = {SQ_ORDER_KEY, SQ_ORDER_PAGE_ALL, read_order, &row,
                         visit_order, &v, has_more, "order page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    r.list_id = has(q->account_id) ? SQ_ORDER_PAGE_ACCT
                : has(q->status)   ? SQ_ORDER_PAGE_STATUS
                : has(q->kind)     ? SQ_ORDER_PAGE_KIND
                                   : SQ_ORDER_PAGE_ALL;
    return run_page(tx, q, &r);
}

int cd_store_ledger_page(struct cd_tx *tx, const struct cd_page_query *q,
                         cd_ledger_cb cb, void *arg, int *has_more)
{
    struct cd_ledger_entry row;
    struct ledger_visit v = {cb, arg};
    struct page_run r = {SQ_LEDGER_KEY, SQ_LEDGER_PAGE_ALL, read_ledger,
                         &row, visit_ledger, &v, has_more, "ledger page"};

    if (!q || !cb || !has_more)
        return CD_STORE_ERROR;
    r.list_id = has(q->account_id) ? SQ_LEDGER_PAGE_ACCT
                : has(q->kind)     ? SQ_LEDGER_PAGE_KIND
                                   : SQ_LEDGER_PAGE_ALL;
    return run_page(tx, q, &r);
}
