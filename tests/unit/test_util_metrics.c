/*
 * test_util_metrics.c - the metrics registry: text format 0.0.4 output
 * (HELP/TYPE lines, label escaping, cumulative histogram buckets, value
 * formatting), invalid definitions, the series cap and thread safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/metrics.h"

static const struct cd_metric_def REQS = {"t_requests_total",
                                          "Requests.\nSecond \\ line.",
                                          CD_METRIC_COUNTER,
                                          {"route", "method", "status"},
                                          NULL,
                                          0};
static const struct cd_metric_def UP = {"t_up", "Up.", CD_METRIC_GAUGE,
                                        {NULL}, NULL,  0};
static const double LAT_B[] = {0.001, 0.25, 1};
static const struct cd_metric_def LAT = {
    "t_latency_seconds", "Latency.", CD_METRIC_HISTOGRAM,
    {"route"},           LAT_B,      3};

/* Renders m into a NUL-terminated string (free it). */
static char *render(struct cd_metrics *m)
{
    struct cd_buf b;

    cd_buf_init(&b, 1 << 20);
    assert_int_equal(cd_metrics_render(m, &b), 0);
    if (!b.data)
        return strdup("");
    return cd_buf_take(&b, NULL);
}

static void test_counter_gauge(void **state)
{
    struct cd_metrics *m = cd_metrics_new();
    char *t;

    (void)state;
    assert_non_null(m);
    assert_int_equal(cd_metrics_register(m, &UP), 0);
    cd_metrics_add(m, &REQS, 1, "/v1/x", "GET", "200");
    cd_metrics_add(m, &REQS, 2, "/v1/x", "GET", "200");
    cd_metrics_add(m, &REQS, 1, "/v1/{}", "POST", "201");
    cd_metrics_add(m, &REQS, -5, "/v1/x", "GET", "200"); /* ignored */
    cd_metrics_set(m, &REQS, 9, "/v1/x", "GET", "200");  /* not a gauge */
    cd_metrics_set(m, &UP, 1, NULL, NULL, NULL);
    cd_metrics_set(m, &UP, 0.5, NULL, NULL, NULL);
    t = render(m);
    assert_string_equal(
        t,
        "# HELP t_up Up.\n"
        "# TYPE t_up gauge\n"
        "t_up 0.5\n"
        "# HELP t_requests_total Requests.\\nSecond \\\\ line.\n"
        "# TYPE t_requests_total counter\n"
        "t_requests_total{route=\"/v1/x\",method=\"GET\",status=\"200\"} 3\n"
        "t_requests_total{route=\"/v1/{}\",method=\"POST\",status=\"201\"} "
        "1\n");
    free(t);
    cd_metrics_free(m);
}

static void test_escaping(void **state)
{
    struct cd_metrics *m = cd_metrics_new();
    char *t;

    (void)state;
    cd_metrics_add(m, &REQS, 1, "a\"b\\c\nd", "\x01\xc3\xa9", NULL);
    t = render(m);
    assert_non_null(
        strstr(t, "t_requests_total{route=\"a\\\"b\\\\c\\nd\",method=\"???\","
                  "status=\"\"} 1\n"));
    free(t);
    cd_metrics_free(m);
}

static void test_histogram(void **state)
{
    struct cd_metrics *m = cd_metrics_new();
    char *t;

    (void)state;
    cd_metrics_observe(m, &LAT, 0.0005, "/a", NULL, NULL);
    cd_metrics_observe(m, &LAT, 0.001, "/a", NULL, NULL); /* le is <= */
    cd_metrics_observe(m, &LAT, 0.5, "/a", NULL, NULL);
    cd_metrics_observe(m, &LAT, 7, "/a", NULL, NULL);
    cd_metrics_add(m, &LAT, 1, "/a", NULL, NULL); /* not a counter */
    t = render(m);
    assert_string_equal(
        t, "# HELP t_latency_seconds Latency.\n"
           "# TYPE t_latency_seconds histogram\n"
           "t_latency_seconds_bucket{route=\"/a\",le=\"0.001\"} 2\n"
           "t_latency_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
           "t_latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
           "t_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
           "t_latency_seconds_sum{route=\"/a\"} 7.5015\n"
           "t_latency_seconds_count{route=\"/a\"} 4\n");
    free(t);
    cd_metrics_free(m);
}

static void test_snapshot_histogram_and_values(void **state)
{
    static const double bounds[] = {1, 3, 7};
    static const uint64_t counts[] = {5, 0, 2, 1};
    struct cd_buf b;

    (void)state;
    cd_buf_init(&b, 4096);
    assert_int_equal(cd_metrics_write_histogram(&b, "t_batch", "Batches.",
                                                bounds, counts, 3, 30),
                     0);
    assert_string_equal(b.data, "# HELP t_batch Batches.\n"
                                "# TYPE t_batch histogram\n"
                                "t_batch_bucket{le=\"1\"} 5\n"
                                "t_batch_bucket{le=\"3\"} 5\n"
                                "t_batch_bucket{le=\"7\"} 7\n"
                                "t_batch_bucket{le=\"+Inf\"} 8\n"
                                "t_batch_sum 30\n"
                                "t_batch_count 8\n");
    assert_int_equal(
        cd_metrics_write_histogram(&b, "bad name", "", bounds, counts, 3, 0),
        -1);
    cd_buf_reset(&b);
    cd_metrics_write_value(&b, 0.1);
    cd_buf_appends(&b, " ");
    cd_metrics_write_value(&b, 1e300 * 1e300);
    cd_buf_appends(&b, " ");
    cd_metrics_write_value(&b, -12);
    cd_buf_appends(&b, " ");
    cd_metrics_write_value(&b, 0.0005);
    assert_string_equal(b.data, "0.1 +Inf -12 0.0005");
    cd_buf_free(&b);
}

static void test_invalid_defs(void **state)
{
    static const struct cd_metric_def bad_name = {
        "1abc", "", CD_METRIC_GAUGE, {NULL}, NULL, 0};
    static const struct cd_metric_def bad_label = {
        "t_x", "", CD_METRIC_GAUGE, {"a-b"}, NULL, 0};
    static const struct cd_metric_def le_label = {
        "t_h", "", CD_METRIC_HISTOGRAM, {"le"}, LAT_B, 3};
    static const double desc[] = {2, 1};
    static const struct cd_metric_def bad_buckets = {
        "t_h2", "", CD_METRIC_HISTOGRAM, {NULL}, desc, 2};
    static const struct cd_metric_def same_name = {
        "t_up", "Another.", CD_METRIC_GAUGE, {NULL}, NULL, 0};
    struct cd_metrics *m = cd_metrics_new();
    char *t;

    (void)state;
    assert_int_equal(cd_metrics_register(m, &bad_name), -1);
    assert_int_equal(cd_metrics_register(m, &bad_label), -1);
    assert_int_equal(cd_metrics_register(m, &le_label), -1);
    assert_int_equal(cd_metrics_register(m, &bad_buckets), -1);
    assert_int_equal(cd_metrics_register(m, &UP), 0);
    assert_int_equal(cd_metrics_register(m, &UP), 0); /* idempotent */
    assert_int_equal(cd_metrics_register(m, &same_name), -1);
    cd_metrics_set(m, &bad_name, 1, NULL, NULL, NULL);
    cd_metrics_set(m, &same_name, 1, NULL, NULL, NULL);
    t = render(m);
    assert_string_equal(t, "# HELP t_up Up.\n# TYPE t_up gauge\n");
    free(t);
    cd_metrics_free(m);
}

static void test_series_cap(void **state)
{
    struct cd_metrics *m = cd_metrics_new();
    char v[32], *t, *p;
    int n = 0;

    (void)state;
    for (int i = 0; i < CD_METRIC_SERIES_MAX + 50; i++) {
        snprintf(v, sizeof(v), "r%d", i);
        cd_metrics_add(m, &REQS, 1, v, "GET", "200");
    }
    t = render(m);
    for (p = t; (p = strstr(p, "t_requests_total{")); p++)
        n++;
    assert_int_equal(n, CD_METRIC_SERIES_MAX);
    free(t);
    cd_metrics_free(m);
}

struct worker {
    struct cd_metrics *m;
    int id;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char route[16];

    snprintf(route, sizeof(route), "/r%d", w->id % 3);
    for (int i = 0; i < 20000; i++) {
        cd_metrics_add(w->m, &REQS, 1, route, "GET", "200");
        cd_metrics_observe(w->m, &LAT, 0.01, route, NULL, NULL);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct cd_metrics *m = cd_metrics_new();
    pthread_t th[6];
    struct worker w[6];
    char *t;

    (void)state;
    for (int i = 0; i < 6; i++) {
        w[i].m = m;
        w[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    t = render(m);
    /* Two workers per route, 20000 each. */
    assert_non_null(strstr(
        t, "t_requests_total{route=\"/r0\",method=\"GET\",status=\"200\"} "
           "40000\n"));
    assert_non_null(
        strstr(t, "t_latency_seconds_count{route=\"/r2\"} 40000\n"));
    free(t);
    cd_metrics_free(m);
}

static void test_global(void **state)
{
    struct cd_buf b;

    (void)state;
    assert_ptr_equal(cd_metrics_global(), cd_metrics_global());
    cd_metrics_add(NULL, &REQS, 1, "/g", "GET", "200");
    cd_buf_init(&b, 1 << 16);
    assert_int_equal(cd_metrics_render(NULL, &b), 0);
    assert_non_null(strstr(b.data, "route=\"/g\""));
    cd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_snapshot_histogram_and_values),
        cmocka_unit_test(test_invalid_defs),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_global),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
