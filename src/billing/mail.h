/*
 * mail.h - the mail outbox: receipts queued inside the write job that
 * fulfils an order (so a receipt exists exactly when the order was
 * credited, once: dedupe key "order:<id>:receipt"), and the sender, a
 * background thread that delivers queued mail over SMTP with libcurl.
 *
 * The sender wakes every poll_ms. When mail is due it takes the "mail"
 * lease (one node sends at a time), and for each due row (at most
 * CD_MAIL_BATCH) it sends the message outside any transaction, then records
 * the outcome in its own small write job:
 *   - sent: status "sent";
 *   - failed: attempts + 1, next try after retry_base_ms x 2^(attempts-1)
 *     (capped at one hour); "failed" after CD_MAIL_MAX_ATTEMPTS attempts,
 *     or at once when the server answers a permanent (5xx) error (not a
 *     refused login, 535: that is the password, retried like a 4xx);
 *   - no SMTP configured (smtp_url ""): status "skipped", last_error "no
 *     SMTP configured", so the outbox does not pile up.
 * Delivery is at least once: a crash between the SMTP server's 250 and
 * the write of "sent" sends that mail again on the next run (on another
 * node once the dead holder's lease has lapsed: at most twice per crash).
 * The gauge creditd_lease_held{lease="mail"} is 1 from taking the lease
 * until it is released or has lapsed unrenewed, 0 when refused it.
 * Metric: creditd_mail_total{outcome="sent|retry|failed|skipped"}.
 */
#ifndef CD_BILLING_MAIL_H
#define CD_BILLING_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"

#define CD_MAIL_POLL_MS 5000
#define CD_MAIL_RETRY_BASE_MS 60000
#define CD_MAIL_RETRY_CAP_MS 3600000
#define CD_MAIL_MAX_ATTEMPTS 10
#define CD_MAIL_BATCH 20
/* Mail whose dedupe key starts so carries a one-time secret (a password
 * reset link): the sender clears its body once sent, failed or skipped. */
#define CD_MAIL_SECRET_PREFIX "secret:"
/* Room for the SMTP password (CREDITD_SMTP_PASSWORD_FILE) and its NUL. */
#define CD_MAIL_PASSWORD_SZ 256

struct cd_mail_config {
    const char *smtp_url; /* smtp:// or smtps://; NULL or "": none */
    /* NULL or "": the URL's credentials (if any); else the password sent
     * with the URL's user name (a refused login is retried later). */
    const char *smtp_password;
    const char *mail_from; /* required with smtp_url */
    int64_t poll_ms;       /* 0: CD_MAIL_POLL_MS */
    int64_t retry_base_ms; /* 0: CD_MAIL_RETRY_BASE_MS */
};

/* Copies in to out (outsz bytes) for use in a header value: CR, LF and
 * other control characters become spaces, so no header can be injected;
 * leading and trailing spaces are dropped. Truncates to fit. */
void cd_mail_header_clean(const char *in, char *out, size_t outsz);

/* The RFC 5322 date of unix time t in UTC: "Sat, 21 Nov 2026 10:00:00
 * +0000" (English names whatever the locale). */
void cd_mail_date(int64_t t, char *out, size_t outsz);

/* The wait before the next try after `attempts` failed attempts (>= 1):
 * base_ms x 2^(attempts-1), at most CD_MAIL_RETRY_CAP_MS. */
int64_t cd_mail_backoff_ms(int64_t attempts, int64_t base_ms);

/*
 * The full RFC 5322 message of m from `from` at time now (Date, From, To,
 * Subject - RFC 2047 encoded when not ASCII -, Message-ID, MIME-Version,
 * Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding 8bit),
 * lines ending in CRLF. With brand (NULL: none) the From carries its name
 * as display name and the body ends with a signature naming the business
 * and, when set, its support address. malloc'd (free() it), *len its
 * length; NULL when out of memory.
 */
char *cd_mail_format(const struct cd_mail *m, const char *from,
                     const struct cd_brand *brand, int64_t now, size_t *len);

/*
 * Inside a write job: queues the receipt of order o (just completed at
 * now, credits added, balance_after the account's new balance) to the
 * account's email, under dedupe key "order:<id>:receipt". An existing
 * receipt is left alone. CD_STORE_OK (also when the account is gone: then
 * nothing is queued) or CD_STORE_ERROR (the job rolls back).
 */
int cd_mail_receipt_tx(struct cd_tx *tx, const struct cd_order *o,
                       int64_t credits, int64_t balance_after, int64_t now);

struct cd_mailer;

/* Starts the sender thread; c's strings are copied. b is borrowed and must
 * outlive cd_mailer_stop. NULL when it cannot start. */
struct cd_mailer *cd_mailer_start(struct cd_billing *b,
                                  const struct cd_mail_config *c);

/* Wakes the sender at once (e.g. after queueing mail). NULL is fine. */
void cd_mailer_wake(struct cd_mailer *m);

/* Replaces the SMTP password (SIGHUP): the sends that start from now on
 * use it, a send in progress finishes with the old one. 0, or -1 when it
 * does not fit (the old one stays). */
int cd_mailer_set_password(struct cd_mailer *m, const char *password);

/* Stops the thread (a send in progress finishes first, bounded by its
 * 30 s timeout), releases the lease and frees. NULL is fine. */
void cd_mailer_stop(struct cd_mailer *m);

#endif
