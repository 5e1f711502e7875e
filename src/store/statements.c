/*
 * statements.c - the text of every SQL statement the store runs, written
 * once for every backend: ?N placeholders (a backend whose engine spells
 * them otherwise translates them when it prepares), standard SQL plus
 * INSERT ... ON CONFLICT, which SQLite (3.24+) and PostgreSQL share.
 * Transaction control is the backend's (backend.h).
 */
#include "store/outbox.h"
#include "store/records.h"

/* The account's (?1) earliest expiry among its open lots. */
#define NEXT_EXPIRY                                                          \
    "SELECT MIN(expires_at) FROM lots WHERE account_id = ?1 AND "            \
    "remaining > 0 AND expires_at > 0"

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
    [SQ_ACCOUNT_BY_EXTERNAL] = "SELECT " ACCOUNT_SEL
                               " FROM accounts WHERE external_id = ?1",
    /* The server key's Creditd-Account (as SQ_TOKEN_ACCOUNT). */
    [SQ_ACCOUNT_AUTH_GET] = "SELECT " ACCOUNT_AUTH_SEL
                            " FROM accounts WHERE id = ?1",
    [SQ_ACCOUNT_AUTH_BY_EXTERNAL] = "SELECT " ACCOUNT_AUTH_SEL
                                    " FROM accounts WHERE external_id = ?1",
    [SQ_ACCOUNT_BY_CUSTOMER] = "SELECT " ACCOUNT_SEL
                               " FROM accounts WHERE stripe_customer_id = ?1",
    [SQ_ACCOUNT_SET_CUSTOMER] =
        "UPDATE accounts SET stripe_customer_id = ?2, "
        "has_saved_payment_method = ?3 WHERE id = ?1",
    [SQ_ACCOUNT_SET_BALANCE] =
        "UPDATE accounts SET balance = ?2 WHERE id = ?1",
    /* The balance change as one guarded statement (ledger_post). */
    [SQ_ACCOUNT_ADD_GUARDED] =
        "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1 "
        "AND balance + ?2 BETWEEN ?3 AND ?4 " HOLD_GUARD " RETURNING balance",
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
        "SELECT " ACCOUNT_AUTH_SEL " FROM accounts WHERE id = "
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
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_LEDGER_BY_REF] = "SELECT " LEDGER_COLS " FROM ledger WHERE ref = ?1",
    /* 023: the count the trigger keeps, not a COUNT(*) of the range. */
    [SQ_LEDGER_COUNT_ACCT] = "SELECT COALESCE((SELECT ledger_entries FROM "
                             "accounts WHERE id = ?1), 0)",
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

    /* 016: lots. Drawing order (billing/lots.h): the debit's own order's
     * lots first (?2, NULL: none), then priority (lower first), soonest
     * expiry (0 = never, last), promotional before paid, oldest. */
    [SQ_LOT_INSERT] = "INSERT INTO lots (" LOT_COLS ") VALUES (?1, ?2, ?3, "
                      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [SQ_LOT_GET] = "SELECT " LOT_COLS ", seq FROM lots WHERE id = ?1",
    [SQ_LOT_OPEN] = "SELECT " LOT_COLS
                    ", seq FROM lots WHERE account_id = ?1 "
                    "AND remaining > 0 ORDER BY "
                    "CASE WHEN order_id = ?2 THEN 0 ELSE 1 END, priority, "
                    "CASE WHEN expires_at = 0 THEN 1 ELSE 0 END, "
                    "expires_at, "
                    "CASE WHEN category = 'promotional' THEN 0 ELSE 1 END, "
                    "seq LIMIT ?3",
    /* The common debit: the first lot in drawing order covers it all. */
    [SQ_LOT_TAKE_FIRST] =
        "UPDATE lots SET remaining = remaining - ?3 WHERE id = (SELECT id "
        "FROM lots WHERE account_id = ?1 AND remaining > 0 ORDER BY "
        "CASE WHEN order_id = ?2 THEN 0 ELSE 1 END, priority, "
        "CASE WHEN expires_at = 0 THEN 1 ELSE 0 END, expires_at, "
        "CASE WHEN category = 'promotional' THEN 0 ELSE 1 END, seq "
        "LIMIT 1) AND remaining >= ?3 RETURNING id",
    /* Guarded: never below zero, whoever drew meanwhile. */
    [SQ_LOT_TAKE] = "UPDATE lots SET remaining = remaining - ?2 "
                    "WHERE id = ?1 AND remaining >= ?2",
    [SQ_LOT_EXPIRE] = "UPDATE lots SET remaining = 0, expired_at = ?3 "
                      "WHERE id = ?1 AND remaining = ?2 AND remaining > 0",
    /* Rollover: ?2 expire now, the rest (?3 - ?2) moves to ?4, once. */
    [SQ_LOT_ROLL] = "UPDATE lots SET remaining = remaining - ?2, "
                    "expires_at = ?4, rolled = 1 WHERE id = ?1 AND "
                    "remaining = ?3 AND rolled = 0",
    [SQ_LOT_DRAW_INSERT] = "INSERT INTO lot_draws (entry_id, lot_id, amount) "
                           "VALUES (?1, ?2, ?3)",
    [SQ_LOT_DRAWS] = "SELECT lot_id, amount FROM lot_draws "
                     "WHERE entry_id = ?1 ORDER BY lot_id",
    [SQ_LOT_DEBT_ADD] = "UPDATE accounts SET debt = debt + ?2 WHERE id = ?1 "
                        "AND debt + ?2 >= 0 RETURNING debt",
    [SQ_LOT_DEBT_GET] = "SELECT debt FROM accounts WHERE id = ?1",
    /* Index lots_due (expires_at) WHERE remaining > 0 AND expires_at > 0. */
    [SQ_LOT_DUE] = "SELECT " LOT_COLS ", seq FROM lots WHERE remaining > 0 "
                   "AND expires_at > 0 AND expires_at <= ?1 "
                   "ORDER BY expires_at, seq LIMIT ?2",
    [SQ_LOT_DUE_ACCT] = "SELECT " LOT_COLS ", seq FROM lots WHERE "
                        "account_id = ?1 AND remaining > 0 AND "
                        "expires_at > 0 AND expires_at <= ?2 "
                        "ORDER BY expires_at, seq LIMIT ?3",
    /* ?2 status: 0 all, 1 active (credits left, not expired), 2 expired
     * (past expires_at); ?3 now; ?4/?5 the key after which (created_at,
     * seq) the page starts, newest first (0/0: from the top). */
    [SQ_LOT_PAGE] = "SELECT " LOT_COLS ", seq FROM lots WHERE "
                    "account_id = ?1 AND (?2 = 0 OR (?2 = 1 AND "
                    "remaining > 0 AND (expires_at = 0 OR expires_at > ?3)) "
                    "OR (?2 = 2 AND expires_at > 0 AND expires_at <= ?3)) "
                    "AND (?4 = 0 OR created_at < ?4 OR (created_at = ?4 "
                    "AND seq < ?5)) ORDER BY created_at DESC, seq DESC "
                    "LIMIT ?6",
    /* The keyset position of the account's lot ?1 (cd_keyset_row). */
    [SQ_LOT_KEY] = "SELECT created_at, seq FROM lots WHERE id = ?1 AND "
                   "account_id = ?2",
    [SQ_LOT_TOTALS] = "SELECT COALESCE(SUM(CASE WHEN category = 'paid' "
                      "THEN remaining ELSE 0 END), 0), "
                      "COALESCE(SUM(CASE WHEN category = 'promotional' "
                      "THEN remaining ELSE 0 END), 0) FROM lots "
                      "WHERE account_id = ?1 AND remaining > 0",
    [SQ_LOT_NEXT_EXPIRY] = "SELECT expires_at, SUM(remaining) FROM lots "
                           "WHERE account_id = ?1 AND remaining > 0 AND "
                           "expires_at > 0 GROUP BY expires_at "
                           "ORDER BY expires_at LIMIT 1",
    /* balance == SUM(remaining) - debt, no debt beside credits left. */
    [SQ_LOT_VERIFY] =
        "SELECT a.id, a.balance, COALESCE(l.total, 0) - a.debt FROM "
        "accounts a LEFT JOIN (SELECT account_id, SUM(remaining) AS total "
        "FROM lots GROUP BY account_id) l ON l.account_id = a.id "
        "WHERE a.balance != COALESCE(l.total, 0) - a.debt OR "
        "(a.debt > 0 AND COALESCE(l.total, 0) > 0) ORDER BY a.seq",

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
    /* kind and created_at never change after the insert: matched, not
     * set. SQLite rewrites the entry of every index naming a column of
     * the SET list, changed or not; so orders_account, orders_created and
     * orders_kind are left alone (docs/PERFORMANCE.md). */
    [SQ_ORDER_UPDATE] =
        "UPDATE orders SET status = ?4, "
        "amount_cents = ?5, discount_cents = ?6, discount_code = ?7, "
        "credits = ?8, currency = ?9, item_id = ?10, description = ?11, "
        "stripe_session_id = ?12, stripe_payment_intent_id = ?13, "
        "failure_reason = ?14, completed_at = ?16, "
        "updated_at = ?17, clawback_credits = ?18, clawback_seq = ?19, "
        "refund_level_cents = ?20, stripe_invoice_id = ?21, "
        "stripe_customer_id = ?22 WHERE id = ?1 AND account_id = ?2 "
        "AND kind = ?3 AND created_at = ?15",
    [SQ_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [SQ_ORDER_BY_SESSION] = "SELECT " ORDER_COLS
                            " FROM orders WHERE stripe_session_id = ?1",
    [SQ_ORDER_BY_PI] =
        "SELECT " ORDER_COLS
        " FROM orders WHERE stripe_payment_intent_id = ?1" NEWEST " LIMIT 1",
    [SQ_ORDER_BY_INVOICE] = "SELECT " ORDER_COLS
                            " FROM orders WHERE stripe_invoice_id = ?1",
    /* 026: the count the trigger keeps, not a COUNT(*) of the range. */
    [SQ_ORDER_COUNT_ACCT] = "SELECT COALESCE((SELECT orders_count FROM "
                            "accounts WHERE id = ?1), 0)",
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
    [SQ_PAYMENT_BY_ORDER] = "SELECT " PAYMENT_COLS
                            " FROM payments WHERE order_id = ?1",
    [SQ_PAYMENT_BY_CHARGE] =
        "SELECT " PAYMENT_COLS
        " FROM payments WHERE stripe_charge_id = ?1" NEWEST " LIMIT 1",
    [SQ_PAYMENT_BY_PI] =
        "SELECT " PAYMENT_COLS
        " FROM payments WHERE stripe_payment_intent_id = ?1" NEWEST
        " LIMIT 1",
    /* 026: the count the trigger keeps. */
    [SQ_PAYMENT_COUNT_ACCT] = "SELECT COALESCE((SELECT payments_count FROM "
                              "accounts WHERE id = ?1), 0)",
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
    [SQ_REFUND_BY_STRIPE] = "SELECT " REFUND_COLS
                            " FROM refunds WHERE stripe_refund_id = ?1",
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
    [SQ_DISCOUNT_GET] = "SELECT " DISCOUNT_COLS
                        " FROM discount_codes WHERE code = ?1",
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
    /* 027: the first word on an invoice's PaymentIntent stays. */
    [SQ_INVOICE_PAYMENT_PUT] =
        "INSERT INTO invoice_payments (stripe_invoice_id, payment_intent, "
        "created_at) VALUES (?1, ?2, ?3) ON CONFLICT (stripe_invoice_id) "
        "DO NOTHING",
    [SQ_INVOICE_PAYMENT_GET] =
        "SELECT stripe_invoice_id, payment_intent, created_at FROM "
        "invoice_payments WHERE stripe_invoice_id = ?1",
    [SQ_INVOICE_PAYMENT_PURGE] =
        "DELETE FROM invoice_payments WHERE created_at < ?1",
    /* 031: paid after ?5 and before ?1 with a PaymentIntent but no card
     * (the terms of the partial index payments_no_card), not tried ?2
     * times nor due after ?3; oldest paid first, at most ?4. The lower
     * bound keeps the range the run reads to its window: payments that
     * never get a card (another payment method) stay in the index. */
    [SQ_CARD_ENRICH_DUE] =
        "SELECT " PAYMENT_COLS " FROM payments WHERE paid_at > 0 "
        "AND stripe_payment_intent_id IS NOT NULL "
        "AND (last4 IS NULL OR stripe_charge_id IS NULL) "
        "AND paid_at <= ?1 AND paid_at > ?5 AND status <> 'failed' AND NOT EXISTS "
        "(SELECT 1 FROM card_enrich c WHERE c.payment_id = payments.id "
        "AND (c.attempts >= ?2 OR c.next_try_at > ?3)) "
        "ORDER BY paid_at ASC, seq ASC LIMIT ?4",
    [SQ_CARD_ENRICH_GET] =
        "SELECT payment_id, attempts, next_try_at, tried_at FROM card_enrich "
        "WHERE payment_id = ?1",
    [SQ_CARD_ENRICH_PUT] =
        "INSERT INTO card_enrich (payment_id, attempts, next_try_at, "
        "tried_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (payment_id) DO "
        "UPDATE SET attempts = excluded.attempts, "
        "next_try_at = excluded.next_try_at, tried_at = excluded.tried_at",
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
    /* A tat past what a take can leave (?3 now + ?4 interval + ?5
     * tolerance) comes from a clock that ran ahead: the bucket starts
     * again from this take. */
    [SQ_RATE_CLAMP] = "UPDATE rate_limits SET tat = ?3 + ?4 "
                      "WHERE scope = ?1 AND key = ?2 AND tat > ?3 + ?4 + ?5",
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

    /* 017: holds (store/holds.c). accounts.held is the sum of the
     * account's active holds: a new hold reserves only what is available
     * (balance - held), a finished one gives its amount back. */
    [SQ_HOLD_INSERT] = "INSERT INTO holds (" HOLD_COLS ") VALUES (?1, ?2, "
                       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_HOLD_GET] = "SELECT " HOLD_COLS " FROM holds WHERE id = ?1",
    [SQ_HOLD_RESERVE] = "UPDATE accounts SET held = held + ?2 WHERE id = ?1 "
                        "AND balance - held >= ?2 RETURNING held",
    [SQ_HOLD_UNRESERVE] = "UPDATE accounts SET held = held - ?2 WHERE "
                          "id = ?1 AND held >= ?2 RETURNING held",
    /* Capture or release: only a live hold (?5 now) changes, once. */
    [SQ_HOLD_FINISH] = "UPDATE holds SET status = ?2, captured = ?3, "
                       "transaction_id = ?4, finished_at = ?5 WHERE id = ?1 "
                       "AND status = 'active' AND expires_at > ?5 "
                       "RETURNING amount",
    /* Every due hold of one account, expired at once (index
     * holds_account_due); the caller gives the sum back to held. */
    [SQ_HOLD_EXPIRE_ACCT] = "UPDATE holds SET status = 'expired', "
                            "finished_at = expires_at WHERE account_id = ?1 "
                            "AND status = 'active' AND expires_at <= ?2 "
                            "RETURNING amount, id",
    /* The sweeper's accounts with due holds (index holds_due). */
    [SQ_HOLD_DUE_ACCOUNTS] = "SELECT DISTINCT account_id FROM holds WHERE "
                             "status = 'active' AND expires_at <= ?1 "
                             "LIMIT ?2",
    /* balance, held, and the part of held that is due (not yet swept). */
    [SQ_HOLD_TOTALS] =
        "SELECT a.balance, a.held, COALESCE((SELECT SUM(h.amount) FROM "
        "holds h WHERE h.account_id = a.id AND h.status = 'active' "
        "AND h.expires_at <= ?2), 0) FROM accounts a WHERE a.id = ?1",
    /* Everything GET /v1/balance shows, in one statement: SQ_HOLD_TOTALS'
     * columns, the debt, SQ_LOT_TOTALS' sums and SQ_LOT_NEXT_EXPIRY's
     * figures (indexes holds_account_due and lots_open); no row: no
     * account. Scalar subqueries only: a joined aggregate was materialized
     * into a temporary table on every read (docs/PERFORMANCE.md). */
    [SQ_BALANCE_TOTALS] =
        "SELECT a.balance, a.held, COALESCE((SELECT SUM(h.amount) FROM "
        "holds h WHERE h.account_id = ?1 AND h.status = 'active' "
        "AND h.expires_at <= ?2), 0), a.debt, "
        "COALESCE((SELECT SUM(l.remaining) FROM lots l WHERE l.account_id "
        "= ?1 AND l.remaining > 0 AND l.category = 'paid'), 0), "
        "COALESCE((SELECT SUM(l.remaining) FROM lots l WHERE l.account_id "
        "= ?1 AND l.remaining > 0 AND l.category = 'promotional'), 0), "
        "(" NEXT_EXPIRY "), (SELECT SUM(remaining) FROM lots WHERE "
        "account_id = ?1 AND remaining > 0 AND expires_at = (" NEXT_EXPIRY
        ")) FROM accounts a WHERE a.id = ?1",
    [SQ_HOLD_KEY] = "SELECT created_at, seq FROM holds WHERE id = ?1 "
                    "AND account_id = ?2",
    /* An account's holds newest first after the key (?3 created_at, ?4
     * seq); ?2 the status as shown ('any' for every one), ?6 now. */
    [SQ_HOLD_PAGE] =
        "SELECT " HOLD_COLS " FROM holds WHERE account_id = ?1 "
        "AND (?2 = 'any' OR (CASE WHEN status = 'active' AND "
        "expires_at <= ?6 THEN 'expired' ELSE status END) = ?2) "
        "AND (created_at < ?3 OR (created_at = ?3 AND seq < ?4))" NEWEST
        " LIMIT ?5",
    [SQ_HOLD_VERIFY] =
        "SELECT a.id, a.held, COALESCE(h.total, 0) FROM accounts a "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM holds "
        "WHERE status = 'active' GROUP BY account_id) h "
        "ON h.account_id = a.id WHERE a.held != COALESCE(h.total, 0) "
        "ORDER BY a.seq",

    /* 010: keyset pages of every account's orders and ledger, newest
     * first. Parameters, the same in each: ?1 account, ?2 status, ?3
     * kind (NULL: any), ?4 <= created_at, (created_at, seq) < (?6, ?7)
     * (024: one row-value bound, the smaller of the start row's key and
     * the `to` filter; ?5 is unused), ?8 the row count. Each
     * statement reads one index (the first filter set among account,
     * status, kind - else created_at), see 010_admin_lists.sql;
     * test_store_pages checks the plans. An optional filter names its
     * parameter first in a comparison, then in IS NULL, so PostgreSQL
     * types it (text) even when it is bound NULL; a parameter that a
     * statement does not name is bound as an integer (cd_store_*_page). */
    [SQ_ORDER_KEY] = "SELECT created_at, seq FROM orders WHERE id = ?1",
    /* 026: starting_after of GET /v1/orders is the account's own. */
    [SQ_ORDER_KEY_ACCT] = "SELECT seq FROM orders WHERE id = ?1 AND "
                          "account_id = ?2",
    [SQ_ORDER_PAGE_ACCT] = "SELECT " ORDER_COLS " FROM orders WHERE "
                           "account_id = ?1 AND (status = ?2 OR ?2 IS NULL) "
                           "AND (kind = ?3 OR ?3 IS NULL)" PAGE_TAIL,
    [SQ_ORDER_PAGE_STATUS] =
        "SELECT " ORDER_COLS " FROM orders WHERE "
        "status = ?2 AND (kind = ?3 OR ?3 IS NULL)" PAGE_TAIL,
    [SQ_ORDER_PAGE_KIND] = "SELECT " ORDER_COLS
                           " FROM orders WHERE kind = ?3" PAGE_TAIL,
    [SQ_ORDER_PAGE_ALL] = "SELECT " ORDER_COLS
                          " FROM orders WHERE 1 = 1" PAGE_TAIL,
    [SQ_LEDGER_KEY] = "SELECT created_at, seq FROM ledger WHERE id = ?1",
    /* 024: starting_after of GET /v1/transactions is the account's own. */
    [SQ_LEDGER_KEY_ACCT] = "SELECT seq FROM ledger WHERE id = ?1 AND "
                           "account_id = ?2",
    [SQ_LEDGER_PAGE_ACCT] =
        "SELECT " LEDGER_COLS " FROM ledger WHERE "
        "account_id = ?1 AND (kind = ?3 OR ?3 IS NULL)" PAGE_TAIL,
    [SQ_LEDGER_PAGE_KIND] = "SELECT " LEDGER_COLS
                            " FROM ledger WHERE kind = ?3" PAGE_TAIL,
    [SQ_LEDGER_PAGE_ALL] = "SELECT " LEDGER_COLS
                           " FROM ledger WHERE 1 = 1" PAGE_TAIL,
    /* 019: the outbox (store/outbox.c). The account's next event number,
     * taken by one guarded statement in the event's own job. */
    [SQ_OB_SEQ_NEXT] = "UPDATE accounts SET event_seq = event_seq + 1 "
                       "WHERE id = ?1 RETURNING event_seq",
    [SQ_OB_EVENT_INSERT] = "INSERT INTO events (" OB_EVENT_COLS
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* One delivery per enabled endpoint subscribed to the type ("*" or
     * a comma-separated list naming it). */
    [SQ_OB_FANOUT] =
        "INSERT INTO event_deliveries (endpoint_id, event_id, account_id, "
        "account_seq, status, attempts, next_attempt_at, created_at) "
        "SELECT id, ?1, ?2, ?3, 'pending', 0, ?5, ?6 FROM webhook_endpoints "
        "WHERE enabled = 1 AND " OB_SUBSCRIBED("?4"),
    [SQ_OB_EVENTS_AFTER] = "SELECT " OB_EVENT_COLS " FROM events WHERE "
                           "account_id = ?1 AND account_seq > ?2 ORDER BY "
                           "account_seq LIMIT ?3",
    [SQ_OB_EP_INSERT] = "INSERT INTO webhook_endpoints (" OB_EP_COLS
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                        "?11, ?12)",
    [SQ_OB_EP_GET] = "SELECT " OB_EP_COLS " FROM webhook_endpoints WHERE "
                     "id = ?1",
    [SQ_OB_EP_LIST] = "SELECT " OB_EP_COLS " FROM webhook_endpoints ORDER BY "
                      "seq LIMIT ?1",
    [SQ_OB_EP_UPDATE] =
        "UPDATE webhook_endpoints SET url = ?2, description = ?3, "
        "event_types = ?4, enabled = ?5, secret = ?6, old_secret = ?7, "
        "old_secret_expires_at = ?8, failing_since = ?9, "
        "disabled_reason = ?10, updated_at = ?12 WHERE id = ?1 AND "
        "created_at = ?11",
    [SQ_OB_EP_DELETE] = "DELETE FROM webhook_endpoints WHERE id = ?1",
    [SQ_OB_EP_DLV_DELETE] = "DELETE FROM event_deliveries WHERE "
                            "endpoint_id = ?1",
    /* The endpoint's run of failures: begun (kept when already on),
     * ended, and past the span (?2: the latest start that disables). */
    [SQ_OB_EP_FAILING] = "UPDATE webhook_endpoints SET failing_since = ?2 "
                         "WHERE id = ?1 AND failing_since = 0",
    [SQ_OB_EP_OK] = "UPDATE webhook_endpoints SET failing_since = 0 WHERE "
                    "id = ?1 AND failing_since != 0",
    [SQ_OB_EP_DISABLE] =
        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?3, "
        "updated_at = ?4 WHERE id = ?1 AND enabled = 1 AND "
        "failing_since != 0 AND failing_since <= ?2",
    /* Due deliveries of enabled endpoints, with what sending needs; a row
     * waits while an earlier one of its endpoint and account is pending
     * and not due (per-account order). */
    [SQ_OB_DUE] =
        "SELECT d.seq, d.endpoint_id, d.event_id, d.account_id, "
        "d.account_seq, d.attempts, d.created_at, e.url, e.secret, "
        "e.old_secret, e.old_secret_expires_at, v.type, v.data, "
        "v.created_at FROM event_deliveries d JOIN webhook_endpoints e ON "
        "e.id = d.endpoint_id JOIN events v ON v.id = d.event_id WHERE "
        "d.status = 'pending' AND d.next_attempt_at <= ?1 AND "
        "e.enabled = 1 AND NOT EXISTS (SELECT 1 FROM event_deliveries p "
        "WHERE p.endpoint_id = d.endpoint_id AND p.account_id = "
        "d.account_id AND p.status = 'pending' AND p.account_seq < "
        "d.account_seq AND p.next_attempt_at > ?1) ORDER BY d.seq LIMIT ?2",
    [SQ_OB_DLV_UPDATE] =
        "UPDATE event_deliveries SET status = ?2, attempts = ?3, "
        "next_attempt_at = ?4, last_status = ?5, last_error = ?6, "
        "delivered_at = ?7 WHERE seq = ?1",
    [SQ_OB_DLV_LIST] =
        "SELECT d.seq, d.event_id, d.account_id, d.account_seq, v.type, "
        "d.status, d.attempts, d.next_attempt_at, d.last_status, "
        "d.last_error, d.created_at, d.delivered_at FROM event_deliveries "
        "d JOIN events v ON v.id = d.event_id WHERE d.endpoint_id = ?1 "
        "ORDER BY d.seq DESC LIMIT ?2 OFFSET ?3",
    /* Finished deliveries (delivered or failed) created before ?1. */
    [SQ_OB_DLV_PURGE] = "DELETE FROM event_deliveries WHERE status != "
                        "'pending' AND created_at < ?1",
    /* A replay: the delivery written, or set back to pending with a new
     * retry window (?3 due, ms; ?4 created, s). */
    [SQ_OB_REPLAY_ID] =
        "INSERT INTO event_deliveries (endpoint_id, event_id, account_id, "
        "account_seq, status, attempts, next_attempt_at, created_at) "
        "SELECT ?1, id, account_id, account_seq, 'pending', 0, ?3, ?4 "
        "FROM events WHERE id = ?2" OB_REPLAY_TAIL,
    /* ?2 account, ?5..?6 its sequence numbers, ?7 most rows; only types
     * the endpoint subscribes to. */
    [SQ_OB_REPLAY_RANGE] =
        "INSERT INTO event_deliveries (endpoint_id, event_id, account_id, "
        "account_seq, status, attempts, next_attempt_at, created_at) "
        "SELECT ?1, v.id, v.account_id, v.account_seq, 'pending', 0, ?3, "
        "?4 FROM events v JOIN webhook_endpoints e ON e.id = ?1 WHERE "
        "v.account_id = ?2 AND v.account_seq >= ?5 AND v.account_seq <= ?6 "
        "AND " OB_SUBSCRIBED(
            "v.type") " ORDER BY v.account_seq LIMIT ?7" OB_REPLAY_TAIL,
    /* 020: balance alerts. */
    [SQ_BA_DELETE] = "DELETE FROM balance_alerts WHERE account_id = ?1",
    [SQ_BA_INSERT] = "INSERT INTO balance_alerts (account_id, threshold, "
                     "created_at) VALUES (?1, ?2, ?3)",
    [SQ_BA_LIST] = "SELECT threshold FROM balance_alerts WHERE "
                   "account_id = ?1 ORDER BY threshold",
    /* The thresholds between two balances: ?2 < threshold <= ?3. */
    [SQ_BA_CROSSED] = "SELECT threshold FROM balance_alerts WHERE "
                      "account_id = ?1 AND threshold > ?2 AND "
                      "threshold <= ?3 ORDER BY threshold",
    /* 022: the same for payments and subscriptions (?3 kind unused); a
     * subscription page starts after a stripe_subscription_id. */
    [SQ_PAYMENT_KEY] = "SELECT created_at, seq FROM payments WHERE id = ?1",
    /* 026: starting_after of GET /v1/payments is the account's own. */
    [SQ_PAYMENT_KEY_ACCT] = "SELECT seq FROM payments WHERE id = ?1 AND "
                            "account_id = ?2",
    [SQ_PAYMENT_PAGE_ACCT] = "SELECT " PAYMENT_COLS " FROM payments WHERE "
                             "account_id = ?1 AND (status = ?2 OR ?2 IS "
                             "NULL)" PAGE_TAIL,
    [SQ_PAYMENT_PAGE_STATUS] = "SELECT " PAYMENT_COLS
                               " FROM payments WHERE status = ?2" PAGE_TAIL,
    [SQ_PAYMENT_PAGE_ALL] = "SELECT " PAYMENT_COLS
                            " FROM payments WHERE 1 = 1" PAGE_TAIL,
    [SQ_SUB_KEY] = "SELECT created_at, seq FROM subscriptions WHERE "
                   "stripe_subscription_id = ?1",
    [SQ_SUB_PAGE_ACCT] =
        "SELECT " SUB_COLS " FROM subscriptions WHERE "
        "account_id = ?1 AND (status = ?2 OR ?2 IS NULL)" PAGE_TAIL,
    [SQ_SUB_PAGE_STATUS] = "SELECT " SUB_COLS
                           " FROM subscriptions WHERE status = ?2" PAGE_TAIL,
    [SQ_SUB_PAGE_ALL] = "SELECT " SUB_COLS
                        " FROM subscriptions WHERE 1 = 1" PAGE_TAIL,
    /* 022: the console's dashboard, summed in SQL over created_at in
     * [?1, ?2) (indexes payments_created, orders_created): paid payments
     * (paid_at set; a payment row is written when it is paid) per
     * currency, and orders per status. */
    [SQ_REVENUE_SUM] =
        "SELECT currency, COUNT(*), "
        "CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT), "
        "CAST(COALESCE(SUM(amount_refunded_cents), 0) AS BIGINT) "
        "FROM payments WHERE created_at >= ?1 AND created_at < ?2 AND "
        "paid_at > 0 GROUP BY currency ORDER BY currency",
    [SQ_ORDER_STATUS_COUNT] =
        "SELECT status, COUNT(*) FROM orders WHERE created_at >= ?1 AND "
        "created_at < ?2 GROUP BY status ORDER BY status",

    /* 018: auto top-up (store/autotopup.c). */
    [SQ_AUTOTOPUP_GET] = "SELECT " AUTOTOPUP_COLS
                         " FROM auto_topup_settings WHERE account_id = ?1",
    [SQ_AUTOTOPUP_PUT] =
        "INSERT INTO auto_topup_settings (" AUTOTOPUP_COLS ") VALUES (?1, "
        "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (account_id) "
        "DO UPDATE SET enabled = excluded.enabled, "
        "threshold = excluded.threshold, "
        "amount_cents = excluded.amount_cents, "
        "monthly_cap_cents = excluded.monthly_cap_cents, "
        "declines = excluded.declines, "
        "disabled_reason = excluded.disabled_reason, "
        "last_failure = excluded.last_failure, "
        "last_decline_code = excluded.last_decline_code, "
        "last_failure_at = excluded.last_failure_at, "
        "updated_at = excluded.updated_at",
    /* The available balance (what holds hold is not), here and in _OPEN. */
    [SQ_AUTOTOPUP_PROBE] =
        "SELECT s.threshold, a.balance - a.held FROM auto_topup_settings s, "
        "accounts a WHERE s.account_id = ?1 AND s.enabled = 1 "
        "AND a.id = s.account_id",
    /* Every guard in the one statement; the partial unique index
     * auto_topup_open refuses a second open attempt (DO NOTHING). */
    [SQ_AUTOTOPUP_OPEN] =
        "INSERT INTO auto_topup_attempts (" ATTEMPT_COLS ") "
        "SELECT ?1, s.account_id, 'pending', s.amount_cents, ?3, 0, NULL, "
        "?4, NULL, NULL, ?4, ?4 FROM auto_topup_settings s, accounts a "
        "WHERE s.account_id = ?2 AND s.enabled = 1 AND a.id = s.account_id "
        "AND a.balance - a.held < s.threshold "
        "AND s.amount_cents + (SELECT COALESCE(SUM(t.amount_cents), 0) "
        "FROM auto_topup_attempts t WHERE t.account_id = ?2 "
        "AND t.month = ?3 AND t.state IN ('pending', 'in_flight', "
        "'succeeded')) <= s.monthly_cap_cents "
        "ON CONFLICT DO NOTHING",
    [SQ_AUTOTOPUP_MONTH_SUM] =
        "SELECT COALESCE(SUM(amount_cents), 0) FROM auto_topup_attempts "
        "WHERE account_id = ?1 AND month = ?2 AND state IN ('pending', "
        "'in_flight', 'succeeded')",
    [SQ_AUTOTOPUP_ATTEMPT_GET] = "SELECT " ATTEMPT_COLS
                                 " FROM auto_topup_attempts WHERE id = ?1",
    [SQ_AUTOTOPUP_ATTEMPT_LAST] =
        "SELECT " ATTEMPT_COLS " FROM auto_topup_attempts "
        "WHERE account_id = ?1 ORDER BY seq DESC LIMIT 1",
    [SQ_AUTOTOPUP_ATTEMPT_UPDATE] =
        "UPDATE auto_topup_attempts SET state = ?2, tries = ?3, "
        "order_id = ?4, next_try_at = ?5, decline_code = ?6, failure = ?7, "
        "updated_at = ?8 WHERE id = ?1",
    [SQ_AUTOTOPUP_CANCEL_PENDING] =
        "UPDATE auto_topup_attempts SET state = 'canceled', updated_at = ?2 "
        "WHERE account_id = ?1 AND state = 'pending'",
    [SQ_AUTOTOPUP_DUE] =
        "SELECT " ATTEMPT_COLS " FROM auto_topup_attempts "
        "WHERE state IN ('pending', 'in_flight') AND next_try_at <= ?1 "
        "ORDER BY next_try_at, seq LIMIT ?2",
};
