/*
 * metrics.h - a tiny metrics registry: counters, gauges and fixed-bucket
 * histograms with up to three labels, rendered in the Prometheus text
 * exposition format 0.0.4 (# HELP and # TYPE lines, escaped label values).
 * No dependency beyond libc and pthreads.
 *
 * A metric family is described by a struct cd_metric_def that its user
 * keeps in static storage (the registry borrows it for its whole life):
 *
 *   static const struct cd_metric_def M_EVENTS = {
 *       "creditd_webhook_events_total", "Stripe events by type and outcome.",
 *       CD_METRIC_COUNTER, {"type", "outcome"}, NULL, 0};
 *   cd_metrics_add(NULL, &M_EVENTS, 1, type, "processed", NULL);
 *
 * Label values are passed in the order of def->labels (NULL for an unused
 * slot); each is cut to CD_METRIC_VALUE_MAX bytes and any byte outside
 * printable ASCII becomes '?'. Every call is thread-safe (one mutex per
 * registry); a family keeps at most CD_METRIC_SERIES_MAX label sets and
 * drops values for new ones past that, so a runaway label cannot eat the
 * memory. NULL as the registry means the process-wide one.
 */
#ifndef CD_UTIL_METRICS_H
#define CD_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define CD_METRIC_LABELS_MAX 3
#define CD_METRIC_BUCKETS_MAX 24
#define CD_METRIC_SERIES_MAX 2000
#define CD_METRIC_VALUE_MAX 128

enum cd_metric_kind {
    CD_METRIC_COUNTER,
    CD_METRIC_GAUGE,
    CD_METRIC_HISTOGRAM,
};

struct cd_metric_def {
    const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help;
    enum cd_metric_kind kind;
    /* Label names ([a-zA-Z_][a-zA-Z0-9_]*, not "le"); NULL after the
     * last. */
    const char *labels[CD_METRIC_LABELS_MAX];
    /* Histograms: ascending finite upper bounds (+Inf is implied). */
    const double *buckets;
    size_t nbuckets;
};

struct cd_metrics;

/* A new, empty registry (NULL when out of memory); free it with
 * cd_metrics_free. */
struct cd_metrics *cd_metrics_new(void);
void cd_metrics_free(struct cd_metrics *m);
/* The process-wide registry (created on first use, lives until exit). */
struct cd_metrics *cd_metrics_global(void);

/*
 * Registers def so that its # HELP and # TYPE lines render before its
 * first value. Adding a value registers the family too, so this is
 * optional. 0, or -1 when def is invalid (bad name, label or buckets) or
 * another def already uses its name.
 */
int cd_metrics_register(struct cd_metrics *m,
                        const struct cd_metric_def *def);

/* Counter (v >= 0) or gauge: adds v to the series of these labels. */
void cd_metrics_add(struct cd_metrics *m, const struct cd_metric_def *def,
                    double v, const char *l1, const char *l2, const char *l3);
/* Gauge: sets the series to v. */
void cd_metrics_set(struct cd_metrics *m, const struct cd_metric_def *def,
                    double v, const char *l1, const char *l2, const char *l3);
/* Histogram: counts one observation of v. */
void cd_metrics_observe(struct cd_metrics *m, const struct cd_metric_def *def,
                        double v, const char *l1, const char *l2,
                        const char *l3);

/*
 * Appends every family, in registration order, in the text format 0.0.4.
 * 0, or -1 when out lost its data (cap reached or out of memory).
 */
int cd_metrics_render(struct cd_metrics *m, struct cd_buf *out);

/*
 * Appends one label-less histogram from a snapshot taken elsewhere (e.g.
 * the store's batch-size counts): counts[i] observations fell in
 * (bounds[i-1], bounds[i]], counts[nbounds] above the last bound; sum is
 * the sum of all observations. 0 or -1 as above.
 */
int cd_metrics_write_histogram(struct cd_buf *out, const char *name,
                               const char *help, const double *bounds,
                               const uint64_t *counts, size_t nbounds,
                               double sum);

/* Appends v as Prometheus writes a sample value ("12", "0.25", "+Inf",
 * "NaN"); the shortest text that reads back as v. */
int cd_metrics_write_value(struct cd_buf *out, double v);

#endif
