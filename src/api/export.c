/*
 * export.c - CSV exports for accounting: GET /v1/admin/export/orders.csv
 * and GET /v1/admin/export/ledger.csv (filters as the admin lists: see
 * admin_lists.c). The body is streamed: a page of EXPORT_PAGE rows is
 * read (its own read transaction, keyset from the last row sent) only
 * when the client has taken the previous one, so memory stays one page
 * whatever the table's size. Rows come newest first, like the lists.
 *
 * Cells follow RFC 4180 (a cell holding a quote, comma, CR or LF is
 * quoted, its quotes doubled; lines end in CRLF). A text cell a
 * spreadsheet would read as a formula - starting with = + - @, a tab or a
 * CR - gets a leading ' (CSV injection). Numbers are written as they are.
 *
 * Columns are only ever added at the end of a row (a reader that counts
 * them keeps working). The ledger's last two are a transaction's draws
 * (as "draws" in JSON: the lots a debit took from, "lot_id:amount" joined
 * by ';' in one cell, empty for a credit) and its effective_at; the draws
 * of a page are read after its entries, CD_LOTS_DRAWS_MAX debits a read.
 */
#include <stdlib.h>
#include <string.h>

#include "api/core.h"
#include "billing/ledger_ops.h"
#include "billing/lots.h"
#include "billing/orders.h"
#include "util/buf.h"
#include "util/util.h"

#define EXPORT_PAGE 200
#define EXPORT_BUF_MAX (4 * 1024 * 1024) /* a page, worst case ~1 MiB */
/* One entry's draws cell: ~100,000 draws ("lot_<24>:<amount>;"). A page
 * that cannot hold its rows cuts the stream, as a store error does. */
#define EXPORT_DRAWS_MAX EXPORT_BUF_MAX

static const char order_header[] =
    "id,account_id,kind,status,amount_cents,discount_cents,discount_code,"
    "credits,currency,item_id,description,stripe_session_id,"
    "stripe_payment_intent_id,stripe_invoice_id,failure_reason,created_at,"
    "completed_at\r\n";
static const char ledger_header[] =
    "id,account_id,amount,balance_after,kind,ref,order_id,description,"
    "created_at,draws,effective_at\r\n";

struct export
{
    struct cd_billing *billing;
    int ledger;
    struct cd_page_query q;
    char account[CD_ID_SZ], status[CD_STATUS_SZ], kind[CD_KIND_SZ];
    char after[CD_ID_SZ]; /* the id of the last row written */
    int more;             /* rows follow the page in out */
    int started;          /* the header is written */
    int failed;           /* an append failed (out of memory) */
    struct cd_buf out;
    size_t pos; /* bytes of out already sent */
    /* the ledger: the page's entries, then their draws cells */
    struct cd_ledger_entry *entries; /* EXPORT_PAGE */
    struct cd_buf *draws;            /* EXPORT_PAGE */
    size_t n;
};

/* ---- cells -------------------------------------------------------------- */

int cd_csv_text(struct cd_buf *b, const char *s)
{
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                  s[0] == '\t' || s[0] == '\r';
    int bad = 0;

    if (!formula && !strpbrk(s, "\",\r\n"))
        return cd_buf_appends(b, s);
    bad |= cd_buf_append(b, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            bad |= cd_buf_append(b, "\"", 1);
        bad |= cd_buf_append(b, p, 1);
    }
    bad |= cd_buf_append(b, "\"", 1);
    return bad ? -1 : 0;
}

/* Text cells, each followed by a comma. 0 or 1 (out of memory). */
static int csv_texts(struct cd_buf *b, const char *const *cells, size_t n)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++)
        bad |= cd_csv_text(b, cells[i]) != 0 || cd_buf_append(b, ",", 1) != 0;
    return bad;
}

static int csv_int(struct cd_buf *b, int64_t v)
{
    return cd_buf_appendf(b, "%lld,", (long long)v) != 0;
}

/* A time cell (empty for 0), then end. */
static int csv_time(struct cd_buf *b, int64_t t, const char *end)
{
    char s[21] = "";

    if (t)
        cd_time_rfc3339(t, s);
    return cd_buf_appendf(b, "%s%s", s, end) != 0;
}

int cd_csv_draw(struct cd_buf *b, const char *lot_id, int64_t amount)
{
    return cd_buf_appendf(b, "%s%s:%lld", b->len ? ";" : "", lot_id,
                          (long long)amount);
}

int cd_csv_ledger_row(struct cd_buf *b, const struct cd_ledger_entry *e,
                      const char *draws)
{
    int bad = 0;

    bad |= csv_texts(b, (const char *const[]){e->id, e->account_id}, 2);
    bad |= csv_int(b, e->amount);
    bad |= csv_int(b, e->balance_after);
    bad |= csv_texts(
        b,
        (const char *const[]){e->kind, e->ref, e->order_id, e->description},
        4);
    bad |= csv_time(b, e->created_at, ",");
    bad |= csv_texts(b, (const char *const[]){draws}, 1);
    bad |= csv_time(b, e->effective_at ? e->effective_at : e->created_at,
                    "\r\n");
    return bad ? -1 : 0;
}

/* ---- rows --------------------------------------------------------------- */

static int order_row(const struct cd_order *o, void *arg)
{
    struct export *x = arg;

    struct cd_buf *b = &x->out;

    x->failed |= csv_texts(
        b, (const char *const[]){o->id, o->account_id, o->kind, o->status},
        4);
    x->failed |= csv_int(b, o->amount_cents);
    x->failed |= csv_int(b, o->discount_cents);
    x->failed |= csv_texts(b, (const char *const[]){o->discount_code}, 1);
    x->failed |= csv_int(b, o->credits);
    x->failed |= csv_texts(
        b,
        (const char *const[]){o->currency, o->item_id, o->description,
                              o->stripe_session_id,
                              o->stripe_payment_intent_id,
                              o->stripe_invoice_id, o->failure_reason},
        7);
    x->failed |= csv_time(b, o->created_at, ",");
    x->failed |= csv_time(b, o->completed_at, "\r\n");
    cd_strlcpy(x->after, o->id, sizeof(x->after));
    return x->failed;
}

/* A ledger row is kept until the page's draws are read (page_draws). */
static int entry_row(const struct cd_ledger_entry *e, void *arg)
{
    struct export *x = arg;

    if (x->n >= EXPORT_PAGE)
        return -1;
    x->entries[x->n++] = *e;
    cd_strlcpy(x->after, e->id, sizeof(x->after));
    return 0;
}

struct draw_map {
    struct export *x;
    size_t at[CD_LOTS_DRAWS_MAX]; /* ids[i] is entries[at[i]] */
    const char *ids[CD_LOTS_DRAWS_MAX];
    size_t k;
};

static int draw_cb(size_t i, const char *lot_id, int64_t amount, void *arg)
{
    struct draw_map *m = arg;

    m->x->failed |= cd_csv_draw(&m->x->draws[m->at[i]], lot_id, amount) != 0;
    return 0;
}

static int draws_flush(struct draw_map *m, struct cd_error *err)
{
    int rc = m->k
                 ? cd_lots_draws(m->x->billing, m->ids, m->k, draw_cb, m, err)
                 : 0;

    m->k = 0;
    return rc;
}

/* The draws of the page's debits (credits draw nothing), then its rows. */
static int page_draws(struct export *x, struct cd_error *err)
{
    struct draw_map m;

    m.x = x;
    m.k = 0;
    for (size_t i = 0; i < x->n; i++) {
        cd_buf_reset(&x->draws[i]);
        if (x->entries[i].amount >= 0)
            continue;
        m.ids[m.k] = x->entries[i].id;
        m.at[m.k++] = i;
        if (m.k == CD_LOTS_DRAWS_MAX && draws_flush(&m, err) != 0)
            return -1;
    }
    if (draws_flush(&m, err) != 0)
        return -1;
    for (size_t i = 0; i < x->n; i++)
        x->failed |= cd_csv_ledger_row(&x->out, &x->entries[i],
                                       x->draws[i].data ? x->draws[i].data
                                                        : "") != 0;
    return 0;
}

/* Reads the next page into x->out (emptied first; the header before the
 * first). 0, or -1 with err. */
static int next_page(struct export *x, struct cd_error *err)
{
    cd_buf_reset(&x->out);
    x->pos = 0;
    if (!x->started) {
        x->started = 1;
        x->failed |= cd_buf_appends(&x->out, x->ledger ? ledger_header
                                                       : order_header) != 0;
    }
    x->q.starting_after = x->after[0] ? x->after : NULL;
    x->n = 0;
    if (x->ledger
            ? cd_ledger_page(x->billing, &x->q, entry_row, x, &x->more,
                             err) ||
                  page_draws(x, err)
            : cd_orders_page(x->billing, &x->q, order_row, x, &x->more, err))
        return -1;
    if (x->failed)
        return cd_error_set(err, CD_EK_INTERNAL, "internal_error", NULL,
                            "out of memory");
    return 0;
}

/* ---- the stream --------------------------------------------------------- */

static long export_read(void *cls, char *buf, size_t max)
{
    struct export *x = cls;
    struct cd_error err;
    size_t n;

    while (x->pos >= x->out.len) {
        if (!x->more)
            return 0;
        if (next_page(x, &err) != 0)
            return -1; /* logged by the store; the client sees a cut */
    }
    n = x->out.len - x->pos;
    if (n > max)
        n = max;
    memcpy(buf, x->out.data + x->pos, n);
    x->pos += n;
    return (long)n;
}

static void export_done(void *cls)
{
    struct export *x = cls;

    cd_buf_free(&x->out);
    for (size_t i = 0; x->draws && i < EXPORT_PAGE; i++)
        cd_buf_free(&x->draws[i]);
    free(x->draws);
    free(x->entries);
    free(x);
}

/* Copies the filters out of the request (the stream outlives it). */
static void keep_filters(struct export *x, const struct cd_page_query *q)
{
    cd_strlcpy(x->account, q->account_id ? q->account_id : "",
               sizeof(x->account));
    cd_strlcpy(x->status, q->status ? q->status : "", sizeof(x->status));
    cd_strlcpy(x->kind, q->kind ? q->kind : "", sizeof(x->kind));
    x->q.account_id = x->account;
    x->q.status = x->status;
    x->q.kind = x->kind;
    x->q.from = q->from;
    x->q.to = q->to;
    x->q.limit = EXPORT_PAGE;
}

/* The ledger's page of entries and their draws cells; 1, or 0 (no
 * memory). */
static int export_ledger_init(struct export *x)
{
    x->entries = calloc(EXPORT_PAGE, sizeof(*x->entries));
    x->draws = calloc(EXPORT_PAGE, sizeof(*x->draws));
    if (!x->entries || !x->draws)
        return 0;
    for (size_t i = 0; i < EXPORT_PAGE; i++)
        cd_buf_init(&x->draws[i], EXPORT_DRAWS_MAX);
    return 1;
}

/* The first page is read here, so a failure is a plain error reply. */
static void export_csv(struct cd_req *req, int ledger)
{
    struct cd_page_query q;
    struct cd_error err;
    struct export *x;

    if (cd_api_page_filters(req, !ledger, &q) != 0)
        return;
    if (!(x = calloc(1, sizeof(*x)))) {
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "out of memory");
        return;
    }
    x->billing = cd_api_app(req)->billing;
    x->ledger = ledger;
    keep_filters(x, &q);
    cd_buf_init(&x->out, EXPORT_BUF_MAX);
    if (ledger && !export_ledger_init(x)) {
        export_done(x);
        cd_reply_errorf(req, CD_EK_INTERNAL, "internal_error", NULL,
                        "out of memory");
        return;
    }
    if (next_page(x, &err) != 0) {
        export_done(x);
        cd_reply_error(req, &err);
        return;
    }
    cd_reply_header(req, "Content-Disposition",
                    ledger ? "attachment; filename=\"ledger.csv\""
                           : "attachment; filename=\"orders.csv\"");
    cd_reply_stream(req, 200, "text/csv; charset=utf-8", export_read,
                    export_done, x);
}

void cd_api_admin_export_orders(struct cd_req *req)
{
    export_csv(req, 0);
}

void cd_api_admin_export_ledger(struct cd_req *req)
{
    export_csv(req, 1);
}
