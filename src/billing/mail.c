/*
 * mail.c - the mail outbox (receipts queued in the fulfilment job) and its
 * SMTP sender thread; see mail.h.
 *
 * The sender reads due rows on a read transaction, and only when there are
 * some takes the "mail" lease (so an idle server writes nothing). Each mail
 * is sent with libcurl outside any transaction (connect timeout 10 s, total
 * 30 s) and its outcome written by its own write job right after, so a stop
 * or crash loses at most the outcome of the mail in flight. The SMTP URL
 * may hold credentials: it is never logged, and neither is the password
 * (CREDITD_SMTP_PASSWORD_FILE), which SIGHUP replaces between two sends
 * (cd_mailer_set_password): a send takes its copy when it starts.
 */
#include "billing/mail.h"

#include <assert.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/leases.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define MOD "mail"
#define LEASE_MAIL "mail"
/* Long enough for a whole batch of sends at their 30 s timeout. */
#define LEASE_TTL (CD_MAIL_BATCH * 30 + 300)
#define MSG_MAX (64 * 1024)

static const struct cd_metric_def M_MAIL = {
    "creditd_mail_total",
    "Mail send attempts by outcome (sent; retry: failed, tried again "
    "later; failed: given up; skipped: no SMTP server configured).",
    CD_METRIC_COUNTER,
    {"outcome"},
    NULL,
    0};

/* ---- formatting -------------------------------------------------------- */

void cd_mail_header_clean(const char *in, char *out, size_t outsz)
{
    size_t n = 0;

    if (!outsz)
        return;
    if (!in)
        in = "";
    while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
        in++;
    for (; *in && n + 1 < outsz; in++) {
        unsigned char c = (unsigned char)*in;

        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    /* Do not end inside a UTF-8 sequence cut by the truncation. */
    if (*in) {
        out[n] = '\0';
        n = cd_utf8_cut(out, n);
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

void cd_mail_date(int64_t t, char *out, size_t outsz)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11) {
        cd_strlcpy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsz);
        return;
    }
    snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t cd_mail_backoff_ms(int64_t attempts, int64_t base_ms)
{
    int64_t d = base_ms > 0 ? base_ms : CD_MAIL_RETRY_BASE_MS;

    for (int64_t i = 1; i < attempts && d < CD_MAIL_RETRY_CAP_MS; i++)
        d *= 2;
    return d < CD_MAIL_RETRY_CAP_MS ? d : CD_MAIL_RETRY_CAP_MS;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* Appends s as one RFC 2047 "B" encoded word (UTF-8). */
static int append_encoded_word(struct cd_buf *b, const char *s)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    int bad = cd_buf_appends(b, "=?UTF-8?B?");

    for (size_t i = 0; !bad && i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = tbl[(v >> 18) & 63];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tbl[v & 63] : '=';
        bad = cd_buf_append(b, q, 4);
    }
    return bad ? -1 : cd_buf_appends(b, "?=");
}

/* The domain of an address for the Message-ID: letters, digits, '.', '-'
 * only; "creditd.local" when there is none. */
static void msgid_domain(const char *from, char *out, size_t outsz)
{
    const char *at = strrchr(from ? from : "", '@');
    size_t n = 0;

    if (at)
        for (at++; *at && n + 1 < outsz; at++) {
            char c = *at;

            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '-')
                out[n++] = c;
        }
    out[n] = '\0';
    if (!n)
        cd_strlcpy(out, "creditd.local", outsz);
}

/* "From: " with the brand's name as display name (quoted ASCII, or an
 * encoded word), then "<addr>". */
static int append_from(struct cd_buf *b, const struct cd_brand *brand,
                       const char *addr)
{
    char name[sizeof(brand->name)];
    size_t n = 0;
    int bad = cd_buf_appends(b, "From: ");

    if (!brand || !brand->name[0])
        return bad ? -1 : cd_buf_appends(b, addr);
    cd_mail_header_clean(brand->name, name, sizeof(name));
    if (is_ascii(name)) {
        for (const char *p = name; *p; p++)
            if (*p != '"' && *p != '\\')
                name[n++] = *p;
        name[n] = '\0';
        bad |= cd_buf_appendf(b, "\"%s\"", name);
    } else {
        bad |= append_encoded_word(b, name);
    }
    return bad ? -1 : cd_buf_appendf(b, " <%s>", addr);
}

/* The body's closing signature: the business and its support address. */
static int append_signature(struct cd_buf *b, const struct cd_brand *brand)
{
    int bad;

    if (!brand || !brand->name[0])
        return 0;
    bad = cd_buf_appendf(b, "\r\n-- \r\n%s\r\n", brand->name);
    if (!bad && brand->support_email[0])
        bad = cd_buf_appendf(b, "Questions? Write to %s\r\n",
                             brand->support_email);
    return bad;
}

char *cd_mail_format(const struct cd_mail *m, const char *from,
                     const struct cd_brand *brand, int64_t now, size_t *len)
{
    char date[64], f[CD_EMAIL_SZ], to[CD_EMAIL_SZ], subj[CD_MAIL_SUBJECT_SZ];
    char id[CD_ID_SZ], dom[CD_EMAIL_SZ];
    struct cd_buf b;
    int bad = 0;

    cd_mail_date(now, date, sizeof(date));
    cd_mail_header_clean(from, f, sizeof(f));
    cd_mail_header_clean(m->to_address, to, sizeof(to));
    cd_mail_header_clean(m->subject, subj, sizeof(subj));
    cd_mail_header_clean(m->id, id, sizeof(id));
    msgid_domain(f, dom, sizeof(dom));
    cd_buf_init(&b, MSG_MAX);
    bad |= cd_buf_appendf(&b, "Date: %s\r\n", date);
    bad |= append_from(&b, brand, f);
    bad |= cd_buf_appendf(&b, "\r\nTo: %s\r\nSubject: ", to);
    if (!bad)
        bad |= is_ascii(subj) ? cd_buf_appends(&b, subj)
                              : append_encoded_word(&b, subj);
    if (!bad)
        bad |= cd_buf_appendf(&b,
                              "\r\nMessage-ID: <%s@%s>\r\n"
                              "MIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n\r\n",
                              id[0] ? id : "mail", dom);
    /* The body with every line ending made CRLF; a bare CR is dropped. */
    for (const char *p = m->body_text; !bad && *p; p++) {
        if (*p == '\r')
            continue;
        bad |= *p == '\n' ? cd_buf_append(&b, "\r\n", 2)
                          : cd_buf_append(&b, p, 1);
    }
    if (!bad && (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0))
        bad |= cd_buf_append(&b, "\r\n", 2);
    if (!bad)
        bad |= append_signature(&b, brand);
    if (bad) {
        cd_buf_free(&b);
        return NULL;
    }
    return cd_buf_take(&b, len);
}

/* ---- the receipt (inside the fulfilment job) ---------------------------- */

/* The receipt's subject and body for order o. */
static void receipt_text(struct cd_mail *m, const struct cd_order *o,
                         int64_t credits, int64_t balance_after, int64_t now)
{
    char amount[64], discount[192], when[64];
    time_t tt = (time_t)now;
    struct tm tm;

    cd_money_display(o->amount_cents, o->currency, amount, sizeof(amount));
    if (gmtime_r(&tt, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    else
        cd_strlcpy(when, "-", sizeof(when));
    cd_mail_header_clean(o->description, m->subject, sizeof(m->subject) - 32);
    {
        char s[CD_MAIL_SUBJECT_SZ + 32];

        snprintf(s, sizeof(s), "Your receipt: %s",
                 m->subject[0] ? m->subject : "credits");
        cd_strlcpy(m->subject, s, sizeof(m->subject));
    }
    discount[0] = '\0';
    if (o->discount_cents > 0) {
        char d[48];

        cd_money_display(o->discount_cents, o->currency, d, sizeof(d));
        snprintf(discount, sizeof(discount), "Discount:       %s%s%s\n", d,
                 o->discount_code[0] ? " with code " : "",
                 o->discount_code[0] ? o->discount_code : "");
    }
    snprintf(m->body_text, sizeof(m->body_text),
             "Thanks for your purchase.\n"
             "\n"
             "Item:           %s\n"
             "Amount paid:    %s\n"
             "%s"
             "Credits added:  %" PRId64 "\n"
             "New balance:    %" PRId64 " credits\n"
             "Order:          %s\n"
             "Date:           %s\n"
             "\n"
             "Keep this mail as your receipt.\n",
             o->description[0] ? o->description : "credits", amount, discount,
             credits, balance_after, o->id, when);
}

int cd_mail_receipt_tx(struct cd_tx *tx, const struct cd_order *o,
                       int64_t credits, int64_t balance_after, int64_t now)
{
    struct cd_account a;
    struct cd_mail *m;
    int rc;

    rc = cd_store_account_get(tx, o->account_id, &a);
    if (rc == CD_STORE_NOT_FOUND || (rc == CD_STORE_OK && !a.email[0])) {
        cd_warn(MOD, "order %s: no account email, no receipt", o->id);
        return CD_STORE_OK;
    }
    if (rc != CD_STORE_OK)
        return CD_STORE_ERROR;
    m = calloc(1, sizeof(*m));
    if (!m)
        return CD_STORE_ERROR;
    cd_random_id("mail_", m->id, sizeof(m->id));
    _Static_assert(sizeof(m->dedupe_key) == CD_REF_SZ &&
                       CD_REF_FITS("order::receipt", sizeof(o->id) - 1),
                   "order:<id>:receipt fits the mail dedupe key");
    snprintf(m->dedupe_key, sizeof(m->dedupe_key), "order:%s:receipt", o->id);
    cd_strlcpy(m->account_id, o->account_id, sizeof(m->account_id));
    cd_strlcpy(m->to_address, a.email, sizeof(m->to_address));
    cd_strlcpy(m->status, "queued", sizeof(m->status));
    m->next_attempt_at = now * 1000;
    m->created_at = now;
    receipt_text(m, o, credits, balance_after, now);
    rc = cd_store_mail_insert(tx, m);
    if (rc == CD_STORE_DUPLICATE)
        rc = CD_STORE_OK; /* queued before: one receipt per order */
    else if (rc == CD_STORE_OK)
        cd_debug(MOD, "order %s: receipt %s queued", o->id, m->id);
    free(m);
    return rc == CD_STORE_OK ? CD_STORE_OK : CD_STORE_ERROR;
}

/* ---- the sender --------------------------------------------------------- */

struct cd_mailer {
    struct cd_billing *b;
    char smtp_url[512];
    char password[CD_MAIL_PASSWORD_SZ]; /* under mu; "" = from the URL */
    char mail_from[CD_EMAIL_SZ];
    int64_t poll_ms, retry_base_ms;
    char holder[CD_LEASE_HOLDER_SZ];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int stop, woken;   /* under mu */
    pthread_t thread;
    int held;        /* the thread's own */
    int64_t held_at; /* when it last took the lease (cd_now) */
};

static int stopping(struct cd_mailer *m)
{
    int s;

    pthread_mutex_lock(&m->mu);
    s = m->stop;
    pthread_mutex_unlock(&m->mu);
    return s;
}

struct lease_job {
    const char *holder;
    int64_t now;
    int release;
    int rc;
};

static int lease_fn(struct cd_tx *tx, void *arg)
{
    struct lease_job *l = arg;

    l->rc = l->release ? cd_store_lease_release(tx, LEASE_MAIL, l->holder)
                       : cd_store_lease_acquire(tx, LEASE_MAIL, l->holder,
                                                l->now, LEASE_TTL);
    return l->rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

struct due {
    struct cd_mail *rows;
    int n;
    int64_t now_ms;
};

static int due_cb(const struct cd_mail *row, void *arg)
{
    struct due *d = arg;

    if (d->n >= CD_MAIL_BATCH)
        return 1;
    d->rows[d->n++] = *row;
    return 0;
}

static int due_fn(struct cd_tx *tx, void *arg)
{
    struct due *d = arg;

    return cd_store_mail_due(tx, d->now_ms, CD_MAIL_BATCH, due_cb, d);
}

/* A mail that carries a one-time secret (a password reset link): its body
 * is cleared once the sender is done with it, sent or not. */
static int carries_secret(const struct cd_mail *m)
{
    return strncmp(m->dedupe_key, CD_MAIL_SECRET_PREFIX,
                   sizeof(CD_MAIL_SECRET_PREFIX) - 1) == 0;
}

static int update_fn(struct cd_tx *tx, void *arg)
{
    const struct cd_mail *m = arg;
    int rc = cd_store_mail_update(tx, m);

    if (rc == CD_STORE_OK && strcmp(m->status, "queued") != 0 &&
        carries_secret(m))
        rc = cd_store_mail_redact(tx, m->id,
                                  "(removed: this mail held a one-time "
                                  "link)");
    return rc == CD_STORE_ERROR ? CD_STORE_ERROR : 0;
}

struct reader {
    const char *data;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct reader *r = arg;
    size_t room = size * nitems, n = r->len - r->off;

    if (n > room)
        n = room;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    return n;
}

/* Envelope addresses: printable ASCII without spaces, '<', '>', and one
 * '@'. */
static int envelope_ok(const char *a)
{
    const char *at = strchr(a, '@');

    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *a; a++)
        if ((unsigned char)*a <= 0x20 || (unsigned char)*a >= 0x7f ||
            *a == '<' || *a == '>')
            return 0;
    return 1;
}

/* Sends one mail. 0 when the SMTP server took it; -1 with why filled and
 * *permanent set when the server refused it for good (5xx). */
static int smtp_send(struct cd_mailer *m, const struct cd_mail *mail,
                     char *why, size_t whysz, int *permanent)
{
    char from[CD_EMAIL_SZ + 2], to[CD_EMAIL_SZ + 2];
    struct curl_slist *rcpt = NULL;
    struct reader r = {NULL, 0, 0};
    size_t len = 0;
    char *msg;
    CURL *h;
    CURLcode cc;
    long code = 0;
    int ret = -1;

    char password[CD_MAIL_PASSWORD_SZ];

    *permanent = 0;
    if (!envelope_ok(mail->to_address) || !envelope_ok(m->mail_from)) {
        cd_strlcpy(why, "bad address", whysz);
        *permanent = 1;
        return -1;
    }
    msg = cd_mail_format(mail, m->mail_from, &m->b->cfg.brand, cd_now(),
                         &len);
    h = curl_easy_init();
    snprintf(to, sizeof(to), "<%s>", mail->to_address);
    rcpt = curl_slist_append(NULL, to);
    if (!msg || !h || !rcpt) {
        cd_strlcpy(why, "out of memory", whysz);
        goto out;
    }
    snprintf(from, sizeof(from), "<%s>", m->mail_from);
    r.data = msg;
    r.len = len;
    curl_easy_setopt(h, CURLOPT_URL, m->smtp_url);
    pthread_mutex_lock(&m->mu);
    memcpy(password, m->password, sizeof(password));
    pthread_mutex_unlock(&m->mu);
    if (password[0]) /* the user name comes from the URL */
        curl_easy_setopt(h, CURLOPT_PASSWORD, password);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &r);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cc == CURLE_OK) {
        ret = 0;
    } else {
        /* Never the URL: it may carry credentials. */
        if (code > 0)
            snprintf(why, whysz, "SMTP %ld: %s", code,
                     curl_easy_strerror(cc));
        else
            snprintf(why, whysz, "SMTP: %s", curl_easy_strerror(cc));
        /* A refused login is the operator's to fix (a password being
         * rotated: SIGHUP), not the mail's: it is tried again. */
        *permanent = code >= 500 && code < 600 && cc != CURLE_LOGIN_DENIED;
    }
out:
    sodium_memzero(password, sizeof(password));
    curl_slist_free_all(rcpt);
    if (h)
        curl_easy_cleanup(h);
    free(msg);
    return ret;
}

static void record(struct cd_mailer *m, struct cd_mail *mail,
                   const char *outcome)
{
    if (cd_store_write(m->b->store, update_fn, mail) != 0)
        cd_warn(MOD, "mail %s: could not record the outcome (%s)", mail->id,
                outcome);
    cd_metrics_add(NULL, &M_MAIL, 1, outcome, NULL, NULL);
}

static void deliver(struct cd_mailer *m, struct cd_mail *mail)
{
    char why[CD_MAIL_ERROR_SZ];
    int permanent = 0;

    assert(m->held); /* a mail is sent and marked under this node's lease */

    if (!m->smtp_url[0]) {
        cd_strlcpy(mail->status, "skipped", sizeof(mail->status));
        cd_strlcpy(mail->last_error, "no SMTP configured",
                   sizeof(mail->last_error));
        record(m, mail, "skipped");
        return;
    }
    why[0] = '\0';
    mail->attempts++;
    if (smtp_send(m, mail, why, sizeof(why), &permanent) == 0) {
        cd_strlcpy(mail->status, "sent", sizeof(mail->status));
        mail->last_error[0] = '\0';
        mail->sent_at = cd_now();
        cd_info(MOD, "mail %s sent (%s)", mail->id, mail->dedupe_key);
        record(m, mail, "sent");
        return;
    }
    cd_strlcpy(mail->last_error, why, sizeof(mail->last_error));
    if (permanent || mail->attempts >= CD_MAIL_MAX_ATTEMPTS) {
        cd_strlcpy(mail->status, "failed", sizeof(mail->status));
        cd_warn(MOD, "mail %s failed after %" PRId64 " attempt(s): %s",
                mail->id, mail->attempts, why);
        record(m, mail, "failed");
        return;
    }
    mail->next_attempt_at = cd_now_ms() +
                            cd_mail_backoff_ms(mail->attempts,
                                               m->retry_base_ms);
    cd_info(MOD,
            "mail %s: attempt %" PRId64 " failed (%s); trying again "
            "later",
            mail->id, mail->attempts, why);
    record(m, mail, "retry");
}

/* With nothing due the lease is not renewed: once its ttl has run out
 * the gauge says so (another node may take it from then on). */
static void lapse(struct cd_mailer *m)
{
    if (m->held && cd_now() >= m->held_at + LEASE_TTL) {
        m->held = 0;
        cd_lease_held_set(LEASE_MAIL, 0);
    }
}

static void cycle(struct cd_mailer *m)
{
    struct due d;
    struct lease_job l;

    d.rows = malloc(CD_MAIL_BATCH * sizeof(*d.rows));
    if (!d.rows)
        return;
    d.n = 0;
    d.now_ms = cd_now_ms();
    if (cd_store_read(m->b->store, due_fn, &d) != CD_STORE_OK || !d.n) {
        lapse(m);
        goto out;
    }
    l = (struct lease_job){m->holder, cd_now(), 0, 0};
    if (cd_store_write(m->b->store, lease_fn, &l) != 0)
        goto out;
    cd_lease_held_set(LEASE_MAIL, l.rc == CD_STORE_OK);
    if (l.rc != CD_STORE_OK) {
        if (m->held)
            cd_info(MOD, "another node sends mail now");
        m->held = 0;
        goto out;
    }
    m->held = 1;
    m->held_at = l.now;
    for (int i = 0; i < d.n && !stopping(m); i++)
        deliver(m, &d.rows[i]);
out:
    free(d.rows);
}

static void *mailer_main(void *arg)
{
    struct cd_mailer *m = arg;

    for (;;) {
        struct timespec ts;

        cd_log_begin_job(); /* one id per pass over the outbox */
        cycle(m);
        cd_log_end_job();
        pthread_mutex_lock(&m->mu);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(m->poll_ms / 1000);
        ts.tv_nsec += (long)(m->poll_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!m->stop && !m->woken)
            if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) != 0)
                break;
        m->woken = 0;
        if (m->stop) {
            pthread_mutex_unlock(&m->mu);
            break;
        }
        pthread_mutex_unlock(&m->mu);
    }
    if (m->held) {
        struct lease_job l = {m->holder, 0, 1, 0};

        cd_log_begin_job();
        if (cd_store_write(m->b->store, lease_fn, &l) != 0)
            cd_warn(MOD, "could not release the mail lease");
        else
            cd_lease_held_set(LEASE_MAIL, 0);
        cd_log_end_job();
    }
    return NULL;
}

struct cd_mailer *cd_mailer_start(struct cd_billing *b,
                                  const struct cd_mail_config *c)
{
    struct cd_mailer *m;
    pthread_condattr_t ca;

    if (!b || !b->store || !c)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->b = b;
    if (c->smtp_url &&
        cd_strlcpy(m->smtp_url, c->smtp_url, sizeof(m->smtp_url)) != 0) {
        free(m);
        return NULL;
    }
    if (c->smtp_password &&
        cd_strlcpy(m->password, c->smtp_password, sizeof(m->password)) != 0) {
        free(m);
        return NULL;
    }
    if (c->mail_from &&
        cd_strlcpy(m->mail_from, c->mail_from, sizeof(m->mail_from)) != 0) {
        free(m);
        return NULL;
    }
    m->poll_ms = c->poll_ms > 0 ? c->poll_ms : CD_MAIL_POLL_MS;
    m->retry_base_ms = c->retry_base_ms > 0 ? c->retry_base_ms
                                            : CD_MAIL_RETRY_BASE_MS;
    cd_random_id("mailer_", m->holder, sizeof(m->holder));
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->thread, NULL, mailer_main, m) != 0) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    if (m->smtp_url[0])
        cd_info(MOD, "mail from %s, checked every %" PRId64 " ms",
                m->mail_from, m->poll_ms);
    else
        cd_info(MOD, "no SMTP server (CREDITD_SMTP_URL): queued mail is "
                     "marked skipped");
    return m;
}

void cd_mailer_wake(struct cd_mailer *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->woken = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

int cd_mailer_set_password(struct cd_mailer *m, const char *password)
{
    int rc;

    if (!m || !password)
        return -1;
    pthread_mutex_lock(&m->mu);
    rc = strlen(password) < sizeof(m->password) ? 0 : -1;
    if (rc == 0)
        cd_strlcpy(m->password, password, sizeof(m->password));
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void cd_mailer_stop(struct cd_mailer *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    sodium_memzero(m->password, sizeof(m->password));
    free(m);
}
