/*
 * metrics.c - the metrics registry; see metrics.h for the contract.
 *
 * A registry is a mutex and a list of families in registration order. A
 * family holds its series in a small chained hash table keyed by the
 * label values (and, for rendering, in a list in creation order). A
 * series is one value, or for a histogram its per-bucket counts, sum and
 * count. Everything is under the registry's mutex: an update is a hash
 * lookup and an add, cheap next to the request it counts.
 */
#include "util/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_SLOTS 64

struct series {
    char *vals[CD_METRIC_LABELS_MAX]; /* "" for unused slots */
    uint32_t hash;
    double value;            /* counters and gauges */
    double sum;              /* histograms */
    uint64_t count;          /* histograms */
    uint64_t *bucket_counts; /* nbuckets + 1 (the last: above every bound) */
    struct series *chain;    /* same hash slot */
    struct series *next;     /* creation order */
};

struct family {
    const struct cd_metric_def *def;
    int nlabels;
    struct series *slots[HASH_SLOTS];
    struct series *first, *last;
    size_t nseries;
    struct family *next;
};

struct cd_metrics {
    pthread_mutex_t mu;
    struct family *first, *last;
};

static struct cd_metrics *global;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

struct cd_metrics *cd_metrics_new(void)
{
    struct cd_metrics *m = calloc(1, sizeof(*m));

    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void family_free(struct family *f)
{
    struct series *s = f->first, *n;

    while (s) {
        n = s->next;
        for (int i = 0; i < CD_METRIC_LABELS_MAX; i++)
            free(s->vals[i]);
        free(s->bucket_counts);
        free(s);
        s = n;
    }
    free(f);
}

void cd_metrics_free(struct cd_metrics *m)
{
    struct family *f, *n;

    if (!m)
        return;
    for (f = m->first; f; f = n) {
        n = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void global_init(void)
{
    global = cd_metrics_new();
}

struct cd_metrics *cd_metrics_global(void)
{
    pthread_once(&global_once, global_init);
    return global;
}

/* ---- definitions ------------------------------------------------------- */

static int name_ok(const char *s, int colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || (colon && c == ':');

        if (!alpha && !(p != s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* The number of labels of a valid def, or -1. */
static int def_labels(const struct cd_metric_def *d)
{
    int n = 0;

    if (!d || !name_ok(d->name, 1))
        return -1;
    if (d->kind != CD_METRIC_COUNTER && d->kind != CD_METRIC_GAUGE &&
        d->kind != CD_METRIC_HISTOGRAM)
        return -1;
    while (n < CD_METRIC_LABELS_MAX && d->labels[n]) {
        if (!name_ok(d->labels[n], 0) || strncmp(d->labels[n], "__", 2) == 0)
            return -1;
        if (d->kind == CD_METRIC_HISTOGRAM && strcmp(d->labels[n], "le") == 0)
            return -1;
        n++;
    }
    for (int i = n; i < CD_METRIC_LABELS_MAX; i++)
        if (d->labels[i])
            return -1; /* a gap in the names */
    if (d->kind == CD_METRIC_HISTOGRAM) {
        if (!d->buckets || d->nbuckets == 0 ||
            d->nbuckets > CD_METRIC_BUCKETS_MAX)
            return -1;
        for (size_t i = 0; i < d->nbuckets; i++) {
            double b = d->buckets[i];

            if (b != b || b > 1e300 || b < -1e300 ||
                (i > 0 && !(b > d->buckets[i - 1])))
                return -1;
        }
    }
    return n;
}

/* The family of def, registering it; NULL when def is invalid or its name
 * is taken. Called with the mutex held. */
static struct family *family_get(struct cd_metrics *m,
                                 const struct cd_metric_def *def)
{
    struct family *f;
    int n;

    for (f = m->first; f; f = f->next) {
        if (f->def == def)
            return f;
        if (strcmp(f->def->name, def->name) == 0)
            return NULL;
    }
    n = def_labels(def);
    if (n < 0)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->def = def;
    f->nlabels = n;
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    return f;
}

int cd_metrics_register(struct cd_metrics *m, const struct cd_metric_def *def)
{
    struct family *f;

    if (!m)
        m = cd_metrics_global();
    if (!m || !def || !def->name)
        return -1;
    pthread_mutex_lock(&m->mu);
    f = family_get(m, def);
    pthread_mutex_unlock(&m->mu);
    return f ? 0 : -1;
}

/* ---- series ------------------------------------------------------------ */

/* The label value as stored: cut, and printable ASCII only. */
static void clean_value(const char *v, char *out)
{
    size_t n = 0;

    for (; v && *v && n < CD_METRIC_VALUE_MAX; v++) {
        unsigned char c = (unsigned char)*v;
        out[n++] = (c >= 0x20 && c < 0x7f) || c == '\n' ? (char)c : '?';
    }
    out[n] = '\0';
}

static uint32_t hash_vals(char vals[][CD_METRIC_VALUE_MAX + 1], int n)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < n; i++) {
        for (const char *p = vals[i]; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 16777619u;
        }
        h ^= 0xff; /* separator: ("ab","") != ("a","b") */
        h *= 16777619u;
    }
    return h;
}

/* The series of these label values, created when new; NULL when out of
 * memory or the family is full. Called with the mutex held. */
static struct series *series_get(struct family *f, const char *l1,
                                 const char *l2, const char *l3)
{
    const char *in[CD_METRIC_LABELS_MAX] = {l1, l2, l3};
    char vals[CD_METRIC_LABELS_MAX][CD_METRIC_VALUE_MAX + 1];
    struct series *s;
    uint32_t h;
    int i;

    if (f->nlabels > CD_METRIC_LABELS_MAX)
        return NULL; /* never: def_labels() counts at most that many */
    for (i = 0; i < f->nlabels; i++)
        clean_value(in[i], vals[i]);
    h = hash_vals(vals, f->nlabels);
    for (s = f->slots[h % HASH_SLOTS]; s; s = s->chain) {
        if (s->hash != h)
            continue;
        for (i = 0; i < f->nlabels; i++)
            if (strcmp(s->vals[i], vals[i]) != 0)
                break;
        if (i == f->nlabels)
            return s;
    }
    if (f->nseries >= CD_METRIC_SERIES_MAX)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->hash = h;
    for (i = 0; i < f->nlabels; i++) {
        s->vals[i] = strdup(vals[i]);
        if (!s->vals[i])
            goto fail;
    }
    if (f->def->kind == CD_METRIC_HISTOGRAM) {
        s->bucket_counts = calloc(f->def->nbuckets + 1,
                                  sizeof(*s->bucket_counts));
        if (!s->bucket_counts)
            goto fail;
    }
    s->chain = f->slots[h % HASH_SLOTS];
    f->slots[h % HASH_SLOTS] = s;
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    f->nseries++;
    return s;

fail:
    for (i = 0; i < CD_METRIC_LABELS_MAX; i++)
        free(s->vals[i]);
    free(s);
    return NULL;
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void update(struct cd_metrics *m, const struct cd_metric_def *def,
                   enum op op, double v, const char *l1, const char *l2,
                   const char *l3)
{
    struct family *f;
    struct series *s;

    if (!m)
        m = cd_metrics_global();
    if (!m || !def || !def->name || v != v)
        return;
    if ((op == OP_OBSERVE) != (def->kind == CD_METRIC_HISTOGRAM) ||
        (op == OP_SET && def->kind != CD_METRIC_GAUGE) ||
        (def->kind == CD_METRIC_COUNTER && v < 0))
        return;
    pthread_mutex_lock(&m->mu);
    f = family_get(m, def);
    s = f ? series_get(f, l1, l2, l3) : NULL;
    if (s) {
        if (op == OP_ADD) {
            s->value += v;
        } else if (op == OP_SET) {
            s->value = v;
        } else if (s->bucket_counts) { /* always: f->def is def */
            size_t i = 0;

            while (i < def->nbuckets && v > def->buckets[i])
                i++;
            s->bucket_counts[i]++;
            s->count++;
            s->sum += v;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void cd_metrics_add(struct cd_metrics *m, const struct cd_metric_def *def,
                    double v, const char *l1, const char *l2, const char *l3)
{
    update(m, def, OP_ADD, v, l1, l2, l3);
}

void cd_metrics_set(struct cd_metrics *m, const struct cd_metric_def *def,
                    double v, const char *l1, const char *l2, const char *l3)
{
    update(m, def, OP_SET, v, l1, l2, l3);
}

void cd_metrics_observe(struct cd_metrics *m, const struct cd_metric_def *def,
                        double v, const char *l1, const char *l2,
                        const char *l3)
{
    update(m, def, OP_OBSERVE, v, l1, l2, l3);
}

/* ---- rendering --------------------------------------------------------- */

int cd_metrics_write_value(struct cd_buf *out, double v)
{
    char tmp[40];

    if (v != v)
        return cd_buf_appends(out, "NaN");
    if (v > 1.7976931348623157e308)
        return cd_buf_appends(out, "+Inf");
    if (v < -1.7976931348623157e308)
        return cd_buf_appends(out, "-Inf");
    if (v > -9e15 && v < 9e15 && v == (double)(int64_t)v)
        return cd_buf_appendf(out, "%lld", (long long)(int64_t)v);
    /* The shortest %g text that reads back as v. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return cd_buf_appends(out, tmp);
}

/* # HELP text: backslash and newline escaped. */
static int write_help(struct cd_buf *out, const char *name, const char *help,
                      const char *type)
{
    int rc = cd_buf_appendf(out, "# HELP %s ", name);

    for (const char *p = help ? help : ""; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = cd_buf_appends(out, "\\\\");
        else if (*p == '\n')
            rc = cd_buf_appends(out, "\\n");
        else
            rc = cd_buf_append(out, p, 1);
    }
    if (rc == 0)
        rc = cd_buf_appendf(out, "\n# TYPE %s %s\n", name, type);
    return rc;
}

/* A label value: backslash, double quote and newline escaped. */
static int write_label_value(struct cd_buf *out, const char *v)
{
    int rc = cd_buf_appends(out, "\"");

    for (const char *p = v; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = cd_buf_appends(out, "\\\\");
        else if (*p == '"')
            rc = cd_buf_appends(out, "\\\"");
        else if (*p == '\n')
            rc = cd_buf_appends(out, "\\n");
        else
            rc = cd_buf_append(out, p, 1);
    }
    return rc == 0 ? cd_buf_appends(out, "\"") : rc;
}

/* name[suffix]{labels[,le="bound"]} value\n; le < 0: no le label,
 * le == nbuckets: "+Inf". */
static int write_sample(struct cd_buf *out, const struct family *f,
                        const struct series *s, const char *suffix, long le,
                        double v)
{
    int rc = cd_buf_appendf(out, "%s%s", f->def->name, suffix);
    int any = 0;

    for (int i = 0; rc == 0 && i < f->nlabels; i++) {
        rc = cd_buf_appendf(out, "%s%s=", any ? "," : "{", f->def->labels[i]);
        if (rc == 0)
            rc = write_label_value(out, s->vals[i]);
        any = 1;
    }
    if (rc == 0 && le >= 0) {
        rc = cd_buf_appendf(out, "%sle=\"", any ? "," : "{");
        if (rc == 0)
            rc = (size_t)le < f->def->nbuckets
                     ? cd_metrics_write_value(out, f->def->buckets[le])
                     : cd_buf_appends(out, "+Inf");
        if (rc == 0)
            rc = cd_buf_appends(out, "\"");
        any = 1;
    }
    if (rc == 0 && any)
        rc = cd_buf_appends(out, "}");
    if (rc == 0)
        rc = cd_buf_appends(out, " ");
    if (rc == 0)
        rc = cd_metrics_write_value(out, v);
    return rc == 0 ? cd_buf_appends(out, "\n") : rc;
}

static int write_family(struct cd_buf *out, const struct family *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    const struct cd_metric_def *d = f->def;
    int rc = write_help(out, d->name, d->help, types[d->kind]);

    for (const struct series *s = f->first; rc == 0 && s; s = s->next) {
        uint64_t cum = 0;

        if (d->kind != CD_METRIC_HISTOGRAM) {
            rc = write_sample(out, f, s, "", -1, s->value);
            continue;
        }
        for (size_t i = 0; rc == 0 && i <= d->nbuckets; i++) {
            cum += s->bucket_counts[i];
            rc = write_sample(out, f, s, "_bucket", (long)i, (double)cum);
        }
        if (rc == 0)
            rc = write_sample(out, f, s, "_sum", -1, s->sum);
        if (rc == 0)
            rc = write_sample(out, f, s, "_count", -1, (double)s->count);
    }
    return rc;
}

int cd_metrics_render(struct cd_metrics *m, struct cd_buf *out)
{
    int rc = 0;

    if (!m)
        m = cd_metrics_global();
    if (!m)
        return -1;
    pthread_mutex_lock(&m->mu);
    for (const struct family *f = m->first; rc == 0 && f; f = f->next)
        rc = write_family(out, f);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int cd_metrics_write_histogram(struct cd_buf *out, const char *name,
                               const char *help, const double *bounds,
                               const uint64_t *counts, size_t nbounds,
                               double sum)
{
    uint64_t cum = 0;
    int rc;

    if (!name_ok(name, 1))
        return -1;
    rc = write_help(out, name, help, "histogram");
    for (size_t i = 0; rc == 0 && i <= nbounds; i++) {
        cum += counts[i];
        rc = cd_buf_appendf(out, "%s_bucket{le=\"", name);
        if (rc == 0)
            rc = i < nbounds ? cd_metrics_write_value(out, bounds[i])
                             : cd_buf_appends(out, "+Inf");
        if (rc == 0)
            rc = cd_buf_appendf(out, "\"} %llu\n", (unsigned long long)cum);
    }
    if (rc == 0)
        rc = cd_buf_appendf(out, "%s_sum ", name);
    if (rc == 0)
        rc = cd_metrics_write_value(out, sum);
    if (rc == 0)
        rc = cd_buf_appendf(out, "\n%s_count %llu\n", name,
                            (unsigned long long)cum);
    return rc;
}
