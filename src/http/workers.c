/*
 * workers.c - the worker pool of http/workers.h: a FIFO under one mutex,
 * n threads waiting on one condition variable.
 */
#include "http/workers.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"

struct cd_http_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cd_http_work *head, *tail;
    int busy; /* queued + running */
    int stopping;
    unsigned n;
    pthread_t *threads;
};

static void *worker_main(void *arg)
{
    struct cd_http_workers *p = arg;

    for (;;) {
        struct cd_http_work *w;

        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        w = p->head;
        if (!w) { /* stopping, and nothing left */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        w->next = NULL;
        w->run(w);
        pthread_mutex_lock(&p->mu);
        p->busy--;
        pthread_mutex_unlock(&p->mu);
    }
}

struct cd_http_workers *cd_http_workers_start(unsigned n, const char *name)
{
    struct cd_http_workers *p = calloc(1, sizeof(*p));

    if (!p || n == 0)
        goto fail;
    p->threads = calloc(n, sizeof(*p->threads));
    if (!p->threads)
        goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (; p->n < n; p->n++)
        if (pthread_create(&p->threads[p->n], NULL, worker_main, p) != 0)
            break;
    if (p->n == 0) {
        cd_error(name, "cannot start a worker thread");
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    if (p->n < n)
        cd_warn(name, "started %u of %u worker threads", p->n, n);
    return p;
fail:
    if (p)
        free(p->threads);
    free(p);
    return NULL;
}

int cd_http_workers_submit(struct cd_http_workers *p, struct cd_http_work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    p->busy++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int cd_http_workers_busy(struct cd_http_workers *p)
{
    int n;

    pthread_mutex_lock(&p->mu);
    n = p->busy;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void cd_http_workers_stop(struct cd_http_workers *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    p->n = 0;
}

void cd_http_workers_free(struct cd_http_workers *p)
{
    if (!p)
        return;
    cd_http_workers_stop(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
