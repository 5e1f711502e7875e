/*
 * workers.h - a fixed pool of threads that run work items off the
 * event-loop threads: a request whose handler may block (a write waiting
 * for its group commit, a call to Stripe, argon2) runs here while its
 * connection is suspended. Private to src/http (server.c uses it).
 *
 * The queue needs no bound of its own: each connection has at most one
 * request in flight, and connections are capped (http/guard.h), so the
 * queue is never longer than the connection cap.
 */
#ifndef CD_HTTP_WORKERS_H
#define CD_HTTP_WORKERS_H

/* One item; lives in the caller's memory (the connection's state) until
 * run() has been called. */
struct cd_http_work {
    void (*run)(struct cd_http_work *w);
    struct cd_http_work *next;
};

struct cd_http_workers;

/* Starts n threads (n >= 1); NULL when out of memory or none starts.
 * name labels log lines. */
struct cd_http_workers *cd_http_workers_start(unsigned n, const char *name);
/* Queues w; one of the threads calls w->run(w). -1 once the pool is
 * stopping (nothing queued: the caller runs w itself). */
int cd_http_workers_submit(struct cd_http_workers *p, struct cd_http_work *w);
/* Items queued or running right now. */
int cd_http_workers_busy(struct cd_http_workers *p);
/* Refuses new items (submit says -1), runs what is queued and joins the
 * threads; submit may still be called until cd_http_workers_free. */
void cd_http_workers_stop(struct cd_http_workers *p);
/* Stops if not yet, and frees. */
void cd_http_workers_free(struct cd_http_workers *p);

#endif
