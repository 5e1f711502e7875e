/*
 * server_start.c - the server's lifecycle: listen address, start (guard,
 * workers, daemon), port, drain and stop; split from server.c
 * (server_int.h).
 */
#include "http/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/guard.h"
#include "http/workers.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

/* ---- lifecycle --------------------------------------------------------- */

int cd_http_parse_listen(const char *listen, char *host, size_t hostsz,
                         int *port)
{
    const char *colon;
    int64_t p;
    size_t hlen;

    if (!listen || !*listen)
        return -1;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');

        if (!end || end[1] != ':')
            return -1;
        hlen = (size_t)(end - listen - 1);
        if (hlen == 0 || hlen >= hostsz)
            return -1;
        memcpy(host, listen + 1, hlen);
        host[hlen] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - listen);
        if (hlen >= hostsz)
            return -1;
        memcpy(host, listen, hlen);
        host[hlen] = '\0';
        if (hlen == 0)
            cd_strlcpy(host, "0.0.0.0", hostsz);
        if (strcmp(host, "localhost") == 0)
            cd_strlcpy(host, "127.0.0.1", hostsz);
    }
    if (cd_parse_int64(colon + 1, 0, 65535, &p) != 0)
        return -1;
    *port = (int)p;
    return 0;
}

/* Fills ss for an IP address host (IPv6 adds MHD_USE_IPv6 to flags);
 * 0, or -1 when host is not an IP address. */
static int listen_addr(const char *host, int port,
                       struct sockaddr_storage *ss, unsigned *flags)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
    }
}

static void server_free(struct cd_http_server *srv)
{
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

/* The guard of srv->cfg's caps and deadlines; 0, or -1 (srv freed). */
static int start_guard(struct cd_http_server *srv, struct cd_error *err)
{
    const struct cd_http_config *c = &srv->cfg;
    struct cd_http_guard_config gc = {c->max_connections, c->per_address_max,
                                      c->header_timeout_s, c->body_timeout_s,
                                      c->body_budget};

    srv->guard = cd_http_guard_new(&gc, srv->name);
    if (srv->guard)
        return 0;
    cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL,
                 "cannot start the connection guard");
    server_free(srv);
    return -1;
}

/* The worker pool of an event-loop server that offloads; 0, or -1
 * (srv and its guard freed). */
static int start_workers(struct cd_http_server *srv, struct cd_error *err)
{
    const struct cd_http_config *c = &srv->cfg;

    if (!c->pool_threads || !c->offload)
        return 0;
    srv->workers = cd_http_workers_start(c->workers ? c->workers : 64,
                                         srv->name);
    if (srv->workers)
        return 0;
    cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL,
                 "cannot start the HTTP worker threads");
    cd_http_guard_free(srv->guard);
    server_free(srv);
    return -1;
}

/* Why the address cannot be bound: errno of a bind made the way
 * libmicrohttpd makes it (SO_REUSEADDR), or 0 when it can be. */
static int bind_errno(const struct sockaddr_storage *ss)
{
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    int fd = socket(ss->ss_family, SOCK_STREAM, 0), one = 1, e = 0;

    if (fd < 0)
        return errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0)
        e = errno;
    close(fd);
    return e;
}

/*
 * Starts the daemon. The external logger comes first (else libmicrohttpd
 * warns that it is not); the thread pool size is given only for a pool of
 * two or more (libmicrohttpd warns about a zero size). No address reuse
 * beyond libmicrohttpd's default SO_REUSEADDR: with SO_REUSEPORT a second
 * server on the same port would start and silently split the traffic.
 */
static struct MHD_Daemon *start_daemon(struct cd_http_server *srv,
                                       unsigned flags,
                                       struct sockaddr_storage *ss,
                                       const struct cd_http_config *c)
{
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, ss},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)cd_http_on_completed, srv},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)cd_http_unescape, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)cd_http_guard_notify,
         srv->guard},
        {MHD_OPTION_CONNECTION_LIMIT,
         (intptr_t)cd_http_guard_hard_limit(srv->guard), NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT,
         (intptr_t)(c->timeout_s ? c->timeout_s : 30), NULL},
        {MHD_OPTION_END, 0, NULL}, /* the pool size, when there is one */
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d;

    if (c->pool_threads > 1)
        opts[CD_ARRAY_LEN(opts) - 2] = (struct MHD_OptionItem){
            MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)c->pool_threads, NULL};
    d = MHD_start_daemon(flags, 0, cd_http_guard_accept, srv->guard,
                         cd_http_on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         cd_http_on_mhd_log, srv->name, MHD_OPTION_ARRAY,
                         opts, MHD_OPTION_END);
    if (!d)
        srv->bind_errno = bind_errno(ss);
    return d;
}

struct cd_http_server *cd_http_start(const struct cd_http_config *c,
                                     struct cd_error *err)
{
    struct cd_http_server *srv;
    struct sockaddr_storage ss;
    char host[128];
    int port;
    /* ITC: MHD_quiesce_daemon (cd_http_drain) needs it. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC;
    const union MHD_DaemonInfo *di;

    if (cd_http_parse_listen(c->listen, host, sizeof(host), &port) != 0) {
        cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                     "bad listen address '%s' (want host:port)",
                     c->listen ? c->listen : "");
        return NULL;
    }
    if (listen_addr(host, port, &ss, &flags) != 0) {
        cd_error_set(err, CD_EK_INVALID, "bad_listen", NULL,
                     "bad listen host '%s' (want an IP address)", host);
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        cd_error_set(err, CD_EK_INTERNAL, "nomem", NULL, "out of memory");
        return NULL;
    }
    srv->cfg = *c;
    cd_strlcpy(srv->name, c->name ? c->name : "http", sizeof(srv->name));
    if (c->pool_threads) {
        flags &= ~(unsigned)MHD_USE_THREAD_PER_CONNECTION;
        flags |= MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    }
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    if (start_guard(srv, err) != 0)
        return NULL;
    if (start_workers(srv, err) != 0)
        return NULL;
    srv->daemon = start_daemon(srv, flags, &ss, c);
    if (!srv->daemon) {
        int e = srv->bind_errno;

        cd_error_set(err, CD_EK_UNAVAILABLE, "listen_failed", NULL,
                     "cannot listen on %s: %s", c->listen,
                     e == EADDRINUSE
                         ? "the address is already in use (another creditd, "
                           "or another server, is listening there)"
                     : e ? strerror(e)
                         : "libmicrohttpd could not start (see above)");
        cd_http_workers_free(srv->workers);
        cd_http_guard_free(srv->guard);
        server_free(srv);
        return NULL;
    }
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? (int)di->port : port;
    return srv;
}

int cd_http_port(const struct cd_http_server *s)
{
    return s->port;
}

int cd_http_drain(struct cd_http_server *s, int timeout_ms)
{
    int64_t deadline = cd_mono_us() + (int64_t)timeout_ms * 1000;
    MHD_socket fd;
    int left;

    if (!s)
        return 0;
    fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    else
        cd_warn(s->name, "could not stop accepting connections");
    while ((left = __atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST)) > 0 &&
           cd_mono_us() < deadline)
        poll(NULL, 0, 20);
    return left;
}

/* Waits until every deferred request has been completed - its state is
 * the connection's, which stopping the daemon would free under the
 * completion's feet - or until deadline_us (cd_mono_us; INT64_MAX: no
 * bound). A wait is said every 10 s. Returns how many are left. */
static int wait_deferred(struct cd_http_server *s, int64_t deadline_us)
{
    int64_t next = cd_mono_us() + 10 * 1000000LL;
    int n;

    while ((n = __atomic_load_n(&s->deferred, __ATOMIC_SEQ_CST)) > 0) {
        if (cd_mono_us() >= deadline_us)
            return n;
        if (cd_mono_us() > next) {
            cd_warn(s->name, "stop: waiting for %d deferred requests", n);
            next = cd_mono_us() + 10 * 1000000LL;
        }
        poll(NULL, 0, 5);
    }
    return 0;
}

/* Waits (up to 10 s) until the event-loop threads have taken back every
 * resumed connection. */
static void wait_resumed(struct cd_http_server *s)
{
    int64_t deadline = cd_mono_us() + 10 * 1000000LL;

    while (__atomic_load_n(&s->suspended, __ATOMIC_SEQ_CST) > 0) {
        if (cd_mono_us() > deadline) {
            cd_error(s->name, "%d connections still suspended at stop",
                     __atomic_load_n(&s->suspended, __ATOMIC_SEQ_CST));
            return;
        }
        poll(NULL, 0, 5);
    }
}

int cd_http_deferred(const struct cd_http_server *s)
{
    return __atomic_load_n(&s->deferred, __ATOMIC_SEQ_CST);
}

int cd_http_stop_within(struct cd_http_server *s, int timeout_ms)
{
    int left;

    if (!s)
        return 0;
    /* Every offloaded request resumes before the daemon stops:
     * libmicrohttpd refuses to stop with a connection suspended. */
    cd_http_workers_stop(s->workers);
    left = wait_deferred(s, timeout_ms < 0
                                ? INT64_MAX
                                : cd_mono_us() + (int64_t)timeout_ms * 1000);
    if (left > 0) {
        cd_error(s->name,
                 "stop: %d deferred request(s) still waiting for their "
                 "completion after %d ms (a stalled database writer?): "
                 "abandoned, the server left running and not freed",
                 left, timeout_ms);
        return left;
    }
    wait_resumed(s);
    MHD_stop_daemon(s->daemon);
    cd_http_workers_free(s->workers);
    cd_http_guard_free(s->guard);
    server_free(s);
    return 0;
}

void cd_http_stop(struct cd_http_server *s)
{
    (void)cd_http_stop_within(s, -1);
}
