/*
 * serve.c - creditd serve: the server's start and stop (store, Stripe,
 * the API and metrics listeners, the background workers), the signals
 * (SIGINT/SIGTERM drain and stop; SIGHUP reloads the webhook secrets from
 * STRIPE_WEBHOOK_SECRET_FILE and the SMTP password from
 * CREDITD_SMTP_PASSWORD_FILE) and the start-up warnings. demo.c starts
 * the same server (main_int.h).
 */
#include "main_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "billing/autotopup.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/idempotency.h"
#include "billing/jobs.h"
#include "billing/lots.h"
#include "billing/mail.h"
#include "billing/outbox.h"
#include "config.h"
#include "http/server.h"
#include "store/backup.h"
#include "store/store.h"
#include "stripe/client.h"
#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

/* Blocks SIGINT/SIGTERM/SIGHUP in every thread (call before starting
 * any), so cd_signals_wait() can take them synchronously. */
void cd_signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Waits for SIGINT or SIGTERM. A SIGHUP meanwhile calls on_hup(arg) (or
 * is logged when there is none) and the wait goes on. */
void cd_signals_wait(sigset_t *set, void (*on_hup)(void *arg), void *arg)
{
    int sig = 0;

    for (;;) {
        if (sigwait(set, &sig) != 0 || sig != SIGHUP)
            break;
        if (on_hup)
            on_hup(arg);
        else
            cd_info("main", "SIGHUP: nothing to reload");
    }
    cd_info("main", "signal %d: shutting down", sig);
}

struct reload {
    struct cd_server *server;
    const struct cd_config *cfg;
};

/* SIGHUP: the SMTP password again from CREDITD_SMTP_PASSWORD_FILE; on any
 * failure the old one stays. Mail being sent finishes with the old one;
 * mail refused meanwhile for a bad login is tried again (mail.c). */
static void reload_smtp_password(const struct reload *r)
{
    char pw[CD_SMTP_PASSWORD_SZ], why[512];

    if (cd_config_read_smtp_password(r->cfg->smtp_password_file, pw,
                                     sizeof(pw), why, sizeof(why)) != 0) {
        cd_warn("main",
                "SIGHUP: CREDITD_SMTP_PASSWORD_FILE: %s; the SMTP "
                "password is unchanged",
                why);
        return;
    }
    if (cd_mailer_set_password(r->server->mailer, pw) != 0)
        cd_warn("main", "SIGHUP: CREDITD_SMTP_PASSWORD_FILE: cannot be "
                        "used; the SMTP password is unchanged");
    else
        cd_info("main", "SIGHUP: SMTP password loaded from "
                        "CREDITD_SMTP_PASSWORD_FILE");
    sodium_memzero(pw, sizeof(pw));
}

/* SIGHUP in serve: the webhook secrets again from
 * STRIPE_WEBHOOK_SECRET_FILE and the SMTP password from
 * CREDITD_SMTP_PASSWORD_FILE (each when set); on any failure the old ones
 * stay. */
static void reload_secrets(void *arg)
{
    const struct reload *r = arg;
    char list[sizeof(r->cfg->billing.webhook_secrets)], why[512];
    int n = 1;

    if (r->cfg->smtp_password_file[0])
        reload_smtp_password(r);
    if (!r->cfg->webhook_secret_file[0]) {
        if (!r->cfg->smtp_password_file[0])
            cd_warn("main", "SIGHUP: STRIPE_WEBHOOK_SECRET_FILE is not set, "
                            "nothing to reload (other settings are read at "
                            "start only)");
        return;
    }
    if (cd_config_read_webhook_secrets(r->cfg->webhook_secret_file, list,
                                       sizeof(list), why, sizeof(why)) != 0) {
        cd_warn("main",
                "SIGHUP: STRIPE_WEBHOOK_SECRET_FILE: %s; the webhook "
                "secrets are unchanged",
                why);
        return;
    }
    for (const char *p = list; *p; p++)
        n += *p == ',';
    cd_webhook_set_secrets(&r->server->billing, list);
    sodium_memzero(list, sizeof(list));
    cd_info("main",
            "SIGHUP: %d webhook secret(s) loaded from "
            "STRIPE_WEBHOOK_SECRET_FILE",
            n);
}

/*
 * Start-up warnings for settings that run but are likely a mistake. A
 * live key sent somewhere other than Stripe's own API is only a warning:
 * config.c already refuses it in clear text off loopback, a loopback
 * proxy is legitimate, and the sandbox refuses any key but sk_test_ (so
 * no payment can be faked there with a live key).
 */
static void warn_settings(const struct cd_config *c)
{
    struct stat st;
    struct cd_origin o;

    if (!c->admin_key[0])
        cd_warn("main", "CREDITD_ADMIN_KEY is not set: /v1/admin/*, grants "
                        "and debits answer 401 to everyone");
    if (stat(c->web_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        cd_warn("main",
                "CREDITD_WEB_DIR %s is not a directory: the web UI "
                "answers 404 (set CREDITD_WEB_DIR to the web/ folder)",
                c->web_dir);
    if ((strncmp(c->stripe_secret_key, "sk_live_", 8) == 0 ||
         strncmp(c->stripe_secret_key, "rk_live_", 8) == 0) &&
        strcasecmp(c->stripe_api_base, "https://api.stripe.com") != 0)
        cd_warn("main",
                "a live STRIPE_SECRET_KEY is sent to STRIPE_API_BASE "
                "%s, not https://api.stripe.com: real payments go "
                "only through Stripe's API (the sandbox refuses live "
                "keys)",
                c->stripe_api_base);
    if (cd_url_parse_origin(c->billing.base_url, &o) == 0 && !o.https &&
        !cd_origin_is_loopback(&o))
        cd_warn("main",
                "CREDITD_BASE_URL %s is plain http to a host that "
                "is not loopback: tokens and passwords would cross "
                "the network in clear text (put TLS in front and "
                "set an https:// URL)",
                c->billing.base_url);
    if (cd_clock_offset() != 0)
        cd_warn("main",
                "CREDITD_TEST_CLOCK_OFFSET is %lld: this server's "
                "clock runs that many seconds ahead of the system's "
                "(tests only; unset it in production)",
                (long long)cd_clock_offset());
}

/* Every connection is a descriptor (and a thread): raises the soft
 * RLIMIT_NOFILE towards the hard one so that the connection caps, not the
 * descriptor limit, are what refuses first. */
static void raise_nofile(const struct cd_config *c)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)c->http_max_connections * 2 + 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
                      ? want
                      : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        cd_warn("main",
                "open files limited to %llu: fewer connections "
                "than CREDITD_HTTP_MAX_CONNECTIONS may be served",
                (unsigned long long)rl.rlim_cur);
}

/* The API server's flood limits from the settings. */
static void http_limits(struct cd_http_config *hc, const struct cd_config *c)
{
    hc->max_connections = (unsigned)c->http_max_connections;
    hc->per_address_max = (unsigned)c->http_per_address;
    hc->header_timeout_s = (unsigned)c->http_header_timeout;
    hc->body_timeout_s = (unsigned)c->http_body_timeout;
    hc->body_budget = (size_t)c->http_body_budget_kb * 1024;
}

/* CREDITD_BACKUP_BEFORE_MIGRATE: a copy of an existing SQLite file whose
 * schema is older than this binary's, before the store migrates it. 0, or
 * -1 after a message (the migration must not run without its copy). */
int cd_server_backup_before_migrate(const struct cd_config *c)
{
    char written[sizeof(c->db) + 64], msg[600];

    if (!c->backup_before_migrate)
        return 0;
    if (cd_store_backup_before_migrate(c->db, written, sizeof(written), msg,
                                       sizeof(msg)) != 0) {
        fprintf(stderr,
                "creditd: no backup before migrating: %s (set "
                "CREDITD_BACKUP_BEFORE_MIGRATE=0 to migrate "
                "without one)\n",
                msg);
        return -1;
    }
    if (written[0])
        cd_info("main", "backup before migrating written to %s", written);
    return 0;
}

/* The store at CREDITD_DB, after the backup before migrating if due. */
static int open_store(struct cd_server *s, const struct cd_config *c)
{
    struct cd_store_config sc = {
        .path = c->db, .max_batch = c->write_batch, .writers = c->db_writers};
    struct cd_error err;

    memset(&err, 0, sizeof(err));
    if (cd_server_backup_before_migrate(c) != 0)
        return -1;
    s->store = cd_store_open(&sc, &err);
    if (!s->store) {
        char shown[sizeof(c->db)];

        cd_store_target_display(c->db, shown, sizeof(shown));
        fprintf(stderr, "creditd: CREDITD_DB %s: %s\n", shown, err.message);
        return -1;
    }
    return 0;
}

/* The Stripe client when a secret key is set; warnings for what is not. */
static int open_stripe(struct cd_server *s, const struct cd_config *c)
{
    if (c->stripe_secret_key[0]) {
        struct cd_stripe_config stc = {
            .api_base = c->stripe_api_base,
            .secret_key = c->stripe_secret_key,
        };

        s->stripe = cd_stripe_client_new(&stc);
        if (!s->stripe) {
            fprintf(stderr, "creditd: cannot create the Stripe client\n");
            return -1;
        }
    } else {
        cd_warn("main", "STRIPE_SECRET_KEY is not set: checkout answers 503");
    }
    if (!c->billing.webhook_secrets[0])
        cd_warn("main",
                "STRIPE_WEBHOOK_SECRET is not set: the webhook answers 503");
    return 0;
}

/* The API's own settings (keys, web folder, limits, proxies, offload). */
static void app_settings(struct cd_server *s, const struct cd_config *c)
{
    s->app.billing = &s->billing;
    cd_strlcpy(s->app.admin_key, c->admin_key, sizeof(s->app.admin_key));
    cd_strlcpy(s->app.web_dir, c->web_dir, sizeof(s->app.web_dir));
    s->app.auth_rate_limit = c->auth_rate_limit;
    s->app.checkout_rate_limit = c->checkout_rate_limit;
    s->app.discount_rate_limit = c->discount_rate_limit;
    memcpy(s->app.trusted_proxies, c->trusted_proxies,
           sizeof(s->app.trusted_proxies));
    s->app.ntrusted_proxies = c->ntrusted_proxies;
    s->app.offload_all = c->http_offload_all < 0 ? cd_store_is_postgres(c->db)
                                                 : c->http_offload_all;
}

/* The API server on CREDITD_LISTEN. */
static int start_api_http(struct cd_server *s, const struct cd_config *c)
{
    struct cd_http_config hc;
    struct cd_error err;
    const struct cd_route *routes;
    size_t nroutes;

    memset(&err, 0, sizeof(err));
    routes = cd_api_routes(&nroutes);
    memset(&hc, 0, sizeof(hc));
    hc.name = "api";
    hc.listen = c->listen;
    hc.routes = routes;
    hc.nroutes = nroutes;
    hc.app = &s->app;
    hc.dispatch = cd_api_dispatch;
    hc.check_head = cd_api_check_head;
    hc.pool_threads = (unsigned)c->http_threads;
    hc.workers = (unsigned)c->http_workers;
    hc.offload = cd_api_offload;
    hc.fallback = cd_api_static;
    hc.on_complete = cd_api_observe;
    http_limits(&hc, c);
    raise_nofile(c);
    s->http = cd_http_start(&hc, &err);
    if (!s->http) {
        fprintf(stderr, "creditd: CREDITD_LISTEN %s: %s\n", c->listen,
                err.message);
        return -1;
    }
    return 0;
}

/* The metrics server on CREDITD_METRICS_LISTEN, when set. */
static int start_metrics_http(struct cd_server *s, const struct cd_config *c)
{
    struct cd_http_config hc;
    struct cd_error err;

    if (!c->metrics_listen[0])
        return 0;
    memset(&err, 0, sizeof(err));
    /* Only GET /metrics, no auth: config.c allows loopback only. */
    memset(&hc, 0, sizeof(hc));
    hc.name = "metrics";
    hc.listen = c->metrics_listen;
    hc.routes = cd_api_routes_metrics;
    hc.nroutes = cd_api_routes_metrics_count;
    hc.app = &s->app;
    hc.max_connections = 64;
    hc.quiet = 1;
    s->metrics_http = cd_http_start(&hc, &err);
    if (!s->metrics_http) {
        fprintf(stderr, "creditd: CREDITD_METRICS_LISTEN %s: %s\n",
                c->metrics_listen, err.message);
        return -1;
    }
    cd_info("main", "metrics on http://%s/metrics", c->metrics_listen);
    return 0;
}

/* The background jobs, the mail sender, the auto top-up worker and the
 * events sender, in that order. */
static int start_workers(struct cd_server *s, const struct cd_config *c)
{
    struct cd_mail_config mc = {
        .smtp_url = c->smtp_url,
        .smtp_password = c->smtp_password,
        .mail_from = c->mail_from,
        .poll_ms = c->mail_poll_ms,
        .retry_base_ms = c->mail_retry_base_ms,
    };
    struct cd_outbox_config oc = {
        c->events_poll_ms, c->events_retry_base_ms, c->events_retry_window_s,
        c->events_disable_after_s, c->events_timeout_ms};

    s->jobs = cd_jobs_start(&s->billing, c->reconcile_interval,
                            c->purge_interval);
    if (!s->jobs) {
        fprintf(stderr, "creditd: cannot start the background jobs\n");
        return -1;
    }
    s->mailer = cd_mailer_start(&s->billing, &mc);
    if (!s->mailer) {
        fprintf(stderr, "creditd: cannot start the mail sender\n");
        return -1;
    }
    s->autotopup = cd_autotopup_start(&s->billing, c->autotopup_poll_ms);
    if (!s->autotopup) {
        fprintf(stderr, "creditd: cannot start the auto top-up worker\n");
        return -1;
    }
    s->events = cd_outbox_sender_start(&s->billing, &oc);
    if (!s->events) {
        fprintf(stderr, "creditd: cannot start the events sender\n");
        return -1;
    }
    return 0;
}

int cd_server_start(struct cd_server *s, const struct cd_config *c)
{
    s->stop_timeout_s = c->stop_timeout_s;
    warn_settings(c);
    if (open_store(s, c) != 0 || open_stripe(s, c) != 0)
        return -1;
    s->billing.store = s->store;
    s->billing.stripe = s->stripe;
    s->billing.cfg = c->billing;
    cd_billing_hooks_install();
    cd_lots_init(&s->billing.cfg);
    s->idem = cd_idem_keeper_start(s->store, c->idem_lease_ms);
    if (!s->idem) {
        fprintf(stderr, "creditd: cannot start the idempotency heartbeat\n");
        return -1;
    }
    s->billing.idem = s->idem;
    app_settings(s, c);
    if (start_api_http(s, c) != 0 || start_metrics_http(s, c) != 0 ||
        start_workers(s, c) != 0)
        return -1;
    {
        char shown[sizeof(c->db)];

        cd_store_target_display(c->db, shown, sizeof(shown));
        cd_info("main", "creditd %s listening on %s (db %s, schema v%d)",
                CREDITD_VERSION, c->listen, shown,
                cd_store_schema_version(s->store));
    }
    return 0;
}

/*
 * The stop's bound (CREDITD_STOP_TIMEOUT). A stalled database (a hung
 * PostgreSQL, a lock held) leaves a background job, a deferred request or
 * the writer's queue waiting without end; past the deadline the watch
 * thread logs the step the stop is in and exits the process at once:
 * nothing a late completion may still use is freed, every acknowledged
 * write is already committed, and the requests cut get no reply (a retry
 * with their Idempotency-Key is safe).
 */
struct stop_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int timeout_s;       /* 0: no bound, no thread */
    int64_t deadline_us; /* cd_mono_us */
    const char *step;    /* under mu */
    char pending[128];   /* what waited when the stop began */
    pthread_t thread;
};

/* Logs what the stop abandons and exits 1, flushing the log first. */
static void stop_abandon(const struct stop_watch *w, const char *step)
{
    cd_error("main",
             "stop: %s did not finish within CREDITD_STOP_TIMEOUT (%d s): "
             "exiting without it (exit 1; nothing freed; when the stop "
             "began %s; the requests still waiting get no reply)",
             step, w->timeout_s, w->pending);
    fflush(NULL);
    _exit(1);
}

static void *stop_watch_main(void *arg)
{
    struct stop_watch *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        /* A quarter second of grace: at the deadline the HTTP stop gives
         * up on its own and names what it abandons. */
        int64_t left = w->deadline_us + 250000 - cd_mono_us();
        struct timespec ts;

        if (left <= 0)
            stop_abandon(w, w->step);
        if (left > 200000)
            left = 200000;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(left * 1000);
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void stop_watch_start(struct stop_watch *w, const struct cd_server *s,
                             int timeout_s)
{
    snprintf(w->pending, sizeof(w->pending),
             "%d request(s) waited on a write, %d write job(s) were queued",
             s->http ? cd_http_deferred(s->http) : 0,
             s->store ? cd_store_queue_depth(s->store) : 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = 0;
    w->step = "the stop";
    w->timeout_s = timeout_s;
    w->deadline_us = cd_mono_us() + (int64_t)timeout_s * 1000000;
    if (timeout_s > 0 &&
        pthread_create(&w->thread, NULL, stop_watch_main, w) != 0) {
        cd_warn("main", "cannot start the stop's watch: no bound");
        w->timeout_s = 0;
    }
}

static void stop_watch_step(struct stop_watch *w, const char *step)
{
    pthread_mutex_lock(&w->mu);
    w->step = step;
    pthread_mutex_unlock(&w->mu);
}

/* Milliseconds left before the deadline (-1: no bound). */
static int stop_watch_left_ms(const struct stop_watch *w)
{
    int64_t left = (w->deadline_us - cd_mono_us()) / 1000;

    if (w->timeout_s <= 0)
        return -1;
    return left > 0 ? (int)left : 0;
}

static void stop_watch_end(struct stop_watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->timeout_s > 0)
        pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* The background threads: jobs, auto top-ups, mail, events. */
static void stop_background(struct cd_server *s)
{
    cd_jobs_stop(s->jobs);
    s->jobs = NULL;
    cd_autotopup_stop(s->autotopup);
    s->autotopup = NULL;
    cd_mailer_stop(s->mailer);
    s->mailer = NULL;
    cd_outbox_sender_stop(s->events);
    s->events = NULL;
}

void cd_server_stop(struct cd_server *s)
{
    struct stop_watch w;

    stop_watch_start(&w, s, s->stop_timeout_s);
    stop_watch_step(&w, "stopping the background jobs");
    stop_background(s);
    stop_watch_step(&w, "stopping the HTTP server (requests waiting on "
                        "the database writer)");
    cd_http_stop(s->metrics_http);
    s->metrics_http = NULL;
    if (cd_http_stop_within(s->http, stop_watch_left_ms(&w)) > 0)
        stop_abandon(&w, "stopping the HTTP server");
    s->http = NULL;
    stop_watch_step(&w, "closing the database (the writer's queued jobs)");
    cd_idem_keeper_stop(s->idem);
    s->idem = NULL;
    s->billing.idem = NULL;
    if (s->store)
        cd_store_close(s->store);
    s->store = NULL;
    cd_stripe_client_free(s->stripe);
    s->stripe = NULL;
    stop_watch_end(&w);
}

int cd_cmd_serve(const struct cd_config *c)
{
    struct cd_server s;
    sigset_t set;
    int rc = 1;

    memset(&s, 0, sizeof(s));
    cd_signals_block(&set);
    if (cd_server_start(&s, c) == 0) {
        struct reload r = {&s, c};

        int left;

        cd_signals_wait(&set, reload_secrets, &r);
        /* Drain: no new connections; the requests begun finish (their
         * queued writes commit in the writer's batch), within the bound.
         * cd_server_stop then lets the writer finish what is queued. */
        left = cd_http_drain(s.http, c->shutdown_timeout_s * 1000);
        if (left > 0) {
            /* Their threads cannot be joined in bounded time (a handler
             * may wait on Stripe): leave as a kill -9 would. Every
             * committed write is durable (synchronous=FULL); the cut
             * requests get no reply and can be retried with their
             * Idempotency-Key. */
            cd_warn("main",
                    "%d request(s) still in flight after "
                    "CREDITD_SHUTDOWN_TIMEOUT (%d s): exiting "
                    "without them",
                    left, c->shutdown_timeout_s);
            fflush(NULL);
            _exit(0);
        } else
            cd_info("main", "in-flight requests drained");
        rc = 0;
    }
    cd_server_stop(&s);
    return rc;
}
