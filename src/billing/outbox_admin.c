/*
 * outbox_admin.c - what the API asks of the outbox (see outbox.h): the
 * pull feed, balance alert thresholds, webhook endpoints (create, update,
 * delete, rotate their secret), their deliveries, and replays.
 */
#include "billing/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/url.h"
#include "util/util.h"

#define MOD "outbox"

/* ---- the pull feed ------------------------------------------------------ */

struct after_job {
    const char *account_id;
    int64_t after, limit;
    cd_event_cb cb;
    void *arg;
};

static int after_fn(struct cd_tx *tx, void *arg)
{
    struct after_job *j = arg;

    return cd_store_events_after(tx, j->account_id, j->after, j->limit, j->cb,
                                 j->arg);
}

int cd_events_after(struct cd_billing *b, const char *account_id,
                    int64_t after, int64_t limit, cd_event_cb cb, void *arg,
                    struct cd_error *err)
{
    struct after_job j = {account_id, after, limit, cb, arg};

    if (cd_store_read(b->store, after_fn, &j) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not read the events");
    return 0;
}

/* ---- balance alerts ----------------------------------------------------- */

struct alerts_job {
    const char *account_id;
    const int64_t *in;
    int64_t *out;
    int n;
};

static int alerts_put_fn(struct cd_tx *tx, void *arg)
{
    struct alerts_job *j = arg;

    return cd_store_alerts_put(tx, j->account_id, j->in, j->n, cd_now());
}

static int alerts_get_fn(struct cd_tx *tx, void *arg)
{
    struct alerts_job *j = arg;

    return cd_store_alerts_get(tx, j->account_id, j->out, CD_ALERTS_MAX,
                               &j->n);
}

int cd_alerts_put(struct cd_billing *b, const char *account_id,
                  const int64_t *thresholds, int n, struct cd_error *err)
{
    struct alerts_job j = {account_id, thresholds, NULL, n};

    if (n < 0 || n > CD_ALERTS_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "thresholds",
                            "at most %d thresholds", CD_ALERTS_MAX);
    for (int i = 0; i < n; i++)
        if (thresholds[i] < 0 || thresholds[i] > CD_AMOUNT_MAX)
            return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                                "thresholds",
                                "each threshold is an integer from 0 to "
                                "10^12");
    if (cd_store_write(b->store, alerts_put_fn, &j) != 0)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not store the thresholds");
    return 0;
}

int cd_alerts_get(struct cd_billing *b, const char *account_id, int64_t *out,
                  int *n, struct cd_error *err)
{
    struct alerts_job j = {account_id, NULL, out, 0};

    if (cd_store_read(b->store, alerts_get_fn, &j) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not read the thresholds");
    *n = j.n;
    return 0;
}

/* ---- webhook endpoints -------------------------------------------------- */

/* http(s)://host..., at most 1024 bytes, no blanks or control bytes. */
static int url_ok(const char *url)
{
    char origin[CD_OB_URL_SZ];

    if (strlen(url) >= CD_OB_URL_SZ ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    return cd_url_origin(url, origin, sizeof(origin)) == 0;
}

/* "*" or known types separated by commas, each once at most. */
static int types_ok(const char *types)
{
    char buf[CD_OB_TYPES_SZ], *save = NULL;

    if (strcmp(types, "*") == 0)
        return 1;
    if (cd_strlcpy(buf, types, sizeof(buf)) != 0 || !buf[0])
        return 0;
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        if (!cd_outbox_type_known(t))
            return 0;
    return types[strlen(types) - 1] != ',' && !strstr(types, ",,") &&
           types[0] != ',';
}

static int check_in(const struct cd_endpoint_in *in, struct cd_error *err)
{
    if (in->url && !url_ok(in->url))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "url",
                            "url must be an http:// or https:// URL of at "
                            "most 1024 bytes");
    if (in->event_types && !types_ok(in->event_types))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "enabled_events",
                            "enabled_events lists known event types, or "
                            "\"*\"");
    if (in->description && strlen(in->description) >= CD_OB_TEXT_SZ)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param",
                            "description",
                            "description is at most 255 bytes");
    return 0;
}

static void new_secret(char *out, size_t outsz)
{
    cd_random_id("whsec_", out, outsz);
}

struct ep_job {
    const char *id;
    const struct cd_endpoint_in *in;
    int64_t window;
    int op; /* 0 create, 1 get, 2 update, 3 delete, 4 rotate */
    int count;
    struct cd_webhook_endpoint *w;
};

static int count_cb(const struct cd_webhook_endpoint *w, void *arg)
{
    (void)w;
    ++*(int *)arg;
    return 0;
}

static void apply_in(struct cd_webhook_endpoint *w,
                     const struct cd_endpoint_in *in)
{
    if (in->url)
        cd_strlcpy(w->url, in->url, sizeof(w->url));
    if (in->description)
        cd_strlcpy(w->description, in->description, sizeof(w->description));
    if (in->event_types)
        cd_strlcpy(w->event_types, in->event_types, sizeof(w->event_types));
    if (in->enabled >= 0 && in->enabled != w->enabled) {
        w->enabled = in->enabled;
        w->failing_since = 0; /* a new start */
        w->disabled_reason[0] = '\0';
    }
}

static int ep_fn(struct cd_tx *tx, void *arg)
{
    struct ep_job *j = arg;
    struct cd_webhook_endpoint *w = j->w;
    int rc;

    if (j->op == 0) {
        rc = cd_store_endpoint_list(tx, CD_ENDPOINTS_MAX + 1, count_cb,
                                    &j->count);
        if (rc != CD_STORE_OK || j->count >= CD_ENDPOINTS_MAX)
            return rc == CD_STORE_OK ? CD_STORE_GUARD : rc;
        return cd_store_endpoint_insert(tx, w);
    }
    if (j->op == 3)
        return cd_store_endpoint_delete(tx, j->id);
    rc = cd_store_endpoint_get(tx, j->id, w);
    if (rc != CD_STORE_OK || j->op == 1)
        return rc;
    if (j->op == 2) {
        apply_in(w, j->in);
    } else {
        memcpy(w->old_secret, w->secret, sizeof(w->old_secret));
        w->old_secret_expires_at = cd_now() + j->window;
        new_secret(w->secret, sizeof(w->secret));
    }
    w->updated_at = cd_now();
    return cd_store_endpoint_update(tx, w);
}

static int ep_run(struct cd_billing *b, struct ep_job *j,
                  struct cd_error *err)
{
    int rc = j->op == 1 ? cd_store_read(b->store, ep_fn, j)
                        : cd_store_write(b->store, ep_fn, j);

    if (rc == CD_STORE_OK)
        return 0;
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "id",
                            "no such webhook endpoint");
    if (rc == CD_STORE_GUARD)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "url",
                            "at most %d webhook endpoints", CD_ENDPOINTS_MAX);
    return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                        "could not store the webhook endpoint");
}

int cd_endpoint_create(struct cd_billing *b, const struct cd_endpoint_in *in,
                       struct cd_webhook_endpoint *out, struct cd_error *err)
{
    struct ep_job j = {NULL, in, 0, 0, 0, out};

    if (!in->url)
        return cd_error_set(err, CD_EK_INVALID, "missing_param", "url",
                            "url is required");
    if (check_in(in, err) != 0)
        return -1;
    memset(out, 0, sizeof(*out));
    cd_random_id("we_", out->id, sizeof(out->id));
    cd_strlcpy(out->event_types, "*", sizeof(out->event_types));
    out->enabled = 1;
    apply_in(out, in);
    out->enabled = in->enabled < 0 ? 1 : in->enabled;
    new_secret(out->secret, sizeof(out->secret));
    out->created_at = out->updated_at = cd_now();
    return ep_run(b, &j, err);
}

int cd_endpoint_get(struct cd_billing *b, const char *id,
                    struct cd_webhook_endpoint *out, struct cd_error *err)
{
    struct ep_job j = {id, NULL, 0, 1, 0, out};

    return ep_run(b, &j, err);
}

int cd_endpoint_update(struct cd_billing *b, const char *id,
                       const struct cd_endpoint_in *in,
                       struct cd_webhook_endpoint *out, struct cd_error *err)
{
    struct ep_job j = {id, in, 0, 2, 0, out};

    if (check_in(in, err) != 0)
        return -1;
    return ep_run(b, &j, err);
}

int cd_endpoint_delete(struct cd_billing *b, const char *id,
                       struct cd_error *err)
{
    struct cd_webhook_endpoint w;
    struct ep_job j = {id, NULL, 0, 3, 0, &w};

    return ep_run(b, &j, err);
}

int cd_endpoint_rotate(struct cd_billing *b, const char *id, int64_t window,
                       struct cd_webhook_endpoint *out, struct cd_error *err)
{
    struct ep_job j = {id, NULL, window, 4, 0, out};

    if (window < 0 || window > CD_ROTATE_WINDOW_MAX)
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "expires_in",
                            "expires_in is 0 to 604800 seconds");
    return ep_run(b, &j, err);
}

struct list_job {
    const char *id;
    int64_t limit, offset;
    cd_endpoint_cb ecb;
    cd_delivery_cb dcb;
    void *arg;
};

static int list_fn(struct cd_tx *tx, void *arg)
{
    struct list_job *j = arg;
    struct cd_webhook_endpoint w;
    int rc;

    if (j->ecb)
        return cd_store_endpoint_list(tx, CD_ENDPOINTS_MAX, j->ecb, j->arg);
    rc = cd_store_endpoint_get(tx, j->id, &w);
    if (rc != CD_STORE_OK)
        return rc;
    return cd_store_deliveries_list(tx, j->id, j->limit, j->offset, j->dcb,
                                    j->arg);
}

int cd_endpoint_list(struct cd_billing *b, cd_endpoint_cb cb, void *arg,
                     struct cd_error *err)
{
    struct list_job j = {NULL, 0, 0, cb, NULL, arg};

    if (cd_store_read(b->store, list_fn, &j) != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not read the webhook endpoints");
    return 0;
}

int cd_deliveries_list(struct cd_billing *b, const char *endpoint_id,
                       int64_t limit, int64_t offset, cd_delivery_cb cb,
                       void *arg, struct cd_error *err)
{
    struct list_job j = {endpoint_id, limit, offset, NULL, cb, arg};
    int rc = cd_store_read(b->store, list_fn, &j);

    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "id",
                            "no such webhook endpoint");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not read the deliveries");
    return 0;
}

/* ---- replays ------------------------------------------------------------ */

struct replay_job {
    const struct cd_replay_in *in;
    int64_t count;
    const char *missing;
};

static int replay_fn(struct cd_tx *tx, void *arg)
{
    struct replay_job *j = arg;
    const struct cd_replay_in *in = j->in;
    struct cd_webhook_endpoint w;
    int64_t now = cd_now(), now_ms = cd_now_ms();
    int rc = cd_store_endpoint_get(tx, in->endpoint_id, &w);

    if (rc != CD_STORE_OK)
        return rc == CD_STORE_NOT_FOUND ? CD_STORE_GUARD : rc;
    if (in->account_id) {
        int64_t to = in->to_seq > 0 ? in->to_seq
                                    : in->from_seq + CD_REPLAY_MAX - 1;

        return cd_store_replay_range(tx, in->endpoint_id, in->account_id,
                                     in->from_seq, to, CD_REPLAY_MAX, now_ms,
                                     now, &j->count);
    }
    for (int i = 0; i < in->nids; i++) {
        rc = cd_store_replay_event(tx, in->endpoint_id, in->event_ids[i],
                                   now_ms, now);
        if (rc == CD_STORE_NOT_FOUND)
            j->missing = in->event_ids[i];
        if (rc != CD_STORE_OK)
            return rc;
        j->count++;
    }
    return CD_STORE_OK;
}

int cd_events_replay(struct cd_billing *b, const struct cd_replay_in *in,
                     int64_t *count, struct cd_error *err)
{
    struct replay_job j = {in, 0, NULL};
    int rc;

    if (in->account_id && (in->from_seq < 1 || in->to_seq < 0 ||
                           (in->to_seq && in->to_seq < in->from_seq)))
        return cd_error_set(err, CD_EK_INVALID, "invalid_param", "from_seq",
                            "from_seq is at least 1 and at most to_seq");
    rc = cd_store_write(b->store, replay_fn, &j);
    if (rc == CD_STORE_GUARD)
        return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "endpoint",
                            "no such webhook endpoint");
    if (rc == CD_STORE_NOT_FOUND)
        return cd_error_set(err, CD_EK_NOT_FOUND, "not_found", "event_ids",
                            "no such event");
    if (rc != CD_STORE_OK)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "could not replay");
    *count = j.count;
    return 0;
}
