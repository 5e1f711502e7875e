/*
 * accounts.c - signup, login, logout and token authentication; see
 * accounts.h. Passwords are hashed with argon2id (libsodium,
 * INTERACTIVE limits) before any store job starts.
 */
#include "billing/accounts.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "billing/email_verify.h"
#include "billing/login_throttle.h"
#include "util/log.h"
#include "util/util.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok = -1;

/* Each argon2id run takes crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB):
 * at most CD_PWHASH_CONCURRENCY run at once, so a burst of logins cannot
 * take the process's memory; the others wait their turn. */
#define CD_PWHASH_CONCURRENCY 4
static pthread_mutex_t pwhash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pwhash_cv = PTHREAD_COND_INITIALIZER;
static int pwhash_running;

static void pwhash_enter(void)
{
    pthread_mutex_lock(&pwhash_mu);
    while (pwhash_running >= CD_PWHASH_CONCURRENCY)
        pthread_cond_wait(&pwhash_cv, &pwhash_mu);
    pwhash_running++;
    pthread_mutex_unlock(&pwhash_mu);
}

static void pwhash_leave(void)
{
    pthread_mutex_lock(&pwhash_mu);
    pwhash_running--;
    pthread_cond_signal(&pwhash_cv);
    pthread_mutex_unlock(&pwhash_mu);
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
static int dummy_ok;

static void sodium_start(void)
{
    sodium_ok = sodium_init() < 0 ? -1 : 0;
}

static int sodium_ready(void)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_ok;
}

static void dummy_start(void);

int cd_accounts_init(void)
{
    if (sodium_ready() != 0)
        return -1;
    pthread_once(&dummy_once, dummy_start);
    return 0;
}

static int internal(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "internal error");
}

int cd_account_normalize_email(const char *in, char *out, size_t outsz)
{
    size_t n, at = 0, ats = 0, i;
    int dot = 0;

    if (!in)
        return -1;
    n = strlen(in);
    if (n == 0 || n > CD_EMAIL_MAX || n >= outsz)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f)
            return -1;
        if (c == '@') {
            at = i;
            ats++;
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
    }
    out[n] = '\0';
    if (ats != 1 || at == 0 || at + 1 >= n)
        return -1;
    /* A dot inside the domain, not at either end, and no empty label. */
    for (i = at + 1; i < n; i++) {
        if (out[i] == '.') {
            if (i == at + 1 || i == n - 1 || out[i - 1] == '.')
                return -1;
            dot = 1;
        }
    }
    return dot ? 0 : -1;
}

int cd_account_check_password(const char *pw, size_t len,
                              struct cd_error *err)
{
    if (!pw)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "password",
                            "password is required");
    if (memchr(pw, '\0', len))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "password",
                            "password must not contain NUL");
    if (len < CD_PASSWORD_MIN)
        return cd_error_set(err, CD_EK_INVALID, "weak_password", "password",
                            "password must be at least %d characters",
                            CD_PASSWORD_MIN);
    if (len > CD_PASSWORD_MAX)
        return cd_error_set(err, CD_EK_INVALID, "weak_password", "password",
                            "password must be at most %d bytes",
                            CD_PASSWORD_MAX);
    return 0;
}

/* New token into token (CD_TOKEN_SZ) and its hash into hash (65). */
static void new_token(char *token, char *hash)
{
    unsigned char raw[32];

    cd_random_bytes(raw, sizeof(raw));
    memcpy(token, CD_TOKEN_PREFIX, sizeof(CD_TOKEN_PREFIX) - 1);
    cd_hex(raw, sizeof(raw), token + sizeof(CD_TOKEN_PREFIX) - 1);
    sodium_memzero(raw, sizeof(raw));
    cd_sha256_hex(token, strlen(token), hash);
}

static int64_t token_ttl(const struct cd_billing *b)
{
    return b->cfg.token_ttl > 0 ? b->cfg.token_ttl : CD_DEFAULT_TOKEN_TTL;
}

int64_t cd_account_token_new(const struct cd_billing *b, int64_t now,
                             char *token, char *hash)
{
    new_token(token, hash);
    return now + token_ttl(b);
}

int64_t cd_account_token_ttl(const struct cd_billing *b)
{
    return token_ttl(b);
}

static int hash_password(const char *pw, size_t len, char *out)
{
    char h[crypto_pwhash_STRBYTES];
    int rc;

    pwhash_enter();
    rc = crypto_pwhash_str_alg(h, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE,
                               crypto_pwhash_ALG_ARGON2ID13);
    pwhash_leave();
    if (rc != 0)
        return -1;
    return cd_strlcpy(out, h, CD_HASH_SZ);
}

int cd_account_hash_password(const char *pw, size_t len, char *out)
{
    if (sodium_ready() != 0)
        return -1;
    return hash_password(pw, len, out);
}

/* ---- signup ------------------------------------------------------------ */

struct signup_job {
    struct cd_account a;
    char token_hash[65];
    int64_t expires_at;
    const char *verify_base_url; /* non-NULL: mail a verify link */
    int rc;
};

static int signup_fn(struct cd_tx *tx, void *arg)
{
    struct signup_job *j = arg;

    j->rc = cd_store_account_insert(tx, &j->a);
    if (j->rc != CD_STORE_OK)
        return 1;
    j->rc = cd_store_token_insert(tx, j->token_hash, j->a.id, j->a.created_at,
                                  j->expires_at);
    if (j->rc == CD_STORE_OK && j->verify_base_url)
        j->rc = cd_email_verify_queue_tx(tx, j->verify_base_url, &j->a,
                                         j->a.created_at);
    return j->rc == CD_STORE_OK ? 0 : 1;
}

int cd_account_signup(struct cd_billing *b, const char *email,
                      const char *password, size_t password_len,
                      struct cd_account *out, char *token,
                      struct cd_error *err)
{
    struct signup_job j;
    int rc;

    if (sodium_ready() != 0)
        return internal(err);
    memset(&j, 0, sizeof(j));
    if (!email)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "email",
                            "email is required");
    if (cd_account_normalize_email(email, j.a.email, sizeof(j.a.email)) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_email", "email",
                            "email address is not valid");
    if (cd_account_check_password(password, password_len, err) != 0)
        return -1;
    /* The slow part, before the write job. */
    if (hash_password(password, password_len, j.a.password_hash) != 0) {
        cd_error("billing", "password hashing failed (out of memory?)");
        return internal(err);
    }
    cd_random_id("acct_", j.a.id, sizeof(j.a.id));
    j.a.created_at = cd_now();
    j.expires_at = j.a.created_at + token_ttl(b);
    if (b->cfg.require_email_verification)
        j.verify_base_url = b->cfg.base_url;
    new_token(token, j.token_hash);

    rc = cd_store_write(b->store, signup_fn, &j);
    sodium_memzero(j.a.password_hash, sizeof(j.a.password_hash));
    if (rc != 0) {
        sodium_memzero(token, CD_TOKEN_SZ);
        if (j.rc == CD_STORE_DUPLICATE)
            return cd_error_set(err, CD_EK_CONFLICT, "email_taken", "email",
                                "an account with this email exists");
        return internal(err);
    }
    *out = j.a;
    cd_info("billing", "account %s signed up", j.a.id);
    return 0;
}

/* ---- accounts owned by the application -------------------------------- */

int cd_account_check_external_id(const char *s)
{
    size_t n;

    if (!s)
        return -1;
    n = strlen(s);
    if (n == 0 || n > CD_EXTERNAL_ID_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("_-.:@+|", c)))
            return -1;
    }
    return 0;
}

struct create_job {
    struct cd_account a;
    char existing_id[CD_ID_SZ];
    int rc;
};

/* Looks before it writes, so a taken external_id names its account;
 * jobs run one at a time, so nothing comes in between. */
static int create_fn(struct cd_tx *tx, void *arg)
{
    struct create_job *j = arg;
    struct cd_account other;

    j->rc = cd_store_account_by_external(tx, j->a.external_id, &other);
    if (j->rc == CD_STORE_OK) {
        cd_strlcpy(j->existing_id, other.id, sizeof(j->existing_id));
        j->rc = CD_STORE_DUPLICATE;
        return 1;
    }
    if (j->rc != CD_STORE_NOT_FOUND)
        return 1;
    j->rc = cd_store_account_insert(tx, &j->a);
    return j->rc == CD_STORE_OK ? 0 : 1;
}

int cd_account_create(struct cd_billing *b, const char *external_id,
                      const char *email, struct cd_account *out,
                      char *existing_id, struct cd_error *err)
{
    struct create_job j;

    memset(&j, 0, sizeof(j));
    if (!external_id || !*external_id)
        return cd_error_set(err, CD_EK_INVALID, "missing_param",
                            "external_id", "external_id is required");
    if (cd_account_check_external_id(external_id) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_external_id",
                            "external_id",
                            "external_id must be 1-%d characters of A-Z a-z "
                            "0-9 _ - . : @ + |",
                            CD_EXTERNAL_ID_MAX);
    if (email && *email &&
        cd_account_normalize_email(email, j.a.email, sizeof(j.a.email)) != 0)
        return cd_error_set(err, CD_EK_INVALID, "invalid_email", "email",
                            "email address is not valid");
    cd_strlcpy(j.a.external_id, external_id, sizeof(j.a.external_id));
    cd_random_id("acct_", j.a.id, sizeof(j.a.id));
    j.a.created_at = cd_now();
    if (cd_store_write(b->store, create_fn, &j) != 0) {
        if (j.rc == CD_STORE_DUPLICATE && j.existing_id[0]) {
            if (existing_id)
                cd_strlcpy(existing_id, j.existing_id, CD_ID_SZ);
            return cd_error_set(err, CD_EK_CONFLICT, "external_id_taken",
                                "external_id",
                                "an account with this external_id exists: "
                                "%s",
                                j.existing_id);
        }
        if (j.rc == CD_STORE_DUPLICATE) /* the id itself cannot collide */
            return cd_error_set(err, CD_EK_CONFLICT, "email_taken", "email",
                                "an account with this email exists");
        return internal(err);
    }
    *out = j.a;
    cd_info("billing", "account %s created for the application", j.a.id);
    return 0;
}

/* narrow: without the password hash and the access (ACCOUNT_AUTH_SEL). */
struct ext_job {
    const char *external_id;
    struct cd_account *out;
    int narrow;
};

static int by_external_fn(struct cd_tx *tx, void *arg)
{
    struct ext_job *j = arg;

    if (j->narrow)
        return cd_store_account_auth_by_external(tx, j->external_id, j->out);
    return cd_store_account_by_external(tx, j->external_id, j->out);
}

static int account_by_external(struct cd_billing *b, const char *external_id,
                               struct cd_account *out, int narrow,
                               struct cd_error *err)
{
    struct ext_job j = {external_id, out, narrow};
    int rc;

    if (cd_account_check_external_id(external_id) != 0)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    rc = cd_store_read_one(b->store, by_external_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return internal(err);
    sodium_memzero(out->password_hash, sizeof(out->password_hash));
    return 0;
}

int cd_account_by_external(struct cd_billing *b, const char *external_id,
                           struct cd_account *out, struct cd_error *err)
{
    return account_by_external(b, external_id, out, 0, err);
}

static int account_get(struct cd_billing *b, const char *id,
                       struct cd_account *out, int narrow,
                       struct cd_error *err);

static int is_external_name(const char *named)
{
    return strncmp(named, CD_EXTERNAL_PREFIX,
                   sizeof(CD_EXTERNAL_PREFIX) - 1) == 0;
}

int cd_account_resolve(struct cd_billing *b, const char *named,
                       struct cd_account *out, struct cd_error *err)
{
    if (named && is_external_name(named))
        return account_by_external(b, named + sizeof(CD_EXTERNAL_PREFIX) - 1,
                                   out, 1, err);
    return account_get(b, named, out, 1, err);
}

int cd_account_named(const struct cd_account *a, const char *named)
{
    if (is_external_name(named))
        return a->external_id[0] &&
               strcmp(named + sizeof(CD_EXTERNAL_PREFIX) - 1,
                      a->external_id) == 0;
    return strcmp(named, a->id) == 0;
}

/* ---- login ------------------------------------------------------------- */

static void dummy_start(void)
{
    unsigned char pw[16];

    cd_random_bytes(pw, sizeof(pw));
    /* Runs under pthread_once, outside the concurrency gate: once. */
    dummy_ok = crypto_pwhash_str_alg(dummy_hash, (const char *)pw, sizeof(pw),
                                     crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                     crypto_pwhash_ALG_ARGON2ID13) == 0;
}

/* Spends about the time of one verification and always fails. */
static void burn_verify(const char *pw, size_t len)
{
    int rc = -1;

    pthread_once(&dummy_once, dummy_start);
    if (!dummy_ok)
        return;
    pwhash_enter();
    rc = crypto_pwhash_str_verify(dummy_hash, pw, len);
    pwhash_leave();
    if (rc == 0)
        cd_warn("billing", "dummy password hash matched");
}

struct email_job {
    const char *email;
    struct cd_account *out;
};

static int by_email_fn(struct cd_tx *tx, void *arg)
{
    struct email_job *j = arg;

    return cd_store_account_by_email(tx, j->email, j->out);
}

struct token_job {
    const char *account_id;
    char token_hash[65];
    int64_t created_at, expires_at;
    const char *email, *address; /* whose failed logins to clear */
};

static int token_insert_fn(struct cd_tx *tx, void *arg)
{
    struct token_job *j = arg;

    if (cd_store_token_insert(tx, j->token_hash, j->account_id, j->created_at,
                              j->expires_at) != CD_STORE_OK)
        return 1;
    return cd_login_succeeded_tx(tx, j->email, j->address,
                                 cd_login_now_ms()) == CD_STORE_OK
               ? 0
               : 1;
}

static int bad_credentials(struct cd_error *err)
{
    return cd_error_set(err, CD_EK_AUTH, "invalid_credentials", NULL,
                        "email or password is wrong");
}

int cd_account_login(struct cd_billing *b, const char *email,
                     const char *password, size_t password_len,
                     const char *address, struct cd_account *out, char *token,
                     int64_t *retry_after_s, struct cd_error *err)
{
    char norm[CD_EMAIL_SZ];
    struct cd_account a;
    struct email_job ej = {norm, &a};
    struct token_job tj;
    int rc;

    if (sodium_ready() != 0)
        return internal(err);
    if (!email)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "email",
                            "email is required");
    if (!password)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "password",
                            "password is required");
    if (password_len > CD_PASSWORD_MAX)
        return bad_credentials(err);
    if (cd_account_normalize_email(email, norm, sizeof(norm)) != 0) {
        /* Never a login: nothing to throttle per email (the per-address
         * request limit of api/auth.c bounds these). */
        burn_verify(password, password_len);
        return bad_credentials(err);
    }
    /* Counted as a failure before the slow hash; taken back on success. */
    if (cd_login_reserve(b, norm, address, retry_after_s, err) != 0)
        return -1;
    rc = cd_store_read(b->store, by_email_fn, &ej);
    if (rc == CD_STORE_OK && !a.password_hash[0])
        rc = CD_STORE_NOT_FOUND; /* owned by the app: no password login */
    if (rc == CD_STORE_NOT_FOUND) {
        burn_verify(password, password_len);
        return bad_credentials(err);
    }
    if (rc != CD_STORE_OK)
        return internal(err);
    pwhash_enter();
    rc = crypto_pwhash_str_verify(a.password_hash, password, password_len);
    pwhash_leave();
    if (rc != 0) {
        sodium_memzero(a.password_hash, sizeof(a.password_hash));
        cd_info("billing", "login failed for account %s", a.id);
        return bad_credentials(err);
    }
    sodium_memzero(a.password_hash, sizeof(a.password_hash));

    memset(&tj, 0, sizeof(tj));
    tj.account_id = a.id;
    tj.email = norm;
    tj.address = address;
    tj.created_at = cd_now();
    tj.expires_at = tj.created_at + token_ttl(b);
    new_token(token, tj.token_hash);
    if (cd_store_write(b->store, token_insert_fn, &tj) != 0) {
        sodium_memzero(token, CD_TOKEN_SZ);
        return internal(err);
    }
    *out = a;
    return 0;
}

/* ---- logout and authentication ---------------------------------------- */

static int token_delete_fn(struct cd_tx *tx, void *arg)
{
    int rc = cd_store_token_delete(tx, arg);

    return (rc == CD_STORE_OK || rc == CD_STORE_NOT_FOUND) ? 0 : 1;
}

int cd_account_logout(struct cd_billing *b, const char *token_hash,
                      struct cd_error *err)
{
    char h[65];

    if (cd_strlcpy(h, token_hash, sizeof(h)) != 0)
        return internal(err);
    if (cd_store_write(b->store, token_delete_fn, h) != 0)
        return internal(err);
    return 0;
}

struct auth_job {
    const char *hash;
    int64_t now;
    struct cd_account *out;
};

/* One statement (cd_store_read_one): the token's account if the token is
 * live at now. */
static int auth_fn(struct cd_tx *tx, void *arg)
{
    struct auth_job *j = arg;

    return cd_store_token_account(tx, j->hash, j->now, j->out);
}

int cd_account_authenticate(struct cd_billing *b, const char *token,
                            struct cd_account *out, char *token_hash,
                            struct cd_error *err)
{
    char hash[65];
    struct auth_job j = {hash, cd_now(), out};
    size_t n;
    int rc;

    n = token ? strlen(token) : 0;
    if (n == 0 || n > CD_TOKEN_MAX_LEN)
        return cd_error_set(err, CD_EK_AUTH, "invalid_token", NULL,
                            "invalid or expired token");
    cd_sha256_hex(token, n, hash);
    rc = cd_store_read_one(b->store, auth_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_AUTH, "invalid_token", NULL,
                            "invalid or expired token");
    if (rc != CD_STORE_OK)
        return internal(err);
    sodium_memzero(out->password_hash, sizeof(out->password_hash));
    if (token_hash)
        memcpy(token_hash, hash, sizeof(hash));
    return 0;
}

/* ---- reads ------------------------------------------------------------- */

/* narrow: as ext_job's. */
struct get_job {
    const char *id;
    struct cd_account *out;
    int narrow;
};

static int get_fn(struct cd_tx *tx, void *arg)
{
    struct get_job *j = arg;

    if (j->narrow)
        return cd_store_account_auth_get(tx, j->id, j->out);
    return cd_store_account_get(tx, j->id, j->out);
}

int cd_account_get(struct cd_billing *b, const char *id,
                   struct cd_account *out, struct cd_error *err)
{
    return account_get(b, id, out, 0, err);
}

static int account_get(struct cd_billing *b, const char *id,
                       struct cd_account *out, int narrow,
                       struct cd_error *err)
{
    struct get_job j = {id, out, narrow};
    int rc;

    if (!id || !*id || strlen(id) >= CD_ID_SZ)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    rc = cd_store_read_one(b->store, get_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return internal(err);
    sodium_memzero(out->password_hash, sizeof(out->password_hash));
    return 0;
}

int cd_account_by_email(struct cd_billing *b, const char *email,
                        struct cd_account *out, struct cd_error *err)
{
    char norm[CD_EMAIL_SZ];
    struct email_job j = {norm, out};
    int rc;

    if (cd_account_normalize_email(email, norm, sizeof(norm)) != 0)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    rc = cd_store_read(b->store, by_email_fn, &j);
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "account_not_found", NULL,
                            "no such account");
    if (rc != CD_STORE_OK)
        return internal(err);
    sodium_memzero(out->password_hash, sizeof(out->password_hash));
    return 0;
}

struct list_job {
    int64_t limit, offset;
    cd_account_cb cb;
    void *arg;
    int64_t *total;
};

static int list_fn(struct cd_tx *tx, void *arg)
{
    struct list_job *j = arg;

    return cd_store_account_list(tx, j->limit, j->offset, j->cb, j->arg,
                                 j->total);
}

int cd_account_list(struct cd_billing *b, int64_t limit, int64_t offset,
                    cd_account_cb cb, void *arg, int64_t *total,
                    struct cd_error *err)
{
    struct list_job j = {limit, offset, cb, arg, total};

    if (cd_store_read(b->store, list_fn, &j) != CD_STORE_OK)
        return internal(err);
    return 0;
}
