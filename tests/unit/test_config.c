/*
 * test_config.c - the settings table of config.c through cd_config_load,
 * with an environment the test controls (every CREDITD_*, STRIPE_*,
 * SANDBOX_*, PRICE_* and CURRENCY variable unset first): the defaults;
 * each kind of value (whole numbers in a range, durations, 0/1 switches,
 * choices, listen addresses, URLs and origins, IP lists, paths, the
 * brand's texts, URL and colour, the sandbox's); a flag winning
 * over the environment; a bad value refused with one line naming the
 * setting and where it came from, never echoing a secret (keys, webhook
 * secrets, an unknown flag's value, a password file's content); unknown
 * CREDITD_* variables ignored while unknown flags are refused; the secret
 * files (webhook secrets, SMTP password); and the catalog file's checks.
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

#include "config.h"
#include "util/log.h"
#include "util/util.h"

extern char **environ;

static struct cd_config cfg;
static char msg[1024];
static char dir[64];

/* Unsets every variable the settings table could read. */
static void clear_settings_env(void)
{
    static const char *const prefixes[] = {"CREDITD_", "STRIPE_", "SANDBOX_",
                                           "PRICE_", "CURRENCY="};
    char names[256][128];
    size_t n = 0;

    for (char **e = environ; *e && n < CD_ARRAY_LEN(names); e++)
        for (size_t i = 0; i < CD_ARRAY_LEN(prefixes); i++)
            if (strncmp(*e, prefixes[i], strlen(prefixes[i])) == 0) {
                snprintf(names[n++], sizeof(names[0]), "%.*s",
                         (int)strcspn(*e, "="), *e);
                break;
            }
    for (size_t i = 0; i < n; i++)
        unsetenv(names[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_settings_env();
    snprintf(dir, sizeof(dir), "/tmp/cd_test_config_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    clear_settings_env();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* cd_config_load with argv {"creditd", flags...}; its result. */
static int load_flags(const char *const *flags, size_t nflags)
{
    char *argv[8] = {"creditd"};

    assert_true(nflags < CD_ARRAY_LEN(argv));
    for (size_t i = 0; i < nflags; i++)
        argv[i + 1] = (char *)flags[i];
    msg[0] = '\0';
    return cd_config_load(&cfg, (int)nflags + 1, argv, msg, sizeof(msg));
}

static int load(void)
{
    return load_flags(NULL, 0);
}

/* NAME=value alone in the environment is refused with msg starting
 * "NAME (environment): " and holding no trace of value's secret part. */
static void expect_refused(const char *name, const char *value,
                           const char *secret)
{
    char head[160];

    setenv(name, value, 1);
    assert_int_equal(load(), -1);
    snprintf(head, sizeof(head), "%s (environment): ", name);
    if (strncmp(msg, head, strlen(head)) != 0)
        fail_msg("%s=%s: message \"%s\" does not start \"%s\"", name, value,
                 msg, head);
    assert_true(strlen(msg) > strlen(head));
    assert_null(strchr(msg, '\n'));
    if (secret && strstr(msg, secret))
        fail_msg("%s: the message echoes the secret: %s", name, msg);
    unsetenv(name);
}

static void expect_accepted(const char *name, const char *value)
{
    setenv(name, value, 1);
    if (load() != 0)
        fail_msg("%s=%s refused: %s", name, value, msg);
    unsetenv(name);
}

/* A file in the test's dir holding text; its path in out. */
static void write_file(const char *name, const char *text, char *out,
                       size_t outsz)
{
    FILE *f;

    snprintf(out, outsz, "%s/%s", dir, name);
    f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.db, "./creditd.db");
    assert_string_equal(cfg.admin_key, "");
    assert_string_equal(cfg.stripe_api_base, "https://api.stripe.com");
    assert_string_equal(cfg.billing.base_url, "http://127.0.0.1:8080");
    assert_int_equal(cfg.billing.nredirect_origins, 1);
    assert_string_equal(cfg.billing.redirect_origins[0],
                        "http://127.0.0.1:8080");
    assert_string_equal(cfg.billing.currency, "usd");
    assert_string_equal(cfg.billing.default_pricing.mode, "launch");
    assert_int_equal(cfg.billing.default_pricing.launch_cents, 2999);
    assert_int_equal(cfg.billing.webhook_tolerance, 300);
    assert_int_equal(cfg.billing.token_ttl, 30 * 86400);
    assert_int_equal(cfg.billing.checkout_expires_s, 3600);
    assert_int_equal(cfg.write_batch, 512);
    assert_int_equal(cfg.db_writers, 4);
    assert_int_equal(cfg.shutdown_timeout_s, 10);
    assert_int_equal(cfg.idem_lease_ms, 30000);
    assert_int_equal(cfg.log_level, CD_LOG_INFO);
    assert_int_equal(cfg.log_json, 0);
    assert_int_equal(cfg.http_threads, 4);
    assert_int_equal(cfg.http_offload_all, -1);
    assert_int_equal(cfg.backup_before_migrate, 1);
    assert_int_equal(cfg.billing.require_email_verification, 0);
    assert_int_equal(cfg.ntrusted_proxies, 0);
    assert_string_equal(cfg.metrics_listen, "");
    /* the built-in catalog */
    assert_int_equal(cfg.billing.npackages, 3);
    assert_int_equal(cfg.billing.nplans, 1);
    assert_string_equal(cfg.billing.credit_name, "credits");
    /* the web UI beside the sources */
    assert_true(strlen(cfg.web_dir) > 4);
    assert_string_equal(cfg.web_dir + strlen(cfg.web_dir) - 4, "/web");
}

static void test_int_ranges(void **state)
{
    (void)state;
    setenv("CREDITD_WRITE_BATCH", "4096", 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cfg.write_batch, 4096);
    expect_refused("CREDITD_WRITE_BATCH", "0", NULL);
    assert_string_equal(msg, "CREDITD_WRITE_BATCH (environment): must be a "
                             "whole number from 1 to 4096");
    expect_refused("CREDITD_WRITE_BATCH", "4097", NULL);
    expect_refused("CREDITD_WRITE_BATCH", "12abc", NULL);
    expect_refused("CREDITD_WRITE_BATCH", "", NULL);
    expect_refused("CREDITD_WRITE_BATCH", " 5", NULL);
    expect_refused("CREDITD_DB_WRITERS", "0", NULL);
    expect_refused("CREDITD_DB_WRITERS", "33", NULL);
    expect_accepted("CREDITD_DB_WRITERS", "1");
    expect_accepted("CREDITD_DB_WRITERS", "32");
    expect_refused("CREDITD_HTTP_MAX_CONNECTIONS", "15", NULL);
    expect_accepted("CREDITD_HTTP_MAX_CONNECTIONS", "16");
    expect_refused("CREDITD_HTTP_WORKERS", "0", NULL);
    expect_refused("CREDITD_AUTH_RATE_LIMIT", "-1", NULL);
    expect_accepted("CREDITD_AUTH_RATE_LIMIT", "0");
    expect_refused("PRICE_LAUNCH_CENTS", "49", NULL);
    expect_refused("CREDITD_MAX_PENDING_ORDERS", "99999999999999999999",
                   NULL);
}

static void test_durations(void **state)
{
    (void)state;
    expect_refused("CREDITD_CHECKOUT_EXPIRES", "1799", NULL);
    expect_accepted("CREDITD_CHECKOUT_EXPIRES", "1800");
    expect_refused("CREDITD_CHECKOUT_EXPIRES", "86401", NULL);
    expect_refused("CREDITD_IDEM_LEASE_MS", "999", NULL);
    expect_accepted("CREDITD_IDEM_LEASE_MS", "1000");
    expect_refused("CREDITD_TOKEN_TTL", "59", NULL);
    expect_refused("CREDITD_TOKEN_TTL", "1h", NULL);
    expect_refused("CREDITD_MAIL_POLL_MS", "99", NULL);
    expect_refused("CREDITD_PURGE_INTERVAL", "0", NULL);
    expect_accepted("CREDITD_RECONCILE_INTERVAL", "0"); /* 0: off */
    expect_refused("STRIPE_WEBHOOK_TOLERANCE", "0", NULL);
    setenv("CREDITD_SHUTDOWN_TIMEOUT", "0", 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cfg.shutdown_timeout_s, 0);
}

static void test_switches_and_choices(void **state)
{
    (void)state;
    expect_refused("CREDITD_REQUIRE_EMAIL_VERIFICATION", "2", NULL);
    expect_refused("CREDITD_REQUIRE_EMAIL_VERIFICATION", "yes", NULL);
    expect_refused("CREDITD_BACKUP_BEFORE_MIGRATE", "true", NULL);
    setenv("CREDITD_REQUIRE_EMAIL_VERIFICATION", "1", 1);
    setenv("CREDITD_BACKUP_BEFORE_MIGRATE", "0", 1);
    setenv("CREDITD_HTTP_OFFLOAD", "all", 1);
    setenv("CREDITD_LOG", "debug", 1);
    setenv("CREDITD_LOG_FORMAT", "json", 1);
    setenv("PRICE_MODE", "sale", 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cfg.billing.require_email_verification, 1);
    assert_int_equal(cfg.backup_before_migrate, 0);
    assert_int_equal(cfg.http_offload_all, 1);
    assert_int_equal(cfg.log_level, CD_LOG_DEBUG);
    assert_int_equal(cfg.log_json, 1);
    assert_string_equal(cfg.billing.default_pricing.mode, "sale");
    setenv("CREDITD_HTTP_OFFLOAD", "writes", 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cfg.http_offload_all, 0);
    expect_refused("CREDITD_HTTP_OFFLOAD", "some", NULL);
    expect_refused("CREDITD_LOG", "verbose", NULL);
    expect_refused("CREDITD_LOG_FORMAT", "xml", NULL);
    expect_refused("PRICE_MODE", "free", NULL);
    expect_refused("CURRENCY", "USD", NULL);
    expect_refused("CURRENCY", "usdx", NULL);
}

static void test_addresses(void **state)
{
    (void)state;
    setenv("CREDITD_LISTEN", "0.0.0.0:9000", 1);
    setenv("CREDITD_METRICS_LISTEN", "127.0.0.1:9464", 1);
    setenv("CREDITD_TRUSTED_PROXIES", "10.0.0.1,::1", 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:9000");
    assert_string_equal(cfg.billing.base_url, "http://0.0.0.0:9000");
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:9464");
    assert_int_equal(cfg.ntrusted_proxies, 2);
    assert_string_equal(cfg.trusted_proxies[1], "::1");
    unsetenv("CREDITD_LISTEN");
    expect_refused("CREDITD_LISTEN", "nope", NULL);
    expect_refused("CREDITD_LISTEN", "127.0.0.1:70000", NULL);
    /* /metrics answers without credentials: loopback only */
    expect_refused("CREDITD_METRICS_LISTEN", "0.0.0.0:9464", NULL);
    expect_accepted("CREDITD_METRICS_LISTEN", "[::1]:9464");
    expect_refused("CREDITD_TRUSTED_PROXIES", "10.0.0.0/8", NULL);
    expect_refused("CREDITD_TRUSTED_PROXIES", "proxy.example.com", NULL);
    expect_refused("CREDITD_DB", "", NULL);
    expect_refused("CREDITD_DB", "a\tb", NULL);
}

static void test_urls_and_origins(void **state)
{
    (void)state;
    setenv("CREDITD_BASE_URL", "https://pay.example.com/", 1);
    setenv("CREDITD_ALLOWED_REDIRECT_ORIGINS",
           "https://app.example.com, http://localhost:3000", 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.billing.base_url, "https://pay.example.com");
    assert_int_equal(cfg.billing.nredirect_origins, 3);
    assert_string_equal(cfg.billing.redirect_origins[0],
                        "https://pay.example.com");
    assert_string_equal(cfg.billing.redirect_origins[1],
                        "https://app.example.com");
    assert_string_equal(cfg.billing.redirect_origins[2],
                        "http://localhost:3000");
    unsetenv("CREDITD_BASE_URL");
    unsetenv("CREDITD_ALLOWED_REDIRECT_ORIGINS");
    expect_refused("CREDITD_BASE_URL", "ftp://pay.example.com", NULL);
    expect_refused("CREDITD_BASE_URL", "https://pay.example.com/?x=1", NULL);
    expect_refused("CREDITD_BASE_URL", "https://user@pay.example.com", NULL);
    expect_refused("CREDITD_BASE_URL", "https://pay.example.com:0", NULL);
    expect_refused("CREDITD_ALLOWED_REDIRECT_ORIGINS", "app.example.com",
                   NULL);
    assert_non_null(strstr(msg, "'app.example.com'"));
    expect_refused("STRIPE_API_BASE", "api.stripe.com", NULL);
    expect_refused("CREDITD_SMTP_URL", "http://mail.example.com", NULL);
    /* mail needs a sender */
    setenv("CREDITD_SMTP_URL", "smtp://mail.example.com:25", 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "CREDITD_MAIL_FROM"));
    expect_refused("CREDITD_MAIL_FROM", "nobody", NULL);
    setenv("CREDITD_MAIL_FROM", "billing@example.com", 1);
    assert_int_equal(load(), 0);
}

static void test_brand_and_paths(void **state)
{
    char longpath[1100];

    (void)state;
    setenv("CREDITD_BRAND_NAME", "Acme Credits", 1);
    setenv("CREDITD_BRAND_LOGO_URL", "https://cdn.example.com/logo.svg", 1);
    setenv("CREDITD_BRAND_COLOR", "#AbCdEf", 1);
    setenv("CREDITD_SUPPORT_EMAIL", "help@example.com", 1);
    setenv("CREDITD_WEB_DIR", "/srv/creditd/web", 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.billing.brand.name, "Acme Credits");
    assert_string_equal(cfg.billing.brand.color, "#AbCdEf");
    assert_string_equal(cfg.web_dir, "/srv/creditd/web");
    clear_settings_env();
    expect_refused("CREDITD_BRAND_NAME", "", NULL);
    expect_refused("CREDITD_BRAND_NAME", "a\x1b[2Jb", NULL);
    expect_accepted("CREDITD_BRAND_LOGO_URL", "/logo.svg");
    expect_refused("CREDITD_BRAND_LOGO_URL", "//evil.example.com/x.svg",
                   NULL);
    expect_refused("CREDITD_BRAND_LOGO_URL", "javascript:alert(1)", NULL);
    expect_refused("CREDITD_BRAND_LOGO_URL", "https://a.example.com/\"x",
                   NULL);
    expect_refused("CREDITD_BRAND_COLOR", "#12345g", NULL);
    expect_refused("CREDITD_SUPPORT_EMAIL", "a@b@c", NULL);
    memset(longpath, 'd', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    expect_refused("CREDITD_WEB_DIR", longpath, NULL);
    assert_non_null(strstr(msg, "longer than 1023 characters"));
    expect_refused("SANDBOX_LISTEN", "nope", NULL);
    expect_refused("SANDBOX_WEBHOOK_SECRET", "Zq9Value42", "Zq9Value42");
    expect_refused("SANDBOX_WEBHOOK_URL", "not a url", NULL);
}

/* A flag wins over the environment, in either spelling; its refusal says
 * "(flag)". */
static void test_flags(void **state)
{
    const char *upper[] = {"--CREDITD_WRITE_BATCH=7"};
    const char *dashed[] = {"--creditd-write-batch=8", "serve"};
    const char *bad[] = {"--creditd-write-batch=0"};

    (void)state;
    setenv("CREDITD_WRITE_BATCH", "9", 1);
    assert_int_equal(load_flags(upper, 1), 0);
    assert_int_equal(cfg.write_batch, 7);
    assert_int_equal(load_flags(dashed, 2), 0);
    assert_int_equal(cfg.write_batch, 8);
    assert_int_equal(load_flags(bad, 1), -1);
    assert_non_null(strstr(msg, "CREDITD_WRITE_BATCH (flag): "));
}

struct seen {
    char names[4][64];
    char nearest[4][64];
    int n;
};

static void see_name(void *cls, const char *name, const char *nearest)
{
    struct seen *s = cls;

    if (s->n >= 4)
        return;
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
    snprintf(s->nearest[s->n], sizeof(s->nearest[0]), "%s",
             nearest ? nearest : "-");
    s->n++;
}

/* The nearest setting cd_config_unknown_names gives for name ("-": none). */
static const char *nearest_of(const struct seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return s->nearest[i];
    return NULL;
}

/* An unknown CREDITD_* variable does not stop loading, but is reported
 * by name (never its value) with the nearest setting; names read outside
 * the table are known. An unknown flag is refused by its name only - its
 * value may be a secret. */
static void test_unknown_names(void **state)
{
    const char *flag[] = {"--creditd-admin-kee=sk_live_Zq9Value42"};
    struct seen s = {0};

    (void)state;
    setenv("CREDITD_NO_SUCH_SETTING", "1", 1);
    setenv("CREDITD_STRIPE_SECRETKEY", "sk_test_Zq9Value42", 1);
    setenv("CREDITD_WRITE_BACH", "8", 1);
    setenv("CREDITD_SQL_TRACE", "", 1);
    setenv("CREDITD_URL", "http://127.0.0.1:1", 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cd_config_unknown_names(see_name, &s), 3);
    assert_string_equal(nearest_of(&s, "CREDITD_NO_SUCH_SETTING"), "-");
    assert_string_equal(nearest_of(&s, "CREDITD_STRIPE_SECRETKEY"),
                        "STRIPE_SECRET_KEY");
    assert_string_equal(nearest_of(&s, "CREDITD_WRITE_BACH"),
                        "CREDITD_WRITE_BATCH");
    for (int i = 0; i < s.n; i++)
        assert_null(strstr(s.names[i], "Zq9"));
    unsetenv("CREDITD_STRIPE_SECRETKEY");
    unsetenv("CREDITD_WRITE_BACH");
    unsetenv("CREDITD_SQL_TRACE");
    unsetenv("CREDITD_URL");
    assert_int_equal(cd_config_unknown_names(NULL, NULL), 1);
    unsetenv("CREDITD_NO_SUCH_SETTING");
    assert_int_equal(cd_config_unknown_names(NULL, NULL), 0);
    assert_int_equal(load_flags(flag, 1), -1);
    assert_string_equal(msg, "unknown flag --creditd-admin-kee (see creditd "
                             "--help)");
}

static void test_secrets_never_echoed(void **state)
{
    const char *flag[] = {"--stripe-secret-key=pk_live_Zq9Value42"};

    (void)state;
    expect_refused("STRIPE_SECRET_KEY", "pk_live_Zq9Value42", "Zq9Value42");
    expect_refused("STRIPE_SECRET_KEY", "sk_test_Zq9\x01Value42", "Zq9");
    expect_refused("STRIPE_WEBHOOK_SECRET", "whsec_Zq9", "Zq9");
    expect_refused("STRIPE_WEBHOOK_SECRET",
                   "whsec_0123456789abcdef,xhsec_Zq9Value42", "Zq9Value42");
    assert_null(strstr(msg, "0123456789abcdef"));
    expect_refused("CREDITD_ADMIN_KEY", "Zq9short", "Zq9short");
    expect_refused("CREDITD_ADMIN_KEY", "Zq9 with spaces 0123", "Zq9 with");
    expect_refused("STRIPE_PUBLISHABLE_KEY", "sk_Zq9Value42", "Zq9Value42");
    assert_int_equal(load_flags(flag, 1), -1);
    assert_null(strstr(msg, "Zq9Value42"));
    assert_non_null(strstr(msg, "STRIPE_SECRET_KEY (flag)"));
    /* a live key goes over TLS or to loopback only */
    setenv("STRIPE_SECRET_KEY", "sk_live_Zq9Value42", 1);
    setenv("STRIPE_API_BASE", "http://stripe.example.com", 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "STRIPE_API_BASE: "));
    assert_null(strstr(msg, "Zq9Value42"));
    setenv("STRIPE_API_BASE", "http://127.0.0.1:12111", 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.stripe_secret_key, "sk_live_Zq9Value42");
}

static void test_webhook_secret_file(void **state)
{
    char path[128];

    (void)state;
    write_file("whsec", "whsec_0123456789abcdef\n whsec_fedcba9876543210\n",
               path, sizeof(path));
    setenv("STRIPE_WEBHOOK_SECRET_FILE", path, 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.billing.webhook_secrets,
                        "whsec_0123456789abcdef,whsec_fedcba9876543210");
    /* the file or the variable, not both */
    setenv("STRIPE_WEBHOOK_SECRET", "whsec_0123456789abcdef", 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "STRIPE_WEBHOOK_SECRET_FILE: "));
    unsetenv("STRIPE_WEBHOOK_SECRET");
    write_file("whsec", "whsec_Zq9Value42 nope_Zq9Value43\n", path,
               sizeof(path));
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "STRIPE_WEBHOOK_SECRET_FILE: "));
    assert_null(strstr(msg, "Zq9Value4"));
    write_file("whsec", " \n", path, sizeof(path));
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "holds no secret"));
    snprintf(path, sizeof(path), "%s/missing", dir);
    setenv("STRIPE_WEBHOOK_SECRET_FILE", path, 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "cannot read"));
}

static void test_smtp_password_file(void **state)
{
    char path[128];

    (void)state;
    write_file("smtp", "pa ss\r\n", path, sizeof(path));
    setenv("CREDITD_SMTP_PASSWORD_FILE", path, 1);
    assert_int_equal(load(), -1); /* needs CREDITD_SMTP_URL */
    assert_string_equal(msg, "CREDITD_SMTP_PASSWORD_FILE: needs "
                             "CREDITD_SMTP_URL");
    setenv("CREDITD_SMTP_URL", "smtps://user@mail.example.com", 1);
    setenv("CREDITD_MAIL_FROM", "billing@example.com", 1);
    assert_int_equal(load(), 0);
    assert_string_equal(cfg.smtp_password, "pa ss"); /* CRLF dropped */
    write_file("smtp", "Zq9Line1\nZq9Line2\n", path, sizeof(path));
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "more than one line"));
    assert_null(strstr(msg, "Zq9Line"));
    write_file("smtp", "\n", path, sizeof(path));
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "holds no password"));
}

/* CREDITD_CATALOG=<file holding text> is refused with a message naming
 * the setting and holding want. */
static void expect_catalog_refused(const char *text, const char *want)
{
    char path[128];

    write_file("catalog.json", text, path, sizeof(path));
    setenv("CREDITD_CATALOG", path, 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "CREDITD_CATALOG (environment): "));
    if (!strstr(msg, want))
        fail_msg("catalog %s: \"%s\" lacks \"%s\"", text, msg, want);
    unsetenv("CREDITD_CATALOG");
}

static void test_catalog(void **state)
{
    char path[128];

    (void)state;
    write_file(
        "catalog.json",
        "{\"packages\":[{\"id\":\"p1\",\"name\":\"One\","
        "\"price_cents\":500,\"credits\":100,"
        "\"expires_in_days\":30}],"
        "\"plans\":[{\"id\":\"m\",\"name\":\"M\",\"interval\":\"week\","
        "\"price_cents\":900,\"credits_per_period\":50,"
        "\"credits_expire\":\"period_end\",\"rollover_cap\":10}],"
        "\"credit_unit\":{\"name\":\"tokens\"},"
        "\"topup\":{\"min_cents\":500,\"max_cents\":900,"
        "\"step_cents\":100,\"default_cents\":600}}",
        path, sizeof(path));
    setenv("CREDITD_CATALOG", path, 1);
    assert_int_equal(load(), 0);
    assert_int_equal(cfg.billing.npackages, 1);
    assert_int_equal(cfg.billing.packages[0].expires_in_days, 30);
    assert_int_equal(cfg.billing.nplans, 1);
    assert_int_equal(cfg.billing.plans[0].rollover_cap, 10);
    assert_string_equal(cfg.billing.credit_name, "tokens");
    assert_int_equal(cfg.billing.topup_default_cents, 600);
    unsetenv("CREDITD_CATALOG");
    expect_catalog_refused("{\"packages\":", "cannot read");
    expect_catalog_refused("[]", "want a JSON object");
    expect_catalog_refused("{\"a\":1,\"a\":2}", "cannot read");
    expect_catalog_refused("{\"packages\":[{\"id\":\"p\",\"name\":\"P\","
                           "\"price_cents\":49,\"credits\":1}]}",
                           "packages[0] needs");
    expect_catalog_refused("{\"packages\":[{\"id\":\"p\",\"name\":\"P\","
                           "\"price_cents\":50,\"credits\":1,"
                           "\"expires_in_days\":0}]}",
                           "packages[0].expires_in_days");
    expect_catalog_refused("{\"plans\":[{\"id\":\"m\",\"name\":\"M\","
                           "\"interval\":\"fortnight\",\"price_cents\":900,"
                           "\"credits_per_period\":5}]}",
                           "plans[0] needs");
    expect_catalog_refused("{\"plans\":[{\"id\":\"m\",\"name\":\"M\","
                           "\"interval\":\"month\",\"price_cents\":900,"
                           "\"credits_per_period\":5,\"rollover_cap\":1}]}",
                           "plans[0]: credits_expire");
    expect_catalog_refused("{\"credit_unit\":{\"display\":\"stars\"}}",
                           "credit_unit");
    expect_catalog_refused("{\"topup\":{\"min_cents\":500,\"max_cents\":900,"
                           "\"step_cents\":100,\"default_cents\":1000}}",
                           "topup needs");
    setenv("CREDITD_CATALOG", "/nonexistent/catalog.json", 1);
    assert_int_equal(load(), -1);
    assert_non_null(strstr(msg, "cannot read /nonexistent/catalog.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switches_and_choices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urls_and_origins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_brand_and_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_echoed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webhook_secret_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_smtp_password_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
