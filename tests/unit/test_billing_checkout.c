/*
 * test_billing_checkout.c - POST /v1/checkout's domain half: redirect
 * origin checks (pure), pricing of each kind with discount codes (real
 * SQLite store in a temp dir), and the create flow against a tiny fake
 * Stripe (a loopback socket answering one scripted reply per connection,
 * recording the form body and Idempotency-Key it saw): Stripe not
 * configured writes nothing, Stripe unreachable marks the order failed,
 * a good answer stores the session on the order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "billing/billing.h"
#include "billing/checkout.h"
#include "billing/discounts.h"
#include "billing/hooks.h"
#include "billing/orders.h"
#include "stripe/form.h"
#include "util/log.h"
#include "util/util.h"

#include "store_target.h"

static struct store_target target;
static struct cd_billing bill;

/* ---- a fake Stripe -------------------------------------------------------- */

static struct {
    int fd;
    int port;
    pthread_t th;
    int stop;
    pthread_mutex_t mu;
    int status;       /* reply status */
    char reply[2048]; /* reply body */
    char request_line[512];
    char idem[300];
    char body[16384];
    int hits;
} fake = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void fake_serve_one(int c)
{
    char buf[32768];
    size_t len = 0, clen = 0;
    char *hend = NULL, *p;
    char out[4096];
    int n;

    while (len < sizeof(buf) - 1) {
        ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            return;
        len += (size_t)r;
        buf[len] = '\0';
        hend = strstr(buf, "\r\n\r\n");
        if (hend) {
            p = strcasestr(buf, "\r\ncontent-length:");
            clen = p && p < hend ? strtoul(p + 17, NULL, 10) : 0;
            if (len >= (size_t)(hend + 4 - buf) + clen)
                break;
        }
    }
    if (!hend)
        return;
    pthread_mutex_lock(&fake.mu);
    fake.hits++;
    p = strstr(buf, "\r\n");
    snprintf(fake.request_line, sizeof(fake.request_line), "%.*s",
             (int)(p - buf), buf);
    fake.idem[0] = '\0';
    p = strcasestr(buf, "\r\nidempotency-key:");
    if (p && p < hend) {
        char *e = strstr(p + 2, "\r\n");
        p += 18;
        while (*p == ' ')
            p++;
        snprintf(fake.idem, sizeof(fake.idem), "%.*s", (int)(e - p), p);
    }
    snprintf(fake.body, sizeof(fake.body), "%.*s", (int)clen, hend + 4);
    n = snprintf(out, sizeof(out),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 fake.status, strlen(fake.reply), fake.reply);
    pthread_mutex_unlock(&fake.mu);
    if (write(c, out, (size_t)n) < 0)
        return;
}

static void *fake_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(fake.fd, NULL, NULL);
        if (c < 0 || fake.stop) {
            if (c >= 0)
                close(c);
            return NULL;
        }
        fake_serve_one(c);
        close(c);
    }
}

static void fake_start(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;

    fake.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fake.fd >= 0);
    setsockopt(fake.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fake.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fake.fd, 8), 0);
    assert_int_equal(getsockname(fake.fd, (struct sockaddr *)&a, &al), 0);
    fake.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&fake.th, NULL, fake_main, NULL), 0);
}

static void fake_stop(void)
{
    struct sockaddr_in a;
    int c;

    fake.stop = 1;
    /* Wake accept(). */
    c = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)fake.port);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
        /* accept() will still return on close below */
    }
    close(c);
    pthread_join(fake.th, NULL);
    close(fake.fd);
}

static void fake_script(int status, const char *reply)
{
    pthread_mutex_lock(&fake.mu);
    fake.status = status;
    snprintf(fake.reply, sizeof(fake.reply), "%s", reply);
    fake.hits = 0;
    fake.body[0] = fake.idem[0] = fake.request_line[0] = '\0';
    pthread_mutex_unlock(&fake.mu);
}

static struct cd_stripe_client *client_for(int port)
{
    struct cd_stripe_config c;
    char base[64];

    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    memset(&c, 0, sizeof(c));
    c.api_base = base;
    c.secret_key = "sk_test_unit_checkout";
    c.connect_timeout_ms = 1000;
    c.timeout_ms = 3000;
    c.max_retries = 0;
    c.retry_base_ms = 1;
    c.retry_max_ms = 2;
    return cd_stripe_client_new(&c);
}

/* ---- store helpers -------------------------------------------------------- */

static int job_insert_account(struct cd_tx *tx, void *arg)
{
    return cd_store_account_insert(tx, arg);
}

static int job_insert_discount(struct cd_tx *tx, void *arg)
{
    return cd_store_discount_insert(tx, arg);
}

static void new_account(struct cd_account *a)
{
    memset(a, 0, sizeof(*a));
    cd_random_id("acct_", a->id, sizeof(a->id));
    snprintf(a->email, sizeof(a->email), "u%lld@example.com",
             (long long)cd_mono_us());
    snprintf(a->password_hash, sizeof(a->password_hash), "x");
    a->created_at = cd_now();
    assert_int_equal(cd_store_write(bill.store, job_insert_account, a), 0);
}

static void new_discount(const char *code, int64_t pct, int64_t off,
                         int64_t max_uses, int64_t times_used,
                         int64_t expires_at, int active)
{
    struct cd_discount d;

    memset(&d, 0, sizeof(d));
    snprintf(d.code, sizeof(d.code), "%s", code);
    d.percent_off = pct;
    d.amount_off_cents = off;
    d.max_uses = max_uses;
    d.times_used = times_used;
    d.expires_at = expires_at;
    d.active = active;
    d.created_at = cd_now();
    assert_int_equal(cd_store_write(bill.store, job_insert_discount, &d), 0);
}

static int count_order(const struct cd_order *o, void *arg)
{
    (*(int *)arg)++;
    (void)o;
    return 0;
}

static int orders_of(const char *acct)
{
    int n = 0;
    int64_t total = 0;

    assert_int_equal(
        cd_orders_list(&bill, acct, 100, 0, count_order, &n, &total, NULL),
        0);
    assert_int_equal(total, n);
    return n;
}

static int last_order(const struct cd_order *o, void *arg)
{
    *(struct cd_order *)arg = *o;
    return 1;
}

/* ---- setup ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    cd_log_threshold = getenv("CD_TEST_LOG") ? CD_LOG_DEBUG
                                             : CD_LOG_ERROR + 1;
    memset(&bill, 0, sizeof(bill));
    bill.store = store_target_open(&target, 0, "cd_checkout", 0);
    assert_non_null(bill.store);

    strcpy(bill.cfg.currency, "usd");
    strcpy(bill.cfg.base_url, "http://127.0.0.1:8080");
    strcpy(bill.cfg.redirect_origins[0], "http://127.0.0.1:8080");
    strcpy(bill.cfg.redirect_origins[1], "https://Shop.Example.com");
    strcpy(bill.cfg.redirect_origins[2], "http://[::1]:9000");
    bill.cfg.nredirect_origins = 3;
    strcpy(bill.cfg.default_pricing.mode, "launch");
    bill.cfg.default_pricing.launch_cents = 2999;
    bill.cfg.default_pricing.rrp_cents = 4999;
    bill.cfg.default_pricing.sale_cents = 2499;
    strcpy(bill.cfg.packages[0].id, "pack_50");
    strcpy(bill.cfg.packages[0].name, "5,500 credits");
    bill.cfg.packages[0].price_cents = 5000;
    bill.cfg.packages[0].credits = 5500;
    bill.cfg.npackages = 1;
    strcpy(bill.cfg.plans[0].id, "monthly");
    strcpy(bill.cfg.plans[0].name, "Monthly - 2,500 credits a month");
    bill.cfg.plans[0].price_cents = 1999;
    strcpy(bill.cfg.plans[0].interval, "month");
    bill.cfg.plans[0].credits_per_period = 2500;
    bill.cfg.nplans = 1;
    bill.cfg.topup_min_cents = 1000;
    bill.cfg.topup_max_cents = 50000;
    bill.cfg.topup_step_cents = 1000;
    bill.cfg.topup_default_cents = 2000;
    fake_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_stop();
    store_target_close(&target, bill.store);
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_redirect_origins(void **state)
{
    static const struct {
        const char *url;
        int ok;
    } cases[] = {
        {"http://127.0.0.1:8080/success?session_id={CHECKOUT_SESSION_ID}", 1},
        {"http://127.0.0.1:8080", 1},
        {"HTTP://127.0.0.1:8080/x", 1},
        {"https://shop.example.com/done", 1},
        {"https://SHOP.example.COM:443/done", 1},
        {"https://shop.example.com#frag", 1},
        {"http://[::1]:9000/x", 1},
        {"http://shop.example.com/done", 0},   /* scheme differs */
        {"https://shop.example.com:8443/", 0}, /* port differs */
        {"http://127.0.0.1:8081/x", 0},
        {"http://127.0.0.1/x", 0}, /* default port 80 */
        {"http://localhost:8080/x", 0},
        {"http://127.0.0.1:8080@evil.example.com/x", 0},
        {"http://user@127.0.0.1:8080/x", 0},
        {"http://127.0.0.1:8080.evil.example.com/x", 0},
        {"https://shop.example.com.evil.com/", 0},
        {"javascript:alert(1)", 0},
        {"//127.0.0.1:8080/x", 0},
        {"/relative", 0},
        {"http://127.0.0.1:8080\\@evil.com/", 0},
        {"http://127.0.0.1:8080/a b", 0},
        {"http://127.0.0.1:/x", 0},
        {"http://127.0.0.1:99999/x", 0},
        {"http:///x", 0},
        {"", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < CD_ARRAY_LEN(cases); i++) {
        int got = cd_checkout_redirect_allowed(&bill.cfg, cases[i].url);
        if (got != cases[i].ok)
            fail_msg("%s: got %d want %d", cases[i].url, got, cases[i].ok);
    }
}

static void expect_quote_error(struct cd_checkout_req *r, const char *code)
{
    struct cd_checkout_quote q;
    struct cd_error err;

    cd_error_clear(&err);
    assert_int_equal(cd_checkout_quote(&bill, r, &q, &err), -1);
    if (strcmp(err.code, code) != 0)
        fail_msg("want %s, got %s (%s)", code, err.code, err.message);
    assert_int_equal(err.kind, CD_EK_INVALID);
}

static void test_quote(void **state)
{
    struct cd_checkout_req r;
    struct cd_checkout_quote q;
    struct cd_error err;

    (void)state;
    new_discount("TEN", 10, 0, 0, 0, 0, 1);
    new_discount("OLD", 10, 0, 0, 0, cd_now() - 10, 1);
    new_discount("OFF", 10, 0, 0, 0, 0, 0);
    new_discount("USED", 10, 0, 2, 2, 0, 1);
    new_discount("HUGE", 0, 2990, 0, 0, 0, 1);

    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 12000;
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_int_equal(q.amount_cents, 12000);
    assert_int_equal(q.credits, 12000);
    assert_string_equal(q.description, "12,000 credits top-up");
    r.amount_cents = 1500;
    expect_quote_error(&r, "invalid_amount");
    r.amount_cents = 60000;
    expect_quote_error(&r, "invalid_amount");
    r.amount_cents = 0;
    expect_quote_error(&r, "invalid_amount");
    r.amount_cents = 1000;
    r.discount_code = "TEN";
    expect_quote_error(&r, "discount_not_applicable");

    memset(&r, 0, sizeof(r));
    r.kind = "package";
    r.package_id = "pack_50";
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_int_equal(q.amount_cents, 5000);
    assert_int_equal(q.credits, 5500);
    assert_string_equal(q.item_id, "pack_50");
    r.discount_code = "ten";
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_int_equal(q.amount_cents, 4500);
    assert_int_equal(q.discount_cents, 500);
    assert_int_equal(q.credits, 5500); /* a package keeps its credits */
    assert_string_equal(q.discount_code, "TEN");
    r.package_id = "nope";
    expect_quote_error(&r, "unknown_package");
    r.package_id = NULL;
    expect_quote_error(&r, "missing_param");

    memset(&r, 0, sizeof(r));
    r.kind = "access";
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_int_equal(q.amount_cents, 2999);
    assert_int_equal(q.credits, 2999);
    r.discount_code = "TEN";
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_int_equal(q.amount_cents, 2699);
    assert_int_equal(q.discount_cents, 300);
    assert_int_equal(q.credits, 2699);
    r.discount_code = "OLD";
    expect_quote_error(&r, "discount_expired");
    r.discount_code = "OFF";
    expect_quote_error(&r, "discount_inactive");
    r.discount_code = "USED";
    expect_quote_error(&r, "discount_exhausted");
    r.discount_code = "NOSUCH";
    expect_quote_error(&r, "discount_unknown_code");
    r.discount_code = "bad code!";
    expect_quote_error(&r, "discount_unknown_code");
    r.discount_code = "HUGE";
    expect_quote_error(&r, "amount_below_minimum");

    /* A subscription: the plan's price, its credits per period, no
     * discount codes. */
    memset(&r, 0, sizeof(r));
    r.kind = "subscription";
    expect_quote_error(&r, "missing_param");
    r.plan_id = "yearly";
    expect_quote_error(&r, "unknown_plan");
    r.plan_id = "monthly";
    assert_int_equal(cd_checkout_quote(&bill, &r, &q, &err), 0);
    assert_string_equal(q.kind, "subscription");
    assert_int_equal(q.amount_cents, 1999);
    assert_int_equal(q.discount_cents, 0);
    assert_int_equal(q.credits, 2500);
    assert_string_equal(q.item_id, "monthly");
    r.discount_code = "TEN";
    expect_quote_error(&r, "discount_not_applicable");

    memset(&r, 0, sizeof(r));
    r.kind = "bogus";
    expect_quote_error(&r, "invalid_kind");
    r.kind = NULL;
    expect_quote_error(&r, "missing_param");
}

static void test_not_configured_writes_nothing(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;

    (void)state;
    new_account(&a);
    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 1000;
    bill.stripe = NULL;
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_int_equal(err.kind, CD_EK_UNAVAILABLE);
    assert_string_equal(err.code, "stripe_not_configured");
    assert_int_equal(orders_of(a.id), 0);
}

static void test_bad_redirect_writes_nothing(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;

    (void)state;
    new_account(&a);
    bill.stripe = client_for(fake.port);
    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 1000;
    r.cancel_url = "https://evil.example.com/x";
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_string_equal(err.code, "redirect_not_allowed");
    assert_string_equal(err.param, "cancel_url");
    r.cancel_url = NULL;
    r.amount_cents = 1001;
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_string_equal(err.code, "invalid_amount");
    assert_int_equal(orders_of(a.id), 0);
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

static void test_stripe_down_keeps_or_fails(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;
    struct cd_order o;
    int64_t total;
    int sfd, port;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);

    (void)state;
    /* A port that was free a moment ago: nothing listens there. */
    sfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(sfd, (struct sockaddr *)&sa, &sl), 0);
    port = ntohs(sa.sin_port);
    close(sfd);

    new_account(&a);
    bill.stripe = client_for(port);
    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 2000;
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    /* The customer is not shown where Stripe is or what it said. */
    assert_null(strstr(err.message, "127.0.0.1"));
    assert_null(strstr(err.message, "Stripe"));
    assert_int_equal(orders_of(a.id), 1);
    memset(&o, 0, sizeof(o));
    assert_int_equal(
        cd_orders_list(&bill, a.id, 1, 0, last_order, &o, &total, &err), 0);
    /* No answer: Stripe may have made the session, so the order stays
     * pending (its webhook, reconciliation or a retry settle it); the
     * operator sees why. */
    assert_string_equal(o.status, "pending");
    assert_non_null(strstr(o.failure_reason, "unreachable"));
    cd_stripe_client_free(bill.stripe);

    /* Stripe refusing (400) surely did nothing: the order fails. */
    bill.stripe = client_for(fake.port);
    fake_script(400, "{\"error\":{\"type\":\"invalid_request_error\","
                     "\"message\":\"No such thing\"}}");
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_string_equal(err.code, "stripe_error");
    assert_int_equal(orders_of(a.id), 2);
    assert_int_equal(
        cd_orders_list(&bill, a.id, 1, 0, last_order, &o, &total, &err), 0);
    assert_string_equal(o.status, "failed");
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

/* A retried request (same order id, from its Idempotency-Key) after a
 * Stripe 500 finds its first attempt's order and asks Stripe again with
 * the same key and the same parameters: one order, one session. */
static void test_retry_same_order(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;
    struct cd_order o;
    char first_idem[128], first_body[4096], oid[CD_ID_SZ];

    (void)state;
    new_account(&a);
    bill.stripe = client_for(fake.port);
    cd_random_id("ord_", oid, sizeof(oid));
    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 2000;
    r.order_id = oid;
    fake_script(500, "{\"error\":{\"type\":\"api_error\","
                     "\"message\":\"boom\"}}");
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_int_equal(err.kind, CD_EK_UPSTREAM);
    assert_int_equal(cd_order_get(&bill, oid, &o), CD_STORE_OK);
    assert_string_equal(o.status, "pending");
    snprintf(first_idem, sizeof(first_idem), "%s", fake.idem);
    snprintf(first_body, sizeof(first_body), "%s", fake.body);

    fake_script(200, "{\"id\":\"cs_test_retry\",\"object\":\"checkout."
                     "session\",\"url\":\"https://pay.example/c/r\"}");
    cd_error_clear(&err);
    if (cd_checkout_create(&bill, &a, &r, &res, &err) != 0)
        fail_msg("retry: %s %s", err.code, err.message);
    assert_string_equal(res.order_id, oid);
    assert_string_equal(res.session_id, "cs_test_retry");
    assert_string_equal(fake.idem, first_idem);
    assert_string_equal(fake.body, first_body);
    assert_int_equal(orders_of(a.id), 1);
    assert_int_equal(cd_order_get(&bill, oid, &o), CD_STORE_OK);
    assert_string_equal(o.stripe_session_id, "cs_test_retry");

    /* The same order id for another purchase: 409, nothing new. */
    r.amount_cents = 3000;
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_int_equal(err.kind, CD_EK_CONFLICT);
    assert_string_equal(err.code, "idempotency_key_reused");
    assert_int_equal(orders_of(a.id), 1);
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

static void test_create_ok(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;
    struct cd_order o;
    json_t *form;
    char want_idem[128];

    (void)state;
    new_account(&a);
    bill.stripe = client_for(fake.port);
    fake_script(200, "{\"id\":\"cs_test_fake1\",\"object\":\"checkout."
                     "session\",\"url\":\"https://pay.example/c/cs_test_"
                     "fake1\"}");
    memset(&r, 0, sizeof(r));
    r.kind = "package";
    r.package_id = "pack_50";
    r.success_url = "https://shop.example.com/ok?s={CHECKOUT_SESSION_ID}";
    cd_error_clear(&err);
    if (cd_checkout_create(&bill, &a, &r, &res, &err) != 0)
        fail_msg("create: %s %s", err.code, err.message);
    assert_string_equal(res.session_id, "cs_test_fake1");
    assert_string_equal(res.checkout_url,
                        "https://pay.example/c/cs_test_fake1");
    assert_int_equal(res.amount_cents, 5000);
    assert_int_equal(res.credits, 5500);
    assert_int_equal(res.discount_cents, 0);
    assert_string_equal(res.currency, "usd");
    assert_true(strncmp(res.order_id, "ord_", 4) == 0);

    assert_int_equal(cd_order_by_session(&bill, "cs_test_nosuch", &o, &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_NOT_FOUND);
    assert_string_equal(err.code, "unknown_session");
    assert_string_equal(err.message, "No such checkout session.");
    assert_int_equal(cd_order_by_session(&bill, "cs_test_fake1", &o, &err),
                     0);
    assert_string_equal(o.id, res.order_id);
    assert_string_equal(o.status, "pending");
    assert_string_equal(o.kind, "package");
    assert_string_equal(o.item_id, "pack_50");
    assert_string_equal(o.description, "5,500 credits");
    assert_int_equal(cd_order_fulfilled(&o), 0);

    /* What Stripe was sent. */
    assert_string_equal(fake.request_line,
                        "POST /v1/checkout/sessions HTTP/1.1");
    snprintf(want_idem, sizeof(want_idem), "checkout:%s:create", o.id);
    assert_string_equal(fake.idem, want_idem);
    form = cd_form_decode(fake.body, strlen(fake.body));
    assert_non_null(form);
#define FS(path) json_string_value(json_object_get(form, path))
    assert_string_equal(FS("mode"), "payment");
    assert_string_equal(FS("client_reference_id"), o.id);
    assert_string_equal(FS("customer_creation"), "always");
    assert_null(json_object_get(form, "customer"));
    assert_string_equal(FS("success_url"), r.success_url);
    assert_string_equal(FS("cancel_url"), "http://127.0.0.1:8080/cancel");
#undef FS
    {
        json_t *li = json_array_get(json_object_get(form, "line_items"), 0);
        json_t *pd = json_object_get(li, "price_data");
        json_t *md = json_object_get(form, "metadata");
        json_t *pid = json_object_get(form, "payment_intent_data");
        assert_string_equal(
            json_string_value(json_object_get(pd, "currency")), "usd");
        assert_string_equal(
            json_string_value(json_object_get(pd, "unit_amount")), "5000");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(pd, "product_data"), "name")),
                            "5,500 credits");
        assert_string_equal(
            json_string_value(json_object_get(li, "quantity")), "1");
        assert_string_equal(
            json_string_value(json_object_get(md, "account_id")), a.id);
        assert_string_equal(
            json_string_value(json_object_get(md, "order_id")), o.id);
        assert_string_equal(json_string_value(json_object_get(md, "kind")),
                            "package");
        assert_string_equal(
            json_string_value(json_object_get(pid, "setup_future_usage")),
            "off_session");
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(pid, "metadata"), "order_id")),
            o.id);
    }
    json_decref(form);

    /* With a saved customer: customer=..., no customer_creation. */
    snprintf(a.stripe_customer_id, sizeof(a.stripe_customer_id),
             "cus_saved_1");
    fake_script(200, "{\"id\":\"cs_test_fake2\",\"url\":\"https://pay."
                     "example/c/2\"}");
    memset(&r, 0, sizeof(r));
    r.kind = "topup";
    r.amount_cents = 3000;
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), 0);
    form = cd_form_decode(fake.body, strlen(fake.body));
    assert_non_null(form);
    assert_string_equal(json_string_value(json_object_get(form, "customer")),
                        "cus_saved_1");
    assert_null(json_object_get(form, "customer_creation"));
    assert_string_equal(
        json_string_value(json_object_get(form, "success_url")),
        "http://127.0.0.1:8080/success?session_id={CHECKOUT_SESSION_ID}");
    json_decref(form);

    /* A 200 without an id is a Stripe error; the order is failed. */
    fake_script(200, "{\"object\":\"checkout.session\"}");
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), -1);
    assert_string_equal(err.code, "stripe_error");
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

/* kind "subscription": Checkout in subscription mode with a recurring
 * line item and the account/order/plan in subscription_data[metadata];
 * never customer_creation nor payment_intent_data (Stripe refuses both in
 * that mode); a saved customer is reused. */
static void test_create_subscription(void **state)
{
    struct cd_account a;
    struct cd_checkout_req r;
    struct cd_checkout_result res;
    struct cd_error err;
    struct cd_order o;
    json_t *form, *li, *pd, *smd, *md;

    (void)state;
    new_account(&a);
    bill.stripe = client_for(fake.port);
    fake_script(200, "{\"id\":\"cs_test_sub1\",\"url\":\"https://pay."
                     "example/c/sub1\"}");
    memset(&r, 0, sizeof(r));
    r.kind = "subscription";
    r.plan_id = "monthly";
    cd_error_clear(&err);
    if (cd_checkout_create(&bill, &a, &r, &res, &err) != 0)
        fail_msg("create: %s %s", err.code, err.message);
    assert_int_equal(res.amount_cents, 1999);
    assert_int_equal(res.credits, 2500);
    assert_int_equal(cd_order_by_session(&bill, "cs_test_sub1", &o, &err), 0);
    assert_string_equal(o.kind, "subscription");
    assert_string_equal(o.item_id, "monthly");
    assert_int_equal(o.amount_cents, 1999);
    assert_int_equal(o.credits, 2500);

    form = cd_form_decode(fake.body, strlen(fake.body));
    assert_non_null(form);
    assert_string_equal(json_string_value(json_object_get(form, "mode")),
                        "subscription");
    assert_null(json_object_get(form, "customer_creation"));
    assert_null(json_object_get(form, "customer"));
    assert_null(json_object_get(form, "payment_intent_data"));
    li = json_array_get(json_object_get(form, "line_items"), 0);
    pd = json_object_get(li, "price_data");
    assert_string_equal(json_string_value(json_object_get(pd, "unit_amount")),
                        "1999");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(pd, "recurring"), "interval")),
                        "month");
    smd = json_object_get(json_object_get(form, "subscription_data"),
                          "metadata");
    assert_string_equal(json_string_value(json_object_get(smd, "account_id")),
                        a.id);
    assert_string_equal(json_string_value(json_object_get(smd, "order_id")),
                        o.id);
    assert_string_equal(json_string_value(json_object_get(smd, "plan_id")),
                        "monthly");
    md = json_object_get(form, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "kind")),
                        "subscription");
    assert_string_equal(json_string_value(json_object_get(md, "order_id")),
                        o.id);
    json_decref(form);

    /* A saved customer is reused. */
    snprintf(a.stripe_customer_id, sizeof(a.stripe_customer_id),
             "cus_saved_2");
    fake_script(200, "{\"id\":\"cs_test_sub2\",\"url\":\"https://pay."
                     "example/c/sub2\"}");
    assert_int_equal(cd_checkout_create(&bill, &a, &r, &res, &err), 0);
    form = cd_form_decode(fake.body, strlen(fake.body));
    assert_non_null(form);
    assert_string_equal(json_string_value(json_object_get(form, "customer")),
                        "cus_saved_2");
    assert_null(json_object_get(form, "customer_creation"));
    json_decref(form);
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

static int job_update_order(struct cd_tx *tx, void *arg)
{
    return cd_store_order_update(tx, arg);
}

/* An access checkout with discount code, Stripe answering session. */
static int create_with(const struct cd_account *a, const char *code,
                       const char *session, struct cd_checkout_result *res,
                       struct cd_error *err)
{
    struct cd_checkout_req r;
    char reply[256];

    snprintf(reply, sizeof(reply),
             "{\"id\":\"%s\",\"url\":\"https://pay.example/c/%s\"}", session,
             session);
    fake_script(200, reply);
    memset(&r, 0, sizeof(r));
    r.kind = "access";
    r.discount_code = code;
    cd_error_clear(err);
    return cd_checkout_create(&bill, a, &r, res, err);
}

static int validity(const struct cd_account *a, const char *code,
                    const char **why)
{
    struct cd_discount_quote q;
    struct cd_error err;

    assert_int_equal(
        cd_discount_validate(&bill, code, a->id, "access", NULL, &q, &err),
        0);
    *why = q.error;
    return q.valid;
}

/* max_uses is enforced at checkout creation, in the job that inserts the
 * order: a pending order holds one use for as long as its session can be
 * paid; an account holds one use at most (its next checkout with the code
 * replaces its hold and expires that session at Stripe); validation says
 * what checkout does. */
static void test_discount_pending_hold(void **state)
{
    struct cd_account a, b2;
    struct cd_checkout_result first, other;
    struct cd_error err;
    struct cd_order o;
    const char *why;
    int n;

    (void)state;
    new_account(&a);
    new_account(&b2);
    bill.stripe = client_for(fake.port);
    new_discount("ONCE", 10, 0, 1, 0, 0, 1);

    assert_int_equal(create_with(&a, "once", "cs_test_hold1", &first, &err),
                     0);
    /* The same account again: its first hold is replaced, not doubled. */
    assert_int_equal(create_with(&a, "ONCE", "cs_test_hold2", &other, &err),
                     0);
    assert_int_equal(cd_order_get(&bill, first.order_id, &o), CD_STORE_OK);
    assert_string_equal(o.status, "expired");
    assert_string_equal(fake.request_line,
                        "POST /v1/checkout/sessions/cs_test_hold1/expire "
                        "HTTP/1.1");
    assert_true(validity(&a, "ONCE", &why));
    /* Another account: the one use is held; validation agrees. */
    assert_false(validity(&b2, "ONCE", &why));
    assert_string_equal(why, "exhausted");
    fake_script(200, "{}");
    assert_int_equal(create_with(&b2, "ONCE", "cs_test_hold3", &first, &err),
                     -1);
    assert_int_equal(err.kind, CD_EK_INVALID);
    assert_string_equal(err.code, "discount_exhausted");
    assert_string_equal(err.param, "discount_code");
    assert_int_equal(orders_of(b2.id), 0);
    assert_int_equal(fake.hits, 0);

    /* A's session ended (expired): its hold goes. */
    assert_int_equal(cd_order_get(&bill, other.order_id, &o), CD_STORE_OK);
    strcpy(o.status, "expired");
    assert_int_equal(cd_store_write(bill.store, job_update_order, &o), 0);
    assert_true(validity(&b2, "ONCE", &why));
    assert_int_equal(create_with(&b2, "ONCE", "cs_test_hold4", &first, &err),
                     0);

    /* A pending order older than its session's life holds nothing (the
     * clock moves: an order's created_at is never updated). */
    assert_int_equal(cd_order_get(&bill, first.order_id, &o), CD_STORE_OK);
    assert_string_equal(o.status, "pending");
    assert_false(validity(&a, "ONCE", &why));
    cd_clock_advance(cd_discount_hold_s(&bill) + 60);
    assert_true(validity(&a, "ONCE", &why));
    assert_int_equal(create_with(&a, "ONCE", "cs_test_hold5", &other, &err),
                     0);

    /* Fulfilled uses and other accounts' holds add up: 2 uses, 1 taken,
     * A holds 1 -> full for B. Unlimited codes are never held. */
    new_discount("TWICE", 10, 0, 2, 1, 0, 1);
    assert_int_equal(create_with(&a, "TWICE", "cs_test_hold6", &other, &err),
                     0);
    assert_int_equal(create_with(&b2, "TWICE", "cs_test_hold7", &other, &err),
                     -1);
    assert_string_equal(err.code, "discount_exhausted");
    new_discount("ALWAYS", 10, 0, 0, 0, 0, 1);
    for (n = 0; n < 3; n++) {
        char sid[32];
        snprintf(sid, sizeof(sid), "cs_test_always%d", n);
        assert_int_equal(create_with(&b2, "ALWAYS", sid, &other, &err), 0);
    }
    cd_stripe_client_free(bill.stripe);
    bill.stripe = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_origins),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_not_configured_writes_nothing),
        cmocka_unit_test(test_bad_redirect_writes_nothing),
        cmocka_unit_test(test_stripe_down_keeps_or_fails),
        cmocka_unit_test(test_retry_same_order),
        cmocka_unit_test(test_create_ok),
        cmocka_unit_test(test_create_subscription),
        cmocka_unit_test(test_discount_pending_hold),
    };

    cd_billing_hooks_install(); /* the ledger's effects */

    return cmocka_run_group_tests(tests, setup, teardown);
}
