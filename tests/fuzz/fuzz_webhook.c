/*
 * fuzz_webhook.c - a Stripe event after its signature (billing/events.c,
 * the whole of POST /v1/webhooks/stripe below HTTP) against a real SQLite
 * store. Input: the raw event body; the harness signs it with the
 * endpoint secret, so every input reaches the event parser and, when it is
 * an event, the handlers of its type (sessions, payment intents, charges,
 * refunds, disputes, subscriptions, invoices).
 *
 * The store: one account, a pending package order (session cs_fuzz_pending,
 * payment intent pi_fuzz_pending), a pending top-up order (pi_fuzz_topup)
 * and an order already completed through a real event (cs_fuzz_done,
 * pi_fuzz_done, so refunds and disputes of it find a payment). It is built
 * once into a template file; every input runs on the template's state, so
 * a crash reproduces from its one input: the store stays open between
 * inputs that wrote nothing (most), and is closed and copied afresh from
 * the template after any input that ran a write job. TMPDIR (scripts/fuzz.sh: /dev/shm)
 * holds the files. Stripe is not configured: nothing leaves the process.
 * Properties: 0 with one of the three outcomes, or -1 with a 400 or 500
 * error, or 503 stripe_not_configured for an event that needs Stripe
 * (never a signature error: the body is signed); after an input that
 * wrote, every balance equals the sum of its ledger entries; a processed
 * event delivered again is a duplicate that changes no balance (exactly
 * once); nothing leaks.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "billing/billing.h"
#include "billing/events.h"
#include "billing/hooks.h"
#include "billing/ledger_ops.h"
#include "fuzz.h"
#include "store/store.h"
#include "stripe/signature.h"
#include "util/log.h"
#include "util/util.h"

#define SECRET "whsec_fuzz_webhook_secret"
#define ACCOUNT "acct_fuzz0000000000000000001"

static char dir[256], tmpl[300], work[300];
static struct cd_billing bill;

static int job_account(struct cd_tx *tx, void *arg)
{
    return cd_store_account_insert(tx, arg);
}

static int job_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_insert(tx, arg);
}

static void order(const char *id, const char *kind, const char *session,
                  const char *pi)
{
    struct cd_order o;

    memset(&o, 0, sizeof(o));
    strcpy(o.id, id);
    strcpy(o.account_id, ACCOUNT);
    strcpy(o.kind, kind);
    strcpy(o.status, "pending");
    o.amount_cents = 1000;
    o.credits = 1000;
    strcpy(o.currency, "usd");
    strcpy(o.item_id, "starter");
    strcpy(o.description, "fuzz order");
    strcpy(o.stripe_session_id, session);
    strcpy(o.stripe_payment_intent_id, pi);
    o.created_at = o.updated_at = cd_now();
    FUZZ_CHECK(cd_store_write(bill.store, job_order, &o) == 0);
}

static int deliver(const char *body, size_t len, const char **status,
                   struct cd_error *err)
{
    char hdr[128];

    FUZZ_CHECK(cd_stripe_sig_header(SECRET, cd_now(), body, len, hdr,
                                    sizeof(hdr)) == 0);
    cd_error_clear(err);
    return cd_webhook_receive(&bill, body, len, hdr, status, err);
}

static void complete_done_order(void)
{
    static const char ev[] =
        "{\"id\":\"evt_fuzz_setup\",\"object\":\"event\",\"type\":"
        "\"checkout.session.completed\",\"created\":1700000000,\"data\":{"
        "\"object\":{\"id\":\"cs_fuzz_done\",\"object\":\"checkout.session\","
        "\"mode\":\"payment\",\"status\":\"complete\",\"payment_status\":"
        "\"paid\",\"amount_total\":1000,\"currency\":\"usd\","
        "\"client_reference_id\":\"ord_fuzz_done\",\"payment_intent\":"
        "\"pi_fuzz_done\",\"customer\":\"cus_fuzz\",\"metadata\":{"
        "\"account_id\":\"" ACCOUNT "\",\"order_id\":\"ord_fuzz_done\","
        "\"kind\":\"package\"}}},\"livemode\":false}";
    const char *status = NULL;
    struct cd_error err;

    FUZZ_CHECK(deliver(ev, strlen(ev), &status, &err) == 0 &&
               strcmp(status, CD_WEBHOOK_PROCESSED) == 0);
}

static void open_store(const char *path)
{
    struct cd_store_config sc;
    struct cd_error err;

    memset(&sc, 0, sizeof(sc));
    sc.path = path;
    sc.read_conns = 1;
    cd_billing_hooks_install();
    bill.store = cd_store_open(&sc, &err);
    FUZZ_CHECK(bill.store != NULL);
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out;
    ssize_t n;

    FUZZ_CHECK(in >= 0);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        FUZZ_CHECK(write(out, buf, (size_t)n) == n);
    close(in);
    close(out);
}

static void cleanup(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_webhook: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct cd_account a;

    (void)argc;
    (void)argv;
    cd_log_threshold = getenv("CD_FUZZ_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    snprintf(dir, sizeof(dir), "%s/cd_fuzz_webhook_XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);
    snprintf(tmpl, sizeof(tmpl), "%s/template.db", dir);
    snprintf(work, sizeof(work), "%s/work.db", dir);
    strcpy(bill.cfg.currency, "usd");
    strcpy(bill.cfg.webhook_secrets, SECRET);
    bill.cfg.webhook_tolerance = 300;
    bill.cfg.packages[0] = (struct cd_package){.id = "starter",
                                               .name = "Starter",
                                               .price_cents = 1000,
                                               .credits = 1000};
    bill.cfg.npackages = 1;
    bill.cfg.plans[0] = (struct cd_plan){.id = "monthly",
                                         .name = "Monthly",
                                         .price_cents = 1999,
                                         .interval = "month",
                                         .credits_per_period = 2500};
    bill.cfg.nplans = 1;

    open_store(tmpl);
    memset(&a, 0, sizeof(a));
    strcpy(a.id, ACCOUNT);
    strcpy(a.email, "fuzz@example.com");
    strcpy(a.password_hash, "x");
    a.created_at = cd_now();
    FUZZ_CHECK(cd_store_write(bill.store, job_account, &a) == 0);
    order("ord_fuzz_pending", "package", "cs_fuzz_pending",
          "pi_fuzz_pending");
    order("ord_fuzz_topup", "payment_intent", "", "pi_fuzz_topup");
    order("ord_fuzz_done", "package", "cs_fuzz_done", "");
    complete_done_order();
    cd_store_close(bill.store); /* the last close folds the WAL in */
    bill.store = NULL;
    return 0;
}

static uint64_t jobs_at_open;

/* The job count of the store, to see whether an input wrote. */
static uint64_t jobs_now(void)
{
    struct cd_store_stats st;

    cd_store_get_stats(bill.store, &st);
    return st.jobs;
}

static void fresh_store(void)
{
    char p[320];

    snprintf(p, sizeof(p), "%s-wal", work);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", work);
    unlink(p);
    copy_file(tmpl, work);
    open_store(work);
    jobs_at_open = jobs_now();
}

static int64_t balance(void)
{
    struct cd_error err;
    int64_t bal = 0;

    FUZZ_CHECK(cd_ledger_balance(&bill, ACCOUNT, &bal, &err) == 0);
    return bal;
}

/* The ledger agrees with the balances; a processed event, delivered again,
 * is a duplicate and credits nothing. */
static void check_after_write(const char *body, size_t size, int rc,
                              const char *status)
{
    struct cd_ledger_check chk;
    struct cd_error err;

    memset(&chk, 0, sizeof(chk));
    FUZZ_CHECK(cd_ledger_verify(&bill, &chk, NULL, NULL, &err) == 0);
    FUZZ_CHECK(chk.mismatches == 0 && chk.sum_balances == chk.sum_entries);
    if (rc == 0 && strcmp(status, CD_WEBHOOK_PROCESSED) == 0) {
        int64_t before = balance();
        const char *again = NULL;

        FUZZ_CHECK(deliver(body, size, &again, &err) == 0);
        if (strcmp(again, CD_WEBHOOK_DUPLICATE) != 0)
            fprintf(stderr, "delivered again: %s\n", again);
        FUZZ_CHECK(strcmp(again, CD_WEBHOOK_DUPLICATE) == 0);
        FUZZ_CHECK(balance() == before);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_cstr(data, size);
    const char *status = NULL;
    struct cd_error err;
    int rc;

    if (!bill.store)
        fresh_store();
    rc = deliver(body, size, &status, &err);
    if (rc == 0) {
        FUZZ_CHECK(status && (strcmp(status, CD_WEBHOOK_PROCESSED) == 0 ||
                              strcmp(status, CD_WEBHOOK_DUPLICATE) == 0 ||
                              strcmp(status, CD_WEBHOOK_IGNORED) == 0));
    } else {
        /* Stripe is not configured here: an event that needs to read an
         * object back from Stripe answers 503 for Stripe to retry. */
        int no_stripe = err.kind == CD_EK_UNAVAILABLE &&
                        strcmp(err.code, "stripe_not_configured") == 0;

        if (err.kind != CD_EK_INVALID && err.kind != CD_EK_INTERNAL &&
            !no_stripe)
            fprintf(stderr, "error %d %s: %s\n", (int)err.kind, err.code,
                    err.message);
        FUZZ_CHECK(err.kind == CD_EK_INVALID || err.kind == CD_EK_INTERNAL ||
                   no_stripe);
        FUZZ_CHECK(strcmp(err.code, "invalid_signature") != 0 &&
                   strcmp(err.code, "timestamp_out_of_tolerance") != 0);
    }
    if (jobs_now() != jobs_at_open) { /* it wrote: back to the template */
        check_after_write(body, size, rc, status);
        cd_store_close(bill.store);
        bill.store = NULL;
    }
    free(body);
    return 0;
}
