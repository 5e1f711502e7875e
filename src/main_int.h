/*
 * main_int.h - what the command files of creditd share: the running
 * server's parts and its start and stop (serve.c), the signal handling
 * (serve.c), and the commands main() dispatches to (serve.c, demo.c).
 * Private to main.c, serve.c and demo.c.
 */
#ifndef CD_MAIN_INT_H
#define CD_MAIN_INT_H

#include <signal.h>

#include "api/api.h"
#include "config.h"

#define CREDITD_VERSION "0.1.0"

/* The running server's parts, so demo and serve share the code. */
struct cd_server {
    struct cd_store *store;
    struct cd_stripe_client *stripe;
    struct cd_billing billing;
    struct cd_app app;
    struct cd_http_server *http;
    struct cd_http_server *metrics_http; /* CREDITD_METRICS_LISTEN */
    struct cd_jobs *jobs;
    struct cd_mailer *mailer;              /* the mail outbox sender */
    struct cd_autotopup_worker *autotopup; /* pays auto top-ups */
    struct cd_outbox_sender *events;       /* the webhook events sender */
    struct cd_idem_keeper *idem; /* Idempotency-Key claim heartbeat */
    int stop_timeout_s;          /* CREDITD_STOP_TIMEOUT; 0: no bound */
};

/* serve.c */
/* Opens the store, Stripe, the API and metrics listeners and starts the
 * background workers; 0, or -1 after a message (cd_server_stop then
 * frees what was started). */
int cd_server_start(struct cd_server *s, const struct cd_config *c);
/* Stops and frees every part started (each may be NULL), within
 * CREDITD_STOP_TIMEOUT: past it, it logs the step it is in and exits the
 * process (exit 1) without freeing what a late completion may use. */
void cd_server_stop(struct cd_server *s);
void cd_signals_block(sigset_t *set);
void cd_signals_wait(sigset_t *set, void (*on_hup)(void *arg), void *arg);
int cd_server_backup_before_migrate(const struct cd_config *c);
int cd_cmd_serve(const struct cd_config *c);

/* demo.c */
int cd_cmd_sandbox(const struct cd_config *c);
int cd_cmd_demo(struct cd_config *c);

#endif
