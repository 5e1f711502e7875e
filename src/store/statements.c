/*
 * statements.c - the text of every SQL statement the store runs, written
 * once for every backend: ?N placeholders (a backend whose engine spells
 * them otherwise translates them when it prepares), standard SQL plus
 * INSERT ... ON CONFLICT, which SQLite (3.24+) and PostgreSQL share.
 * Transaction control is the backend's (backend.h).
 */
#include "store/records.h"

const char *const cd_sq_sql[SQ__COUNT] = {
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
    /* The balance change as one guarded statement (ledger_post). */
    [SQ_ACCOUNT_ADD_GUARDED] =
        "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1 "
        "AND balance + ?2 BETWEEN ?3 AND ?4 RETURNING balance",
    /* Undoes it in the same transaction (the ledger ref existed). */
    [SQ_ACCOUNT_ADD_UNDO] =
        "UPDATE accounts SET balance = balance - ?2 WHERE id = ?1",
    [SQ_ACCOUNT_SET_PASSWORD] =
        "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
    [SQ_TOKEN_DELETE_ACCOUNT] = "DELETE FROM tokens WHERE account_id = ?1",
    /* 013: links mailed (password reset, email verification). */
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
    /* A discount reservation: the order is inserted only while its code
     * (?7) is usable at its created_at (?15) - cd_discount_problem() and
     * the holds of other accounts (?2) since ?23, as in discounts.c. */
    [SQ_ORDER_INSERT_RESERVING] =
        "INSERT INTO orders (" ORDER_COLS ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
        "?21, ?22 FROM discount_codes d WHERE d.code = ?7 AND d.active = 1 "
        "AND (d.expires_at <= 0 OR ?15 < d.expires_at) "
        "AND (d.max_uses = 0 OR d.times_used + (SELECT COUNT(*) FROM orders "
        "p WHERE p.discount_code = ?7 AND p.status = 'pending' "
        "AND p.created_at >= ?23 AND p.account_id != ?2) < d.max_uses)",
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

    [SQ_PRICING_GET] = "SELECT " PRICING_COLS " FROM pricing WHERE id = 1",
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
    /* 021: one request taken from a GCRA bucket, as one guarded upsert:
     * ?3 now (ms), ?4 the interval T, ?5 the tolerance. A row comes back
     * when the request may go (counted); none when it must wait. */
    [SQ_RATE_TAKE] =
        "INSERT INTO rate_limits (scope, key, tat) VALUES (?1, ?2, ?3 + ?4) "
        "ON CONFLICT (scope, key) DO UPDATE SET tat = CASE WHEN "
        "rate_limits.tat > ?3 THEN rate_limits.tat ELSE ?3 END + ?4 "
        "WHERE rate_limits.tat - ?3 <= ?5 RETURNING tat",
    [SQ_RATE_GET] =
        "SELECT tat FROM rate_limits WHERE scope = ?1 AND key = ?2",
    [SQ_RATE_PURGE] = "DELETE FROM rate_limits WHERE tat < ?1",
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
        "AND account_id != COALESCE(?3, '')",
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
     * kind (NULL: any), ?4 <= created_at <= ?5 (?5: the smaller of the
     * `to` bound and the start row's created_at, one bound for the index
     * range), ?6/?7 the (created_at, seq) of the row the page starts
     * after, ?8 the row count. Each
     * statement reads one index (the first filter set among account,
     * status, kind - else created_at), see 010_admin_lists.sql;
     * test_store_pages checks the plans. An optional filter names its
     * parameter first in a comparison, then in IS NULL, so PostgreSQL
     * types it (text) even when it is bound NULL; a parameter that a
     * statement does not name is bound as an integer (cd_store_*_page). */
    [SQ_ORDER_KEY] = "SELECT created_at, seq FROM orders WHERE id = ?1",
    [SQ_ORDER_PAGE_ACCT] = "SELECT " ORDER_COLS " FROM orders WHERE "
                           "account_id = ?1 AND (status = ?2 OR ?2 IS NULL) "
                           "AND (kind = ?3 OR ?3 IS NULL)" PAGE_TAIL,
    [SQ_ORDER_PAGE_STATUS] = "SELECT " ORDER_COLS " FROM orders WHERE "
                             "status = ?2 AND (kind = ?3 OR ?3 IS NULL)"
                             PAGE_TAIL,
    [SQ_ORDER_PAGE_KIND] =
        "SELECT " ORDER_COLS " FROM orders WHERE kind = ?3" PAGE_TAIL,
    [SQ_ORDER_PAGE_ALL] =
        "SELECT " ORDER_COLS " FROM orders WHERE 1 = 1" PAGE_TAIL,
    [SQ_LEDGER_KEY] = "SELECT created_at, seq FROM ledger WHERE id = ?1",
    [SQ_LEDGER_PAGE_ACCT] = "SELECT " LEDGER_COLS " FROM ledger WHERE "
                            "account_id = ?1 AND (kind = ?3 OR ?3 IS NULL)"
                            PAGE_TAIL,
    [SQ_LEDGER_PAGE_KIND] =
        "SELECT " LEDGER_COLS " FROM ledger WHERE kind = ?3" PAGE_TAIL,
    [SQ_LEDGER_PAGE_ALL] =
        "SELECT " LEDGER_COLS " FROM ledger WHERE 1 = 1" PAGE_TAIL,
};

