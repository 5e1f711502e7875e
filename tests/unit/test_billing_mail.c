/*
 * test_billing_mail.c - the mail outbox: header sanitising (no CR/LF can
 * reach a header), the RFC 5322 Date, the whole message (headers, RFC 2047
 * subject, CRLF body), the retry back-off, and the receipt queued once per
 * order on a real SQLite store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "billing/hooks.h"
#include "billing/mail.h"
#include "util/log.h"
#include "util/util.h"

#include "store_target.h"

static void test_header_clean(void **state)
{
    char out[64];

    (void)state;
    cd_mail_header_clean("Hello\r\nBcc: evil@example.com", out, sizeof(out));
    assert_null(strchr(out, '\r'));
    assert_null(strchr(out, '\n'));
    assert_string_equal(out, "Hello  Bcc: evil@example.com");
    cd_mail_header_clean("  \r\n trimmed \t", out, sizeof(out));
    assert_string_equal(out, "trimmed");
    cd_mail_header_clean(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    /* Truncation never leaves half a UTF-8 sequence. */
    cd_mail_header_clean("ab\xc3\xa9", out, 4);
    assert_string_equal(out, "ab");
    /* A whole character before the cut is kept. */
    cd_mail_header_clean("ab\xc3\xa9"
                         "c",
                         out, 5);
    assert_string_equal(out, "ab\xc3\xa9");
}

static void test_date(void **state)
{
    char d[64];

    (void)state;
    cd_mail_date(0, d, sizeof(d));
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    cd_mail_date(1795089600, d, sizeof(d)); /* 2026-11-19 12:00:00 UTC */
    assert_string_equal(d, "Thu, 19 Nov 2026 12:00:00 +0000");
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(cd_mail_backoff_ms(1, 60000), 60000);
    assert_int_equal(cd_mail_backoff_ms(2, 60000), 120000);
    assert_int_equal(cd_mail_backoff_ms(3, 60000), 240000);
    assert_int_equal(cd_mail_backoff_ms(7, 60000), 3600000);
    assert_int_equal(cd_mail_backoff_ms(10, 60000), 3600000);
    assert_int_equal(cd_mail_backoff_ms(1000, 60000), 3600000);
    assert_int_equal(cd_mail_backoff_ms(1, 0), CD_MAIL_RETRY_BASE_MS);
}

static void test_format(void **state)
{
    struct cd_mail m;
    size_t len = 0;
    char *msg;

    (void)state;
    memset(&m, 0, sizeof(m));
    strcpy(m.id, "mail_abc");
    strcpy(m.to_address, "ada@example.com\r\nBcc: x@example.com");
    strcpy(m.subject, "Your receipt:\r\nX-Injected: 1");
    strcpy(m.body_text, "Thanks for your purchase.\n\n.dot line\nend");
    msg = cd_mail_format(&m, "billing@shop.example", NULL, 0, &len);
    assert_non_null(msg);
    assert_int_equal(strlen(msg), len);
    assert_non_null(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null(strstr(msg, "From: billing@shop.example\r\n"));
    assert_non_null(
        strstr(msg, "To: ada@example.com  Bcc: x@example.com\r\n"));
    assert_null(strstr(msg, "\r\nBcc:"));
    assert_null(strstr(msg, "\r\nX-Injected"));
    assert_non_null(strstr(msg, "Subject: Your receipt:  X-Injected: 1\r\n"));
    assert_non_null(strstr(msg, "Message-ID: <mail_abc@shop.example>\r\n"));
    assert_non_null(strstr(msg, "MIME-Version: 1.0\r\n"));
    assert_non_null(
        strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: 8bit\r\n\r\n"
                                "Thanks for your purchase.\r\n\r\n"
                                ".dot line\r\nend\r\n"));
    /* No bare LF anywhere. */
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n')
            assert_true(i > 0 && msg[i - 1] == '\r');
    free(msg);

    /* A non-ASCII subject is one RFC 2047 encoded word. */
    strcpy(m.subject, "Re\xc3\xa7u");
    msg = cd_mail_format(&m, "billing@shop.example", NULL, 0, &len);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Subject: =?UTF-8?B?UmXDp3U=?=\r\n"));
    free(msg);
}

/* ---- the receipt on a store ---------------------------------------------- */

static struct store_target target;
static struct cd_store *store;

static int ins_account(struct cd_tx *tx, void *arg)
{
    return cd_store_account_insert(tx, arg);
}

static int ins_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_insert(tx, arg);
}

static int receipt(struct cd_tx *tx, void *arg)
{
    return cd_mail_receipt_tx(tx, arg, 5500, 6500, 1795089600);
}

static int get_mail(struct cd_tx *tx, void *arg)
{
    struct cd_mail *m = arg;
    char key[CD_REF_SZ];

    snprintf(key, sizeof(key), "%s", m->dedupe_key);
    return cd_store_mail_get_by_key(tx, key, m);
}

static int count_cb(const struct cd_mail *m, void *arg)
{
    (void)m;
    ++*(int *)arg;
    return 0;
}

struct due_q {
    int n;
};

static int count_due(struct cd_tx *tx, void *arg)
{
    struct due_q *q = arg;

    return cd_store_mail_due(tx, INT64_MAX, 100, count_cb, &q->n);
}

static void test_receipt_once(void **state)
{
    struct cd_account a;
    struct cd_order o;
    struct cd_mail m;
    struct due_q q = {0};

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    store = store_target_open(&target, 0, "cd_mail", 0);
    assert_non_null(store);

    memset(&a, 0, sizeof(a));
    strcpy(a.id, "acct_mailtest");
    strcpy(a.email, "ada@example.com");
    strcpy(a.password_hash, "x");
    a.created_at = 1;
    assert_int_equal(cd_store_write(store, ins_account, &a), 0);
    memset(&o, 0, sizeof(o));
    strcpy(o.id, "ord_mailtest");
    strcpy(o.account_id, a.id);
    strcpy(o.kind, "package");
    strcpy(o.status, "completed");
    strcpy(o.currency, "usd");
    strcpy(o.description, "Standard - 5,500 credits");
    o.amount_cents = 5000;
    o.credits = 5500;
    o.created_at = o.updated_at = 1;
    assert_int_equal(cd_store_write(store, ins_order, &o), 0);

    assert_int_equal(cd_store_write(store, receipt, &o), 0);
    assert_int_equal(cd_store_write(store, receipt, &o), 0);

    memset(&m, 0, sizeof(m));
    strcpy(m.dedupe_key, "order:ord_mailtest:receipt");
    assert_int_equal(cd_store_read(store, get_mail, &m), CD_STORE_OK);
    assert_string_equal(m.to_address, "ada@example.com");
    assert_string_equal(m.status, "queued");
    assert_string_equal(m.subject, "Your receipt: Standard - 5,500 credits");
    assert_non_null(strstr(m.body_text, "Thanks for your purchase"));
    assert_non_null(strstr(m.body_text, "$50.00"));
    assert_non_null(strstr(m.body_text, "Credits added:  5500"));
    assert_non_null(strstr(m.body_text, "New balance:    6500"));
    assert_non_null(strstr(m.body_text, "ord_mailtest"));
    assert_non_null(strstr(m.body_text, "2026-11-19 12:00 UTC"));
    assert_int_equal(cd_store_read(store, count_due, &q), CD_STORE_OK);
    assert_int_equal(q.n, 1);

    store_target_close(&target, store);
}

static int ins_mail(struct cd_tx *tx, void *arg)
{
    return cd_store_mail_insert(tx, arg);
}

/* A mail carrying a one-time secret loses its body once the sender is
 * done with it (here: skipped, no SMTP); any other mail keeps it. */
static void test_secret_mail_cleared(void **state)
{
    struct cd_billing b;
    struct cd_mail_config mc;
    struct cd_mailer *mailer;
    struct cd_mail m[2], got;
    const char *keys[2] = {CD_MAIL_SECRET_PREFIX "reset:abc", "plain:1"};

    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    store = store_target_open(&target, 0, "cd_mail", 0);
    assert_non_null(store);
    for (int i = 0; i < 2; i++) {
        memset(&m[i], 0, sizeof(m[i]));
        snprintf(m[i].id, sizeof(m[i].id), "mail_secret%d", i);
        strcpy(m[i].dedupe_key, keys[i]);
        strcpy(m[i].to_address, "ada@example.com");
        strcpy(m[i].subject, "s");
        strcpy(m[i].body_text, "link: /reset#token=cdr_0123");
        strcpy(m[i].status, "queued");
        m[i].created_at = 1;
        assert_int_equal(cd_store_write(store, ins_mail, &m[i]), 0);
    }
    memset(&b, 0, sizeof(b));
    b.store = store;
    memset(&mc, 0, sizeof(mc));
    mc.poll_ms = 100;
    mailer = cd_mailer_start(&b, &mc);
    assert_non_null(mailer);
    for (int tries = 0; tries < 200; tries++) {
        memset(&got, 0, sizeof(got));
        strcpy(got.dedupe_key, keys[1]);
        assert_int_equal(cd_store_read(store, get_mail, &got), CD_STORE_OK);
        if (strcmp(got.status, "queued") != 0)
            break;
        usleep(50 * 1000); /* polls the condition, bounded to 10 s */
    }
    cd_mailer_stop(mailer);
    assert_string_equal(got.status, "skipped");
    assert_non_null(strstr(got.body_text, "cdr_0123"));
    memset(&got, 0, sizeof(got));
    strcpy(got.dedupe_key, keys[0]);
    assert_int_equal(cd_store_read(store, get_mail, &got), CD_STORE_OK);
    assert_string_equal(got.status, "skipped");
    assert_null(strstr(got.body_text, "cdr_"));

    store_target_close(&target, store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_clean),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_receipt_once),
        cmocka_unit_test(test_secret_mail_cleared),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
