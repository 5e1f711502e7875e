/*
 * guard.h - what keeps one HTTP server on the air under a flood: the
 * live connections, each with its address and its current deadline.
 * Private to src/http (server.c wires it into libmicrohttpd).
 *
 *  - per address: at most per_address_max open connections from one
 *    client address (0: no cap - behind a proxy every connection comes
 *    from the proxy's address); past it a new one is closed at accept;
 *  - globally: past max_connections a new connection is still accepted,
 *    up to an overflow (cd_http_guard_hard_limit), so that its request
 *    can be answered 503 server_busy with Retry-After; past the overflow
 *    it is closed at accept;
 *  - deadlines: the request head must be in within header_timeout_s of
 *    the accept (or of the end of the previous request on a kept-alive
 *    connection), the body within body_timeout_s of the head. They are
 *    absolute, not idle timeouts: a client trickling a byte a second is
 *    cut too. A reaper thread shuts the socket down (libmicrohttpd then
 *    closes it); a running handler has no deadline;
 *  - memory: the bytes held by unfinished bodies across all connections
 *    are capped at body_budget (cd_http_guard_take / _give).
 * Each refusal counts in creditd_http_refused_total{server,reason}.
 * Every 0 setting means "off".
 */
#ifndef CD_HTTP_GUARD_H
#define CD_HTTP_GUARD_H

#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

struct cd_http_guard_config {
    unsigned max_connections; /* 0: 1024 */
    unsigned per_address_max;
    unsigned header_timeout_s;
    unsigned body_timeout_s;
    size_t body_budget; /* bytes */
};

struct cd_http_guard;

/* NULL when out of memory or the reaper thread cannot start. name labels
 * the metrics ("api"). */
struct cd_http_guard *cd_http_guard_new(const struct cd_http_guard_config *c,
                                        const char *name);
/* After MHD_stop_daemon (every connection is closed by then). */
void cd_http_guard_free(struct cd_http_guard *g);
/* The connection limit to give libmicrohttpd: max_connections plus the
 * overflow that is answered 503. */
unsigned cd_http_guard_hard_limit(const struct cd_http_guard *g);

/* MHD_OPTION_ACCEPT_POLICY_CALLBACK and MHD_OPTION_NOTIFY_CONNECTION,
 * with the guard as cls. */
enum MHD_Result cd_http_guard_accept(void *cls, const struct sockaddr *addr,
                                     socklen_t addrlen);
void cd_http_guard_notify(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* The head is in: the body deadline starts. 1 when the connection came
 * past max_connections (answer 503), -1 when it was refused already
 * (counted then: answer 503 without running anything), else 0. */
int cd_http_guard_head(struct cd_http_guard *g, struct MHD_Connection *conn);
/* The body is in: no deadline while the handler runs. */
void cd_http_guard_handling(struct cd_http_guard *g,
                            struct MHD_Connection *conn);
/* The request is over: the next request's head deadline starts. */
void cd_http_guard_done(struct cd_http_guard *g, struct MHD_Connection *conn);

/* Body memory: whether n more bytes would fit; take them (0, or -1 when
 * over the budget - counted as a refusal); give them back. */
int cd_http_guard_fits(struct cd_http_guard *g, size_t n);
int cd_http_guard_take(struct cd_http_guard *g, size_t n);
void cd_http_guard_give(struct cd_http_guard *g, size_t n);
/* Counts a refusal decided elsewhere ("busy"). */
void cd_http_guard_count(struct cd_http_guard *g, const char *reason);

#endif
