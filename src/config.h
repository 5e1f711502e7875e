/*
 * config.h - creditd's configuration: one declarative table of settings
 * read from the environment, where a command-line flag of the same name
 * wins (--CREDITD_LISTEN=x or --creditd-listen=x). Every value is checked
 * at load; a bad one stops start-up with a message naming the variable.
 */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include "api/api.h"
#include "billing/billing.h"

#define CD_SMTP_PASSWORD_SZ 256

struct cd_config {
    char listen[128];
    char db[1024];
    char admin_key[256];
    char web_dir[1024];
    char smtp_url[512];
    /* CREDITD_SMTP_PASSWORD_FILE: the SMTP password, read at start and on
     * SIGHUP; "" = credentials from the URL only. */
    char smtp_password_file[1024];
    char smtp_password[CD_SMTP_PASSWORD_SZ];
    char mail_from[256];
    int64_t mail_poll_ms;       /* mail outbox check interval */
    int64_t mail_retry_base_ms; /* first retry delay of a failed send */
    int64_t autotopup_poll_ms;  /* auto top-up worker check interval */
    char stripe_secret_key[256];
    char stripe_api_base[512];
    int log_level;
    int log_json;           /* CREDITD_LOG_FORMAT=json */
    int write_batch;        /* most jobs per group commit */
    int db_writers;         /* writer connections (PostgreSQL) */
    int shutdown_timeout_s; /* CREDITD_SHUTDOWN_TIMEOUT: drain bound */
    int stop_timeout_s; /* CREDITD_STOP_TIMEOUT: the stop after the drain */
    int64_t auth_rate_limit;     /* signup/login per address a minute */
    int64_t checkout_rate_limit; /* payment creations per account a minute */
    int64_t
        discount_rate_limit; /* code guesses per account/address a minute */
    int64_t http_threads; /* event-loop threads; 0: a thread per connection */
    int64_t http_workers; /* worker pool of the event-loop mode */
    int http_offload_all; /* CREDITD_HTTP_OFFLOAD: 1 all, 0 writes,
                                -1 auto (all on PostgreSQL) */
    int64_t http_max_connections; /* past it: 503 server_busy */
    int64_t http_per_address;     /* connections per address; 0: off */
    int64_t http_header_timeout;  /* seconds for a request head; 0: off */
    int64_t http_body_timeout;    /* seconds for a body; 0: off */
    int64_t http_body_budget_kb;  /* KiB held by unfinished bodies; 0: off */
    int64_t reconcile_interval; /* seconds between reconciliations; 0: off */
    int64_t backup_before_migrate; /* 1: a SQLite copy before migrating */
    int64_t purge_interval;        /* seconds between purges (1..86400) */
    int64_t idem_lease_ms;         /* Idempotency-Key claim lease */
    char metrics_listen[128];      /* "" = no separate metrics listener */
    /* STRIPE_WEBHOOK_SECRET_FILE: where the webhook secrets are read from
     * at start and on SIGHUP; "" = from STRIPE_WEBHOOK_SECRET only. */
    char webhook_secret_file[1024];
    /* CREDITD_TRUSTED_PROXIES, canonical (cd_ip_normalize) */
    char trusted_proxies[CD_MAX_PROXIES][CD_IP_SZ];
    int ntrusted_proxies;
    struct cd_billing_config billing;
    /* the sandbox */
    char sandbox_listen[128];
    char sandbox_webhook_url[512];
    char sandbox_webhook_secret[256];
    char sandbox_public_url[512];
    long sandbox_delay_ms;
    char sandbox_account_name[64];
    int sandbox_allow_non_loopback; /* SANDBOX_ALLOW_NON_LOOPBACK */
    /* the outbound events' sender (billing/outbox_send.c) */
    int64_t events_poll_ms, events_retry_base_ms, events_retry_window_s,
        events_disable_after_s, events_timeout_ms;
};

/*
 * Loads the configuration from the environment and argv (flags start with
 * "--"; others are ignored here). Returns 0, or -1 after writing one line
 * naming the bad variable into msg.
 */
int cd_config_load(struct cd_config *c, int argc, char **argv, char *msg,
                   size_t msgsz);

/*
 * Reads the webhook signing secrets from path (STRIPE_WEBHOOK_SECRET_FILE:
 * whsec_... secrets separated by commas, spaces or newlines, at most 8)
 * into out as a comma-separated list. 0, or -1 with the reason in why
 * (never a secret) - out is then unchanged.
 */
int cd_config_read_webhook_secrets(const char *path, char *out, size_t outsz,
                                   char *why, size_t whysz);

/*
 * Reads the SMTP password from path (CREDITD_SMTP_PASSWORD_FILE: one line,
 * a final newline dropped, no control byte, at most
 * CD_SMTP_PASSWORD_SZ - 1 bytes) into out. 0, or -1 with the reason in
 * why (never the password) - out is then unchanged.
 */
int cd_config_read_smtp_password(const char *path, char *out, size_t outsz,
                                 char *why, size_t whysz);

/*
 * The CREDITD_* variables of the environment that are neither a setting
 * nor a name read elsewhere (config_names.c lists those): fn(cls, name,
 * nearest) once for each, nearest the closest setting's name (edit
 * distance) or NULL. Names only, never a value. Returns how many.
 */
typedef void (*cd_config_name_fn)(void *cls, const char *name,
                                  const char *nearest);
int cd_config_unknown_names(cd_config_name_fn fn, void *cls);

/* Prints the settings table (name, default, meaning) for --help. */
/* The creditd(1) man page (roff) from the settings table, on stdout. */
void cd_config_print_man(const char *version);
void cd_config_print_help(void);

#endif
