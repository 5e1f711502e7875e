/*
 * config.c - the settings table and its loader; see config.h. The
 * setters of the catalog, secrets, branding and sandbox settings are in
 * config_catalog.c, config_secrets.c, config_brand.c and config_sandbox.c
 * (config_int.h); the value checks they all use in config_value.c.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
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

typedef int (*setter_fn)(struct cd_config *c, const char *v, char *why,
                         size_t whysz);

struct setting {
    const char *name;
    const char *dflt; /* NULL: unset by default */
    setter_fn set;
    const char *help;
};

#define WHY(...) cd_cfg_why_set(why, whysz, __VA_ARGS__)

static int set_listen(struct cd_config *c, const char *v, char *why,
                      size_t whysz)
{
    char host[128];
    int port;

    if (cd_http_parse_listen(v, host, sizeof(host), &port) != 0)
        return WHY("want host:port, e.g. 127.0.0.1:8080");
    return cd_cfg_copy(c->listen, sizeof(c->listen), v, why, whysz);
}

static int set_db(struct cd_config *c, const char *v, char *why, size_t whysz)
{
    if (!*v)
        return WHY("must not be empty");
    return cd_cfg_copy(c->db, sizeof(c->db), v, why, whysz);
}

static int set_admin_key(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    if (*v && strlen(v) < 16)
        return WHY("must be at least 16 characters");
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p > '~')
            return WHY("must be printable ASCII without spaces");
    return cd_cfg_copy(c->admin_key, sizeof(c->admin_key), v, why, whysz);
}

static int set_base_url(struct cd_config *c, const char *v, char *why,
                        size_t whysz)
{
    if (!*v)
        return 0; /* derived from CREDITD_LISTEN after loading */
    return cd_cfg_url(c->billing.base_url, sizeof(c->billing.base_url), v,
                      why, whysz);
}

static int set_origins(struct cd_config *c, const char *v, char *why,
                       size_t whysz)
{
    char tmp[4096], *save = NULL, *tok;

    if (cd_cfg_copy(tmp, sizeof(tmp), v, why, whysz) != 0)
        return -1;
    /* slot 0 is kept for the base URL's origin */
    c->billing.nredirect_origins = 1;
    for (tok = strtok_r(tmp, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char u[256];

        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (c->billing.nredirect_origins >= 16)
            return WHY("at most 15 origins");
        if (cd_cfg_url(u, sizeof(u), tok, why, whysz) != 0 ||
            cd_url_origin(
                u, c->billing.redirect_origins[c->billing.nredirect_origins],
                sizeof(c->billing.redirect_origins[0])) != 0)
            return WHY("'%s' is not an origin like https://app.example.com",
                       tok);
        c->billing.nredirect_origins++;
    }
    return 0;
}

static int set_api_base(struct cd_config *c, const char *v, char *why,
                        size_t whysz)
{
    return cd_cfg_url(c->stripe_api_base, sizeof(c->stripe_api_base), v, why,
                      whysz);
}

static int set_tolerance(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    return cd_cfg_int_in(v, 1, 86400, &c->billing.webhook_tolerance, why,
                         whysz);
}

static int set_price_mode(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    if (strcmp(v, "launch") != 0 && strcmp(v, "rrp") != 0 &&
        strcmp(v, "sale") != 0)
        return WHY("must be launch, rrp or sale");
    return cd_cfg_copy(c->billing.default_pricing.mode,
                       sizeof(c->billing.default_pricing.mode), v, why,
                       whysz);
}

static int set_launch(struct cd_config *c, const char *v, char *why,
                      size_t whysz)
{
    return cd_cfg_int_in(v, 50, CD_AMOUNT_MAX,
                         &c->billing.default_pricing.launch_cents, why,
                         whysz);
}

static int set_rrp(struct cd_config *c, const char *v, char *why,
                   size_t whysz)
{
    return cd_cfg_int_in(v, 50, CD_AMOUNT_MAX,
                         &c->billing.default_pricing.rrp_cents, why, whysz);
}

static int set_sale(struct cd_config *c, const char *v, char *why,
                    size_t whysz)
{
    return cd_cfg_int_in(v, 50, CD_AMOUNT_MAX,
                         &c->billing.default_pricing.sale_cents, why, whysz);
}

static int set_currency(struct cd_config *c, const char *v, char *why,
                        size_t whysz)
{
    if (strlen(v) != 3 || !islower((unsigned char)v[0]) ||
        !islower((unsigned char)v[1]) || !islower((unsigned char)v[2]))
        return WHY("must be a lower-case ISO 4217 code such as usd");
    return cd_cfg_copy(c->billing.currency, sizeof(c->billing.currency), v,
                       why, whysz);
}

static int set_smtp(struct cd_config *c, const char *v, char *why,
                    size_t whysz)
{
    if (*v && strncmp(v, "smtp://", 7) != 0 && strncmp(v, "smtps://", 8) != 0)
        return WHY("must start with smtp:// or smtps://");
    return cd_cfg_copy(c->smtp_url, sizeof(c->smtp_url), v, why, whysz);
}

static int set_mail_from(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    if (*v && !strchr(v, '@'))
        return WHY("must be an email address");
    return cd_cfg_copy(c->mail_from, sizeof(c->mail_from), v, why, whysz);
}

static int set_mail_poll(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    return cd_cfg_int_in(v, 100, 3600000, &c->mail_poll_ms, why, whysz);
}

static int set_autotopup_poll(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 100, 3600000, &c->autotopup_poll_ms, why, whysz);
}

static int set_mail_retry(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    return cd_cfg_int_in(v, 100, 3600000, &c->mail_retry_base_ms, why, whysz);
}

static int set_events_poll(struct cd_config *c, const char *v, char *why,
                           size_t whysz)
{
    return cd_cfg_int_in(v, 10, 3600000, &c->events_poll_ms, why, whysz);
}

static int set_events_retry(struct cd_config *c, const char *v, char *why,
                            size_t whysz)
{
    return cd_cfg_int_in(v, 10, 3600000, &c->events_retry_base_ms, why,
                         whysz);
}

static int set_events_window(struct cd_config *c, const char *v, char *why,
                             size_t whysz)
{
    return cd_cfg_int_in(v, 60, 30 * 86400, &c->events_retry_window_s, why,
                         whysz);
}

static int set_events_disable(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 60, 30 * 86400, &c->events_disable_after_s, why,
                         whysz);
}

static int set_events_timeout(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 100, 60000, &c->events_timeout_ms, why, whysz);
}

static int set_log(struct cd_config *c, const char *v, char *why,
                   size_t whysz)
{
    int l = cd_log_parse_level(v);

    if (l < 0)
        return WHY("must be debug, info, warn or error");
    c->log_level = l;
    return 0;
}

static int set_log_format(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
        return WHY("must be text or json");
    c->log_json = strcmp(v, "json") == 0;
    return 0;
}

static int set_token_ttl(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    return cd_cfg_int_in(v, 60, 365 * 86400, &c->billing.token_ttl, why,
                         whysz);
}

static int set_write_batch(struct cd_config *c, const char *v, char *why,
                           size_t whysz)
{
    int64_t n;

    if (cd_cfg_int_in(v, 1, 4096, &n, why, whysz) != 0)
        return -1;
    c->write_batch = (int)n;
    return 0;
}

static int set_db_writers(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    int64_t n;

    if (cd_cfg_int_in(v, 1, 32, &n, why, whysz) != 0)
        return -1;
    c->db_writers = (int)n;
    return 0;
}

static int set_shutdown_timeout(struct cd_config *c, const char *v, char *why,
                                size_t whysz)
{
    int64_t n;

    if (cd_cfg_int_in(v, 0, 3600, &n, why, whysz) != 0)
        return -1;
    c->shutdown_timeout_s = (int)n;
    return 0;
}

static int set_stop_timeout(struct cd_config *c, const char *v, char *why,
                            size_t whysz)
{
    int64_t n;

    if (cd_cfg_int_in(v, 1, 3600, &n, why, whysz) != 0)
        return -1;
    c->stop_timeout_s = (int)n;
    return 0;
}

static int set_idem_lease(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    return cd_cfg_int_in(v, CD_IDEM_LEASE_MS_MIN, CD_IDEM_LEASE_MS_MAX,
                         &c->idem_lease_ms, why, whysz);
}

static int set_test_clock(struct cd_config *c, const char *v, char *why,
                          size_t whysz)
{
    int64_t n;

    (void)c;
    if (cd_cfg_int_in(v, 0, INT64_C(3153600000), &n, why, whysz) != 0)
        return -1;
    cd_clock_set_offset(n);
    return 0;
}

static int set_checkout_expires(struct cd_config *c, const char *v, char *why,
                                size_t whysz)
{
    return cd_cfg_int_in(v, 1800, 86400, &c->billing.checkout_expires_s, why,
                         whysz);
}

static int set_max_pending(struct cd_config *c, const char *v, char *why,
                           size_t whysz)
{
    return cd_cfg_int_in(v, 1, 10000, &c->billing.max_pending_orders, why,
                         whysz);
}

static int set_require_verify(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 0, 1, &c->billing.require_email_verification, why,
                         whysz);
}

static int set_backup_before_migrate(struct cd_config *c, const char *v,
                                     char *why, size_t whysz)
{
    return cd_cfg_int_in(v, 0, 1, &c->backup_before_migrate, why, whysz);
}

static int set_expiry_interval(struct cd_config *c, const char *v, char *why,
                               size_t whysz)
{
    return cd_cfg_int_in(v, 1, 86400, &c->billing.expiry_interval_s, why,
                         whysz);
}

static int set_reconcile_interval(struct cd_config *c, const char *v,
                                  char *why, size_t whysz)
{
    return cd_cfg_int_in(v, 0, 86400, &c->reconcile_interval, why, whysz);
}

static int set_purge_interval(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 1, 86400, &c->purge_interval, why, whysz);
}

/* The open metrics listener: empty, or a loopback host:port (it answers
 * without credentials, so nothing else may reach it). */
static int set_metrics_listen(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    struct in_addr a4;
    struct in6_addr a6;
    char host[128];
    int port;

    if (!*v)
        return 0;
    if (cd_http_parse_listen(v, host, sizeof(host), &port) != 0)
        return WHY("want host:port, e.g. 127.0.0.1:9464");
    if (!(inet_pton(AF_INET, host, &a4) == 1 &&
          (ntohl(a4.s_addr) >> 24) == 127) &&
        !(inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
        return WHY("must be a loopback address (127.x.x.x or [::1]): "
                   "/metrics is served there without credentials");
    return cd_cfg_copy(c->metrics_listen, sizeof(c->metrics_listen), v, why,
                       whysz);
}

static int set_auth_rate(struct cd_config *c, const char *v, char *why,
                         size_t whysz)
{
    return cd_cfg_int_in(v, 0, 1000000, &c->auth_rate_limit, why, whysz);
}

static int set_checkout_rate(struct cd_config *c, const char *v, char *why,
                             size_t whysz)
{
    return cd_cfg_int_in(v, 0, 1000000, &c->checkout_rate_limit, why, whysz);
}

static int set_discount_rate(struct cd_config *c, const char *v, char *why,
                             size_t whysz)
{
    return cd_cfg_int_in(v, 0, 1000000, &c->discount_rate_limit, why, whysz);
}

/* Comma-separated IP addresses (no ranges), at most CD_MAX_PROXIES. */
static int set_trusted_proxies(struct cd_config *c, const char *v, char *why,
                               size_t whysz)
{
    const char *p = v;

    c->ntrusted_proxies = 0;
    while (*v && *p) {
        size_t n = strcspn(p, ",");

        if (c->ntrusted_proxies == CD_MAX_PROXIES)
            return WHY("at most %d addresses", CD_MAX_PROXIES);
        if (cd_ip_normalize(p, n, c->trusted_proxies[c->ntrusted_proxies],
                            CD_IP_SZ) != 0)
            return WHY("must be IP addresses (no ranges, no names), "
                       "comma-separated");
        c->ntrusted_proxies++;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int set_http_threads(struct cd_config *c, const char *v, char *why,
                            size_t whysz)
{
    return cd_cfg_int_in(v, 0, 256, &c->http_threads, why, whysz);
}

static int set_http_workers(struct cd_config *c, const char *v, char *why,
                            size_t whysz)
{
    return cd_cfg_int_in(v, 1, 1024, &c->http_workers, why, whysz);
}

static int set_http_offload(struct cd_config *c, const char *v, char *why,
                            size_t whysz)
{
    if (strcmp(v, "auto") == 0)
        c->http_offload_all = -1;
    else if (strcmp(v, "writes") == 0 || strcmp(v, "all") == 0)
        c->http_offload_all = strcmp(v, "all") == 0;
    else
        return WHY("must be auto, writes or all");
    return 0;
}

static int set_http_max_conns(struct cd_config *c, const char *v, char *why,
                              size_t whysz)
{
    return cd_cfg_int_in(v, 16, 16384, &c->http_max_connections, why, whysz);
}

static int set_http_per_address(struct cd_config *c, const char *v, char *why,
                                size_t whysz)
{
    return cd_cfg_int_in(v, 0, 16384, &c->http_per_address, why, whysz);
}

static int set_http_header_timeout(struct cd_config *c, const char *v,
                                   char *why, size_t whysz)
{
    return cd_cfg_int_in(v, 0, 3600, &c->http_header_timeout, why, whysz);
}

static int set_http_body_timeout(struct cd_config *c, const char *v,
                                 char *why, size_t whysz)
{
    return cd_cfg_int_in(v, 0, 3600, &c->http_body_timeout, why, whysz);
}

static int set_http_body_budget(struct cd_config *c, const char *v, char *why,
                                size_t whysz)
{
    return cd_cfg_int_in(v, 0, 16 * 1024 * 1024, &c->http_body_budget_kb, why,
                         whysz);
}

static const struct setting settings[] = {
    {"CREDITD_LISTEN", "127.0.0.1:8080", set_listen,
     "address the API listens on"},
    {"CREDITD_DB", "./creditd.db", set_db,
     "SQLite database file, or a postgres:// URL"},
    {"CREDITD_ADMIN_KEY", "", set_admin_key,
     "server key for /v1/admin/* and your backend (>= 16 chars)"},
    {"CREDITD_BASE_URL", "", set_base_url,
     "public URL of this server (default http://CREDITD_LISTEN)"},
    {"CREDITD_ALLOWED_REDIRECT_ORIGINS", "", set_origins,
     "extra origins allowed in success_url/cancel_url, comma-separated"},
    {"STRIPE_SECRET_KEY", "", cd_cfg_set_stripe_key,
     "Stripe secret key; unset: checkout answers 503"},
    {"STRIPE_PUBLISHABLE_KEY", "", cd_cfg_set_publishable,
     "Stripe publishable key, shown in /v1/config"},
    {"STRIPE_WEBHOOK_SECRET", "", cd_cfg_set_webhook_secret,
     "webhook signing secret(s), comma-separated; unset: webhook answers 503"},
    {"STRIPE_WEBHOOK_SECRET_FILE", "", cd_cfg_set_webhook_secret_file,
     "file of webhook signing secret(s), read at start and again on SIGHUP (rotation without restart); instead of STRIPE_WEBHOOK_SECRET"},
    {"STRIPE_API_BASE", "https://api.stripe.com", set_api_base,
     "Stripe API base URL (the sandbox: http://127.0.0.1:12111)"},
    {"STRIPE_WEBHOOK_TOLERANCE", "300", set_tolerance,
     "seconds a webhook timestamp may differ from now"},
    {"PRICE_MODE", "launch", set_price_mode,
     "launch | rrp | sale (until changed by PUT /v1/admin/pricing)"},
    {"PRICE_LAUNCH_CENTS", "2999", set_launch, "access price in launch mode"},
    {"PRICE_RRP_CENTS", "4999", set_rrp, "access price in rrp mode"},
    {"PRICE_SALE_CENTS", "2499", set_sale, "access price in sale mode"},
    {"CURRENCY", "usd", set_currency, "deployment currency"},
    {"CREDITD_SMTP_URL", "", set_smtp, "SMTP server for mail (smtp://...)"},
    {"CREDITD_SMTP_PASSWORD_FILE", "", cd_cfg_set_smtp_password_file,
     "file holding the SMTP password (one line; the user name stays in CREDITD_SMTP_URL, smtp://user@host), read at start and again on SIGHUP (rotation without restart)"},
    {"CREDITD_MAIL_FROM", "", set_mail_from,
     "sender address of mail (required with CREDITD_SMTP_URL)"},
    {"CREDITD_MAIL_POLL_MS", "5000", set_mail_poll,
     "milliseconds between checks of the mail outbox (min 100)"},
    {"CREDITD_MAIL_RETRY_BASE_MS", "60000", set_mail_retry,
     "first retry delay of a failed mail; doubles per attempt up to 1 h, 10 attempts"},
    {"CREDITD_AUTOTOPUP_POLL_MS", "1000", set_autotopup_poll,
     "milliseconds between checks for due auto top-ups (100..3600000)"},
    {"CREDITD_EVENTS_POLL_MS", "1000", set_events_poll,
     "milliseconds between checks for webhook event deliveries due (min 10)"},
    {"CREDITD_EVENTS_RETRY_BASE_MS", "30000", set_events_retry,
     "first retry delay of a failed webhook event delivery; doubles per attempt up to 1 h"},
    {"CREDITD_EVENTS_RETRY_WINDOW", "259200", set_events_window,
     "seconds a webhook event delivery is retried before it is given up (3 days)"},
    {"CREDITD_EVENTS_DISABLE_AFTER", "259200", set_events_disable,
     "seconds a webhook endpoint may fail without one success before it is disabled"},
    {"CREDITD_EVENTS_TIMEOUT_MS", "10000", set_events_timeout,
     "milliseconds one webhook event delivery may take (connect 5 s at most)"},
    {"CREDITD_LOG", "info", set_log, "debug | info | warn | error"},
    {"CREDITD_LOG_FORMAT", "text", set_log_format,
     "text | json (one JSON object per line)"},
    {"CREDITD_CATALOG", "", cd_cfg_set_catalog,
     "JSON file of packages, plans and top-up limits"},
    {"CREDITD_TOKEN_TTL", "2592000", set_token_ttl,
     "account token lifetime in seconds (30 days)"},
    {"CREDITD_WRITE_BATCH", "512", set_write_batch,
     "most writes per group commit (1: one fsync per write)"},
    {"CREDITD_DB_WRITERS", "4", set_db_writers,
     "PostgreSQL writer connections (1..32); SQLite has one"},
    {"CREDITD_SHUTDOWN_TIMEOUT", "10", set_shutdown_timeout,
     "seconds SIGTERM/SIGINT waits for in-flight requests to finish before stopping"},
    {"CREDITD_STOP_TIMEOUT", "30", set_stop_timeout,
     "seconds the stop after that may take (background jobs, requests waiting on the database writer, its queued jobs; 1..3600); past it creditd logs the step and exits 1 without waiting or freeing (a stalled database)"},
    {"CREDITD_CHECKOUT_EXPIRES", "3600", set_checkout_expires,
     "seconds a Checkout session stays payable (1800..86400); its order and the discount use it holds end with it"},
    {"CREDITD_MAX_PENDING_ORDERS", "20", set_max_pending,
     "most unpaid orders one account may have open at once (429 beyond)"},
    {"CREDITD_BACKUP_BEFORE_MIGRATE", "1", set_backup_before_migrate,
     "1: before serve or migrate applies new migrations to an existing SQLite file, copy it to <file>.pre-v<N>-<time>.bak (a failed copy stops start-up); 0: no copy (PostgreSQL: use pg_dump)"},
    {"CREDITD_REQUIRE_EMAIL_VERIFICATION", "0", set_require_verify,
     "1: a password account confirms its email (mailed link) before its first purchase (403 email_not_verified)"},
    {"CREDITD_IDEM_LEASE_MS", "30000", set_idem_lease,
     "how long a request's Idempotency-Key claim outlives its process: a retry of a request whose node died waits this long (1000..600000 ms); live requests renew it"},
    {"CREDITD_TEST_CLOCK_OFFSET", "0", set_test_clock,
     "tests only: seconds the server's clock runs ahead of the system's (expiry and lease tests move time instead of sleeping); 0 in production"},
    {"CREDITD_RECONCILE_INTERVAL", "300", set_reconcile_interval,
     "seconds between reconciliations with Stripe (0: off; POST /v1/admin/reconcile still works)"},
    {"CREDITD_EXPIRY_INTERVAL", "60", set_expiry_interval,
     "seconds between sweeps that write the expiry entries of credit lots past their expiry (1..86400; a debit expires its own account's lots first anyway)"},
    {"CREDITD_PURGE_INTERVAL", "3600", set_purge_interval,
     "seconds between purges of old idempotency keys, tokens, failed-login counts and rate-limit windows (1..86400; one node at a time, under a lease of twice this)"},
    {"CREDITD_METRICS_LISTEN", "", set_metrics_listen,
     "loopback host:port serving GET /metrics without credentials (e.g. 127.0.0.1:9464)"},
    {"CREDITD_AUTH_RATE_LIMIT", "120", set_auth_rate,
     "signup and login requests per client address a minute (0: off); failed logins are throttled apart from it, per email and address (see README)"},
    {"CREDITD_CHECKOUT_RATE_LIMIT", "10", set_checkout_rate,
     "POST /v1/checkout, /v1/topups and /v1/payment_intents together per account a minute, the whole burst at once (0: off)"},
    {"CREDITD_DISCOUNT_RATE_LIMIT", "20", set_discount_rate,
     "discount codes tried (validate, or a checkout with a code) per account and per client address a minute (0: off)"},
    {"CREDITD_TRUSTED_PROXIES", "", set_trusted_proxies,
     "IP addresses of your reverse proxies, comma-separated: from them X-Forwarded-For gives the client address for the per-address limits; unset: X-Forwarded-For is ignored"},
    {"CREDITD_HTTP_THREADS", "4", set_http_threads,
     "event-loop threads serving HTTP (epoll; they never block: writes, Stripe calls and password hashing run on the worker threads with the connection suspended); 0: the old mode, a thread per connection"},
    {"CREDITD_HTTP_WORKERS", "64",
     set_http_workers, "worker threads (1..1024) that run requests which may wait - writes waiting for their group commit, Stripe calls, password hashing - while their connections are suspended; a writer holds its worker until its commit, so this is also the largest group-commit batch HTTP requests can form: raise it with more concurrent writers"},
    {"CREDITD_HTTP_OFFLOAD", "auto", set_http_offload,
     "which requests run on the worker threads: writes (every method but GET and HEAD, and the admin routes; reads stay on the event-loop threads: measured faster with SQLite, where a read is tens of microseconds), all (reads too: measured faster with PostgreSQL, where a read is a round trip), or auto: writes with SQLite, all with PostgreSQL"},
    {"CREDITD_HTTP_MAX_CONNECTIONS", "1024", set_http_max_conns,
     "open connections served (16..16384); past it a request is answered 503 server_busy with Retry-After (up to max/8 more, at least 16), then new connections are closed at accept"},
    {"CREDITD_HTTP_PER_ADDRESS", "64", set_http_per_address,
     "most open connections from one client address (0: off - set 0 behind a reverse proxy, where every connection comes from the proxy's address)"},
    {"CREDITD_HTTP_HEADER_TIMEOUT", "10", set_http_header_timeout,
     "seconds a request's head may take from the accept (or the end of the previous request on a kept-alive connection), trickled or not; past it the connection is cut (0: off)"},
    {"CREDITD_HTTP_BODY_TIMEOUT", "30", set_http_body_timeout,
     "seconds a request's body may take after its head; past it the connection is cut (0: off)"},
    {"CREDITD_HTTP_BODY_BUDGET_KB", "32768", set_http_body_budget,
     "KiB that unfinished request bodies may hold across all connections; a body that would pass it is answered 503 server_busy (0: off)"},
    {"CREDITD_BRAND_NAME", "creditd", cd_cfg_set_brand_name,
     "business name shown by the web UI, the sandbox's checkout page and receipts"},
    {"CREDITD_BRAND_LOGO_URL", "", cd_cfg_set_brand_logo,
     "logo in the web UI's header: an https:// URL or a same-origin path (/logo.svg)"},
    {"CREDITD_SUPPORT_EMAIL", "", cd_cfg_set_support_email,
     "support address named in the web UI and receipts"},
    {"CREDITD_BRAND_COLOR", "", cd_cfg_set_brand_color,
     "accent colour of the web UI, #rrggbb (text on it is white or black by contrast)"},
    {"CREDITD_WEB_DIR", "", cd_cfg_set_web_dir,
     "directory of the web UI (default: web/ beside the binary's source tree)"},
    {"SANDBOX_LISTEN", "127.0.0.1:12111", cd_cfg_set_sb_listen,
     "sandbox: address (loopback only, unless SANDBOX_ALLOW_NON_LOOPBACK=1)"},
    {"SANDBOX_ALLOW_NON_LOOPBACK", "0", cd_cfg_set_sb_allow_public,
     "sandbox: 1 lets SANDBOX_LISTEN be an address that is not loopback (a test network of containers), and lets in the Host of SANDBOX_PUBLIC_URL; whoever reaches it can pay, refund and dispute - never on a network you do not own"},
    {"SANDBOX_WEBHOOK_URL", "", cd_cfg_set_sb_webhook_url,
     "sandbox: where it delivers events"},
    {"SANDBOX_WEBHOOK_SECRET", "", cd_cfg_set_sb_secret,
     "sandbox: whsec_... it signs events with"},
    {"SANDBOX_PUBLIC_URL", "", cd_cfg_set_sb_public,
     "sandbox: base of checkout page URLs"},
    {"SANDBOX_ACCOUNT_NAME", "", cd_cfg_set_sb_account,
     "sandbox: merchant name its checkout page shows (demo: CREDITD_BRAND_NAME)"},
    {"SANDBOX_WEBHOOK_DELAY_MS", "0", cd_cfg_set_sb_delay,
     "sandbox: delay before each webhook delivery"},
};

const char *cd_cfg_setting_name(size_t i)
{
    return i < CD_ARRAY_LEN(settings) ? settings[i].name : NULL;
}

/* The value of setting s from argv (--NAME=v or --name-with-dashes=v). */
static const char *flag_value(const char *name, int argc, char **argv)
{
    const char *found = NULL;
    size_t n = strlen(name);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t k;

        if (strncmp(a, "--", 2) != 0)
            continue;
        a += 2;
        for (k = 0; k < n; k++) {
            char x = a[k], y = name[k];

            if (x == '-')
                x = '_';
            if (toupper((unsigned char)x) != y)
                break;
        }
        if (k == n && a[n] == '=')
            found = a + n + 1;
    }
    return found;
}

int cd_config_load(struct cd_config *c, int argc, char **argv, char *msg,
                   size_t msgsz)
{
    char why[512];

    memset(c, 0, sizeof(*c));
    c->log_level = CD_LOG_INFO;
    cd_cfg_default_catalog(&c->billing);
    c->billing.nredirect_origins = 1;
    for (size_t i = 0; i < CD_ARRAY_LEN(settings); i++) {
        const struct setting *s = &settings[i];
        const char *v = flag_value(s->name, argc, argv);
        const char *src = "flag";

        if (!v) {
            v = getenv(s->name);
            src = "environment";
        }
        if (!v) {
            v = s->dflt;
            src = "default";
        }
        why[0] = '\0';
        if (s->set(c, v, why, sizeof(why)) != 0) {
            snprintf(msg, msgsz, "%s (%s): %s", s->name, src, why);
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        int known = strncmp(argv[i], "--", 2) != 0;

        for (size_t k = 0; !known && k < CD_ARRAY_LEN(settings); k++)
            known = flag_value(settings[k].name, 2,
                               (char *[]){argv[0], argv[i]}) != NULL;
        if (!known && strcmp(argv[i], "--help") != 0) {
            /* Only the name: the value may be a secret. */
            snprintf(msg, msgsz, "unknown flag %.*s (see creditd --help)",
                     (int)strcspn(argv[i], "="), argv[i]);
            return -1;
        }
    }
    if (c->smtp_url[0] && !c->mail_from[0]) {
        snprintf(msg, msgsz,
                 "CREDITD_MAIL_FROM: required when "
                 "CREDITD_SMTP_URL is set");
        return -1;
    }
    if (!c->billing.base_url[0])
        snprintf(c->billing.base_url, sizeof(c->billing.base_url),
                 "http://%s", c->listen);
    if (cd_url_origin(c->billing.base_url, c->billing.redirect_origins[0],
                      sizeof(c->billing.redirect_origins[0])) != 0) {
        snprintf(msg, msgsz,
                 "CREDITD_BASE_URL: not an http(s) URL with a "
                 "host (from CREDITD_LISTEN if unset)");
        return -1;
    }
    if (cd_cfg_check_live_key(c, msg, msgsz) != 0 ||
        cd_cfg_load_secret_file(c, msg, msgsz) != 0 ||
        cd_cfg_load_smtp_password(c, msg, msgsz) != 0)
        return -1;
    if (!c->web_dir[0]) {
        /* The UI ships in the source tree's web/; CMake bakes its path. */
#ifdef CD_SOURCE_DIR
        snprintf(c->web_dir, sizeof(c->web_dir), "%s/web", CD_SOURCE_DIR);
#else
        cd_strlcpy(c->web_dir, "web", sizeof(c->web_dir));
#endif
    }
    if (!c->billing.token_ttl)
        c->billing.token_ttl = 30 * 86400;
    return 0;
}

/* Writes s for roff: a leading '.' or '\'' escaped, '\\' doubled, '-' as
 * \- (a minus sign, so options copy and paste). */
static void roff_text(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
}

void cd_config_print_man(const char *version)
{
    printf(".TH CREDITD 1 \"\" \"creditd %s\" \"User Commands\"\n", version);
    printf(
        ".SH NAME\ncreditd \\- prepaid credits and Stripe payments server\n"
        ".SH SYNOPSIS\n.B creditd\n.I command\n[\\fB\\-\\-SETTING\\fR=\\fIvalue\\fR ...]\n"
        ".SH COMMANDS\n"
        ".TP\n.B serve\nrun the server (API, webhooks, web UI)\n"
        ".TP\n.B demo\nrun SQLite, the server and the Stripe sandbox together\n"
        ".TP\n.B sandbox\nrun the Stripe sandbox alone\n"
        ".TP\n.B migrate\napply database migrations and exit\n"
        ".TP\n.B config check\ncheck the settings (exit 0 ok, 1 a CREDITD_* "
        "variable that is no setting, 2 a bad value)\n"
        ".TP\n.BI backup \" file\"\ncopy CREDITD_DB into a new file (0600), a "
        "consistent snapshot even while a server writes\n"
        ".TP\n.B stripe check\nverify STRIPE_SECRET_KEY and the webhook "
        "endpoint's enabled events against STRIPE_API_BASE (exit 0 ok, 1 a "
        "check failed, 2 Stripe could not be asked)\n"
        ".TP\n.B admin\noperator commands against a running server "
        "(creditd admin \\-\\-help)\n"
        ".TP\n.B version\nprint the version and the schema version\n"
        ".SH SETTINGS\nEach setting is an environment variable; a flag "
        "\\fB\\-\\-NAME\\fR=\\fIvalue\\fR wins.\n");
    for (size_t i = 0; i < CD_ARRAY_LEN(settings); i++) {
        printf(".TP\n.B ");
        roff_text(settings[i].name);
        printf("\n");
        roff_text(settings[i].help);
        printf("\n.br\nDefault: ");
        roff_text(settings[i].dflt && *settings[i].dflt ? settings[i].dflt
                                                        : "(none)");
        printf("\n");
    }
    printf(
        ".SH SIGNALS\n.TP\n.B SIGTERM, SIGINT\nstop accepting, let "
        "requests in flight finish (up to CREDITD_SHUTDOWN_TIMEOUT), exit 0; "
        "a stop that takes longer than CREDITD_STOP_TIMEOUT after that (a "
        "stalled database) exits 1\n"
        ".TP\n.B SIGHUP\nre-read the webhook secrets from "
        "STRIPE_WEBHOOK_SECRET_FILE and the SMTP password from "
        "CREDITD_SMTP_PASSWORD_FILE\n"
        ".SH SEE ALSO\ndocs/OPERATIONS.md, docs/API.md in the creditd "
        "sources\n");
}

void cd_config_print_help(void)
{
    printf("Settings (environment variables; a flag --NAME=value wins):\n");
    for (size_t i = 0; i < CD_ARRAY_LEN(settings); i++)
        printf("  %-34s %-26s %s\n", settings[i].name,
               settings[i].dflt && *settings[i].dflt ? settings[i].dflt : "-",
               settings[i].help);
}
