/*
 * email_verify.c - email verification by a one-time link and the purchase
 * gate; see email_verify.h.
 */
#include "billing/email_verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/mail.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "billing"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

static int bad_token(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INVALID, "invalid_verification_token",
                        "token",
                        "this verification link is not valid, was used, or "
                        "expired; ask for a new one");
}

static void verify_mail(const char *base_url, const struct cd_account *a,
                        const struct cd_reset *r, const char *token,
                        int64_t now, struct cd_mail *m)
{
    _Static_assert(sizeof(m->dedupe_key) == CD_REF_SZ &&
                       CD_REF_FITS(CD_MAIL_SECRET_PREFIX "verify:",
                                   sizeof(r->token_hash) - 1),
                   "secret:verify:<token hash> fits the mail dedupe key");
    cd_random_id("mail_", m->id, sizeof(m->id));
    snprintf(m->dedupe_key, sizeof(m->dedupe_key), "%sverify:%s",
             CD_MAIL_SECRET_PREFIX, r->token_hash);
    cd_strlcpy(m->account_id, a->id, sizeof(m->account_id));
    cd_strlcpy(m->to_address, a->email, sizeof(m->to_address));
    cd_strlcpy(m->subject, "Confirm your email address", sizeof(m->subject));
    cd_strlcpy(m->status, "queued", sizeof(m->status));
    m->next_attempt_at = now * 1000;
    m->created_at = now;
    snprintf(m->body_text, sizeof(m->body_text),
             "Please confirm that %s is your address at\n%s.\n"
             "\n"
             "Open this link within %d hours:\n"
             "\n"
             "%s/verify#token=%s\n"
             "\n"
             "If you did not sign up, ignore this mail.\n",
             a->email, base_url, CD_VERIFY_TTL / 3600, base_url, token);
}

int cd_email_verify_queue_tx(struct cd_tx *tx, const char *base_url,
                             const struct cd_account *a, int64_t now)
{
    char token[72];
    unsigned char raw[32];
    struct cd_reset r;
    struct cd_mail *m;
    int rc;

    memset(&r, 0, sizeof(r));
    cd_random_bytes(raw, sizeof(raw));
    memcpy(token, CD_VERIFY_PREFIX, sizeof(CD_VERIFY_PREFIX) - 1);
    cd_hex(raw, sizeof(raw), token + sizeof(CD_VERIFY_PREFIX) - 1);
    sodium_memzero(raw, sizeof(raw));
    cd_sha256_hex(token, strlen(token), r.token_hash);
    cd_strlcpy(r.purpose, "verify", sizeof(r.purpose));
    cd_strlcpy(r.account_id, a->id, sizeof(r.account_id));
    r.created_at = now;
    r.expires_at = now + CD_VERIFY_TTL;
    if (cd_store_reset_insert(tx, &r) != CD_STORE_OK)
        return CD_STORE_ERROR;
    m = calloc(1, sizeof(*m));
    if (!m)
        return CD_STORE_ERROR;
    verify_mail(base_url, a, &r, token, now, m);
    sodium_memzero(token, sizeof(token));
    rc = cd_store_mail_insert(tx, m);
    sodium_memzero(m->body_text, sizeof(m->body_text));
    free(m);
    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}

struct request_job {
    const char *base_url;
    const struct cd_account *a;
    int64_t now;
    int limited;
};

static int request_fn(struct cd_tx *tx, void *arg)
{
    struct request_job *j = arg;
    int64_t recent = 0;

    if (cd_store_reset_count_since(tx, j->a->id, "verify", j->now - 3600,
                                   &recent) != CD_STORE_OK)
        return 1;
    if (recent >= CD_VERIFY_PER_HOUR) {
        j->limited = 1;
        return 1;
    }
    return cd_email_verify_queue_tx(tx, j->base_url, j->a, j->now) ==
                   CD_STORE_OK
               ? 0
               : 1;
}

int cd_email_verify_request(struct cd_billing *b, const struct cd_account *a,
                            struct cd_error *err)
{
    struct request_job j = {b->cfg.base_url, a, cd_now(), 0};
    int rc;

    if (!a->email[0])
        return cd_error_set(err, CD_EK_CONFLICT, "no_email", NULL,
                            "this account has no email address");
    if (a->email_verified_at)
        return cd_error_set(err, CD_EK_CONFLICT, "email_already_verified",
                            NULL, "this email address is verified");
    rc = cd_store_write(b->store, request_fn, &j);
    if (rc != 0 && j.limited) {
        cd_error_set(err, CD_EK_RATE, "rate_limited", NULL,
                     "at most %d verification links an hour",
                     CD_VERIFY_PER_HOUR);
        err->retry_after = 3600;
        return -1;
    }
    if (rc != 0)
        return internal(err);
    cd_info(MOD, "verification link queued for account %s", a->id);
    return 0;
}

struct confirm_job {
    char hash[65];
    int64_t now;
    char account_id[CD_ID_SZ];
    int rc;
};

static int confirm_fn(struct cd_tx *tx, void *arg)
{
    struct confirm_job *j = arg;
    struct cd_reset r;

    j->rc = cd_store_reset_get(tx, j->hash, &r);
    if (j->rc != CD_STORE_OK)
        return 1;
    if (r.used_at || r.expires_at <= j->now ||
        strcmp(r.purpose, "verify") != 0) {
        j->rc = CD_STORE_NOT_FOUND;
        return 1;
    }
    cd_strlcpy(j->account_id, r.account_id, sizeof(j->account_id));
    if ((j->rc = cd_store_account_set_verified(tx, r.account_id, j->now)) !=
            CD_STORE_OK ||
        (j->rc = cd_store_reset_use_all(tx, r.account_id, "verify",
                                        j->now)) != CD_STORE_OK)
        return 1;
    return 0;
}

int cd_email_verify_confirm(struct cd_billing *b, const char *token,
                            struct cd_error *err)
{
    struct confirm_job j;
    size_t n = sizeof(CD_VERIFY_PREFIX) - 1;
    int rc;

    if (!token || !*token)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "token",
                            "token is required");
    if (strlen(token) != n + 64 || strncmp(token, CD_VERIFY_PREFIX, n) != 0)
        return bad_token(err);
    for (const char *t = token + n; *t; t++)
        if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
            return bad_token(err);
    memset(&j, 0, sizeof(j));
    cd_sha256_hex(token, strlen(token), j.hash);
    j.now = cd_now();
    rc = cd_store_write(b->store, confirm_fn, &j);
    if (rc != 0 && j.rc == CD_STORE_NOT_FOUND)
        return bad_token(err);
    if (rc != 0)
        return internal(err);
    cd_info(MOD, "account %s: email verified", j.account_id);
    return 0;
}

static int paid_fn(struct cd_tx *tx, void *arg)
{
    const struct cd_account *a = ((void **)arg)[0];
    int64_t *n = ((void **)arg)[1];

    return cd_store_order_count_paid(tx, a->id, n);
}

int cd_email_verify_may_buy(struct cd_billing *b, const struct cd_account *a,
                            struct cd_error *err)
{
    int64_t paid = 0;
    void *args[2] = {(void *)a, &paid};

    if (!b->cfg.require_email_verification || a->external_id[0] ||
        !a->email[0] || a->email_verified_at)
        return 0;
    if (cd_store_read(b->store, paid_fn, args) != CD_STORE_OK)
        return internal(err);
    if (paid > 0) /* bought before verification was required */
        return 0;
    return cd_error_set(err, CD_EK_FORBIDDEN, "email_not_verified", NULL,
                        "confirm your email address (the link we mailed "
                        "you) before the first purchase");
}
