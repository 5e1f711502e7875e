/*
 * test_billing_outbox.c - the events outbox on a real store (SQLite, and
 * PostgreSQL when CD_TEST_PG_URL is set): an event is written with its
 * job or not at all, the per-account sequence has no gaps under
 * concurrent writers, the ledger's credits.* and balance.* events (each
 * threshold crossing once), deliveries only to enabled subscribed
 * endpoints, the per-account order of the due scan, and the signature
 * with a rotated secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>

#include "billing/hooks.h"
#include "billing/outbox.h"
#include "billing_fixture.h"
#include "store_target.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/util.h"

static int use_pg;

struct fixture {
    struct store_target t;
    struct cd_store *s;
    struct cd_billing b;
    char acct[CD_ID_SZ];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    if (!f ||
        !(f->s = store_target_open(&f->t, use_pg, "cd_billing_outbox", 0)))
        return -1;
    f->b.store = f->s;
    fx_new_account(f->s, f->acct);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_target_close(&f->t, f->s);
    free(f);
    return 0;
}

struct emit_job {
    const char *acct;
    const char *type;
    int fail; /* the job fails after emitting */
};

static int emit_fn(struct cd_tx *tx, void *arg)
{
    struct emit_job *j = arg;
    int rc = cd_outbox_emit_tx(tx, j->acct, j->type,
                               json_pack("{si}", "n", 1));

    return rc != CD_STORE_OK ? rc : j->fail ? 77 : 0;
}

struct seen {
    int64_t seqs[512];
    char types[512][CD_OB_TYPE_SZ];
    char data[512][256];
    int n;
};

static int seen_cb(const struct cd_event *e, void *arg)
{
    struct seen *s = arg;

    if (s->n >= 512)
        return 1;
    s->seqs[s->n] = e->account_seq;
    cd_strlcpy(s->types[s->n], e->type, sizeof(s->types[0]));
    cd_strlcpy(s->data[s->n], e->data, sizeof(s->data[0]));
    s->n++;
    return 0;
}

static void feed(struct fixture *f, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(
        cd_events_after(&f->b, f->acct, 0, 512, seen_cb, s, NULL), 0);
}

static void test_rolled_back_job_has_no_event(void **state)
{
    struct fixture *f = *state;
    struct emit_job ok = {f->acct, "credits.granted", 0};
    struct emit_job bad = {f->acct, "credits.granted", 1};
    struct emit_job unknown = {f->acct, "nope.nope", 0};
    struct seen s;

    assert_int_equal(cd_store_write(f->s, emit_fn, &ok), 0);
    assert_int_equal(cd_store_write(f->s, emit_fn, &bad), 77);
    assert_int_not_equal(cd_store_write(f->s, emit_fn, &unknown), 0);
    assert_int_equal(cd_store_write(f->s, emit_fn, &ok), 0);
    feed(f, &s);
    /* the failed job took no number: 1, 2 */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seqs[0], 1);
    assert_int_equal(s.seqs[1], 2);
}

#define THREADS 6
#define PER_THREAD 20

struct emitter_arg {
    struct cd_store *s;
    const char *acct;
};

static void *emitter(void *arg)
{
    struct emitter_arg *a = arg;
    struct emit_job j = {a->acct, "credits.debited", 0};

    for (int i = 0; i < PER_THREAD; i++)
        if (cd_store_write(a->s, emit_fn, &j) != 0)
            return (void *)1;
    return NULL;
}

/* On PostgreSQL half the writers use a second store on the same database:
 * two nodes, each with its own writer connection. */
static void test_sequence_gapless_concurrent(void **state)
{
    struct fixture *f = *state;
    struct cd_store_config cfg = {0};
    struct cd_error err = {0};
    struct cd_store *other = NULL;
    struct emitter_arg args[2];
    pthread_t th[THREADS];
    struct seen s;

    if (use_pg) {
        cfg.path = f->t.target;
        other = cd_store_open(&cfg, &err);
        assert_non_null(other);
    }
    args[0] = (struct emitter_arg){f->s, f->acct};
    args[1] = (struct emitter_arg){other ? other : f->s, f->acct};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, emitter, &args[i % 2]),
                         0);
    for (int i = 0; i < THREADS; i++) {
        void *r;

        pthread_join(th[i], &r);
        assert_null(r);
    }
    if (other)
        cd_store_close(other);
    feed(f, &s);
    assert_int_equal(s.n, THREADS * PER_THREAD);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.seqs[i], i + 1);
}

struct post_job {
    struct cd_ledger_apply in;
    struct cd_ledger_entry out;
};

static int post_fn(struct cd_tx *tx, void *arg)
{
    struct post_job *p = arg;

    return cd_ledger_apply_tx(tx, &p->in, &p->out);
}

static void post(struct fixture *f, int64_t amount)
{
    struct post_job p;
    char ref[64];

    memset(&p, 0, sizeof(p));
    cd_random_id("t:", ref, sizeof(ref));
    p.in.account_id = f->acct;
    p.in.amount = amount;
    p.in.kind = amount > 0 ? "grant" : "usage";
    p.in.ref = ref;
    p.in.description = "unit";
    assert_int_equal(cd_store_write(f->s, post_fn, &p), 0);
}

/* The threshold of a balance.* event's data. */
static int64_t threshold_of(const char *data)
{
    json_t *j = json_loads(data, 0, NULL);
    int64_t t = j ? json_integer_value(json_object_get(j, "threshold")) : -1;

    json_decref(j);
    return t;
}

static void test_ledger_events_and_alert_crossings(void **state)
{
    struct fixture *f = *state;
    const int64_t thr[] = {100, 50};
    struct cd_error err;
    struct seen s;
    static const struct {
        const char *type;
        int64_t t;
    } want[] = {
        {"credits.granted", -1},    {"balance.recovered", 50},
        {"balance.recovered", 100}, {"credits.debited", -1},
        {"balance.low", 100},       {"credits.debited", -1},
        {"credits.debited", -1},    {"balance.low", 50},
    };

    assert_int_equal(cd_alerts_put(&f->b, f->acct, thr, 2, &err), 0);
    post(f, 150); /* 0 -> 150: up across 50, 100 */
    post(f, -60); /* 150 -> 90: down across 100 */
    post(f, -40); /* 90 -> 50: at 50 is not under it */
    post(f, -1);  /* 50 -> 49: down across 50 */
    feed(f, &s);
    assert_int_equal(s.n, (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < s.n; i++) {
        assert_string_equal(s.types[i], want[i].type);
        assert_int_equal(s.seqs[i], i + 1);
        if (want[i].t >= 0)
            assert_int_equal(threshold_of(s.data[i]), want[i].t);
    }
}

static int due_count_cb(const struct cd_delivery *d, void *arg)
{
    struct cd_delivery *rows = arg;
    int *n = (int *)(rows + 8);

    if (*n < 8)
        rows[(*n)++] = *d;
    return 0;
}

struct due_job {
    struct cd_delivery rows[8];
    int n;
    int64_t now_ms;
};

static int due_fn(struct cd_tx *tx, void *arg)
{
    struct due_job *j = arg;

    return cd_store_deliveries_due(tx, j->now_ms, 8, due_count_cb, j->rows);
}

static int update_fn(struct cd_tx *tx, void *arg)
{
    return cd_store_delivery_update(tx, arg);
}

static int purge_fn(struct cd_tx *tx, void *arg)
{
    (void)arg;
    return cd_store_deliveries_purge(tx, cd_now() + 10);
}

static int list_cb(const struct cd_delivery *d, void *arg)
{
    assert_string_equal(d->status, "pending");
    ++*(int *)arg;
    return 0;
}

static void test_fanout_and_per_account_order(void **state)
{
    int n = 0;
    struct fixture *f = *state;
    struct cd_endpoint_in all = {"http://127.0.0.1:9/a", NULL, "*", -1};
    struct cd_endpoint_in low = {"https://127.0.0.1:9/b", NULL, "balance.low",
                                 -1};
    struct cd_endpoint_in off = {"http://127.0.0.1:9/c", NULL, "*", 0};
    struct cd_endpoint_in badurl = {"ftp://127.0.0.1/x", NULL, NULL, -1};
    struct cd_webhook_endpoint wa, wl, wo;
    struct emit_job j = {f->acct, "credits.granted", 0};
    struct due_job *d = calloc(1, sizeof(*d));
    struct cd_error err;

    _Static_assert(offsetof(struct due_job, n) ==
                       8 * sizeof(struct cd_delivery),
                   "n follows rows");
    assert_int_equal(cd_endpoint_create(&f->b, &all, &wa, &err), 0);
    assert_int_equal(cd_endpoint_create(&f->b, &low, &wl, &err), 0);
    assert_int_equal(cd_endpoint_create(&f->b, &off, &wo, &err), 0);
    assert_int_not_equal(cd_endpoint_create(&f->b, &badurl, &wo, &err), 0);
    assert_string_equal(err.param, "url");
    for (int i = 0; i < 3; i++)
        assert_int_equal(cd_store_write(f->s, emit_fn, &j), 0);
    d->now_ms = cd_now_ms() + 1000;
    assert_int_equal(cd_store_read(f->s, due_fn, d), CD_STORE_OK);
    /* only the enabled "*" endpoint, sequences 1, 2, 3 */
    assert_int_equal(d->n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(d->rows[i].endpoint_id, wa.id);
        assert_int_equal(d->rows[i].account_seq, i + 1);
        assert_string_equal(d->rows[i].secret, wa.secret);
    }
    /* the first backs off: the later ones of the account wait for it */
    d->rows[0].attempts = 1;
    d->rows[0].next_attempt_at = d->now_ms + 60000;
    assert_int_equal(cd_store_write(f->s, update_fn, &d->rows[0]), 0);
    d->n = 0;
    assert_int_equal(cd_store_read(f->s, due_fn, d), CD_STORE_OK);
    assert_int_equal(d->n, 0);
    /* delivered: the rest are due again */
    cd_strlcpy(d->rows[0].status, "delivered", sizeof(d->rows[0].status));
    assert_int_equal(cd_store_write(f->s, update_fn, &d->rows[0]), 0);
    assert_int_equal(cd_store_read(f->s, due_fn, d), CD_STORE_OK);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->rows[0].account_seq, 2);
    /* the purge takes the finished one only */
    assert_int_equal(cd_store_write(f->s, purge_fn, NULL), 0);
    assert_int_equal(
        cd_deliveries_list(&f->b, wa.id, 10, 0, list_cb, &n, &err), 0);
    assert_int_equal(n, 2);
    free(d);
}

static void test_signature_with_rotation(void **state)
{
    const char *body = "{\"id\":\"evt_1\"}";
    char h[400];
    int64_t now = cd_now();

    (void)state;
    assert_int_equal(cd_outbox_sign("whsec_new", "whsec_old", now + 60, now,
                                    body, strlen(body), h, sizeof(h)),
                     0);
    assert_non_null(strstr(strstr(h, ",v1=") + 1, ",v1="));
    assert_int_equal(
        cd_stripe_sig_verify(h, body, strlen(body), "whsec_new", now, 300),
        CD_SIG_OK);
    assert_int_equal(
        cd_stripe_sig_verify(h, body, strlen(body), "whsec_old", now, 300),
        CD_SIG_OK);
    /* past the window: the new secret alone */
    assert_int_equal(cd_outbox_sign("whsec_new", "whsec_old", now, now, body,
                                    strlen(body), h, sizeof(h)),
                     0);
    assert_null(strstr(strstr(h, ",v1=") + 1, ",v1="));
    assert_int_equal(
        cd_stripe_sig_verify(h, body, strlen(body), "whsec_old", now, 300),
        CD_SIG_NO_MATCH);
    assert_int_equal(cd_outbox_backoff_ms(1, 10), 10);
    assert_int_equal(cd_outbox_backoff_ms(4, 10), 80);
    assert_int_equal(cd_outbox_backoff_ms(100, 10), CD_OUTBOX_RETRY_CAP_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rolled_back_job_has_no_event,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_gapless_concurrent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_ledger_events_and_alert_crossings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_and_per_account_order,
                                        setup, teardown),
        cmocka_unit_test(test_signature_with_rotation),
    };
    int rc;

    cd_billing_hooks_install(); /* the ledger's effects */
    rc = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    if (store_target_pg_url()) {
        use_pg = 1;
        rc |= cmocka_run_group_tests_name("postgresql", tests, NULL, NULL);
    }
    return rc;
}
