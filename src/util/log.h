/*
 * log.h - level-gated logging to stderr, one line per call.
 *
 * Every line carries a UTC timestamp, the level and the module name. The
 * message's control bytes (C0 including newlines, DEL, C1, bytes that are
 * not UTF-8) are written as the text \xNN, so a value from outside input
 * can neither forge a line nor reach a terminal raw.
 * Never pass a secret, token, password or full card number to these macros.
 */
#ifndef CD_UTIL_LOG_H
#define CD_UTIL_LOG_H

enum cd_log_level {
    CD_LOG_DEBUG = 0,
    CD_LOG_INFO = 1,
    CD_LOG_WARN = 2,
    CD_LOG_ERROR = 3,
};

extern int cd_log_threshold;
/* 1: each line is one JSON object (CREDITD_LOG_FORMAT=json). */
extern int cd_log_json;

/* Names the request this thread now handles ("" or NULL: none); every
 * line the thread logs then carries it (request_id). */
void cd_log_set_request_id(const char *id);
const char *cd_log_request_id(void);

/*
 * Background threads (reconciliation, ledger check, purge, mail sender,
 * idempotency heartbeat): cd_log_begin_job() gives this thread a fresh
 * id "job_" + 24 random characters for one run of its work, which every
 * line the thread logs until cd_log_end_job() carries (job_id=, a JSON
 * member "job_id"), so one run's lines grep together. The Stripe calls a
 * run makes log under it too. Returns the id (thread-local storage).
 */
const char *cd_log_begin_job(void);
void cd_log_end_job(void);
const char *cd_log_job_id(void);
/* Names the run this thread now works for ("" or NULL: none): the store's
 * writer thread takes the caller's ids while it runs the caller's job. */
void cd_log_set_job_id(const char *id);

/* The access line of one request: method, route or path, status,
 * microseconds and request id (JSON members of their own in JSON mode). */
void cd_log_access(const char *module, const char *method, const char *route,
                   int status, long long us, const char *id, int aborted);

/* Parses "debug|info|warn|error"; returns -1 for anything else. */
int cd_log_parse_level(const char *s);

void cd__log(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The arguments are not evaluated when the level is below the threshold. */
#define cd_log(level, module, ...)                                           \
    do {                                                                     \
        if ((level) >= cd_log_threshold)                                     \
            cd__log((level), (module), __VA_ARGS__);                         \
    } while (0)

#define cd_debug(module, ...) cd_log(CD_LOG_DEBUG, module, __VA_ARGS__)
#define cd_info(module, ...) cd_log(CD_LOG_INFO, module, __VA_ARGS__)
#define cd_warn(module, ...) cd_log(CD_LOG_WARN, module, __VA_ARGS__)
#define cd_error(module, ...) cd_log(CD_LOG_ERROR, module, __VA_ARGS__)

#endif
