/*
 * config_secrets.c - the Stripe keys, webhook secrets and SMTP password
 * settings, the files they are read from, and the live key check; setters
 * of config.c's settings table (config_int.h).
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "billing/idempotency.h"
#include "http/server.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define WHY(...) cd_cfg_why_set(why, whysz, __VA_ARGS__)

int cd_cfg_set_stripe_key(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    if (*v && strncmp(v, "sk_test_", 8) != 0 &&
        strncmp(v, "sk_live_", 8) != 0 && strncmp(v, "rk_test_", 8) != 0 &&
        strncmp(v, "rk_live_", 8) != 0)
        return WHY("must be a Stripe secret key (sk_test_..., sk_live_...)");
    return cd_cfg_copy(c->stripe_secret_key, sizeof(c->stripe_secret_key), v,
                       why, whysz);
}

int cd_cfg_set_publishable(struct cd_config *c, const char *v, char *why,
                           size_t whysz)
{
    if (*v && strncmp(v, "pk_", 3) != 0)
        return WHY("must be a publishable key (pk_test_..., pk_live_...)");
    return cd_cfg_copy(c->billing.publishable_key,
                       sizeof(c->billing.publishable_key), v, why, whysz);
}

/* Checks a comma-separated list of webhook secrets. */
static int check_webhook_secrets(const char *v, char *why, size_t whysz)
{
    char tmp[1024], *save = NULL, *tok;
    int n = 0;

    if (cd_cfg_copy(tmp, sizeof(tmp), v, why, whysz) != 0)
        return -1;
    for (tok = strtok_r(tmp, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (strncmp(tok, "whsec_", 6) != 0 || strlen(tok) < 16 ||
            strchr(tok, ' '))
            return WHY(
                "each secret must look like whsec_... (comma-separated "
                "for rotation)");
        if (++n > 8)
            return WHY("at most 8 secrets");
    }
    return 0;
}

int cd_cfg_set_webhook_secret(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    if (check_webhook_secrets(v, why, whysz) != 0)
        return -1;
    return cd_cfg_copy(c->billing.webhook_secrets,
                       sizeof(c->billing.webhook_secrets), v, why, whysz);
}

int cd_cfg_set_webhook_secret_file(struct cd_config *c, const char *v,
                                   char *why, size_t whysz)
{
    return cd_cfg_copy(c->webhook_secret_file, sizeof(c->webhook_secret_file),
                       v, why, whysz);
}

/* The file's secrets (separated by commas or white space) as one
 * comma-separated list in list (listsz bytes). */
static int secrets_list(const char *text, char *list, size_t listsz,
                        char *why, size_t whysz)
{
    size_t n = 0;
    int gap = 1; /* at the start, or after a separator */

    for (const char *p = text; *p; p++) {
        int sep = *p == ',' || *p == ' ' || *p == '\t' || *p == '\n' ||
                  *p == '\r';

        if (sep) {
            gap = 1;
            continue;
        }
        if (n + 2 >= listsz)
            return WHY("holds more than %zu characters", listsz - 1);
        if (gap && n)
            list[n++] = ',';
        gap = 0;
        list[n++] = *p;
    }
    list[n] = '\0';
    if (n == 0)
        return WHY("holds no secret");
    return 0;
}

int cd_config_read_webhook_secrets(const char *path, char *out, size_t outsz,
                                   char *why, size_t whysz)
{
    char text[2048], list[1024];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return WHY("cannot read %s", path);
    n = fread(text, 1, sizeof(text) - 1, f);
    if (ferror(f) || !feof(f)) {
        fclose(f);
        return WHY("%s is unreadable or longer than %zu bytes", path,
                   sizeof(text) - 2);
    }
    fclose(f);
    text[n] = '\0';
    if (strlen(text) != n)
        return WHY("%s holds a NUL byte", path);
    if (secrets_list(text, list, sizeof(list), why, whysz) != 0 ||
        check_webhook_secrets(list, why, whysz) != 0 ||
        cd_cfg_copy(out, outsz, list, why, whysz) != 0)
        return -1;
    return 0;
}

int cd_cfg_set_smtp_password_file(struct cd_config *c, const char *v,
                                  char *why, size_t whysz)
{
    return cd_cfg_copy(c->smtp_password_file, sizeof(c->smtp_password_file),
                       v, why, whysz);
}

int cd_config_read_smtp_password(const char *path, char *out, size_t outsz,
                                 char *why, size_t whysz)
{
    char text[CD_SMTP_PASSWORD_SZ + 2];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return WHY("cannot read %s", path);
    n = fread(text, 1, sizeof(text) - 1, f);
    if (ferror(f) || !feof(f)) {
        fclose(f);
        sodium_memzero(text, sizeof(text));
        return WHY("%s is unreadable or longer than %d bytes", path,
                   CD_SMTP_PASSWORD_SZ - 1);
    }
    fclose(f);
    text[n] = '\0';
    /* One line: a final newline (LF or CRLF) is not part of it. */
    if (n && text[n - 1] == '\n')
        text[--n] = '\0';
    if (n && text[n - 1] == '\r')
        text[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            sodium_memzero(text, sizeof(text));
            return WHY("%s holds more than one line or a control byte", path);
        }
    if (n == 0)
        return WHY("%s holds no password", path);
    if (n + 1 > outsz) {
        sodium_memzero(text, sizeof(text));
        return WHY("%s: the password is longer than %zu bytes", path,
                   outsz - 1);
    }
    memcpy(out, text, n + 1);
    sodium_memzero(text, sizeof(text));
    return 0;
}

/* A live key travels only over TLS, or to loopback (a local proxy that
 * adds it, or the sandbox): never in clear text across a network. */
int cd_cfg_check_live_key(const struct cd_config *c, char *msg, size_t msgsz)
{
    struct cd_origin o;

    if (strncmp(c->stripe_secret_key, "sk_live_", 8) != 0 &&
        strncmp(c->stripe_secret_key, "rk_live_", 8) != 0)
        return 0;
    if (cd_url_parse_origin(c->stripe_api_base, &o) == 0 &&
        (o.https || cd_origin_is_loopback(&o)))
        return 0;
    snprintf(msg, msgsz,
             "STRIPE_API_BASE: %s is plain http to a host that is not "
             "loopback; a live STRIPE_SECRET_KEY is only sent over https:// "
             "(or to 127.0.0.1, [::1] or localhost)",
             c->stripe_api_base);
    return -1;
}

/* STRIPE_WEBHOOK_SECRET_FILE, when set, gives the webhook secrets. */
int cd_cfg_load_secret_file(struct cd_config *c, char *msg, size_t msgsz)
{
    char why[512];

    if (!c->webhook_secret_file[0])
        return 0;
    if (c->billing.webhook_secrets[0]) {
        snprintf(msg, msgsz,
                 "STRIPE_WEBHOOK_SECRET_FILE: set it or "
                 "STRIPE_WEBHOOK_SECRET, not both");
        return -1;
    }
    if (cd_config_read_webhook_secrets(
            c->webhook_secret_file, c->billing.webhook_secrets,
            sizeof(c->billing.webhook_secrets), why, sizeof(why)) != 0) {
        snprintf(msg, msgsz, "STRIPE_WEBHOOK_SECRET_FILE: %s", why);
        return -1;
    }
    return 0;
}

/* CREDITD_SMTP_PASSWORD_FILE, when set, gives the SMTP password. */
int cd_cfg_load_smtp_password(struct cd_config *c, char *msg, size_t msgsz)
{
    char why[512];

    if (!c->smtp_password_file[0])
        return 0;
    if (!c->smtp_url[0]) {
        snprintf(msg, msgsz,
                 "CREDITD_SMTP_PASSWORD_FILE: needs "
                 "CREDITD_SMTP_URL");
        return -1;
    }
    if (cd_config_read_smtp_password(c->smtp_password_file, c->smtp_password,
                                     sizeof(c->smtp_password), why,
                                     sizeof(why)) != 0) {
        snprintf(msg, msgsz, "CREDITD_SMTP_PASSWORD_FILE: %s", why);
        return -1;
    }
    return 0;
}
