/*
 * test_billing_accounts.c - accounts, tokens, grants/debits, discount codes
 * and pricing administration against a real SQLite store in a temp
 * directory (the store's writer thread and group commit included).
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

#include "billing/accounts.h"
#include "billing/discounts.h"
#include "billing/hooks.h"
#include "billing/mail.h"
#include "billing/password_reset.h"
#include "billing/email_verify.h"
#include "billing/ledger_ops.h"
#include "billing/pricing.h"
#include "util/util.h"

#include "store_target.h"

struct fixture {
    struct store_target t;
    struct cd_billing b;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->b.store = store_target_open(&f->t, 0, "cd_test_accounts", 0);
    if (!f->b.store)
        return -1;
    strcpy(f->b.cfg.currency, "usd");
    strcpy(f->b.cfg.default_pricing.mode, "launch");
    f->b.cfg.default_pricing.launch_cents = 2999;
    f->b.cfg.default_pricing.rrp_cents = 4999;
    f->b.cfg.default_pricing.sale_cents = 2499;
    f->b.cfg.token_ttl = 3600;
    strcpy(f->b.cfg.packages[0].id, "pkg_50");
    strcpy(f->b.cfg.packages[0].name, "50 dollars");
    f->b.cfg.packages[0].price_cents = 5000;
    f->b.cfg.packages[0].credits = 5500;
    f->b.cfg.npackages = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_target_close(&f->t, f->b.store);
    free(f);
    return 0;
}

static void test_email_rules(void **state)
{
    char out[CD_EMAIL_SZ];
    char longmail[300];

    (void)state;
    assert_int_equal(
        cd_account_normalize_email("Ann@Example.COM", out, sizeof(out)), 0);
    assert_string_equal(out, "ann@example.com");
    assert_int_equal(
        cd_account_normalize_email("a.b+c@d.co.uk", out, sizeof(out)), 0);
    assert_int_equal(
        cd_account_normalize_email("ann@localhost", out, sizeof(out)), -1);
    assert_int_equal(cd_account_normalize_email("ann", out, sizeof(out)), -1);
    assert_int_equal(cd_account_normalize_email("@x.com", out, sizeof(out)),
                     -1);
    assert_int_equal(cd_account_normalize_email("a@", out, sizeof(out)), -1);
    assert_int_equal(cd_account_normalize_email("a@@x.com", out, sizeof(out)),
                     -1);
    assert_int_equal(
        cd_account_normalize_email("a@b@x.com", out, sizeof(out)), -1);
    assert_int_equal(
        cd_account_normalize_email("a b@x.com", out, sizeof(out)), -1);
    assert_int_equal(
        cd_account_normalize_email("a\tb@x.com", out, sizeof(out)), -1);
    assert_int_equal(cd_account_normalize_email("a@.x.com", out, sizeof(out)),
                     -1);
    assert_int_equal(cd_account_normalize_email("a@x.com.", out, sizeof(out)),
                     -1);
    assert_int_equal(cd_account_normalize_email("a@x..com", out, sizeof(out)),
                     -1);
    assert_int_equal(cd_account_normalize_email("", out, sizeof(out)), -1);
    memset(longmail, 'a', sizeof(longmail));
    strcpy(longmail + 250, "@x.io"); /* 255 bytes */
    assert_int_equal(cd_account_normalize_email(longmail, out, sizeof(out)),
                     -1);
    strcpy(longmail + 249, "@x.io"); /* 254 bytes */
    assert_int_equal(cd_account_normalize_email(longmail, out, sizeof(out)),
                     0);
}

static void test_password_rules(void **state)
{
    struct cd_error err;

    (void)state;
    assert_int_equal(cd_account_check_password("1234567", 7, &err), -1);
    assert_string_equal(err.code, "weak_password");
    assert_int_equal(cd_account_check_password("12345678", 8, &err), 0);
    assert_int_equal(cd_account_check_password("1234\0"
                                               "5678",
                                               9, &err),
                     -1);
    assert_int_equal(cd_account_check_password(NULL, 0, &err), -1);
}

static void test_signup_login_logout(void **state)
{
    struct fixture *f = *state;
    struct cd_account a, b2, me;
    struct cd_error err;
    char token[CD_TOKEN_SZ], token2[CD_TOKEN_SZ], hash[65], hash2[65];

    assert_int_equal(cd_account_signup(&f->b, "Ann@Example.com",
                                       "correct horse", 13, &a, token, &err),
                     0);
    assert_memory_equal(a.id, "acct_", 5);
    assert_string_equal(a.email, "ann@example.com");
    assert_int_equal(strlen(token), 68);
    assert_memory_equal(token, "cdt_", 4);

    /* Same email in other case: taken. */
    assert_int_equal(cd_account_signup(&f->b, "ANN@example.com",
                                       "another password", 16, &b2, token2,
                                       &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_CONFLICT);
    assert_string_equal(err.code, "email_taken");
    assert_int_equal(cd_account_signup(&f->b, "bad", "another password", 16,
                                       &b2, token2, &err),
                     -1);
    assert_string_equal(err.code, "invalid_email");
    assert_int_equal(cd_account_signup(&f->b, "bob@example.com", "short", 5,
                                       &b2, token2, &err),
                     -1);
    assert_string_equal(err.code, "weak_password");

    assert_int_equal(cd_account_authenticate(&f->b, token, &me, hash, &err),
                     0);
    assert_string_equal(me.id, a.id);
    assert_int_equal(me.balance, 0);

    /* Login: right password gives a second, different token. */
    assert_int_equal(cd_account_login(&f->b, "ann@EXAMPLE.com",
                                      "correct horse", 13, "127.0.0.1", &me,
                                      token2, NULL, &err),
                     0);
    assert_string_equal(me.id, a.id);
    assert_string_not_equal(token, token2);
    assert_int_equal(cd_account_login(&f->b, "ann@example.com",
                                      "wrong horse!", 12, "127.0.0.1", &me,
                                      token2, NULL, &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_AUTH);
    assert_string_equal(err.code, "invalid_credentials");
    assert_int_equal(cd_account_login(&f->b, "nobody@example.com",
                                      "correct horse", 13, "127.0.0.1", &me,
                                      token2, NULL, &err),
                     -1);
    assert_string_equal(err.code, "invalid_credentials");
    assert_int_equal(cd_account_login(&f->b, "not an email", "correct horse",
                                      13, "127.0.0.1", &me, token2, NULL,
                                      &err),
                     -1);
    assert_string_equal(err.code, "invalid_credentials");

    /* Logout kills only that token. */
    assert_int_equal(cd_account_login(&f->b, "ann@example.com",
                                      "correct horse", 13, "127.0.0.1", &me,
                                      token2, NULL, &err),
                     0);
    assert_int_equal(cd_account_authenticate(&f->b, token2, &me, hash2, &err),
                     0);
    assert_int_equal(cd_account_logout(&f->b, hash, &err), 0);
    assert_int_equal(cd_account_authenticate(&f->b, token, &me, NULL, &err),
                     -1);
    assert_string_equal(err.code, "invalid_token");
    assert_int_equal(cd_account_authenticate(&f->b, token2, &me, NULL, &err),
                     0);
    assert_int_equal(cd_account_logout(&f->b, hash, &err), 0); /* again */
    assert_int_equal(
        cd_account_authenticate(&f->b, "cdt_nope", &me, NULL, &err), -1);
    assert_int_equal(cd_account_authenticate(&f->b, "", &me, NULL, &err), -1);

    assert_int_equal(cd_account_get(&f->b, a.id, &me, &err), 0);
    assert_string_equal(me.email, "ann@example.com");
    assert_int_equal(cd_account_get(&f->b, "acct_nope", &me, &err), -1);
    assert_string_equal(err.code, "account_not_found");
}

static void test_external_id_rules(void **state)
{
    char long_id[CD_EXTERNAL_ID_MAX + 2];

    (void)state;
    assert_int_equal(cd_account_check_external_id("user_42"), 0);
    assert_int_equal(cd_account_check_external_id("org:7|u-1.x+y@z"), 0);
    assert_int_equal(cd_account_check_external_id(""), -1);
    assert_int_equal(cd_account_check_external_id(NULL), -1);
    assert_int_equal(cd_account_check_external_id("has space"), -1);
    assert_int_equal(cd_account_check_external_id("a/b"), -1);
    assert_int_equal(cd_account_check_external_id("caf\xc3\xa9"), -1);
    memset(long_id, 'a', sizeof(long_id));
    long_id[CD_EXTERNAL_ID_MAX] = '\0';
    assert_int_equal(cd_account_check_external_id(long_id), 0);
    long_id[CD_EXTERNAL_ID_MAX] = 'a';
    long_id[CD_EXTERNAL_ID_MAX + 1] = '\0';
    assert_int_equal(cd_account_check_external_id(long_id), -1);
}

static void test_external_accounts(void **state)
{
    struct fixture *f = *state;
    struct cd_account a, b2, got;
    struct cd_error err;
    char existing[CD_ID_SZ] = "", token[CD_TOKEN_SZ];
    int64_t wait = 0;

    /* Without an email; a second one without an email too (the store's
     * placeholder keeps them apart). */
    assert_int_equal(
        cd_account_create(&f->b, "u-1", NULL, &a, existing, &err), 0);
    assert_string_equal(a.external_id, "u-1");
    assert_string_equal(a.email, "");
    assert_int_equal(cd_account_create(&f->b, "u-2", "", &b2, existing, &err),
                     0);
    assert_int_equal(cd_account_get(&f->b, a.id, &got, &err), 0);
    assert_string_equal(got.email, "");
    assert_string_equal(got.external_id, "u-1");
    assert_string_equal(got.password_hash, "");

    /* A taken external_id names the account it belongs to. */
    assert_int_equal(cd_account_create(&f->b, "u-1", "x@example.com", &got,
                                       existing, &err),
                     -1);
    assert_string_equal(err.code, "external_id_taken");
    assert_int_equal(err.kind, CD_EK_CONFLICT);
    assert_string_equal(existing, a.id);

    /* With an email: lower-cased, unique against password accounts. */
    assert_int_equal(cd_account_signup(&f->b, "pw@example.com",
                                       "correct horse", 13, &got, token,
                                       &err),
                     0);
    existing[0] = '\0';
    assert_int_equal(cd_account_create(&f->b, "u-3", "PW@example.com", &got,
                                       existing, &err),
                     -1);
    assert_string_equal(err.code, "email_taken");
    assert_string_equal(existing, "");
    assert_int_equal(cd_account_create(&f->b, "u-3", "App@Example.com", &b2,
                                       existing, &err),
                     0);
    assert_string_equal(b2.email, "app@example.com");
    assert_int_equal(
        cd_account_create(&f->b, "bad id", NULL, &got, existing, &err), -1);
    assert_string_equal(err.code, "invalid_external_id");
    assert_int_equal(
        cd_account_create(&f->b, NULL, NULL, &got, existing, &err), -1);
    assert_string_equal(err.code, "missing_param");
    assert_int_equal(
        cd_account_create(&f->b, "u-4", "nope", &got, existing, &err), -1);
    assert_string_equal(err.code, "invalid_email");

    /* No password: a login answers as for an unknown email. */
    assert_int_equal(cd_account_login(&f->b, "app@example.com",
                                      "correct horse", 13, "127.0.0.1", &got,
                                      token, &wait, &err),
                     -1);
    assert_string_equal(err.code, "invalid_credentials");

    /* Found by external_id and by the Creditd-Account forms. */
    assert_int_equal(cd_account_by_external(&f->b, "u-3", &got, &err), 0);
    assert_string_equal(got.id, b2.id);
    assert_int_equal(cd_account_by_external(&f->b, "u-9", &got, &err), -1);
    assert_string_equal(err.code, "account_not_found");
    assert_int_equal(cd_account_by_external(&f->b, "bad id", &got, &err), -1);
    assert_string_equal(err.code, "account_not_found");
    assert_int_equal(cd_account_resolve(&f->b, "ext:u-1", &got, &err), 0);
    assert_string_equal(got.id, a.id);
    assert_int_equal(cd_account_resolve(&f->b, a.id, &got, &err), 0);
    assert_int_equal(cd_account_resolve(&f->b, "ext:", &got, &err), -1);
    assert_true(cd_account_named(&got, "ext:u-1"));
    assert_true(cd_account_named(&got, a.id));
    assert_false(cd_account_named(&got, "ext:u-2"));
    assert_false(cd_account_named(&got, "ext:"));
    /* A password account has no external_id for ext: to name. */
    assert_int_equal(cd_account_by_external(&f->b, "", &got, &err), -1);
}

/* ---- password reset ----------------------------------------------------- */

struct mails {
    const char *to;
    int n;
    char token[CD_RESET_TOKEN_SZ];
    char key[CD_REF_SZ];
};

static int mail_cb(const struct cd_mail *m, void *arg)
{
    struct mails *x = arg;
    const char *t;

    if (strcmp(m->to_address, x->to) != 0)
        return 0;
    x->n++;
    cd_strlcpy(x->key, m->dedupe_key, sizeof(x->key));
    t = strstr(m->body_text, "/reset#token=");
    if (t)
        snprintf(x->token, sizeof(x->token), "%.68s", t + 13);
    return 0;
}

static int mails_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_mail_due(tx, INT64_MAX, 1000, mail_cb, arg);
}

static struct mails mails_to(struct fixture *f, const char *to)
{
    struct mails x;

    memset(&x, 0, sizeof(x));
    x.to = to;
    assert_int_equal(cd_store_read(f->b.store, mails_fn, &x), 0);
    return x;
}

static int insert_reset_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_reset_insert(tx, arg);
}

static int64_t purge_at;

static int purge_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_link_purge(tx, *(int64_t *)arg);
}

struct count_q {
    const char *id;
    int64_t n;
};

static int count_fn(struct cd_tx *tx, void *arg)
{
    struct count_q *q = arg;

    return cd_store_reset_count_since(tx, q->id, "reset", 0, &q->n);
}

static int64_t links_of(struct fixture *f, const char *id)
{
    struct count_q q = {id, -1};

    assert_int_equal(cd_store_read(f->b.store, count_fn, &q), 0);
    return q.n;
}

static void test_password_reset(void **state)
{
    struct fixture *f = *state;
    struct cd_account a, got;
    struct cd_error err;
    struct cd_reset old;
    struct mails m;
    char token[CD_TOKEN_SZ], token2[CD_TOKEN_SZ], ext_id[CD_ID_SZ];
    char dead[CD_RESET_TOKEN_SZ];
    int64_t wait = 0;

    assert_int_equal(cd_account_signup(&f->b, "reset@example.com",
                                       "old password", 12, &a, token, &err),
                     0);
    assert_int_equal(cd_account_login(&f->b, "reset@example.com",
                                      "old password", 12, "127.0.0.1", &got,
                                      token2, &wait, &err),
                     0);
    /* Unknown, app-owned: answered alike, nothing queued. */
    assert_int_equal(
        cd_password_reset_request(&f->b, "nobody@example.com", &err), 0);
    assert_int_equal(mails_to(f, "nobody@example.com").n, 0);
    assert_int_equal(cd_account_create(&f->b, "owned", "owned@example.com",
                                       &got, ext_id, &err),
                     0);
    assert_int_equal(
        cd_password_reset_request(&f->b, "owned@example.com", &err), 0);
    assert_int_equal(mails_to(f, "owned@example.com").n, 0);
    assert_int_equal(cd_password_reset_request(&f->b, "not an email", &err),
                     -1);
    assert_string_equal(err.code, "invalid_email");

    /* One link, its token only in the mail. */
    assert_int_equal(
        cd_password_reset_request(&f->b, "Reset@Example.com", &err), 0);
    m = mails_to(f, "reset@example.com");
    assert_int_equal(m.n, 1);
    assert_int_equal(strncmp(m.key, CD_MAIL_SECRET_PREFIX "reset:",
                             strlen(CD_MAIL_SECRET_PREFIX "reset:")),
                     0);
    assert_int_equal(strlen(m.token), 68);
    assert_null(strstr(m.key, m.token));

    /* A weak password changes nothing; then the reset ends every session. */
    assert_int_equal(
        cd_password_reset_confirm(&f->b, m.token, "short", 5, &err), -1);
    assert_string_equal(err.code, "weak_password");
    assert_int_equal(
        cd_password_reset_confirm(&f->b, m.token, "new password", 12, &err),
        0);
    assert_int_equal(cd_account_authenticate(&f->b, token, &got, NULL, &err),
                     -1);
    assert_int_equal(cd_account_authenticate(&f->b, token2, &got, NULL, &err),
                     -1);
    assert_int_equal(cd_account_login(&f->b, "reset@example.com",
                                      "old password", 12, "127.0.0.2", &got,
                                      token2, &wait, &err),
                     -1);
    assert_int_equal(cd_account_login(&f->b, "reset@example.com",
                                      "new password", 12, "127.0.0.2", &got,
                                      token2, &wait, &err),
                     0);
    /* Used: once only. Malformed: the same answer. */
    assert_int_equal(
        cd_password_reset_confirm(&f->b, m.token, "third password", 14, &err),
        -1);
    assert_string_equal(err.code, "invalid_reset_token");
    assert_int_equal(cd_password_reset_confirm(&f->b, "cdr_nope",
                                               "third password", 14, &err),
                     -1);
    assert_string_equal(err.code, "invalid_reset_token");

    /* Expired. */
    memset(&old, 0, sizeof(old));
    snprintf(dead, sizeof(dead), "cdr_%064d", 7);
    cd_sha256_hex(dead, strlen(dead), old.token_hash);
    cd_strlcpy(old.account_id, a.id, sizeof(old.account_id));
    cd_strlcpy(old.purpose, "reset", sizeof(old.purpose));
    old.created_at = cd_now() - CD_RESET_TTL - 10;
    old.expires_at = cd_now() - 10;
    assert_int_equal(cd_store_write(f->b.store, insert_reset_fn, &old), 0);
    assert_int_equal(
        cd_password_reset_confirm(&f->b, dead, "third password", 14, &err),
        -1);
    assert_string_equal(err.code, "invalid_reset_token");

    /* At most CD_RESET_PER_HOUR links an hour: the first, the expired row
     * (made 30 min ago) and one more. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            cd_password_reset_request(&f->b, "reset@example.com", &err), 0);
    assert_int_equal(mails_to(f, "reset@example.com").n,
                     CD_RESET_PER_HOUR - 1);

    /* The purge keeps links for the hour they count, then drops them. */
    purge_at = cd_now();
    assert_int_equal(cd_store_write(f->b.store, purge_fn, &purge_at), 0);
    assert_int_equal(links_of(f, a.id), CD_RESET_PER_HOUR);
    purge_at = cd_now() + CD_RESET_TTL + 3600;
    assert_int_equal(cd_store_write(f->b.store, purge_fn, &purge_at), 0);
    assert_int_equal(links_of(f, a.id), 0);
}

struct vmails {
    const char *to;
    int n;
    char token[80];
};

static int vmail_cb(const struct cd_mail *m, void *arg)
{
    struct vmails *x = arg;
    const char *t = strstr(m->body_text, "/verify#token=");

    if (strcmp(m->to_address, x->to) != 0 || !t)
        return 0;
    x->n++;
    snprintf(x->token, sizeof(x->token), "%.68s", t + 14);
    return 0;
}

static int vmails_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_mail_due(tx, INT64_MAX, 1000, vmail_cb, arg);
}

static void test_email_verification_gate(void **state)
{
    struct fixture *f = *state;
    struct cd_account a, got, owned;
    struct cd_error err;
    struct vmails v;
    char token[CD_TOKEN_SZ], ext[CD_ID_SZ];

    /* Off (the default): nothing mailed, nothing gated. */
    assert_int_equal(cd_account_signup(&f->b, "off@example.com",
                                       "long enough", 11, &a, token, &err),
                     0);
    memset(&v, 0, sizeof(v));
    v.to = "off@example.com";
    assert_int_equal(cd_store_read(f->b.store, vmails_fn, &v), 0);
    assert_int_equal(v.n, 0);
    assert_int_equal(cd_email_verify_may_buy(&f->b, &a, &err), 0);

    f->b.cfg.require_email_verification = 1;
    assert_int_equal(cd_account_signup(&f->b, "on@example.com", "long enough",
                                       11, &a, token, &err),
                     0);
    memset(&v, 0, sizeof(v));
    v.to = "on@example.com";
    assert_int_equal(cd_store_read(f->b.store, vmails_fn, &v), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(cd_email_verify_may_buy(&f->b, &a, &err), -1);
    assert_string_equal(err.code, "email_not_verified");
    assert_int_equal(err.kind, CD_EK_FORBIDDEN);
    /* an account owned by the application is not gated */
    assert_int_equal(cd_account_create(&f->b, "app-v", "appv@example.com",
                                       &owned, ext, &err),
                     0);
    assert_int_equal(cd_email_verify_may_buy(&f->b, &owned, &err), 0);

    assert_int_equal(cd_email_verify_confirm(&f->b, "cdv_x", &err), -1);
    assert_string_equal(err.code, "invalid_verification_token");
    assert_int_equal(cd_email_verify_confirm(&f->b, v.token, &err), 0);
    assert_int_equal(cd_account_get(&f->b, a.id, &got, &err), 0);
    assert_true(got.email_verified_at > 0);
    assert_int_equal(cd_email_verify_may_buy(&f->b, &got, &err), 0);
    assert_int_equal(cd_email_verify_confirm(&f->b, v.token, &err), -1);
    assert_string_equal(err.code, "invalid_verification_token");
    assert_int_equal(cd_email_verify_request(&f->b, &got, &err), -1);
    assert_string_equal(err.code, "email_already_verified");
}

static void test_grants_debits(void **state)
{
    struct fixture *f = *state;
    struct cd_account a;
    struct cd_ledger_entry e, e2;
    struct cd_ledger_op op;
    struct cd_ledger_check chk;
    struct cd_error err;
    char token[CD_TOKEN_SZ];
    int replayed;
    int64_t bal;

    assert_int_equal(cd_account_signup(&f->b, "led@example.com",
                                       "password123", 11, &a, token, &err),
                     0);
    memset(&op, 0, sizeof(op));
    op.account_id = a.id;
    op.amount = 1000;
    op.description = "welcome";
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, &replayed, &err), 0);
    assert_int_equal(replayed, 0);
    assert_int_equal(e.amount, 1000);
    assert_int_equal(e.balance_after, 1000);
    assert_string_equal(e.kind, "grant");

    /* Debit with an idempotency key: the retry replays, never doubles. */
    op.amount = 300;
    op.description = "usage";
    op.idem_scope = "server:x";
    op.idem_key = "k1";
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e, &replayed, &err), 0);
    assert_int_equal(e.balance_after, 700);
    assert_string_equal(e.kind, "usage");
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e2, &replayed, &err), 0);
    assert_int_equal(replayed, 1);
    assert_string_equal(e2.id, e.id);
    assert_int_equal(cd_ledger_balance(&f->b, a.id, &bal, &err), 0);
    assert_int_equal(bal, 700);
    /* Same key, other amount: conflict. */
    op.amount = 301;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e2, &replayed, &err), -1);
    assert_string_equal(err.code, "idempotency_key_reused");

    /* Too much: 402, nothing written. */
    op.idem_key = NULL;
    op.idem_scope = NULL;
    op.amount = 701;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e, &replayed, &err), -1);
    assert_int_equal(err.kind, CD_EK_PAYMENT);
    assert_string_equal(err.code, "insufficient_balance");
    op.allow_negative = 1;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e, &replayed, &err), 0);
    assert_int_equal(e.balance_after, -1);

    /* Bounds. */
    op.amount = 0;
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, &replayed, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
    op.amount = CD_AMOUNT_MAX + 1;
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, &replayed, &err), -1);
    op.amount = CD_AMOUNT_MAX;
    op.account_id = "acct_missing";
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, &replayed, &err), -1);
    assert_string_equal(err.code, "account_not_found");

    assert_int_equal(cd_ledger_verify(&f->b, &chk, NULL, NULL, &err), 0);
    assert_int_equal(chk.mismatches, 0);
    assert_int_equal(chk.sum_balances, chk.sum_entries);
    assert_true(chk.accounts >= 1);
}

static void test_discounts_and_pricing(void **state)
{
    struct fixture *f = *state;
    struct cd_discount_new in;
    struct cd_discount d;
    struct cd_discount_quote q;
    struct cd_pricing p;
    struct cd_error err;

    memset(&in, 0, sizeof(in));
    in.code = "launch10";
    in.percent_off = 10;
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), 0);
    assert_string_equal(d.code, "LAUNCH10");
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    assert_string_equal(err.code, "code_exists");
    in.code = "both";
    in.amount_off_cents = 100;
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    assert_int_equal(err.kind, CD_EK_INVALID);
    in.percent_off = 0;
    in.amount_off_cents = 0;
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    in.percent_off = 101;
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    in.percent_off = 100;
    in.expires_at = cd_now() - 10;
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    in.expires_at = 0;
    in.code = "bad code";
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), -1);
    in.code = "free";
    assert_int_equal(cd_discount_create(&f->b, &in, &d, &err), 0);

    assert_int_equal(cd_discount_validate(&f->b, "Launch10", "acct_unit",
                                          NULL, NULL, &q, &err),
                     0);
    assert_true(q.valid);
    assert_int_equal(q.base_cents, 2999);
    assert_int_equal(q.discount_cents, 300);
    assert_int_equal(q.final_cents, 2699);
    assert_null(q.error);
    assert_int_equal(cd_discount_validate(&f->b, "LAUNCH10", "acct_unit",
                                          "package", "pkg_50", &q, &err),
                     0);
    assert_int_equal(q.base_cents, 5000);
    assert_int_equal(q.final_cents, 4500);
    assert_int_equal(cd_discount_validate(&f->b, "LAUNCH10", "acct_unit",
                                          "package", "nope", &q, &err),
                     -1);
    assert_int_equal(cd_discount_validate(&f->b, "LAUNCH10", "acct_unit",
                                          "topup", NULL, &q, &err),
                     -1);
    assert_string_equal(err.code, "discount_not_applicable");
    assert_int_equal(cd_discount_validate(&f->b, "nosuch", "acct_unit", NULL,
                                          NULL, &q, &err),
                     0);
    assert_false(q.valid);
    assert_string_equal(q.error, "unknown_code");
    assert_int_equal(q.final_cents, 2999);
    assert_int_equal(cd_discount_validate(&f->b, "FREE", "acct_unit", NULL,
                                          NULL, &q, &err),
                     0);
    assert_false(q.valid);
    assert_string_equal(q.error, "amount_below_minimum");

    assert_int_equal(cd_discount_deactivate(&f->b, "launch10", &d, &err), 0);
    assert_false(d.active);
    assert_int_equal(cd_discount_validate(&f->b, "LAUNCH10", "acct_unit",
                                          NULL, NULL, &q, &err),
                     0);
    assert_string_equal(q.error, "inactive");
    assert_int_equal(cd_discount_deactivate(&f->b, "nosuch", &d, &err), -1);
    assert_int_equal(err.kind, CD_EK_NOT_FOUND);

    /* Pricing: defaults, then a stored change effective at once. */
    assert_int_equal(cd_pricing_current(&f->b, &p, &err), 0);
    assert_string_equal(p.mode, "launch");
    assert_int_equal(cd_pricing_update(&f->b, "sale", 0, 0, 1999, &p, &err),
                     0);
    assert_int_equal(cd_pricing_current(&f->b, &p, &err), 0);
    assert_string_equal(p.mode, "sale");
    assert_int_equal(p.sale_cents, 1999);
    assert_int_equal(p.launch_cents, 2999);
    assert_int_equal(cd_pricing_base_cents(&p), 1999);
    assert_int_equal(cd_pricing_update(&f->b, "cheap", 0, 0, 0, &p, &err),
                     -1);
    assert_int_equal(cd_pricing_update(&f->b, NULL, -1, 0, 0, &p, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
}

/* Prices below the smallest charge (50 cents, as start-up config demands)
 * would make every access checkout fail: refused, naming the field, and
 * nothing changes. 50 and 10^12 are the bounds. */
static void test_pricing_floor(void **state)
{
    struct fixture *f = *state;
    struct cd_pricing p;
    struct cd_error err;

    assert_int_equal(cd_pricing_update(&f->b, NULL, 1, 0, 0, &p, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
    assert_string_equal(err.param, "launch_cents");
    assert_int_equal(cd_pricing_update(&f->b, NULL, 0, 49, 0, &p, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
    assert_string_equal(err.param, "rrp_cents");
    assert_int_equal(cd_pricing_update(&f->b, "sale", 0, 0, 49, &p, &err),
                     -1);
    assert_string_equal(err.param, "sale_cents");
    assert_int_equal(
        cd_pricing_update(&f->b, NULL, CD_AMOUNT_MAX + 1, 0, 0, &p, &err),
        -1);
    assert_string_equal(err.param, "launch_cents");
    assert_int_equal(cd_pricing_current(&f->b, &p, &err), 0);
    assert_string_equal(p.mode, "launch");
    assert_int_equal(p.launch_cents, 2999);
    assert_int_equal(p.rrp_cents, 4999);
    assert_int_equal(p.sale_cents, 2499);

    assert_int_equal(
        cd_pricing_update(&f->b, NULL, 50, CD_AMOUNT_MAX, 0, &p, &err), 0);
    assert_int_equal(p.launch_cents, 50);
    assert_int_equal(p.rrp_cents, CD_AMOUNT_MAX);
}

static int job_old_entry(struct cd_tx *tx, void *arg)
{
    const struct cd_ledger_entry *e = arg;

    return cd_store_ledger_insert(tx, e);
}

/* The ledger ref "idem:<scope>:<key>" outlives the 24 h idempotency row:
 * a key reused later must not replay the old debit (201, nothing
 * debited) but answer 409; within 24 h only the same request replays. */
static void test_idem_ref_reuse(void **state)
{
    struct fixture *f = *state;
    struct cd_account a;
    struct cd_ledger_entry e, old;
    struct cd_ledger_op op;
    struct cd_error err;
    char token[CD_TOKEN_SZ];
    int replayed;
    int64_t bal;

    assert_int_equal(cd_account_signup(&f->b, "reuse@example.com",
                                       "password123", 11, &a, token, &err),
                     0);
    memset(&op, 0, sizeof(op));
    op.account_id = a.id;
    op.amount = 1000;
    assert_int_equal(cd_ledger_grant(&f->b, &op, &e, &replayed, &err), 0);

    /* A debit made with key "old-1" 25 hours ago (its idempotency row is
     * long purged). */
    memset(&old, 0, sizeof(old));
    strcpy(old.id, "txn_unit_old_debit");
    strcpy(old.account_id, a.id);
    old.amount = -100;
    old.balance_after = 900;
    strcpy(old.kind, "usage");
    strcpy(old.ref, "idem:server:x:old-1");
    strcpy(old.description, "report");
    old.created_at = cd_now() - 25 * 3600;
    assert_int_equal(cd_store_write(f->b.store, job_old_entry, &old), 0);

    op.amount = 100;
    op.description = "report";
    op.idem_scope = "server:x";
    op.idem_key = "old-1";
    cd_error_clear(&err);
    replayed = -1;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e, &replayed, &err), -1);
    assert_int_equal(err.kind, CD_EK_CONFLICT);
    assert_string_equal(err.code, "idempotency_key_reused");
    assert_non_null(strstr(err.message, "24 hours"));

    /* Fresh key: debits; the same request replays; another description
     * (or amount) with the same key is a conflict. */
    op.idem_key = "new-1";
    assert_int_equal(cd_ledger_debit(&f->b, &op, &e, &replayed, &err), 0);
    assert_int_equal(replayed, 0);
    assert_int_equal(cd_ledger_debit(&f->b, &op, &old, &replayed, &err), 0);
    assert_int_equal(replayed, 1);
    assert_string_equal(old.id, e.id);
    op.description = "another report";
    assert_int_equal(cd_ledger_debit(&f->b, &op, &old, &replayed, &err), -1);
    assert_string_equal(err.code, "idempotency_key_reused");
    op.description = NULL;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &old, &replayed, &err), -1);
    assert_string_equal(err.code, "idempotency_key_reused");
    op.description = "report";
    op.amount = 101;
    assert_int_equal(cd_ledger_debit(&f->b, &op, &old, &replayed, &err), -1);
    assert_string_equal(err.code, "idempotency_key_reused");
    /* Same key as a grant: another kind. */
    op.amount = 100;
    assert_int_equal(cd_ledger_grant(&f->b, &op, &old, &replayed, &err), -1);
    assert_string_equal(err.code, "idempotency_key_reused");

    /* The stored balance moved only for the grant and the one new debit
     * (the back-dated entry was inserted without touching it). */
    assert_int_equal(cd_ledger_balance(&f->b, a.id, &bal, &err), 0);
    assert_int_equal(bal, 900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_rules),
        cmocka_unit_test(test_password_rules),
        cmocka_unit_test(test_external_id_rules),
        cmocka_unit_test_setup_teardown(test_email_verification_gate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_password_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_accounts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_signup_login_logout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_grants_debits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discounts_and_pricing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pricing_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idem_ref_reuse, setup, teardown),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
