/*
 * guard.c - connection caps, request deadlines and the body memory budget
 * of one HTTP server; see guard.h.
 *
 * The live connections are a list under one mutex, each slot holding the
 * client address, the socket and the current deadline (0: none). Slots
 * are added at MHD_CONNECTION_NOTIFY_STARTED and removed at
 * MHD_CONNECTION_NOTIFY_CLOSED, which libmicrohttpd calls before it closes
 * the socket: the reaper, which shuts sockets down under the same mutex,
 * never touches a descriptor that was closed and reused. The caps are
 * checked twice: by the accept policy, before libmicrohttpd sets the
 * connection up (a flood costs it nothing), and again under the mutex
 * when the slot is added at STARTED - with N event-loop threads each
 * accepting on the shared socket, N connections from one address may all
 * pass the first check at once; the second keeps the caps exact (a
 * connection refused there is shut down at once and never counted open;
 * a request it had sent already is answered 503 by cd_http_guard_head,
 * never run - as on a connection whose slot could not be allocated).
 */
#include "http/guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define GUARD_TICK_MS 100

static const struct cd_metric_def M_REFUSED = {
    "creditd_http_refused_total",
    "Connections and requests refused or cut to keep the server up, by "
    "reason: per_address, full (closed at accept), busy (503), "
    "header_timeout, body_timeout, body_budget (503).",
    CD_METRIC_COUNTER,
    {"server", "reason", NULL},
    NULL,
    0};
static const struct cd_metric_def M_CONNS = {"creditd_http_connections",
                                             "Open HTTP connections.",
                                             CD_METRIC_GAUGE,
                                             {"server", NULL, NULL},
                                             NULL,
                                             0};
static const struct cd_metric_def M_BODY = {
    "creditd_http_body_bytes",
    "Bytes held by unfinished request bodies.",
    CD_METRIC_GAUGE,
    {"server", NULL, NULL},
    NULL,
    0};

struct slot {
    struct slot *prev, *next;
    struct sockaddr_storage addr;
    int fd;
    int over;            /* accepted past max_connections */
    int refused;         /* refused at STARTED: shut down, not counted */
    int cut;             /* shut down by the reaper */
    int64_t deadline_us; /* 0: none */
    const char *phase;   /* the reason a cut counts under */
};

struct cd_http_guard {
    struct cd_http_guard_config cfg;
    char name[32];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t reaper;
    int has_reaper;
    int stopping;
    struct slot *head;
    unsigned count;
    size_t body_held;
};

void cd_http_guard_count(struct cd_http_guard *g, const char *reason)
{
    cd_metrics_add(NULL, &M_REFUSED, 1, g->name, reason, NULL);
}

static int64_t deadline_in(unsigned s)
{
    return s ? cd_mono_us() + (int64_t)s * 1000000 : 0;
}

/* ---- the reaper -------------------------------------------------------- */

/* Shuts down every socket past its deadline; under g->mu. */
static void reap(struct cd_http_guard *g, int64_t now)
{
    for (struct slot *s = g->head; s; s = s->next) {
        if (s->cut || !s->deadline_us || now < s->deadline_us)
            continue;
        s->cut = 1;
        shutdown(s->fd, SHUT_RDWR);
        cd_http_guard_count(g, s->phase);
        cd_debug(g->name, "connection cut: %s", s->phase);
    }
}

static void *reaper_main(void *arg)
{
    struct cd_http_guard *g = arg;

    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stopping)
            reap(g, cd_mono_us());
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static int start_reaper(struct cd_http_guard *g)
{
    pthread_condattr_t ca;

    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&g->cv, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        return -1;
    }
    pthread_condattr_destroy(&ca);
    if (!g->cfg.header_timeout_s && !g->cfg.body_timeout_s)
        return 0;
    if (pthread_create(&g->reaper, NULL, reaper_main, g) != 0) {
        pthread_cond_destroy(&g->cv);
        return -1;
    }
    g->has_reaper = 1;
    return 0;
}

struct cd_http_guard *cd_http_guard_new(const struct cd_http_guard_config *c,
                                        const char *name)
{
    struct cd_http_guard *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->cfg = *c;
    if (!g->cfg.max_connections)
        g->cfg.max_connections = 1024;
    cd_strlcpy(g->name, name ? name : "http", sizeof(g->name));
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        free(g);
        return NULL;
    }
    if (start_reaper(g) != 0) {
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    cd_metrics_register(NULL, &M_REFUSED);
    cd_metrics_register(NULL, &M_CONNS);
    cd_metrics_register(NULL, &M_BODY);
    return g;
}

void cd_http_guard_free(struct cd_http_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->has_reaper)
        pthread_join(g->reaper, NULL);
    while (g->head) { /* none after MHD_stop_daemon; be safe */
        struct slot *s = g->head;

        g->head = s->next;
        free(s);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

unsigned cd_http_guard_hard_limit(const struct cd_http_guard *g)
{
    unsigned extra = g->cfg.max_connections / 8;

    return g->cfg.max_connections + (extra < 16 ? 16 : extra);
}

/* ---- connections ------------------------------------------------------- */

static int same_address(const struct sockaddr_storage *a,
                        const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (b->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return 0;
}

/* Why a connection from addr is refused now (NULL: it is not); under
 * g->mu. */
static const char *refusal(const struct cd_http_guard *g,
                           const struct sockaddr *addr)
{
    unsigned same = 0;

    if (g->count >= cd_http_guard_hard_limit(g))
        return "full";
    if (!g->cfg.per_address_max)
        return NULL;
    for (const struct slot *s = g->head; s; s = s->next)
        same += same_address(&s->addr, addr);
    return same >= g->cfg.per_address_max ? "per_address" : NULL;
}

enum MHD_Result cd_http_guard_accept(void *cls, const struct sockaddr *addr,
                                     socklen_t addrlen)
{
    struct cd_http_guard *g = cls;
    const char *refuse;

    (void)addrlen;
    pthread_mutex_lock(&g->mu);
    refuse = refusal(g, addr);
    pthread_mutex_unlock(&g->mu);
    if (!refuse)
        return MHD_YES;
    cd_http_guard_count(g, refuse);
    return MHD_NO;
}

/* Adds s to the live list unless another loop thread's connection took
 * the last place since the accept: then the reason; under g->mu. */
static const char *slot_link(struct cd_http_guard *g, struct slot *s)
{
    const char *refuse = refusal(g, (const struct sockaddr *)&s->addr);

    if (refuse)
        return refuse;
    s->over = g->count >= g->cfg.max_connections;
    s->deadline_us = s->fd >= 0 ? deadline_in(g->cfg.header_timeout_s) : 0;
    s->next = g->head;
    if (g->head)
        g->head->prev = s;
    g->head = s;
    g->count++;
    cd_metrics_set(NULL, &M_CONNS, g->count, g->name, NULL, NULL);
    return NULL;
}

static void slot_add(struct cd_http_guard *g, struct MHD_Connection *conn,
                     void **socket_context)
{
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(
        conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(
        conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct slot *s = calloc(1, sizeof(*s));
    const char *refuse;

    if (!s) /* no accounting for it: cut at once */
        return (void)(fi ? shutdown(fi->connect_fd, SHUT_RDWR) : 0);
    if (ai && ai->client_addr) {
        size_t n = ai->client_addr->sa_family == AF_INET6
                       ? sizeof(struct sockaddr_in6)
                       : sizeof(struct sockaddr_in);
        memcpy(&s->addr, ai->client_addr, n);
    }
    s->fd = fi ? fi->connect_fd : -1;
    s->phase = "header_timeout";
    *socket_context = s;
    pthread_mutex_lock(&g->mu);
    refuse = slot_link(g, s);
    pthread_mutex_unlock(&g->mu);
    if (!refuse)
        return;
    /* Refused after all: cut, outside the counts and the list; a request
     * it had sent already is refused by cd_http_guard_head, never run. */
    s->refused = 1;
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
    cd_http_guard_count(g, refuse);
}

void cd_http_guard_notify(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct cd_http_guard *g = cls;
    struct slot *s = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        slot_add(g, conn, socket_context);
        return;
    }
    if (!s)
        return;
    *socket_context = NULL;
    if (s->refused) { /* never linked */
        free(s);
        return;
    }
    pthread_mutex_lock(&g->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        g->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    g->count--;
    cd_metrics_set(NULL, &M_CONNS, g->count, g->name, NULL, NULL);
    pthread_mutex_unlock(&g->mu);
    free(s);
}

/* ---- request phases ---------------------------------------------------- */

static struct slot *slot_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

static void set_deadline(struct cd_http_guard *g, struct MHD_Connection *conn,
                         unsigned secs, const char *phase)
{
    struct slot *s = slot_of(conn);

    if (!s)
        return;
    pthread_mutex_lock(&g->mu);
    s->deadline_us = deadline_in(secs);
    s->phase = phase;
    pthread_mutex_unlock(&g->mu);
}

int cd_http_guard_head(struct cd_http_guard *g, struct MHD_Connection *conn)
{
    struct slot *s = slot_of(conn);

    if (!s || s->refused) /* out of memory at STARTED, or refused there */
        return -1;
    set_deadline(g, conn, g->cfg.body_timeout_s, "body_timeout");
    return s->over;
}

void cd_http_guard_handling(struct cd_http_guard *g,
                            struct MHD_Connection *conn)
{
    set_deadline(g, conn, 0, "none");
}

void cd_http_guard_done(struct cd_http_guard *g, struct MHD_Connection *conn)
{
    set_deadline(g, conn, g->cfg.header_timeout_s, "header_timeout");
}

/* ---- body memory ------------------------------------------------------- */

int cd_http_guard_fits(struct cd_http_guard *g, size_t n)
{
    int fits;

    if (!g->cfg.body_budget)
        return 1;
    pthread_mutex_lock(&g->mu);
    fits = n <= g->cfg.body_budget - g->body_held;
    pthread_mutex_unlock(&g->mu);
    return fits;
}

int cd_http_guard_take(struct cd_http_guard *g, size_t n)
{
    int ok;

    pthread_mutex_lock(&g->mu);
    ok = !g->cfg.body_budget || n <= g->cfg.body_budget - g->body_held;
    if (ok)
        g->body_held += n;
    cd_metrics_set(NULL, &M_BODY, (double)g->body_held, g->name, NULL, NULL);
    pthread_mutex_unlock(&g->mu);
    if (!ok)
        cd_http_guard_count(g, "body_budget");
    return ok ? 0 : -1;
}

void cd_http_guard_give(struct cd_http_guard *g, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&g->mu);
    g->body_held -= n < g->body_held ? n : g->body_held;
    cd_metrics_set(NULL, &M_BODY, (double)g->body_held, g->name, NULL, NULL);
    pthread_mutex_unlock(&g->mu);
}
