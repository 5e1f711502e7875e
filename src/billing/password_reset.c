/*
 * password_reset.c - password reset by a one-time link; see
 * password_reset.h.
 */
#include "billing/password_reset.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/accounts.h"
#include "billing/mail.h"
#include "util/log.h"
#include "util/util.h"

#define MOD "billing"

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

/* ---- request ------------------------------------------------------------ */

struct request_job {
    const char *email; /* normalised */
    const char *base_url;
    char token[CD_RESET_TOKEN_SZ];
    struct cd_reset r;
    int64_t now;
    int queued;
};

static void reset_mail(const struct request_job *j, const char *account_id,
                       struct cd_mail *m)
{
    _Static_assert(sizeof(m->dedupe_key) == CD_REF_SZ &&
                       CD_REF_FITS(CD_MAIL_SECRET_PREFIX "reset:",
                                   sizeof(j->r.token_hash) - 1),
                   "secret:reset:<token hash> fits the mail dedupe key");
    cd_random_id("mail_", m->id, sizeof(m->id));
    snprintf(m->dedupe_key, sizeof(m->dedupe_key), "%sreset:%s",
             CD_MAIL_SECRET_PREFIX, j->r.token_hash);
    cd_strlcpy(m->account_id, account_id, sizeof(m->account_id));
    cd_strlcpy(m->to_address, j->email, sizeof(m->to_address));
    cd_strlcpy(m->subject, "Reset your password", sizeof(m->subject));
    cd_strlcpy(m->status, "queued", sizeof(m->status));
    m->next_attempt_at = j->now * 1000;
    m->created_at = j->now;
    snprintf(m->body_text, sizeof(m->body_text),
             "Someone asked to reset the password of the account %s at\n"
             "%s.\n"
             "\n"
             "To choose a new password, open this link within %d minutes:\n"
             "\n"
             "%s/reset#token=%s\n"
             "\n"
             "The link works once. If you did not ask for it, ignore this\n"
             "mail: your password stays as it is.\n",
             j->email, j->base_url, CD_RESET_TTL / 60, j->base_url, j->token);
}

/* Always one write job, whether or not it sends: the same work and the
 * same answer for every email. */
static int request_fn(struct cd_tx *tx, void *arg)
{
    struct request_job *j = arg;
    struct cd_account a;
    struct cd_mail *m;
    int64_t recent = 0;
    int rc = cd_store_account_by_email(tx, j->email, &a);

    if (rc == CD_STORE_NOT_FOUND)
        return 0;
    if (rc != CD_STORE_OK)
        return 1;
    rc = a.password_hash[0] ? CD_STORE_OK : CD_STORE_NOT_FOUND;
    sodium_memzero(a.password_hash, sizeof(a.password_hash));
    if (rc != CD_STORE_OK) /* owned by the app: it has no password */
        return 0;
    if (cd_store_reset_count_since(tx, a.id, "reset", j->now - 3600,
                                   &recent) != CD_STORE_OK)
        return 1;
    if (recent >= CD_RESET_PER_HOUR)
        return 0;
    cd_strlcpy(j->r.account_id, a.id, sizeof(j->r.account_id));
    cd_strlcpy(j->r.purpose, "reset", sizeof(j->r.purpose));
    j->r.created_at = j->now;
    j->r.expires_at = j->now + CD_RESET_TTL;
    if (cd_store_reset_insert(tx, &j->r) != CD_STORE_OK)
        return 1;
    m = calloc(1, sizeof(*m));
    if (!m)
        return 1;
    reset_mail(j, a.id, m);
    rc = cd_store_mail_insert(tx, m);
    sodium_memzero(m->body_text, sizeof(m->body_text));
    free(m);
    if (rc != CD_STORE_OK)
        return 1;
    j->queued = 1;
    return 0;
}

static void new_reset_token(char *token, char *hash)
{
    unsigned char raw[32];

    cd_random_bytes(raw, sizeof(raw));
    memcpy(token, CD_RESET_PREFIX, sizeof(CD_RESET_PREFIX) - 1);
    cd_hex(raw, sizeof(raw), token + sizeof(CD_RESET_PREFIX) - 1);
    sodium_memzero(raw, sizeof(raw));
    cd_sha256_hex(token, strlen(token), hash);
}

int cd_password_reset_request(struct cd_billing *b, const char *email,
                              struct cd_error *err)
{
    char norm[CD_EMAIL_SZ];
    struct request_job j;
    int rc;

    if (!email || !*email)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "email",
                            "email is required");
    if (cd_account_normalize_email(email, norm, sizeof(norm)) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_email", "email",
                            "email address is not valid");
    memset(&j, 0, sizeof(j));
    j.email = norm;
    j.base_url = b->cfg.base_url;
    j.now = cd_now();
    new_reset_token(j.token, j.r.token_hash);
    rc = cd_store_write(b->store, request_fn, &j);
    sodium_memzero(j.token, sizeof(j.token));
    if (rc != 0)
        return internal(err);
    if (j.queued)
        cd_info(MOD, "password reset link queued for account %s",
                j.r.account_id);
    return 0;
}

/* ---- confirm ------------------------------------------------------------ */

struct confirm_job {
    char hash[65];
    char password_hash[CD_HASH_SZ];
    int64_t now;
    char account_id[CD_ID_SZ];
    int rc; /* CD_STORE_NOT_FOUND: no live reset */
};

static int confirm_fn(struct cd_tx *tx, void *arg)
{
    struct confirm_job *j = arg;
    struct cd_reset r;

    j->rc = cd_store_reset_get(tx, j->hash, &r);
    if (j->rc != CD_STORE_OK)
        return 1;
    if (r.used_at || r.expires_at <= j->now ||
        strcmp(r.purpose, "reset") != 0) {
        j->rc = CD_STORE_NOT_FOUND;
        return 1;
    }
    cd_strlcpy(j->account_id, r.account_id, sizeof(j->account_id));
    if ((j->rc = cd_store_account_set_password(
             tx, r.account_id, j->password_hash)) != CD_STORE_OK ||
        (j->rc = cd_store_reset_use_all(tx, r.account_id, "reset", j->now)) !=
            CD_STORE_OK ||
        (j->rc = cd_store_token_delete_account(tx, r.account_id)) !=
            CD_STORE_OK ||
        /* The link reached the mailbox: the address is verified too. */
        (j->rc = cd_store_account_set_verified(tx, r.account_id, j->now)) !=
            CD_STORE_OK)
        return 1;
    return 0;
}

static int live_fn(struct cd_tx *tx, void *arg)
{
    struct confirm_job *j = arg;
    struct cd_reset r;
    int rc = cd_store_reset_get(tx, j->hash, &r);

    if (rc == CD_STORE_OK && (r.used_at || r.expires_at <= j->now ||
                              strcmp(r.purpose, "reset") != 0))
        rc = CD_STORE_NOT_FOUND;
    return rc;
}

static int valid_token(const char *t)
{
    size_t n = sizeof(CD_RESET_PREFIX) - 1;

    if (!t || strlen(t) != n + 64 || strncmp(t, CD_RESET_PREFIX, n) != 0)
        return 0;
    for (t += n; *t; t++)
        if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
            return 0;
    return 1;
}

int cd_password_reset_confirm(struct cd_billing *b, const char *token,
                              const char *password, size_t password_len,
                              struct cd_error *err)
{
    struct confirm_job j;
    int rc;

    if (!token || !*token)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "token",
                            "token is required");
    if (cd_account_check_password(password, password_len, err) != 0)
        return -1;
    if (!valid_token(token))
        return cd_error_set(err, CD_EK_INVALID, "invalid_reset_token",
                            "token",
                            "this reset link is not valid, was used, or "
                            "expired; ask for a new one");
    memset(&j, 0, sizeof(j));
    cd_sha256_hex(token, strlen(token), j.hash);
    j.now = cd_now();
    /* A dead token costs no argon2 run; the write job checks again. */
    rc = cd_store_read(b->store, live_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_reset_token",
                            "token",
                            "this reset link is not valid, was used, or "
                            "expired; ask for a new one");
    if (rc != CD_STORE_OK)
        return internal(err);
    if (cd_account_hash_password(password, password_len, j.password_hash) !=
        0)
        return internal(err);
    j.now = cd_now();
    rc = cd_store_write(b->store, confirm_fn, &j);
    sodium_memzero(j.password_hash, sizeof(j.password_hash));
    if (rc != 0 && j.rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_INVALID, "invalid_reset_token",
                            "token",
                            "this reset link is not valid, was used, or "
                            "expired; ask for a new one");
    if (rc != 0)
        return internal(err);
    cd_info(MOD, "account %s: password reset; every session ended",
            j.account_id);
    return 0;
}
